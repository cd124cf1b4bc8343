//! loadgen: an open-model load generator for payment APIs that reconciles every
//! client outcome against the gateway's ledger.
//!
//! Four subcommands:
//!
//! - `loadgen run`: drive a payment API as a scenario says, then check money and thresholds.
//! - `loadgen capacity`: step the arrival rate up until the SLO breaks; report and plot the knee.
//! - `loadgen check`: re-run the money check offline from a run's outcomes and a ledger.
//! - `loadgen merge`: several `--worker` runs' reports into one, money checked once.
//!
//! Follow one order through the modules, top to bottom:
//!
//! - [`cli`]: the command line (the four subcommands) and exit codes.
//! - `scenario`: reads a scenario file's `[load]`, `[checks]`, `[target]`, `[capacity]`
//!   into a plan.
//! - [`capacity`]: `loadgen capacity`: steps the arrival rate until the SLO
//!   breaks, reports the knee, plots it, and checks every step's money.
//! - [`run`]: one run end to end: gateway (embedded or not), goose, settle, ledger,
//!   check, reports.
//! - `pacing`: the open-model schedule every user shares (order `n` due at `t0 + n/rate`).
//! - `flows`: what a user does with an order (the merchant flows, the `--service`
//!   template); the only module that knows goose.
//! - `progress`: the once-a-second progress line (human or JSON).
//! - `cpu_time`: this process's CPU time, which the report divides by the requests.
//! - `metrics`: the live metrics endpoint (`--metrics-listen`), Prometheus text while a run
//!   goes on.
//! - [`outcomes`]: what each client saw, per order.
//! - `latency`: HdrHistogram latency per step, corrected and uncorrected.
//! - `ledger_source`: reads the gateway's ledger (HTTP or file).
//! - `reconcile`: the money check, a pure function of (outcomes, ledger[, merchant views]).
//! - [`merchant_view`]: what the merchant service says about each order (`[target.order]`).
//! - `merchant_views`: waits for the gateway's webhooks to drain, then reads every order's view.
//! - `webhook_delivery`: one webhook delivery the gateway made for an order, as reports show it.
//! - `webhook_deliveries`: reads the gateway's deliveries and attaches each order's to its
//!   merchant-view violation.
//! - `thresholds`: the `[checks]` thresholds and their verdicts.
//! - `offline_check`: `loadgen check`, the money check re-run from saved files.
//! - [`report`]: `report.json`, `report.html`, `junit.xml`, `latency.hlog`,
//!   `outcomes.ndjson`, and the terminal summary.
//! - [`merge`]: `loadgen merge`: several `--worker` runs' reports into one
//!   (histograms added, money checked once over all outcomes).
//!
//! The subcommands' modules ([`cli`], [`run`], [`capacity`], [`merge`]) and the files a run
//! writes ([`outcomes`], [`report`]) are public: they are what a test or another tool drives and
//! reads. Everything else is private, and what the public items need is re-exported here.

pub mod capacity;
pub mod cli;
mod cpu_time;
mod flows;
#[doc(hidden)]
pub mod fuzzing;
mod latency;
mod ledger_source;
pub mod merchant_view;
mod merchant_views;
pub mod merge;
mod metrics;
mod offline_check;
pub mod outcomes;
mod pacing;
mod progress;
mod reconcile;
pub mod report;
pub mod run;
mod scenario;
pub mod settle;
mod thresholds;
mod webhook_deliveries;
mod webhook_delivery;

pub use latency::{LatencySummary, Percentiles, StepLatency};
pub use ledger_source::{LedgerError, fetch_ledger};
pub use metrics::MetricsEndpoint;
pub use offline_check::{
    CheckOfflineError, check_offline, check_offline_with_token, check_offline_with_views,
};
pub use progress::ProgressFormat;
pub use reconcile::{
    MerchantViewCounts, Reconciliation, Violation, ViolationCounts, ViolationKind, reconcile,
    reconcile_with_views,
};
pub use scenario::{
    CapacitySettings, FlowKind, LoadOverrides, LoadPlan, RateIncrease, Scenario, ScenarioError,
    TargetTemplate,
};
pub use thresholds::{CheckResult, CheckThresholds};
pub use webhook_delivery::WebhookDelivery;
