//! Human-readable durations ("80ms", "1.5s", "2m", "1m30s") for scenario files and the control plane.
//!
//! Scenario authors think of latency in milliseconds and of schedules in seconds or minutes; a
//! bare number would force them to remember a unit. The parser is exact (decimal arithmetic in
//! integer nanoseconds, no float rounding), and `format_duration` writes back the shortest exact
//! form, so a config read from `GET /_sim/config` can be `PUT` back unchanged.

use std::time::Duration;

const NANOS_PER_UNIT: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// What a duration string should look like, quoted in every parse error.
pub const DURATION_SYNTAX: &str = "a duration such as \"80ms\", \"1.5s\", \"2m\", \"1m30s\" or \"7d\" (units: ns, us, ms, s, m, h, d)";

/// Parses `"80ms"`, `"1.5s"`, `"2m"`, `"1m30s"`, `"0"`. Negative values and missing units are errors.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty duration; expected {DURATION_SYNTAX}"));
    }
    if trimmed.starts_with('-') {
        return Err(format!(
            "`{trimmed}` is negative; durations must be >= 0, e.g. {DURATION_SYNTAX}"
        ));
    }
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total: u128 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if number.is_empty() {
            return Err(format!(
                "`{trimmed}` is not a duration; expected {DURATION_SYNTAX}"
            ));
        }
        if unit.is_empty() && number == trimmed {
            return Err(format!(
                "`{trimmed}` has no unit; expected {DURATION_SYNTAX}"
            ));
        }
        if unit.is_empty() {
            return Err(format!(
                "`{trimmed}` has no unit after `{number}`; expected {DURATION_SYNTAX}"
            ));
        }
        let per_unit = NANOS_PER_UNIT
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, nanos)| *nanos)
            .ok_or_else(|| {
                format!("`{trimmed}` has an unknown unit `{unit}`; expected {DURATION_SYNTAX}")
            })?;
        let nanos = decimal_times(number, per_unit)
            .ok_or_else(|| format!("`{trimmed}` is not a duration; expected {DURATION_SYNTAX}"))?;
        total = total
            .checked_add(nanos)
            .ok_or_else(|| format!("`{trimmed}` is too large"))?;
        rest = next;
    }
    let nanos = u64::try_from(total).map_err(|_| format!("`{trimmed}` is too large"))?;
    Ok(Duration::from_nanos(nanos))
}

/// `number` (digits with at most one '.') times `per_unit` nanoseconds, truncated to whole
/// nanoseconds. None when the number is malformed or overflows.
fn decimal_times(number: &str, per_unit: u128) -> Option<u128> {
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if fraction.contains('.') {
        return None;
    }
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole_value.checked_mul(per_unit)?;
    // Digits beyond the 12th cannot change the result at nanosecond resolution for any unit
    // up to hours; ignoring them avoids overflow on absurdly long fractions.
    let fraction = &fraction[..fraction.len().min(12)];
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().ok()?;
        let scale = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        nanos = nanos.checked_add(digits.checked_mul(per_unit)? / scale)?;
    }
    Some(nanos)
}

/// The shortest exact form: "0s", "80ms", "1500us", "90s", "2m", "1h".
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    for (unit, per_unit) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos.is_multiple_of(per_unit) {
            return format!("{}{unit}", nanos / per_unit);
        }
    }
    format!("{nanos}ns")
}

/// serde adapter for `Duration` fields written as duration strings.
pub(crate) mod as_string {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// serde adapter for `Option<Duration>` fields written as duration strings.
pub(crate) mod option_as_string {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_str(&super::format_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|t| super::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_scenario_authors_write() {
        assert_eq!(parse_duration("80ms"), Ok(Duration::from_millis(80)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 0.1ms "), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "80",
            "-5ms",
            "5 ms",
            "5parsecs",
            "ms",
            "1..2s",
            "1.2.3s",
            "99999999999h",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(parse_duration("-5ms").unwrap_err().contains("negative"));
        assert!(parse_duration("80").unwrap_err().contains("no unit"));
    }

    #[test]
    fn formatting_round_trips_exactly() {
        for text in ["0s", "80ms", "1500us", "90s", "2m", "1h", "7ns", "1001ms"] {
            let parsed = parse_duration(text).expect(text);
            assert_eq!(format_duration(parsed), text);
        }
        let odd = Duration::new(3, 141_592_653);
        assert_eq!(parse_duration(&format_duration(odd)), Ok(odd));
    }
}
