//! The native JSON API: `/v1/payments...` and `/v1/idempotency-keys/{key}`.
//!
//! Routing and validation turn a request into a [`Call`]; [`Native`] renders
//! the engine's outcomes as this API's JSON. Unknown fields are refused, like
//! strict real gateways do, so a typo never silently changes what is charged.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize, Serializer};

use super::{ApiError, Call, Dialect, Incoming, Operation, Outcome, Reply};
use crate::behaviour;
use crate::engine::idempotency::KeyState;
use crate::engine::money::Currency;
use crate::engine::{Engine, NewPayment, Payment, PaymentMethod, Refund};

/// Metadata larger than this (as compact JSON) is refused.
const MAX_METADATA_BYTES: usize = 8 * 1024;
const MAX_REFERENCE_LEN: usize = 255;

/// Routes and validates a native API request: `None` when the path is not one of
/// this API's; errors are complete answers.
pub fn route(engine: &Engine, req: &Incoming<'_>) -> Option<Result<Call, ApiError>> {
    let op = match find_route(req) {
        Ok(Some(op)) => op,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some(build_call(engine, req, op))
}

fn find_route<'a>(req: &Incoming<'a>) -> Result<Option<Op<'a>>, ApiError> {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let (allowed, wanted): (&'static str, Option<Op>) = match segments.as_slice() {
        ["v1", "payments"] => (
            "GET, POST",
            Some(if req.method == Method::POST {
                Op::Create
            } else {
                Op::List
            }),
        ),
        ["v1", "payments", id] => ("GET", Some(Op::Retrieve(id))),
        ["v1", "payments", id, "capture"] => ("POST", Some(Op::Capture(id))),
        ["v1", "payments", id, "cancel"] => ("POST", Some(Op::Cancel(id))),
        ["v1", "payments", id, "refunds"] => ("POST", Some(Op::Refund(id))),
        ["v1", "idempotency-keys", key] => ("GET", Some(Op::LookupKey(key))),
        _ => ("", None),
    };
    let Some(op) = wanted else {
        return Ok(None);
    };
    if !allowed.split(", ").any(|m| m == req.method.as_str()) {
        return Err(ApiError::method_not_allowed(req.method, req.path, allowed));
    }
    Ok(Some(op))
}

fn build_call(engine: &Engine, req: &Incoming<'_>, op: Op<'_>) -> Result<Call, ApiError> {
    let api_key = super::bearer_api_key(req.headers).ok_or_else(ApiError::unauthorized)?;
    let merchant = engine.merchant(api_key);
    let idempotency_key = if req.method == Method::POST {
        super::idempotency_key(req.headers)?
    } else {
        None
    };
    if req.method == Method::POST && !req.body.is_empty() && !is_json(req.headers) {
        return Err(ApiError::unsupported_media_type());
    }

    let mut card_number = None;
    let operation = match op {
        Op::Create => {
            let (new, number) = parse_create(req.body)?;
            card_number = number;
            Operation::Create(new)
        }
        Op::List => {
            let reference = super::query_param(req.query, "reference").ok_or_else(|| {
                ApiError::invalid(
                    "parameter_missing",
                    "List payments by merchant order: GET /v1/payments?reference=<order id>.",
                )
                .with_param("reference")
            })?;
            Operation::ListByReference { reference }
        }
        Op::Retrieve(id) => Operation::Retrieve {
            id: decode_segment(id)?,
        },
        Op::Capture(id) => Operation::Capture {
            id: decode_segment(id)?,
            amount: parse_amount_body(req.body)?,
        },
        Op::Cancel(id) => {
            parse_empty_body(req.body)?;
            Operation::Cancel {
                id: decode_segment(id)?,
            }
        }
        Op::Refund(id) => Operation::Refund {
            id: decode_segment(id)?,
            amount: parse_amount_body(req.body)?,
        },
        Op::LookupKey(key) => Operation::LookupKey {
            key: decode_segment(key)?,
        },
    };
    let mut call = Call::new(
        merchant,
        Arc::from(api_key),
        operation,
        idempotency_key,
        req.method,
        req.path,
        req.body,
    );
    call.card_number = card_number;
    Ok(call)
}

enum Op<'a> {
    Create,
    List,
    Retrieve(&'a str),
    Capture(&'a str),
    Cancel(&'a str),
    Refund(&'a str),
    LookupKey(&'a str),
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || mime.to_ascii_lowercase().ends_with("+json")
        })
}

fn decode_segment(segment: &str) -> Result<String, ApiError> {
    super::percent_decode(segment)
        .ok_or_else(|| ApiError::invalid("invalid_path", "The URL has a malformed %-escape."))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    amount: i64,
    currency: String,
    payment_method: Option<String>,
    card: Option<CardBody>,
    capture: Option<bool>,
    reference: Option<String>,
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardBody {
    number: String,
    exp_month: u8,
    exp_year: u16,
    cvc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountBody {
    amount: Option<i64>,
}

/// Parses JSON into `T`, naming the offending field in the error.
fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde reports a missing field at its parent; name the field itself.
        let param = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(|field| {
                if path == "." {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                }
            })
            .or_else(|| {
                message
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split('`').next())
                    .map(str::to_string)
            })
            .or_else(|| (path != ".").then_some(path));
        let code = if inner.is_syntax() || inner.is_eof() {
            "invalid_json"
        } else {
            "parameter_invalid"
        };
        let e = ApiError::invalid(code, format!("Invalid request body: {message}"));
        match param {
            Some(p) => e.with_param(p),
            None => e,
        }
    })
}

/// The validated payment, and the full card number when a card was sent: the
/// engine keeps only its last four digits, the fault model needs it for test cards.
fn parse_create(body: &Bytes) -> Result<(NewPayment, Option<String>), ApiError> {
    if body.is_empty() {
        return Err(ApiError::invalid(
            "parameter_missing",
            "Send a JSON body with at least amount and currency.",
        )
        .with_param("amount"));
    }
    let b: CreateBody = parse_json(body)?;
    if b.amount <= 0 || b.amount > crate::engine::money::MAX_AMOUNT {
        return Err(ApiError::invalid(
            "invalid_amount",
            format!(
                "amount must be a positive integer in minor units (1000 = 10.00), at most {}",
                crate::engine::money::MAX_AMOUNT
            ),
        )
        .with_param("amount"));
    }
    let currency = Currency::parse(&b.currency).ok_or_else(|| {
        ApiError::invalid(
            "invalid_currency",
            format!("'{}' is not a three-letter currency code", b.currency),
        )
        .with_param("currency")
    })?;
    let mut card_number = None;
    let payment_method = match (b.payment_method, b.card) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "parameter_conflict",
                "Send either payment_method or card, not both.",
            )
            .with_param("card"));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "parameter_missing",
                "Send a payment_method token (such as pm_card_visa) or a card object.",
            )
            .with_param("payment_method"));
        }
        (Some(pm), None) => {
            if !behaviour::is_known_payment_method(&pm) {
                return Err(ApiError::invalid(
                    "resource_missing",
                    format!(
                        "No such payment method: '{pm}'. Use a test token such as pm_card_visa."
                    ),
                )
                .with_param("payment_method"));
            }
            PaymentMethod::interned_token(&pm)
        }
        (None, Some(card)) => {
            let (method, number) = parse_card(card)?;
            card_number = Some(number);
            method
        }
    };
    if let Some(reference) = &b.reference
        && (reference.is_empty() || reference.len() > MAX_REFERENCE_LEN)
    {
        return Err(ApiError::invalid(
            "parameter_invalid",
            format!("reference must be 1 to {MAX_REFERENCE_LEN} characters"),
        )
        .with_param("reference"));
    }
    let metadata = match b.metadata {
        Some(map) if !map.is_empty() => {
            let text = serde_json::to_string(&map).unwrap_or_default();
            if text.len() > MAX_METADATA_BYTES {
                return Err(ApiError::invalid(
                    "parameter_invalid",
                    format!("metadata must be at most {MAX_METADATA_BYTES} bytes of JSON"),
                )
                .with_param("metadata"));
            }
            Some(text)
        }
        _ => None,
    };
    let new = NewPayment {
        amount: b.amount,
        currency,
        payment_method,
        capture: b.capture.unwrap_or(true),
        reference: b.reference,
        metadata,
    };
    Ok((new, card_number))
}

fn parse_card(card: CardBody) -> Result<(PaymentMethod, String), ApiError> {
    let digits: String = card
        .number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if !(12..=19).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !luhn_valid(&digits)
    {
        return Err(ApiError::invalid(
            "invalid_number",
            "The card number is not a valid card number.",
        )
        .with_param("card.number"));
    }
    if !(1..=12).contains(&card.exp_month) {
        return Err(
            ApiError::invalid("invalid_expiry_month", "exp_month must be 1 to 12")
                .with_param("card.exp_month"),
        );
    }
    if !(2000..=2100).contains(&card.exp_year) {
        return Err(
            ApiError::invalid("invalid_expiry_year", "exp_year must be a four-digit year")
                .with_param("card.exp_year"),
        );
    }
    if let Some(cvc) = &card.cvc
        && (!(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(
            ApiError::invalid("invalid_cvc", "cvc must be 3 or 4 digits").with_param("card.cvc"),
        );
    }
    let tail = &digits.as_bytes()[digits.len() - 4..];
    let method = PaymentMethod::Card {
        last4: [tail[0], tail[1], tail[2], tail[3]],
        exp_month: card.exp_month,
        exp_year: card.exp_year,
    };
    Ok((method, digits))
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn parse_amount_body(body: &Bytes) -> Result<Option<i64>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    let b: AmountBody = parse_json(body)?;
    if let Some(amount) = b.amount
        && amount <= 0
    {
        return Err(ApiError::invalid(
            "invalid_amount",
            "amount must be a positive integer in minor units",
        )
        .with_param("amount"));
    }
    Ok(b.amount)
}

fn parse_empty_body(body: &Bytes) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}
    parse_json::<Empty>(body).map(|_| ())
}

// ---- rendering ---------------------------------------------------------------

/// The native dialect's renderer.
pub struct Native;

impl Dialect for Native {
    fn render(&self, _engine: &Engine, outcome: &Outcome) -> Reply {
        match outcome {
            Outcome::Payment(p) => Reply::ok(to_json(&PaymentJson::from(p))),
            Outcome::Declined(p) => ApiError::declined(
                p.id.to_string(),
                p.decline_code.as_deref().unwrap_or(behaviour::DeclineCode::GENERIC_DECLINE.as_str()),
            )
            .into_reply(),
            Outcome::Refund(r) => Reply::ok(to_json(&RefundJson::from(r))),
            Outcome::Payments(list) => Reply::ok(to_json(&ListJson {
                object: "list",
                data: list.iter().map(PaymentJson::from).collect(),
            })),
            Outcome::Key(key, state) => match state {
                None => ApiError::not_found(
                    "resource_missing",
                    format!("The gateway has no record of idempotency key '{key}' (never used, expired, or its request changed nothing)."),
                )
                .into_reply(),
                Some(state) => Reply::ok(key_json(key, state)),
            },
            Outcome::Refused(e) => e.clone().into_reply(),
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

fn display<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[derive(Serialize)]
struct PaymentJson<'a> {
    #[serde(serialize_with = "display")]
    id: crate::engine::ids::PaymentId,
    object: &'static str,
    status: &'static str,
    amount: i64,
    amount_capturable: i64,
    amount_captured: i64,
    amount_refunded: i64,
    currency: &'a str,
    reference: Option<&'a str>,
    created: u64,
    payment_method: PaymentMethodJson<'a>,
    decline_code: Option<&'a str>,
    metadata: Metadata<'a>,
    refunds: Vec<RefundJson>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum PaymentMethodJson<'a> {
    Token(&'a str),
    Card { card: CardJson },
}

#[derive(Serialize)]
struct CardJson {
    last4: String,
    exp_month: u8,
    exp_year: u16,
}

/// Metadata is kept as the JSON text it arrived as and written back verbatim.
struct Metadata<'a>(Option<&'a str>);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self
            .0
            .and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok())
        {
            Some(raw) => raw.serialize(s),
            None => serde_json::Map::new().serialize(s),
        }
    }
}

impl<'a> From<&'a Payment> for PaymentJson<'a> {
    fn from(p: &'a Payment) -> Self {
        PaymentJson {
            id: p.id,
            object: "payment",
            status: p.status.as_str(),
            amount: p.amount,
            amount_capturable: p.amount_capturable,
            amount_captured: p.amount_captured,
            amount_refunded: p.amount_refunded,
            currency: p.currency.as_str(),
            reference: p.reference.as_deref(),
            created: p.created,
            payment_method: match &p.payment_method {
                PaymentMethod::Token(t) => PaymentMethodJson::Token(t),
                PaymentMethod::Card {
                    last4,
                    exp_month,
                    exp_year,
                } => PaymentMethodJson::Card {
                    card: CardJson {
                        last4: String::from_utf8_lossy(last4).into_owned(),
                        exp_month: *exp_month,
                        exp_year: *exp_year,
                    },
                },
            },
            decline_code: p.decline_code.as_deref(),
            metadata: Metadata(p.metadata.as_deref()),
            refunds: p.refunds.iter().map(RefundJson::from).collect(),
        }
    }
}

#[derive(Serialize)]
struct RefundJson {
    #[serde(serialize_with = "display")]
    id: crate::engine::ids::RefundId,
    object: &'static str,
    amount: i64,
    #[serde(serialize_with = "display")]
    payment_id: crate::engine::ids::PaymentId,
    status: &'static str,
    created: u64,
}

impl From<&Refund> for RefundJson {
    fn from(r: &Refund) -> Self {
        RefundJson {
            id: r.id,
            object: "refund",
            amount: r.amount,
            payment_id: r.payment,
            status: "succeeded",
            created: r.created,
        }
    }
}

#[derive(Serialize)]
struct ListJson<'a> {
    object: &'static str,
    data: Vec<PaymentJson<'a>>,
}

fn key_json(key: &str, state: &KeyState) -> Bytes {
    #[derive(Serialize)]
    struct StoredJson<'a> {
        status: u16,
        body: &'a serde_json::value::RawValue,
    }
    #[derive(Serialize)]
    struct KeyJson<'a> {
        object: &'static str,
        key: &'a str,
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<StoredJson<'a>>,
    }
    let expanded = match state {
        KeyState::Completed(stored) => super::compact::unpack(&stored.body),
        KeyState::InFlight => Bytes::new(),
    };
    let (status, response) = match state {
        KeyState::InFlight => ("in_flight", None),
        KeyState::Completed(stored) => {
            let body = std::str::from_utf8(&expanded)
                .ok()
                .and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok());
            (
                "completed",
                body.map(|body| StoredJson {
                    status: stored.status,
                    body,
                }),
            )
        }
    };
    to_json(&KeyJson {
        object: "idempotency_key",
        key,
        status,
        response,
    })
}

/// A JSON answer for a status the caller chose (used by tests and control plane).
pub fn json_reply(status: StatusCode, value: &impl Serialize) -> Reply {
    Reply::json(status, to_json(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_refuses_typos() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("4000000000000002"));
        assert!(!luhn_valid("4242424242424241"));
    }

    #[test]
    fn create_bodies_are_validated_field_by_field() {
        let err = |body: &str| parse_create(&Bytes::from(body.to_string())).unwrap_err();
        assert_eq!(
            err(r#"{"amount": 10.5, "currency": "usd", "payment_method": "pm_card_visa"}"#)
                .param
                .as_deref(),
            Some("amount")
        );
        assert_eq!(
            err(r#"{"currency": "usd", "payment_method": "pm_card_visa"}"#)
                .param
                .as_deref(),
            Some("amount")
        );
        assert_eq!(
            err(r#"{"amount": 0, "currency": "usd", "payment_method": "pm_card_visa"}"#).code,
            "invalid_amount"
        );
        assert_eq!(
            err(r#"{"amount": 100, "currency": "dollars", "payment_method": "pm_card_visa"}"#).code,
            "invalid_currency"
        );
        assert_eq!(
            err(r#"{"amount": 100, "currency": "usd"}"#)
                .param
                .as_deref(),
            Some("payment_method")
        );
        assert_eq!(err(r#"{"amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "amout": 1}"#).param.as_deref(), Some("amout"));
        assert_eq!(err(r#"{"amount": 100, "currency": "usd", "card": {"number": "4242424242424241", "exp_month": 1, "exp_year": 2030}}"#).code, "invalid_number");
        assert_eq!(err("{not json").code, "invalid_json");
        let ok = parse_create(&Bytes::from_static(
            br#"{"amount": 100, "currency": "EUR", "card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}, "capture": false, "metadata": {"order": "7"}}"#,
        ))
        .unwrap();
        let (ok, number) = ok;
        assert_eq!(number.as_deref(), Some("4242424242424242"));
        assert!(!ok.capture);
        assert_eq!(ok.currency.as_str(), "eur");
        assert_eq!(ok.metadata.as_deref(), Some(r#"{"order":"7"}"#));
    }
}
