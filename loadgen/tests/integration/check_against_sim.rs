//! The money check against a real in-process gateway-sim: the ledger fetched over HTTP
//! (`GET /_sim/ledger`, behind an admin token) is the one the simulator holds, and reconciling
//! it with what the clients saw finds exactly the double charge a retry with a new idempotency
//! key causes, and nothing for a replayed key or a canceled authorization.

use gateway_sim::{GatewaySim, SimConfig};
use loadgen::outcomes::{Attempt, ClientResult, OrderOutcome};
use loadgen::{LedgerError, fetch_ledger};
use loadgen::{ViolationKind, reconcile};
use serde_json::{Value, json};

const MERCHANT: &str = "sk_test_loadgen_0";
const ADMIN: &str = "admin-token-for-test";

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// POSTs and returns (status, payment id) the way a flow would record an attempt.
    async fn post(&self, path: &str, key: &str, body: Value) -> Attempt {
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(MERCHANT)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await;
        let (status, payment_id) = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let id = body["id"]
                    .as_str()
                    .or(body["payment_id"].as_str())
                    .map(str::to_owned);
                (Some(status), id)
            }
            Err(_) => (None, None),
        };
        Attempt {
            step: if path.ends_with("/cancel") {
                "cancel"
            } else {
                "create"
            }
            .to_owned(),
            idempotency_key: Some(key.to_owned()),
            status,
            payment_id,
            error: None,
            latency_us: 0,
        }
    }
}

fn create(reference: &str, capture: bool) -> Value {
    json!({"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "capture": capture, "reference": reference})
}

fn outcome(id: &str, flow: &str, expected_capture: i64, attempts: Vec<Attempt>) -> OrderOutcome {
    let ok = attempts.last().and_then(|a| a.status) == Some(200);
    OrderOutcome {
        order_id: id.to_owned(),
        flow: flow.to_owned(),
        merchant: MERCHANT.to_owned(),
        amount: 1000,
        currency: "usd".to_owned(),
        expected_capture,
        expected_refund: 0,
        result: if ok {
            ClientResult::Succeeded
        } else {
            ClientResult::Failed
        },
        attempts,
        first_sent_ms: None,
        challenge: None,
    }
}

#[tokio::test]
async fn fetched_ledger_matches_the_sim_and_the_check_finds_only_the_new_key_retry() {
    let sim = match GatewaySim::start(SimConfig {
        seed: 1,
        admin_token: Some(ADMIN.to_owned()),
        ..SimConfig::default()
    })
    .await
    {
        Ok(sim) => sim,
        Err(e) => panic!("gateway-sim did not start: {e}"),
    };
    let client = Client {
        http: reqwest::Client::new(),
        base: sim.url(),
    };

    // retry_new_key: the "timed out" first attempt did charge, and the retry charges again.
    let new_key = vec![
        client
            .post("/v1/payments", "o-1-a", create("o-1", true))
            .await,
        client
            .post("/v1/payments", "o-1-b", create("o-1", true))
            .await,
    ];
    // retry_same_key: the retry replays the first answer.
    let same_key = vec![
        client
            .post("/v1/payments", "o-2-a", create("o-2", true))
            .await,
        client
            .post("/v1/payments", "o-2-a", create("o-2", true))
            .await,
    ];
    // auth_cancel.
    let authorize = client
        .post("/v1/payments", "o-3-a", create("o-3", false))
        .await;
    let payment = authorize.payment_id.clone().unwrap_or_default();
    let cancel = client
        .post(
            &format!("/v1/payments/{payment}/cancel"),
            "o-3-x",
            json!({}),
        )
        .await;
    for attempt in new_key.iter().chain(&same_key).chain([&authorize, &cancel]) {
        assert_eq!(attempt.status, Some(200), "{attempt:?}");
    }
    assert_eq!(same_key[0].payment_id, same_key[1].payment_id);

    let outcomes = vec![
        outcome("o-1", "retry_new_key", 1000, new_key),
        outcome("o-2", "retry_same_key", 1000, same_key),
        outcome("o-3", "auth_cancel", 0, vec![authorize, cancel]),
    ];

    let denied = fetch_ledger(&sim.url(), None).await;
    assert!(
        matches!(
            denied,
            Err(LedgerError::Status {
                status: 401 | 403,
                ..
            })
        ),
        "{denied:?}"
    );
    let fetched = match fetch_ledger(&sim.url(), Some(ADMIN)).await {
        Ok(entries) => entries,
        Err(e) => panic!("fetching the ledger failed: {e}"),
    };
    assert_eq!(fetched, sim.ledger_entries());

    let rec = reconcile(&outcomes, &fetched);
    assert_eq!(rec.violations.len(), 1, "{:#?}", rec.violations);
    let v = &rec.violations[0];
    assert_eq!(
        (v.kind, v.order_id.as_str()),
        (ViolationKind::DoubleCharge, "o-1")
    );
    assert_eq!((v.captures, v.captured), (2, 2000));
    assert_eq!(v.idempotency_keys, vec!["o-1-a", "o-1-b"]);
    assert_eq!(v.payment_ids.len(), 2);
    assert_eq!(rec.counts.double_charges, 1);
    assert_eq!(rec.counts.unknown_charges, 0);
    sim.shutdown().await;
}
