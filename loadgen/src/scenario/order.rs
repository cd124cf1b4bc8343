//! `[target.order]`: how to read one order back from the service under test after a
//! `--service` run ([`OrderLookup`]), and how its answer becomes a [`MerchantView`].
//!
//! Apart from `target.rs` because it is a different request with a different reader: the
//! order template is sent once per order after the load, by the run, and its answer is
//! compared with the ledger rather than told to a client.

use std::collections::BTreeMap;
use std::time::Duration;

use gateway_sim::parse_duration;
use serde::Deserialize;

use super::field::{FieldError, field_error};
use super::load::MAX_WAIT;
use super::template::{Placeholder, Template};
use crate::merchant_view::{MerchantStatus, MerchantView};

/// `[target.order]` as written; see [`OrderLookup`] for the format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrder {
    #[serde(default = "default_method")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    status: String,
    #[serde(default = "paid")]
    paid: Vec<toml::Value>,
    #[serde(default = "pending")]
    pending: Vec<toml::Value>,
    #[serde(default = "failed")]
    failed: Vec<toml::Value>,
    #[serde(default = "refunded")]
    refunded: Vec<toml::Value>,
    fulfillments: Option<String>,
    amount_paid: Option<String>,
    amount_refunded: Option<String>,
    concurrency: Option<usize>,
    timeout: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}
fn paid() -> Vec<toml::Value> {
    vec!["paid".into()]
}
fn pending() -> Vec<toml::Value> {
    vec!["pending".into()]
}
fn failed() -> Vec<toml::Value> {
    vec!["failed".into()]
}
fn refunded() -> Vec<toml::Value> {
    vec!["refunded".into()]
}

/// How many orders are read at once by default: enough to read 100 000 orders in a few
/// seconds from a service answering in milliseconds, few enough not to load it like the run.
pub const DEFAULT_CONCURRENCY: usize = 32;
const MAX_CONCURRENCY: usize = 1024;
/// How long one order read may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[target.order]`: how to read what the merchant service says about one order, compiled.
///
/// ```toml
/// [target.order]
/// method = "GET"                       # default GET
/// path = "/orders/{{order_id}}"        # joined to the --service URL
/// headers = { "X-Api-Key" = "secret" }
/// status = "/status"                   # JSON pointer to the order's state (required)
/// paid = ["paid"]                      # values meaning paid (these four are the defaults)
/// pending = ["pending"]
/// failed = ["failed"]
/// refunded = ["refunded"]
/// fulfillments = "/fulfillments"       # optional pointers: how many times it shipped,
/// amount_paid = "/amount_paid"         # minor units it believes it was paid,
/// amount_refunded = "/amount_refunded" # and refunded
/// concurrency = 32                     # orders read at once (default 32)
/// timeout = "10s"                      # per read (default 10s)
/// ```
///
/// Only `{{order_id}}` may appear in the path and header values: the order is read by its id
/// alone. A value in none of the four lists, an answer that is not 2xx JSON or a status
/// pointer with nothing there gives an unreadable view, counted but never judged.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLookup {
    /// Upper-case HTTP method.
    pub method: String,
    pub path: Template,
    pub headers: Vec<(String, Template)>,
    status: String,
    statuses: Vec<(serde_json::Value, MerchantStatus)>,
    fulfillments: Option<String>,
    amount_paid: Option<String>,
    amount_refunded: Option<String>,
    pub concurrency: usize,
    pub timeout: Duration,
}

impl OrderLookup {
    pub(super) fn compile(raw: RawOrder) -> Result<Self, FieldError> {
        let field = |name: &str| format!("order.{name}");
        let method = raw.method.to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST") {
            return Err(field_error(
                &field("method"),
                format!("must be GET or POST, got {:?}", raw.method),
            ));
        }
        if !raw.path.starts_with('/') {
            return Err(field_error(
                &field("path"),
                format!("must start with \"/\", got {:?}", raw.path),
            ));
        }
        let path = order_template(&raw.path).map_err(|m| field_error(&field("path"), m))?;
        if !path.uses(Placeholder::OrderId) {
            return Err(field_error(
                &field("path"),
                "must name the order with {{order_id}}",
            ));
        }
        let mut headers = Vec::new();
        for (name, value) in raw.headers {
            let t = order_template(&value)
                .map_err(|m| field_error(&field(&format!("headers.{name}")), m))?;
            headers.push((name, t));
        }
        let pointer = |name: &str, p: Option<String>| -> Result<Option<String>, FieldError> {
            match p {
                Some(p) if !p.starts_with('/') => Err(field_error(
                    &field(name),
                    format!("JSON pointer {p:?} must start with \"/\", such as \"/{name}\""),
                )),
                p => Ok(p),
            }
        };
        let Some(status) = pointer("status", Some(raw.status))? else {
            return Err(field_error(&field("status"), "is required"));
        };
        let mut statuses = Vec::new();
        for (name, values, meaning) in [
            ("paid", raw.paid, MerchantStatus::Paid),
            ("pending", raw.pending, MerchantStatus::Pending),
            ("failed", raw.failed, MerchantStatus::Failed),
            ("refunded", raw.refunded, MerchantStatus::Refunded),
        ] {
            for value in values {
                let value = serde_json::to_value(value)
                    .map_err(|e| field_error(&field(name), e.to_string()))?;
                if let Some((_, other)) = statuses.iter().find(|(v, _)| *v == value) {
                    return Err(field_error(
                        &field(name),
                        format!("{value} is already listed as {other:?}"),
                    ));
                }
                statuses.push((value, meaning));
            }
        }
        let concurrency = raw.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(field_error(
                &field("concurrency"),
                format!("must be 1 to {MAX_CONCURRENCY}, got {concurrency}"),
            ));
        }
        let timeout = raw
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| field_error(&field("timeout"), m))?
            .unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() || timeout > MAX_WAIT {
            return Err(field_error(
                &field("timeout"),
                "must be above 0 and at most 10m",
            ));
        }
        Ok(Self {
            method,
            path,
            headers,
            status,
            statuses,
            fulfillments: pointer("fulfillments", raw.fulfillments)?,
            amount_paid: pointer("amount_paid", raw.amount_paid)?,
            amount_refunded: pointer("amount_refunded", raw.amount_refunded)?,
            concurrency,
            timeout,
        })
    }

    /// The merchant's view from the service's answer for one order.
    pub fn read_view(&self, order_id: &str, http_status: u16, body: &[u8]) -> MerchantView {
        if !(200..300).contains(&http_status) {
            return MerchantView::unreadable(order_id, format!("HTTP {http_status}"));
        }
        let doc: serde_json::Value = match serde_json::from_slice(body) {
            Ok(doc) => doc,
            Err(e) => return MerchantView::unreadable(order_id, format!("not JSON: {e}")),
        };
        let Some(value) = doc.pointer(&self.status) else {
            return MerchantView::unreadable(order_id, format!("nothing at {}", self.status));
        };
        let Some(&(_, status)) = self.statuses.iter().find(|(v, _)| v == value) else {
            return MerchantView::unreadable(order_id, format!("unknown status {value}"));
        };
        let number = |p: &Option<String>| {
            p.as_deref()
                .and_then(|p| doc.pointer(p))
                .and_then(serde_json::Value::as_i64)
        };
        MerchantView {
            order_id: order_id.to_owned(),
            status,
            fulfillments: number(&self.fulfillments).and_then(|n| u32::try_from(n).ok()),
            amount_paid: number(&self.amount_paid),
            amount_refunded: number(&self.amount_refunded),
            error: None,
        }
    }
}

/// A path or header template that names nothing but the order.
fn order_template(text: &str) -> Result<Template, String> {
    let t = Template::compile(text)?;
    for other in [
        Placeholder::Amount,
        Placeholder::AmountDecimal,
        Placeholder::Currency,
        Placeholder::IdempotencyKey,
    ] {
        if t.uses(other) {
            return Err("only {{order_id}} can be filled in when reading an order".into());
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(toml_text: &str) -> Result<OrderLookup, FieldError> {
        let raw: RawOrder = match toml::from_str(toml_text) {
            Ok(raw) => raw,
            Err(e) => panic!("{e}"),
        };
        OrderLookup::compile(raw)
    }

    #[test]
    fn defaults_read_the_usual_words_and_numbers() {
        let l = match lookup(
            "path = \"/orders/{{order_id}}\"\nstatus = \"/state\"\nfulfillments = \"/shipped\"\namount_refunded = \"/money/refunded\"\n",
        ) {
            Ok(l) => l,
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!((l.method.as_str(), l.concurrency), ("GET", 32));
        let v = l.read_view(
            "o-1",
            200,
            br#"{"state":"paid","shipped":1,"money":{"refunded":250}}"#,
        );
        assert_eq!(v.status, MerchantStatus::Paid);
        assert_eq!(
            (v.fulfillments, v.amount_paid, v.amount_refunded),
            (Some(1), None, Some(250))
        );
        let v = l.read_view("o-1", 200, br#"{"state":"refunded"}"#);
        assert_eq!(v.status, MerchantStatus::Refunded);
    }

    #[test]
    fn answers_that_say_nothing_are_unreadable() {
        let l =
            match lookup("path = \"/o/{{order_id}}\"\nstatus = \"/s\"\npaid = [\"captured\", 1]\n")
            {
                Ok(l) => l,
                Err(e) => panic!("{e:?}"),
            };
        assert_eq!(
            l.read_view("o", 200, br#"{"s":1}"#).status,
            MerchantStatus::Paid
        );
        for (code, body) in [
            (404, &br#"{"s":"captured"}"#[..]),
            (200, b"not json"),
            (200, br#"{"other":1}"#),
            (200, br#"{"s":"paid"}"#),
        ] {
            let v = l.read_view("o", code, body);
            assert_eq!(v.status, MerchantStatus::Unknown, "{code} {body:?}");
            assert!(v.error.is_some());
        }
    }

    #[test]
    fn bad_fields_are_named() {
        for (text, field) in [
            ("path = \"/orders\"\nstatus = \"/s\"\n", "order.path"),
            (
                "path = \"/o/{{amount}}/{{order_id}}\"\nstatus = \"/s\"\n",
                "order.path",
            ),
            (
                "path = \"/o/{{order_id}}\"\nstatus = \"s\"\n",
                "order.status",
            ),
            (
                "path = \"/o/{{order_id}}\"\nstatus = \"/s\"\nmethod = \"PUT\"\n",
                "order.method",
            ),
            (
                "path = \"/o/{{order_id}}\"\nstatus = \"/s\"\nfailed = [\"paid\"]\n",
                "order.failed",
            ),
            (
                "path = \"/o/{{order_id}}\"\nstatus = \"/s\"\nconcurrency = 0\n",
                "order.concurrency",
            ),
            (
                "path = \"/o/{{order_id}}\"\nstatus = \"/s\"\ntimeout = \"0s\"\n",
                "order.timeout",
            ),
            (
                "path = \"/o/{{order_id}}\"\nstatus = \"/s\"\namount_paid = \"x\"\n",
                "order.amount_paid",
            ),
        ] {
            match lookup(text) {
                Ok(_) => panic!("{text} should be refused"),
                Err((f, _)) => assert_eq!(f, field, "{text}"),
            }
        }
    }
}
