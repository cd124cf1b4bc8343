//! A run's users: [`Driver`] is what every user of one run shares (the load plan, the
//! order ids, the schedule, the outcome log, the latency recorder, the counters), and
//! [`drive_user`] is one user's life: claim the next order, sleep until it is due, play
//! it, record it.
//!
//! Its own file because this loop is the same whatever sends the requests: the goose
//! adapter runs it once per goose user, over a [`Transport`] it knows nothing else about.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::latency::LatencyRecorder;
use crate::outcomes::OutcomeLog;
use crate::pacing::{NextOrder, Schedule};
use crate::scenario::{LoadPlan, TargetTemplate};

use super::error_kind::ErrorCounts;
use super::order_ids::{OrderIds, OrderPlan};
use super::session::FlowRun;
use super::transport::Transport;
use super::{native, service};

/// Which API the users drive.
#[derive(Debug, Clone)]
pub enum FlowMode {
    /// gateway-sim's native API, playing the `[load.mix]` flows.
    Native,
    /// A merchant's own service, one templated request per order.
    Service(Arc<TargetTemplate>),
}

/// Plays order `plan`, due at `due`, through `transport`.
pub async fn play_order<T: Transport>(
    transport: &mut T,
    mode: &FlowMode,
    plan: &OrderPlan,
    due: Instant,
) -> FlowRun {
    match mode {
        FlowMode::Native => native::play(transport, plan, due).await,
        FlowMode::Service(template) => service::play(transport, template, plan, due).await,
    }
}

/// Running totals, cheap to read once a second for the progress line.
#[derive(Debug, Default)]
pub struct DriveCounters {
    /// Orders whose first request went out (their due time came).
    pub orders_started: AtomicU64,
    pub orders_done: AtomicU64,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    /// `errors`, by kind.
    pub errors_by_kind: ErrorCounts,
}

/// Everything the users of one run share.
pub struct Driver {
    pub load: LoadPlan,
    pub ids: OrderIds,
    pub mode: FlowMode,
    pub schedule: Arc<Schedule>,
    pub outcomes: OutcomeLog,
    /// Created when the schedule starts, so its second 0 is the run's `t0`.
    latency: OnceLock<LatencyRecorder>,
    pub counters: DriveCounters,
    /// How long the first user waits for the others before the schedule starts anyway.
    pub start_patience: Duration,
}

impl Driver {
    pub fn new(
        load: LoadPlan,
        ids: OrderIds,
        mode: FlowMode,
        schedule: Arc<Schedule>,
        outcomes: OutcomeLog,
    ) -> Self {
        Self {
            load,
            ids,
            mode,
            schedule,
            outcomes,
            latency: OnceLock::new(),
            counters: DriveCounters::default(),
            start_patience: Duration::from_secs(5),
        }
    }

    /// The latency recorder, once the schedule has started.
    pub fn latency(&self) -> Option<&LatencyRecorder> {
        self.latency.get()
    }

    /// The latency recorder, starting it at `t0` if nobody has yet.
    pub fn latency_from(&self, t0: Instant) -> &LatencyRecorder {
        self.latency.get_or_init(|| LatencyRecorder::with_start(t0))
    }

    /// Records one finished order, stamping it with when its first request went out.
    pub fn record(&self, mut run: FlowRun) {
        let t0 = self
            .schedule
            .started_at()
            .map(|t| t.into_std())
            .unwrap_or_else(Instant::now);
        run.outcome.first_sent_ms = run.timings.iter().map(|t| t.sent).min().map(|sent| {
            u64::try_from(sent.saturating_duration_since(t0).as_millis()).unwrap_or(u64::MAX)
        });
        let latency = self.latency_from(t0);
        let counters = &self.counters;
        let mut errors = 0;
        for t in &run.timings {
            latency.record(t.step, t.intended, t.sent, t.done, t.ok());
            if let Some(kind) = t.error {
                errors += 1;
                counters.errors_by_kind.add(kind);
            }
        }
        counters
            .requests
            .fetch_add(run.timings.len() as u64, Ordering::Relaxed);
        counters.errors.fetch_add(errors, Ordering::Relaxed);
        self.outcomes.push(run.outcome);
        counters.orders_done.fetch_add(1, Ordering::Relaxed);
    }
}

/// One user's whole life: report for work, then claim and play orders until the
/// schedule says done.
pub async fn drive_user<T: Transport>(driver: &Driver, transport: &mut T) {
    let t0 = driver
        .schedule
        .arrive(driver.load.users, driver.start_patience)
        .await;
    driver.latency_from(t0.into_std());
    loop {
        if transport.cancelled() {
            driver.schedule.stop();
        }
        let (n, due) = match driver.schedule.claim(tokio::time::Instant::now()) {
            NextOrder::Done => break,
            NextOrder::Play { n, due, .. } => (n, due),
        };
        tokio::time::sleep_until(due).await;
        driver
            .counters
            .orders_started
            .fetch_add(1, Ordering::Relaxed);
        let plan = OrderPlan::new(&driver.load, &driver.ids, n);
        let run = play_order(transport, &driver.mode, &plan, due.into_std()).await;
        driver.record(run);
    }
}
