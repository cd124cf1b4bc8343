//! How the reports write a CSV field and a time: RFC 4180 quoting (a merchant's order id
//! may hold a comma or a quote), and times as Stripe's reports print them, UTC
//! `YYYY-MM-DD HH:MM:SS`.

use std::fmt::Write;

/// Appends `field`, quoted when it holds a separator, a quote or a line break.
pub(super) fn field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// A row of fields, comma-separated, ending in a line break.
pub(super) fn row(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push('\n');
}

/// Unix seconds as UTC `YYYY-MM-DD HH:MM:SS` (the proleptic Gregorian calendar, by Howard
/// Hinnant's days-to-civil algorithm: no date library for one format).
pub(super) fn time(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = String::with_capacity(19);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(time(0), "1970-01-01 00:00:00");
        assert_eq!(time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(time(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn fields_with_separators_are_quoted() {
        let mut out = String::new();
        row(&mut out, &["a", "b,c", "say \"hi\"", ""]);
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\n");
    }
}
