//! `loadgen capacity` end to end through the binary and its exit codes: 2 for
//! a scenario without an SLO or a bad staircase (before any load), 1 when the
//! SLO breaks already at the first step, and 1 when money went wrong even
//! though every step held its SLO (a capacity run that double-charges has
//! failed, whatever its throughput).

use std::path::Path;
use std::process::Output;

use crate::common::{captures_by_reference, loadgen_command, read_ledger_ndjson, scratch_dir};

fn capacity(dir: &Path, scenario: &str, extra: &[&str]) -> Output {
    let path = dir.join("scenario.toml");
    std::fs::write(&path, scenario).expect("write scenario");
    loadgen_command()
        .arg("capacity")
        .arg("--scenario")
        .arg(&path)
        .arg("--report-dir")
        .arg(dir.join("reports"))
        .args(extra)
        .output()
        .expect("loadgen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn report(dir: &Path) -> serde_json::Value {
    let path = dir.join("reports").join("capacity.json");
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    serde_json::from_str(&json).expect("capacity.json is JSON")
}

#[test]
fn help_says_what_the_exit_codes_mean() {
    let out = loadgen_command()
        .args(["capacity", "--help"])
        .output()
        .expect("loadgen runs");
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "--start",
        "--step",
        "--factor",
        "--step-duration",
        "--max-rate",
        "Exit status: 0",
        "knee",
    ] {
        assert!(help.contains(needle), "{needle:?} not in:\n{help}");
    }
}

#[test]
fn bad_usage_and_config_exit_2_before_any_load() {
    let dir = scratch_dir("capacity-usage");
    let cases: [(&str, &[&str], &str); 4] = [
        // No SLO in [checks]: nothing could ever break.
        ("[load]\nrate = 10\n", &[], "SLO"),
        // A bound below the start.
        (
            "[checks]\nmax_error_rate = 0.01\n",
            &["--start", "100", "--max-rate", "50"],
            "--max-rate",
        ),
        // Step and factor together.
        (
            "[checks]\nmax_error_rate = 0.01\n",
            &["--step", "10", "--factor", "1.5"],
            "--factor",
        ),
        // A misspelt [capacity] key.
        (
            "[checks]\nmax_error_rate = 0.01\n[capacity]\nmax_rat = 5\n",
            &[],
            "max_rat",
        ),
    ];
    for (scenario, extra, needle) in cases {
        let out = capacity(&dir, scenario, extra);
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{scenario:?} {extra:?}: {stderr}"
        );
        assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
        assert!(
            !dir.join("reports").join("capacity.json").exists(),
            "nothing ran"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_slo_broken_at_the_first_step_exits_1_with_no_knee() {
    let _turn = crate::common::load_turn_shared_blocking();
    let dir = scratch_dir("capacity-first");
    // 50 requests/s allowed, 200/s offered from the start: three quarters refused.
    let scenario = r#"
[gateway.rate_limit]
requests_per_second = 50
burst = 5

[load]
users = 8
timeout = "2s"
settle = "100ms"

[checks]
max_error_rate = 0.01

[capacity]
start = 200
step = 100
step_duration = "1s"
max_rate = 400
"#;
    let out = capacity(&dir, scenario, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("step  1/3"),
        "a progress line per step: {stdout}"
    );
    assert!(stdout.contains("knee      none"), "{stdout}");
    let r = report(&dir);
    assert!(r["knee"].is_null());
    assert_eq!(r["broke_at"]["rate"], 200.0);
    assert_eq!(
        r["steps"].as_array().map(Vec::len),
        Some(1),
        "stopped at once"
    );
    assert_eq!(r["steps"][0]["verdict"], "broke");
    assert_eq!(r["money"]["counts"]["double_charges"], 0);
    assert_eq!(r["passed"], false);
    for file in [
        "capacity.svg",
        "capacity.html",
        "outcomes.ndjson",
        "ledger.ndjson",
    ] {
        assert!(dir.join("reports").join(file).exists(), "{file} missing");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn double_charges_fail_the_climb_even_when_the_slo_held() {
    let _turn = crate::common::load_turn_shared_blocking();
    let dir = scratch_dir("capacity-money");
    // The classic bug under ambiguous faults: the gateway charged, the answer
    // was lost, the client retried with a fresh key and was charged again.
    // The SLO is loose enough to hold; the money is not.
    let scenario = r#"
[gateway]
seed = 42
[gateway.endpoints.create.faults]
reset_after_commit = 0.2

[load]
users = 16
seed = 11
timeout = "2s"
settle = "100ms"
[load.mix]
retry_new_key = 1

[checks]
max_error_rate = 0.9

[capacity]
start = 100
step = 50
step_duration = "1s"
max_rate = 150
"#;
    let out = capacity(&dir, scenario, &["--quiet"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("FAILED (money)"), "{stdout}");
    let r = report(&dir);
    assert_eq!(r["knee"]["rate"], 150.0, "both steps held the SLO");
    assert_eq!(r["stopped"], "max_rate_reached");
    assert_eq!(r["passed"], false);

    // The double charges reported are exactly those an independent count of
    // the saved ledger finds: references captured more than once.
    let ledger = read_ledger_ndjson(&dir.join("reports").join("ledger.ndjson"));
    let captures = captures_by_reference(&ledger);
    let doubled = captures.values().filter(|n| **n > 1).count() as u64;
    assert!(doubled > 0, "the faults produced double charges");
    assert_eq!(r["money"]["counts"]["double_charges"], doubled);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_shipped_capacity_scenario_plans_a_climb_with_an_slo() {
    use loadgen::CapacitySettings;
    use loadgen::capacity::{CapacityPlan, slo_of};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/capacity.toml");
    let scenario = loadgen::Scenario::load(&path).expect("scenarios/capacity.toml reads");
    let plan = CapacityPlan::resolve(
        scenario.capacity.as_ref(),
        &CapacitySettings::default(),
        scenario.load.rate,
    )
    .expect("its [capacity] plans");
    let rates = plan.rates();
    assert_eq!(rates.first(), Some(&200.0));
    assert_eq!(plan.warm_up_seconds(), 2);
    // The documented true limit (~667 orders/s) lies between two steps, so the
    // knee the climb can find is within 10% of it.
    let limit = 800.0 / 1.2;
    let below = rates
        .iter()
        .copied()
        .filter(|r| *r < limit)
        .fold(0.0, f64::max);
    assert!((limit - below) / limit <= 0.10, "{rates:?}");
    let thresholds = loadgen::run::thresholds(&scenario).expect("[checks]");
    let slo = slo_of(&thresholds, &scenario.origin).expect("an SLO");
    assert_eq!(slo.max_error_rate, Some(0.01));
}
