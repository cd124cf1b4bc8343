//! `GET /_sim/stats`: the ledger's counts and totals, requests, rate limits, injected faults
//! and the `[gateway.capacity]` queue.

use serde::Serialize;

use crate::state::SimState;

/// `GET /_sim/stats`.
#[derive(Serialize)]
pub struct Stats {
    pub ledger: crate::engine::LedgerStats,
    pub requests: u64,
    pub rate_limited: u64,
    /// Injected faults by kind.
    pub faults: std::collections::BTreeMap<&'static str, u64>,
    pub uptime_ms: u64,
    pub sim_time_ms: u64,
    /// Events recorded since start or reset (one per state change; each dialect
    /// names one or more events after each).
    pub changes: u64,
    pub webhooks: crate::webhooks::WebhookStats,
    /// The `[gateway.capacity]` queue: waiting now, the most at once, refused for a full
    /// queue (also counted as the fault `queue_full`), workers busy now. Zeros without the table.
    pub queue: crate::workers::QueueFigures,
    /// `--retain`: the window, payments held and retired, and the first ledger entry and
    /// change still in memory.
    pub retention: crate::engine::RetentionStats,
}

pub fn stats(state: &SimState) -> Stats {
    let counters = state.counters();
    Stats {
        ledger: state.engine().stats(),
        requests: counters.requests.load(std::sync::atomic::Ordering::Relaxed),
        rate_limited: counters
            .rate_limited
            .load(std::sync::atomic::Ordering::Relaxed),
        faults: counters.faults(),
        uptime_ms: state.uptime().as_millis() as u64,
        sim_time_ms: state.engine().clock().now_ms(),
        changes: state.engine().changes_len(),
        webhooks: state.webhooks().stats(state.engine()),
        queue: counters.queue.figures(),
        retention: state.engine().retention_stats(),
    }
}
