//! Start the pieces on free loopback ports.

use std::time::Duration;

use gateway_sim::{GatewaySim, SimConfig};
use payments_e2e::merchant::{Idempotency, MerchantConfig, MerchantService};

pub async fn spawn_gateway(gateway_toml: &str) -> GatewaySim {
    let behaviour = gateway_sim::parse_scenario_gateway(gateway_toml).expect("valid [gateway]");
    GatewaySim::start(SimConfig {
        behaviour,
        seed: 11,
        ..SimConfig::default()
    })
    .await
    .expect("gateway-sim starts")
}

pub async fn spawn_merchant(gateway: &GatewaySim, idempotency: Idempotency) -> MerchantService {
    MerchantService::start(MerchantConfig {
        gateway_url: gateway.url(),
        idempotency,
        backoff: Duration::from_millis(5),
        gateway_timeout: Duration::from_millis(300),
        ..MerchantConfig::default()
    })
    .await
    .expect("merchant service starts")
}

/// Captures the gateway's ledger holds for one order.
pub fn captures(gateway: &GatewaySim, order_id: &str) -> usize {
    gateway
        .ledger_entries()
        .iter()
        .filter(|e| {
            e.kind == gateway_sim::EntryKind::Capture && e.reference.as_deref() == Some(order_id)
        })
        .count()
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
