//! The Stripe dialect over HTTP: form-encoded requests as the SDKs send them,
//! Stripe objects and errors back, and the same engine, ledger, idempotency keys
//! and fault model as the native API underneath.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, answer, spawn_app, spawn_app_with_behaviour};
use gateway_sim::EntryKind;

/// A Stripe-style client: form bodies, Bearer key, optional Idempotency-Key.
impl TestApp {
    async fn form(&self, path: &str, form: &[(&str, &str)], key: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        answer(req.send().await.expect("request sent")).await
    }

    async fn stripe_get(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        let url = if query.is_empty() {
            self.url(path)
        } else {
            format!("{}?{}", self.url(path), encode(query))
        };
        let req = self.client.get(url).bearer_auth(&self.api_key);
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

#[tokio::test]
async fn create_with_confirm_charges_and_answers_a_payment_intent() {
    let app = spawn_app().await;
    let a = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "2000"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
                ("metadata[order_id]", "order 42"),
                ("expand[]", "latest_charge"),
            ],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert!(a.headers.get("request-id").is_some());
    let pi = &a.json;
    assert_eq!(pi["object"], "payment_intent");
    assert!(id(pi).starts_with("pi_"));
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount_received"], 2000);
    assert_eq!(pi["capture_method"], "automatic");
    assert_eq!(pi["livemode"], false);
    assert_eq!(pi["metadata"], json!({"order_id": "order 42"}));
    assert!(
        pi["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}_secret_", id(pi)))
    );
    let charge = &pi["latest_charge"];
    assert_eq!(charge["object"], "charge", "expanded: {charge}");
    assert_eq!(charge["id"], format!("ch_{}", &id(pi)[3..]));
    assert_eq!(charge["amount_captured"], 2000);
    assert_eq!(charge["payment_intent"], pi["id"]);
    assert_eq!(charge["payment_method_details"]["card"]["last4"], "4242");
    assert_eq!(
        ledger_of(&app, id(pi)),
        vec![(EntryKind::Authorization, 2000), (EntryKind::Capture, 2000)]
    );
}

#[tokio::test]
async fn create_then_confirm_then_capture_part_releases_the_rest() {
    let app = spawn_app().await;
    let created = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "5000"),
                ("currency", "eur"),
                ("capture_method", "manual"),
            ],
            None,
        )
        .await;
    assert_eq!(created.json["status"], "requires_payment_method");
    assert_eq!(created.json["latest_charge"], Value::Null);
    let pi = id(&created.json).to_string();
    assert!(
        ledger_of(&app, &pi).is_empty(),
        "nothing moves before confirmation"
    );
    let no_charge = app
        .stripe_get(&format!("/v1/charges/ch_{}", &pi[3..]), &[])
        .await;
    assert_stripe_error(
        &no_charge,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );

    let confirmed = app
        .form(
            &format!("/v1/payment_intents/{pi}/confirm"),
            &[("payment_method", "pm_card_mastercard")],
            None,
        )
        .await;
    assert_eq!(confirmed.json["status"], "requires_capture");
    assert_eq!(confirmed.json["amount_capturable"], 5000);
    let captured = app
        .form(
            &format!("/v1/payment_intents/{pi}/capture"),
            &[("amount_to_capture", "3000")],
            None,
        )
        .await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.json);
    assert_eq!(captured.json["status"], "succeeded");
    assert_eq!(captured.json["amount_received"], 3000);
    assert_eq!(captured.json["amount_capturable"], 0);
    let charge = app
        .stripe_get(
            &format!(
                "/v1/charges/{}",
                captured.json["latest_charge"].as_str().unwrap()
            ),
            &[("expand[0]", "payment_intent")],
        )
        .await
        .json
        .clone();
    assert_eq!(charge["amount"], 5000);
    assert_eq!(charge["amount_captured"], 3000);
    assert_eq!(charge["captured"], true);
    assert_eq!(charge["payment_intent"]["id"], pi.as_str());
    assert_eq!(
        charge["payment_method_details"]["card"]["brand"],
        "mastercard"
    );
    assert_eq!(
        ledger_of(&app, &pi),
        vec![
            (EntryKind::Authorization, 5000),
            (EntryKind::Capture, 3000),
            (EntryKind::Release, 2000)
        ]
    );
}

#[tokio::test]
async fn declines_are_402_card_errors_carrying_the_payment_intent() {
    let app = spawn_app().await;
    let a = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "1500"),
                ("currency", "usd"),
                ("payment_method", "pm_card_chargeDeclinedInsufficientFunds"),
                ("confirm", "true"),
            ],
            None,
        )
        .await;
    assert_stripe_error(
        &a,
        StatusCode::PAYMENT_REQUIRED,
        "card_error",
        "card_declined",
    );
    let e = &a.json["error"];
    assert_eq!(e["decline_code"], "insufficient_funds");
    let pi = &e["payment_intent"];
    assert_eq!(pi["status"], "requires_payment_method");
    assert_eq!(
        pi["payment_method"],
        Value::Null,
        "the declined card is detached"
    );
    assert_eq!(
        pi["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    assert_eq!(e["charge"], pi["latest_charge"]);
    let charge = app
        .stripe_get(
            &format!("/v1/charges/{}", e["charge"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(charge.json["status"], "failed");
    assert_eq!(charge.json["paid"], false);
    assert_eq!(charge.json["outcome"]["reason"], "insufficient_funds");
    let intent = id(pi).to_string();
    let ledger: Vec<_> = app
        .sim
        .ledger_entries()
        .into_iter()
        .filter(|x| x.payment_id == payment_id(&intent))
        .collect();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].kind, ledger[0].decline_code.as_deref()),
        (EntryKind::Decline, Some("insufficient_funds"))
    );

    // Some decline reasons have their own error code, as on Stripe.
    let expired = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "100"),
                ("currency", "usd"),
                ("payment_method", "pm_card_chargeDeclinedExpiredCard"),
                ("confirm", "true"),
            ],
            None,
        )
        .await;
    assert_eq!(expired.json["error"]["code"], "expired_card");
    assert_eq!(expired.json["error"]["decline_code"], "expired_card");

    // The customer tries another card on the same PaymentIntent.
    let retried = app
        .form(
            &format!("/v1/payment_intents/{intent}/confirm"),
            &[("payment_method", "pm_card_visa")],
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.json);
    assert_eq!(retried.json["status"], "succeeded");
    assert_eq!(retried.json["last_payment_error"], Value::Null);
}

#[tokio::test]
async fn the_scenarios_decline_rules_apply_to_separate_confirmations() {
    let app = spawn_app_with_behaviour(
        "[[gateway.declines.amount_rules]]\nmin = 666\nmax = 666\ncode = \"do_not_honor\"\n",
    )
    .await;
    let created = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "666"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
            ],
            None,
        )
        .await;
    assert_eq!(created.json["status"], "requires_confirmation");
    let confirmed = app
        .form(
            &format!("/v1/payment_intents/{}/confirm", id(&created.json)),
            &[],
            None,
        )
        .await;
    assert_stripe_error(
        &confirmed,
        StatusCode::PAYMENT_REQUIRED,
        "card_error",
        "card_declined",
    );
    assert_eq!(confirmed.json["error"]["decline_code"], "do_not_honor");
}

#[tokio::test]
async fn state_conflicts_are_400_payment_intent_unexpected_state() {
    let app = spawn_app().await;
    let pi = app.paid_intent("1000", "automatic").await;
    let pi = id(&pi);
    for action in ["capture", "cancel", "confirm"] {
        let a = app
            .form(&format!("/v1/payment_intents/{pi}/{action}"), &[], None)
            .await;
        assert_stripe_error(
            &a,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "payment_intent_unexpected_state",
        );
        assert_eq!(a.json["error"]["payment_intent"]["status"], "succeeded");
        assert!(
            a.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("status is succeeded"),
            "{}",
            a.json
        );
    }
    let auth = app.paid_intent("700", "manual").await;
    let refund = app
        .form("/v1/refunds", &[("payment_intent", id(&auth))], None)
        .await;
    assert_stripe_error(
        &refund,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "payment_intent_unexpected_state",
    );
    let too_much = app
        .form(
            &format!("/v1/payment_intents/{}/capture", id(&auth)),
            &[("amount_to_capture", "701")],
            None,
        )
        .await;
    assert_stripe_error(
        &too_much,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "amount_too_large",
    );
    assert_eq!(too_much.json["error"]["param"], "amount_to_capture");
    let canceled = app
        .form(
            &format!("/v1/payment_intents/{}/cancel", id(&auth)),
            &[("cancellation_reason", "requested_by_customer")],
            None,
        )
        .await;
    assert_eq!(canceled.json["status"], "canceled");
    assert_eq!(
        ledger_of(&app, id(&auth)),
        vec![(EntryKind::Authorization, 700), (EntryKind::Release, 700)]
    );
}

#[tokio::test]
async fn refunds_by_charge_or_payment_intent_partial_and_several() {
    let app = spawn_app().await;
    let pi = app.paid_intent("1000", "automatic").await;
    let charge = pi["latest_charge"].as_str().unwrap().to_string();
    let first = app
        .form(
            "/v1/refunds",
            &[
                ("charge", &charge),
                ("amount", "300"),
                ("reason", "requested_by_customer"),
            ],
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    assert_eq!(first.json["object"], "refund");
    assert!(id(&first.json).starts_with("re_"));
    assert_eq!(first.json["charge"], charge.as_str());
    assert_eq!(first.json["payment_intent"], pi["id"]);
    assert_eq!(first.json["currency"], "usd");
    let second = app
        .form(
            "/v1/refunds",
            &[
                ("payment_intent", id(&pi)),
                ("amount", "200"),
                ("expand[]", "charge"),
            ],
            None,
        )
        .await;
    assert_eq!(
        second.json["charge"]["amount_refunded"], 500,
        "{}",
        second.json
    );
    let too_much = app
        .form(
            "/v1/refunds",
            &[("payment_intent", id(&pi)), ("amount", "501")],
            None,
        )
        .await;
    assert_stripe_error(
        &too_much,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "amount_too_large",
    );
    let rest = app
        .form("/v1/refunds", &[("payment_intent", id(&pi))], None)
        .await;
    assert_eq!(rest.json["amount"], 500, "without amount: all that is left");
    let again = app.form("/v1/refunds", &[("charge", &charge)], None).await;
    assert_stripe_error(
        &again,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "charge_already_refunded",
    );

    let fetched = app
        .stripe_get(&format!("/v1/refunds/{}", id(&first.json)), &[])
        .await;
    assert_eq!(fetched.json, first.json);
    let listed = app
        .stripe_get(
            "/v1/refunds",
            &[("payment_intent", id(&pi)), ("limit", "2")],
        )
        .await;
    assert_eq!(listed.json["object"], "list");
    assert_eq!(listed.json["has_more"], true);
    let ids: Vec<&str> = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, vec![id(&rest.json), id(&second.json)], "newest first");
    let charge = app.stripe_get(&format!("/v1/charges/{charge}"), &[]).await;
    assert_eq!(charge.json["amount_refunded"], 1000);
    assert_eq!(charge.json["refunded"], true);
    assert_eq!(charge.json["refunds"]["total_count"], 3);
    let refunded: i64 = app
        .sim
        .ledger_entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Refund)
        .map(|e| e.amount)
        .sum();
    assert_eq!(refunded, 1000);
    let missing = app.stripe_get("/v1/refunds/re_nope", &[]).await;
    assert_stripe_error(
        &missing,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
}

#[tokio::test]
async fn idempotent_retries_replay_and_a_changed_request_is_an_idempotency_error() {
    let app = spawn_app().await;
    let form = [
        ("amount", "2500"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let first = app
        .form("/v1/payment_intents", &form, Some("order-9"))
        .await;
    let again = app
        .form("/v1/payment_intents", &form, Some("order-9"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(again.raw, first.raw, "the same answer, byte for byte");
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        app.sim.engine().stats().captured_amount,
        2500,
        "charged once"
    );

    let changed = [
        ("amount", "2600"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let changed = app
        .form("/v1/payment_intents", &changed, Some("order-9"))
        .await;
    assert_stripe_error(
        &changed,
        StatusCode::BAD_REQUEST,
        "idempotency_error",
        "idempotency_key_mismatch",
    );

    // A declined answer is stored too: the retry does not charge the card again.
    let declined = [
        ("amount", "900"),
        ("currency", "usd"),
        ("payment_method", "pm_card_chargeDeclined"),
        ("confirm", "true"),
    ];
    let a = app
        .form("/v1/payment_intents", &declined, Some("d-1"))
        .await;
    let b = app
        .form("/v1/payment_intents", &declined, Some("d-1"))
        .await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::PAYMENT_REQUIRED, StatusCode::PAYMENT_REQUIRED)
    );
    assert_eq!(a.raw, b.raw);
    assert_eq!(app.sim.engine().stats().failed, 1);
}

#[tokio::test]
async fn keys_and_ledger_are_shared_with_the_native_api() {
    let app = spawn_app().await;
    let pi = app.paid_intent("1200", "automatic").await;
    let native = app
        .get(&format!("/v1/payments/{}", payment_id(id(&pi))))
        .await;
    assert_eq!(native.status, StatusCode::OK);
    assert_eq!(native.json["status"], "succeeded");
    assert_eq!(native.json["amount_captured"], 1200);

    // Refunded through the native API, seen on the Stripe charge.
    let refund = app
        .post(
            &format!("/v1/payments/{}/refunds", payment_id(id(&pi))),
            json!({"amount": 200}),
            None,
        )
        .await;
    assert_eq!(refund.status, StatusCode::OK);
    let charge = app
        .stripe_get(
            &format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(charge.json["amount_refunded"], 200);
    assert_eq!(charge.json["refunds"]["data"][0]["id"], refund.json["id"]);

    // A native payment is a PaymentIntent on the Stripe side.
    let native = app.create_payment(800, false, "order-n").await;
    let digits = native["id"].as_str().unwrap().strip_prefix("pay_").unwrap();
    let seen = app
        .stripe_get(&format!("/v1/payment_intents/pi_{digits}"), &[])
        .await;
    assert_eq!(seen.json["status"], "requires_capture");
    assert_eq!(seen.json["capture_method"], "manual");

    // One idempotency key space per merchant: a key used natively is taken here.
    let reused = app
        .form(
            "/v1/payment_intents",
            &[("amount", "1"), ("currency", "usd")],
            Some("shared-key"),
        )
        .await;
    assert_eq!(reused.status, StatusCode::OK);
    let clash = app
        .post(
            "/v1/payments",
            json!({"amount": 1, "currency": "usd", "payment_method": "pm_card_visa"}),
            Some("shared-key"),
        )
        .await;
    assert_eq!(clash.status, StatusCode::BAD_REQUEST);
    assert_eq!(clash.error_code(), "idempotency_key_mismatch");
}

#[tokio::test]
async fn authentication_by_bearer_or_basic_and_401_without_a_key() {
    let app = spawn_app().await;
    let none = answer(
        app.client
            .get(app.url("/v1/payment_intents"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_stripe_error(
        &none,
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "missing_api_key",
    );
    let pi = app.paid_intent("300", "automatic").await;
    let basic = answer(
        app.client
            .get(app.url(&format!("/v1/payment_intents/{}", id(&pi))))
            .basic_auth(&app.api_key, Some(""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        basic.status,
        StatusCode::OK,
        "the same merchant: {}",
        basic.json
    );
    let other = app.as_merchant("sk_test_other");
    let hidden = other.get(&format!("/v1/payment_intents/{}", id(&pi))).await;
    assert_stripe_error(
        &hidden,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(
        hidden.json["error"]["message"],
        format!("No such payment_intent: '{}'", id(&pi))
    );
}

#[tokio::test]
async fn bad_requests_get_stripe_shaped_400s_and_404s() {
    let app = spawn_app().await;
    /// A create form, the error code it gets and the parameter it names.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("currency", "usd")], "parameter_missing", "amount"),
        (vec![("amount", "10")], "parameter_missing", "currency"),
        (
            vec![("amount", "ten"), ("currency", "usd")],
            "parameter_invalid_integer",
            "amount",
        ),
        (
            vec![("amount", "10"), ("currency", "usd"), ("amout", "1")],
            "parameter_unknown",
            "amout",
        ),
        (
            vec![
                ("amount", "10"),
                ("currency", "usd"),
                ("payment_method", "pm_bogus"),
            ],
            "resource_missing",
            "payment_method",
        ),
        (
            vec![("amount", "10"), ("currency", "usd"), ("confirm", "true")],
            "payment_intent_unexpected_state",
            "payment_method",
        ),
        (
            vec![
                ("amount", "10"),
                ("currency", "usd"),
                ("capture_method", "later"),
            ],
            "parameter_invalid_string",
            "capture_method",
        ),
        (
            vec![
                ("amount", "10"),
                ("currency", "usd"),
                ("expand[]", "customer"),
            ],
            "parameter_invalid_string",
            "expand",
        ),
    ];
    for (form, code, param) in cases {
        let a = app.form("/v1/payment_intents", &form, None).await;
        assert_stripe_error(&a, StatusCode::BAD_REQUEST, "invalid_request_error", code);
        assert_eq!(a.json["error"]["param"], param, "{form:?}");
    }
    assert_eq!(app.sim.engine().stats().payments, 0, "nothing was created");

    // Parameters Stripe takes but the simulator does not model are accepted.
    let described = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "10"),
                ("currency", "usd"),
                ("description", "a hat"),
                ("payment_method_types[]", "card"),
            ],
            None,
        )
        .await;
    assert_eq!(described.status, StatusCode::OK, "{}", described.json);

    let unknown = app.stripe_get("/v1/payment_intents/pi_nope", &[]).await;
    assert_stripe_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );
    assert_eq!(unknown.json["error"]["param"], "intent");
    let route = app
        .form("/v1/payment_intents/pi_x/verify_microdeposits", &[], None)
        .await;
    assert_stripe_error(
        &route,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "unrecognized_request_url",
    );
    let method = answer(
        app.client
            .delete(app.url("/v1/payment_intents"))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(method.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn json_bodies_and_payment_method_lookups_work_too() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/v1/payment_intents",
            json!({"amount": 450, "currency": "gbp", "payment_method": "pm_card_amex", "confirm": true, "metadata": {"cart": "c-1"}}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.json["status"], "succeeded");
    assert_eq!(a.json["currency"], "gbp");
    assert_eq!(a.json["metadata"]["cart"], "c-1");
    let pm = app
        .stripe_get("/v1/payment_methods/pm_card_chargeDeclinedFraudulent", &[])
        .await;
    assert_eq!(pm.json["object"], "payment_method");
    assert_eq!(pm.json["card"]["last4"], "0019");
    let missing = app.stripe_get("/v1/payment_methods/pm_nope", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn updates_attach_a_method_and_patch_metadata() {
    let app = spawn_app().await;
    let created = app
        .form(
            "/v1/payment_intents",
            &[
                ("amount", "100"),
                ("currency", "usd"),
                ("metadata[a]", "1"),
                ("metadata[b]", "2"),
            ],
            None,
        )
        .await;
    let pi = id(&created.json).to_string();
    let updated = app
        .form(
            &format!("/v1/payment_intents/{pi}"),
            &[
                ("amount", "150"),
                ("payment_method", "pm_card_visa"),
                ("metadata[a]", ""),
                ("metadata[c]", "3"),
            ],
            None,
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.json);
    assert_eq!(updated.json["status"], "requires_confirmation");
    assert_eq!(updated.json["amount"], 150);
    assert_eq!(updated.json["metadata"], json!({"b": "2", "c": "3"}));
    let confirmed = app
        .form(
            &format!("/v1/payment_intents/{pi}/confirm"),
            &[("expand[]", "payment_method")],
            None,
        )
        .await;
    assert_eq!(confirmed.json["status"], "succeeded");
    assert_eq!(confirmed.json["payment_method"]["card"]["brand"], "visa");
    let late = app
        .form(
            &format!("/v1/payment_intents/{pi}"),
            &[("amount", "1")],
            None,
        )
        .await;
    assert_stripe_error(
        &late,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "payment_intent_unexpected_state",
    );
}

#[tokio::test]
async fn lists_page_newest_first_with_cursors() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for amount in ["101", "102", "103", "104", "105"] {
        ids.push(id(&app.paid_intent(amount, "automatic").await).to_string());
    }
    let pending = app
        .form(
            "/v1/payment_intents",
            &[("amount", "9"), ("currency", "usd")],
            None,
        )
        .await;
    let newest_first: Vec<String> = std::iter::once(id(&pending.json).to_string())
        .chain(ids.iter().rev().cloned())
        .collect();
    let page = |json: &Value| -> (Vec<String>, bool) {
        (
            json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| id(o).to_string())
                .collect(),
            json["has_more"].as_bool().unwrap(),
        )
    };
    let first = app
        .stripe_get("/v1/payment_intents", &[("limit", "4")])
        .await;
    assert_eq!(first.json["url"], "/v1/payment_intents");
    assert_eq!(page(&first.json), (newest_first[..4].to_vec(), true));
    let next = app
        .stripe_get(
            "/v1/payment_intents",
            &[("limit", "4"), ("starting_after", &newest_first[3])],
        )
        .await;
    assert_eq!(page(&next.json), (newest_first[4..].to_vec(), false));
    let back = app
        .stripe_get(
            "/v1/payment_intents",
            &[("limit", "2"), ("ending_before", &newest_first[4])],
        )
        .await;
    assert_eq!(page(&back.json), (newest_first[2..4].to_vec(), true));

    // Charges exist for confirmed PaymentIntents only.
    let charges = app
        .stripe_get(
            "/v1/charges",
            &[("limit", "10"), ("expand[]", "data.payment_intent")],
        )
        .await;
    let (charge_ids, more) = page(&charges.json);
    assert!(!more);
    assert_eq!(charge_ids.len(), 5);
    assert!(charge_ids.iter().all(|c| c.starts_with("ch_")));
    assert_eq!(
        charges.json["data"][0]["payment_intent"]["id"],
        ids[4].as_str()
    );
    let of_one = app
        .stripe_get("/v1/charges", &[("payment_intent", &ids[0])])
        .await;
    assert_eq!(of_one.json["data"][0]["amount"], 101);
    let bad_cursor = app
        .stripe_get("/v1/payment_intents", &[("starting_after", "pi_nope")])
        .await;
    assert_eq!(bad_cursor.status, StatusCode::NOT_FOUND);
    assert_eq!(bad_cursor.json["error"]["param"], "starting_after");
}

#[tokio::test]
async fn injected_faults_and_rate_limits_answer_in_stripes_shape() {
    let app = spawn_app_with_behaviour(
        "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"http_503\"\n",
    )
    .await;
    let form = [
        ("amount", "100"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let first = app.form("/v1/payment_intents", &form, Some("k-503")).await;
    assert_stripe_error(
        &first,
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "service_unavailable",
    );
    assert!(
        app.sim.ledger_entries().is_empty(),
        "rejected before processing"
    );
    let retry = app.form("/v1/payment_intents", &form, Some("k-503")).await;
    assert_eq!(
        retry.status,
        StatusCode::OK,
        "the retry with the same key goes through"
    );

    let limited =
        spawn_app_with_behaviour("[gateway.rate_limit]\nrequests_per_second = 1\nburst = 2\n")
            .await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let a = limited.stripe_get("/v1/payment_intents", &[]).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert_stripe_error(
                &a,
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                "rate_limit",
            );
            assert!(a.headers.get("retry-after").is_some());
        }
        statuses.push(a.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_key_in_flight_is_a_409_idempotency_error() {
    let app = spawn_app_with_behaviour(
        "[gateway.endpoints.create]\nlatency = { distribution = \"constant\", value = \"400ms\" }\n",
    )
    .await;
    let form = [
        ("amount", "100"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let first = app.form("/v1/payment_intents", &form, Some("slow"));
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        app.form("/v1/payment_intents", &form, Some("slow")).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status, StatusCode::OK);
    assert_stripe_error(
        &second,
        StatusCode::CONFLICT,
        "idempotency_error",
        "idempotency_key_in_use",
    );
}
