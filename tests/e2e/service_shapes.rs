//! The service-shape templates of `scenarios/services/` driven against services of those
//! shapes (`payments_e2e::service_shapes`), with gateway-sim playing `flaky-network`: each
//! template's requests are what its service accepts (a service refuses any other shape, which
//! would fail the run), and the money comes out right.

use std::time::Duration;

use gateway_sim::EntryKind;
use loadgen::run::{RunOptions, SystemUnderTest, execute};
use loadgen::{LoadOverrides, Scenario};
use payments_e2e::service_shapes::{Shape, ShapeService};

use crate::gate::{report_dir, scenario_path};
use crate::helpers::{LOAD_TURN, assert_every_check_passed, start_gateway};

/// Drives `template` (a file in scenarios/services/) against a `shape` service in front of a
/// gateway playing flaky-network, and returns the report and the gateway's ledger.
async fn drive(
    template: &str,
    shape: Shape,
) -> (loadgen::report::RunReport, Vec<gateway_sim::LedgerEntry>) {
    let _turn = LOAD_TURN.lock().await;
    let behaviour = gateway_sim::load_scenario_gateway(&scenario_path("flaky-network.toml"))
        .expect("flaky-network's [gateway] is valid");
    let gateway = start_gateway(behaviour, 42).await;
    let service = ShapeService::start(shape, &gateway.url())
        .await
        .expect("the service starts");
    let mut scenario = Scenario::load(&scenario_path(&format!("services/{template}")))
        .expect("the template is a valid scenario");
    scenario
        .override_load(&LoadOverrides {
            rate: Some(100.0),
            duration: Some(Duration::from_secs(3)),
            users: None,
            seed: None,
        })
        .expect("overrides are valid");
    let run = execute(RunOptions {
        scenario,
        system: SystemUnderTest::Service {
            service: service.url(),
            gateway: gateway.url(),
        },
        report_dir: Some(report_dir(template)),
        admin_token: None,
        quiet: true,
    })
    .await
    .expect("the run completes");
    (run.report, gateway.ledger_entries())
}

fn assert_money_right(report: &loadgen::report::RunReport) {
    assert_every_check_passed(report);
    assert!(report.orders.total >= 250, "{} orders", report.orders.total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_service_template_pays_orders_with_decimal_amounts() {
    let (report, ledger) = drive("order-service.toml", Shape::OrderService).await;
    assert_money_right(&report);
    // The decimal amount reached the gateway as the order's exact minor units.
    let captured = ledger
        .iter()
        .filter(|e| e.kind == EntryKind::Capture)
        .count();
    assert!(
        captured as u64 >= report.orders.total * 9 / 10,
        "{captured} captures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charge_service_template_sends_one_key_per_order() {
    let (report, _) = drive("charge-service.toml", Shape::ChargeService).await;
    assert_money_right(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saga_template_captures_most_orders_and_voids_its_share() {
    let (report, ledger) = drive("saga-participant.toml", Shape::SagaParticipant).await;
    assert_money_right(&report);
    let count = |kind| ledger.iter().filter(|e| e.kind == kind).count() as f64;
    let (captures, voids) = (count(EntryKind::Capture), count(EntryKind::Release));
    let share = voids / (captures + voids);
    // share = 0.2 of the authorized orders are voided (a sample of about 300).
    assert!(
        (0.1..0.3).contains(&share),
        "{voids} voids, {captures} captures"
    );
}
