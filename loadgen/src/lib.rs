//! placeholder
pub mod check;
pub mod checks;
pub mod latency;
pub mod ledger_source;
pub mod outcomes;
pub mod report;
