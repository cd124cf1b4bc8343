//! The reference merchant service against gateway-sim, one order at a time:
//! the bug double-charges after an ambiguous failure, the fix does not.

use payments_e2e::merchant::{Idempotency, OrderStatus};

use crate::helpers::{captures, place_order, spawn_gateway, spawn_merchant};

/// The first attempt at every create is processed, then its answer is lost.
const FIRST_ATTEMPT_LOST: &str = "[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 1\nfault = \"reset_after_commit\"\n";

#[tokio::test]
async fn without_idempotency_keys_a_lost_answer_becomes_a_double_charge() {
    let gateway = spawn_gateway(FIRST_ATTEMPT_LOST).await;
    let merchant = spawn_merchant(&gateway, Idempotency::Off).await;
    let (status, body) = place_order(&reqwest::Client::new(), &merchant, "order-1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Payment processed successfully");
    assert_eq!(captures(&gateway, "order-1"), 2, "the retry charged again");
    let row = merchant.order("order-1").unwrap();
    assert_eq!(row.status, OrderStatus::Paid);
    assert!(
        row.attempts.iter().any(|a| a.event == "retry 1"),
        "{:?}",
        row.attempts
    );
}

#[tokio::test]
async fn with_one_key_per_order_the_retry_replays_and_charges_once() {
    let gateway = spawn_gateway(FIRST_ATTEMPT_LOST).await;
    let merchant = spawn_merchant(&gateway, Idempotency::On).await;
    let (status, body) = place_order(&reqwest::Client::new(), &merchant, "order-1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(captures(&gateway, "order-1"), 1);
    let row = merchant.order("order-1").unwrap();
    assert_eq!(
        row.transaction_id.as_deref(),
        body["transaction_id"].as_str()
    );
    assert!(row.attempts.iter().all(|a| a.event == "initiated"
        || a.idempotency_key.as_deref() == Some("merchant-order-order-1")));
}

#[tokio::test]
async fn when_every_attempt_is_lost_the_fixed_service_asks_the_gateway() {
    let gateway = spawn_gateway("[[gateway.sequences]]\nendpoints = [\"create\"]\nfail_first = 10\nfault = \"reset_after_commit\"\n").await;
    let merchant = spawn_merchant(&gateway, Idempotency::On).await;
    let (status, _) = place_order(&reqwest::Client::new(), &merchant, "order-2").await;
    // The first attempt charged; later attempts with the same key are replays or lost
    // replays; the lookup tells the service the truth.
    assert_eq!(status, 200);
    assert_eq!(captures(&gateway, "order-2"), 1);
    assert!(
        merchant
            .order("order-2")
            .unwrap()
            .attempts
            .iter()
            .any(|a| a.event == "lookup")
    );
}

#[tokio::test]
async fn a_second_payment_for_a_paid_order_is_refused() {
    let gateway = spawn_gateway("[gateway]\n").await;
    let merchant = spawn_merchant(&gateway, Idempotency::On).await;
    let client = reqwest::Client::new();
    assert_eq!(place_order(&client, &merchant, "order-3").await.0, 200);
    let (status, body) = place_order(&client, &merchant, "order-3").await;
    assert_eq!(status, 409);
    assert_eq!(body["message"], "Order already paid");
    assert_eq!(captures(&gateway, "order-3"), 1);
}
