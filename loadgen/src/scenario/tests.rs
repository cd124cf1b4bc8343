//! Reading whole scenario files: each table's values, defaults and errors, through
//! [`Scenario::parse`] as a user's file would go.

use std::time::Duration;

use gateway_sim::parse_duration;

use super::*;

const FULL: &str = r#"
[gateway]
seed = 42

[load]
rate = 1000
duration = "20s"
users = 64
seed = 7
merchants = 2
currency = "usd"
amount_min = 500
amount_max = 20000
timeout = "2s"
settle = "1s"
[load.mix]
purchase = 60
auth_capture = 15
auth_cancel = 5
purchase_refund = 10
double_submit = 5
retry_same_key = 5
retry_new_key = 0

[checks]
max_double_charges = 0
p95_ms = 250.0
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, "test", "test.toml")
}

fn error_text(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reads_the_documented_example() {
    let s = parse(FULL).expect("valid");
    assert_eq!(s.load.rate, 1000.0);
    assert_eq!(s.load.duration, Duration::from_secs(20));
    assert_eq!(s.load.users, 64);
    assert_eq!(s.load.seed, 7);
    assert_eq!(s.load.merchants, 2);
    assert_eq!(s.load.timeout, Duration::from_secs(2));
    assert_eq!(s.load.mix.total_weight(), 100);
    assert_eq!(s.load.schedule().total_orders(), 20_000);
    assert!(s.gateway.is_some());
    assert_eq!(
        s.checks.get("p95_ms").and_then(|v| v.as_float()),
        Some(250.0)
    );
    assert!(s.target.is_none());
}

#[test]
fn missing_load_means_defaults_and_all_purchases() {
    let s = parse("").expect("valid");
    assert_eq!(s.load.rate, 100.0);
    assert_eq!(s.load.mix.pick(12345), Some(FlowKind::Purchase));
}

#[test]
fn unknown_keys_and_tables_are_named() {
    assert!(error_text("[load]\nrat = 5\n").contains("rat"));
    assert!(error_text("[laod]\nrate = 5\n").contains("laod"));
    assert!(error_text("[load.mix]\npurchse = 1\n").contains("purchse"));
}

#[test]
fn invalid_values_name_the_field() {
    let cases = [
        ("[load]\nrate = 0\n", "rate"),
        ("[load]\nrate = -5.0\n", "rate"),
        ("[load]\nusers = 0\n", "users"),
        ("[load]\nmerchants = 0\n", "merchants"),
        ("[load]\namount_min = 900\namount_max = 100\n", "amount_min"),
        ("[load]\namount_min = 0\n", "amount_min"),
        ("[load]\ncurrency = \"dollars\"\n", "currency"),
        ("[load]\nduration = \"20\"\n", "duration"),
        ("[load]\nduration = \"0s\"\n", "duration"),
        ("[load]\ntimeout = \"soon\"\n", "timeout"),
        ("[load.mix]\npurchase = 0\n", "mix"),
        ("[load]\nrate = 10000000\nduration = \"7d\"\n", "duration"),
    ];
    for (text, field) in cases {
        let e = error_text(text);
        assert!(e.contains(field), "{text:?} gave {e:?}, expected {field}");
        assert!(e.contains("test.toml"), "{e:?} should name the file");
    }
}

#[test]
fn overrides_replace_load_and_are_validated() {
    let mut s = parse(FULL).expect("valid");
    s.override_load(&LoadOverrides {
        rate: Some(50.0),
        duration: Some(Duration::from_millis(1500)),
        users: Some(4),
        seed: Some(99),
    })
    .expect("valid overrides");
    assert_eq!(s.load.rate, 50.0);
    assert_eq!(s.load.users, 4);
    assert_eq!(s.load.seed, 99);
    assert_eq!(s.load.schedule().total_orders(), 75);
    let e = s
        .override_load(&LoadOverrides {
            users: Some(0),
            ..LoadOverrides::default()
        })
        .expect_err("zero users");
    assert!(e.to_string().contains("--users"), "{e}");
}

/// loadgen reads durations with gateway-sim's parser, so one file has one grammar;
/// the spellings loadgen has always documented keep their meaning.
#[test]
fn durations() {
    let ms = Duration::from_millis;
    assert_eq!(parse_duration("500ms"), Ok(ms(500)));
    assert_eq!(parse_duration("20s"), Ok(ms(20_000)));
    assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
    assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
    assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
    assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
    assert_eq!(parse_duration(" 250us "), Ok(Duration::from_micros(250)));
    assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
    for bad in [
        "",
        "20",
        "s",
        "1.2.3s",
        "5w",
        "-1s",
        "99999999999999999999999h",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
    }
}

const TARGET: &str = r#"
[target]
path = "/orders/{{order_id}}/pay"
headers = { "Idempotency-Key" = "{{idempotency_key}}" }
body = '{"order_id":"{{order_id}}","amount":{{amount}},"currency":"{{currency}}"}'
[target.success]
status = [200]
pointer = "/status"
equals = "paid"
"#;

#[test]
fn target_template_renders_and_reads_answers() {
    let s = parse(TARGET).expect("valid");
    let t = s.target.expect("a target");
    assert_eq!(t.method, "POST");
    let v = TemplateValues {
        order_id: "ord-7-3",
        amount: 1999,
        currency: "eur",
        idempotency_key: "ord-7-3-k0",
    };
    assert_eq!(t.path.render(&v), "/orders/ord-7-3/pay");
    let body: serde_json::Value =
        serde_json::from_str(&t.body.as_ref().expect("body").render(&v)).expect("json");
    assert_eq!(body["amount"], 1999);
    assert_eq!(body["order_id"], "ord-7-3");
    assert_eq!(t.headers[0].1.render(&v), "ord-7-3-k0");
    assert!(t.success.matches(200, br#"{"status":"paid"}"#));
    assert!(!t.success.matches(200, br#"{"status":"failed"}"#));
    assert!(!t.success.matches(201, br#"{"status":"paid"}"#));
    assert!(!t.success.matches(200, b"not json"));
    assert!(t.decline.matches(402, b""));
}

#[test]
fn bad_targets_are_refused() {
    let cases = [
        ("[target]\npath = \"pay\"\n", "path"),
        (
            "[target]\npath = \"/pay\"\nbody = '{\"id\": {{order_id}}}'\n",
            "body",
        ),
        ("[target]\npath = \"/pay/{{order}}\"\n", "order"),
        ("[target]\npath = \"/pay\"\nmethod = \"BREW\"\n", "method"),
        (
            "[target]\npath = \"/pay\"\n[target.success]\npointer = \"/s\"\n",
            "equals",
        ),
        ("[target]\npath = \"/pay\"\nverb = \"POST\"\n", "verb"),
    ];
    for (text, needle) in cases {
        let e = error_text(text);
        assert!(e.contains(needle), "{text:?} gave {e:?}");
    }
}

#[test]
fn capacity_table_is_read_and_checked() {
    let s = parse(
        "[capacity]\nstart = 200\nfactor = 1.25\nstep_duration = \"2s\"\nwarm_up = \"1s\"\nmax_rate = 800\n",
    )
    .expect("valid");
    let c = s.capacity.expect("a [capacity] table");
    assert_eq!(c.start, Some(200.0));
    assert_eq!(c.increase, Some(RateIncrease::Factor(1.25)));
    assert_eq!(c.step_duration, Some(Duration::from_secs(2)));
    assert_eq!(c.warm_up, Some(Duration::from_secs(1)));
    assert_eq!(c.max_rate, Some(800.0));
    let linear = parse("[capacity]\nstep = 50\n").expect("valid");
    assert_eq!(
        linear.capacity.and_then(|c| c.increase),
        Some(RateIncrease::Step(50.0))
    );
    assert!(parse("").expect("valid").capacity.is_none());
}

#[test]
fn bad_capacity_tables_name_the_field() {
    let cases = [
        ("[capacity]\nstrat = 100\n", "strat"),
        ("[capacity]\nstart = 0\n", "start"),
        ("[capacity]\nstep = 10\nfactor = 1.5\n", "step"),
        ("[capacity]\nfactor = 1.0\n", "factor"),
        ("[capacity]\nfactor = 100.0\n", "factor"),
        ("[capacity]\nstep = -5\n", "step"),
        ("[capacity]\nstep_duration = \"10\"\n", "step_duration"),
        ("[capacity]\nstep_duration = \"0s\"\n", "step_duration"),
        ("[capacity]\nstart = 500\nmax_rate = 100\n", "max_rate"),
        (
            "[capacity]\nstep_duration = \"2s\"\nwarm_up = \"2s\"\n",
            "warm_up",
        ),
    ];
    for (text, field) in cases {
        let e = error_text(text);
        assert!(e.contains(field), "{text:?} gave {e:?}, expected {field}");
        assert!(e.contains("test.toml"), "{e:?} should name the file");
    }
}
