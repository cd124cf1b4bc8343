//! What the `scenario_toml` and `target_template` fuzz targets (`fuzz/`, run by
//! `scripts/fuzz.sh`) check, on inputs a fuzzer found or that seed it: a scenario loadgen
//! accepts is one it can run, so an accepted `[target]` fills in, for every order, to a request
//! a client can send. The entry points are `loadgen::fuzzing`'s, the functions the fuzz targets
//! call; they panic when a property breaks.

use loadgen::fuzzing::{scenario_toml, target_template};

#[test]
fn every_shipped_scenario_is_accepted_and_its_target_fills_in() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut read = 0;
    for dir in [root.clone(), root.join("services")] {
        for entry in std::fs::read_dir(&dir).expect("a scenarios folder") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("a scenario file");
                assert!(scenario_toml(&text), "{} is refused", path.display());
                read += 1;
            }
        }
    }
    assert!(
        read >= 8,
        "only {read} scenario files found under {}",
        root.display()
    );
}

/// Found by `target_template`: a header value with a line break was accepted when the scenario
/// was read, and then every order failed at send time with an error that named no field.
#[test]
fn a_header_value_http_does_not_allow_is_refused_when_the_scenario_is_read() {
    for value in ["a\nb", "ok\r\nInjected: 1", "\u{0}", "{{order_id}}\n"] {
        let accepted = target_template("POST", "/orders", ("x-order", value), None, 1, 100);
        assert!(!accepted, "header value {value:?} was accepted");
    }
    assert!(target_template(
        "POST",
        "/orders",
        ("x-order", "{{order_id}}"),
        None,
        1,
        100
    ));
}

/// Found by `scenario_toml` (10 minutes, 52,763 executions): a `[target]` path with spaces
/// was accepted when the scenario was read, and could not be made into a URL for any order.
#[test]
fn a_path_that_is_no_url_path_is_refused_when_the_scenario_is_read() {
    let found = "# webhook-storm: lows none.\n[target]\npath = \"/ordthe rest half a second later); er_id}fd\"\n";
    assert!(!scenario_toml(found), "the fuzzer's find was accepted");
    for path in ["/orders/{{order_id}} now", "/a\tb"] {
        let accepted = target_template("POST", path, ("x-k", "v"), None, 1, 100);
        assert!(!accepted, "path {path:?} was accepted");
    }
    for path in ["/orders/{{order_id}}", "/orders%20now/{{order_id}}?pay=1"] {
        assert!(
            target_template("POST", path, ("x-k", "v"), None, 1, 100),
            "{path}"
        );
    }
}

#[test]
fn a_body_that_fills_in_to_json_is_accepted_for_every_currency() {
    let body = r#"{"order":"{{order_id}}","amount":{{amount}},"decimal":{{amount_decimal}},"currency":"{{currency}}"}"#;
    assert!(target_template(
        "POST",
        "/orders",
        ("x-k", "{{idempotency_key}}"),
        Some(body),
        7,
        1
    ));
    assert!(!target_template(
        "POST",
        "/orders",
        ("x-k", "v"),
        Some("{\"a\": {{amount}"),
        7,
        1
    ));
}
