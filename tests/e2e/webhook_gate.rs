//! The webhook gate: gateway-sim playing `scenarios/webhook-storm.toml` (duplicated, late,
//! reordered, early and dropped webhooks), the reference merchant service in webhook mode in
//! front of it, and loadgen placing orders and then reading the merchant's own books back.
//! Each bug flag must fail the run with its orders listed, counted as the service's own
//! records count them; the fixed service must pass at 500 orders/s.

use std::time::Duration;

use gateway_sim::{GatewaySim, WebhookDialect, WebhookEndpointConfig};
use loadgen::cli::Verdict;
use loadgen::run::{FinishedRun, RunOptions, SystemUnderTest, execute};
use loadgen::{LoadOverrides, Scenario, ViolationKind};
use payments_e2e::webhook_merchant::{
    Dedupe, EventOrder, Order, OrderStatus, Reconcile, WebhookMerchant, WebhookMerchantConfig,
};
use tokio::net::TcpListener;

use crate::gate::{report_dir, scenario_path};
use crate::helpers::{LOAD_TURN, assert_every_check_passed, captures_by_order, start_gateway};

const SECRET: &str = "whsec_webhook_gate_e2e";

/// The merchant's three switches, correct unless a test flips one.
fn flags(dedupe: Dedupe, event_order: EventOrder, reconcile: Reconcile) -> WebhookMerchantConfig {
    WebhookMerchantConfig {
        dedupe,
        event_order,
        reconcile,
        // A pass a second: the run's settle and the webhook drain give it time to catch the
        // events dropped near the end of the load.
        reconcile_every: Some(Duration::from_secs(1)),
        gateway_timeout: Duration::from_secs(2),
        webhook_secret: SECRET.into(),
        ..WebhookMerchantConfig::default()
    }
}

/// The gate run, and what it leaves behind to count from.
struct Gate {
    run: FinishedRun,
    gateway: GatewaySim,
    merchant: WebhookMerchant,
}

async fn gate(merchant: WebhookMerchantConfig, rate: f64, seconds: u64) -> Gate {
    let _turn = LOAD_TURN.lock().await;
    let path = scenario_path("webhook-storm.toml");
    // The service's listener first: the gateway must know where to deliver.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let webhooks = format!("http://{}/webhooks", listener.local_addr().expect("bound"));
    let mut behaviour =
        gateway_sim::load_scenario_gateway(&path).expect("the scenario's [gateway] is valid");
    behaviour.webhooks.endpoints.push(WebhookEndpointConfig {
        url: webhooks,
        events: vec!["*".into()],
        secret: Some(SECRET.into()),
        dialect: WebhookDialect::Native,
        merchant: None,
    });
    let gateway = start_gateway(behaviour, 42).await;
    let merchant = WebhookMerchant::start_on(
        listener,
        WebhookMerchantConfig {
            gateway_url: gateway.url(),
            ..merchant
        },
    )
    .await
    .expect("the merchant service starts");
    let mut scenario = Scenario::load(&path).expect("the scenario is valid");
    scenario
        .override_load(&LoadOverrides {
            rate: Some(rate),
            duration: Some(Duration::from_secs(seconds)),
            users: Some(256),
            seed: None,
        })
        .expect("overrides are valid");
    let run = execute(RunOptions {
        scenario,
        system: SystemUnderTest::Service {
            service: merchant.url(),
            gateway: gateway.url(),
        },
        report_dir: Some(report_dir("webhook-gate")),
        admin_token: None,
        quiet: true,
    })
    .await
    .expect("the run completes");
    Gate {
        run,
        gateway,
        merchant,
    }
}

impl Gate {
    /// The order ids loadgen listed under `kind`, sorted.
    fn listed(&self, kind: ViolationKind) -> Vec<String> {
        let mut ids: Vec<String> = self
            .run
            .report
            .money
            .violations
            .iter()
            .filter(|v| v.kind == kind)
            .map(|v| v.order_id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// The service's own orders that `bad` picks out, sorted by id.
    fn in_service_records(&self, bad: impl Fn(&Order) -> bool) -> Vec<String> {
        self.merchant
            .orders()
            .into_iter()
            .filter(|o| bad(o))
            .map(|o| o.order_id)
            .collect()
    }

    fn assert_failed_on(&self, check: &str) {
        let report = &self.run.report;
        assert_eq!(Verdict::from_passed(report.passed).exit_code(), 1);
        let failed = report
            .checks
            .iter()
            .find(|c| c.name == check)
            .unwrap_or_else(|| panic!("a {check} check"));
        assert!(!failed.passed, "{failed:?}");
    }

    /// The ledger moved money right whatever the webhooks did: the bugs are in the books.
    fn assert_money_right(&self) {
        let c = &self.run.report.money.counts;
        assert_eq!(
            (c.double_charges, c.lost_charges, c.orphan_charges),
            (0, 0, 0)
        );
        assert!(
            captures_by_order(&self.gateway).values().all(|&n| n == 1),
            "one capture per order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dedupe_the_gate_lists_every_order_fulfilled_twice() {
    let gate = gate(
        flags(Dedupe::Off, EventOrder::Current, Reconcile::On),
        200.0,
        5,
    )
    .await;
    let twice = gate.in_service_records(|o| o.fulfillments > 1);
    assert!(
        !twice.is_empty(),
        "one event in five is duplicated: some order must ship twice"
    );
    assert_eq!(gate.listed(ViolationKind::DoubleFulfilment), twice);
    gate.assert_failed_on("double_fulfilments");
    gate.assert_money_right();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusting_arrival_order_the_gate_lists_every_order_that_went_backwards() {
    let gate = gate(
        flags(Dedupe::On, EventOrder::Trust, Reconcile::On),
        200.0,
        5,
    )
    .await;
    // Shipped (so it was paid once), and now pending or failed: a late event undid it.
    let backwards = gate.in_service_records(|o| {
        o.fulfillments > 0 && matches!(o.status, OrderStatus::Pending | OrderStatus::Failed)
    });
    assert!(
        !backwards.is_empty(),
        "one event in five is held back: some payment.authorized must land after payment.succeeded"
    );
    assert_eq!(gate.listed(ViolationKind::StateRegressed), backwards);
    gate.assert_failed_on("state_regressions");
    gate.assert_money_right();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reconciliation_the_gate_lists_every_order_left_pending() {
    let gate = gate(
        flags(Dedupe::On, EventOrder::Current, Reconcile::Off),
        300.0,
        8,
    )
    .await;
    let captured = captures_by_order(&gate.gateway);
    // Still pending with nothing paid, although the gateway captured it: its webhook never came.
    let never_paid = gate.in_service_records(|o| {
        o.status == OrderStatus::Pending && o.amount_paid == 0 && captured.contains_key(&o.order_id)
    });
    assert!(
        !never_paid.is_empty(),
        "one event in two hundred is dropped: some payment.succeeded must never arrive"
    );
    assert_eq!(gate.listed(ViolationKind::ChargedNotPaid), never_paid);
    gate.assert_failed_on("charged_not_paid");
    gate.assert_money_right();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixed_service_passes_the_webhook_storm_at_500_orders_a_second() {
    let gate = gate(
        flags(Dedupe::On, EventOrder::Current, Reconcile::On),
        500.0,
        10,
    )
    .await;
    let report = &gate.run.report;
    assert_every_check_passed(report);
    let merchant = report
        .money
        .counts
        .merchant
        .as_ref()
        .expect("the merchant's books were read");
    assert_eq!(
        merchant.views, report.orders.total,
        "every order was read back"
    );
    assert_eq!(merchant.unreadable, 0);
    assert!(
        report.orders.total >= 5_000,
        "{} orders",
        report.orders.total
    );
    assert!(
        report.meta.achieved_rate >= 475.0,
        "achieved {} orders/s",
        report.meta.achieved_rate
    );
    assert!(
        report.latency.overall.corrected.p95_ms > 0.0,
        "p95 is reported"
    );
    // The storm did blow: the faults that make the three bugs visible were applied.
    let stats = gate.gateway.stats();
    let faults =
        serde_json::to_value(&stats).expect("stats are JSON")["webhooks"]["faults"].clone();
    for fault in ["duplicate", "reorder", "drop"] {
        assert!(faults[fault].as_u64().unwrap_or(0) > 0, "{fault}: {faults}");
    }
    // And the service's own books agree: each order paid and shipped exactly once.
    assert!(
        gate.merchant
            .orders()
            .iter()
            .all(|o| o.status == OrderStatus::Paid && o.fulfillments == 1),
        "every order paid and shipped once"
    );
}
