//! `/_sim/3ds/{id}`: the 3-D Secure challenge a card asked for, as the page the
//! buyer's browser opens (`GET`: "Complete" and "Fail" buttons) and as the form
//! it posts (`POST` with `outcome=complete|fail`, as a form or JSON, which
//! scripts and load send straight away). Each confirmation that asks opens a
//! challenge of its own, `?attempt=N` in the page's address: an answer to an
//! older one is refused (409) and leaves the current one open.
//!
//! The buyer's browser carries no API key or admin token, so these routes need
//! neither: the payment's id is the page's address. Every string the merchant
//! gave (its return URL, reference, metadata) is HTML-escaped, and the page is
//! served with a policy that allows no script, no external resource and no framing.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::answer;
use crate::api::{ApiError, Reply, query_param};
use crate::engine::{AuthenticationOutcome, Cause, EngineError, Payment, PaymentStatus};
use crate::response::{Body, full};
use crate::state::SimState;

/// The path prefix; the payment's id follows.
pub(super) const PREFIX: &str = "/_sim/3ds/";

/// No script, no external resource, no framing; the page's own inline style,
/// and its form posting to itself and being redirected to the merchant.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'";

/// The engine's id of the payment a page names. The page is addressed by the
/// engine id (`pay_...`); a PaymentIntent id (`pi_...`, the same digits) is taken
/// too, for people who paste the one their SDK showed them.
fn engine_id(id: &str) -> String {
    match id.strip_prefix("pi_") {
        Some(digits) => format!("pay_{digits}"),
        None => id.to_string(),
    }
}

/// `GET /_sim/3ds/{id}`: the challenge page (`?attempt=` names which of the
/// payment's challenges; absent, the current one).
pub(super) fn page(state: &SimState, parts: &http::request::Parts, id: &str) -> Response<Body> {
    let attempt = match read_attempt(parts.uri.query()) {
        Ok(attempt) => attempt,
        Err(e) => return answer(e.into_reply()),
    };
    match state.engine().payment_for_challenge(&engine_id(id)) {
        Ok(p) if p.rare.challenge.is_some() => html(StatusCode::OK, &render_page(&p, attempt)),
        _ => not_found(id),
    }
}

/// `attempt` from the query string: which of a payment's challenges the page is.
fn read_attempt(query: Option<&str>) -> Result<Option<u32>, ApiError> {
    match query_param(query, "attempt") {
        None => Ok(None),
        Some(text) => text.parse::<u32>().ok().filter(|n| *n >= 1).map(Some).ok_or_else(|| {
            ApiError::invalid(
                "parameter_invalid",
                format!("attempt must be a challenge number from 1, as in the page's address; got {text:?}"),
            )
            .with_param("attempt")
        }),
    }
}

/// `POST /_sim/3ds/{id}`: answers the challenge. A browser's form is sent back
/// to the merchant's `return_url` (303); a script's JSON, or a form without a
/// `return_url`, gets the payment's new status as JSON.
pub(super) async fn answer_challenge(
    state: &SimState,
    parts: &http::request::Parts,
    id: &str,
    body: &Bytes,
) -> Response<Body> {
    let json_body = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let outcome = match read_outcome(body, json_body, parts.uri.query()) {
        Ok(outcome) => outcome,
        Err(e) => return answer(e.into_reply()),
    };
    let attempt = match read_attempt(parts.uri.query()) {
        Ok(attempt) => attempt,
        Err(e) => return answer(e.into_reply()),
    };
    // The issuer's authentication time (`[gateway.three_ds] latency`): waited
    // outside every lock, before the payment is touched.
    let latency = state
        .live()
        .behaviour
        .authentication_latency(&engine_id(id));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let cause = Cause::none();
    let paid = state
        .engine()
        .answer_challenge(&engine_id(id), attempt, outcome, &cause);
    // The change is the buyer's, not an API request's: its webhooks go at once.
    drop(state.webhooks().raise(cause.take_raised()));
    let p = match paid {
        Ok(p) => {
            // A checkout session this payment was made for is paid now.
            state.engine().settle_checkout_payment(&p, &cause);
            drop(state.webhooks().raise(cause.take_raised()));
            p
        }
        Err(EngineError::NoSuchPayment(_) | EngineError::NotHeld { .. }) => return not_found(id),
        Err(e) => return answer(ApiError::from(e).into_reply()),
    };
    let return_url = p.rare.challenge.as_ref().and_then(|c| c.return_url.clone());
    match return_url {
        Some(url) if !json_body => redirect(&return_location(&p, &url)),
        _ => answer(Reply::ok(Bytes::from(
            json!({
                "id": p.id.to_string(),
                "status": p.status.as_str(),
                "redirect_to": return_url.map(|url| return_location(&p, &url)),
            })
            .to_string(),
        ))),
    }
}

/// `outcome` from a form body, a JSON body or the query string.
fn read_outcome(
    body: &Bytes,
    json_body: bool,
    query: Option<&str>,
) -> Result<AuthenticationOutcome, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Answer {
        outcome: String,
    }
    let given = if json_body {
        serde_json::from_slice::<Answer>(body)
            .map(|a| Some(a.outcome))
            .map_err(|e| {
                ApiError::invalid(
                    "invalid_json",
                    format!("Send {{\"outcome\": \"complete\"}} or {{\"outcome\": \"fail\"}}: {e}"),
                )
            })?
    } else {
        let form = std::str::from_utf8(body).unwrap_or_default();
        query_param(Some(form), "outcome").or_else(|| query_param(query, "outcome"))
    };
    match given.as_deref() {
        Some("complete") => Ok(AuthenticationOutcome::Complete),
        Some("fail") => Ok(AuthenticationOutcome::Fail),
        Some(other) => Err(ApiError::invalid(
            "parameter_invalid",
            format!("outcome must be \"complete\" or \"fail\"; got {other:?}"),
        )
        .with_param("outcome")),
        None => Err(ApiError::invalid(
            "parameter_missing",
            "Send outcome=complete or outcome=fail (a form or JSON body).",
        )
        .with_param("outcome")),
    }
}

/// The merchant's `return_url` with the payment named the way its API names it
/// (`payment_intent=pi_...`) and how the challenge ended, as Stripe appends them.
fn return_location(p: &Payment, return_url: &str) -> String {
    let Some(challenge) = &p.rare.challenge else {
        return return_url.to_string();
    };
    let id = p.id.to_string();
    let digits = id.split_once('_').map_or(id.as_str(), |(_, d)| d);
    let status = if p.status == PaymentStatus::Failed {
        "failed"
    } else {
        "succeeded"
    };
    let separator = if return_url.contains('?') { '&' } else { '?' };
    format!(
        "{return_url}{separator}{}={}{digits}&redirect_status={status}",
        challenge.return_param, challenge.return_id_prefix
    )
}

fn render_page(p: &Payment, attempt: Option<u32>) -> String {
    let challenge = p.rare.challenge.as_deref();
    let current = challenge.map_or(1, |c| c.attempt);
    let replaced = attempt.is_some_and(|asked| asked != current);
    let open = p.status == PaymentStatus::RequiresAction && !replaced;
    let return_url = challenge.and_then(|c| c.return_url.as_deref());
    let mut details = String::new();
    if let Some(reference) = &p.reference {
        details.push_str(&row("Order", reference));
    }
    if let Some(metadata) = p
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(m).ok())
    {
        for (key, value) in metadata {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            details.push_str(&row(&key, &value));
        }
    }
    if let Some(url) = return_url {
        details.push_str(&row("Returns to", url));
    }
    let action = if open {
        format!(
            "<form method=\"post\" action=\"{PREFIX}{id}?attempt={current}\">\
             <button type=\"submit\" name=\"outcome\" value=\"complete\">Complete</button> \
             <button type=\"submit\" name=\"outcome\" value=\"fail\" class=\"fail\">Fail</button>\
             </form>",
            id = escape(&p.id.to_string()),
        )
    } else if replaced {
        "<p class=\"done\">This challenge is over: a later confirmation of the payment opened a new one.</p>".to_string()
    } else {
        format!(
            "<p class=\"done\">This challenge is over (answered or abandoned): the payment is {}.</p>",
            escape(p.status.as_str())
        )
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>3-D Secure test challenge</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;margin:1rem 0}}th,td{{text-align:left;padding:.25rem .75rem .25rem 0;word-break:break-all}}\
         button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}}.fail{{color:#a00}}.done{{color:#555}}</style>\
         </head><body><h1>3-D Secure test challenge</h1>\
         <p>gateway-sim asks you to authenticate this payment, as a card issuer would.</p>\
         <table><tr><th>Amount</th><td>{amount} {currency} (minor units)</td></tr>\
         <tr><th>Payment</th><td>{id}</td></tr>{details}</table>{action}</body></html>\n",
        amount = p.amount,
        currency = escape(&p.currency.as_str().to_ascii_uppercase()),
        id = escape(&p.id.to_string()),
    )
}

fn row(label: &str, value: &str) -> String {
    format!(
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(label),
        escape(value)
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn not_found(id: &str) -> Response<Body> {
    answer(
        ApiError::not_found(
            "resource_missing",
            format!("No payment with an authentication challenge: '{id}'"),
        )
        .with_param("id")
        .into_reply(),
    )
}

pub(super) fn html(status: StatusCode, page: &str) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(page.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    response
}

pub(super) fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    // The URL was checked to be visible ASCII when the payment was confirmed.
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    secure(response.headers_mut());
    response
}

fn secure(headers: &mut http::HeaderMap) {
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
