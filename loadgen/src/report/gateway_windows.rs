//! The scenario's gateway windows (`[[gateway.schedule]]` outages and brownouts, and
//! `[[gateway.webhooks.outages]]`) placed on the run's clock, so the reports can shade them on
//! the charts: a latency spike that sits inside "brownout 10s–25s" explains itself.
//!
//! Windows are written in the gateway's time (since the simulator started); charts count from
//! the run's start. The embedded gateway starts just before the load, and the run measures how
//! long before (the lead), so the windows are moved left by exactly that. A gateway loadgen
//! did not start (`--target`, `--service`) started whenever it did: the windows are then drawn
//! as if it started with the run, and the reports say so.
//!
//! Its own file because both report.html (bands on the over-time charts) and capacity.html
//! (the steps whose time overlapped a window) read the same list.

use std::time::Duration;

use gateway_sim::{BehaviourConfig, FaultKind, ScheduleWindow, format_duration};
use serde::{Deserialize, Serialize};

/// What a window does to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// A schedule window whose faults refuse every request it covers.
    Outage,
    /// Any other schedule window: slower, or failing some requests.
    Brownout,
    /// Webhook endpoints unreachable; the API itself is untouched.
    WebhookOutage,
}

impl WindowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Outage => "outage",
            WindowKind::Brownout => "brownout",
            WindowKind::WebhookOutage => "webhook outage",
        }
    }
}

/// One window of the gateway's schedule that overlapped the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayWindow {
    pub kind: WindowKind,
    /// As the scenario wrote it, in the gateway's time: `brownout 10s–25s`,
    /// `outage from 5s (create)`.
    pub label: String,
    /// Where it starts on the run's clock, seconds since the run's start (negative when it
    /// started before the run).
    pub from_s: f64,
    /// Where it ends on the run's clock; `None`: it lasts until the gateway stops.
    pub until_s: Option<f64>,
}

impl GatewayWindow {
    /// Whether the window covers any of `from_s..until_s` on the run's clock.
    pub fn overlaps(&self, from_s: f64, until_s: f64) -> bool {
        self.from_s < until_s && self.until_s.is_none_or(|u| u > from_s)
    }
}

/// The windows of `behaviour` that overlap the run's first `run_s` seconds, in the order the
/// scenario lists them (schedule first, then webhook outages). `lead` is how long the gateway
/// had been running when the run started.
pub fn windows_on_run_clock(
    behaviour: &BehaviourConfig,
    lead: Duration,
    run_s: f64,
) -> Vec<GatewayWindow> {
    let lead_s = lead.as_secs_f64();
    let schedule = behaviour.schedule.iter().map(|w| {
        let kind = if refuses_everything(w) {
            WindowKind::Outage
        } else {
            WindowKind::Brownout
        };
        (kind, w.from, w.until, endpoints_of(w))
    });
    let webhooks = behaviour
        .webhooks
        .outages
        .iter()
        .map(|w| (WindowKind::WebhookOutage, w.from, Some(w.until), None));
    schedule
        .chain(webhooks)
        .map(|(kind, from, until, endpoints)| GatewayWindow {
            kind,
            label: label(kind, from, until, endpoints.as_deref()),
            from_s: from.as_secs_f64() - lead_s,
            until_s: until.map(|u| u.as_secs_f64() - lead_s),
        })
        .filter(|w| w.overlaps(0.0, run_s))
        .collect()
}

/// Whether the window's faults leave no request standing (their probabilities add up to 1).
fn refuses_everything(w: &ScheduleWindow) -> bool {
    let Some(faults) = &w.faults else {
        return false;
    };
    let total: f64 = FaultKind::ALL.iter().map(|&k| faults.probability(k)).sum();
    total >= 1.0 - 1e-9
}

fn endpoints_of(w: &ScheduleWindow) -> Option<String> {
    let names: Vec<&str> = w.endpoints.as_ref()?.iter().map(|e| e.as_str()).collect();
    Some(names.join(", "))
}

fn label(
    kind: WindowKind,
    from: Duration,
    until: Option<Duration>,
    endpoints: Option<&str>,
) -> String {
    let span = match until {
        Some(until) => format!("{}–{}", format_duration(from), format_duration(until)),
        None => format!("from {}", format_duration(from)),
    };
    match endpoints {
        Some(e) => format!("{} {span} ({e})", kind.as_str()),
        None => format!("{} {span}", kind.as_str()),
    }
}

/// The note under a chart with windows: where their times come from. `lead_ms`: how long
/// before the run the embedded gateway started; `None` when loadgen did not start it.
pub(crate) fn clock_note(lead_ms: Option<f64>) -> String {
    match lead_ms {
        Some(lead) => format!(
            "Shaded: the scenario's gateway windows, moved onto the run's clock (the embedded gateway started {lead:.0} ms before the run)."
        ),
        None => "Shaded: the scenario's gateway windows, drawn as if the gateway started with the run (loadgen did not start it, so it cannot know when it did).".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn behaviour(toml: &str) -> BehaviourConfig {
        gateway_sim::parse_scenario_gateway(toml).expect("a valid [gateway]")
    }

    const WINDOWS: &str = r#"
[gateway]
[[gateway.schedule]]
from = "10s"
until = "25s"
faults = { http_503 = 0.5 }
latency_factor = 10

[[gateway.schedule]]
from = "30s"
until = "35s"
endpoints = ["create", "capture"]
faults = { http_503 = 0.75, reset = 0.25 }

[[gateway.schedule]]
from = "2m"
faults = { hang = 1.0 }

[gateway.webhooks]
[[gateway.webhooks.outages]]
from = "20s"
until = "40s"
"#;

    #[test]
    fn windows_are_named_by_what_they_do_and_placed_on_the_run_clock() {
        let windows = windows_on_run_clock(&behaviour(WINDOWS), Duration::from_millis(250), 60.0);
        let labels: Vec<&str> = windows.iter().map(|w| w.label.as_str()).collect();
        // The window from 2m on starts after this 60 s run: left out.
        assert_eq!(
            labels,
            [
                "brownout 10s–25s",
                "outage 30s–35s (create, capture)",
                "webhook outage 20s–40s"
            ]
        );
        assert_eq!(
            windows.iter().map(|w| w.kind).collect::<Vec<_>>(),
            [
                WindowKind::Brownout,
                WindowKind::Outage,
                WindowKind::WebhookOutage
            ]
        );
        // The gateway ran 250 ms before the run: each window comes 0.25 s earlier on its clock.
        assert_eq!(windows[0].from_s, 9.75);
        assert_eq!(windows[0].until_s, Some(24.75));
    }

    #[test]
    fn only_windows_that_overlap_the_run_are_kept() {
        let b = behaviour(WINDOWS);
        // A 10 s run ends as the brownout begins: nothing overlaps.
        assert!(windows_on_run_clock(&b, Duration::ZERO, 10.0).is_empty());
        // A run that started 26 s after the gateway saw the brownout end before it began.
        let late = windows_on_run_clock(&b, Duration::from_secs(26), 200.0);
        let labels: Vec<&str> = late.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "outage 30s–35s (create, capture)",
                "outage from 2m",
                "webhook outage 20s–40s"
            ]
        );
        assert_eq!(late[1].until_s, None, "open-ended");
        assert_eq!(late[2].from_s, -6.0, "began before the run");
        assert!(windows_on_run_clock(&BehaviourConfig::default(), Duration::ZERO, 60.0).is_empty());
    }

    #[test]
    fn the_note_says_where_the_times_come_from() {
        assert!(clock_note(Some(3.2)).contains("3 ms before the run"));
        assert!(clock_note(None).contains("as if the gateway started with the run"));
    }
}
