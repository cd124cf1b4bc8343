//! The open-model schedule: when each order is due, shared by every user.
//!
//! Order `n` is due at `t0 + n / rate`, whatever happened to earlier orders. A
//! user claims the next order number from one atomic counter, sleeps until that
//! order's due time and only then runs its flow. Because due times never move,
//! a slow server cannot slow the arrival rate down (no coordinated omission):
//! latency is measured from the due time, and if the users themselves fall
//! behind, the schedule counts it as lag instead of quietly stretching the run.
//!
//! The schedule is bounded twice: it hands out at most `rate * duration` orders,
//! and it stops handing out orders once the run's time is over (plus a small
//! grace), so a run that cannot keep up ends on time and says so.
//!
//! Past one machine, `loadgen run --worker I/N` plays one [`WorkerShare`] of the
//! schedule: the orders `n` with `n mod N == I - 1`, each still due at
//! `t0 + n / rate`. N workers started together therefore offer exactly the
//! scenario's orders at the scenario's rate, each at `rate / N`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// An order claimed later than this after its due time counts as lag: the
/// users were all busy when it fell due.
pub const LAG_THRESHOLD: Duration = Duration::from_millis(10);

/// How long after the scheduled end a late user may still claim an order.
/// Without it, timer jitter on the very last orders would drop them.
pub const END_GRACE: Duration = Duration::from_millis(250);

/// The largest number of orders one run may schedule; beyond it the outcome
/// log alone would not fit in memory.
pub const MAX_ORDERS: u64 = 200_000_000;

/// Why a schedule could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PacingError {
    #[error("rate must be a finite number of orders per second above 0, got {0}")]
    BadRate(f64),
    #[error("duration must be above 0")]
    ZeroDuration,
    #[error(
        "rate x duration asks for {0} orders, more than the {MAX_ORDERS} one run can hold; shorten the run or lower the rate"
    )]
    TooManyOrders(f64),
    #[error("{0}")]
    BadWorker(String),
}

/// The environment variable a `--worker /N` takes its index from: Kubernetes sets it,
/// 0-based, in every pod of an Indexed Job.
pub const WORKER_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Worker `index` of `count` (1-based: `1/2` and `2/2` are the two halves of a run). It plays
/// the orders `n` with `n mod count == index - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerShare {
    index: u32,
    count: u32,
}

impl WorkerShare {
    /// Worker `index` (1-based) of `count`.
    pub fn new(index: u32, count: u32) -> Result<Self, PacingError> {
        if count == 0 {
            return Err(PacingError::BadWorker(
                "--worker I/N: the number of workers N must be at least 1".into(),
            ));
        }
        if index == 0 || index > count {
            return Err(PacingError::BadWorker(format!(
                "--worker {index}/{count}: the index is 1-based and at most the number of workers (1/{count} .. {count}/{count})"
            )));
        }
        Ok(Self { index, count })
    }

    /// Reads `I/N` (1-based), or `/N` with the index taken from `env_index`, the value of
    /// [`WORKER_INDEX_ENV`] (0-based, as Kubernetes sets it: worker `JOB_COMPLETION_INDEX + 1`).
    pub fn parse(text: &str, env_index: Option<&str>) -> Result<Self, PacingError> {
        let bad = |why: &str| {
            PacingError::BadWorker(format!(
                "--worker {text:?}: {why}; expected I/N such as 1/4 (1-based), or /N to take I from {WORKER_INDEX_ENV} (0-based)"
            ))
        };
        let (index, count) = text.trim().split_once('/').ok_or_else(|| bad("no '/'"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        let index = match index.trim() {
            "" => {
                let raw =
                    env_index.ok_or_else(|| bad(&format!("{WORKER_INDEX_ENV} is not set")))?;
                let zero_based: u32 = raw.trim().parse().map_err(|_| {
                    bad(&format!("{WORKER_INDEX_ENV}={raw:?} is not a whole number"))
                })?;
                zero_based
                    .checked_add(1)
                    .ok_or_else(|| bad(&format!("{WORKER_INDEX_ENV}={raw:?} is too large")))?
            }
            i => i.parse().map_err(|_| bad("I is not a whole number"))?,
        };
        Self::new(index, count)
    }

    /// 1-based.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether order `n` of the whole run is this worker's.
    pub fn owns(&self, n: u64) -> bool {
        n % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl std::fmt::Display for WorkerShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The pure arithmetic of the schedule: which orders exist and when each is due,
/// as an offset from the start.
///
/// A worker's share ([`ScheduleMath::share`]) holds every `stride`-th order of the whole
/// run starting at `first`; its local order `k` is order `first + k * stride` of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleMath {
    /// This schedule's own rate (the whole run's divided by `stride`).
    rate: f64,
    duration: Duration,
    /// Orders in this schedule.
    total: u64,
    /// The whole run's rate: due times are spaced by it.
    run_rate: f64,
    first: u64,
    stride: u64,
}

impl ScheduleMath {
    /// `rate` orders per second for `duration`: orders `0..total` where
    /// `total = ceil(rate * duration)` rounded to the nearest whole order when
    /// the product is within a millionth of one (so 0.3 s at 10/s is 3 orders,
    /// not 4 because of floating-point noise).
    pub fn new(rate: f64, duration: Duration) -> Result<Self, PacingError> {
        if !rate.is_finite() || rate <= 0.0 {
            return Err(PacingError::BadRate(rate));
        }
        if duration.is_zero() {
            return Err(PacingError::ZeroDuration);
        }
        let exact = rate * duration.as_secs_f64();
        if !exact.is_finite() || exact > MAX_ORDERS as f64 {
            return Err(PacingError::TooManyOrders(exact));
        }
        let nearest = exact.round();
        let total = if (exact - nearest).abs() < 1e-6 {
            nearest
        } else {
            exact.ceil()
        };
        Ok(Self {
            rate,
            duration,
            total: total as u64,
            run_rate: rate,
            first: 0,
            stride: 1,
        })
    }

    /// The part of this (whole-run) schedule that `worker` plays: every `N`-th order from
    /// order `I - 1`, each due when the whole run has it due, at `rate / N` together.
    pub fn share(&self, worker: WorkerShare) -> Self {
        let stride = u64::from(worker.count()) * self.stride;
        let first = self.first + u64::from(worker.index() - 1) * self.stride;
        let whole = self.first + self.total * self.stride;
        let total = if first >= whole {
            0
        } else {
            (whole - first - 1) / stride + 1
        };
        Self {
            rate: self.run_rate / stride as f64,
            duration: self.duration,
            total,
            run_rate: self.run_rate,
            first,
            stride,
        }
    }

    /// One order per second for one second: a valid placeholder.
    pub const fn one_per_second() -> Self {
        Self {
            rate: 1.0,
            duration: Duration::from_secs(1),
            total: 1,
            run_rate: 1.0,
            first: 0,
            stride: 1,
        }
    }

    /// Orders per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// How long the schedule lasts.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// How many orders the schedule holds.
    pub fn total_orders(&self) -> u64 {
        self.total
    }

    /// The run-wide number of this schedule's `k`-th order (`k` itself unless this is a
    /// worker's share): what names the order and seeds its plan.
    pub fn order_number(&self, k: u64) -> u64 {
        self.first + k * self.stride
    }

    /// When this schedule's `k`-th order is due, counted from the start; `None` past the end.
    pub fn due_offset(&self, k: u64) -> Option<Duration> {
        if k >= self.total {
            return None;
        }
        // The order number is below the whole run's total <= MAX_ORDERS and the rate is
        // above 0, so the quotient is finite, non-negative, and bounded by about duration.
        let secs = self.order_number(k) as f64 / self.run_rate;
        Duration::try_from_secs_f64(secs).ok()
    }
}

/// What a user gets when it asks the schedule for work ([`Schedule::claim`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextOrder {
    /// Play order `n` (numbered across the whole run, so a worker's orders keep their
    /// run-wide numbers), which is due at `due`.
    Play {
        n: u64,
        due: Instant,
        /// How late the claim already was (zero when it was claimed early).
        late_by: Duration,
    },
    /// No more work: every order is handed out, the time is up, or the run was stopped.
    Done,
}

/// The schedule shared by every user of one run.
#[derive(Debug)]
pub struct Schedule {
    math: ScheduleMath,
    start: OnceLock<Instant>,
    started: Notify,
    next: AtomicU64,
    stopped: AtomicBool,
    claimed: AtomicU64,
    lagged: AtomicU64,
    max_lag_us: AtomicU64,
    last_claim_us: AtomicU64,
    /// When [`Schedule::stop`] was first called, µs after `t0`; `u64::MAX` while running.
    stopped_at_us: AtomicU64,
    arrived: AtomicUsize,
}

impl Schedule {
    pub fn new(math: ScheduleMath) -> Self {
        Self {
            math,
            start: OnceLock::new(),
            started: Notify::new(),
            next: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            claimed: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
            max_lag_us: AtomicU64::new(0),
            last_claim_us: AtomicU64::new(0),
            stopped_at_us: AtomicU64::new(u64::MAX),
            arrived: AtomicUsize::new(0),
        }
    }

    /// Fix `t0`. Only the first call counts, so a late user cannot move the clock.
    pub fn start_at(&self, t0: Instant) -> Instant {
        let t0 = *self.start.get_or_init(|| t0);
        self.started.notify_waiters();
        t0
    }

    /// `t0`, once the schedule has started.
    pub fn started_at(&self) -> Option<Instant> {
        self.start.get().copied()
    }

    /// A user reports for work and waits for the start. The schedule starts when
    /// `users` users have arrived, or `patience` after the first one did, whichever
    /// comes first: all users should be ready before order 0 is due (otherwise the
    /// first orders queue behind the few users that started early), but a user that
    /// never arrives must not hold the run forever.
    pub async fn arrive(&self, users: usize, patience: Duration) -> Instant {
        if let Some(t0) = self.started_at() {
            return t0;
        }
        let arrived = self.arrived.fetch_add(1, Ordering::AcqRel) + 1;
        if arrived >= users {
            return self.start_at(Instant::now());
        }
        let deadline = Instant::now() + patience;
        loop {
            let notified = self.started.notified();
            tokio::pin!(notified);
            // Register before checking, so a start between the check and the
            // await still wakes this user.
            notified.as_mut().enable();
            if let Some(t0) = self.started_at() {
                return t0;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return self.start_at(Instant::now());
                }
            }
        }
    }

    /// Stop handing out orders (Ctrl-C, or a fatal error): users finish what they hold.
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            let at = self
                .started_at()
                .map(|t0| micros(t0.elapsed()))
                .unwrap_or(0);
            self.stopped_at_us.store(at, Ordering::Release);
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Hand out the next order, judged at time `now`. The caller then sleeps
    /// until `due` (which may already be past).
    pub fn claim(&self, now: Instant) -> NextOrder {
        let Some(t0) = self.started_at() else {
            return NextOrder::Done;
        };
        if self.is_stopped() {
            return NextOrder::Done;
        }
        if now.saturating_duration_since(t0) > self.math.duration + END_GRACE {
            return NextOrder::Done;
        }
        let k = self.next.fetch_add(1, Ordering::AcqRel);
        let Some(offset) = self.math.due_offset(k) else {
            return NextOrder::Done;
        };
        let n = self.math.order_number(k);
        let due = t0 + offset;
        let late_by = now.saturating_duration_since(due);
        self.claimed.fetch_add(1, Ordering::AcqRel);
        if late_by > LAG_THRESHOLD {
            self.lagged.fetch_add(1, Ordering::AcqRel);
            self.max_lag_us.fetch_max(micros(late_by), Ordering::AcqRel);
        }
        let sent_at = now.max(due).saturating_duration_since(t0);
        self.last_claim_us
            .fetch_max(micros(sent_at), Ordering::AcqRel);
        NextOrder::Play { n, due, late_by }
    }

    /// What the schedule saw so far.
    pub fn stats(&self) -> PacingStats {
        PacingStats {
            target_rate: self.math.rate,
            scheduled_orders: self.math.total,
            duration: self.math.duration,
            claimed: self.claimed.load(Ordering::Acquire),
            lagged: self.lagged.load(Ordering::Acquire),
            max_lag: Duration::from_micros(self.max_lag_us.load(Ordering::Acquire)),
            last_start: Duration::from_micros(self.last_claim_us.load(Ordering::Acquire)),
            interrupted_after: match self.stopped_at_us.load(Ordering::Acquire) {
                u64::MAX => None,
                us => Some(Duration::from_micros(us)),
            },
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A summary of how well the users kept to the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacingStats {
    pub target_rate: f64,
    pub scheduled_orders: u64,
    pub duration: Duration,
    /// Orders actually started.
    pub claimed: u64,
    /// Orders started more than [`LAG_THRESHOLD`] after they were due.
    pub lagged: u64,
    pub max_lag: Duration,
    /// When the last order started, counted from `t0`.
    pub last_start: Duration,
    /// When the run was stopped early (Ctrl-C), counted from `t0`.
    pub interrupted_after: Option<Duration>,
}

impl PacingStats {
    /// Orders started per second over the run. The denominator is the planned
    /// duration, or longer when the users started the last order late, so
    /// falling behind lowers the figure instead of hiding in a longer run.
    ///
    /// A run stopped early is judged over the time it ran.
    pub fn achieved_rate(&self) -> f64 {
        let planned = match self.interrupted_after {
            Some(ran) => ran.min(self.duration).as_secs_f64(),
            None => self.duration.as_secs_f64(),
        };
        let spacing = 1.0 / self.target_rate;
        let actual = self.last_start.as_secs_f64() + spacing;
        let window = planned.max(actual);
        if window <= 0.0 {
            return 0.0;
        }
        self.claimed as f64 / window
    }

    /// Achieved over target, 1.0 for a perfect run.
    pub fn achieved_ratio(&self) -> f64 {
        self.achieved_rate() / self.target_rate
    }

    /// Whether the client, not the server, was the bottleneck: more than 1% of
    /// orders started late, or fewer than 98% of the scheduled ones started
    /// (of those due before the interruption, for a run stopped early).
    pub fn client_fell_behind(&self) -> bool {
        let lag_share = if self.claimed == 0 {
            0.0
        } else {
            self.lagged as f64 / self.claimed as f64
        };
        let due = match self.interrupted_after {
            Some(ran) => (ran.as_secs_f64() * self.target_rate)
                .floor()
                .min(self.scheduled_orders as f64),
            None => self.scheduled_orders as f64,
        };
        lag_share > 0.01 || (self.claimed as f64) < 0.98 * due
    }

    /// The warning to print when [`Self::client_fell_behind`], naming the fix.
    pub fn keep_up_warning(&self, users: usize) -> Option<String> {
        if !self.client_fell_behind() {
            return None;
        }
        Some(format!(
            "client could not keep up: {users} users for rate {rate}/s; {lagged} of {claimed} orders started more than {lag_ms} ms late (worst {worst:.1} ms), {claimed} of {scheduled} scheduled orders started; raise --users",
            rate = self.target_rate,
            lagged = self.lagged,
            claimed = self.claimed,
            scheduled = self.scheduled_orders,
            lag_ms = LAG_THRESHOLD.as_millis(),
            worst = self.max_lag.as_secs_f64() * 1000.0,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn math(rate: f64, ms: u64) -> ScheduleMath {
        ScheduleMath::new(rate, Duration::from_millis(ms)).expect("valid schedule")
    }

    #[test]
    fn total_orders_is_rate_times_duration() {
        assert_eq!(math(1000.0, 20_000).total_orders(), 20_000);
        assert_eq!(math(10.0, 300).total_orders(), 3);
        // A fractional product rounds up: 2.5 orders' worth of time starts 3.
        assert_eq!(math(5.0, 500).total_orders(), 3);
        assert_eq!(math(0.5, 4_000).total_orders(), 2);
    }

    #[test]
    fn order_n_is_due_at_n_over_rate() {
        let m = math(200.0, 1_000);
        assert_eq!(m.due_offset(0), Some(Duration::ZERO));
        assert_eq!(m.due_offset(1), Some(Duration::from_millis(5)));
        assert_eq!(m.due_offset(199), Some(Duration::from_millis(995)));
        assert_eq!(m.due_offset(200), None);
    }

    #[test]
    fn due_times_are_evenly_spaced_and_inside_the_run() {
        let m = math(7.0, 3_000);
        let dues: Vec<Duration> = (0..m.total_orders())
            .filter_map(|n| m.due_offset(n))
            .collect();
        assert_eq!(dues.len(), 21);
        assert!(dues.iter().all(|d| *d < Duration::from_secs(3)));
        for pair in dues.windows(2) {
            let gap = pair[1] - pair[0];
            let expected = Duration::from_secs_f64(1.0 / 7.0);
            let diff = gap.abs_diff(expected);
            assert!(diff < Duration::from_micros(1), "gap {gap:?}");
        }
    }

    #[test]
    fn worker_shares_split_the_run_into_disjoint_interleaved_orders() {
        let whole = math(10.0, 1_000); // orders 0..10, due every 100 ms
        let mut seen = Vec::new();
        for index in 1..=3 {
            let worker = WorkerShare::new(index, 3).expect("valid");
            let share = whole.share(worker);
            assert!((share.rate() - 10.0 / 3.0).abs() < 1e-9);
            for k in 0..share.total_orders() {
                let n = share.order_number(k);
                assert!(worker.owns(n));
                // Due when the whole run has it due.
                assert_eq!(share.due_offset(k), whole.due_offset(n), "order {n}");
                seen.push(n);
            }
            assert_eq!(share.due_offset(share.total_orders()), None);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>(), "each order exactly once");
        // More workers than orders: the extra workers have nothing to do.
        let tiny = math(2.0, 1_000);
        assert_eq!(
            tiny.share(WorkerShare::new(3, 4).expect("valid"))
                .total_orders(),
            0
        );
        assert_eq!(
            tiny.share(WorkerShare::new(2, 4).expect("valid"))
                .total_orders(),
            1
        );
        // One worker of one is the whole run.
        assert_eq!(whole.share(WorkerShare::new(1, 1).expect("valid")), whole);
    }

    #[test]
    fn a_worker_claims_run_wide_order_numbers() {
        let share = math(100.0, 100).share(WorkerShare::new(2, 2).expect("valid"));
        let schedule = Schedule::new(share);
        let t0 = schedule.start_at(Instant::now());
        let mut seen = Vec::new();
        while let NextOrder::Play { n, due, .. } = schedule.claim(t0) {
            assert_eq!(due, t0 + Duration::from_millis(10 * n));
            seen.push(n);
        }
        assert_eq!(seen, vec![1, 3, 5, 7, 9]);
        assert!((schedule.stats().target_rate - 50.0).abs() < 1e-9);
    }

    #[test]
    fn worker_specs_are_1_based_and_validated() {
        let w = WorkerShare::parse("2/4", None).expect("valid");
        assert_eq!((w.index(), w.count()), (2, 4));
        assert_eq!(w.to_string(), "2/4");
        // `/N` takes the 0-based Kubernetes index from the environment.
        let w = WorkerShare::parse("/4", Some("0")).expect("valid");
        assert_eq!(w, WorkerShare::new(1, 4).expect("valid"));
        let w = WorkerShare::parse("/4", Some("3")).expect("valid");
        assert_eq!(w.index(), 4);
        for (text, env) in [
            ("0/4", None),
            ("5/4", None),
            ("1/0", None),
            ("1", None),
            ("a/4", None),
            ("1/b", None),
            ("/4", None),
            ("/4", Some("4")),
            ("/4", Some("-1")),
            ("/4", Some("x")),
        ] {
            let e = WorkerShare::parse(text, env).expect_err(text);
            assert!(matches!(e, PacingError::BadWorker(_)), "{text}: {e}");
        }
        let e = WorkerShare::parse("/4", None).expect_err("no env");
        assert!(e.to_string().contains(WORKER_INDEX_ENV), "{e}");
    }

    #[test]
    fn bad_inputs_are_refused() {
        let s = Duration::from_secs(1);
        assert_eq!(ScheduleMath::new(0.0, s), Err(PacingError::BadRate(0.0)));
        assert!(matches!(
            ScheduleMath::new(f64::NAN, s),
            Err(PacingError::BadRate(_))
        ));
        assert!(ScheduleMath::new(-3.0, s).is_err());
        assert!(ScheduleMath::new(f64::INFINITY, s).is_err());
        assert_eq!(
            ScheduleMath::new(10.0, Duration::ZERO),
            Err(PacingError::ZeroDuration)
        );
        assert!(matches!(
            ScheduleMath::new(1e9, Duration::from_secs(3600)),
            Err(PacingError::TooManyOrders(_))
        ));
    }

    #[test]
    fn claims_hand_out_each_order_once_then_stop() {
        let schedule = Schedule::new(math(100.0, 50));
        assert_eq!(
            schedule.claim(Instant::now()),
            NextOrder::Done,
            "not started"
        );
        let t0 = schedule.start_at(Instant::now());
        let mut seen = Vec::new();
        while let NextOrder::Play { n, due, late_by } = schedule.claim(t0) {
            assert_eq!(due, t0 + Duration::from_millis(10 * n));
            assert_eq!(late_by, Duration::ZERO);
            seen.push(n);
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert_eq!(schedule.claim(t0), NextOrder::Done);
        let stats = schedule.stats();
        assert_eq!(stats.claimed, 5);
        assert_eq!(stats.lagged, 0);
    }

    #[test]
    fn late_claims_count_as_lag() {
        let schedule = Schedule::new(math(100.0, 1_000));
        let t0 = schedule.start_at(Instant::now());
        // Order 0 claimed 5 ms late: within tolerance.
        let NextOrder::Play { late_by, .. } = schedule.claim(t0 + Duration::from_millis(5)) else {
            panic!("expected an order");
        };
        assert_eq!(late_by, Duration::from_millis(5));
        // Order 1 (due at 10 ms) claimed at 60 ms: 50 ms late.
        let NextOrder::Play { n, late_by, .. } = schedule.claim(t0 + Duration::from_millis(60))
        else {
            panic!("expected an order");
        };
        assert_eq!(n, 1);
        assert_eq!(late_by, Duration::from_millis(50));
        let stats = schedule.stats();
        assert_eq!(stats.lagged, 1);
        assert_eq!(stats.max_lag, Duration::from_millis(50));
    }

    #[test]
    fn no_claims_after_the_run_time_is_over() {
        let schedule = Schedule::new(math(10.0, 1_000));
        let t0 = schedule.start_at(Instant::now());
        let too_late = t0 + Duration::from_secs(1) + END_GRACE + Duration::from_millis(1);
        assert_eq!(schedule.claim(too_late), NextOrder::Done);
        assert_eq!(schedule.stats().claimed, 0);
        // Within the grace the next order is still handed out, late.
        let schedule = Schedule::new(math(10.0, 1_000));
        let t0 = schedule.start_at(Instant::now());
        let just_after = t0 + Duration::from_secs(1) + Duration::from_millis(100);
        assert!(matches!(
            schedule.claim(just_after),
            NextOrder::Play { n: 0, .. }
        ));
    }

    #[test]
    fn stop_ends_claims() {
        let schedule = Schedule::new(math(10.0, 1_000));
        let t0 = schedule.start_at(Instant::now());
        schedule.stop();
        assert_eq!(schedule.claim(t0), NextOrder::Done);
    }

    #[tokio::test]
    async fn start_waits_for_all_users_or_patience() {
        let schedule = std::sync::Arc::new(Schedule::new(math(10.0, 1_000)));
        let first = {
            let s = schedule.clone();
            tokio::spawn(async move { s.arrive(2, Duration::from_secs(30)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(schedule.started_at().is_none(), "one of two users arrived");
        let second = schedule.arrive(2, Duration::from_secs(30)).await;
        let first = first.await.expect("first user");
        assert_eq!(first, second);

        // Alone, a user waits out its patience, then starts the schedule itself.
        let lonely = Schedule::new(math(10.0, 1_000));
        let before = Instant::now();
        let t0 = lonely.arrive(3, Duration::from_millis(100)).await;
        assert!(t0 - before >= Duration::from_millis(100));
        assert_eq!(lonely.started_at(), Some(t0));
    }

    #[test]
    fn achieved_rate_is_honest_about_falling_behind() {
        let on_time = PacingStats {
            target_rate: 100.0,
            scheduled_orders: 1000,
            duration: Duration::from_secs(10),
            claimed: 1000,
            lagged: 0,
            max_lag: Duration::ZERO,
            last_start: Duration::from_millis(9_990),
            interrupted_after: None,
        };
        assert!((on_time.achieved_rate() - 100.0).abs() < 1e-9);
        assert!(!on_time.client_fell_behind());
        assert!(on_time.keep_up_warning(8).is_none());

        // Same orders, but the last one started 20 s in: 50/s, and a warning.
        let behind = PacingStats {
            last_start: Duration::from_millis(19_990),
            lagged: 900,
            max_lag: Duration::from_secs(10),
            ..on_time
        };
        assert!((behind.achieved_rate() - 50.0).abs() < 1e-9);
        assert!((behind.achieved_ratio() - 0.5).abs() < 1e-9);
        let warning = behind.keep_up_warning(8).expect("a warning");
        assert!(warning.contains("client could not keep up: 8 users for rate 100/s"));
        assert!(warning.contains("raise --users"));

        // Orders never started also count against the client.
        let short = PacingStats {
            claimed: 500,
            last_start: Duration::from_millis(5_000),
            ..on_time
        };
        assert!((short.achieved_rate() - 50.0).abs() < 1e-9);
        assert!(short.client_fell_behind());

        // The same orders in a run stopped after 5 s: on time, over the time it ran.
        let stopped = PacingStats {
            interrupted_after: Some(Duration::from_secs(5)),
            last_start: Duration::from_millis(4_990),
            ..short
        };
        assert!((stopped.achieved_rate() - 100.0).abs() < 1e-6);
        assert!(!stopped.client_fell_behind());
    }

    #[test]
    fn stop_records_when_the_run_was_interrupted() {
        let schedule = Schedule::new(math(10.0, 1_000));
        assert_eq!(schedule.stats().interrupted_after, None);
        schedule.start_at(Instant::now());
        schedule.stop();
        let first = schedule.stats().interrupted_after.expect("stopped");
        schedule.stop();
        assert_eq!(
            schedule.stats().interrupted_after,
            Some(first),
            "the first stop counts"
        );
    }
}
