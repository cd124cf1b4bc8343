//! Live metrics (`--metrics-listen ADDR`): while a run or a capacity climb goes on, loadgen
//! serves Prometheus' text format at `/metrics`, so a long run can be watched in Grafana
//! instead of read from a terminal: achieved against target rate, orders in flight, latency
//! as histogram buckets, errors by kind, and what is known of the money so far.
//!
//! Money is reconciled against the ledger after the load, not during it, so during a run the
//! endpoint can only show what the clients themselves saw (orders whose outcome they never
//! learned, orders told of two payments); the violation counts appear once the check has run,
//! with `loadgen_check_done` 1. The endpoint stops when the run ends, right after that final
//! update: a scraper that wants the verdict scrapes often, or reads `report.json`.
//!
//! One file per concern:
//!
//! - `board.rs`: [`LiveBoard`], where a run publishes as it goes (the users' counters, each
//!   finished capacity step's totals, the money check once it has run), and the one
//!   [`LiveSample`] a scrape reads from it.
//! - `sample.rs`: the sample as plain data, and latency histogram buckets derived from an HDR
//!   histogram. Apart so that rendering and its tests need no run.
//! - `exposition.rs`: a sample as Prometheus text format 0.0.4 (pure).
//! - `server.rs`: [`MetricsEndpoint`] (a listener bound before the run, so port 0 works and
//!   the address can be printed) and the small hyper server that answers `/metrics` only.

mod board;
mod exposition;
mod sample;
mod server;

pub use board::LiveBoard;
pub use sample::CheckedMoney;
pub use server::MetricsEndpoint;
