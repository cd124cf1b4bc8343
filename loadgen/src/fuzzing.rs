//! Entry points for the fuzz targets in `fuzz/` and for the regression tests that replay what
//! they found (`tests/integration/fuzz_regressions.rs`). Not part of the library's surface:
//! hidden from the docs, and nothing here is stable.
//!
//! Each function panics only when a property a user relies on breaks: a scenario file loadgen
//! accepts must be one it can run, so whatever `Scenario::parse` accepts must fill in, for every
//! order, to requests a client can send.

use crate::flows::OrderIds;
use crate::scenario::{Scenario, TargetTemplate, Template, TemplateValues};

/// Currencies the fills below try: two decimals, none and three, since `{{amount_decimal}}`
/// differs by the currency's exponent.
const CURRENCIES: [&str; 3] = ["usd", "jpy", "bhd"];

/// Reads `text` as a whole scenario file, as `loadgen run --scenario` does. When it is accepted
/// and has a `[target]`, fills its templates in for a few orders and checks they are sendable.
/// Returns whether the scenario was accepted.
///
/// # Panics
/// When an accepted `[target]` fills in to a request a client cannot send.
pub fn scenario_toml(text: &str) -> bool {
    let Ok(scenario) = Scenario::parse(text, "fuzz", "fuzz input") else {
        return false;
    };
    if let Some(target) = &scenario.target {
        for (n, amount) in [(0, 1), (7, 1234), (123_456, 99_999_999)] {
            for currency in CURRENCIES {
                assert_sendable(target, n, amount, currency);
            }
        }
    }
    true
}

/// A `[target]` table made of the fuzzer's strings, serialised as TOML (so the strings arrive
/// as written, whatever they hold), read as `scenario_toml` reads a file, then filled in for the
/// order `n` with `amount` in each currency.
///
/// # Panics
/// As [`scenario_toml`].
pub fn target_template(
    method: &str,
    path: &str,
    header: (&str, &str),
    body: Option<&str>,
    n: u64,
    amount: i64,
) -> bool {
    let mut target = toml::Table::new();
    target.insert("method".into(), method.into());
    target.insert("path".into(), path.into());
    let mut headers = toml::Table::new();
    headers.insert(header.0.into(), header.1.into());
    target.insert("headers".into(), headers.into());
    if let Some(body) = body {
        target.insert("body".into(), body.into());
    }
    let mut file = toml::Table::new();
    file.insert("target".into(), target.into());
    let text = toml::to_string(&file).expect("a table of strings serialises");
    let Ok(scenario) = Scenario::parse(&text, "fuzz", "fuzz input") else {
        return false;
    };
    let target = scenario.target.expect("the file has a [target]");
    // Orders carry a positive amount: [load] refuses anything else.
    let amount = amount.checked_abs().unwrap_or(i64::MAX).max(1);
    for currency in CURRENCIES {
        assert_sendable(&target, n, amount, currency);
    }
    true
}

/// Checks that `target` filled in for one order is a request a client can send: a header
/// value HTTP allows, a body that is JSON (the scenario reader promises it), a path that makes
/// a URI.
fn assert_sendable(target: &TargetTemplate, n: u64, amount: i64, currency: &str) {
    let order_id = OrderIds::new(n, "").order_id(n);
    let idempotency_key = format!("{order_id}-k0");
    let values = TemplateValues {
        order_id: &order_id,
        amount,
        currency,
        idempotency_key: &idempotency_key,
    };
    let path = target.path.render(&values);
    assert!(
        format!("http://127.0.0.1:1{path}")
            .parse::<http::Uri>()
            .is_ok(),
        "[target] path fills in to {path:?}, which is not a URI path"
    );
    for (name, value) in &target.headers {
        let value = value.render(&values);
        assert!(
            http::HeaderValue::from_str(&value).is_ok(),
            "[target] header {name} fills in to {value:?}, which HTTP does not allow"
        );
    }
    if let Some(body) = &target.body {
        let body = body.render(&values);
        assert!(
            serde_json::from_str::<serde_json::Value>(&body).is_ok(),
            "[target] body fills in to {body:?} for {amount} {currency}, which is not JSON"
        );
    }
}

/// Compiles `text` as a template; when it compiles, fills it in and checks that text outside
/// the placeholders comes through unchanged.
///
/// # Panics
/// When a template without placeholders does not fill in to itself.
pub fn template(text: &str) -> bool {
    let Ok(template) = Template::compile(text) else {
        return false;
    };
    let values = TemplateValues {
        order_id: "ord-1-2",
        amount: 1234,
        currency: "usd",
        idempotency_key: "ord-1-2-k0",
    };
    let filled = template.render(&values);
    if !text.contains("{{") {
        assert_eq!(filled, text, "a template without placeholders changed");
    }
    true
}
