//! Disputes in the Stripe dialect: the `pm_card_createDispute*` test methods,
//! `/v1/disputes` (list, retrieve, update with evidence, close), `disputed` on
//! the charge, `charge.dispute.*` events and the refusal of refunds while open.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_stripe_error, id, ledger_of};
use crate::helpers::{TestApp, spawn_app};
use gateway_sim::EntryKind;

impl TestApp {
    async fn disputed_intent(&self, amount: &str, pm: &str) -> Value {
        let a = self
            .form(
                "/v1/payment_intents",
                &[
                    ("amount", amount),
                    ("currency", "usd"),
                    ("payment_method", pm),
                    ("confirm", "true"),
                ],
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
        assert_eq!(a.json["status"], "succeeded");
        a.json
    }

    async fn stripe_dispute_of(&self, pi: &str) -> Value {
        let list = self
            .stripe_get("/v1/disputes", &[("payment_intent", pi)])
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.json);
        assert_eq!(list.json["object"], "list");
        assert_eq!(list.json["url"], "/v1/disputes");
        list.json["data"][0].clone()
    }

    async fn stripe_event_types(&self) -> Vec<String> {
        let a = self
            .stripe_get(
                "/v1/events",
                &[("type", "charge.dispute.*"), ("limit", "100")],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
        let mut types: Vec<String> = a.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        types.reverse();
        types
    }
}

#[tokio::test]
async fn create_dispute_opens_a_dispute_that_winning_evidence_wins() {
    let app = spawn_app().await;
    let intent = app.disputed_intent("4200", "pm_card_createDispute").await;
    let pi = id(&intent).to_string();
    let ch = intent["latest_charge"].as_str().unwrap().to_string();
    let none = app.stripe_get("/v1/disputes", &[]).await;
    assert_eq!(none.json["data"], json!([]));

    app.advance_days(1).await;
    let d = app.stripe_dispute_of(&pi).await;
    let dp = id(&d).to_string();
    assert_eq!(d["object"], "dispute");
    assert_eq!(d["status"], "needs_response");
    assert_eq!(d["reason"], "fraudulent");
    assert_eq!(d["amount"], 4200);
    assert_eq!(d["currency"], "usd");
    assert_eq!(d["charge"], ch.as_str());
    assert_eq!(d["payment_intent"], pi.as_str());
    assert_eq!(d["livemode"], false);
    assert_eq!(d["balance_transactions"], json!([]));
    assert_eq!(d["evidence_details"]["submission_count"], 0);
    assert_eq!(d["evidence_details"]["has_evidence"], false);
    assert_eq!(d["is_charge_refundable"], false);
    let by_charge = app.stripe_get("/v1/disputes", &[("charge", &ch)]).await;
    assert_eq!(by_charge.json["data"][0]["id"], dp.as_str());
    let charge = app.stripe_get(&format!("/v1/charges/{ch}"), &[]).await;
    assert_eq!(charge.json["disputed"], true);

    let refund = app
        .form("/v1/refunds", &[("payment_intent", &pi)], Some("refund-1"))
        .await;
    assert_stripe_error(
        &refund,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "charge_disputed",
    );

    let updated = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("evidence[uncategorized_text]", "winning_evidence")],
            Some("evidence-1"),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.json);
    assert_eq!(updated.json["status"], "under_review");
    assert_eq!(
        updated.json["evidence"]["uncategorized_text"],
        "winning_evidence"
    );
    assert_eq!(updated.json["evidence_details"]["submission_count"], 1);
    let replay = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("evidence[uncategorized_text]", "winning_evidence")],
            Some("evidence-1"),
        )
        .await;
    assert_eq!(replay.raw, updated.raw);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");

    app.advance_days(7).await;
    let won = app.stripe_get(&format!("/v1/disputes/{dp}"), &[]).await;
    assert_eq!(won.json["status"], "won");
    assert_eq!(
        ledger_of(&app, &pi),
        [
            (EntryKind::Authorization, 4200),
            (EntryKind::Capture, 4200),
            (EntryKind::Dispute, 4200),
            (EntryKind::DisputeReversal, 4200),
        ]
    );
    assert_eq!(
        app.stripe_event_types().await,
        [
            "charge.dispute.created",
            "charge.dispute.updated",
            "charge.dispute.closed",
            "charge.dispute.funds_reinstated",
        ]
    );
    let events = app
        .stripe_get("/v1/events", &[("type", "charge.dispute.created")])
        .await;
    let object = &events.json["data"][0]["data"]["object"];
    assert_eq!(object["object"], "dispute");
    assert_eq!(object["status"], "needs_response", "a snapshot: {object}");
}

#[tokio::test]
async fn product_not_received_is_lost_with_losing_evidence_and_close_accepts() {
    let app = spawn_app().await;
    let pnr = app
        .disputed_intent("1000", "pm_card_createDisputeProductNotReceived")
        .await;
    let accepted = app.disputed_intent("600", "pm_card_createDispute").await;
    app.advance_days(1).await;

    let d = app.stripe_dispute_of(id(&pnr)).await;
    assert_eq!(d["reason"], "product_not_received");
    let dp = id(&d).to_string();
    let kept = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[
                ("evidence[uncategorized_text]", "losing_evidence"),
                ("submit", "false"),
            ],
            None,
        )
        .await;
    assert_eq!(kept.json["status"], "needs_response", "{}", kept.json);
    assert_eq!(kept.json["evidence_details"]["has_evidence"], true);
    let submitted = app.form(&format!("/v1/disputes/{dp}"), &[], None).await;
    assert_eq!(submitted.json["status"], "under_review");
    app.advance_days(7).await;
    let lost = app.stripe_get(&format!("/v1/disputes/{dp}"), &[]).await;
    assert_eq!(lost.json["status"], "lost");
    assert_eq!(
        ledger_of(&app, id(&pnr)),
        [
            (EntryKind::Authorization, 1000),
            (EntryKind::Capture, 1000),
            (EntryKind::Dispute, 1000),
        ]
    );
    let late = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("evidence[uncategorized_text]", "winning_evidence")],
            None,
        )
        .await;
    assert_stripe_error(
        &late,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "invalid_state",
    );

    let other = app.stripe_dispute_of(id(&accepted)).await;
    let close = app
        .form(&format!("/v1/disputes/{}/close", id(&other)), &[], None)
        .await;
    assert_eq!(close.status, StatusCode::OK, "{}", close.json);
    assert_eq!(close.json["status"], "lost");
    let again = app
        .form(&format!("/v1/disputes/{}/close", id(&other)), &[], None)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.json);
}

#[tokio::test]
async fn an_inquiry_moves_no_money_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let intent = app
        .disputed_intent("800", "pm_card_createDisputeInquiry")
        .await;
    app.advance_days(1).await;
    let d = app.stripe_dispute_of(id(&intent)).await;
    assert_eq!(d["status"], "warning_needs_response");
    let dp = id(&d).to_string();

    let unknown = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("evidence[receipt]", "x")],
            None,
        )
        .await;
    assert_stripe_error(
        &unknown,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "parameter_unknown",
    );
    assert_eq!(unknown.json["error"]["param"], "evidence[receipt]");
    let bad_submit = app
        .form(&format!("/v1/disputes/{dp}"), &[("submit", "maybe")], None)
        .await;
    assert_eq!(bad_submit.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_submit.json["error"]["param"], "submit");
    let missing = app.stripe_get("/v1/disputes/dp_missing", &[]).await;
    assert_stripe_error(
        &missing,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
    );

    app.form(&format!("/v1/disputes/{dp}/close"), &[], None)
        .await;
    let closed = app.stripe_get(&format!("/v1/disputes/{dp}"), &[]).await;
    assert_eq!(closed.json["status"], "warning_closed");
    assert_eq!(
        ledger_of(&app, id(&intent)),
        [(EntryKind::Authorization, 800), (EntryKind::Capture, 800)]
    );
    // Closed, the inquiry no longer blocks a refund.
    let refund = app
        .form("/v1/refunds", &[("payment_intent", id(&intent))], None)
        .await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.json);
}

#[tokio::test]
async fn dispute_metadata_is_kept_shown_and_taken_even_once_decided() {
    let app = spawn_app().await;
    let pi = app.disputed_intent("900", "pm_card_createDispute").await;
    app.advance_days(1).await;
    let dp = id(&app.stripe_dispute_of(id(&pi)).await).to_string();

    let noted = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("metadata[case]", "c-17"), ("metadata[owner]", "ops")],
            None,
        )
        .await;
    assert_eq!(noted.status, StatusCode::OK, "{}", noted.json);
    assert_eq!(
        noted.json["metadata"],
        json!({"case": "c-17", "owner": "ops"})
    );
    assert_eq!(
        noted.json["status"], "needs_response",
        "metadata alone submits nothing"
    );
    let closed = app
        .form(&format!("/v1/disputes/{dp}/close"), &[], None)
        .await;
    assert_eq!(closed.json["status"], "lost");
    // A decided dispute takes no evidence, but the merchant's notes still change.
    let renoted = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("metadata[owner]", ""), ("metadata[outcome]", "accepted")],
            None,
        )
        .await;
    assert_eq!(renoted.status, StatusCode::OK, "{}", renoted.json);
    let read = app.stripe_get(&format!("/v1/disputes/{dp}"), &[]).await;
    assert_eq!(
        read.json["metadata"],
        json!({"case": "c-17", "outcome": "accepted"})
    );
    let refused = app
        .form(
            &format!("/v1/disputes/{dp}"),
            &[("evidence[uncategorized_text]", "winning_evidence")],
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
}
