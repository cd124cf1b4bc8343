//! The `[gateway.webhooks]` table and the pure decisions the webhook dispatcher asks of it:
//! the faults of one delivery, the retry schedule, the outage windows.
//!
//! The dispatcher (queue, HTTP, signatures) lives elsewhere and does the I/O; everything here
//! is a function of the configuration, the seed and the delivery's identity, with time coming
//! in as an argument. That keeps webhook storms replayable like the API's faults: the same seed
//! and the same events give the same duplicates, delays and drops whatever order the events
//! were raised in. The semantic rules of the table are in `validate.rs`, with the others.

use super::distribution::LatencyConfig;
use super::latency::{Dist, seconds_to_duration};
use super::rng::{SplitMix64, Stream, hash_bytes, hash_u64};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Webhook delivery: where events go, how failed attempts are retried, and the faults injected
/// on purpose. `Default` is "no webhooks configured" (endpoints may still be registered through
/// the API; they then get these retry settings and no faults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Endpoints every run starts with (`[[gateway.webhooks.endpoints]]`, and `--webhook`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<WebhookEndpointConfig>,
    /// How a delivery that failed (timeout, refused connection, non-2xx) is tried again.
    pub retry: RetryConfig,
    /// How long one attempt may take before it counts as failed.
    #[serde(with = "super::duration::as_string")]
    pub timeout: Duration,
    /// Deliveries held in memory at most; beyond it new ones are shed (and counted), so a dead
    /// endpoint cannot grow the simulator without bound.
    pub max_pending: usize,
    /// Deliveries in flight at most, over all endpoints.
    pub concurrency: usize,
    /// Faults on purpose, per delivery.
    pub faults: WebhookFaultsConfig,
    /// Windows in which no attempt is made (every endpoint is "down"); what was due then is sent
    /// when the window ends, all at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<OutageWindow>,
}

pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_PENDING: usize = 100_000;
pub const DEFAULT_CONCURRENCY: usize = 64;

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            endpoints: Vec::new(),
            retry: RetryConfig::default(),
            timeout: DEFAULT_WEBHOOK_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            concurrency: DEFAULT_CONCURRENCY,
            faults: WebhookFaultsConfig::default(),
            outages: Vec::new(),
        }
    }
}

/// One endpoint the simulator sends events to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointConfig {
    /// Absolute http:// or https:// URL.
    pub url: String,
    /// Event types, in the endpoint's dialect (`payment_intent.succeeded`...); `*` for all.
    #[serde(default = "every_event")]
    pub events: Vec<String>,
    /// `whsec_...`, the key of the signatures. Absent: [`default_webhook_secret`] of the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The shape of the events sent.
    #[serde(default)]
    pub dialect: WebhookDialect,
    /// Only this merchant's events (its API key). Absent: every merchant's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
}

fn every_event() -> Vec<String> {
    vec!["*".to_string()]
}

impl WebhookEndpointConfig {
    /// An endpoint receiving every event of every merchant, in `dialect`, with the default secret.
    pub fn every_event(url: impl Into<String>, dialect: WebhookDialect) -> Self {
        WebhookEndpointConfig {
            url: url.into(),
            events: every_event(),
            secret: None,
            dialect,
            merchant: None,
        }
    }

    /// The secret this endpoint's signatures use: its own, else the one derived from `seed`.
    pub fn secret_or_default(&self, seed: u64) -> String {
        self.secret
            .clone()
            .unwrap_or_else(|| default_webhook_secret(seed))
    }

    /// Whether events of `event_type` from `merchant` go to this endpoint.
    pub fn wants(&self, merchant: &str, event_type: &str) -> bool {
        self.merchant.as_deref().is_none_or(|m| m == merchant)
            && self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

/// The shape of the events an endpoint receives (the same dialects as the API's front doors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookDialect {
    /// Stripe `Event` objects, signed with a `Stripe-Signature` header.
    #[default]
    Stripe,
    /// The native API's events.
    Native,
}

impl WebhookDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookDialect::Stripe => "stripe",
            WebhookDialect::Native => "native",
        }
    }
}

/// Exponential backoff between attempts: `first_delay`, then times `factor` each time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    #[serde(with = "super::duration::as_string")]
    pub first_delay: Duration,
    pub factor: f64,
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
}

/// The longest wait between two attempts: backoff grows no further (as injected delays).
pub const MAX_RETRY_DELAY: Duration = super::distribution::MAX_INJECTED_LATENCY;

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            first_delay: Duration::from_secs(1),
            factor: 2.0,
            max_attempts: 5,
        }
    }
}

/// Probabilities (0..1) of each fault, per delivery (one event to one endpoint), drawn
/// independently of one another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookFaultsConfig {
    /// The event is delivered twice (same event id): the merchant must deduplicate.
    pub duplicate: f64,
    /// Share of duplicates sent at the same instant as the original (two requests racing in the
    /// merchant's handlers); the rest follow `duplicate_gap` after it.
    pub duplicate_concurrent: f64,
    #[serde(with = "super::duration::as_string")]
    pub duplicate_gap: Duration,
    /// Extra delay before the first attempt, as the API's latency distributions. Absent: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<LatencyConfig>,
    /// The event is held back by `reorder_hold`, so later events of the same object overtake it.
    pub reorder: f64,
    #[serde(with = "super::duration::as_string")]
    pub reorder_hold: Duration,
    /// The webhook is sent before the API answer that caused it leaves (the merchant hears of a
    /// payment before its own call returns).
    pub early: f64,
    /// The event is never delivered on its own: only listing events or a resend recovers it.
    pub drop: f64,
}

pub const DEFAULT_DUPLICATE_CONCURRENT: f64 = 0.5;
pub const DEFAULT_DUPLICATE_GAP: Duration = Duration::from_millis(500);
pub const DEFAULT_REORDER_HOLD: Duration = Duration::from_secs(2);

impl Default for WebhookFaultsConfig {
    fn default() -> Self {
        WebhookFaultsConfig {
            duplicate: 0.0,
            duplicate_concurrent: DEFAULT_DUPLICATE_CONCURRENT,
            duplicate_gap: DEFAULT_DUPLICATE_GAP,
            delay: None,
            reorder: 0.0,
            reorder_hold: DEFAULT_REORDER_HOLD,
            early: 0.0,
            drop: 0.0,
        }
    }
}

/// A window of simulator time (since start or the last reset) in which webhook endpoints are
/// unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageWindow {
    /// Start, inclusive.
    #[serde(with = "super::duration::as_string")]
    pub from: Duration,
    /// End, exclusive; after `from`.
    #[serde(with = "super::duration::as_string")]
    pub until: Duration,
}

/// What happens to one delivery (one event to one endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryFate {
    /// Wait this long after the event is raised before the first attempt.
    pub delay: Duration,
    /// Send the event a second time.
    pub duplicate: Option<Duplicate>,
    /// Hold the event back this long (on top of `delay`) so later events overtake it.
    pub reorder_hold: Option<Duration>,
    /// Do not wait for the API answer that raised the event to leave before sending.
    pub early: bool,
    /// Never send it. When set, every other field is empty: nothing is sent to delay, repeat,
    /// hold back or send early.
    pub drop: bool,
}

/// When the second copy of a duplicated event is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duplicate {
    /// At the same instant as the original.
    Concurrent,
    /// This long after the original.
    After(Duration),
}

impl DeliveryFate {
    /// No fault: sent once, as soon as it may be.
    pub const CLEAN: DeliveryFate = DeliveryFate {
        delay: Duration::ZERO,
        duplicate: None,
        reorder_hold: None,
        early: false,
        drop: false,
    };

    /// The faults that apply, by name ("duplicate", "delay", "reorder", "early", "drop"), for
    /// logs and counters. Empty for a clean delivery.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.duplicate.is_some() {
            kinds.push("duplicate");
        }
        if !self.delay.is_zero() {
            kinds.push("delay");
        }
        if self.reorder_hold.is_some() {
            kinds.push("reorder");
        }
        if self.early {
            kinds.push("early");
        }
        if self.drop {
            kinds.push("drop");
        }
        kinds
    }
}

/// Keeps webhook draws apart from the API's, even for an identity that happens to be the same
/// bytes as a request's.
const WEBHOOK_DOMAIN: u64 = 0x7765_6268_6f6f_6b73;
/// Keeps the default secret apart from every random draw of the same seed.
const SECRET_DOMAIN: u64 = 0x7768_7365_635f_6b65;

/// The signing secret of endpoints that set none: `whsec_` and 32 hex characters derived from
/// the seed, so a test that knows the seed knows the secret (and the simulator prints it).
pub fn default_webhook_secret(seed: u64) -> String {
    let high = hash_u64(SECRET_DOMAIN, seed);
    let low = hash_u64(high, seed);
    format!("whsec_{high:016x}{low:016x}")
}

impl WebhooksConfig {
    /// Nothing configured (everything at its default).
    pub fn is_empty(&self) -> bool {
        *self == WebhooksConfig::default()
    }

    /// The faults for one event to one endpoint. `identity` identifies the delivery (the
    /// dispatcher passes the endpoint's place in the configuration or its URL, the event
    /// type, and the order reference or idempotency key):
    /// the same seed and identity always give the same fate.
    ///
    /// Every draw is taken on every call, in a fixed order, from one stream of the identity:
    /// changing one probability never changes which deliveries get another fault, and the
    /// faults are independent of one another. The delay is sampled last because a mixture
    /// takes a variable number of draws.
    pub fn fate(&self, seed: u64, identity: &[u8]) -> DeliveryFate {
        let faults = &self.faults;
        let delivery = hash_bytes(hash_u64(WEBHOOK_DOMAIN, seed), identity);
        let mut rng = SplitMix64::for_request(delivery, Stream::Webhook);
        let drop = rng.next_unit() < faults.drop;
        let duplicate = rng.next_unit() < faults.duplicate;
        let concurrent = rng.next_unit() < faults.duplicate_concurrent;
        let reorder = rng.next_unit() < faults.reorder;
        let early = rng.next_unit() < faults.early;
        let delay = faults.delay.as_ref().map_or(Duration::ZERO, |config| {
            seconds_to_duration(Dist::compile(config).sample(&mut rng))
        });
        if drop {
            return DeliveryFate {
                drop: true,
                ..DeliveryFate::CLEAN
            };
        }
        DeliveryFate {
            delay,
            duplicate: duplicate.then_some(if concurrent {
                Duplicate::Concurrent
            } else {
                Duplicate::After(faults.duplicate_gap)
            }),
            reorder_hold: reorder.then_some(faults.reorder_hold),
            early,
            drop: false,
        }
    }

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
    /// `first_delay x factor^(attempt - 1)`, at most [`MAX_RETRY_DELAY`]. `None` when
    /// `max_attempts` have been made.
    pub fn retry_delay(&self, attempt: u32) -> Option<Duration> {
        let retry = &self.retry;
        if attempt == 0 || attempt >= retry.max_attempts {
            return None;
        }
        let exponent = i32::try_from(attempt - 1).unwrap_or(i32::MAX);
        let seconds = retry.first_delay.as_secs_f64() * retry.factor.powi(exponent);
        Some(seconds_to_duration(seconds).min(MAX_RETRY_DELAY))
    }

    /// If `since_start` falls in an outage, when (since start) the endpoints are reachable
    /// again. Windows that overlap or touch count as one outage, so the answer is never inside
    /// another window.
    pub fn outage_until(&self, since_start: Duration) -> Option<Duration> {
        let covering = |t: Duration| {
            self.outages
                .iter()
                .filter(|w| w.from <= t && t < w.until)
                .map(|w| w.until)
                .max()
        };
        let mut end = covering(since_start)?;
        // Each step moves `end` strictly later to another window's end: at most one step per
        // window.
        while let Some(later) = covering(end) {
            end = later;
        }
        Some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BehaviourConfig, ConfigError, parse_scenario_gateway};
    use super::*;

    const SEED: u64 = 7;

    /// The `[gateway.webhooks]` table of a scenario whose webhooks table is `toml_text`.
    fn webhooks(toml_text: &str) -> Result<WebhooksConfig, ConfigError> {
        parse_scenario_gateway(&format!("[gateway.webhooks]\n{toml_text}")).map(|c| c.webhooks)
    }

    fn field_of(toml_text: &str) -> String {
        match webhooks(toml_text) {
            Ok(config) => panic!("expected an error for {toml_text}, got {config:?}"),
            Err(error) => {
                assert!(!error.message.is_empty());
                error.field
            }
        }
    }

    fn storm() -> WebhooksConfig {
        webhooks(
            r#"
            faults = { duplicate = 0.2, duplicate_concurrent = 0.25, reorder = 0.1, early = 0.05, drop = 0.02, delay = { distribution = "uniform", min = "0s", max = "2s" } }
            "#,
        )
        .expect("valid")
    }

    fn identity(i: usize) -> Vec<u8> {
        format!("http://127.0.0.1:9000/hooks payment_intent.succeeded order-{i}").into_bytes()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = webhooks("").expect("an empty table is valid");
        assert_eq!(config, WebhooksConfig::default());
        assert!(config.is_empty());
        assert!(config.endpoints.is_empty() && config.outages.is_empty());
        assert_eq!(config.retry.first_delay, Duration::from_secs(1));
        assert_eq!(config.retry.factor, 2.0);
        assert_eq!(config.retry.max_attempts, 5);
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.max_pending, 100_000);
        assert_eq!(config.concurrency, 64);
        let faults = &config.faults;
        assert_eq!(
            (faults.duplicate, faults.reorder, faults.early, faults.drop),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(faults.duplicate_concurrent, 0.5);
        assert_eq!(faults.duplicate_gap, Duration::from_millis(500));
        assert_eq!(faults.reorder_hold, Duration::from_secs(2));
        assert_eq!(faults.delay, None);
        assert_eq!(BehaviourConfig::default().webhooks, config);

        let endpoint = webhooks("endpoints = [ { url = \"http://localhost:9000/hooks\" } ]")
            .expect("valid")
            .endpoints
            .remove(0);
        assert_eq!(
            endpoint,
            WebhookEndpointConfig::every_event(
                "http://localhost:9000/hooks",
                WebhookDialect::Stripe
            )
        );
        assert!(endpoint.wants("sk_test_any", "payment_intent.succeeded"));
    }

    #[test]
    fn a_full_table_parses_and_round_trips() {
        let text = r#"
            timeout = "5s"
            max_pending = 1000
            concurrency = 8
            retry = { first_delay = "200ms", factor = 3, max_attempts = 3 }
            faults = { duplicate = 0.2, reorder = 0.2, reorder_hold = "3s", early = 0.1, drop = 0.01, duplicate_gap = "1s", delay = { distribution = "lognormal", p50 = "100ms", p99 = "2s" } }
            [[gateway.webhooks.endpoints]]
            url = "https://merchant.example/webhooks/stripe"
            events = ["payment_intent.succeeded", "charge.refunded"]
            secret = "whsec_0123456789abcdef"
            merchant = "sk_test_shop"
            [[gateway.webhooks.endpoints]]
            url = "http://[::1]:9000/hooks"
            dialect = "native"
            [[gateway.webhooks.outages]]
            from = "20s"
            until = "40s"
        "#;
        let config = webhooks(text).expect("valid");
        assert_eq!(config.endpoints.len(), 2);
        assert_eq!(config.endpoints[1].dialect, WebhookDialect::Native);
        assert_eq!(config.endpoints[1].events, ["*"]);
        let shop = &config.endpoints[0];
        assert!(shop.wants("sk_test_shop", "charge.refunded"));
        assert!(!shop.wants("sk_test_other", "charge.refunded"));
        assert!(!shop.wants("sk_test_shop", "payment_intent.created"));
        assert_eq!(shop.secret_or_default(SEED), "whsec_0123456789abcdef");

        let behaviour = BehaviourConfig {
            webhooks: config,
            ..BehaviourConfig::default()
        };
        let json = serde_json::to_string(&behaviour).expect("JSON");
        assert_eq!(BehaviourConfig::from_json(&json), Ok(behaviour.clone()));
        #[derive(serde::Serialize)]
        struct Scenario<'a> {
            gateway: &'a BehaviourConfig,
        }
        let toml_text = toml::to_string(&Scenario {
            gateway: &behaviour,
        })
        .expect("TOML");
        assert_eq!(
            parse_scenario_gateway(&toml_text),
            Ok(behaviour),
            "{toml_text}"
        );
        // An unconfigured table is left out of `GET /_sim/config`.
        let json = serde_json::to_string(&BehaviourConfig::default()).expect("JSON");
        assert!(!json.contains("webhooks"), "{json}");
    }

    #[test]
    fn unknown_keys_name_their_path() {
        assert_eq!(field_of("retries = 3"), "gateway.webhooks.retries");
        assert_eq!(
            field_of("faults = { duplicates = 0.1 }"),
            "gateway.webhooks.faults.duplicates"
        );
        assert_eq!(
            field_of("endpoints = [ { url = \"http://a/\", event = [\"*\"] } ]"),
            "gateway.webhooks.endpoints[0].event"
        );
        assert_eq!(
            field_of("endpoints = [ { url = \"http://a/\", dialect = \"paypal\" } ]"),
            "gateway.webhooks.endpoints[0].dialect"
        );
        assert_eq!(
            field_of("outages = [ { from = \"1s\" } ]"),
            "gateway.webhooks.outages[0]"
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: &[(&str, &str)] = &[
            (
                "faults = { duplicate = 1.5 }",
                "gateway.webhooks.faults.duplicate",
            ),
            (
                "faults = { duplicate_concurrent = -0.1 }",
                "gateway.webhooks.faults.duplicate_concurrent",
            ),
            (
                "faults = { reorder = nan }",
                "gateway.webhooks.faults.reorder",
            ),
            ("faults = { early = 2 }", "gateway.webhooks.faults.early"),
            ("faults = { drop = 1.01 }", "gateway.webhooks.faults.drop"),
            (
                "faults = { duplicate_gap = \"2h\" }",
                "gateway.webhooks.faults.duplicate_gap",
            ),
            (
                "faults = { reorder_hold = \"2h\" }",
                "gateway.webhooks.faults.reorder_hold",
            ),
            (
                "faults = { delay = { distribution = \"constant\" } }",
                "gateway.webhooks.faults.delay.value",
            ),
            ("retry = { factor = 0.5 }", "gateway.webhooks.retry.factor"),
            ("retry = { factor = inf }", "gateway.webhooks.retry.factor"),
            (
                "retry = { max_attempts = 0 }",
                "gateway.webhooks.retry.max_attempts",
            ),
            (
                "retry = { max_attempts = 101 }",
                "gateway.webhooks.retry.max_attempts",
            ),
            (
                "retry = { first_delay = \"0s\" }",
                "gateway.webhooks.retry.first_delay",
            ),
            ("timeout = \"0s\"", "gateway.webhooks.timeout"),
            ("timeout = \"500us\"", "gateway.webhooks.timeout"),
            ("timeout = \"6m\"", "gateway.webhooks.timeout"),
            ("max_pending = 0", "gateway.webhooks.max_pending"),
            ("concurrency = 0", "gateway.webhooks.concurrency"),
            ("concurrency = 10001", "gateway.webhooks.concurrency"),
            (
                "outages = [ { from = \"1s\", until = \"2s\" }, { from = \"30s\", until = \"30s\" } ]",
                "gateway.webhooks.outages[1].until",
            ),
            (
                "endpoints = [ { url = \"ftp://a/\" } ]",
                "gateway.webhooks.endpoints[0].url",
            ),
            (
                "endpoints = [ { url = \"http://a/\" }, { url = \"/hooks\" } ]",
                "gateway.webhooks.endpoints[1].url",
            ),
            (
                "endpoints = [ { url = \"http://a/\", events = [] } ]",
                "gateway.webhooks.endpoints[0].events",
            ),
            (
                "endpoints = [ { url = \"http://a/\", events = [\"*\", \"\"] } ]",
                "gateway.webhooks.endpoints[0].events[1]",
            ),
            (
                "endpoints = [ { url = \"http://a/\", secret = \"sk_0123456789abcdef\" } ]",
                "gateway.webhooks.endpoints[0].secret",
            ),
            (
                "endpoints = [ { url = \"http://a/\", secret = \"whsec_short\" } ]",
                "gateway.webhooks.endpoints[0].secret",
            ),
            (
                "endpoints = [ { url = \"http://a/\", merchant = \"\" } ]",
                "gateway.webhooks.endpoints[0].merchant",
            ),
        ];
        for (text, field) in cases {
            assert_eq!(&field_of(text), field, "{text}");
        }
        let long_secret = format!("whsec_{}", "a".repeat(195));
        assert_eq!(
            field_of(&format!(
                "endpoints = [ {{ url = \"http://a/\", secret = \"{long_secret}\" }} ]"
            )),
            "gateway.webhooks.endpoints[0].secret"
        );
        let longest = format!("whsec_{}", "a".repeat(194));
        assert!(
            webhooks(&format!(
                "endpoints = [ {{ url = \"http://a/\", secret = \"{longest}\" }} ]"
            ))
            .is_ok()
        );
        // Bounds that are allowed.
        assert!(webhooks("retry = { factor = 1, max_attempts = 100 }\ntimeout = \"5m\"").is_ok());
        assert!(webhooks("timeout = \"1ms\"\nconcurrency = 10000\nmax_pending = 1").is_ok());
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        use super::super::check_webhook_url;
        for good in [
            "http://127.0.0.1:9000/hooks",
            "https://merchant.example/webhooks?source=sim",
            "HTTP://localhost",
            "http://[::1]:8080/",
            "http://host.docker.internal:4000",
        ] {
            assert_eq!(check_webhook_url(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "localhost:9000/hooks",
            "/hooks",
            "ftp://example.com/",
            "http://",
            "http:///hooks",
            "http://:9000/hooks",
            "http://host:0/",
            "http://host:65536/",
            "http://host:port/",
            "http://user:pw@host/",
            "http://ho st/",
            "http://host/#frag",
            "http://[::1/",
            "http://[]:80/",
        ] {
            let message = check_webhook_url(bad).expect_err(bad);
            assert!(message.contains("e.g."), "{bad}: {message}");
        }
    }

    #[test]
    fn the_fate_is_a_function_of_seed_and_identity() {
        let config = storm();
        for i in 0..1_000 {
            let id = identity(i);
            assert_eq!(config.fate(SEED, &id), config.fate(SEED, &id));
        }
        let differs = |a: u64, b: u64| {
            (0..1_000).any(|i| config.fate(a, &identity(i)) != config.fate(b, &identity(i)))
        };
        assert!(differs(SEED, SEED + 1), "another seed, another storm");
        // Pinned: a recorded storm replays the same in every build. (High rates and no delay, so
        // the few pinned deliveries show a mix of faults.)
        let mut loud = config.clone();
        loud.faults.delay = None;
        for p in [
            &mut loud.faults.duplicate,
            &mut loud.faults.reorder,
            &mut loud.faults.early,
        ] {
            *p = 0.5;
        }
        loud.faults.drop = 0.2;
        let pinned: Vec<Vec<&str>> = (0..8)
            .map(|i| loud.fate(SEED, &identity(i)).kinds())
            .collect();
        assert_eq!(pinned, PINNED_KINDS, "{pinned:?}");
    }

    const PINNED_KINDS: [&[&str]; 8] = [
        &["early"],
        &["duplicate", "reorder", "early"],
        &[],
        &["early"],
        &["duplicate", "early"],
        &["duplicate", "reorder", "early"],
        &["reorder"],
        &["duplicate", "reorder"],
    ];

    #[test]
    fn rates_follow_the_probabilities() {
        let config = storm();
        let n = 100_000;
        let fates: Vec<DeliveryFate> = (0..n).map(|i| config.fate(SEED, &identity(i))).collect();
        let rate = |f: &dyn Fn(&DeliveryFate) -> bool| {
            fates.iter().filter(|fate| f(fate)).count() as f64 / n as f64
        };
        let dropped = rate(&|f| f.drop);
        // Everything else is measured on what is sent: a dropped delivery carries no other fault.
        let sent = 1.0 - dropped;
        let close = |measured: f64, expected: f64, what: &str| {
            // Binomial standard error at n = 100k is under 0.0016; 0.005 is > 3 of them.
            assert!(
                (measured - expected).abs() < 0.005,
                "{what}: measured {measured}, configured {expected}"
            );
        };
        close(dropped, 0.02, "drop");
        close(rate(&|f| f.duplicate.is_some()) / sent, 0.2, "duplicate");
        close(rate(&|f| f.reorder_hold.is_some()) / sent, 0.1, "reorder");
        close(rate(&|f| f.early) / sent, 0.05, "early");
        let duplicates = rate(&|f| f.duplicate.is_some());
        close(
            rate(&|f| f.duplicate == Some(Duplicate::Concurrent)) / duplicates,
            0.25,
            "duplicate_concurrent",
        );
        assert!(
            fates
                .iter()
                .filter_map(|f| f.duplicate)
                .all(|d| d == Duplicate::Concurrent || d == Duplicate::After(DEFAULT_DUPLICATE_GAP))
        );
        assert!(
            fates
                .iter()
                .filter(|f| f.drop)
                .all(|f| f.kinds() == ["drop"])
        );
        // Independent: duplicate and reorder together as often as the product says.
        close(
            rate(&|f| f.duplicate.is_some() && f.reorder_hold.is_some()) / sent,
            0.2 * 0.1,
            "duplicate and reorder",
        );
        // The uniform 0..2s delay: mean 1s, half of it under 1s.
        let delays: Vec<f64> = fates
            .iter()
            .filter(|f| !f.drop)
            .map(|f| f.delay.as_secs_f64())
            .collect();
        let mean = delays.iter().sum::<f64>() / delays.len() as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean delay {mean}");
        assert!(delays.iter().all(|d| (0.0..=2.0).contains(d)));
    }

    #[test]
    fn changing_one_probability_moves_no_other_fault() {
        let before = storm();
        let mut after = before.clone();
        after.faults.duplicate = 0.9;
        after.faults.delay = Some(LatencyConfig::constant(Duration::from_millis(5)));
        for i in 0..2_000 {
            let (a, b) = (
                before.fate(SEED, &identity(i)),
                after.fate(SEED, &identity(i)),
            );
            assert_eq!(a.drop, b.drop);
            assert_eq!(a.reorder_hold, b.reorder_hold);
            assert_eq!(a.early, b.early);
            // Whoever had a duplicate still has one, at the same moment.
            if a.duplicate.is_some() {
                assert_eq!(a.duplicate, b.duplicate);
            }
        }
    }

    #[test]
    fn no_faults_configured_means_clean_deliveries() {
        let config = WebhooksConfig::default();
        for i in 0..1_000 {
            let fate = config.fate(SEED, &identity(i));
            assert_eq!(fate, DeliveryFate::CLEAN);
            assert!(fate.kinds().is_empty());
        }
    }

    #[test]
    fn kinds_name_what_applies() {
        let fate = DeliveryFate {
            delay: Duration::from_millis(3),
            duplicate: Some(Duplicate::After(Duration::from_secs(1))),
            reorder_hold: Some(Duration::from_secs(2)),
            early: true,
            drop: false,
        };
        assert_eq!(fate.kinds(), ["duplicate", "delay", "reorder", "early"]);
        let dropped = DeliveryFate {
            drop: true,
            ..DeliveryFate::CLEAN
        };
        assert_eq!(dropped.kinds(), ["drop"]);
    }

    #[test]
    fn retries_back_off_exponentially_then_stop() {
        let config = WebhooksConfig::default();
        let schedule: Vec<Option<Duration>> = (1..=6).map(|a| config.retry_delay(a)).collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(schedule, [secs(1), secs(2), secs(4), secs(8), None, None]);
        assert_eq!(config.retry_delay(0), None, "attempts are counted from 1");

        let steep = WebhooksConfig {
            retry: RetryConfig {
                first_delay: Duration::from_millis(250),
                factor: 1000.0,
                max_attempts: 100,
            },
            ..WebhooksConfig::default()
        };
        assert_eq!(steep.retry_delay(1), Some(Duration::from_millis(250)));
        assert_eq!(steep.retry_delay(2), Some(Duration::from_millis(250_000)));
        assert_eq!(
            steep.retry_delay(99),
            Some(MAX_RETRY_DELAY),
            "capped, not overflowed"
        );
        assert_eq!(steep.retry_delay(100), None);

        let mut once = WebhooksConfig::default();
        once.retry.max_attempts = 1;
        assert_eq!(once.retry_delay(1), None);
    }

    #[test]
    fn outages_say_when_they_end() {
        let s = Duration::from_secs;
        let config = webhooks(
            r#"outages = [
                { from = "20s", until = "40s" },
                { from = "100s", until = "110s" },
                { from = "105s", until = "120s" },
                { from = "120s", until = "125s" },
            ]"#,
        )
        .expect("valid");
        assert_eq!(config.outage_until(s(0)), None);
        assert_eq!(config.outage_until(Duration::from_millis(19_999)), None);
        assert_eq!(config.outage_until(s(20)), Some(s(40)), "from is inclusive");
        assert_eq!(config.outage_until(s(39)), Some(s(40)));
        assert_eq!(config.outage_until(s(40)), None, "until is exclusive");
        // Overlapping and touching windows are one outage.
        assert_eq!(config.outage_until(s(101)), Some(s(125)));
        assert_eq!(config.outage_until(s(121)), Some(s(125)));
        assert_eq!(config.outage_until(s(125)), None);
        assert_eq!(WebhooksConfig::default().outage_until(s(30)), None);
    }

    #[test]
    fn the_default_secret_is_derived_from_the_seed() {
        let secret = default_webhook_secret(42);
        assert_eq!(secret, default_webhook_secret(42));
        assert_ne!(secret, default_webhook_secret(43));
        assert_eq!(secret.len(), "whsec_".len() + 32);
        assert!(
            secret["whsec_".len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
        assert_eq!(super::super::check_webhook_secret(&secret), Ok(()));
        assert_eq!(secret, PINNED_SECRET_42, "tests outside may hard-code it");
        let endpoint = WebhookEndpointConfig::every_event("http://a/", WebhookDialect::Native);
        assert_eq!(endpoint.secret_or_default(42), secret);
    }

    const PINNED_SECRET_42: &str = "whsec_cbd70998aec45febaec11ce67114aa71";
}
