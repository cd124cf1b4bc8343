//! The `loadgen` binary's exit codes, end to end: 2 for a bad scenario (naming
//! the field), 1 for a run whose threshold is breached, and `loadgen check`
//! re-judging a finished run offline from the files it saved (0 when clean).

use crate::common::{loadgen_command, scratch_dir};

#[test]
fn a_bad_scenario_exits_2_naming_the_field() {
    let dir = scratch_dir("cli-bad");
    let scenario = dir.join("bad.toml");
    std::fs::write(&scenario, "[load]\namount_min = 900\namount_max = 100\n").expect("write");
    let out = loadgen_command()
        .args(["run", "--quiet", "--scenario"])
        .arg(&scenario)
        .output()
        .expect("loadgen runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("amount_min"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_breached_threshold_exits_1_and_check_rejudges_the_saved_run() {
    let _turn = crate::common::load_turn_shared_blocking();
    let dir = scratch_dir("cli-run");
    let scenario = dir.join("slow.toml");
    std::fs::write(
        &scenario,
        "[load]\nrate = 100\nduration = \"1s\"\nusers = 8\nsettle = \"100ms\"\n[load.mix]\npurchase = 3\nauth_capture = 1\n[checks]\np95_ms = 0.001\n",
    )
    .expect("write");
    let reports = dir.join("reports");
    let out = loadgen_command()
        .args(["run", "--quiet", "--scenario"])
        .arg(&scenario)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  p95_ms"), "{stdout}");
    assert!(
        stdout.contains(&reports.display().to_string()),
        "says where the reports went"
    );

    // The money was fine: the offline check of the saved ledger and outcomes passes.
    let out = loadgen_command()
        .arg("check")
        .arg("--ledger")
        .arg(reports.join("ledger.ndjson"))
        .arg("--outcomes")
        .arg(reports.join("outcomes.ndjson"))
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .expect("loadgen check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("double charges 0"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
