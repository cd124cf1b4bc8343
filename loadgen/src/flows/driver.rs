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
use crate::outcomes::{ClientResult, OutcomeLog};
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

/// Running totals, cheap to read once a second for the progress line and on every scrape of
/// the live metrics.
#[derive(Debug, Default)]
pub struct DriveCounters {
    /// Orders whose first request went out (their due time came).
    pub orders_started: AtomicU64,
    pub orders_done: AtomicU64,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    /// `errors`, by kind.
    pub errors_by_kind: ErrorCounts,
    /// `orders_done`, by what the client concluded.
    pub results: ResultCounts,
    /// Finished orders whose client was told of more than one payment id: a possible double
    /// charge, seen from the client's side before the money check can say.
    pub several_payments: AtomicU64,
}

/// Finished orders counted by client result.
#[derive(Debug, Default)]
pub struct ResultCounts {
    counts: [AtomicU64; ClientResult::ALL.len()],
}

impl ResultCounts {
    fn add(&self, result: ClientResult) {
        self.counts[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Every result with its count so far, zeros included.
    pub fn snapshot(&self) -> [(ClientResult, u64); ClientResult::ALL.len()] {
        ClientResult::ALL.map(|r| (r, self.counts[r as usize].load(Ordering::Relaxed)))
    }
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
        counters.results.add(run.outcome.result);
        let mut payments = run
            .outcome
            .attempts
            .iter()
            .filter_map(|a| a.payment_id.as_deref());
        if payments
            .next()
            .is_some_and(|first| payments.any(|id| id != first))
        {
            counters.several_payments.fetch_add(1, Ordering::Relaxed);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::error_kind::ErrorKind;
    use crate::flows::session::StepTiming;
    use crate::outcomes::{Attempt, OrderOutcome};
    use crate::scenario::Scenario;

    fn driver() -> Driver {
        let load = Scenario::parse("[load]\nrate = 10\nduration = \"1s\"\n", "t", "t.toml")
            .expect("valid scenario")
            .load;
        let schedule = Arc::new(Schedule::new(load.schedule()));
        Driver::new(
            load,
            OrderIds::new(1, ""),
            FlowMode::Native,
            schedule,
            OutcomeLog::new(),
        )
    }

    /// An order whose requests named these payments and failed as said, sent at `sent`.
    fn run(
        result: ClientResult,
        steps: &[(Option<&str>, Option<ErrorKind>)],
        sent: Instant,
    ) -> FlowRun {
        FlowRun {
            outcome: OrderOutcome {
                order_id: "o-1".into(),
                flow: "double_submit".into(),
                merchant: "m".into(),
                amount: 100,
                currency: "usd".into(),
                expected_capture: 100,
                expected_refund: 0,
                result,
                attempts: steps
                    .iter()
                    .map(|(payment, _)| Attempt {
                        step: "create".into(),
                        idempotency_key: None,
                        status: Some(200),
                        payment_id: payment.map(str::to_owned),
                        error: None,
                        latency_us: 1,
                    })
                    .collect(),
                first_sent_ms: None,
                challenge: None,
            },
            timings: steps
                .iter()
                .enumerate()
                .map(|(i, (_, error))| StepTiming {
                    step: "create",
                    intended: sent,
                    sent: sent + Duration::from_millis(i as u64),
                    done: sent + Duration::from_millis(5),
                    error: *error,
                })
                .collect(),
        }
    }

    #[test]
    fn recording_counts_results_errors_by_kind_and_orders_told_of_two_payments() {
        let d = driver();
        let t0 = d.schedule.start_at(tokio::time::Instant::now()).into_std();
        d.record(run(
            ClientResult::Succeeded,
            &[(Some("pay_1"), None), (Some("pay_2"), None)],
            t0 + Duration::from_millis(1500),
        ));
        d.record(run(
            ClientResult::Unknown,
            &[
                (Some("pay_3"), None),
                (Some("pay_3"), Some(ErrorKind::Timeout)),
            ],
            t0,
        ));
        let c = &d.counters;
        assert_eq!(
            c.several_payments.load(Ordering::Relaxed),
            1,
            "pay_3 twice is one payment"
        );
        assert_eq!(c.requests.load(Ordering::Relaxed), 4);
        assert_eq!(c.errors.load(Ordering::Relaxed), 1);
        assert_eq!(c.errors_by_kind.snapshot()[0], (ErrorKind::Timeout, 1));
        let results = c.results.snapshot();
        assert_eq!(
            results.map(|(r, _)| r),
            ClientResult::ALL,
            "indexed in order"
        );
        assert_eq!(results[0], (ClientResult::Succeeded, 1));
        assert_eq!(results[3], (ClientResult::Unknown, 1));
        // Each order is stamped with its first request's send time on the run's clock.
        let stamped: Vec<Option<u64>> = d
            .outcomes
            .snapshot()
            .iter()
            .map(|o| o.first_sent_ms)
            .collect();
        assert_eq!(stamped, [Some(1500), Some(0)]);
    }
}
