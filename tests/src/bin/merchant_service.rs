//! The reference merchant service as a binary: `merchant-service --help`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use payments_e2e::merchant::{Idempotency, MerchantConfig, MerchantService};
use payments_e2e::webhook_merchant::{
    Dedupe, EventOrder, Reconcile, WebhookMerchant, WebhookMerchantConfig,
};

/// How the service learns that an order was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// `POST /payments/process` charges and answers with the outcome (retries, idempotency).
    Sync,
    /// `POST /orders` answers `pending` at once; a signed webhook to `POST /webhooks` pays it.
    Webhooks,
}

/// A small merchant payment service that charges orders through a payment gateway.
///
/// Sync mode (the default) retries on timeouts, resets and 5xx: `--idempotency off` is the
/// classic double-charge bug; `--idempotency on` is the fix.
///
/// Webhook mode (`--mode webhooks`) creates the payment with the native API and marks the
/// order paid only when a webhook signed with `--webhook-secret` says so. Its bug flags,
/// correct by default: `--webhook-dedupe off` (a duplicate delivery fulfils twice),
/// `--event-order trust` (a late event moves an order backwards), `--reconcile off` (a
/// dropped webhook leaves its order pending forever).
#[derive(Parser)]
#[command(
    name = "merchant-service",
    version,
    after_help = "\
Example (sync):
  gateway-sim --scenario scenarios/flaky-network.toml &
  merchant-service --gateway-url http://127.0.0.1:4242 --idempotency off --listen 127.0.0.1:8080
  curl -s localhost:8080/payments/process -d '{\"order_id\": \"o-1\", \"amount\": 1000, \"currency\": \"usd\"}'
  curl -s localhost:8080/payments/o-1     # the order's row with every attempt

Example (webhooks):
  gateway-sim --webhook native:http://127.0.0.1:8080/webhooks --webhook-secret whsec_0123456789abcdef &
  merchant-service --mode webhooks --webhook-secret whsec_0123456789abcdef --webhook-dedupe off
  curl -s localhost:8080/orders -d '{\"order_id\": \"o-1\", \"amount\": 1000, \"currency\": \"usd\"}'
  curl -s localhost:8080/orders/o-1       # {\"order_id\",\"status\",\"fulfillments\",\"amount_paid\",\"amount_refunded\"}
  curl -s -X POST localhost:8080/reconcile   # apply events whose webhook never came"
)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Base URL of the payment gateway.
    #[arg(
        long,
        env = "PAYMENT_GATEWAY_URL",
        default_value = "http://127.0.0.1:4242"
    )]
    gateway_url: String,
    /// API key sent to the gateway (names the merchant account).
    #[arg(
        long,
        env = "PAYMENT_GATEWAY_API_KEY",
        default_value = "sk_test_reference_merchant"
    )]
    api_key: String,
    /// `sync`: charge and answer with the outcome. `webhooks`: answer pending, pay on webhook.
    #[arg(long, value_enum, default_value_t = Mode::Sync)]
    mode: Mode,
    /// Sync mode. `on`: one idempotency key per order and a lookup before giving up (the fix).
    /// `off`: retries without a key (the bug).
    #[arg(long, value_enum, default_value_t = Idempotency::On)]
    idempotency: Idempotency,
    /// Sync mode: retries after the first attempt.
    #[arg(long, default_value_t = 3)]
    max_retries: u32,
    /// Sync mode: first backoff in milliseconds (doubles each retry); scale it down to keep tests fast.
    #[arg(long, default_value_t = 100)]
    backoff_ms: u64,
    /// Timeout of one gateway call, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    gateway_timeout_ms: u64,
    /// Webhook mode: the `whsec_...` secret the gateway signs deliveries with
    /// (gateway-sim prints it at start, or takes it as its own `--webhook-secret`).
    #[arg(long, env = "PAYMENT_GATEWAY_WEBHOOK_SECRET", default_value = "")]
    webhook_secret: String,
    /// Webhook mode. `on`: a delivery whose event id was handled is ignored (the fix).
    /// `off`: every delivery is handled, so a duplicate fulfils twice (the bug).
    #[arg(long, value_enum, default_value_t = Dedupe::On)]
    webhook_dedupe: Dedupe,
    /// Webhook mode. `current`: on each event, read the payment from the gateway and never
    /// move a paid order backwards (the fix). `trust`: apply events in arrival order (the bug).
    #[arg(long, value_enum, default_value_t = EventOrder::Current)]
    event_order: EventOrder,
    /// Webhook mode. `on`: list `GET /v1/events` in the background and on `POST /reconcile`,
    /// applying what no webhook delivered (the fix). `off`: webhooks only (the bug).
    #[arg(long, value_enum, default_value_t = Reconcile::On)]
    reconcile: Reconcile,
    /// Webhook mode: seconds between background reconciliation passes.
    #[arg(long, default_value_t = 30)]
    reconcile_every_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let gateway_url = args.gateway_url.trim_end_matches('/').to_string();
    let gateway_timeout = Duration::from_millis(args.gateway_timeout_ms);
    match args.mode {
        Mode::Sync => {
            let mut service = MerchantService::start(MerchantConfig {
                listen: args.listen,
                gateway_url,
                api_key: args.api_key,
                idempotency: args.idempotency,
                max_retries: args.max_retries,
                backoff: Duration::from_millis(args.backoff_ms),
                gateway_timeout,
            })
            .await?;
            println!(
                "merchant-service listening on {} (idempotency {:?})",
                service.url(),
                args.idempotency
            );
            tokio::select! {
                () = service.wait() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Mode::Webhooks => {
            anyhow::ensure!(
                !args.webhook_secret.is_empty(),
                "--mode webhooks needs --webhook-secret (the whsec_... the gateway signs with)"
            );
            let mut service = WebhookMerchant::start(WebhookMerchantConfig {
                listen: args.listen,
                gateway_url,
                api_key: args.api_key,
                webhook_secret: args.webhook_secret,
                dedupe: args.webhook_dedupe,
                event_order: args.event_order,
                reconcile: args.reconcile,
                reconcile_every: Some(Duration::from_secs(args.reconcile_every_secs.max(1))),
                gateway_timeout,
                ..WebhookMerchantConfig::default()
            })
            .await?;
            println!(
                "merchant-service (webhooks) listening on {}; webhooks at {}/webhooks (dedupe {:?}, event order {:?}, reconcile {:?})",
                service.url(),
                service.url(),
                args.webhook_dedupe,
                args.event_order,
                args.reconcile
            );
            tokio::select! {
                () = service.wait() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
    Ok(())
}
