//! Reading the merchant's books after a `--service` run with `[target.order]`: wait until the
//! gateway has delivered every webhook (the merchant's state follows them), then read every
//! order's view from the service, a bounded number at a time, with a progress line.
//!
//! Its own file because it is the one part of the merchant-view check that does I/O; the
//! comparison itself stays in the pure money check (`reconcile.rs`), and the answer's meaning
//! in `[target.order]` (`scenario/order.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::merchant_view::MerchantView;
use crate::scenario::{OrderLookup, TemplateValues};

/// How long to wait for the gateway's webhook backlog to drain before reading the views
/// anyway: long enough for a retry schedule of a few attempts, short enough that a receiver
/// that never answers does not hang the run.
pub const WEBHOOK_DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Waits until `GET {gateway}/_sim/stats` shows no webhook pending or under way. A gateway
/// without webhook stats has nothing to wait for. `Err` says why the wait ended early (for a
/// warning: the views are read anyway, and may then lag the ledger).
pub async fn wait_for_webhooks(
    gateway: &str,
    admin_token: Option<&str>,
    timeout: Duration,
) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        let mut request = client.get(format!("{gateway}/_sim/stats"));
        if let Some(token) = admin_token {
            request = request.bearer_auth(token).header("X-Admin-Token", token);
        }
        let backlog = match request.send().await {
            Ok(response) => match response.json::<serde_json::Value>().await {
                Ok(stats) => webhook_backlog(&stats),
                Err(e) => return Err(format!("cannot read {gateway}/_sim/stats: {e}")),
            },
            Err(e) => return Err(format!("cannot read {gateway}/_sim/stats: {e}")),
        };
        if backlog == 0 {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(format!(
                "{backlog} webhook deliveries were still pending or under way after {:.0} s; the merchant's views may lag the ledger",
                timeout.as_secs_f64()
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Deliveries waiting plus under way, from `/_sim/stats` (0 when it has no `webhooks`).
fn webhook_backlog(stats: &serde_json::Value) -> u64 {
    let count = |name: &str| {
        stats
            .pointer(&format!("/webhooks/{name}"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    count("pending") + count("in_flight")
}

/// Reads every order's view from the service at `service`, `lookup.concurrency` at a time.
/// A read that fails gives an unreadable view (counted by the check, never judged). Views come
/// back in the order of `order_ids`.
pub async fn read_views(
    service: &str,
    lookup: &OrderLookup,
    order_ids: Vec<String>,
    quiet: bool,
) -> Result<Vec<MerchantView>, String> {
    let client = reqwest::Client::builder()
        .timeout(lookup.timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let method =
        reqwest::Method::from_bytes(lookup.method.as_bytes()).map_err(|e| e.to_string())?;
    let total = order_ids.len();
    let done = Arc::new(AtomicUsize::new(0));
    let progress = (!quiet).then(|| {
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprintln!(
                    "merchant views  {}/{total} read",
                    done.load(Ordering::Relaxed)
                );
            }
        })
    });
    let permits = Arc::new(Semaphore::new(lookup.concurrency));
    let lookup = Arc::new(lookup.clone());
    let mut tasks = JoinSet::new();
    for (index, order_id) in order_ids.into_iter().enumerate() {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (client, method, lookup, done) =
            (client.clone(), method.clone(), lookup.clone(), done.clone());
        let url = format!("{service}{}", lookup.path.render(&values(&order_id)));
        tasks.spawn(async move {
            let view = read_one(&client, method, &url, &lookup, &order_id).await;
            done.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            (index, view)
        });
    }
    let mut views: Vec<Option<MerchantView>> = vec![None; total];
    while let Some(joined) = tasks.join_next().await {
        let (index, view) = joined.map_err(|e| e.to_string())?;
        views[index] = Some(view);
    }
    if let Some(progress) = progress {
        progress.abort();
    }
    Ok(views.into_iter().flatten().collect())
}

fn values(order_id: &str) -> TemplateValues<'_> {
    // `[target.order]` templates name only the order (checked when the scenario is read).
    TemplateValues {
        order_id,
        amount: 0,
        currency: "",
        idempotency_key: "",
    }
}

async fn read_one(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    lookup: &OrderLookup,
    order_id: &str,
) -> MerchantView {
    let mut request = client.request(method, url);
    for (name, value) in &lookup.headers {
        request = request.header(name.as_str(), value.render(&values(order_id)));
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return MerchantView::unreadable(order_id, e.to_string()),
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(body) => lookup.read_view(order_id, status, &body),
        Err(e) => MerchantView::unreadable(order_id, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_is_pending_plus_in_flight_and_nothing_without_webhooks() {
        let stats = serde_json::json!({"webhooks": {"pending": 3, "in_flight": 2, "delivered": 9}});
        assert_eq!(webhook_backlog(&stats), 5);
        assert_eq!(webhook_backlog(&serde_json::json!({"payments": 1})), 0);
    }
}
