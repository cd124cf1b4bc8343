//! The semantic rules of a [`BehaviourConfig`] that serde cannot state: probabilities in [0, 1]
//! that sum to at most 1, p99 >= p50, known decline codes, windows that end after they start,
//! bounds on injected delays, webhook URLs and secrets. Each error names the field's full path.

use std::time::Duration;

use super::config::{
    AuthorizationsConfig, BehaviourConfig, CapacityConfig, ConfigError, DeclinesConfig,
    DisputesConfig, FaultsConfig, RateLimitConfig, ScheduleWindow,
};
use super::declines::{DeclineCode, KNOWN_DECLINE_CODES};
use super::distribution::{DistributionKind, LatencyConfig, MAX_INJECTED_LATENCY};
use super::duration::{DURATION_SYNTAX, format_duration};
use super::endpoint::Endpoint;
use super::fault::FaultKind;
use super::settlement::SettlementConfig;
use super::webhooks::{WebhookEndpointConfig, WebhooksConfig};

/// Float slack for "probabilities sum to at most 1" (0.1 + 0.2 + 0.7 is 1.0000000000000002).
const SUM_TOLERANCE: f64 = 1e-9;

impl BehaviourConfig {
    /// Checks every semantic rule; the first violation is returned, naming its field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(latency) = &self.latency {
            validate_latency(latency, "gateway.latency", false)?;
        }
        validate_declines(&self.declines, "gateway.declines")?;
        validate_faults(&self.faults, "gateway.faults")?;
        if let Some(rate_limit) = &self.rate_limit {
            validate_rate_limit(rate_limit, "gateway.rate_limit")?;
        }
        for endpoint in Endpoint::all() {
            if let Some(overrides) = self.endpoints.get(endpoint) {
                let path = format!("gateway.endpoints.{}", endpoint.as_str());
                if let Some(latency) = &overrides.latency {
                    validate_latency(latency, &format!("{path}.latency"), false)?;
                }
                if let Some(faults) = &overrides.faults {
                    validate_faults(faults, &format!("{path}.faults"))?;
                }
            }
        }
        for (index, window) in self.schedule.iter().enumerate() {
            validate_window(window, &format!("gateway.schedule[{index}]"))?;
        }
        for (index, rule) in self.sequences.iter().enumerate() {
            let path = format!("gateway.sequences[{index}]");
            if rule.fail_first == 0 {
                return Err(ConfigError::new(
                    format!("{path}.fail_first"),
                    "must be at least 1 (0 would fail no attempt; remove the rule instead)",
                ));
            }
            validate_endpoint_list(rule.endpoints.as_deref(), &path)?;
        }
        validate_webhooks(&self.webhooks, "gateway.webhooks")?;
        validate_authorizations(&self.authorizations, "gateway.authorizations")?;
        validate_disputes(&self.disputes, "gateway.disputes")?;
        validate_settlement(&self.settlement, "gateway.settlement")?;
        if let Some(latency) = &self.three_ds.latency {
            validate_latency(latency, "gateway.three_ds.latency", false)?;
        }
        if let Some(after) = self.three_ds.abandon_after
            && (after < Duration::from_secs(1) || after > MAX_AUTHORIZATION_VALIDITY)
        {
            return Err(ConfigError::new(
                "gateway.three_ds.abandon_after",
                format!(
                    "{} is not a time the simulator takes; give one from 1s to 365d, such as \"1h\"",
                    format_duration(after)
                ),
            ));
        }
        if let Some(capacity) = &self.capacity {
            validate_capacity(capacity, "gateway.capacity")?;
        }
        Ok(())
    }
}

/// The most workers `[gateway.capacity]` takes: far past any gateway's concurrency, and well
/// inside what a semaphore holds.
const MAX_WORKERS: u32 = 1_000_000;
/// The longest queue `[gateway.capacity]` takes: each waiting request holds a connection.
const MAX_QUEUE: u32 = 10_000_000;

fn validate_capacity(config: &CapacityConfig, path: &str) -> Result<(), ConfigError> {
    if !(1..=MAX_WORKERS).contains(&config.workers) {
        return Err(ConfigError::new(
            format!("{path}.workers"),
            format!(
                "{} is not a number of workers the simulator takes; expected 1 to {MAX_WORKERS}",
                config.workers
            ),
        ));
    }
    if config.max_queue.is_some_and(|q| q > MAX_QUEUE) {
        return Err(ConfigError::new(
            format!("{path}.max_queue"),
            format!(
                "at most {MAX_QUEUE} requests may wait (0: none wait, beyond the workers all are refused)"
            ),
        ));
    }
    validate_latency(&config.service_time, &format!("{path}.service_time"), false)
}

/// The longest validity a scenario may give an authorization: a year, far past
/// any card network's (extended authorizations last 30 days).
const MAX_AUTHORIZATION_VALIDITY: Duration = Duration::from_secs(365 * 86_400);

fn validate_authorizations(config: &AuthorizationsConfig, path: &str) -> Result<(), ConfigError> {
    let Some(validity) = config.validity else {
        return Ok(());
    };
    if validity < Duration::from_secs(1) || validity > MAX_AUTHORIZATION_VALIDITY {
        return Err(ConfigError::new(
            format!("{path}.validity"),
            format!(
                "{} is not a validity the simulator takes; give one from 1s to 365d, such as \"7d\"",
                format_duration(validity)
            ),
        ));
    }
    Ok(())
}

/// The delays of `[gateway.disputes]`: from 1s to a year each.
fn validate_disputes(config: &DisputesConfig, path: &str) -> Result<(), ConfigError> {
    for (name, delay) in [
        ("open_after", config.open_after),
        ("decided_after", config.decided_after),
    ] {
        if let Some(delay) = delay
            && (delay < Duration::from_secs(1) || delay > MAX_AUTHORIZATION_VALIDITY)
        {
            return Err(ConfigError::new(
                format!("{path}.{name}"),
                format!(
                    "{} is not a delay the simulator takes; give one from 1s to 365d, such as \"1d\"",
                    format_duration(delay)
                ),
            ));
        }
    }
    Ok(())
}

/// `[gateway.settlement]`: days, hours, fees and probabilities in range.
fn validate_settlement(config: &SettlementConfig, path: &str) -> Result<(), ConfigError> {
    for (name, days) in [
        ("delay_days", config.delay_days),
        ("arrival_days", config.arrival_days),
    ] {
        if days.is_some_and(|d| d > super::settlement::MAX_DAYS) {
            return Err(ConfigError::new(
                format!("{path}.{name}"),
                format!(
                    "must be from 0 to {} whole days",
                    super::settlement::MAX_DAYS
                ),
            ));
        }
    }
    if config.payout_hour.is_some_and(|h| h > 23) {
        return Err(ConfigError::new(
            format!("{path}.payout_hour"),
            "is an hour of the day, from 0 to 23 (UTC, simulator time)",
        ));
    }
    if config
        .dispute_fee
        .is_some_and(|f| !(0..=1_000_000).contains(&f))
    {
        return Err(ConfigError::new(
            format!("{path}.dispute_fee"),
            "is minor units, from 0 to 1000000",
        ));
    }
    validate_probability(
        config.payout_failure_rate,
        format!("{path}.payout_failure_rate"),
    )?;
    for (currency, fee) in &config.fees {
        let field = format!("{path}.fees.{currency}");
        let named = currency == "default"
            || (currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_lowercase()));
        if !named {
            return Err(ConfigError::new(
                field,
                "name a currency in three lowercase letters (usd, eur) or `default`",
            ));
        }
        if fee.percent_bps > 10_000 {
            return Err(ConfigError::new(
                format!("{field}.percent_bps"),
                "is basis points of the gross, from 0 to 10000 (290 is 2.9%)",
            ));
        }
        if !(0..=1_000_000).contains(&fee.fixed) {
            return Err(ConfigError::new(
                format!("{field}.fixed"),
                "is minor units, from 0 to 1000000",
            ));
        }
    }
    let mut total = 0.0;
    for (name, rate) in config.discrepancies.rates() {
        validate_probability(rate, format!("{path}.discrepancies.{name}"))?;
        total += rate;
    }
    if total > 1.0 + 1e-9 {
        return Err(ConfigError::new(
            format!("{path}.discrepancies"),
            format!(
                "the probabilities add up to {total}; at most one mistake is made per transaction, so they must add up to at most 1"
            ),
        ));
    }
    Ok(())
}

fn validate_probability(value: f64, field: String) -> Result<(), ConfigError> {
    if value.is_nan() || !(0.0..=1.0).contains(&value) {
        return Err(ConfigError::new(
            field,
            format!("{value} is not a probability; expected a number from 0 to 1 (0.05 = 5%)"),
        ));
    }
    Ok(())
}

fn validate_duration_bound(value: Duration, field: String) -> Result<(), ConfigError> {
    if value > MAX_INJECTED_LATENCY {
        return Err(ConfigError::new(
            field,
            format!(
                "{} is longer than the {} the simulator will wait; use the `hang` fault for \
                 requests that should never be answered",
                format_duration(value),
                format_duration(MAX_INJECTED_LATENCY)
            ),
        ));
    }
    Ok(())
}

fn validate_latency(
    config: &LatencyConfig,
    path: &str,
    in_mixture: bool,
) -> Result<(), ConfigError> {
    let kind = config.distribution;
    let takes = kind.keys();
    let takes_list = takes
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    for (key, value) in config.durations() {
        if value.is_some() && !takes.contains(&key) {
            return Err(ConfigError::new(
                format!("{path}.{key}"),
                format!(
                    "`{key}` does not apply to a {} distribution, which takes {takes_list}",
                    kind.as_str()
                ),
            ));
        }
        if let Some(value) = value {
            validate_duration_bound(value, format!("{path}.{key}"))?;
        }
    }
    if !config.components.is_empty() && kind != DistributionKind::Mixture {
        return Err(ConfigError::new(
            format!("{path}.components"),
            format!(
                "`components` only applies to a mixture distribution; a {} distribution takes \
                 {takes_list}",
                kind.as_str()
            ),
        ));
    }
    match (in_mixture, config.weight) {
        (false, Some(_)) => {
            return Err(ConfigError::new(
                format!("{path}.weight"),
                "`weight` only applies to a component of a mixture distribution",
            ));
        }
        (true, None) => {
            return Err(ConfigError::new(
                format!("{path}.weight"),
                "a mixture component needs a `weight` (a number > 0; weights are relative)",
            ));
        }
        (true, Some(weight)) if !(weight.is_finite() && weight > 0.0) => {
            return Err(ConfigError::new(
                format!("{path}.weight"),
                format!("{weight} is not a valid weight; expected a finite number > 0"),
            ));
        }
        _ => {}
    }
    let missing = |key: &str| {
        ConfigError::new(
            format!("{path}.{key}"),
            format!(
                "a {} distribution needs `{key}`, {DURATION_SYNTAX}; it takes {takes_list}",
                kind.as_str()
            ),
        )
    };
    match kind {
        DistributionKind::Constant => {
            config.value.ok_or_else(|| missing("value"))?;
        }
        DistributionKind::Uniform => {
            let min = config.min.ok_or_else(|| missing("min"))?;
            let max = config.max.ok_or_else(|| missing("max"))?;
            if max < min {
                return Err(ConfigError::new(
                    format!("{path}.max"),
                    format!(
                        "max ({}) is below min ({}); expected min <= max",
                        format_duration(max),
                        format_duration(min)
                    ),
                ));
            }
        }
        DistributionKind::Normal => {
            config.mean.ok_or_else(|| missing("mean"))?;
            config.stddev.ok_or_else(|| missing("stddev"))?;
        }
        DistributionKind::Lognormal => {
            let p50 = config.p50.ok_or_else(|| missing("p50"))?;
            let p99 = config.p99.ok_or_else(|| missing("p99"))?;
            if p50.is_zero() {
                return Err(ConfigError::new(
                    format!("{path}.p50"),
                    "must be greater than 0: a lognormal delay is never 0 (use a constant \
                     distribution of \"0s\" for no delay)",
                ));
            }
            if p99 < p50 {
                return Err(ConfigError::new(
                    format!("{path}.p99"),
                    format!(
                        "p99 ({}) is below p50 ({}); expected p50 <= p99",
                        format_duration(p99),
                        format_duration(p50)
                    ),
                ));
            }
        }
        DistributionKind::Mixture => {
            if in_mixture {
                return Err(ConfigError::new(
                    format!("{path}.distribution"),
                    "a mixture component cannot itself be a mixture; list its parts in the \
                     outer mixture instead",
                ));
            }
            if config.components.is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.components"),
                    "a mixture needs at least one component, e.g. components = [{ weight = 99, \
                     distribution = \"lognormal\", p50 = \"80ms\", p99 = \"400ms\" }, { weight = \
                     1, distribution = \"constant\", value = \"3s\" }]",
                ));
            }
            for (index, component) in config.components.iter().enumerate() {
                validate_latency(component, &format!("{path}.components[{index}]"), true)?;
            }
        }
    }
    Ok(())
}

fn validate_faults(config: &FaultsConfig, path: &str) -> Result<(), ConfigError> {
    let mut sum = 0.0;
    for kind in FaultKind::ALL {
        let probability = config.probability(kind);
        validate_probability(probability, format!("{path}.{}", kind.as_str()))?;
        sum += probability;
    }
    if sum > 1.0 + SUM_TOLERANCE {
        return Err(ConfigError::new(
            path,
            format!(
                "the fault probabilities sum to {sum}; they must sum to at most 1 (the rest is \
                 the share of requests that get no fault)"
            ),
        ));
    }
    if let Some(delay) = config.lost_delay {
        validate_duration_bound(delay, format!("{path}.lost_delay"))?;
    }
    if let Some(duration) = config.slow_body_duration {
        validate_duration_bound(duration, format!("{path}.slow_body_duration"))?;
    }
    Ok(())
}

fn unknown_code_message(code: &str) -> String {
    format!(
        "`{code}` is not a known decline code; use one of: {}",
        KNOWN_DECLINE_CODES.join(", ")
    )
}

fn validate_declines(config: &DeclinesConfig, path: &str) -> Result<(), ConfigError> {
    validate_probability(config.rate, format!("{path}.rate"))?;
    let mut total_weight = 0.0;
    for (code, weight) in &config.codes {
        let field = format!("{path}.codes.{code}");
        if DeclineCode::from_name(code).is_none() {
            return Err(ConfigError::new(field, unknown_code_message(code)));
        }
        if !(weight.is_finite() && *weight >= 0.0) {
            return Err(ConfigError::new(
                field,
                format!("{weight} is not a valid weight; expected a finite number >= 0"),
            ));
        }
        total_weight += weight;
    }
    if !config.codes.is_empty() && total_weight <= 0.0 {
        return Err(ConfigError::new(
            format!("{path}.codes"),
            "the code weights sum to 0; give at least one code a weight > 0 (or leave `codes` \
             out to decline with generic_decline)",
        ));
    }
    for (index, rule) in config.amount_rules.iter().enumerate() {
        let rule_path = format!("{path}.amount_rules[{index}]");
        if rule.min < 0 {
            return Err(ConfigError::new(
                format!("{rule_path}.min"),
                format!("{} is negative; amounts are minor units >= 0", rule.min),
            ));
        }
        if rule.max < rule.min {
            return Err(ConfigError::new(
                format!("{rule_path}.max"),
                format!(
                    "max ({}) is below min ({}); expected min <= max (both inclusive, minor units)",
                    rule.max, rule.min
                ),
            ));
        }
        if DeclineCode::from_name(&rule.code).is_none() {
            return Err(ConfigError::new(
                format!("{rule_path}.code"),
                unknown_code_message(&rule.code),
            ));
        }
    }
    Ok(())
}

fn validate_rate_limit(config: &RateLimitConfig, path: &str) -> Result<(), ConfigError> {
    let rate = config.requests_per_second;
    if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
        return Err(ConfigError::new(
            format!("{path}.requests_per_second"),
            format!(
                "{rate} is not a valid rate; expected a number of requests per second > 0 (and at \
                 most 1e9); leave out [gateway.rate_limit] for no limit"
            ),
        ));
    }
    if config.burst == Some(0) {
        return Err(ConfigError::new(
            format!("{path}.burst"),
            "must be at least 1 (the number of requests allowed at once)",
        ));
    }
    Ok(())
}

fn validate_endpoint_list(endpoints: Option<&[Endpoint]>, path: &str) -> Result<(), ConfigError> {
    if endpoints.is_some_and(|list| list.is_empty()) {
        return Err(ConfigError::new(
            format!("{path}.endpoints"),
            "an empty list matches no endpoint; leave `endpoints` out to match all of create, \
             capture, cancel, refund, retrieve",
        ));
    }
    Ok(())
}

fn validate_window(window: &ScheduleWindow, path: &str) -> Result<(), ConfigError> {
    if let Some(until) = window.until
        && until <= window.from
    {
        return Err(ConfigError::new(
            format!("{path}.until"),
            format!(
                "until ({}) must be after from ({})",
                format_duration(until),
                format_duration(window.from)
            ),
        ));
    }
    validate_endpoint_list(window.endpoints.as_deref(), path)?;
    if let Some(factor) = window.latency_factor
        && !(factor.is_finite() && (0.0..=1000.0).contains(&factor))
    {
        return Err(ConfigError::new(
            format!("{path}.latency_factor"),
            format!(
                "{factor} is not a valid factor; expected a number from 0 to 1000 (10 = ten \
                 times slower)"
            ),
        ));
    }
    if let Some(latency) = &window.latency {
        validate_latency(latency, &format!("{path}.latency"), false)?;
    }
    if let Some(faults) = &window.faults {
        validate_faults(faults, &format!("{path}.faults"))?;
    }
    if let Some(declines) = &window.declines {
        validate_declines(declines, &format!("{path}.declines"))?;
    }
    if window.latency_factor.is_none()
        && window.latency.is_none()
        && window.faults.is_none()
        && window.declines.is_none()
    {
        return Err(ConfigError::new(
            path,
            "this window changes nothing; give it latency_factor, latency, faults or declines",
        ));
    }
    Ok(())
}

const MAX_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const MAX_WEBHOOK_ATTEMPTS: u32 = 100;
const MAX_WEBHOOK_CONCURRENCY: usize = 10_000;
const WEBHOOK_SECRET_LENGTH: std::ops::RangeInclusive<usize> = 16..=200;

fn validate_webhooks(config: &WebhooksConfig, path: &str) -> Result<(), ConfigError> {
    for (index, endpoint) in config.endpoints.iter().enumerate() {
        validate_webhook_endpoint(endpoint, &format!("{path}.endpoints[{index}]"))?;
    }

    let retry = &config.retry;
    if retry.first_delay.is_zero() {
        return Err(ConfigError::new(
            format!("{path}.retry.first_delay"),
            format!(
                "must be greater than 0; the wait before the second attempt, {DURATION_SYNTAX}"
            ),
        ));
    }
    validate_duration_bound(retry.first_delay, format!("{path}.retry.first_delay"))?;
    if !(retry.factor.is_finite() && retry.factor >= 1.0) {
        return Err(ConfigError::new(
            format!("{path}.retry.factor"),
            format!(
                "{} is not a valid backoff factor; expected a number >= 1 (1 = the same wait \
                 every time, 2 = doubling)",
                retry.factor
            ),
        ));
    }
    if !(1..=MAX_WEBHOOK_ATTEMPTS).contains(&retry.max_attempts) {
        return Err(ConfigError::new(
            format!("{path}.retry.max_attempts"),
            format!(
                "{} is out of range; expected 1 to {MAX_WEBHOOK_ATTEMPTS} attempts in all, the \
                 first included (1 = never retry)",
                retry.max_attempts
            ),
        ));
    }

    if config.timeout < Duration::from_millis(1) || config.timeout > MAX_WEBHOOK_TIMEOUT {
        return Err(ConfigError::new(
            format!("{path}.timeout"),
            format!(
                "{} is out of range; expected from 1ms to {} per attempt",
                format_duration(config.timeout),
                format_duration(MAX_WEBHOOK_TIMEOUT)
            ),
        ));
    }
    if config.max_pending == 0 {
        return Err(ConfigError::new(
            format!("{path}.max_pending"),
            "must be at least 1 (the deliveries held in memory at most)",
        ));
    }
    if !(1..=MAX_WEBHOOK_CONCURRENCY).contains(&config.concurrency) {
        return Err(ConfigError::new(
            format!("{path}.concurrency"),
            format!(
                "{} is out of range; expected 1 to {MAX_WEBHOOK_CONCURRENCY} deliveries in flight",
                config.concurrency
            ),
        ));
    }

    let faults = &config.faults;
    let faults_path = format!("{path}.faults");
    for (key, probability) in [
        ("duplicate", faults.duplicate),
        ("duplicate_concurrent", faults.duplicate_concurrent),
        ("reorder", faults.reorder),
        ("early", faults.early),
        ("drop", faults.drop),
    ] {
        validate_probability(probability, format!("{faults_path}.{key}"))?;
    }
    validate_duration_bound(faults.duplicate_gap, format!("{faults_path}.duplicate_gap"))?;
    validate_duration_bound(faults.reorder_hold, format!("{faults_path}.reorder_hold"))?;
    if let Some(delay) = &faults.delay {
        validate_latency(delay, &format!("{faults_path}.delay"), false)?;
    }

    for (index, window) in config.outages.iter().enumerate() {
        if window.until <= window.from {
            return Err(ConfigError::new(
                format!("{path}.outages[{index}].until"),
                format!(
                    "until ({}) must be after from ({})",
                    format_duration(window.until),
                    format_duration(window.from)
                ),
            ));
        }
    }
    Ok(())
}

fn validate_webhook_endpoint(
    endpoint: &WebhookEndpointConfig,
    path: &str,
) -> Result<(), ConfigError> {
    check_webhook_url(&endpoint.url)
        .map_err(|message| ConfigError::new(format!("{path}.url"), message))?;
    if endpoint.events.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.events"),
            "an empty list receives nothing; list event types such as \
             \"payment_intent.succeeded\", or leave `events` out (or write [\"*\"]) for all",
        ));
    }
    for (index, event) in endpoint.events.iter().enumerate() {
        if event.trim().is_empty() {
            return Err(ConfigError::new(
                format!("{path}.events[{index}]"),
                "an event type cannot be empty; write one such as \"payment_intent.succeeded\", \
                 or \"*\" for all",
            ));
        }
    }
    if let Some(secret) = &endpoint.secret {
        check_webhook_secret(secret)
            .map_err(|message| ConfigError::new(format!("{path}.secret"), message))?;
    }
    if endpoint
        .merchant
        .as_deref()
        .is_some_and(|m| m.trim().is_empty())
    {
        return Err(ConfigError::new(
            format!("{path}.merchant"),
            "cannot be empty; give a merchant's API key, or leave `merchant` out for every \
             merchant's events",
        ));
    }
    Ok(())
}

/// Checks a webhook signing secret (`whsec_...`, 16 to 200 characters); the message says what
/// is accepted. Shared with `--webhook-secret`.
pub(crate) fn check_webhook_secret(secret: &str) -> Result<(), String> {
    let length = secret.chars().count();
    if !secret.starts_with("whsec_") {
        return Err(
            "a webhook secret starts with `whsec_`, as Stripe's do, e.g. \
             \"whsec_0123456789abcdef\""
                .to_string(),
        );
    }
    if !WEBHOOK_SECRET_LENGTH.contains(&length) {
        return Err(format!(
            "is {length} characters long; expected {} to {}, `whsec_` included",
            WEBHOOK_SECRET_LENGTH.start(),
            WEBHOOK_SECRET_LENGTH.end()
        ));
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "contains a space or a control character; keep a secret to visible characters (it \
             is printed at start and copied into tests)"
                .to_string(),
        );
    }
    Ok(())
}

/// Checks that `url` is an absolute http:// or https:// URL with a host (and, if it has one, a
/// port from 1 to 65535); the message says what is accepted. Shared with `--webhook`.
///
/// Written out here rather than with the `http` crate's `Uri`: the fault model stays free of
/// the I/O crates (tests/architecture.rs), and this is the whole grammar a webhook URL needs.
pub(crate) fn check_webhook_url(url: &str) -> Result<(), String> {
    let example = "e.g. \"http://127.0.0.1:9000/webhooks\"";
    let invalid = |why: &str| format!("`{url}` is not a usable webhook URL: {why}; {example}");
    if url.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(invalid(
            "it contains a space, a control or a non-ASCII character (percent-encode them)",
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url["http://".len()..]
    } else if lower.starts_with("https://") {
        &url["https://".len()..]
    } else {
        return Err(invalid("it must start with http:// or https://"));
    };
    if url.contains('#') {
        return Err(invalid("a fragment (#...) is never sent to a server"));
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // Credentials in the URL would be sent as-is; nothing here needs them.
    let host_port = match authority.rsplit_once('@') {
        Some(_) => return Err(invalid("user:password@ is not supported")),
        None => authority,
    };
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return Err(invalid("an IPv6 address opened with [ is never closed"));
        };
        if address.is_empty()
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(invalid("the IPv6 address between [ ] is not one"));
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err(invalid("only :port may follow an IPv6 address")),
            },
        };
        (address, port)
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    if !host_port.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%'))
    {
        return Err(invalid("the host has a character no host name has"));
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.chars().all(|c| c.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p));
        if !valid {
            return Err(invalid("the port must be a number from 1 to 65535"));
        }
    }
    Ok(())
}
