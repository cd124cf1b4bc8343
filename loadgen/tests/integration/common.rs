//! Helpers the loadgen integration tests share: a scratch directory per test, a
//! gateway-sim started from a scenario's `[gateway]` table, the `loadgen` binary, an
//! independent reading of a saved ledger, and the turns the load-driving tests take.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use gateway_sim::{EntryKind, GatewaySim, LedgerEntry, SimConfig, parse_scenario_gateway};
use loadgen::capacity::{CapacityOptions, CapacityPlan, CapacityRun, execute};
use loadgen::cli::Verdict;
use loadgen::report::{MoneySummary, RunReport};
use loadgen::run::SystemUnderTest;
use loadgen::{CapacitySettings, Scenario};

/// A fresh, existing directory under the system's temp dir, unique per process and call
/// (`loadgen-<name>-<pid>-<nanos>`). Tests remove it when they pass and leave it to read
/// when they fail.
pub fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("loadgen-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A gateway-sim on 127.0.0.1:0 behaving as `scenario`'s `[gateway]` table says, with
/// `seed` (the simulator's seed, which the tests pick to match the table's).
pub async fn start_sim(scenario: &str, seed: u64) -> GatewaySim {
    let behaviour = parse_scenario_gateway(scenario).expect("valid [gateway]");
    GatewaySim::start(SimConfig {
        seed,
        behaviour,
        ..SimConfig::default()
    })
    .await
    .expect("gateway-sim starts")
}

/// The `loadgen` binary Cargo built for these tests.
pub fn loadgen_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
}

/// A saved `ledger.ndjson`, parsed line by line here rather than by loadgen's own reader,
/// so the tests' counts are independent of the code they check.
pub fn read_ledger_ndjson(path: &Path) -> Vec<LedgerEntry> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} unreadable: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("a ledger entry"))
        .collect()
}

/// How many capture entries each reference (order id) has in `ledger`; entries without a
/// reference count under "".
pub fn captures_by_reference(ledger: &[LedgerEntry]) -> BTreeMap<String, u32> {
    let mut captures = BTreeMap::new();
    for entry in ledger.iter().filter(|e| e.kind == EntryKind::Capture) {
        *captures
            .entry(entry.reference.clone().unwrap_or_default())
            .or_default() += 1;
    }
    captures
}

/// The tests share one binary and run two at a time, on a machine that may have two cores.
/// The knee tests measure how much load the machine takes, so they run alone; every other
/// test that drives load shares the machine with at most one more. (Fair: a waiting knee
/// test is not starved by a stream of shared turns.)
static LOAD_TURN: RwLock<()> = RwLock::const_new(());

/// The whole machine, for a test that measures capacity.
pub async fn load_turn_alone() -> RwLockWriteGuard<'static, ()> {
    LOAD_TURN.write().await
}

/// A share of the machine, for a test that drives load but measures nothing absolute.
pub async fn load_turn_shared() -> RwLockReadGuard<'static, ()> {
    LOAD_TURN.read().await
}

/// [`load_turn_shared`] for a plain `#[test]` (one that runs the `loadgen` binary).
pub fn load_turn_shared_blocking() -> RwLockReadGuard<'static, ()> {
    LOAD_TURN.blocking_read()
}

/// The run's money reconciled without a violation and every check passed (exit code 0).
pub fn assert_clean_pass(report: &RunReport) {
    assert_eq!(
        report.money.violations_total, 0,
        "{:?}",
        report.money.violations
    );
    assert!(report.passed, "{:?}", report.checks);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 0);
}

/// The climb `scenario`'s `[capacity]` table plans, with no command-line overrides.
pub fn default_plan(scenario: &Scenario) -> CapacityPlan {
    CapacityPlan::resolve(
        scenario.capacity.as_ref(),
        &CapacitySettings::default(),
        scenario.load.rate,
    )
    .expect("valid plan")
}

/// No double, lost or orphan charge and no amount mismatch in `money`.
pub fn assert_no_money_lost_or_doubled(money: &MoneySummary) {
    let c = &money.counts;
    assert_eq!(
        (
            c.double_charges,
            c.lost_charges,
            c.orphan_charges,
            c.amount_mismatches
        ),
        (0, 0, 0, 0),
        "{:?}",
        money.violations
    );
}

/// Climbs `plan` against a gateway-sim in process, quietly, writing the reports to
/// `report_dir`.
pub async fn climb_in_process(
    scenario: Scenario,
    plan: CapacityPlan,
    report_dir: &Path,
) -> CapacityRun {
    execute(CapacityOptions {
        scenario,
        plan,
        system: SystemUnderTest::Embedded,
        report_dir: Some(report_dir.to_path_buf()),
        admin_token: None,
        quiet: true,
    })
    .await
    .expect("the climb completes")
}
