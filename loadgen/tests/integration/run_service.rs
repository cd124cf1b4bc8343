//! `--service` mode end to end. gateway-sim itself stands in for the merchant's
//! service: the `[target]` template sends one native create per order, with the
//! order id as `reference`, and loadgen checks the same gateway's ledger by
//! reference. Declines come from gateway-sim's decline rules and must be read
//! through the template's decline rule.

use crate::common::{assert_clean_pass, scratch_dir, start_sim};
use gateway_sim::EntryKind;
use loadgen::run::{RunOptions, SystemUnderTest, execute};
use loadgen::{Scenario, ViolationKind};

/// The `[target]` both scenarios drive: gateway-sim's own create, called as a merchant's
/// service would be, one idempotency key per order.
macro_rules! create_target {
    () => {
        r#"
[target]
method = "POST"
path = "/v1/payments"
headers = { "Authorization" = "Bearer sk_test_merchant_service", "Idempotency-Key" = "{{idempotency_key}}" }
body = '{"amount":{{amount}},"currency":"{{currency}}","payment_method":"pm_card_visa","capture":true,"reference":"{{order_id}}"}'
[target.success]
status = [200]
pointer = "/status"
equals = "succeeded"
"#
    };
}

const SERVICE: &str = concat!(
    r#"
[gateway]
seed = 5
[gateway.declines]
rate = 0.2

[load]
rate = 100
duration = "1s"
users = 8
seed = 21
settle = "100ms"

"#,
    create_target!(),
    r#"[target.decline]
status = [402]
"#
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_driven_by_its_template_is_checked_by_reference() {
    let _turn = crate::common::load_turn_shared().await;
    let sim = start_sim(SERVICE, 5).await;
    let options = RunOptions {
        scenario: Scenario::parse(SERVICE, "service", "service.toml").expect("valid scenario"),
        system: SystemUnderTest::Service {
            service: sim.url(),
            gateway: sim.url(),
        },
        report_dir: Some(scratch_dir("service")),
        admin_token: None,
        quiet: true,
    };
    let finished = execute(options).await.expect("the run completes");
    let ledger = sim.ledger_entries();
    sim.shutdown().await;
    let report = &finished.report;

    assert_eq!(
        report.orders.by_flow.keys().collect::<Vec<_>>(),
        vec!["service"]
    );
    let succeeded = report
        .orders
        .by_result
        .get("succeeded")
        .copied()
        .unwrap_or(0);
    let declined = report
        .orders
        .by_result
        .get("declined")
        .copied()
        .unwrap_or(0);
    assert!(
        succeeded > 0 && declined > 0,
        "{:?}",
        report.orders.by_result
    );
    assert_eq!(succeeded + declined, report.orders.total);
    // Every success is one capture in the ledger, found by reference.
    let captures = ledger
        .iter()
        .filter(|e| e.kind == EntryKind::Capture)
        .count() as u64;
    assert_eq!(captures, succeeded);
    assert!(report.money.checked);
    assert_clean_pass(report);
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}

/// gateway-sim again as the service, now read back through `[target.order]` (its own
/// `GET /v1/payments?reference=`), with a merchant that never marks an order paid: the
/// gateway's "succeeded" is listed as pending. Every charged order is then charged but not
/// paid, and the gateway's only webhook for it (`payment.succeeded`) was dropped on purpose.
const SERVICE_WITH_VIEWS: &str = concat!(
    r#"
[gateway]
seed = 5
[gateway.webhooks]
faults = { drop = 1.0 }
[[gateway.webhooks.endpoints]]
url = "http://127.0.0.1:9/hooks"
dialect = "native"
events = ["payment.succeeded"]

[load]
rate = 40
duration = "1s"
users = 4
seed = 21
settle = "100ms"

"#,
    create_target!(),
    r#"
[target.order]
path = "/v1/payments?reference={{order_id}}"
headers = { "Authorization" = "Bearer sk_test_merchant_service" }
status = "/data/0/status"
pending = ["succeeded"]
"#
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_view_violations_list_the_webhook_deliveries_of_their_order() {
    let _turn = crate::common::load_turn_shared().await;
    let sim = start_sim(SERVICE_WITH_VIEWS, 5).await;
    let options = RunOptions {
        scenario: Scenario::parse(SERVICE_WITH_VIEWS, "views", "views.toml")
            .expect("valid scenario"),
        system: SystemUnderTest::Service {
            service: sim.url(),
            gateway: sim.url(),
        },
        report_dir: Some(scratch_dir("service-views")),
        admin_token: None,
        quiet: true,
    };
    let finished = execute(options).await.expect("the run completes");
    sim.shutdown().await;
    let report = &finished.report;
    let orders = report.orders.total;
    assert!(orders > 0);
    let merchant = report
        .money
        .counts
        .merchant
        .as_ref()
        .expect("the views were read");
    assert_eq!(
        merchant.views, orders,
        "every order's view was read and compared"
    );
    assert_eq!(merchant.charged_not_paid, orders);
    assert!(!report.passed);
    assert!(finished.warnings.is_empty(), "{:?}", finished.warnings);

    let unpaid: Vec<_> = report
        .money
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::ChargedNotPaid)
        .collect();
    assert_eq!(unpaid.len() as u64, orders);
    for v in unpaid {
        assert_eq!(v.deliveries.len(), 1, "{v:?}");
        let d = &v.deliveries[0];
        assert_eq!(d.event_type, "payment.succeeded");
        assert_eq!(
            (d.outcome.as_str(), d.attempt, d.status),
            ("dropped", 0, None)
        );
        assert_eq!(d.faults, ["drop"]);
    }
    let json = std::fs::read_to_string(&finished.files.json).expect("report.json");
    assert!(
        json.contains("\"outcome\": \"dropped\""),
        "report.json carries them"
    );
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}
