//! `[target]`: the request template of `--service` mode ([`TargetTemplate`]): how to call a
//! merchant's own payment service once per order ([`Template`] with its [`Placeholder`]s)
//! and how to read its answer ([`ResponseRule`]).
//!
//! Compiled when the scenario is read, so a bad placeholder or a body that is not JSON once
//! filled in fails before any load is sent.

use std::collections::BTreeMap;
use std::time::Duration;

use gateway_sim::parse_duration;
use serde::Deserialize;

use super::field::{FieldError, field_error};
use super::load::MAX_WAIT;
use super::order::{OrderLookup, RawOrder};
use super::template::{Template, TemplateValues};

/// `[target]` as written; see [`TargetTemplate`] for the format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    #[serde(default = "default_method")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    success: Option<RawRule>,
    decline: Option<RawRule>,
    accepted: Option<RawRule>,
    timeout: Option<String>,
    order: Option<RawOrder>,
    capture: Option<RawStep>,
    void: Option<RawStep>,
}

/// `[target.capture]` or `[target.void]` as written: a second request after an authorization.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default = "default_method")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    success: Option<RawRule>,
    /// `[target.void]` only: the share of authorized orders voided instead of captured.
    share: Option<f64>,
}

fn default_method() -> String {
    "POST".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    status: Vec<u16>,
    pointer: Option<String>,
    equals: Option<toml::Value>,
}

/// How to recognise one kind of answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRule {
    /// Status codes that match; empty means any.
    pub status: Vec<u16>,
    /// A JSON pointer (RFC 6901) into the body, and the value it must hold.
    pub pointer: Option<(String, serde_json::Value)>,
}

impl ResponseRule {
    fn compile(raw: RawRule, default_status: &[u16]) -> Result<Self, String> {
        let status = if raw.status.is_empty() && raw.pointer.is_none() {
            default_status.to_vec()
        } else {
            raw.status
        };
        if let Some(bad) = status.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(format!("status {bad} is not an HTTP status code"));
        }
        let pointer = match (raw.pointer, raw.equals) {
            (Some(p), Some(v)) => {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(format!(
                        "pointer {p:?} must start with \"/\", such as \"/status\""
                    ));
                }
                let value = serde_json::to_value(v).map_err(|e| e.to_string())?;
                Some((p, value))
            }
            (Some(_), None) => return Err("pointer needs equals = <expected value>".into()),
            (None, Some(_)) => return Err("equals needs pointer = \"/json/pointer\"".into()),
            (None, None) => None,
        };
        Ok(Self { status, pointer })
    }

    /// Whether an answer with this status and body matches the rule.
    pub fn matches(&self, status: u16, body: &[u8]) -> bool {
        if !self.status.is_empty() && !self.status.contains(&status) {
            return false;
        }
        match &self.pointer {
            None => true,
            Some((pointer, expected)) => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|doc| doc.pointer(pointer).cloned())
                .is_some_and(|found| &found == expected),
        }
    }
}

/// `[target]`: the merchant service's endpoint, for `--service` mode, compiled.
///
/// ```toml
/// [target]
/// method = "POST"                     # default POST
/// path = "/checkout"                  # joined to --service URL
/// headers = { "X-Api-Key" = "secret", "Idempotency-Key" = "{{idempotency_key}}" }
/// body = '{"order_id":"{{order_id}}","amount":{{amount}},"currency":"{{currency}}"}'
///
/// [target.success]                    # the order was charged
/// status = [200, 201]                 # any of these codes (default [200, 201])
/// pointer = "/status"                 # optional: and the JSON body at this pointer...
/// equals = "succeeded"                # ...equals this value
///
/// [target.decline]                    # the card was declined: no money moved
/// status = [402]                      # default [402]
///
/// [target.accepted]                   # optional: taken, settled later (a webhook-driven
/// status = [202]                      # service answering "pending"); no default
///
/// [target.capture]                    # optional: a two-step service; [target.success]
/// path = "/payments/{{order_id}}/capture"  # then means authorized, and this captures
///
/// [target.void]                       # optional, with capture: voids this share instead
/// path = "/payments/{{order_id}}/void"
/// share = 0.2
/// ```
///
/// Placeholders, in the body, path and header values: `{{order_id}}`,
/// `{{amount}}` (minor units, a bare integer), `{{amount_decimal}}` (major
/// units with the currency's decimals, `19.99`), `{{currency}}`,
/// `{{idempotency_key}}`. The body is a text template: put quotes around
/// string placeholders yourself. It must be JSON once filled in (checked when
/// the file is read); `Content-Type: application/json` is sent unless a header
/// says otherwise.
///
/// An answer is read in this order: the success rule matches → charged; the
/// decline rule matches → declined; the accepted rule matches → accepted (the
/// client was promised nothing yet: `[target.order]` then says how the order
/// ended); a timeout, a dropped connection or a 5xx
/// → outcome unknown (the checker decides from the ledger); anything else →
/// failed (the client was told no money moved).
///
/// `path` is taken from the root of the `--service` host (a path in the
/// `--service` URL is replaced, as URL joining does). The service must pass
/// `{{order_id}}` to the gateway as the payment's `reference`: that is how the
/// check finds each order's money in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTemplate {
    /// Upper-case HTTP method.
    pub method: String,
    pub path: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    pub success: ResponseRule,
    pub decline: ResponseRule,
    /// `[target.accepted]`: an answer that takes the order without settling it.
    pub accepted: Option<ResponseRule>,
    /// How long to wait for the service's answer. A service retries the gateway
    /// before it answers, so this is longer than `[load] timeout`, which is about
    /// one gateway call. Absent: `[load] timeout`.
    pub timeout: Option<Duration>,
    /// `[target.order]`: how to read each order back after the run, to compare the
    /// merchant's books with the ledger. Absent: the merchant's view is not checked.
    pub order: Option<OrderLookup>,
    /// `[target.capture]` (and `[target.void]`): a two-step service. The first request only
    /// authorizes; after its success this second request captures (or voids) the order, and
    /// only a successful capture means money moved. Absent: the first request charges.
    pub second_step: Option<SecondStep>,
}

/// One request of a two-step service, after the authorization: its template and the rule
/// that says it worked.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRequest {
    pub method: String,
    pub path: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    pub success: ResponseRule,
}

/// What follows a successful authorization: a capture, or for `void_share` of the orders a
/// void (picked per order from the run's seed, so a rerun voids the same orders).
#[derive(Debug, Clone, PartialEq)]
pub struct SecondStep {
    pub capture: StepRequest,
    pub void: Option<StepRequest>,
    /// In [0, 1]; 0 without `[target.void]`.
    pub void_share: f64,
}

impl TargetTemplate {
    pub(super) fn compile(raw: RawTarget) -> Result<Self, FieldError> {
        let request =
            compile_request("", &raw.method, &raw.path, raw.headers, raw.body.as_deref())?;
        let success = ResponseRule::compile(raw.success.unwrap_or_default(), &[200, 201])
            .map_err(|m| field_error("success", m))?;
        let decline = ResponseRule::compile(raw.decline.unwrap_or_default(), &[402])
            .map_err(|m| field_error("decline", m))?;
        // No default: a service that answers at once has no "accepted" answer to recognise.
        let accepted = raw
            .accepted
            .map(|rule| ResponseRule::compile(rule, &[202]))
            .transpose()
            .map_err(|m| field_error("accepted", m))?;
        let timeout = raw
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| field_error("timeout", m))?;
        if timeout.is_some_and(|t| t.is_zero() || t > MAX_WAIT) {
            return Err(field_error("timeout", "must be above 0 and at most 10m"));
        }
        let order = raw.order.map(OrderLookup::compile).transpose()?;
        let second_step = SecondStep::compile(raw.capture, raw.void)?;
        Ok(Self {
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            success,
            decline,
            accepted,
            timeout,
            order,
            second_step,
        })
    }
}

impl SecondStep {
    fn compile(
        capture: Option<RawStep>,
        void: Option<RawStep>,
    ) -> Result<Option<Self>, FieldError> {
        let Some(capture) = capture else {
            return match void {
                Some(_) => Err(field_error(
                    "void",
                    "needs [target.capture]: a void is the alternative to a capture after an authorization",
                )),
                None => Ok(None),
            };
        };
        if capture.share.is_some() {
            return Err(field_error(
                "capture.share",
                "is not a key of [target.capture]; give [target.void] a share instead",
            ));
        }
        let capture = StepRequest::compile("capture", capture)?;
        let (void, void_share) = match void {
            None => (None, 0.0),
            Some(raw) => {
                let share = raw.share.ok_or_else(|| {
                    field_error(
                        "void.share",
                        "is required: the share of authorized orders voided, such as 0.1",
                    )
                })?;
                if !(0.0..=1.0).contains(&share) {
                    return Err(field_error(
                        "void.share",
                        format!("must be between 0 and 1, got {share}"),
                    ));
                }
                (Some(StepRequest::compile("void", raw)?), share)
            }
        };
        Ok(Some(Self {
            capture,
            void,
            void_share,
        }))
    }
}

impl StepRequest {
    fn compile(name: &str, raw: RawStep) -> Result<Self, FieldError> {
        let request = compile_request(
            &format!("{name}."),
            &raw.method,
            &raw.path,
            raw.headers,
            raw.body.as_deref(),
        )?;
        let success = ResponseRule::compile(raw.success.unwrap_or_default(), &[200, 201])
            .map_err(|m| field_error(&format!("{name}.success"), m))?;
        Ok(Self {
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            success,
        })
    }
}

/// The request part of `[target]` or one of its steps, compiled.
struct CompiledRequest {
    method: String,
    path: Template,
    headers: Vec<(String, Template)>,
    body: Option<Template>,
}

/// Checks and compiles a request's method, path, headers and body; `prefix` names the table
/// in errors (`""` for `[target]`, `"capture."` for `[target.capture]`).
/// The order templates are checked with when the scenario is read.
fn sample_values() -> TemplateValues<'static> {
    TemplateValues {
        order_id: "ord-0-0",
        amount: 1234,
        currency: "usd",
        idempotency_key: "ord-0-0-k0",
    }
}

fn compile_request(
    prefix: &str,
    method: &str,
    path: &str,
    raw_headers: BTreeMap<String, String>,
    body: Option<&str>,
) -> Result<CompiledRequest, FieldError> {
    let field = |name: &str| format!("{prefix}{name}");
    let upper = method.to_ascii_uppercase();
    if !matches!(upper.as_str(), "POST" | "PUT" | "PATCH" | "GET" | "DELETE") {
        return Err(field_error(
            &field("method"),
            format!("must be POST, PUT, PATCH, GET or DELETE, got {method:?}"),
        ));
    }
    if !path.starts_with('/') {
        return Err(field_error(
            &field("path"),
            format!("must start with \"/\", got {path:?}"),
        ));
    }
    let path = Template::compile(path).map_err(|m| field_error(&field("path"), m))?;
    // As with header values: sendable for the sample order is sendable for every order.
    let sample = path.render(&sample_values());
    if format!("http://127.0.0.1{sample}")
        .parse::<http::Uri>()
        .is_err()
    {
        return Err(field_error(
            &field("path"),
            format!(
                "{sample:?} is not a URL path (spaces and control characters must be %-escaped: a space is %20)"
            ),
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in raw_headers {
        if http_header_name_invalid(&name) {
            return Err(field_error(
                &field("headers"),
                format!("{name:?} is not a header name"),
            ));
        }
        let t = Template::compile(&value)
            .map_err(|m| field_error(&field(&format!("headers.{name}")), m))?;
        // The placeholders fill in with ids, digits and currency codes, so a value that is
        // sendable for the sample order is sendable for every order; one that is not would
        // fail every order at send time, far from the line that caused it.
        let sample = t.render(&sample_values());
        if http::HeaderValue::from_str(&sample).is_err() {
            return Err(field_error(
                &field(&format!("headers.{name}")),
                format!(
                    "{value:?} is not a header value HTTP allows (line breaks and control characters are not)"
                ),
            ));
        }
        headers.push((name, t));
    }
    let body = body
        .map(Template::compile)
        .transpose()
        .map_err(|m| field_error(&field("body"), m))?;
    if let Some(body) = &body {
        let sample = body.render(&sample_values());
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&sample) {
            return Err(field_error(
                &field("body"),
                format!(
                    "is not JSON once filled in ({e}): {sample}; put quotes around string placeholders such as \"{{{{order_id}}}}\""
                ),
            ));
        }
    }
    Ok(CompiledRequest {
        method: upper,
        path,
        headers,
        body,
    })
}

fn http_header_name_invalid(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
