//! [`LiveBoard`]: where a run publishes what the metrics endpoint shows, and where each scrape
//! reads one [`LiveSample`] from.
//!
//! The figures themselves stay where the run keeps them (the driver's counters, the schedule,
//! the latency recorder); the board holds the driver of the schedule being played and reads it
//! on each scrape, so a scrape costs the run nothing between scrapes. A capacity climb plays
//! one driver per step: when a step ends its totals are folded into the board, so counters and
//! the histogram keep growing over the whole climb, as Prometheus expects of them.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use hdrhistogram::Histogram;

use crate::flows::{Driver, ErrorKind};
use crate::latency::new_histogram;
use crate::outcomes::ClientResult;

use super::sample::{CheckedMoney, LatencyBuckets, LiveSample};

/// What a run publishes while it goes on. Cheap to clone; clones share one board.
#[derive(Clone)]
pub struct LiveBoard {
    state: Arc<Mutex<State>>,
}

struct State {
    command: &'static str,
    scenario: String,
    mode: &'static str,
    step: Option<u32>,
    /// The driver of the schedule being played, if any.
    current: Option<Arc<Driver>>,
    /// The figures of the drivers that finished (capacity steps).
    finished: Totals,
    target_rate: f64,
    achieved_rate: f64,
    money: Option<CheckedMoney>,
}

/// Counters added up over drivers.
#[derive(Clone)]
struct Totals {
    scheduled: u64,
    started: u64,
    finished: [u64; ClientResult::ALL.len()],
    several_payments: u64,
    late_starts: u64,
    requests: u64,
    errors: [u64; ErrorKind::ALL.len()],
    /// Corrected latency, microseconds.
    latency: Histogram<u64>,
}

impl Totals {
    fn new() -> Self {
        Totals {
            scheduled: 0,
            started: 0,
            finished: [0; ClientResult::ALL.len()],
            several_payments: 0,
            late_starts: 0,
            requests: 0,
            errors: [0; ErrorKind::ALL.len()],
            latency: new_histogram(),
        }
    }

    /// Adds what `driver` has counted so far.
    fn add(&mut self, driver: &Driver) {
        let relaxed = Ordering::Relaxed;
        let c = &driver.counters;
        let stats = driver.schedule.stats();
        self.scheduled += stats.scheduled_orders;
        self.late_starts += stats.lagged;
        self.started += c.orders_started.load(relaxed);
        for (slot, (_, n)) in self.finished.iter_mut().zip(c.results.snapshot()) {
            *slot += n;
        }
        self.several_payments += c.several_payments.load(relaxed);
        self.requests += c.requests.load(relaxed);
        for (slot, (_, n)) in self.errors.iter_mut().zip(c.errors_by_kind.snapshot()) {
            *slot += n;
        }
        if let Some(recorder) = driver.latency() {
            // Auto-resizing: an add fails only on usize overflow, and then the histogram stays
            // as it was rather than half-merged.
            let _ = self.latency.add(recorder.corrected_histogram());
        }
    }
}

impl LiveBoard {
    /// An empty board for `command` (`run` or `capacity`) of `scenario` against `mode`.
    pub fn new(command: &'static str, scenario: &str, mode: &'static str) -> Self {
        LiveBoard {
            state: Arc::new(Mutex::new(State {
                command,
                scenario: scenario.to_owned(),
                mode,
                step: None,
                current: None,
                finished: Totals::new(),
                target_rate: 0.0,
                achieved_rate: 0.0,
                money: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a handful of assignments: a panic elsewhere cannot leave the board
        // half-written in a way a scrape would mind.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The schedule `driver` plays is the one to show now (a capacity climb's `step`).
    pub fn begin(&self, driver: Arc<Driver>, step: Option<u32>) {
        let mut s = self.lock();
        s.target_rate = driver.schedule.stats().target_rate;
        s.achieved_rate = 0.0;
        s.step = step;
        s.current = Some(driver);
    }

    /// The current driver is done: its totals stay on the board, nothing more is started.
    pub fn end(&self) {
        let mut s = self.lock();
        if let Some(driver) = s.current.take() {
            s.finished.add(&driver);
        }
        s.achieved_rate = 0.0;
    }

    /// Orders started in the last complete second (the progress sampler's figure).
    pub fn set_achieved_rate(&self, rate: f64) {
        self.lock().achieved_rate = rate;
    }

    /// The money check has run: its counts are final.
    pub fn money_checked(&self, money: CheckedMoney) {
        self.lock().money = Some(money);
    }

    /// What a scrape shows now.
    pub fn sample(&self) -> LiveSample {
        let s = self.lock();
        let mut totals = s.finished.clone();
        if let Some(driver) = &s.current {
            totals.add(driver);
        }
        LiveSample {
            command: s.command,
            scenario: s.scenario.clone(),
            mode: s.mode,
            step: s.step,
            target_rate: s.target_rate,
            achieved_rate: s.achieved_rate,
            orders_scheduled: totals.scheduled,
            orders_started: totals.started,
            orders_finished: ClientResult::ALL.into_iter().zip(totals.finished).collect(),
            several_payments: totals.several_payments,
            late_starts: totals.late_starts,
            requests: totals.requests,
            errors: ErrorKind::ALL.into_iter().zip(totals.errors).collect(),
            latency: LatencyBuckets::from_histogram(&totals.latency),
            money: s.money.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::{FlowMode, OrderIds};
    use crate::outcomes::OutcomeLog;
    use crate::pacing::Schedule;
    use crate::scenario::Scenario;

    fn driver(rate: u32) -> Arc<Driver> {
        let text = format!("[load]\nrate = {rate}\nduration = \"2s\"\n");
        let load = Scenario::parse(&text, "t", "t.toml")
            .expect("valid scenario")
            .load;
        let schedule = Arc::new(Schedule::new(load.schedule()));
        Arc::new(Driver::new(
            load,
            OrderIds::new(1, ""),
            FlowMode::Native,
            schedule,
            OutcomeLog::new(),
        ))
    }

    #[test]
    fn a_climb_keeps_counting_across_steps() {
        let board = LiveBoard::new("capacity", "cap", "embedded");
        let first = driver(10);
        board.begin(first.clone(), Some(1));
        first.counters.orders_started.store(20, Ordering::Relaxed);
        first.counters.requests.store(30, Ordering::Relaxed);
        first.counters.errors_by_kind.add(ErrorKind::Timeout);
        let during = board.sample();
        assert_eq!((during.step, during.target_rate), (Some(1), 10.0));
        assert_eq!((during.orders_scheduled, during.orders_started), (20, 20));
        assert_eq!(during.in_flight(), 20, "none finished");
        board.end();

        let second = driver(15);
        board.begin(second.clone(), Some(2));
        second.counters.orders_started.store(5, Ordering::Relaxed);
        second.counters.requests.store(7, Ordering::Relaxed);
        second.counters.errors_by_kind.add(ErrorKind::Timeout);
        second.counters.errors_by_kind.add(ErrorKind::ServerError);
        let s = board.sample();
        assert_eq!((s.step, s.target_rate), (Some(2), 15.0));
        assert_eq!(s.orders_scheduled, 20 + 30);
        assert_eq!(s.orders_started, 25);
        assert_eq!(s.requests, 37);
        assert_eq!(s.errors[0], (ErrorKind::Timeout, 2));
        assert_eq!(s.errors[2], (ErrorKind::ServerError, 1));
        assert!(s.money.is_none());
    }

    #[test]
    fn the_money_shows_once_checked() {
        let board = LiveBoard::new("run", "r", "target");
        board.set_achieved_rate(9.0);
        assert_eq!(board.sample().achieved_rate, 9.0);
        board.money_checked(CheckedMoney {
            violations: vec![],
            unresolved: 3,
        });
        assert_eq!(board.sample().money.map(|m| m.unresolved), Some(3));
    }
}
