//! `/_sim/checkout/{id}`: the hosted payment page of a checkout session (Stripe
//! Checkout's `url`), and its form. `GET` shows the line items, the total and a
//! choice of test cards; `POST .../pay` with `payment_method` (a form from the
//! page, or JSON from scripts and load) creates and confirms a PaymentIntent for
//! the session's total through the same engine, ledger, events and fault model
//! (declines, 3-D Secure, latency, faults before processing) as
//! `POST /v1/payment_intents` with `confirm=true`. Paid, the session completes
//! (`checkout.session.completed`) and the browser goes to `success_url`;
//! declined, the page says why and the session stays open; a card that asks for
//! 3-D Secure sends the browser to the challenge (`three_ds.rs`), which returns to
//! `GET .../return`, which goes on to `success_url` once the session is paid.
//!
//! Like the challenge page, no API key or admin token: the session's id (32
//! random characters) is the address. Every string the merchant gave is
//! HTML-escaped, and the page is served with a policy that allows no script, no
//! external resource and no framing.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::answer;
use super::three_ds::{escape, html, redirect};
use crate::api::{ApiError, Reply, checkout_session_json, query_param};
use crate::behaviour::{ChargeFacts, Endpoint, Fault, RequestFacts, is_known_payment_method};
use crate::engine::{
    Cause, CheckoutSession, CheckoutStatus, EngineError, NewPayment, Payment, PaymentMethod,
    PaymentStatus, ReturnTo, Verdict,
};
use crate::response::Body;
use crate::state::SimState;

/// The path prefix; the session's id follows.
pub(super) const PREFIX: &str = "/_sim/checkout/";

/// The test cards the page offers: (payment method, label).
const CARDS: [(&str, &str); 3] = [
    ("pm_card_visa", "Visa 4242: approved"),
    ("pm_card_chargeDeclined", "Visa 0002: declined"),
    (
        "pm_card_threeDSecure2Required",
        "Visa 3220: asks for 3-D Secure",
    ),
];

/// Who asked: a browser's form (answered with pages and redirects) or a script
/// (JSON in, or `Accept: application/json`: answered with JSON).
fn wants_json(parts: &http::request::Parts) -> (bool, bool) {
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
    };
    let json_body = header(http::header::CONTENT_TYPE);
    (json_body, json_body || header(http::header::ACCEPT))
}

/// `GET /_sim/checkout/{id}`: the payment page.
pub(super) fn page(state: &SimState, id: &str) -> Response<Body> {
    match state.engine().checkout_session_by_id(id) {
        Some(s) => html(StatusCode::OK, &render_page(&s, None)),
        None => not_found(id),
    }
}

/// `GET /_sim/checkout/{id}/return`: where the 3-D Secure challenge sends the
/// browser back. Paid, on to `success_url`; else the page, saying why.
pub(super) fn returned(state: &SimState, id: &str) -> Response<Body> {
    let Some(s) = state.engine().checkout_session_by_id(id) else {
        return not_found(id);
    };
    if s.status == CheckoutStatus::Complete {
        return redirect(&success_location(&s));
    }
    let attempt = s
        .attempt
        .and_then(|p| state.engine().payment_for_challenge(&p.to_string()).ok());
    let message = match attempt.map(|p| p.status) {
        Some(PaymentStatus::RequiresAction) => {
            "The 3-D Secure challenge has not been answered yet."
        }
        _ => "Authentication failed: the card was not charged. Choose another payment method.",
    };
    html(StatusCode::OK, &render_page(&s, Some(message)))
}

/// `POST /_sim/checkout/{id}/pay`: pays the session with `payment_method`.
pub(super) async fn pay(
    state: &SimState,
    parts: &http::request::Parts,
    id: &str,
    body: &Bytes,
) -> Response<Body> {
    let (json_body, json_out) = wants_json(parts);
    let engine = state.engine();
    let refuse = |status: StatusCode, e: ApiError| -> Response<Body> {
        match engine.checkout_session_by_id(id) {
            Some(s) if !json_out => html(status, &render_page(&s, Some(&e.message))),
            _ => answer(e.into_reply()),
        }
    };
    let token = match read_payment_method(body, json_body, parts.uri.query()) {
        Ok(token) => token,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let session = match engine.begin_checkout_payment(id) {
        Ok(s) => s,
        Err(EngineError::NoSuchCheckoutSession(_)) => return not_found(id),
        Err(e) => return refuse(StatusCode::CONFLICT, e.into()),
    };
    // In its own task, as an API call that waits is: a buyer who leaves mid-way
    // (the connection dropped during the injected latency) cancels neither the
    // payment nor the end of the attempt, so the session is never left claimed.
    let task = {
        let state = state.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let paid = attempt(&state, &session, &token).await;
            let cause = Cause::none();
            let session = state
                .engine()
                .finish_checkout_attempt(&id, paid.as_ref().ok(), &cause)
                .unwrap_or(session);
            // The buyer's change, not an API request's: its webhooks go at once.
            drop(state.webhooks().raise(cause.take_raised()));
            (paid, session)
        })
    };
    let Ok((paid, session)) = task.await else {
        return answer(ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR).into_reply());
    };
    let p = match paid {
        Ok(p) => p,
        Err(e) => {
            let status = e.status;
            return refuse(status, e);
        }
    };
    let public_url = engine.public_url();
    let shown = checkout_session_json(&public_url, &session);
    match (p.status, &p.rare.challenge) {
        _ if session.status == CheckoutStatus::Complete => {
            if json_out {
                json_reply(StatusCode::OK, shown)
            } else {
                redirect(&success_location(&session))
            }
        }
        (PaymentStatus::RequiresAction, Some(challenge)) => {
            if json_out {
                json_reply(
                    StatusCode::OK,
                    json!({
                        "session": shown,
                        "next_action": {"type": "redirect_to_url", "redirect_to_url": {
                            "url": &*challenge.url,
                            "return_url": challenge.return_url.as_deref(),
                        }},
                    }),
                )
            } else {
                redirect(&challenge.url)
            }
        }
        _ => {
            let code = p.decline_code.as_deref().unwrap_or("generic_decline");
            let intent = format!("pi_{}", digits(&p));
            let e = ApiError::declined(intent.clone(), code);
            if json_out {
                // Stripe's card error, with the session (still open) beside it.
                let error = json!({
                    "error": {
                        "type": "card_error",
                        "code": e.code,
                        "decline_code": code,
                        "message": &e.message,
                        "payment_intent": {"id": intent, "status": "requires_payment_method"},
                    },
                    "session": shown,
                });
                json_reply(StatusCode::PAYMENT_REQUIRED, error)
            } else {
                html(
                    StatusCode::PAYMENT_REQUIRED,
                    &render_page(&session, Some(&e.message)),
                )
            }
        }
    }
}

/// One payment attempt for the session, under its fate: faults that strike before
/// processing refuse it (nothing charged), the latency is waited outside every
/// lock, and the decline or 3-D Secure verdict goes to the engine.
async fn attempt(
    state: &SimState,
    session: &CheckoutSession,
    token: &str,
) -> Result<Payment, ApiError> {
    let engine = state.engine();
    let api_key = engine.merchant_api_key(session.merchant);
    // Each attempt of a token on a session is the same request to the fault
    // model; a retry of it draws again, as a retried API request does.
    let identity = format!("POST {PREFIX}{}/pay\n{token}", session.id);
    let seen_before = state
        .seen()
        .observe(&api_key, Endpoint::Create, identity.as_bytes());
    let fate = state.live().behaviour.fate(
        &RequestFacts {
            merchant: &api_key,
            endpoint: Endpoint::Create,
            identity: identity.as_bytes(),
            seen_before,
            charge: Some(ChargeFacts {
                amount: session.amount_total,
                payment_method: Some(token),
                card_number: None,
            }),
        },
        engine.clock().since_start(),
    );
    if let Some(fault) = fate.fault.as_ref().filter(|f| {
        matches!(
            f,
            Fault::Http500 | Fault::Http503 | Fault::Reset | Fault::Hang
        )
    }) {
        state.counters().fault(fault.kind());
        let status = if matches!(fault, Fault::Http503) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        let mut e = ApiError::injected(status);
        e.message = format!(
            "The payment failed before it was processed (an injected {} fault); nothing was charged. Try again.",
            fault.kind()
        );
        return Err(e);
    }
    if !fate.latency.is_zero() {
        tokio::time::sleep(fate.latency).await;
    }
    let verdict = match &fate.decline {
        Some(code) => Verdict::Decline(code.as_str()),
        None if fate.authenticate => Verdict::Authenticate,
        None => Verdict::Approve,
    };
    let new = NewPayment {
        amount: session.amount_total,
        currency: session.currency,
        payment_method: PaymentMethod::interned_token(token),
        capture: session.capture_method == crate::engine::CaptureMethod::Automatic,
        reference: session.client_reference_id.clone(),
        metadata: session.metadata.clone(),
        return_to: ReturnTo {
            url: Some(format!(
                "{}{PREFIX}{}/return",
                engine.public_url(),
                session.id
            )),
            param: "payment_intent",
            id_prefix: "pi_",
        },
    };
    // Under the merchant's account, as its own API request would be. The
    // payment's webhooks go now, before the session's change is even made.
    let cause = Cause::none();
    let paid = engine.create_payment_with(session.merchant, new, &cause, verdict);
    drop(state.webhooks().raise(cause.take_raised()));
    paid.map_err(ApiError::from)
}

/// `payment_method` from a form body, a JSON body or the query string; one of
/// the test payment methods.
fn read_payment_method(
    body: &Bytes,
    json_body: bool,
    query: Option<&str>,
) -> Result<String, ApiError> {
    let given = if json_body {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(
                "invalid_json",
                format!("Send {{\"payment_method\": \"pm_card_visa\"}}: {e}"),
            )
        })?;
        value
            .get("payment_method")
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        let form = std::str::from_utf8(body).unwrap_or_default();
        query_param(Some(form), "payment_method").or_else(|| query_param(query, "payment_method"))
    };
    match given.filter(|g| !g.is_empty()) {
        Some(token) if is_known_payment_method(&token) => Ok(token),
        Some(token) => Err(ApiError::invalid(
            "resource_missing",
            format!("No such PaymentMethod: {token:?}. Use a test payment method such as pm_card_visa, pm_card_chargeDeclined or pm_card_threeDSecure2Required."),
        )
        .with_param("payment_method")),
        None => Err(ApiError::invalid(
            "parameter_missing",
            "Choose a payment method (payment_method=pm_card_visa, as a form or JSON body).",
        )
        .with_param("payment_method")),
    }
}

/// The session's `success_url`, its `{CHECKOUT_SESSION_ID}` replaced, as Stripe does.
fn success_location(s: &CheckoutSession) -> String {
    s.success_url.replace("{CHECKOUT_SESSION_ID}", &s.id)
}

fn digits(p: &Payment) -> String {
    let id = p.id.to_string();
    id.split_once('_')
        .map_or(id.clone(), |(_, d)| d.to_string())
}

fn json_reply(status: StatusCode, value: Value) -> Response<Body> {
    answer(Reply::json(status, Bytes::from(value.to_string())))
}

fn not_found(id: &str) -> Response<Body> {
    answer(
        ApiError::not_found(
            "resource_missing",
            format!("No such checkout.session: '{id}'"),
        )
        .with_param("id")
        .into_reply(),
    )
}

fn render_page(s: &CheckoutSession, message: Option<&str>) -> String {
    let currency = escape(&s.currency.as_str().to_ascii_uppercase());
    let mut items = String::new();
    for item in &s.line_items {
        items.push_str(&format!(
            "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&item.name),
            item.quantity,
            item.unit_amount,
            item.amount(),
        ));
    }
    let mut details = String::new();
    let mut row = |label: &str, value: &str| {
        details.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        ));
    };
    if let Some(email) = &s.customer_email {
        row("Email", email);
    }
    if let Some(reference) = &s.client_reference_id {
        row("Order", reference);
    }
    if let Some(metadata) = s
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Map<String, Value>>(m).ok())
    {
        for (key, value) in metadata {
            row(&key, value.as_str().unwrap_or_default());
        }
    }
    let notice = message.map_or(String::new(), |m| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m))
    });
    let action = match s.status {
        CheckoutStatus::Open => {
            let mut cards = String::new();
            for (i, (token, label)) in CARDS.iter().enumerate() {
                cards.push_str(&format!(
                    "<label><input type=\"radio\" name=\"payment_method\" value=\"{token}\"{}> {label}</label>",
                    if i == 0 { " checked" } else { "" }
                ));
            }
            let cancel = s.cancel_url.as_deref().map_or(String::new(), |url| {
                format!(" <a href=\"{}\" class=\"cancel\">Cancel</a>", escape(url))
            });
            format!(
                "<form method=\"post\" action=\"{PREFIX}{id}/pay\"><fieldset><legend>Test card</legend>{cards}</fieldset>\
                 <button type=\"submit\" id=\"pay\">Pay {total} {currency}</button>{cancel}</form>",
                id = escape(&s.id),
                total = s.amount_total,
            )
        }
        CheckoutStatus::Complete => {
            "<p class=\"done\">This checkout session is complete: it has been paid.</p>".to_string()
        }
        CheckoutStatus::Expired => {
            "<p class=\"done\">This checkout session has expired; it can no longer be paid.</p>"
                .to_string()
        }
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Test checkout</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;margin:1rem 0;width:100%}}th,td{{text-align:left;padding:.25rem .75rem .25rem 0;word-break:break-word}}\
         fieldset{{border:1px solid #ccc;margin:1rem 0}}label{{display:block;margin:.25rem 0}}\
         button{{font-size:1rem;padding:.5rem 1.25rem}}.error{{color:#a00}}.done{{color:#555}}.cancel{{margin-left:1rem}}</style>\
         </head><body><h1>Test checkout</h1>\
         <p>gateway-sim's hosted payment page: no real card is charged.</p>\
         <table><thead><tr><th>Item</th><th>Qty</th><th>Unit</th><th>Amount</th></tr></thead>\
         <tbody>{items}</tbody><tfoot><tr><th colspan=\"3\">Total ({currency}, minor units)</th>\
         <th id=\"total\">{total}</th></tr></tfoot></table>\
         <table>{details}</table>{notice}{action}</body></html>\n",
        total = s.amount_total,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_url_names_the_session() {
        let s = CheckoutSession {
            id: "cs_test_abc".into(),
            merchant: crate::engine::Engine::new(std::time::Duration::from_secs(1))
                .merchant("sk_test_x"),
            created: 0,
            expires_at: 0,
            status: CheckoutStatus::Open,
            currency: crate::engine::money::Currency::parse("usd").unwrap(),
            line_items: Vec::new(),
            amount_total: 1,
            success_url: "https://shop.example/ok?s={CHECKOUT_SESSION_ID}".into(),
            cancel_url: None,
            client_reference_id: None,
            metadata: None,
            customer_email: None,
            capture_method: crate::engine::CaptureMethod::Automatic,
            payment: None,
            paid: false,
            attempt: None,
            paying: false,
        };
        assert_eq!(
            success_location(&s),
            "https://shop.example/ok?s=cs_test_abc"
        );
    }
}
