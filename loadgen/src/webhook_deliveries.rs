//! After a `--service` run whose merchant views disagree with the ledger: read the gateway's
//! webhook deliveries once (`GET {gateway}/_sim/webhooks/deliveries`, the whole NDJSON in one
//! request) and attach each order's to its merchant-view violation, so the report shows what
//! the merchant was told and how (see `webhook_delivery.rs`).
//!
//! Its own file because it does I/O, and the money check (`reconcile.rs`) must not: the check
//! finds the violations, this explains them afterwards. A read that fails is a warning for the
//! run, never a failed run; a gateway without the endpoint (404) has nothing to say.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::reconcile::Violation;
use crate::webhook_delivery::{DeliveriesByOrder, WebhookDelivery, group_by_order};

/// The most orders whose deliveries are attached: the first this many orders with a
/// merchant-view violation (in the check's order). The report lists at most a thousand
/// violations anyway, and an order's deliveries can run to dozens of lines: this keeps
/// report.json bounded however badly a merchant's books went wrong.
pub const ORDERS_EXPLAINED: usize = 1_000;

/// How long the one read may take: the gateway keeps at most 100,000 records, a few tens of
/// megabytes of NDJSON at most.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Attaches to the merchant-view violations (of the first [`ORDERS_EXPLAINED`] orders) the
/// webhook deliveries the gateway at `gateway` made for their orders. Nothing is read when no
/// violation compares a merchant view. `Err` is a warning for the run, saying why the
/// violations are listed without their deliveries.
pub async fn explain(
    violations: &mut [Violation],
    gateway: &str,
    admin_token: Option<&str>,
) -> Result<(), String> {
    let orders = orders_to_explain(violations);
    if orders.is_empty() {
        return Ok(());
    }
    let wanted: HashSet<&str> = orders.iter().map(String::as_str).collect();
    let Some(grouped) = read_deliveries(gateway, admin_token, &wanted).await? else {
        return Ok(());
    };
    attach(violations, grouped.orders);
    if grouped.unreadable > 0 {
        return Err(format!(
            "{} line(s) of {gateway}/_sim/webhooks/deliveries were not delivery records and were skipped",
            grouped.unreadable
        ));
    }
    Ok(())
}

/// The order ids whose deliveries are wanted: those of merchant-view violations, each once,
/// the first [`ORDERS_EXPLAINED`] of them.
fn orders_to_explain(violations: &[Violation]) -> Vec<String> {
    let mut seen = HashSet::new();
    violations
        .iter()
        .filter(|v| v.kind.is_merchant_view())
        .filter(|v| seen.insert(v.order_id.as_str()))
        .take(ORDERS_EXPLAINED)
        .map(|v| v.order_id.clone())
        .collect()
}

/// Gives each merchant-view violation of the first [`ORDERS_EXPLAINED`] orders its order's
/// deliveries. Violations about the ledger alone (a double charge, ...) get none: the client's
/// answers explain those, not the webhooks.
fn attach(violations: &mut [Violation], mut by_order: HashMap<String, Vec<WebhookDelivery>>) {
    let explained: HashSet<String> = orders_to_explain(violations).into_iter().collect();
    for v in violations.iter_mut() {
        if !v.kind.is_merchant_view() || !explained.contains(&v.order_id) {
            continue;
        }
        // An order has at most one merchant-view violation: hand the list over, not a copy.
        if let Some(deliveries) = by_order.remove(&v.order_id) {
            v.deliveries = deliveries;
        }
    }
}

/// `GET {gateway}/_sim/webhooks/deliveries`, the whole NDJSON in one request, and the
/// deliveries of the `wanted` orders in it; `None` when the gateway has no such endpoint (404:
/// an older gateway-sim, or another gateway).
async fn read_deliveries(
    gateway: &str,
    admin_token: Option<&str>,
    wanted: &HashSet<&str>,
) -> Result<Option<DeliveriesByOrder>, String> {
    let url = format!("{gateway}/_sim/webhooks/deliveries");
    let why = |e: &dyn std::fmt::Display| {
        format!(
            "cannot read the webhook deliveries at {url} for the merchant-view violations ({e}); they are listed without them"
        )
    };
    let client = reqwest::Client::builder()
        .timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| why(&e))?;
    let mut request = client.get(&url);
    if let Some(token) = admin_token {
        request = request.bearer_auth(token).header("X-Admin-Token", token);
    }
    let response = request.send().await.map_err(|e| why(&e))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(why(&format_args!("HTTP {status}")));
    }
    let ndjson = response.bytes().await.map_err(|e| why(&e))?;
    Ok(Some(group_by_order(&ndjson, wanted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchant_view::{MerchantStatus, MerchantView};
    use crate::reconcile::fixtures::{Ledger, attempt, order};
    use crate::reconcile::{ViolationKind, reconcile_with_views};

    use crate::outcomes::ClientResult;

    fn delivery(event_id: &str, faults: &[&str]) -> WebhookDelivery {
        WebhookDelivery {
            event_id: event_id.into(),
            event_type: "payment.succeeded".into(),
            attempt: 1,
            outcome: "delivered".into(),
            status: Some(200),
            faults: faults.iter().map(|f| f.to_string()).collect(),
            sent_at_ms: 1,
        }
    }

    /// `n` orders the merchant fulfilled twice, and one the gateway charged twice (a ledger
    /// violation, whose view is fine).
    fn violations(n: usize) -> Vec<Violation> {
        let mut ledger = Ledger::new();
        let mut outcomes = Vec::new();
        let mut views = Vec::new();
        for i in 0..n {
            let id = format!("o-{i}");
            ledger.charge(&format!("pay_{i}"), &id, &format!("k{i}"), 1000);
            let tried = vec![attempt("create", &format!("k{i}"), Some(200), None)];
            outcomes.push(order(
                &id,
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                tried,
            ));
            views.push(MerchantView {
                order_id: id,
                status: MerchantStatus::Paid,
                fulfillments: Some(2),
                amount_paid: Some(1000),
                amount_refunded: Some(0),
                error: None,
            });
        }
        ledger
            .charge("pay_x", "o-double", "kx", 1000)
            .charge("pay_y", "o-double", "ky", 1000);
        let tried = vec![attempt("create", "kx", Some(200), None)];
        outcomes.push(order(
            "o-double",
            "purchase",
            1000,
            (1000, 0),
            ClientResult::Succeeded,
            tried,
        ));
        views.push(MerchantView {
            order_id: "o-double".into(),
            status: MerchantStatus::Paid,
            fulfillments: Some(1),
            amount_paid: Some(1000),
            amount_refunded: Some(0),
            error: None,
        });
        reconcile_with_views(&outcomes, &ledger.0, Some(&views)).violations
    }

    #[test]
    fn only_merchant_view_violations_get_their_orders_deliveries() {
        let mut vs = violations(1);
        let kinds: Vec<ViolationKind> = vs.iter().map(|v| v.kind).collect();
        assert!(
            kinds.contains(&ViolationKind::DoubleFulfilment),
            "{kinds:?}"
        );
        assert!(kinds.contains(&ViolationKind::DoubleCharge), "{kinds:?}");
        let by_order: HashMap<String, Vec<WebhookDelivery>> = [
            (
                "o-0".to_string(),
                vec![delivery("evt_1", &[]), delivery("evt_1", &["duplicate"])],
            ),
            ("o-double".to_string(), vec![delivery("evt_9", &[])]),
        ]
        .into_iter()
        .collect();
        attach(&mut vs, by_order);
        for v in &vs {
            match v.kind {
                ViolationKind::DoubleFulfilment => {
                    assert_eq!(v.deliveries.len(), 2);
                    assert_eq!(v.deliveries[1].faults, ["duplicate"]);
                }
                _ => assert!(v.deliveries.is_empty(), "{v:?}"),
            }
        }
    }

    #[test]
    fn deliveries_are_attached_to_the_first_thousand_orders_at_most() {
        let mut vs = violations(ORDERS_EXPLAINED + 5);
        let wanted = orders_to_explain(&vs);
        assert_eq!(wanted.len(), ORDERS_EXPLAINED);
        assert!(
            !wanted.contains(&"o-double".to_string()),
            "not a merchant view"
        );
        let by_order = (0..ORDERS_EXPLAINED + 5)
            .map(|i| (format!("o-{i}"), vec![delivery("evt", &[])]))
            .collect();
        attach(&mut vs, by_order);
        let explained = vs.iter().filter(|v| !v.deliveries.is_empty()).count();
        assert_eq!(explained, ORDERS_EXPLAINED);
        let last = vs
            .iter()
            .find(|v| v.order_id == format!("o-{}", ORDERS_EXPLAINED + 4))
            .expect("the last order's violation");
        assert!(last.deliveries.is_empty(), "past the bound");
    }

    #[test]
    fn old_reports_without_deliveries_still_read_and_empty_lists_are_not_written() {
        let v = violations(1).remove(0);
        let json = serde_json::to_value(&v).expect("serializes");
        assert!(json.get("deliveries").is_none(), "{json}");
        let read: Violation = serde_json::from_value(json).expect("reads without the field");
        assert!(read.deliveries.is_empty());
        let mut with = v.clone();
        with.deliveries = vec![delivery("evt_1", &["drop"])];
        let json = serde_json::to_string(&with).expect("serializes");
        let back: Violation = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, with);
    }

    /// A one-shot HTTP server answering `status` with `body`, and the URL it listens at.
    async fn answering(status: &'static str, body: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        url
    }

    #[tokio::test]
    async fn a_gateway_without_the_endpoint_gives_nothing_and_no_warning() {
        let mut vs = violations(1);
        let gateway = answering("404 Not Found", "").await;
        assert_eq!(explain(&mut vs, &gateway, None).await, Ok(()));
        assert!(vs.iter().all(|v| v.deliveries.is_empty()));
    }

    #[tokio::test]
    async fn a_failed_read_is_a_warning_naming_the_url() {
        let mut vs = violations(1);
        let gateway = answering("500 Internal Server Error", "").await;
        let warning = explain(&mut vs, &gateway, None)
            .await
            .expect_err("a warning");
        assert!(warning.contains("/_sim/webhooks/deliveries"), "{warning}");
        assert!(warning.contains("500"), "{warning}");
        assert!(vs.iter().all(|v| v.deliveries.is_empty()));
    }

    #[tokio::test]
    async fn nothing_is_read_without_a_merchant_view_violation() {
        let mut vs: Vec<Violation> = violations(0);
        assert!(vs.iter().all(|v| !v.kind.is_merchant_view()));
        // Nothing listens here: a read would fail.
        assert_eq!(explain(&mut vs, "http://127.0.0.1:9", None).await, Ok(()));
    }

    #[tokio::test]
    async fn a_real_gateway_tells_each_order_what_it_delivered() {
        // Every delivery is dropped on purpose: each is recorded at once, no receiver needed.
        let behaviour = gateway_sim::parse_scenario_gateway(
            "[gateway.webhooks]\nfaults = { drop = 1.0 }\n\
             [[gateway.webhooks.endpoints]]\nurl = \"http://127.0.0.1:9/hooks\"\n\
             dialect = \"native\"\nevents = [\"payment.succeeded\"]\n",
        )
        .expect("a valid [gateway]");
        let sim = gateway_sim::GatewaySim::start(gateway_sim::SimConfig {
            behaviour,
            ..gateway_sim::SimConfig::default()
        })
        .await
        .expect("the simulator starts");
        let client = reqwest::Client::new();
        for order_id in ["o-0", "o-double"] {
            let created = client
                .post(format!("{}/v1/payments", sim.url()))
                .bearer_auth("sk_test_loadgen")
                .json(&serde_json::json!({
                    "amount": 1000, "currency": "usd", "payment_method": "pm_card_visa",
                    "capture": true, "reference": order_id,
                }))
                .send()
                .await
                .expect("the gateway answers");
            assert!(created.status().is_success(), "{}", created.status());
        }
        let mut vs = violations(1);
        assert_eq!(explain(&mut vs, &sim.url(), None).await, Ok(()));
        let fulfilled_twice = vs
            .iter()
            .find(|v| v.kind == ViolationKind::DoubleFulfilment)
            .expect("o-0's violation");
        assert_eq!(fulfilled_twice.deliveries.len(), 1, "{fulfilled_twice:?}");
        let d = &fulfilled_twice.deliveries[0];
        assert_eq!(
            (d.event_type.as_str(), d.outcome.as_str(), d.attempt),
            ("payment.succeeded", "dropped", 0)
        );
        assert_eq!(d.faults, ["drop"]);
        assert!(
            vs.iter()
                .filter(|v| v.kind == ViolationKind::DoubleCharge)
                .all(|v| v.deliveries.is_empty()),
            "a ledger violation is not explained by webhooks"
        );
    }
}
