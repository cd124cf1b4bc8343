//! Fate-level tests: what a scenario author relies on when they write a `[gateway]` table.
//!
//! Statistical assertions sample many distinct identities; since every draw is a pure function
//! of the seed and the facts, each of these tests gives the same numbers on every run (they are
//! not timing tests and cannot flake). Expected quantiles were derived independently of this
//! code (closed forms evaluated with Python's `statistics.NormalDist`).

use super::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const SEED: u64 = 7;

/// A scenario document whose `[gateway]` table is `gateway_toml` (which may use its own
/// `[faults]`, `[[schedule]]`... headers, relative to the gateway table).
fn scenario(gateway_toml: &str) -> String {
    let table: toml::Table = toml::from_str(gateway_toml)
        .unwrap_or_else(|e| panic!("test TOML must parse: {e}\n{gateway_toml}"));
    let mut document = toml::Table::new();
    document.insert("gateway".to_string(), toml::Value::Table(table));
    toml::to_string(&document).unwrap_or_else(|e| panic!("{e}"))
}

fn behaviour(gateway_toml: &str) -> Behaviour {
    let config = parse_scenario_gateway(&scenario(gateway_toml))
        .unwrap_or_else(|e| panic!("test config must be valid: {e}"));
    Behaviour::new(config, SEED).unwrap_or_else(|e| panic!("{e}"))
}

fn identities(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("idem-key-{i}")).collect()
}

fn request<'a>(endpoint: Endpoint, identity: &'a str, seen_before: u32) -> RequestFacts<'a> {
    RequestFacts {
        merchant: "sk_test_merchant",
        endpoint,
        identity: identity.as_bytes(),
        seen_before,
        charge: None,
    }
}

fn create<'a>(identity: &'a str, amount: i64, payment_method: &'a str) -> RequestFacts<'a> {
    RequestFacts {
        charge: Some(ChargeFacts {
            amount,
            payment_method: Some(payment_method),
            card_number: None,
        }),
        ..request(Endpoint::Create, identity, 0)
    }
}

/// Empirical quantile: the smallest sample with at least `p` of the samples at or below it.
fn empirical_quantile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn assert_close(measured: Duration, expected_ms: f64, what: &str) {
    let measured_ms = measured.as_secs_f64() * 1e3;
    let tolerance = (0.05 * expected_ms).max(1.0);
    assert!(
        (measured_ms - expected_ms).abs() <= tolerance,
        "{what}: sampled {measured_ms:.3} ms, configured {expected_ms:.3} ms (tolerance {tolerance:.3} ms)"
    );
}

fn sampled_latencies(b: &Behaviour, endpoint: Endpoint, n: usize, at: Duration) -> Vec<Duration> {
    let mut samples: Vec<Duration> = identities(n)
        .iter()
        .map(|id| b.fate(&request(endpoint, id, 0), at).latency)
        .collect();
    samples.sort_unstable();
    samples
}

// ----- defaults and test cards ---------------------------------------------------------------

#[test]
fn default_config_is_the_happy_path_with_test_card_declines() {
    let b = Behaviour::new(BehaviourConfig::default(), SEED).expect("default is valid");
    for id in identities(10_000) {
        for endpoint in Endpoint::all() {
            let fate = b.fate(&request(endpoint, &id, 3), Duration::from_secs(5));
            assert_eq!(fate.latency, Duration::ZERO);
            assert_eq!(fate.fault, None);
            assert_eq!(fate.decline, None);
        }
        assert_eq!(
            b.fate(&create(&id, 1000, "pm_card_visa"), Duration::ZERO)
                .decline,
            None
        );
        assert_eq!(
            b.fate(
                &create(&id, 1000, "pm_card_chargeDeclinedInsufficientFunds"),
                Duration::ZERO
            )
            .decline,
            Some(DeclineCode::INSUFFICIENT_FUNDS)
        );
    }
    assert!(b.rate_limit().is_none());
}

#[test]
fn test_cards_decline_whatever_the_scenario_says() {
    let b = behaviour(
        "declines = { rate = 1.0, codes = { do_not_honor = 1 }, amount_rules = [ { min = 0, max = 1000000, code = \"expired_card\" } ] }",
    );
    let id = "order-1";
    assert_eq!(
        b.fate(
            &create(id, 500, "pm_card_chargeDeclinedLostCard"),
            Duration::ZERO
        )
        .decline,
        Some(DeclineCode::LOST_CARD)
    );
    let by_number = RequestFacts {
        charge: Some(ChargeFacts {
            amount: 500,
            payment_method: None,
            card_number: Some("4000000000000127"),
        }),
        ..request(Endpoint::Create, id, 0)
    };
    assert_eq!(
        b.fate(&by_number, Duration::ZERO).decline,
        Some(DeclineCode::INCORRECT_CVC)
    );
    // Only creations decline; a capture carrying no charge facts never does.
    assert_eq!(
        b.fate(&request(Endpoint::Capture, id, 0), Duration::ZERO)
            .decline,
        None
    );
}

// ----- latency fidelity ------------------------------------------------------------------------

#[test]
fn sampled_latency_matches_the_configured_quantiles() {
    // (latency table, [(p, true quantile in ms)])
    let cases: [(&str, [(f64, f64); 3]); 6] = [
        (
            "latency = { distribution = \"constant\", value = \"80ms\" }",
            [(0.5, 80.0), (0.95, 80.0), (0.99, 80.0)],
        ),
        (
            "latency = { distribution = \"uniform\", min = \"20ms\", max = \"220ms\" }",
            [(0.5, 120.0), (0.95, 210.0), (0.99, 218.0)],
        ),
        (
            "latency = { distribution = \"normal\", mean = \"50ms\", stddev = \"10ms\" }",
            [(0.5, 50.0), (0.95, 66.448_536), (0.99, 73.263_479)],
        ),
        (
            // Half the normal mass is below 0 and cut to no delay.
            "latency = { distribution = \"normal\", mean = \"5ms\", stddev = \"10ms\" }",
            [(0.5, 5.0), (0.95, 21.448_536), (0.99, 28.263_479)],
        ),
        (
            "latency = { distribution = \"lognormal\", p50 = \"80ms\", p99 = \"400ms\" }",
            [(0.5, 80.0), (0.95, 249.631_589), (0.99, 400.0)],
        ),
        (
            "latency = { distribution = \"mixture\", components = [ \
               { weight = 98, distribution = \"lognormal\", p50 = \"80ms\", p99 = \"400ms\" }, \
               { weight = 2, distribution = \"constant\", value = \"3s\" } ] }",
            [(0.5, 81.428_399), (0.95, 292.084_603), (0.99, 3000.0)],
        ),
    ];
    for (table, quantiles) in cases {
        let b = behaviour(table);
        let samples = sampled_latencies(&b, Endpoint::Create, 100_000, Duration::ZERO);
        for (p, expected_ms) in quantiles {
            assert_close(
                empirical_quantile(&samples, p),
                expected_ms,
                &format!("p{p} of {table}"),
            );
            // The quantile the fidelity report prints is the true one too.
            assert_close(
                b.latency_quantile(Endpoint::Create, p),
                expected_ms,
                &format!("stated p{p} of {table}"),
            );
        }
    }
}

#[test]
fn endpoints_override_the_global_latency_and_faults() {
    let b = behaviour(
        r#"
        latency = { distribution = "constant", value = "50ms" }
        faults = { http_503 = 1.0 }
        [endpoints.capture]
        latency = { distribution = "constant", value = "5ms" }
        faults = { reset = 1.0 }
        [endpoints.retrieve]
        faults = {}
        "#,
    );
    let at = Duration::ZERO;
    let create = b.fate(&request(Endpoint::Create, "k", 0), at);
    assert_eq!(
        (create.latency, create.fault),
        (Duration::from_millis(50), Some(Fault::Http503))
    );
    let capture = b.fate(&request(Endpoint::Capture, "k", 0), at);
    assert_eq!(
        (capture.latency, capture.fault),
        (Duration::from_millis(5), Some(Fault::Reset))
    );
    // An endpoint's fault table replaces the global one whole: empty means no faults.
    let retrieve = b.fate(&request(Endpoint::Retrieve, "k", 0), at);
    assert_eq!(
        (retrieve.latency, retrieve.fault),
        (Duration::from_millis(50), None)
    );
}

// ----- declines ----------------------------------------------------------------------------

#[test]
fn amount_rules_decline_inside_their_range_only() {
    let b = behaviour(
        r#"
        [[declines.amount_rules]]
        min = 200000
        max = 200099
        code = "do_not_honor"
        [[declines.amount_rules]]
        min = 200050
        max = 300000
        code = "insufficient_funds"
        "#,
    );
    let decline = |amount| {
        b.fate(&create("order", amount, "pm_card_visa"), Duration::ZERO)
            .decline
    };
    assert_eq!(decline(199_999), None);
    assert_eq!(decline(200_000), Some(DeclineCode::DO_NOT_HONOR));
    // Overlapping rules: the first listed wins.
    assert_eq!(decline(200_075), Some(DeclineCode::DO_NOT_HONOR));
    assert_eq!(decline(200_100), Some(DeclineCode::INSUFFICIENT_FUNDS));
    assert_eq!(decline(300_000), Some(DeclineCode::INSUFFICIENT_FUNDS));
    assert_eq!(decline(300_001), None);
}

#[test]
fn random_declines_follow_the_rate_and_the_code_weights() {
    let b = behaviour(
        "declines = { rate = 0.10, codes = { insufficient_funds = 3, generic_decline = 1 } }",
    );
    let ids = identities(100_000);
    let mut counts: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for id in &ids {
        let decline = b
            .fate(&create(id, 1234, "pm_card_visa"), Duration::ZERO)
            .decline;
        *counts.entry(decline.map(|c| c.as_str())).or_default() += 1;
    }
    let share = |code| *counts.get(&Some(code)).unwrap_or(&0) as f64 / ids.len() as f64;
    // Standard error of a 10% rate over 100k draws is 0.1%: 0.5% is five of them.
    let declined = share("insufficient_funds") + share("generic_decline");
    assert!((declined - 0.10).abs() < 0.005, "decline rate {declined}");
    assert!(
        (share("insufficient_funds") - 0.075).abs() < 0.005,
        "{counts:?}"
    );
    assert!(
        (share("generic_decline") - 0.025).abs() < 0.004,
        "{counts:?}"
    );
    assert_eq!(
        counts.len(),
        3,
        "only the configured codes appear: {counts:?}"
    );
}

#[test]
fn decline_and_fault_draws_are_independent() {
    let b = behaviour("declines = { rate = 0.5 }\nfaults = { http_500 = 0.5 }");
    let ids = identities(100_000);
    let (mut declined, mut faulted, mut both) = (0usize, 0usize, 0usize);
    for id in &ids {
        let fate = b.fate(&create(id, 1000, "pm_card_visa"), Duration::ZERO);
        declined += usize::from(fate.decline.is_some());
        faulted += usize::from(fate.fault.is_some());
        both += usize::from(fate.decline.is_some() && fate.fault.is_some());
        if let Some(code) = fate.decline {
            assert_eq!(code, DeclineCode::GENERIC_DECLINE, "no codes configured");
        }
    }
    let n = ids.len() as f64;
    assert!((declined as f64 / n - 0.5).abs() < 0.01);
    assert!((faulted as f64 / n - 0.5).abs() < 0.01);
    assert!(
        (both as f64 / n - 0.25).abs() < 0.01,
        "joint rate {}",
        both as f64 / n
    );
}

// ----- faults ------------------------------------------------------------------------------

#[test]
fn each_fault_kind_fires_at_its_configured_probability() {
    let b = behaviour(
        r#"
        [faults]
        http_500 = 0.05
        http_503 = 0.10
        reset = 0.05
        hang = 0.02
        lost_after_delay = 0.08
        reset_after_commit = 0.05
        http_500_after_commit = 0.05
        truncated_body = 0.01
        truncated_body_after_commit = 0.02
        slow_body = 0.03
        html_502 = 0.01
        html_502_after_commit = 0.02
        empty_reply = 0.01
        empty_reply_after_commit = 0.02
        lost_delay = "1500ms"
        slow_body_duration = "3s"
        "#,
    );
    let expected = [
        ("http_500", 0.05),
        ("http_503", 0.10),
        ("reset", 0.05),
        ("hang", 0.02),
        ("lost_after_delay", 0.08),
        ("reset_after_commit", 0.05),
        ("http_500_after_commit", 0.05),
        ("truncated_body", 0.01),
        ("truncated_body_after_commit", 0.02),
        ("slow_body", 0.03),
        ("html_502", 0.01),
        ("html_502_after_commit", 0.02),
        ("empty_reply", 0.01),
        ("empty_reply_after_commit", 0.02),
    ];
    let ids = identities(100_000);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut clean = 0usize;
    for id in &ids {
        match b
            .fate(&request(Endpoint::Refund, id, 0), Duration::ZERO)
            .fault
        {
            Some(fault) => {
                if let Fault::LostAfterDelay { delay } = fault {
                    assert_eq!(delay, Duration::from_millis(1500));
                }
                if let Fault::SlowBody { duration } = fault {
                    assert_eq!(duration, Duration::from_secs(3));
                }
                *counts.entry(fault.kind()).or_default() += 1;
            }
            None => clean += 1,
        }
    }
    for (kind, p) in expected {
        let share = *counts.get(kind).unwrap_or(&0) as f64 / ids.len() as f64;
        assert!((share - p).abs() < 0.005, "{kind}: {share} vs {p}");
    }
    let clean_share = clean as f64 / ids.len() as f64;
    assert!((clean_share - 0.48).abs() < 0.01, "no fault: {clean_share}");
}

#[test]
fn faults_say_whether_the_payment_was_processed() {
    let delay = Duration::from_secs(2);
    for (fault, name, ambiguous) in [
        (Fault::Http500, "http_500", false),
        (Fault::Http503, "http_503", false),
        (Fault::Reset, "reset", false),
        (Fault::Hang, "hang", false),
        (Fault::LostAfterDelay { delay }, "lost_after_delay", true),
        (Fault::ResetAfterCommit, "reset_after_commit", true),
        (Fault::Http500AfterCommit, "http_500_after_commit", true),
        (Fault::TruncatedBody, "truncated_body", false),
        (
            Fault::TruncatedBodyAfterCommit,
            "truncated_body_after_commit",
            true,
        ),
        (Fault::Html502, "html_502", false),
        (Fault::Html502AfterCommit, "html_502_after_commit", true),
        (Fault::EmptyReply, "empty_reply", false),
        (
            Fault::EmptyReplyAfterCommit,
            "empty_reply_after_commit",
            true,
        ),
    ] {
        assert_eq!(fault.kind(), name);
        assert_eq!(fault.is_ambiguous(), ambiguous, "{name}");
        assert_eq!(fault.before_processing(), !ambiguous, "{name}");
        assert_eq!(fault.fault_kind().as_str(), name);
    }
    // A slow body strikes after processing, yet the patient client gets the whole answer.
    let slow = Fault::SlowBody { duration: delay };
    assert!(!slow.before_processing() && !slow.is_ambiguous());
    assert_eq!(FaultKind::ALL.len(), 14, "every kind is listed once");
}

#[test]
fn new_fault_kinds_leave_the_draws_of_existing_scenarios_unchanged() {
    // The new kinds come last in the draw order: a table that does not use them gives every
    // request the fault it got before they existed, and a zero probability changes nothing.
    let old = behaviour("faults = { http_503 = 0.2, reset_after_commit = 0.1 }");
    let new = behaviour(
        "faults = { http_503 = 0.2, reset_after_commit = 0.1, slow_body = 0.0, html_502 = 0.0 }",
    );
    let with_new =
        behaviour("faults = { http_503 = 0.2, reset_after_commit = 0.1, empty_reply = 0.1 }");
    for id in &identities(5_000) {
        let facts = request(Endpoint::Create, id, 0);
        let before = old.fate(&facts, Duration::ZERO).fault;
        assert_eq!(before, new.fate(&facts, Duration::ZERO).fault);
        let after = with_new.fate(&facts, Duration::ZERO).fault;
        if before.is_some() {
            assert_eq!(before, after, "an existing fault keeps its requests");
        } else {
            assert!(after.is_none() || after == Some(Fault::EmptyReply));
        }
    }
}

#[test]
fn slow_body_duration_defaults_to_two_seconds_and_is_inherited_like_lost_delay() {
    let b = behaviour("faults = { slow_body = 1.0 }");
    assert_eq!(
        b.fate(&request(Endpoint::Create, "k", 0), Duration::ZERO)
            .fault,
        Some(Fault::SlowBody {
            duration: Duration::from_secs(2)
        })
    );
    let b = behaviour(
        "faults = { slow_body_duration = \"250ms\" }\nendpoints.capture.faults = { slow_body = 1.0 }\n\
         [[sequences]]\nendpoints = [\"refund\"]\nfail_first = 1\nfault = \"slow_body\"",
    );
    for endpoint in [Endpoint::Capture, Endpoint::Refund] {
        assert_eq!(
            b.fate(&request(endpoint, "k", 0), Duration::ZERO).fault,
            Some(Fault::SlowBody {
                duration: Duration::from_millis(250)
            }),
            "{endpoint:?}"
        );
    }
}

#[test]
fn lost_delay_defaults_to_ten_seconds_and_endpoints_inherit_the_global_one() {
    let b = behaviour("faults = { lost_after_delay = 1.0 }");
    assert_eq!(
        b.fate(&request(Endpoint::Create, "k", 0), Duration::ZERO)
            .fault,
        Some(Fault::LostAfterDelay {
            delay: Duration::from_secs(10)
        })
    );
    let b = behaviour(
        "faults = { lost_delay = \"2s\" }\nendpoints.capture.faults = { lost_after_delay = 1.0 }",
    );
    assert_eq!(
        b.fate(&request(Endpoint::Capture, "k", 0), Duration::ZERO)
            .fault,
        Some(Fault::LostAfterDelay {
            delay: Duration::from_secs(2)
        })
    );
}

// ----- retries, sequences and schedules --------------------------------------------------------

#[test]
fn a_retry_draws_afresh_so_it_can_succeed() {
    let b = behaviour("faults = { http_503 = 0.5 }");
    let ids = identities(50_000);
    let mut failed_twice = 0usize;
    for id in &ids {
        let first = b
            .fate(&request(Endpoint::Create, id, 0), Duration::ZERO)
            .fault;
        let retry = b
            .fate(&request(Endpoint::Create, id, 1), Duration::ZERO)
            .fault;
        failed_twice += usize::from(first.is_some() && retry.is_some());
    }
    let share = failed_twice as f64 / ids.len() as f64;
    assert!(
        (share - 0.25).abs() < 0.01,
        "both attempts failed for {share}"
    );
}

#[test]
fn sequences_fail_the_first_attempts_of_each_key_then_behave_normally() {
    let b = behaviour(
        r#"
        [[sequences]]
        endpoints = ["create"]
        fail_first = 2
        fault = "http_503"
        [[sequences]]
        endpoints = ["capture"]
        fail_first = 1
        fault = "reset_after_commit"
        "#,
    );
    for id in identities(1_000) {
        let attempt = |endpoint, seen| b.fate(&request(endpoint, &id, seen), Duration::ZERO).fault;
        assert_eq!(attempt(Endpoint::Create, 0), Some(Fault::Http503));
        assert_eq!(attempt(Endpoint::Create, 1), Some(Fault::Http503));
        assert_eq!(attempt(Endpoint::Create, 2), None);
        assert_eq!(attempt(Endpoint::Create, 9), None);
        assert_eq!(attempt(Endpoint::Capture, 0), Some(Fault::ResetAfterCommit));
        assert_eq!(attempt(Endpoint::Capture, 1), None);
        assert_eq!(attempt(Endpoint::Refund, 0), None);
    }
}

#[test]
fn schedule_windows_override_faults_and_scale_latency_only_inside_the_window() {
    let b = behaviour(
        r#"
        latency = { distribution = "constant", value = "20ms" }
        [[schedule]]
        from = "10s"
        until = "25s"
        latency_factor = 10
        faults = { http_503 = 0.5 }
        "#,
    );
    let ids = identities(20_000);
    let measure = |at: Duration| {
        let mut failed = 0usize;
        for id in &ids {
            let fate = b.fate(&request(Endpoint::Create, id, 0), at);
            let expected = if at >= Duration::from_secs(10) && at < Duration::from_secs(25) {
                Duration::from_millis(200)
            } else {
                Duration::from_millis(20)
            };
            assert_eq!(fate.latency, expected, "at {at:?}");
            failed += usize::from(fate.fault == Some(Fault::Http503));
        }
        failed as f64 / ids.len() as f64
    };
    assert_eq!(measure(Duration::from_millis(9_999)), 0.0);
    let during = measure(Duration::from_secs(10));
    assert!(
        (during - 0.5).abs() < 0.02,
        "503 share in the window: {during}"
    );
    assert!((measure(Duration::from_millis(24_999)) - 0.5).abs() < 0.02);
    assert_eq!(measure(Duration::from_secs(25)), 0.0);
}

#[test]
fn schedule_windows_can_target_endpoints_and_replace_latency_and_declines() {
    let b = behaviour(
        r#"
        latency = { distribution = "constant", value = "20ms" }
        [[schedule]]
        from = "0s"
        until = "1m"
        endpoints = ["create"]
        latency = { distribution = "constant", value = "2s" }
        declines = { rate = 1.0, codes = { issuer_not_available = 1 } }
        [[schedule]]
        from = "30s"
        faults = { hang = 1.0 }
        "#,
    );
    let early = Duration::from_secs(1);
    let fate = b.fate(&create("k", 100, "pm_card_visa"), early);
    assert_eq!(fate.latency, Duration::from_secs(2));
    assert_eq!(fate.decline, Some(DeclineCode::ISSUER_NOT_AVAILABLE));
    assert_eq!(fate.fault, None);
    assert_eq!(
        b.fate(&request(Endpoint::Refund, "k", 0), early).latency,
        Duration::from_millis(20)
    );
    // Overlap at 45s: the first window listed wins for create; refunds fall to the second.
    let late = Duration::from_secs(45);
    assert_eq!(b.fate(&create("k", 100, "pm_card_visa"), late).fault, None);
    assert_eq!(
        b.fate(&request(Endpoint::Refund, "k", 0), late).fault,
        Some(Fault::Hang)
    );
    // A window without `until` lasts until the simulator stops.
    let much_later = Duration::from_secs(86_400);
    assert_eq!(
        b.fate(&create("k", 100, "pm_card_visa"), much_later).fault,
        Some(Fault::Hang)
    );
}

// ----- determinism -------------------------------------------------------------------------

#[test]
fn the_same_facts_always_get_the_same_fate() {
    let table = r#"
        latency = { distribution = "lognormal", p50 = "30ms", p99 = "300ms" }
        declines = { rate = 0.2, codes = { insufficient_funds = 2, do_not_honor = 1 } }
        faults = { http_503 = 0.1, reset_after_commit = 0.1, lost_after_delay = 0.05 }
    "#;
    let first = behaviour(table);
    let second = behaviour(table);
    let other_seed = Behaviour::new(first.config().clone(), SEED + 1).expect("valid");
    let mut differs = 0usize;
    for id in identities(5_000) {
        let facts = create(&id, 4321, "pm_card_visa");
        let fate = first.fate(&facts, Duration::ZERO);
        assert_eq!(fate, first.fate(&facts, Duration::ZERO));
        assert_eq!(fate, second.fate(&facts, Duration::ZERO));
        differs += usize::from(fate != other_seed.fate(&facts, Duration::ZERO));
        // Other merchants get their own draws.
        let other_merchant = RequestFacts {
            merchant: "sk_test_other",
            ..facts
        };
        differs += usize::from(fate != first.fate(&other_merchant, Duration::ZERO));
    }
    // Latency is continuous, so nearly every fate differs under another seed or merchant.
    assert!(differs > 9_900, "only {differs} of 10000 fates changed");
}

#[test]
fn arrival_order_does_not_change_the_outcomes() {
    let b = behaviour(
        r#"
        latency = { distribution = "uniform", min = "1ms", max = "100ms" }
        declines = { rate = 0.1 }
        faults = { http_503 = 0.2, reset_after_commit = 0.1 }
        [[sequences]]
        endpoints = ["capture"]
        fail_first = 1
        fault = "http_500"
        "#,
    );
    // A request set with retries: every key is sent one to four times, on two endpoints.
    let keys = identities(2_000);
    let mut arrivals: Vec<(Endpoint, &str)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        for _ in 0..=(i % 4) {
            arrivals.push((Endpoint::Create, key));
            arrivals.push((Endpoint::Capture, key));
        }
    }
    let outcomes = |order: &[(Endpoint, &str)]| {
        let seen = SeenCounter::new();
        let mut fates: Vec<(Endpoint, String, u32, Fate)> = order
            .iter()
            .map(|(endpoint, key)| {
                let seen_before = seen.observe("sk_test_merchant", *endpoint, key.as_bytes());
                let facts = match endpoint {
                    Endpoint::Create => RequestFacts {
                        seen_before,
                        ..create(key, 999, "pm_card_visa")
                    },
                    _ => request(*endpoint, key, seen_before),
                };
                (
                    *endpoint,
                    key.to_string(),
                    seen_before,
                    b.fate(&facts, Duration::ZERO),
                )
            })
            .collect();
        fates.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
        fates
    };
    let in_order = outcomes(&arrivals);
    // A deterministic shuffle (Fisher-Yates driven by an LCG): no dependence on rand here.
    let mut shuffled = arrivals.clone();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for i in (1..shuffled.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        shuffled.swap(i, (state >> 33) as usize % (i + 1));
    }
    assert_ne!(shuffled, arrivals);
    assert_eq!(outcomes(&shuffled), in_order);
}

#[test]
fn the_shared_pieces_can_cross_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Behaviour>();
    shareable::<SeenCounter>();
    shareable::<MerchantRateLimiter>();
    shareable::<BehaviourConfig>();
    shareable::<Fate>();
}

// ----- configuration -----------------------------------------------------------------------

#[test]
fn validation_errors_name_the_field_and_say_what_is_allowed() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "faults = { http_503 = 1.5 }",
            "gateway.faults.http_503",
            "probability",
        ),
        (
            "faults = { http_503 = nan }",
            "gateway.faults.http_503",
            "probability",
        ),
        (
            "faults = { reset = -0.1 }",
            "gateway.faults.reset",
            "probability",
        ),
        (
            "faults = { http_500 = 0.6, reset = 0.6 }",
            "gateway.faults",
            "sum",
        ),
        (
            "faults = { slow_body = 0.6, empty_reply_after_commit = 0.6 }",
            "gateway.faults",
            "sum",
        ),
        (
            "faults = { html_502 = 1.5 }",
            "gateway.faults.html_502",
            "probability",
        ),
        (
            "endpoints.capture.faults = { slow_body_duration = \"2h\" }",
            "gateway.endpoints.capture.faults.slow_body_duration",
            "longer than",
        ),
        (
            "faults = { slow_body_duration = \"2\" }",
            "gateway.faults.slow_body_duration",
            "unit",
        ),
        (
            "sequences = [ { fail_first = 1, fault = \"truncated\" } ]",
            "gateway.sequences[0].fault",
            "truncated_body",
        ),
        (
            "faults = { reset = \"lots\" }",
            "gateway.faults.reset",
            "invalid type",
        ),
        (
            "faults = { http_502 = 0.1 }",
            "gateway.faults.http_502",
            "http_503",
        ),
        (
            "latncy = { distribution = \"constant\", value = \"1ms\" }",
            "gateway.latncy",
            "`latency`",
        ),
        (
            "latency = { distribution = \"lognormal\", p50 = \"400ms\", p99 = \"80ms\" }",
            "gateway.latency.p99",
            "below p50",
        ),
        (
            "latency = { distribution = \"lognormal\", p50 = \"0ms\", p99 = \"80ms\" }",
            "gateway.latency.p50",
            "greater than 0",
        ),
        (
            "latency = { distribution = \"lognormal\", p50 = \"80ms\" }",
            "gateway.latency.p99",
            "needs `p99`",
        ),
        (
            "latency = { distribution = \"constant\", value = \"1ms\", p50 = \"2ms\" }",
            "gateway.latency.p50",
            "does not apply",
        ),
        (
            "latency = { distribution = \"constant\", value = \"-5ms\" }",
            "gateway.latency.value",
            "negative",
        ),
        (
            "latency = { distribution = \"constant\", value = \"5\" }",
            "gateway.latency.value",
            "unit",
        ),
        (
            "latency = { distribution = \"gamma\" }",
            "gateway.latency.distribution",
            "lognormal",
        ),
        (
            "latency = { distribution = \"mixture\", components = [] }",
            "gateway.latency.components",
            "at least one",
        ),
        (
            "latency = { distribution = \"mixture\", components = [ { distribution = \"constant\", value = \"1ms\" } ] }",
            "gateway.latency.components[0].weight",
            "weight",
        ),
        (
            "latency = { distribution = \"mixture\", components = [ { weight = 1, distribution = \"constant\", value = \"1ms\", stddev = \"1ms\" } ] }",
            "gateway.latency.components[0].stddev",
            "does not apply",
        ),
        (
            "endpoints.capture.latency = { distribution = \"uniform\", min = \"9ms\", max = \"1ms\" }",
            "gateway.endpoints.capture.latency.max",
            "below min",
        ),
        ("endpoints.refnd = {}", "gateway.endpoints.refnd", "refund"),
        (
            "declines = { rate = 1.2 }",
            "gateway.declines.rate",
            "probability",
        ),
        (
            "declines = { codes = { insuficient_funds = 1 } }",
            "gateway.declines.codes.insuficient_funds",
            "insufficient_funds",
        ),
        (
            "declines.amount_rules = [ { min = 100, max = 50, code = \"do_not_honor\" } ]",
            "gateway.declines.amount_rules[0].max",
            "below min",
        ),
        (
            "declines.amount_rules = [ { min = 100, max = 150, code = \"nope\" } ]",
            "gateway.declines.amount_rules[0].code",
            "not a known decline code",
        ),
        (
            "rate_limit = { requests_per_second = 0 }",
            "gateway.rate_limit.requests_per_second",
            "> 0",
        ),
        (
            "rate_limit = { requests_per_second = 10, burst = 0 }",
            "gateway.rate_limit.burst",
            "at least 1",
        ),
        (
            "schedule = [ { from = \"25s\", until = \"10s\", latency_factor = 2 } ]",
            "gateway.schedule[0].until",
            "after from",
        ),
        (
            "schedule = [ { from = \"5s\", until = \"5s\", latency_factor = 2 } ]",
            "gateway.schedule[0].until",
            "after from",
        ),
        (
            "schedule = [ { from = \"1s\", latency_factor = -1 } ]",
            "gateway.schedule[0].latency_factor",
            "factor",
        ),
        (
            "schedule = [ { from = \"1s\" } ]",
            "gateway.schedule[0]",
            "changes nothing",
        ),
        (
            "schedule = [ { from = \"1s\", faults = { hang = 2 } } ]",
            "gateway.schedule[0].faults.hang",
            "probability",
        ),
        (
            "schedule = [ { from = \"1s\", endpoints = [], latency_factor = 2 } ]",
            "gateway.schedule[0].endpoints",
            "empty",
        ),
        (
            "sequences = [ { fail_first = 0, fault = \"reset\" } ]",
            "gateway.sequences[0].fail_first",
            "at least 1",
        ),
        (
            "sequences = [ { fail_first = 1, fault = \"http_502\" } ]",
            "gateway.sequences[0].fault",
            "http_503",
        ),
        (
            "sequences = [ { fail_first = 1, fault = \"reset\", endpoints = [\"charge\"] } ]",
            "gateway.sequences[0].endpoints[0]",
            "create",
        ),
        ("seed = \"abc\"", "gateway.seed", "invalid type"),
    ];
    for (table, field, fragment) in cases {
        let error = parse_scenario_gateway(&format!("[gateway]\n{table}"))
            .expect_err(&format!("should be rejected: {table}"));
        assert_eq!(error.field, *field, "for {table}: {error}");
        assert!(
            error.message.contains(fragment),
            "for {table}: message {:?} lacks {fragment:?}",
            error.message
        );
    }
}

#[test]
fn an_unknown_key_is_named_and_the_allowed_keys_listed() {
    let error =
        parse_scenario_gateway("[gateway.faults]\nhttp_502 = 0.1\n").expect_err("unknown key");
    assert_eq!(error.field, "gateway.faults.http_502");
    for allowed in [
        "http_500",
        "http_503",
        "reset",
        "hang",
        "lost_after_delay",
        "lost_delay",
    ] {
        assert!(error.message.contains(allowed), "{}", error.message);
    }
}

#[test]
fn not_toml_is_reported_as_such() {
    let error = parse_scenario_gateway("[gateway\nseed = 1").expect_err("broken TOML");
    assert_eq!(error.field, "scenario");
    assert!(
        error.message.contains("not valid TOML"),
        "{}",
        error.message
    );
    let error = parse_scenario_gateway("gateway = 5").expect_err("gateway must be a table");
    assert_eq!(error.field, "gateway");
}

#[test]
fn other_tables_are_ignored_and_a_missing_gateway_is_the_default() {
    let config = parse_scenario_gateway(
        "[load]\nrate = 1000\nanything = \"goes\"\n[checks]\np95_ms = 250.0\n[target]\nurl = \"x\"\n",
    )
    .expect("valid");
    assert_eq!(config, BehaviourConfig::default());
    let config = parse_scenario_gateway("[gateway]\nseed = 42\n[load]\nrate = 5\n").expect("valid");
    assert_eq!(config.seed, Some(42));
}

#[test]
fn config_round_trips_through_json_and_toml() {
    let text = r#"
        [gateway]
        seed = 42
        latency = { distribution = "mixture", components = [
            { weight = 99, distribution = "lognormal", p50 = "80ms", p99 = "400ms" },
            { weight = 1, distribution = "constant", value = "3s" },
        ] }
        declines = { rate = 0.05, codes = { insufficient_funds = 3, do_not_honor = 1 }, amount_rules = [ { min = 100, max = 199, code = "expired_card" } ] }
        faults = { http_503 = 0.01, lost_after_delay = 0.02, lost_delay = "1500ms" }
        rate_limit = { requests_per_second = 100, burst = 20 }
        endpoints.capture = { latency = { distribution = "normal", mean = "30ms", stddev = "5ms" } }
        endpoints.retrieve = { faults = { reset = 0.5 } }
        schedule = [ { from = "10s", until = "25s", latency_factor = 10, faults = { http_503 = 0.5 }, endpoints = ["create", "capture"] } ]
        sequences = [ { endpoints = ["refund"], fail_first = 2, fault = "reset" } ]
    "#;
    let config = parse_scenario_gateway(text).expect("valid");
    let json = serde_json::to_string(&config).expect("serializes to JSON");
    assert_eq!(BehaviourConfig::from_json(&json), Ok(config.clone()));
    #[derive(serde::Serialize)]
    struct Scenario<'a> {
        gateway: &'a BehaviourConfig,
    }
    let toml_text = toml::to_string(&Scenario { gateway: &config }).expect("serializes to TOML");
    let again = parse_scenario_gateway(&toml_text);
    assert_eq!(again, Ok(config.clone()), "TOML was:\n{toml_text}");
    assert!(
        json.contains("\"1500ms\""),
        "durations serialize as strings: {json}"
    );
}

#[test]
fn json_errors_name_the_field_too() {
    let error = BehaviourConfig::from_json(r#"{"faults": {"http_503": 2}}"#).expect_err("invalid");
    assert_eq!(error.field, "gateway.faults.http_503");
    let error =
        BehaviourConfig::from_json(r#"{"latency": {"distribution": "constant", "valu": "1ms"}}"#)
            .expect_err("unknown key");
    assert_eq!(error.field, "gateway.latency.valu");
    assert!(BehaviourConfig::from_json("{} trailing").is_err());
    assert_eq!(
        BehaviourConfig::from_json("{}"),
        Ok(BehaviourConfig::default())
    );
}

// ----- scenario files ----------------------------------------------------------------------

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn every_scenario_file_has_a_valid_gateway_table() {
    let mut checked = Vec::new();
    let entries = std::fs::read_dir(scenarios_dir()).expect("scenarios/ exists");
    for entry in entries {
        let path = entry.expect("readable entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let config =
            load_scenario_gateway(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Behaviour::new(config, SEED).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checked.push(
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string(),
        );
    }
    for required in [
        "happy-path",
        "flaky-network",
        "brownout",
        "declines",
        "rate-limited",
        "black-friday",
        "webhook-storm",
    ] {
        assert!(
            checked.iter().any(|name| name == required),
            "scenarios/{required}.toml is missing"
        );
    }
}

#[test]
fn a_missing_scenario_file_names_its_path() {
    let error =
        load_scenario_gateway(&scenarios_dir().join("no-such-scenario.toml")).expect_err("missing");
    assert_eq!(error.field, "scenario");
    assert!(
        error.message.contains("no-such-scenario.toml"),
        "{}",
        error.message
    );
}

/// Every key a `[gateway]` table can hold, each set, so that serializing it back lists them all
/// (keys left at their default are left out of the output by most tables, not by webhooks').
const EVERY_KEY: &str = r#"
    [gateway]
    seed = 42
    latency = { distribution = "mixture", components = [
        { weight = 1, distribution = "lognormal", p50 = "80ms", p99 = "400ms" },
        { weight = 1, distribution = "uniform", min = "1ms", max = "2ms" },
        { weight = 1, distribution = "normal", mean = "30ms", stddev = "5ms" },
        { weight = 1, distribution = "constant", value = "3s" },
    ] }
    declines = { rate = 0.05, codes = { insufficient_funds = 3 }, amount_rules = [ { min = 100, max = 199, code = "expired_card" } ] }
    faults = { http_500 = 0.01, http_503 = 0.01, reset = 0.01, hang = 0.01, lost_after_delay = 0.01, reset_after_commit = 0.01, http_500_after_commit = 0.01, truncated_body = 0.01, truncated_body_after_commit = 0.01, slow_body = 0.01, html_502 = 0.01, html_502_after_commit = 0.01, empty_reply = 0.01, empty_reply_after_commit = 0.01, lost_delay = "1500ms", slow_body_duration = "2s" }
    rate_limit = { requests_per_second = 100, burst = 20 }
    endpoints.create = { faults = { reset = 0.5 } }
    endpoints.capture = { latency = { distribution = "constant", value = "1ms" } }
    endpoints.cancel = { faults = { reset = 0.5 } }
    endpoints.refund = { faults = { reset = 0.5 } }
    endpoints.retrieve = { faults = { reset = 0.5 } }
    schedule = [ { from = "10s", until = "25s", latency_factor = 10, latency = { distribution = "constant", value = "1ms" }, faults = { http_503 = 0.5 }, declines = { rate = 0.5 }, endpoints = ["create"] } ]
    sequences = [ { endpoints = ["refund"], fail_first = 2, fault = "reset" } ]
    capacity = { workers = 4, max_queue = 10, service_time = { distribution = "constant", value = "20ms" } }
    [gateway.webhooks]
    endpoints = [ { url = "http://a/", events = ["*"], secret = "whsec_0123456789abcdef", dialect = "native", merchant = "sk_test_1" } ]
    faults = { duplicate = 0.1, reorder = 0.1, early = 0.1, drop = 0.1, delay = { distribution = "constant", value = "1s" } }
    outages = [ { from = "1s", until = "2s" } ]
"#;

fn collect_keys(value: &toml::Value, parent: &str, keys: &mut std::collections::BTreeSet<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                // The keys of `codes` are decline codes: data, documented in their own list.
                if parent != "codes" {
                    keys.insert(key.clone());
                }
                collect_keys(child, key, keys);
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                collect_keys(item, parent, keys);
            }
        }
        _ => {}
    }
}

#[test]
fn the_scenarios_readme_documents_every_gateway_key() {
    let config = parse_scenario_gateway(EVERY_KEY).expect("valid");
    let value = toml::Value::try_from(&config).expect("serializes");
    let mut keys = std::collections::BTreeSet::new();
    collect_keys(&value, "gateway", &mut keys);
    assert!(keys.contains("duplicate_gap") && keys.contains("max_attempts"));
    let readme = std::fs::read_to_string(scenarios_dir().join("README.md")).expect("README");
    let undocumented: Vec<&String> = keys
        .iter()
        .filter(|key| {
            !(readme.contains(&format!("`{key}`"))
                || readme.contains(&format!("`retry.{key}`"))
                || readme.contains(&format!("{key} = ")))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "scenarios/README.md does not document {undocumented:?}"
    );
}

#[test]
fn the_webhook_storm_scenario_plays_what_its_header_says() {
    let config = load_scenario_gateway(&scenarios_dir().join("webhook-storm.toml")).expect("valid");
    let webhooks = &config.webhooks;
    assert!(
        webhooks.endpoints.is_empty(),
        "endpoints come from --webhook"
    );
    assert_eq!(webhooks.faults.duplicate, 0.2);
    assert_eq!(webhooks.faults.reorder, 0.2);
    assert!(webhooks.faults.delay.is_some());
    let s = Duration::from_secs;
    assert_eq!(webhooks.outage_until(s(19)), None);
    assert_eq!(webhooks.outage_until(s(20)), Some(s(40)));
    assert_eq!(webhooks.outage_until(s(40)), None);
}

#[test]
fn authorizations_and_three_ds_tables_read_validate_and_draw_deterministically() {
    let config = parse_scenario_gateway(
        "[gateway.authorizations]\nvalidity = \"2d\"\n\n[gateway.three_ds]\nlatency = { distribution = \"constant\", value = \"250ms\" }\n",
    )
    .expect("a valid table");
    assert_eq!(
        config.authorizations.validity(),
        Duration::from_secs(2 * 86_400)
    );
    let behaviour = Behaviour::new(config, 1).unwrap();
    assert_eq!(
        behaviour.authentication_latency("pay_x"),
        Duration::from_millis(250)
    );
    assert_eq!(
        BehaviourConfig::default().authorizations.validity(),
        crate::behaviour::DEFAULT_AUTHORIZATION_VALIDITY
    );
    assert_eq!(
        Behaviour::new(BehaviourConfig::default(), 1)
            .unwrap()
            .authentication_latency("pay_x"),
        Duration::ZERO
    );
    for bad in ["0s", "366d"] {
        let err =
            parse_scenario_gateway(&format!("[gateway.authorizations]\nvalidity = \"{bad}\"\n"))
                .expect_err(bad);
        assert_eq!(err.field, "gateway.authorizations.validity", "{bad}");
    }
}

#[test]
fn service_time_is_seeded_per_request_and_changes_no_other_draw() {
    let plain = behaviour(
        "latency = { distribution = \"lognormal\", p50 = \"10ms\", p99 = \"50ms\" }\nfaults = { http_503 = 0.2 }",
    );
    let queued = behaviour(
        "latency = { distribution = \"lognormal\", p50 = \"10ms\", p99 = \"50ms\" }\nfaults = { http_503 = 0.2 }\n[capacity]\nworkers = 4\nservice_time = { distribution = \"uniform\", min = \"10ms\", max = \"30ms\" }",
    );
    let mut service_times = Vec::new();
    for id in identities(2000) {
        let facts = request(Endpoint::Create, &id, 0);
        let without = plain.fate(&facts, Duration::ZERO);
        let with = queued.fate(&facts, Duration::ZERO);
        assert_eq!(without.service_time, Duration::ZERO);
        assert_eq!(
            (without.latency, without.fault),
            (with.latency, with.fault),
            "the table adds a draw and moves none"
        );
        assert_eq!(with, queued.fate(&facts, Duration::ZERO), "deterministic");
        service_times.push(with.service_time);
    }
    service_times.sort();
    assert!(service_times[0] >= Duration::from_millis(10));
    assert!(service_times[service_times.len() - 1] <= Duration::from_millis(30));
    assert_close(
        empirical_quantile(&service_times, 0.5),
        20.0,
        "median service time",
    );
}

#[test]
fn capacity_is_validated_naming_its_field() {
    let cases = [
        (
            "[capacity]\nworkers = 0\nservice_time = { distribution = \"constant\", value = \"1ms\" }",
            "gateway.capacity.workers",
        ),
        (
            "[capacity]\nworkers = 2\nmax_queue = 20000000\nservice_time = { distribution = \"constant\", value = \"1ms\" }",
            "gateway.capacity.max_queue",
        ),
        (
            "[capacity]\nworkers = 2\nservice_time = { distribution = \"constant\" }",
            "gateway.capacity.service_time.value",
        ),
        (
            "[capacity]\nworkers = 2\nservice_time = { distribution = \"uniform\", min = \"2ms\", max = \"1ms\" }",
            "gateway.capacity.service_time.max",
        ),
    ];
    for (toml, field) in cases {
        let err = parse_scenario_gateway(&scenario(toml)).expect_err(toml);
        assert_eq!(err.field, field, "{toml}: {err}");
    }
    let ok = parse_scenario_gateway(&scenario(
        "[capacity]\nworkers = 1\nmax_queue = 0\nservice_time = { distribution = \"constant\", value = \"0s\" }",
    ))
    .expect("no queue at all is a valid capacity");
    assert_eq!(ok.capacity.as_ref().map(CapacityConfig::max_queue), Some(0));
}
