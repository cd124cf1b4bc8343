//! What the fuzz targets (`fuzz/`, run by `scripts/fuzz.sh`) check, on inputs a fuzzer found
//! or that seed it: bad requests are refused with a 4xx and a JSON body, never a panic or a
//! 5xx, and every shipped scenario survives the JSON round trip `GET`/`PUT /_sim/config` make.
//! The entry points are `gateway_sim::fuzzing`'s, the same functions the fuzz targets call;
//! they panic when a property breaks.

use gateway_sim::fuzzing::{FuzzRequest, route_request, scenario_toml};

const KEY: (&str, &[u8]) = ("authorization", b"Bearer sk_test_fuzz");
const FORM: (&str, &[u8]) = ("content-type", b"application/x-www-form-urlencoded");
const JSON: (&str, &[u8]) = ("content-type", b"application/json");

fn status(method: &str, path: &str, headers: &[(&str, &[u8])], body: &str) -> u16 {
    route_request(&FuzzRequest {
        method,
        path,
        query: None,
        headers,
        body: body.as_bytes(),
    })
}

#[test]
fn stripe_forms_that_are_not_forms_are_refused_with_a_4xx() {
    for body in [
        "amount=%",
        "amount=%ZZ&currency=usd",
        "metadata[=1",
        "metadata]]=1",
        "line_items[99999999999999999999][quantity]=1",
        "amount=99999999999999999999999&currency=usd",
        "expand[]=&expand[]=&expand[]=",
        "\u{0}=\u{0}",
    ] {
        let got = status("POST", "/v1/payment_intents", &[KEY, FORM], body);
        assert!((400..500).contains(&got), "{body:?} answered {got}");
    }
}

#[test]
fn native_bodies_that_are_not_payments_are_refused_with_a_4xx() {
    for body in [
        "",
        "{",
        "[]",
        "{\"amount\":1e400,\"currency\":\"usd\"}",
        "{\"amount\":-1,\"currency\":\"usd\"}",
        "{\"amount\":100,\"currency\":\"\\u0000\"}",
        "{\"amount\":100,\"currency\":\"usd\",\"metadata\":[]}",
    ] {
        let got = status("POST", "/v1/payments", &[KEY, JSON], body);
        assert!((400..500).contains(&got), "{body:?} answered {got}");
    }
}

#[test]
fn a_valid_request_reaches_the_engine() {
    let form = "amount=1000&currency=usd&payment_method=pm_card_visa&confirm=true";
    assert_eq!(
        status("POST", "/v1/payment_intents", &[KEY, FORM], form),
        200
    );
    let json =
        r#"{"amount":1000,"currency":"usd","payment_method":"pm_card_visa","reference":"ord-1"}"#;
    assert_eq!(status("POST", "/v1/payments", &[KEY, JSON], json), 200);
}

#[test]
fn every_shipped_scenario_survives_the_config_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).expect("a scenario file");
            assert!(scenario_toml(&text), "{} is refused", path.display());
            read += 1;
        }
    }
    assert!(
        read >= 5,
        "only {read} scenario files found in {}",
        dir.display()
    );
}
