//! Request parameters as Stripe's SDKs send them: form-encoded with nested
//! keys (`metadata[order_id]=7`, `expand[]=latest_charge`), from the query
//! string and the body, or a JSON body; and the typed readers every resource
//! uses (amounts, currencies, test payment methods, metadata, expansions,
//! pages), each with the error Stripe gives. Its own file because all
//! resources read parameters the same way, and a typo must fail the same way
//! everywhere.

use std::borrow::Cow;
use std::ops::Range;

use http::Method;
use serde_json::Value;
use smallvec::SmallVec;

use super::pages::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageCursor};
use super::presentation::Expand;
use crate::api::request::{form_decode, is_json};
use crate::api::{ApiError, Incoming};
use crate::behaviour;
use crate::engine::money::{Currency, MAX_AMOUNT};
use crate::engine::{CaptureMethod, MetadataPatch, PaymentMethod};

/// Stripe's limits on metadata: keys, key length, value length.
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY_LEN: usize = 40;
const MAX_METADATA_VALUE_LEN: usize = 500;

/// Parameters services commonly send that the simulator accepts but does not model
/// (they are not stored and render as `null`); see docs/stripe.md.
const NOT_MODELLED: &[&str] = &[
    "automatic_payment_methods",
    "confirmation_method",
    "customer",
    "description",
    "error_on_requires_action",
    "mandate_data",
    "off_session",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "use_stripe_sdk",
];

/// Request parameters as Stripe's SDKs send them: form-encoded with nested keys
/// (`metadata[order_id]=7`, `expand[0]=latest_charge`, `expand[]=...`), from the
/// query string and, for POST, the body; a JSON body is accepted too. Each entry is
/// a key path (`["metadata", "order_id"]`) and its value.
///
/// Keys and values borrow from the request wherever they needed no decoding (no `%` or `+`):
/// a create-and-confirm sends a dozen pairs, and a `String` for each key, segment and value
/// was the Stripe path's largest cost in glibc's allocator (perf; BENCHMARKS.md).
pub(super) struct Params<'r> {
    entries: Vec<Entry<'r>>,
}

/// One parameter: its key path and its value.
type Entry<'r> = (KeyPath<'r>, Cow<'r, str>);

/// `metadata[order_id]` is `["metadata", "order_id"]`; nearly every key has one or two.
type KeyPath<'r> = SmallVec<[Cow<'r, str>; 2]>;

impl<'r> Params<'r> {
    pub(super) fn from_request(req: &Incoming<'r>) -> Result<Params<'r>, ApiError> {
        let mut entries = Vec::new();
        if let Some(query) = req.query {
            parse_form(query, &mut entries)?;
        }
        if req.method == Method::POST && !req.body.is_empty() {
            if is_json(req.headers) {
                let value: Value = serde_json::from_slice(req.body).map_err(|e| {
                    ApiError::invalid("invalid_json", format!("Invalid JSON body: {e}"))
                })?;
                let Value::Object(_) = value else {
                    return Err(ApiError::invalid(
                        "invalid_json",
                        "The JSON body must be an object of parameters.",
                    ));
                };
                flatten_json(&mut Vec::new(), &value, &mut entries);
            } else {
                let text = std::str::from_utf8(req.body).map_err(|_| {
                    ApiError::invalid("invalid_body", "The form-encoded body is not UTF-8.")
                })?;
                parse_form(text, &mut entries)?;
            }
        }
        Ok(Params { entries })
    }

    /// Refuses parameters outside `known` (and, with `not_modelled`, the list of
    /// accepted-but-ignored ones), as Stripe does: a typo must not pass silently.
    pub(super) fn only(&self, known: &[&str], not_modelled: bool) -> Result<(), ApiError> {
        for (path, _) in &self.entries {
            let name = &*path[0];
            let accepted = known.contains(&name) || (not_modelled && NOT_MODELLED.contains(&name));
            if !accepted {
                return Err(ApiError::invalid(
                    "parameter_unknown",
                    format!("Received unknown parameter: {}", display_path(path)),
                )
                .with_param(display_path(path)));
            }
        }
        Ok(())
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry<'r>> {
        self.entries.iter().filter(move |(path, _)| path[0] == name)
    }

    /// Every value sent under `name`, with the rest of its key path:
    /// `line_items[0][quantity]=2` is `(["0", "quantity"], "2")`.
    pub(super) fn nested<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a [Cow<'r, str>], &'a str)> {
        self.named(name).map(|(path, value)| (&path[1..], &**value))
    }

    /// A plain value (`name=value`); the last one wins. An empty value means "not
    /// given", as in Stripe's forms.
    pub(super) fn string<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ApiError> {
        let mut found = None;
        for (path, value) in self.named(name) {
            if path.len() > 1 {
                return Err(ApiError::invalid(
                    "parameter_invalid_string",
                    format!("Invalid {name}: expected a string, got an object."),
                )
                .with_param(name));
            }
            found = Some(&**value);
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// `evidence[uncategorized_text]`, at most `max` characters; the other
    /// evidence fields are refused as unknown (the simulator keeps only this one).
    pub(super) fn evidence_text(&self, max: usize) -> Result<Option<String>, ApiError> {
        let mut text = None;
        for (path, value) in self.named("evidence") {
            match path.as_slice() {
                [_, field] if field == "uncategorized_text" => text = Some(&**value),
                _ => {
                    return Err(ApiError::invalid(
                        "parameter_unknown",
                        format!(
                            "Received unknown parameter: {} (gateway-sim keeps evidence[uncategorized_text] only)",
                            display_path(path)
                        ),
                    )
                    .with_param(display_path(path)));
                }
            }
        }
        if text.is_some_and(|t| t.chars().count() > max) {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                format!("evidence[uncategorized_text] is longer than {max} characters."),
            )
            .with_param("evidence[uncategorized_text]"));
        }
        Ok(text.filter(|t| !t.is_empty()).map(str::to_string))
    }

    /// Whether the request sent `name` at all, even empty (`description=` unsets
    /// a field on update, where absence leaves it as is).
    pub(super) fn sent(&self, name: &str) -> bool {
        self.named(name).next().is_some()
    }

    /// An array (`name[]=a&name[]=b`, `name[0]=a`, or a JSON array), in the order
    /// sent; `None` when not sent, empty for a bare `name=` (Stripe's way of
    /// sending an empty array).
    pub(super) fn list<'a>(&'a self, name: &'a str) -> Result<Option<Vec<&'a str>>, ApiError> {
        let mut found: Option<Vec<&str>> = None;
        for (path, value) in self.named(name) {
            let items = found.get_or_insert_with(Vec::new);
            match path.len() {
                1 if value.is_empty() => {}
                2 => items.push(&**value),
                _ => {
                    return Err(ApiError::invalid(
                        "parameter_invalid_array",
                        format!("Invalid {name}: expected an array, sent as {name}[]=value."),
                    )
                    .with_param(name));
                }
            }
        }
        Ok(found)
    }

    /// A `created`-style filter as an inclusive range of Unix seconds:
    /// `name=<t>` (exactly), or any of `name[gt]`, `name[gte]`, `name[lt]`,
    /// `name[lte]`. A range that holds nothing (`name[lt]=0`) comes back empty
    /// (`gte > lte`), not as an error: it is a valid question with no answer.
    pub(super) fn time_range(&self, name: &str) -> Result<(Option<u64>, Option<u64>), ApiError> {
        let (mut gte, mut lte): (Option<u64>, Option<u64>) = (None, None);
        for (path, value) in self.named(name) {
            let op = match path.as_slice() {
                [_] => "eq",
                [_, op] => &**op,
                _ => "",
            };
            let param = display_path(path);
            let bad = || {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    format!("Invalid {param}: expected a Unix timestamp in seconds (a non-negative integer), or {name}[gt|gte|lt|lte]=timestamp."),
                )
                .with_param(param.clone())
            };
            let t: u64 = value.parse().map_err(|_| bad())?;
            let (low, high) = match op {
                "eq" => (Some(t), Some(t)),
                "gte" => (Some(t), None),
                "gt" => (Some(t.saturating_add(1)), None),
                "lte" => (None, Some(t)),
                // Nothing is older than 0: an empty range (gte 1 > lte 0).
                "lt" => match t.checked_sub(1) {
                    Some(high) => (None, Some(high)),
                    None => (Some(1), Some(0)),
                },
                _ => return Err(bad()),
            };
            gte = gte.max(low);
            lte = match (lte, high) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok((gte, lte))
    }

    pub(super) fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid(
                "parameter_invalid_boolean",
                format!("Invalid boolean: {other}"),
            )
            .with_param(name)),
        }
    }

    pub(super) fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    format!("Invalid integer: {text}"),
                )
                .with_param(name)
            }),
        }
    }

    /// A positive amount in minor units, at most the engine's ceiling.
    pub(super) fn amount(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.integer(name)? {
            Some(amount) if amount <= 0 || amount > MAX_AMOUNT => {
                Err(ApiError::invalid(
                    "amount_too_small",
                    format!(
                        "{name} must be a positive integer in the currency's smallest unit, at most {}.",
                        MAX_AMOUNT
                    ),
                )
                .with_param(name))
            }
            amount => Ok(amount),
        }
    }

    pub(super) fn currency(&self, name: &str) -> Result<Option<Currency>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(text) => Currency::parse(text).map(Some).ok_or_else(|| {
                ApiError::invalid(
                    "parameter_invalid_string",
                    format!("Invalid currency: {text}. Use a three-letter ISO code such as usd."),
                )
                .with_param(name)
            }),
        }
    }

    /// A test payment method (`pm_card_visa`, `pm_card_chargeDeclined`, `tok_visa`...).
    pub(super) fn payment_method(&self, name: &str) -> Result<Option<PaymentMethod>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(pm) if behaviour::is_known_payment_method(pm) => {
                Ok(Some(PaymentMethod::interned_token(pm)))
            }
            Some(pm) => Err(ApiError::invalid(
                "resource_missing",
                format!("No such PaymentMethod: '{pm}'. gateway-sim knows Stripe's test payment methods, such as pm_card_visa or pm_card_chargeDeclinedInsufficientFunds."),
            )
            .with_param(name)),
        }
    }

    pub(super) fn capture_method(&self) -> Result<Option<CaptureMethod>, ApiError> {
        Ok(
            match self.one_of(
                "capture_method",
                &["automatic", "automatic_async", "manual"],
            )? {
                None => None,
                Some("manual") => Some(CaptureMethod::Manual),
                Some(_) => Some(CaptureMethod::Automatic),
            },
        )
    }

    pub(super) fn one_of<'a>(
        &'a self,
        name: &'a str,
        allowed: &[&'static str],
    ) -> Result<Option<&'a str>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(value) if allowed.contains(&value) => Ok(Some(value)),
            Some(value) => Err(ApiError::invalid(
                "parameter_invalid_string",
                format!(
                    "Invalid {name}: must be one of {}; got '{value}'.",
                    allowed.join(", ")
                ),
            )
            .with_param(name)),
        }
    }

    /// `name[key]=value` pairs, checked against Stripe's metadata limits, and
    /// whether a bare `name=` (which empties the object) was sent.
    fn metadata_pairs(&self) -> Result<(bool, Vec<(String, String)>), ApiError> {
        let mut clear = false;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (path, value) in self.named("metadata") {
            match path.as_slice() {
                [_] if value.is_empty() => clear = true,
                [_, key] if !key.is_empty() => {
                    if key.chars().count() > MAX_METADATA_KEY_LEN {
                        return Err(ApiError::invalid(
                            "parameter_invalid_string",
                            format!("Metadata keys can be at most {MAX_METADATA_KEY_LEN} characters: '{key}'."),
                        )
                        .with_param(format!("metadata[{key}]")));
                    }
                    if value.chars().count() > MAX_METADATA_VALUE_LEN {
                        return Err(ApiError::invalid(
                            "parameter_invalid_string",
                            format!("Metadata values can be at most {MAX_METADATA_VALUE_LEN} characters."),
                        )
                        .with_param(format!("metadata[{key}]")));
                    }
                    pairs.retain(|(k, _)| k != key);
                    pairs.push((key.to_string(), value.to_string()));
                }
                _ => {
                    return Err(ApiError::invalid(
                        "parameter_invalid_string",
                        "Invalid metadata: send it as metadata[key]=value, with string values.",
                    )
                    .with_param(display_path(path)));
                }
            }
        }
        if pairs.len() > MAX_METADATA_KEYS {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                format!("Metadata can have at most {MAX_METADATA_KEYS} keys."),
            )
            .with_param("metadata"));
        }
        Ok((clear, pairs))
    }

    /// Metadata for a new object, as compact JSON text; empty values are skipped
    /// (on creation they unset nothing).
    pub(super) fn metadata_on_create(&self) -> Result<Option<String>, ApiError> {
        let (_, mut pairs) = self.metadata_pairs()?;
        pairs.retain(|(_, v)| !v.is_empty());
        if pairs.is_empty() {
            return Ok(None);
        }
        // Keys in order, as a JSON object's text always had them; written straight from the
        // pairs, since building a `serde_json::Map` to print it was a profile's largest
        // allocation on the create path.
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(
            serde_json::to_string(&JsonObject(&pairs)).expect("a map of strings always serializes"),
        ))
    }

    /// Stripe's update semantics: `metadata[k]=v` sets, `metadata[k]=` removes,
    /// `metadata=` empties the object.
    pub(super) fn metadata_patch(&self) -> Result<Option<MetadataPatch>, ApiError> {
        if self.named("metadata").next().is_none() {
            return Ok(None);
        }
        let (clear, pairs) = self.metadata_pairs()?;
        Ok(Some(MetadataPatch {
            clear,
            set: pairs
                .into_iter()
                .map(|(k, v)| (k, (!v.is_empty()).then_some(v)))
                .collect(),
        }))
    }

    /// `expand[]` (or `expand[0]`...), each one of `allowed`'s expansions, with or
    /// without the `data.` prefix lists use.
    pub(super) fn expand(&self, allowed: Expand) -> Result<Expand, ApiError> {
        let mut expand = Expand::NONE;
        for (path, value) in self.named("expand") {
            if path.len() > 2 {
                return Err(ApiError::invalid(
                    "parameter_invalid_string",
                    "Invalid expand: send it as expand[]=field.",
                )
                .with_param("expand"));
            }
            let field = value.strip_prefix("data.").unwrap_or(value);
            match Expand::named(field).filter(|e| allowed.contains(*e)) {
                Some(e) => expand = expand.with(e),
                None => {
                    return Err(ApiError::invalid(
                        "parameter_invalid_string",
                        format!("This property cannot be expanded ({value}). gateway-sim expands latest_charge and payment_method on PaymentIntents, payment_intent on charges, charge and payment_intent on refunds."),
                    )
                    .with_param("expand"));
                }
            }
        }
        Ok(expand)
    }

    pub(super) fn page(&self) -> Result<Page, ApiError> {
        let limit = match self.integer("limit")? {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(
                    "parameter_invalid_integer",
                    format!("Invalid limit: must be between 1 and {MAX_LIMIT}; got {n}."),
                )
                .with_param("limit"));
            }
        };
        let cursor = match (
            self.string("starting_after")?,
            self.string("ending_before")?,
        ) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "parameters_exclusive",
                    "Pass starting_after or ending_before, not both.",
                )
                .with_param("ending_before"));
            }
            (Some(id), None) => PageCursor::After(id.to_string()),
            (None, Some(id)) => PageCursor::Before(id.to_string()),
            (None, None) => PageCursor::Start,
        };
        Ok(Page { limit, cursor })
    }
}

/// Pairs with distinct keys, serialized as a JSON object in their order.
struct JsonObject<'a>(&'a [(String, String)]);

impl serde::Serialize for JsonObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

fn parse_form<'r>(text: &'r str, into: &mut Vec<Entry<'r>>) -> Result<(), ApiError> {
    let malformed = || {
        ApiError::invalid(
            "invalid_body",
            "The parameters are not valid form encoding (a malformed %-escape).",
        )
    };
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_decode(key).ok_or_else(malformed)?;
        let value = form_decode(value).ok_or_else(malformed)?;
        into.push((split_key(key)?, value));
    }
    Ok(())
}

/// `a[b][c]` → `["a", "b", "c"]`; `a[]` → `["a", ""]`. The segments borrow from `key`
/// when it borrows from the request.
fn split_key(key: Cow<'_, str>) -> Result<KeyPath<'_>, ApiError> {
    let segments = key_segments(&key).ok_or_else(|| {
        ApiError::invalid(
            "parameter_invalid_string",
            format!("Invalid parameter name: '{key}'."),
        )
    })?;
    Ok(match key {
        Cow::Borrowed(key) => segments
            .into_iter()
            .map(|r| Cow::Borrowed(&key[r]))
            .collect(),
        Cow::Owned(key) => segments
            .into_iter()
            .map(|r| Cow::Owned(key[r].to_string()))
            .collect(),
    })
}

/// Where the segments of `a[b][c]` lie in it; `None` if it is not such a key.
fn key_segments(key: &str) -> Option<SmallVec<[Range<usize>; 2]>> {
    let name_end = key.find('[').unwrap_or(key.len());
    if name_end == 0 {
        return None;
    }
    let mut segments = SmallVec::new();
    segments.push(0..name_end);
    let mut at = name_end;
    while at < key.len() {
        let inner = key[at..].strip_prefix('[')?;
        let len = inner.find(']')?;
        segments.push(at + 1..at + 1 + len);
        at += len + 2;
    }
    Some(segments)
}

fn flatten_json(prefix: &mut Vec<String>, value: &Value, into: &mut Vec<Entry<'_>>) {
    let path = |prefix: &[String]| prefix.iter().cloned().map(Cow::Owned).collect();
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                prefix.push(key.clone());
                flatten_json(prefix, value, into);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                prefix.push(i.to_string());
                flatten_json(prefix, value, into);
                prefix.pop();
            }
        }
        Value::String(s) => into.push((path(prefix), Cow::Owned(s.clone()))),
        Value::Null => into.push((path(prefix), Cow::Borrowed(""))),
        other => into.push((path(prefix), Cow::Owned(other.to_string()))),
    }
}

fn display_path(path: &[Cow<'_, str>]) -> String {
    let mut out = path[0].to_string();
    for segment in &path[1..] {
        out.push('[');
        out.push_str(segment);
        out.push(']');
    }
    out
}

/// 400 for a required parameter the request did not send.
pub(super) fn missing(param: &str) -> ApiError {
    ApiError::invalid(
        "parameter_missing",
        format!("Missing required param: {param}."),
    )
    .with_param(param)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(form: &str) -> Params<'_> {
        let mut entries = Vec::new();
        parse_form(form, &mut entries).unwrap();
        Params { entries }
    }

    #[test]
    fn nested_form_keys_become_paths() {
        let p = params(
            "amount=2000&metadata%5Border_id%5D=A+1&expand%5B0%5D=latest_charge&expand[]=payment_method",
        );
        assert_eq!(p.integer("amount").unwrap(), Some(2000));
        assert_eq!(
            p.metadata_on_create().unwrap().as_deref(),
            Some(r#"{"order_id":"A 1"}"#)
        );
        let expand = p.expand(Expand::ON_INTENT).unwrap();
        assert!(expand.contains(Expand::LATEST_CHARGE));
        assert!(expand.contains(Expand::PAYMENT_METHOD));
        assert!(
            p.expand(Expand::ON_REFUND).is_err(),
            "latest_charge is not a refund field"
        );
    }

    #[test]
    fn metadata_on_create_is_a_json_object_with_keys_in_order() {
        let p = params("metadata[z]=1&metadata[a]=%22q%22&metadata[m]=&metadata[z]=2");
        // What a serde_json::Map printed: sorted keys, escaped text, empty values left out,
        // the last of a repeated key.
        let mut expected = serde_json::Map::new();
        expected.insert("z".into(), "2".into());
        expected.insert("a".into(), "\"q\"".into());
        assert_eq!(
            p.metadata_on_create().unwrap(),
            Some(Value::Object(expected).to_string())
        );
        assert_eq!(
            p.metadata_on_create().unwrap().as_deref(),
            Some(r#"{"a":"\"q\"","z":"2"}"#)
        );
        assert_eq!(params("metadata[m]=").metadata_on_create().unwrap(), None);
    }

    #[test]
    fn escapes_and_plus_signs_decode_in_keys_and_values() {
        let p = params("description=a+b%20c%C3%A9&metadata%5Bo+k%5D=%26&plain[x]=y");
        assert_eq!(p.string("description").unwrap(), Some("a b c\u{e9}"));
        assert_eq!(
            p.nested("metadata").collect::<Vec<_>>(),
            [(&["o k".into()][..], "&")]
        );
        assert_eq!(
            p.nested("plain").collect::<Vec<_>>(),
            [(&["x".into()][..], "y")]
        );
    }

    #[test]
    fn malformed_and_unknown_parameters_are_refused() {
        let mut entries = Vec::new();
        assert!(parse_form("a%zz=1", &mut entries).is_err());
        assert!(parse_form("a[b=1", &mut entries).is_err());
        assert!(parse_form("[x]=1", &mut entries).is_err());
        // A `%` needs two hex digits, and what they make must be UTF-8.
        for bad in ["a=%+1", "a=%2", "a=%", "a=%ff", "a%5=1"] {
            assert!(parse_form(bad, &mut entries).is_err(), "{bad}");
        }
        let p = params("amount=12&amout=3");
        let e = p.only(&["amount"], true).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("parameter_unknown", Some("amout"))
        );
        assert!(params("description=x").only(&["amount"], true).is_ok());
        assert!(params("description=x").only(&["amount"], false).is_err());
        assert_eq!(
            params("amount=1.5").integer("amount").unwrap_err().code,
            "parameter_invalid_integer"
        );
        assert_eq!(
            params("confirm=yes")
                .boolean("confirm")
                .unwrap_err()
                .param
                .as_deref(),
            Some("confirm")
        );
        assert_eq!(
            params("amount[x]=1")
                .string("amount")
                .unwrap_err()
                .param
                .as_deref(),
            Some("amount")
        );
        assert!(params("amount=0").amount("amount").is_err());
        assert!(params("limit=101").page().is_err());
        assert!(params("starting_after=a&ending_before=b").page().is_err());
    }

    #[test]
    fn arrays_and_time_ranges_read_as_stripe_sends_them() {
        let p = params("types[]=a&types[]=b&created[gte]=10&created[lt]=20&created[gt]=12");
        assert_eq!(p.list("types").unwrap(), Some(vec!["a", "b"]));
        assert_eq!(p.list("other").unwrap(), None);
        assert_eq!(params("types=").list("types").unwrap(), Some(vec![]));
        assert!(params("types=a").list("types").is_err());
        assert_eq!(p.time_range("created").unwrap(), (Some(13), Some(19)));
        assert_eq!(
            params("created=5").time_range("created").unwrap(),
            (Some(5), Some(5))
        );
        assert_eq!(
            params("created[lt]=0").time_range("created").unwrap(),
            (Some(1), Some(0))
        );
        let e = params("created[gte]=-1").time_range("created").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("created[gte]"));
        assert!(params("created[after]=1").time_range("created").is_err());
        assert!(params("description=").sent("description"));
    }

    #[test]
    fn metadata_updates_set_remove_and_clear() {
        let patch = params("metadata[a]=1&metadata[b]=")
            .metadata_patch()
            .unwrap()
            .unwrap();
        assert!(!patch.clear);
        assert_eq!(
            patch.set,
            vec![
                ("a".to_string(), Some("1".to_string())),
                ("b".to_string(), None)
            ]
        );
        assert!(params("metadata=").metadata_patch().unwrap().unwrap().clear);
        assert_eq!(params("amount=1").metadata_patch().unwrap(), None);
        let long_key = format!("metadata[{}]=v", "k".repeat(41));
        assert!(params(&long_key).metadata_patch().is_err());
        assert!(params("metadata[a][b]=1").metadata_on_create().is_err());
    }

    #[test]
    fn json_bodies_flatten_like_forms() {
        let mut entries = Vec::new();
        let value = json!({"amount": 500, "confirm": true, "metadata": {"k": "v"}, "expand": ["latest_charge"]});
        flatten_json(&mut Vec::new(), &value, &mut entries);
        let p = Params { entries };
        assert_eq!(p.integer("amount").unwrap(), Some(500));
        assert_eq!(p.boolean("confirm").unwrap(), Some(true));
        assert_eq!(
            p.metadata_on_create().unwrap().as_deref(),
            Some(r#"{"k":"v"}"#)
        );
        assert!(
            p.expand(Expand::ON_INTENT)
                .unwrap()
                .contains(Expand::LATEST_CHARGE)
        );
    }
}
