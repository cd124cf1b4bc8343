//! The progress line printed to stderr once a second while a run goes on:
//! orders started in the last second against the target rate, the last
//! second's p95, errors so far, and orders finished out of the schedule.
//!
//! The figures are read from the run's shared counters; printing never blocks
//! a user. `--quiet` turns it off.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::flows::Driver;

/// One progress line's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressSample {
    /// Seconds since the schedule started.
    pub elapsed_s: u64,
    /// Orders whose due time came in the last second (their first request went out).
    pub started_last_second: u64,
    pub target_rate: f64,
    /// Corrected p95 of requests completed in the last full second, ms.
    pub p95_ms: f64,
    pub requests: u64,
    pub errors: u64,
    pub orders_done: u64,
    pub orders_scheduled: u64,
    /// Orders started late so far (the client could not keep up).
    pub lagged: u64,
}

/// Formats one progress line.
pub fn format_line(s: &ProgressSample) -> String {
    let share = if s.target_rate > 0.0 {
        s.started_last_second as f64 / s.target_rate * 100.0
    } else {
        0.0
    };
    let error_share = if s.requests == 0 {
        0.0
    } else {
        s.errors as f64 / s.requests as f64 * 100.0
    };
    let mut line = format!(
        "[{:>4}s] rate {}/s of {}/s ({share:.1}%) | p95 {:.1} ms | errors {} ({error_share:.2}%) | orders {}/{}",
        s.elapsed_s,
        s.started_last_second,
        trim_rate(s.target_rate),
        s.p95_ms,
        s.errors,
        s.orders_done,
        s.orders_scheduled,
    );
    if s.lagged > 0 {
        line.push_str(&format!(" | late starts {}", s.lagged));
    }
    line
}

fn trim_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.1}")
    }
}

/// The running progress printer; [`ProgressHandle::stop`] ends it.
pub struct ProgressHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ProgressHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Prints a progress line to stderr every second until stopped.
pub fn spawn(driver: Arc<Driver>) -> ProgressHandle {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        // Lines fall on whole seconds of the schedule, so each one covers one full second.
        let t0 = loop {
            if let Some(t0) = driver.schedule.started_at() {
                break t0;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stopped.changed() => return,
            }
        };
        let second = Duration::from_secs(1);
        let mut tick = tokio::time::interval_at(t0 + second, second);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_started = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => break,
            }
            let stats = driver.schedule.stats();
            let counters = &driver.counters;
            let relaxed = std::sync::atomic::Ordering::Relaxed;
            let started = counters.orders_started.load(relaxed);
            let sample = ProgressSample {
                elapsed_s: t0.elapsed().as_secs(),
                started_last_second: started.saturating_sub(last_started),
                target_rate: stats.target_rate,
                p95_ms: driver
                    .latency()
                    .map(|l| l.snapshot_last_second().p95_ms)
                    .unwrap_or(0.0),
                requests: counters.requests.load(relaxed),
                errors: counters.errors.load(relaxed),
                orders_done: counters.orders_done.load(relaxed),
                orders_scheduled: stats.scheduled_orders,
                lagged: stats.lagged,
            };
            last_started = started;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", format_line(&sample));
        }
    });
    ProgressHandle { stop, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_rate_against_target_latency_errors_and_orders() {
        let line = format_line(&ProgressSample {
            elapsed_s: 5,
            started_last_second: 998,
            target_rate: 1000.0,
            p95_ms: 12.34,
            requests: 5000,
            errors: 5,
            orders_done: 4990,
            orders_scheduled: 20000,
            lagged: 0,
        });
        assert_eq!(
            line,
            "[   5s] rate 998/s of 1000/s (99.8%) | p95 12.3 ms | errors 5 (0.10%) | orders 4990/20000"
        );
    }

    #[test]
    fn late_starts_are_shown_when_the_client_falls_behind() {
        let line = format_line(&ProgressSample {
            elapsed_s: 1,
            started_last_second: 400,
            target_rate: 1000.0,
            p95_ms: 0.0,
            requests: 0,
            errors: 0,
            orders_done: 0,
            orders_scheduled: 10,
            lagged: 600,
        });
        assert!(line.contains("(40.0%)"), "{line}");
        assert!(line.contains("late starts 600"), "{line}");
        assert!(line.contains("errors 0 (0.00%)"), "{line}");
    }
}
