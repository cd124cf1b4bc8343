//! The Stripe dialect over HTTP: form-encoded requests as the SDKs send them,
//! Stripe objects and errors back, and the same engine, ledger, idempotency keys
//! and fault model as the native API underneath.
//!
//! One module per part of the dialect, as in `src/api/stripe/`; the client
//! helpers (form bodies, Stripe-shaped assertions) live here.

mod checkout;
mod disputes;
mod events;
mod idempotency_and_faults;
mod lifecycle;
mod pages;
mod payment_intents;
mod payment_methods;
mod refunds;
mod requests;
mod retry_advice;
mod settlement;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Answer, TestApp, answer};
use gateway_sim::EntryKind;

/// A Stripe-style client: form bodies, Bearer key, optional Idempotency-Key.
impl TestApp {
    async fn form(&self, path: &str, form: &[(&str, &str)], key: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .header("Stripe-Version", "2024-06-20")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        answer(req.send().await.expect("request sent")).await
    }

    /// Moves simulator time `days` whole days on (disputes decide, payouts run and arrive).
    async fn advance_days(&self, days: u64) {
        let a = self
            .post(
                "/_sim/clock/advance",
                serde_json::json!({"seconds": days * 86_400}),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }

    async fn stripe_get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        let url = if query.is_empty() {
            self.url(path)
        } else {
            format!("{}?{}", self.url(path), encode(query))
        };
        // As the SDKs do: a `Stripe-Version` header is how `/v1/events`, a path
        // both dialects claim, knows a Stripe client is asking.
        let req = self
            .client
            .get(url)
            .bearer_auth(&self.api_key)
            .header("Stripe-Version", "2024-06-20");
        answer(req.send().await.expect("request sent")).await
    }

    /// Creates and confirms a PaymentIntent with `pm`, expecting a 200.
    async fn paid_intent(&self, amount: &str, capture_method: &str) -> Value {
        let a = self
            .form(
                "/v1/payment_intents",
                &[
                    ("amount", amount),
                    ("currency", "usd"),
                    ("payment_method", "pm_card_visa"),
                    ("confirm", "true"),
                    ("capture_method", capture_method),
                ],
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
        a.json
    }
}

/// Form encoding as the SDKs write it: brackets escaped, spaces as `+`.
fn encode(form: &[(&str, &str)]) -> String {
    let escape = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("object has an id")
}

/// `pi_X` → the engine's `pay_X`.
fn payment_id(intent: &str) -> String {
    format!(
        "pay_{}",
        intent.strip_prefix("pi_").expect("a PaymentIntent id")
    )
}

fn ledger_of(app: &TestApp, intent: &str) -> Vec<(EntryKind, i64)> {
    let pay = payment_id(intent);
    app.sim
        .ledger_entries()
        .into_iter()
        .filter(|e| e.payment_id == pay)
        .map(|e| (e.kind, e.amount))
        .collect()
}

fn assert_stripe_error(a: &Answer, status: StatusCode, kind: &str, code: &str) {
    assert_eq!(a.status, status, "{}", a.json);
    assert_eq!(a.json["error"]["type"], kind, "{}", a.json);
    assert_eq!(a.json["error"]["code"], code, "{}", a.json);
    assert!(a.json["error"]["message"].is_string(), "{}", a.json);
}
