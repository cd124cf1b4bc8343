//! The progress line printed to stderr once a second while a run goes on:
//! orders started in the last second against the target rate, the last
//! second's p95, errors so far, and orders finished out of the schedule.
//!
//! Two formats ([`ProgressFormat`]): a line for people (`human`, the default) and one JSON
//! object per line (`json`) for CI logs that are parsed, with the same figures under stable
//! names plus the errors by kind.
//!
//! The figures are read from the run's shared counters; printing never blocks
//! a user. `--quiet` turns it off. The same once-a-second sample gives the live metrics
//! (`--metrics-listen`) their achieved rate, so the sampler also runs, silent, for them.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::flows::{Driver, ErrorKind};
use crate::metrics::LiveBoard;

/// How the progress line is printed (`--progress`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressFormat {
    /// `[   5s] rate 998/s of 1000/s (99.8%) | p95 12.3 ms | ...`
    #[default]
    Human,
    /// One JSON object per line: `{"elapsed_s":5,"rate":998,"target_rate":1000.0,...}`
    Json,
}

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
    /// `errors`, by kind.
    pub errors_by_kind: [(ErrorKind, u64); ErrorKind::ALL.len()],
}

impl ProgressSample {
    /// `errors / requests` so far; 0 before any request.
    fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// Formats one progress line in `format`.
pub fn format(s: &ProgressSample, format: ProgressFormat) -> String {
    match format {
        ProgressFormat::Human => format_line(s),
        ProgressFormat::Json => format_json(s),
    }
}

/// Formats one progress line.
pub fn format_line(s: &ProgressSample) -> String {
    let share = if s.target_rate > 0.0 {
        s.started_last_second as f64 / s.target_rate * 100.0
    } else {
        0.0
    };
    let error_share = s.error_rate() * 100.0;
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

/// The JSON form of a progress line: names a parser can rely on (the human line's words may
/// change), rates per second, `error_rate` a fraction as in `report.json`.
#[derive(Serialize)]
struct JsonLine {
    elapsed_s: u64,
    /// Orders started in the last second.
    rate: u64,
    target_rate: f64,
    p95_ms: f64,
    requests: u64,
    errors: u64,
    error_rate: f64,
    errors_by_kind: BTreeMap<&'static str, u64>,
    orders_done: u64,
    orders_total: u64,
    late_starts: u64,
}

/// Formats one progress line as a JSON object (no newline).
pub fn format_json(s: &ProgressSample) -> String {
    let line = JsonLine {
        elapsed_s: s.elapsed_s,
        rate: s.started_last_second,
        target_rate: s.target_rate,
        p95_ms: s.p95_ms,
        requests: s.requests,
        errors: s.errors,
        error_rate: s.error_rate(),
        errors_by_kind: s
            .errors_by_kind
            .iter()
            .map(|(kind, n)| (kind.as_str(), *n))
            .collect(),
        orders_done: s.orders_done,
        orders_total: s.orders_scheduled,
        late_starts: s.lagged,
    };
    // Only numbers and fixed names: serializing cannot fail, but a progress line is not worth
    // a panic if it ever did.
    serde_json::to_string(&line).unwrap_or_default()
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

/// Every second until stopped: prints a progress line in `print`'s format to stderr (none
/// when `None`), and gives `board` the second's achieved rate for the live metrics.
pub fn spawn(
    driver: Arc<Driver>,
    print: Option<ProgressFormat>,
    board: Option<LiveBoard>,
) -> ProgressHandle {
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
                errors_by_kind: counters.errors_by_kind.snapshot(),
            };
            last_started = started;
            if let Some(board) = &board {
                board.set_achieved_rate(sample.started_last_second as f64);
            }
            if let Some(style) = print {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{}", format(&sample, style));
            }
        }
    });
    ProgressHandle { stop, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_errors() -> [(ErrorKind, u64); ErrorKind::ALL.len()] {
        ErrorKind::ALL.map(|k| (k, 0))
    }

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
            errors_by_kind: no_errors(),
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
            errors_by_kind: no_errors(),
        });
        assert!(line.contains("(40.0%)"), "{line}");
        assert!(line.contains("late starts 600"), "{line}");
        assert!(line.contains("errors 0 (0.00%)"), "{line}");
    }

    #[test]
    fn the_json_line_has_the_same_figures_under_stable_names() {
        let mut errors_by_kind = no_errors();
        errors_by_kind[0].1 = 2;
        errors_by_kind[2].1 = 3;
        let sample = ProgressSample {
            elapsed_s: 5,
            started_last_second: 998,
            target_rate: 1000.0,
            p95_ms: 12.34,
            requests: 5000,
            errors: 5,
            orders_done: 4990,
            orders_scheduled: 20000,
            lagged: 7,
            errors_by_kind,
        };
        let line = format(&sample, ProgressFormat::Json);
        assert!(!line.contains('\n'), "one line: {line}");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON object");
        assert_eq!(v["elapsed_s"], 5);
        assert_eq!(v["rate"], 998);
        assert_eq!(v["target_rate"], 1000.0);
        assert_eq!(v["p95_ms"], 12.34);
        assert_eq!(v["requests"], 5000);
        assert_eq!(v["errors"], 5);
        assert_eq!(v["error_rate"], 0.001);
        assert_eq!(v["orders_done"], 4990);
        assert_eq!(v["orders_total"], 20000);
        assert_eq!(v["late_starts"], 7);
        assert_eq!(v["errors_by_kind"]["timeout"], 2);
        assert_eq!(v["errors_by_kind"]["http_5xx"], 3);
        assert_eq!(v["errors_by_kind"]["http_429"], 0);
        assert_eq!(
            v["errors_by_kind"].as_object().map(|o| o.len()),
            Some(ErrorKind::ALL.len())
        );
        // The human format is the line the other tests pin.
        assert_eq!(format(&sample, ProgressFormat::Human), format_line(&sample));
    }

    #[test]
    fn the_json_line_has_no_error_rate_before_any_request() {
        let sample = ProgressSample {
            elapsed_s: 0,
            started_last_second: 0,
            target_rate: 0.5,
            p95_ms: 0.0,
            requests: 0,
            errors: 0,
            orders_done: 0,
            orders_scheduled: 1,
            lagged: 0,
            errors_by_kind: no_errors(),
        };
        let v: serde_json::Value =
            serde_json::from_str(&format_json(&sample)).expect("a JSON object");
        assert_eq!(v["error_rate"], 0.0);
        assert_eq!(v["target_rate"], 0.5);
    }
}
