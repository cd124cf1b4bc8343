//! The reference merchant service as a binary: `merchant-service --help`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use payments_e2e::merchant::{Idempotency, MerchantConfig, MerchantService};

/// A small merchant payment service that charges orders through a payment gateway,
/// retrying on timeouts, resets and 5xx. `--idempotency off` is the classic
/// double-charge bug; `--idempotency on` is the fix.
#[derive(Parser)]
#[command(
    name = "merchant-service",
    version,
    after_help = "\
Example:
  gateway-sim --scenario scenarios/flaky-network.toml &
  merchant-service --gateway-url http://127.0.0.1:4242 --idempotency off --listen 127.0.0.1:8080
  curl -s localhost:8080/payments/process -d '{\"order_id\": \"o-1\", \"amount\": 1000, \"currency\": \"usd\"}'
  curl -s localhost:8080/payments/o-1     # the order's row with every attempt"
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
    /// `on`: one idempotency key per order and a lookup before giving up (the fix).
    /// `off`: retries without a key (the bug).
    #[arg(long, value_enum, default_value_t = Idempotency::On)]
    idempotency: Idempotency,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 3)]
    max_retries: u32,
    /// First backoff in milliseconds (doubles each retry); scale it down to keep tests fast.
    #[arg(long, default_value_t = 100)]
    backoff_ms: u64,
    /// Timeout of one gateway call, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    gateway_timeout_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut service = MerchantService::start(MerchantConfig {
        listen: args.listen,
        gateway_url: args.gateway_url.trim_end_matches('/').to_string(),
        api_key: args.api_key,
        idempotency: args.idempotency,
        max_retries: args.max_retries,
        backoff: Duration::from_millis(args.backoff_ms),
        gateway_timeout: Duration::from_millis(args.gateway_timeout_ms),
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
    Ok(())
}
