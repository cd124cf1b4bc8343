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
//! - [`scenario`]: reads a scenario file's `[load]`, `[checks]`, `[target]`, `[capacity]`
//!   into a plan.
//! - [`capacity`]: `loadgen capacity`: steps the arrival rate until the SLO
//!   breaks, reports the knee, plots it, and checks every step's money.
//! - [`run`]: one run end to end: gateway (embedded or not), goose, settle, ledger,
//!   check, reports.
//! - [`pacing`]: the open-model schedule every user shares (order `n` due at `t0 + n/rate`).
//! - [`flows`]: what a user does with an order (the merchant flows, the `--service`
//!   template); the only module that knows goose.
//! - [`progress`]: the once-a-second progress line.
//! - [`outcomes`]: what each client saw, per order.
//! - [`latency`]: HdrHistogram latency per step, corrected and uncorrected.
//! - [`ledger_source`]: reads the gateway's ledger (HTTP or file).
//! - [`reconcile`]: the money check, a pure function of (outcomes, ledger).
//! - [`thresholds`]: the `[checks]` thresholds and their verdicts.
//! - [`offline_check`]: `loadgen check`, the money check re-run from saved files.
//! - [`report`]: `report.json`, `report.html`, `junit.xml`, `latency.hlog`,
//!   `outcomes.ndjson`, and the terminal summary.
//! - [`merge`]: `loadgen merge`: several `--worker` runs' reports into one
//!   (histograms added, money checked once over all outcomes).

pub mod capacity;
pub mod cli;
pub mod flows;
pub mod latency;
pub mod ledger_source;
pub mod merge;
pub mod offline_check;
pub mod outcomes;
pub mod pacing;
pub mod progress;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod scenario;
pub mod thresholds;
