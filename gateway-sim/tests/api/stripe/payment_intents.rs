//! PaymentIntents over HTTP: create (confirming or not), update, confirm,
//! capture, cancel, and how declines and state conflicts answer.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_stripe_error, id, ledger_of, payment_id};
use crate::helpers::{spawn_app, spawn_app_with_behaviour};
use gateway_sim::EntryKind;

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
