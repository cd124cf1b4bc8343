//! Start the pieces on free loopback ports.

use std::collections::BTreeMap;
use std::time::Duration;

use gateway_sim::{BehaviourConfig, EntryKind, GatewaySim, SimConfig};
use payments_e2e::merchant::{Idempotency, MerchantConfig, MerchantService};

/// The gates drive real load; on a 2-core machine they run one at a time.
pub static LOAD_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A gateway with a `[gateway]` table given inline (seed 11).
pub async fn spawn_gateway(gateway_toml: &str) -> GatewaySim {
    let behaviour = gateway_sim::parse_scenario_gateway(gateway_toml).expect("valid [gateway]");
    start_gateway(behaviour, 11).await
}

pub async fn start_gateway(behaviour: BehaviourConfig, seed: u64) -> GatewaySim {
    GatewaySim::start(SimConfig {
        behaviour,
        seed,
        ..SimConfig::default()
    })
    .await
    .expect("gateway-sim starts")
}

/// The merchant service in front of `gateway`, with retries fast enough for a one-order test.
pub async fn spawn_merchant(gateway: &GatewaySim, idempotency: Idempotency) -> MerchantService {
    start_merchant(MerchantConfig {
        gateway_url: gateway.url(),
        idempotency,
        backoff: Duration::from_millis(5),
        gateway_timeout: Duration::from_millis(300),
        ..MerchantConfig::default()
    })
    .await
}

pub async fn start_merchant(config: MerchantConfig) -> MerchantService {
    MerchantService::start(config)
        .await
        .expect("merchant service starts")
}

/// Captures per order reference, counted from the gateway's ledger alone (independently of
/// loadgen's check).
pub fn captures_by_order(gateway: &GatewaySim) -> BTreeMap<String, usize> {
    let mut captures = BTreeMap::new();
    for entry in gateway.ledger_entries() {
        if entry.kind == EntryKind::Capture
            && let Some(reference) = entry.reference
        {
            *captures.entry(reference).or_default() += 1;
        }
    }
    captures
}

/// Captures the gateway's ledger holds for one order.
pub fn captures(gateway: &GatewaySim, order_id: &str) -> usize {
    captures_by_order(gateway)
        .get(order_id)
        .copied()
        .unwrap_or(0)
}

pub async fn place_order(
    client: &reqwest::Client,
    merchant: &MerchantService,
    order_id: &str,
) -> (u16, serde_json::Value) {
    let r = client
        .post(format!("{}/payments/process", merchant.url()))
        .json(&serde_json::json!({"order_id": order_id, "amount": 1999, "currency": "usd"}))
        .send()
        .await
        .expect("the service answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Asserts that every check of a run passed, naming the ones that did not and the first
/// violation, and that loadgen would exit 0.
pub fn assert_every_check_passed(report: &loadgen::report::RunReport) {
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    assert!(
        report.passed,
        "every check passes: {failed:?}; first violation {:?}",
        report.money.violations.first()
    );
    assert_eq!(
        loadgen::cli::Verdict::from_passed(report.passed).exit_code(),
        0
    );
    assert_eq!(report.money.violations_total, 0);
}
