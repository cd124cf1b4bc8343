//! A [`LiveSample`] as Prometheus' text exposition format, version 0.0.4: for each metric a
//! `# HELP` line, a `# TYPE` line, then its samples; counters end in `_total`; the latency
//! histogram has cumulative `_bucket{le=...}` lines ending at `+Inf`, then `_sum` and
//! `_count`.
//!
//! The HELP texts say what each figure means and what it does not, because during a run some
//! of them are easy to over-read: nothing here is a verdict on money until
//! `loadgen_check_done` is 1.

use std::fmt::Write as _;

use super::sample::{LATENCY_BOUNDS_S, LiveSample};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole `/metrics` page.
pub fn render(s: &LiveSample) -> String {
    let mut out = Page(String::with_capacity(4096));
    out.head(
        "loadgen_run_info",
        "gauge",
        "Always 1; the labels name the command (run or capacity), the scenario and the system under test (embedded, target or service).",
    );
    out.sample(
        "loadgen_run_info",
        &[
            ("command", s.command),
            ("scenario", &s.scenario),
            ("mode", s.mode),
        ],
        "1",
    );
    if let Some(step) = s.step {
        out.gauge(
            "loadgen_capacity_step",
            "The capacity climb's step being run (1-based); each step holds one arrival rate.",
            &step.to_string(),
        );
    }
    out.gauge(
        "loadgen_target_rate",
        "Orders per second the open-model schedule asks for (in a capacity climb, the current step's rate).",
        &number(s.target_rate),
    );
    out.gauge(
        "loadgen_achieved_rate",
        "Orders started in the last complete second of the schedule, per second (0 before the first second and between capacity steps). rate(loadgen_orders_started_total[1m]) gives it over a longer window.",
        &number(s.achieved_rate),
    );
    out.gauge(
        "loadgen_orders_scheduled",
        "Orders the schedule starts in all (in a capacity climb, summed over the steps begun so far).",
        &s.orders_scheduled.to_string(),
    );
    out.counter(
        "loadgen_orders_started_total",
        "Orders whose first request went out (their due time came).",
        &s.orders_started.to_string(),
    );
    out.gauge(
        "loadgen_orders_in_flight",
        "Orders started and not yet finished.",
        &s.in_flight().to_string(),
    );
    out.head(
        "loadgen_orders_finished_total",
        "counter",
        "Orders finished, by what their client concluded. result=\"unknown\": the client never learned the outcome (timeouts, resets); whether money moved is settled by the money check after the load, not here.",
    );
    for (result, n) in &s.orders_finished {
        out.sample(
            "loadgen_orders_finished_total",
            &[("result", result.as_str())],
            &n.to_string(),
        );
    }
    out.counter(
        "loadgen_orders_several_payments_total",
        "Finished orders whose client was told of more than one payment id: a possible double charge as the client saw it (a double click, a retry with a new key). Not a verdict: the money check after the load compares them with the ledger.",
        &s.several_payments.to_string(),
    );
    out.counter(
        "loadgen_late_starts_total",
        "Orders started more than 10 ms after their due time: the client fell behind the schedule (raise --users). Their latency still counts from the due time.",
        &s.late_starts.to_string(),
    );
    out.counter(
        "loadgen_requests_total",
        "HTTP requests completed, every step of every flow, errors included.",
        &s.requests.to_string(),
    );
    out.head(
        "loadgen_request_errors_total",
        "counter",
        "Requests that failed, by kind: timeout, connection (refused or reset), http_5xx, http_429, http_4xx (one the client did not expect), unexpected_answer (a status or body the client could not take), other. Declines are answers, not errors.",
    );
    for (kind, n) in &s.errors {
        out.sample(
            "loadgen_request_errors_total",
            &[("kind", kind.as_str())],
            &n.to_string(),
        );
    }
    histogram(&mut out, s);
    out.gauge(
        "loadgen_check_done",
        "1 once the money check has run after the load (loadgen_violations and loadgen_orders_unresolved are then final); 0 before, and when the ledger could not be read.",
        if s.money.is_some() { "1" } else { "0" },
    );
    if let Some(money) = &s.money {
        out.head(
            "loadgen_violations",
            "gauge",
            "Orders whose money went wrong, by kind, as the money check found them against the ledger. Present only once loadgen_check_done is 1: money is reconciled after the load, not during it.",
        );
        for (kind, n) in &money.violations {
            out.sample(
                "loadgen_violations",
                &[("kind", kind.as_str())],
                &n.to_string(),
            );
        }
        out.gauge(
            "loadgen_orders_unresolved",
            "Orders whose client never learned the outcome, after the money check (not violations by themselves: the ledger shows at most one capture for each).",
            &money.unresolved.to_string(),
        );
    }
    out.0
}

fn histogram(out: &mut Page, s: &LiveSample) {
    const NAME: &str = "loadgen_request_duration_seconds";
    out.head(
        NAME,
        "histogram",
        "Request latency corrected for coordinated omission: from when the open-model schedule meant the request to go, not from when it left. Read from loadgen's HDR histogram (3 significant figures); errors and timeouts included.",
    );
    let bucket = format!("{NAME}_bucket");
    for (bound, n) in LATENCY_BOUNDS_S.iter().zip(&s.latency.cumulative) {
        out.sample(&bucket, &[("le", &number(*bound))], &n.to_string());
    }
    let count = s.latency.count.to_string();
    out.sample(&bucket, &[("le", "+Inf")], &count);
    out.sample(&format!("{NAME}_sum"), &[], &number(s.latency.sum_s));
    out.sample(&format!("{NAME}_count"), &[], &count);
}

/// The page being written.
struct Page(String);

impl Page {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: &str) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: &str) {
        self.head(name, "gauge", help);
        self.sample(name, &[], value);
    }

    fn counter(&mut self, name: &str, help: &str, value: &str) {
        self.head(name, "counter", help);
        self.sample(name, &[], value);
    }
}

/// A float as the format writes it: `NaN`, `+Inf`, `-Inf`, else plain decimal.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text escapes backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::ErrorKind;
    use crate::metrics::sample::{CheckedMoney, LatencyBuckets};
    use crate::outcomes::ClientResult;
    use crate::reconcile::ViolationKind;

    fn sample() -> LiveSample {
        LiveSample {
            command: "run",
            scenario: "a \"quoted\"\\name".into(),
            mode: "embedded",
            step: None,
            target_rate: 20.0,
            achieved_rate: 19.0,
            orders_scheduled: 80,
            orders_started: 40,
            orders_finished: ClientResult::ALL.map(|r| (r, 0)).to_vec(),
            several_payments: 1,
            late_starts: 0,
            requests: 55,
            errors: ErrorKind::ALL.map(|k| (k, 0)).to_vec(),
            latency: LatencyBuckets {
                cumulative: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10],
                count: 11,
                sum_s: 2.5,
            },
            money: None,
        }
    }

    #[test]
    fn every_metric_has_help_and_type_before_its_samples() {
        let mut s = sample();
        s.orders_finished[0].1 = 35;
        let text = render(&s);
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split(' ');
                let name = parts.next().unwrap_or_default().to_owned();
                assert!(
                    matches!(parts.next(), Some("gauge" | "counter" | "histogram")),
                    "{line}"
                );
                assert!(typed.insert(name), "one TYPE per metric: {line}");
            } else if !line.starts_with("# HELP ") {
                let name: String = line
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
                    .unwrap_or(&name);
                assert!(typed.contains(family), "a sample before its TYPE: {line}");
            }
        }
        assert!(text.contains("loadgen_target_rate 20\n"));
        assert!(text.contains("loadgen_orders_in_flight 5\n"));
        assert!(text.contains("loadgen_orders_finished_total{result=\"succeeded\"} 35\n"));
        assert!(text.contains("loadgen_request_errors_total{kind=\"http_5xx\"} 0\n"));
        assert!(text.contains("loadgen_check_done 0\n"));
        assert!(
            !text.contains("# TYPE loadgen_violations"),
            "not before the check"
        );
        assert!(!text.contains("loadgen_capacity_step"), "a plain run");
        // Label values are escaped.
        assert!(text.contains(r#"scenario="a \"quoted\"\\name""#), "{text}");
    }

    #[test]
    fn the_histogram_is_cumulative_and_ends_at_its_count() {
        let text = render(&sample());
        let buckets: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("loadgen_request_duration_seconds_bucket"))
            .collect();
        assert_eq!(buckets.len(), LATENCY_BOUNDS_S.len() + 1);
        assert_eq!(
            buckets[0],
            "loadgen_request_duration_seconds_bucket{le=\"0.001\"} 1"
        );
        assert_eq!(
            buckets[LATENCY_BOUNDS_S.len()],
            "loadgen_request_duration_seconds_bucket{le=\"+Inf\"} 11"
        );
        assert!(text.contains("loadgen_request_duration_seconds_sum 2.5\n"));
        assert!(text.contains("loadgen_request_duration_seconds_count 11\n"));
    }

    #[test]
    fn the_money_and_the_step_appear_when_known() {
        let mut s = sample();
        s.step = Some(3);
        s.money = Some(CheckedMoney {
            violations: ViolationKind::ALL.map(|k| (k, 0)).to_vec(),
            unresolved: 2,
        });
        if let Some(m) = s.money.as_mut() {
            m.violations[0].1 = 4;
        }
        let text = render(&s);
        assert!(text.contains("loadgen_check_done 1\n"));
        assert!(text.contains("loadgen_violations{kind=\"double_charge\"} 4\n"));
        assert!(text.contains("loadgen_violations{kind=\"refund_mismatch\"} 0\n"));
        assert!(text.contains("loadgen_orders_unresolved 2\n"));
        assert!(text.contains("loadgen_capacity_step 3\n"));
    }

    #[test]
    fn numbers_are_written_as_the_format_wants() {
        assert_eq!(number(0.0025), "0.0025");
        assert_eq!(number(10.0), "10");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(escape_help("a\\b\nc"), "a\\\\b\\nc");
    }
}
