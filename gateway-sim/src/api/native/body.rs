//! The native API's JSON bodies, validated field by field. Apart from routing
//! because strictness is this API's promise: unknown fields are refused and
//! every error names the field, so a typo never silently changes what is
//! charged.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;

use crate::api::{ApiError, check_return_url};
use crate::behaviour;
use crate::engine::ids::PaymentId;
use crate::engine::money::{Currency, MAX_AMOUNT};
use crate::engine::{DisputeAnswer, NewPayment, PaymentMethod, ReturnTo};

/// Metadata larger than this (as compact JSON) is refused.
const MAX_METADATA_BYTES: usize = 8 * 1024;
const MAX_REFERENCE_LEN: usize = 255;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// Text fields borrow from the request's bytes (`Cow` owns only text with escapes): a create
/// allocated a string per field here, and glibc's refills of those size classes were a tenth
/// of the server's CPU per request (perf, see BENCHMARKS.md).
struct CreateBody<'a> {
    amount: i64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    payment_method: Option<Cow<'a, str>>,
    card: Option<CardBody>,
    capture: Option<bool>,
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Where the buyer returns after a 3-D Secure challenge, if the card asks for one.
    return_url: Option<String>,
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
pub(super) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
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
pub(super) fn parse_create(body: &Bytes) -> Result<(NewPayment, Option<String>), ApiError> {
    if body.is_empty() {
        return Err(ApiError::invalid(
            "parameter_missing",
            "Send a JSON body with at least amount and currency.",
        )
        .with_param("amount"));
    }
    let b: CreateBody = parse_json(body)?;
    if b.amount <= 0 || b.amount > MAX_AMOUNT {
        return Err(ApiError::invalid(
            "invalid_amount",
            format!(
                "amount must be a positive integer in minor units (1000 = 10.00), at most {}",
                MAX_AMOUNT
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
    if let Some(url) = &b.return_url {
        check_return_url(url, "return_url")?;
    }
    let new = NewPayment {
        amount: b.amount,
        currency,
        payment_method,
        capture: b.capture.unwrap_or(true),
        reference: b.reference.map(Cow::into_owned),
        metadata,
        return_to: ReturnTo {
            url: b.return_url,
            param: "payment",
            id_prefix: PaymentId::PREFIX,
        },
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

pub(super) fn parse_amount(body: &Bytes) -> Result<Option<i64>, ApiError> {
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

/// The longest evidence text taken.
const MAX_EVIDENCE: usize = 20_000;

/// `POST /v1/disputes/{id}/evidence`: `{"text": "...", "submit": true}`; `text`
/// is required, `submit` (default true) sends it to the bank now.
pub(super) fn parse_evidence(body: &Bytes) -> Result<DisputeAnswer, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EvidenceBody {
        text: Option<String>,
        submit: Option<bool>,
    }
    if body.is_empty() {
        return Err(ApiError::invalid("parameter_missing", "text is required").with_param("text"));
    }
    let b: EvidenceBody = parse_json(body)?;
    let text = b.text.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        ApiError::invalid(
            "parameter_missing",
            "text is required: the evidence, non-empty",
        )
        .with_param("text")
    })?;
    if text.chars().count() > MAX_EVIDENCE {
        return Err(ApiError::invalid(
            "invalid_text",
            format!("text is longer than {MAX_EVIDENCE} characters"),
        )
        .with_param("text"));
    }
    Ok(DisputeAnswer {
        evidence: Some(text),
        submit: b.submit.unwrap_or(true),
        metadata: None,
    })
}

pub(super) fn parse_empty(body: &Bytes) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}
    parse_json::<Empty>(body).map(|_| ())
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

    #[test]
    fn text_with_escapes_reads_as_its_characters() {
        // Plain text is borrowed from the body; text with escapes is unescaped into its own
        // string. Both must give the characters the client meant.
        let (new, _) = parse_create(&Bytes::from_static(
            br#"{"amount": 100, "currency": "\u0075sd", "payment_method": "pm_card_\u0076isa", "reference": "order \"7\"\u00e9"}"#,
        ))
        .unwrap();
        assert_eq!(new.currency.as_str(), "usd");
        assert_eq!(new.reference.as_deref(), Some("order \"7\"\u{e9}"));
        assert!(
            matches!(new.payment_method, PaymentMethod::Token(ref t) if &**t == "pm_card_visa")
        );
    }
}
