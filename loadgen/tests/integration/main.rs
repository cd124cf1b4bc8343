//! loadgen's integration tests, one module per feature, in one binary: each of these links
//! goose, gateway-sim and loadgen, and a binary per file cost CI about a minute of linking
//! each. The modules that drive load take turns through `common::load_turn_*`, so the knee
//! tests still measure alone.

mod common;

mod capacity_cli;
mod capacity_knee;
mod capacity_queue_knee;
mod check_against_sim;
mod fuzz_regressions;
mod merge_workers;
mod metrics_endpoint;
mod run_buyer_flows;
mod run_cli;
mod run_embedded;
mod run_faults;
mod run_service;
mod run_settle;
mod settle;
