//! The Stripe-compatible front door: `/v1/payment_intents`, `/v1/charges`,
//! `/v1/refunds` and `/v1/payment_methods`, spoken the way Stripe's official SDKs
//! speak them, so a service built on an SDK runs against the simulator unchanged.
//!
//! An adapter over the same engine as the native API, with no state of its own: a
//! PaymentIntent `pi_X` is the engine's payment `pay_X` (same digits), its charge is
//! `ch_X`, refunds are `re_...` in both dialects. Idempotency keys, the ledger and the
//! fault model are the engine's and the server's. This module only parses
//! form-encoded (or JSON) parameters into engine operations, and renders engine
//! outcomes as Stripe objects and Stripe-shaped errors.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{ApiError, Call, Dialect, Incoming, Operation, Outcome, Reply};
use crate::behaviour;
use crate::engine::ids::PaymentId;
use crate::engine::money::Currency;
use crate::engine::{
    CaptureMethod, Cursor, Engine, MetadataPatch, NewPayment, NewPendingPayment, PageQuery,
    Payment, PaymentMethod, PaymentStatus, PaymentUpdate, Refund,
};

/// Stripe's limits on metadata: keys, key length, value length.
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY_LEN: usize = 40;
const MAX_METADATA_VALUE_LEN: usize = 500;
/// Stripe's page sizes: 1 to 100, 10 when not given.
const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 10;

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

// ---- routing -------------------------------------------------------------------

/// Routes a Stripe API request: `None` when the path is not one of this dialect's.
/// `Err` is a complete answer: an error in Stripe's shape, or a payment-method
/// lookup, which reads a fixed catalogue of test tokens, not the gateway's state.
pub fn route(engine: &Engine, req: &Incoming<'_>) -> Option<Result<Call, Reply>> {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let post = req.method == Method::POST;
    let get = req.method == Method::GET;
    let route = match segments.as_slice() {
        ["v1", "payment_intents"] if post => Route::CreateIntent,
        ["v1", "payment_intents"] if get => Route::ListIntents,
        ["v1", "payment_intents", id] if get => Route::RetrieveIntent(id),
        ["v1", "payment_intents", id] if post => Route::UpdateIntent(id),
        ["v1", "payment_intents", id, "confirm"] if post => Route::Confirm(id),
        ["v1", "payment_intents", id, "capture"] if post => Route::Capture(id),
        ["v1", "payment_intents", id, "cancel"] if post => Route::Cancel(id),
        ["v1", "charges"] if get => Route::ListCharges,
        ["v1", "charges", id] if get => Route::RetrieveCharge(id),
        ["v1", "refunds"] if post => Route::CreateRefund,
        ["v1", "refunds"] if get => Route::ListRefunds,
        ["v1", "refunds", id] if get => Route::RetrieveRefund(id),
        ["v1", "payment_methods", id] if get => Route::RetrievePaymentMethod(id),
        [
            "v1",
            "payment_intents" | "charges" | "refunds" | "payment_methods",
            ..,
        ] => {
            return Some(Err(error_reply(&unrecognized_url(req.method, req.path))));
        }
        _ => return None,
    };
    Some(build_call(engine, req, route))
}

enum Route<'a> {
    CreateIntent,
    ListIntents,
    RetrieveIntent(&'a str),
    UpdateIntent(&'a str),
    Confirm(&'a str),
    Capture(&'a str),
    Cancel(&'a str),
    ListCharges,
    RetrieveCharge(&'a str),
    CreateRefund,
    ListRefunds,
    RetrieveRefund(&'a str),
    RetrievePaymentMethod(&'a str),
}

/// Stripe answers an unknown path, or a known path with the wrong method, with 404.
fn unrecognized_url(method: &Method, path: &str) -> ApiError {
    ApiError::not_found(
        "unrecognized_request_url",
        format!(
            "Unrecognized request URL ({method}: {path}). gateway-sim serves a subset of Stripe's API: see docs/stripe.md."
        ),
    )
}

fn build_call(engine: &Engine, req: &Incoming<'_>, route: Route<'_>) -> Result<Call, Reply> {
    let api_key = api_key(req.headers).ok_or_else(|| error_reply(&missing_api_key()))?;
    let merchant = engine.merchant(&api_key);
    let post = req.method == Method::POST;
    let idempotency_key = if post {
        super::idempotency_key(req.headers).map_err(|e| error_reply(&e))?
    } else {
        None
    };
    let params = Params::from_request(req).map_err(|e| error_reply(&e))?;
    let (operation, view) = match route {
        Route::RetrievePaymentMethod(id) => {
            return Err(payment_method_reply(&decode(id)?, &params));
        }
        route => operation_for(engine, merchant, route, &params).map_err(|e| error_reply(&e))?,
    };
    let mut call = Call::new(
        merchant,
        Arc::from(api_key.as_str()),
        operation,
        idempotency_key,
        req.method,
        req.path,
        req.body,
    );
    call.view = super::View::Stripe(Arc::new(view));
    Ok(call)
}

fn decode(segment: &str) -> Result<String, Reply> {
    super::percent_decode(segment).ok_or_else(|| {
        error_reply(&ApiError::invalid(
            "invalid_path",
            "The URL has a malformed %-escape.",
        ))
    })
}

/// The operation a request asks for, and how its outcome is to be shown.
fn operation_for(
    engine: &Engine,
    merchant: crate::engine::ids::MerchantId,
    route: Route<'_>,
    params: &Params,
) -> Result<(Operation, View), ApiError> {
    let segment = |id: &str| {
        super::percent_decode(id)
            .ok_or_else(|| ApiError::invalid("invalid_path", "The URL has a malformed %-escape."))
    };
    Ok(match route {
        Route::CreateIntent => {
            params.only(
                &[
                    "amount",
                    "currency",
                    "payment_method",
                    "confirm",
                    "capture_method",
                    "metadata",
                    "expand",
                ],
                true,
            )?;
            let expand = params.expand(Expand::ON_INTENT)?;
            let amount = params.amount("amount")?.ok_or_else(|| missing("amount"))?;
            let currency = params
                .currency("currency")?
                .ok_or_else(|| missing("currency"))?;
            let payment_method = params.payment_method("payment_method")?;
            let capture_method = params.capture_method()?.unwrap_or(CaptureMethod::Automatic);
            let metadata = params.metadata_on_create()?;
            let view = View::of(Object::PaymentIntent, expand, None, "intent");
            let operation = if params.boolean("confirm")?.unwrap_or(false) {
                let payment_method = payment_method.ok_or_else(|| {
                    ApiError::invalid(
                        "payment_intent_unexpected_state",
                        "You cannot confirm this PaymentIntent because it's missing a payment method. Pass payment_method (such as pm_card_visa).",
                    )
                    .with_param("payment_method")
                })?;
                Operation::Create(NewPayment {
                    amount,
                    currency,
                    payment_method,
                    capture: capture_method == CaptureMethod::Automatic,
                    reference: None,
                    metadata,
                })
            } else {
                Operation::CreatePending(NewPendingPayment {
                    amount,
                    currency,
                    payment_method,
                    capture_method,
                    reference: None,
                    metadata,
                })
            };
            (operation, view)
        }
        Route::RetrieveIntent(id) => {
            params.only(&["expand", "client_secret"], false)?;
            let id = segment(id)?;
            let view = View::of(
                Object::PaymentIntent,
                params.expand(Expand::ON_INTENT)?,
                Some(&id),
                "intent",
            );
            (
                Operation::Retrieve {
                    id: engine_id(&id, INTENT),
                },
                view,
            )
        }
        Route::UpdateIntent(id) => {
            params.only(
                &[
                    "amount",
                    "currency",
                    "payment_method",
                    "capture_method",
                    "metadata",
                    "expand",
                ],
                true,
            )?;
            let id = segment(id)?;
            let update = PaymentUpdate {
                amount: params.amount("amount")?,
                currency: params.currency("currency")?,
                payment_method: params.payment_method("payment_method")?,
                capture_method: params.capture_method()?,
                metadata: params.metadata_patch()?,
            };
            let view = View::of(
                Object::PaymentIntent,
                params.expand(Expand::ON_INTENT)?,
                Some(&id),
                "intent",
            );
            (
                Operation::Update {
                    id: engine_id(&id, INTENT),
                    update,
                },
                view,
            )
        }
        Route::Confirm(id) => {
            params.only(&["payment_method", "expand"], true)?;
            let id = segment(id)?;
            let payment_method = params.payment_method("payment_method")?;
            let engine_id = engine_id(&id, INTENT);
            let attempt =
                engine.confirmation_preview(merchant, &engine_id, payment_method.as_ref());
            let view = View::of(
                Object::PaymentIntent,
                params.expand(Expand::ON_INTENT)?,
                Some(&id),
                "intent",
            );
            (
                Operation::Confirm {
                    id: engine_id,
                    payment_method,
                    attempt,
                },
                view,
            )
        }
        Route::Capture(id) => {
            params.only(
                &[
                    "amount_to_capture",
                    "expand",
                    "statement_descriptor",
                    "statement_descriptor_suffix",
                ],
                false,
            )?;
            let id = segment(id)?;
            let amount = params.amount("amount_to_capture")?;
            let mut view = View::of(
                Object::PaymentIntent,
                params.expand(Expand::ON_INTENT)?,
                Some(&id),
                "intent",
            );
            view.amount_param = "amount_to_capture";
            (
                Operation::Capture {
                    id: engine_id(&id, INTENT),
                    amount,
                },
                view,
            )
        }
        Route::Cancel(id) => {
            params.only(&["cancellation_reason", "expand"], false)?;
            params.one_of(
                "cancellation_reason",
                &[
                    "abandoned",
                    "duplicate",
                    "fraudulent",
                    "requested_by_customer",
                ],
            )?;
            let id = segment(id)?;
            let view = View::of(
                Object::PaymentIntent,
                params.expand(Expand::ON_INTENT)?,
                Some(&id),
                "intent",
            );
            (
                Operation::CancelOrAbandon {
                    id: engine_id(&id, INTENT),
                },
                view,
            )
        }
        Route::ListIntents => {
            params.only(
                &["limit", "starting_after", "ending_before", "expand"],
                false,
            )?;
            let page = params.page()?;
            let expand = params.expand(Expand::ON_INTENT)?;
            let query = page.query(INTENT, false);
            let view = View::list(
                Object::PaymentIntentList,
                expand,
                page,
                "/v1/payment_intents",
            );
            (Operation::ListPage(query), view)
        }
        Route::RetrieveCharge(id) => {
            params.only(&["expand"], false)?;
            let id = segment(id)?;
            let view = View::of(
                Object::Charge,
                params.expand(Expand::ON_CHARGE)?,
                Some(&id),
                "charge",
            );
            (
                Operation::Retrieve {
                    id: engine_id(&id, CHARGE),
                },
                view,
            )
        }
        Route::ListCharges => {
            params.only(
                &[
                    "payment_intent",
                    "limit",
                    "starting_after",
                    "ending_before",
                    "expand",
                ],
                false,
            )?;
            let page = params.page()?;
            let expand = params.expand(Expand::ON_CHARGE)?;
            match params.string("payment_intent")? {
                Some(intent) => {
                    let mut view = View::list(Object::ChargeList, expand, page, "/v1/charges");
                    view.asked_id = Some(intent.to_string());
                    view.param = "payment_intent";
                    (
                        Operation::Retrieve {
                            id: engine_id(intent, INTENT),
                        },
                        view,
                    )
                }
                None => {
                    let query = page.query(CHARGE, true);
                    (
                        Operation::ListPage(query),
                        View::list(Object::ChargeList, expand, page, "/v1/charges"),
                    )
                }
            }
        }
        Route::CreateRefund => {
            params.only(
                &[
                    "payment_intent",
                    "charge",
                    "amount",
                    "reason",
                    "metadata",
                    "expand",
                    "instructions_email",
                ],
                false,
            )?;
            params.one_of(
                "reason",
                &["duplicate", "fraudulent", "requested_by_customer"],
            )?;
            // Refund metadata is accepted for compatibility but not kept (docs/stripe.md).
            params.metadata_on_create()?;
            let amount = params.amount("amount")?;
            let expand = params.expand(Expand::ON_REFUND)?;
            let (asked, engine_id, param) =
                match (params.string("payment_intent")?, params.string("charge")?) {
                    (Some(_), Some(_)) => {
                        return Err(ApiError::invalid(
                            "parameters_exclusive",
                            "Pass either payment_intent or charge, not both.",
                        )
                        .with_param("charge"));
                    }
                    (Some(intent), None) => (intent, engine_id(intent, INTENT), "payment_intent"),
                    (None, Some(charge)) => (charge, engine_id(charge, CHARGE), "charge"),
                    (None, None) => {
                        return Err(ApiError::invalid(
                            "parameter_missing",
                            "Pass the payment_intent or the charge to refund.",
                        )
                        .with_param("payment_intent"));
                    }
                };
            let mut view = View::of(Object::Refund, expand, Some(asked), param);
            view.refunded_object = if param == "charge" { CHARGE } else { INTENT };
            (
                Operation::Refund {
                    id: engine_id,
                    amount,
                },
                view,
            )
        }
        Route::RetrieveRefund(id) => {
            params.only(&["expand"], false)?;
            let id = segment(id)?;
            let view = View::of(
                Object::Refund,
                params.expand(Expand::ON_REFUND)?,
                Some(&id),
                "refund",
            );
            (Operation::RetrieveRefund { id }, view)
        }
        Route::ListRefunds => {
            params.only(
                &[
                    "payment_intent",
                    "charge",
                    "limit",
                    "starting_after",
                    "ending_before",
                    "expand",
                ],
                false,
            )?;
            let page = params.page()?;
            let expand = params.expand(Expand::ON_REFUND)?;
            let (asked, engine_id, param) = match (
                params.string("payment_intent")?,
                params.string("charge")?,
            ) {
                (Some(intent), _) => (intent, engine_id(intent, INTENT), "payment_intent"),
                (None, Some(charge)) => (charge, engine_id(charge, CHARGE), "charge"),
                (None, None) => {
                    return Err(ApiError::invalid(
                        "parameter_missing",
                        "gateway-sim lists the refunds of one payment: pass payment_intent or charge.",
                    )
                    .with_param("payment_intent"));
                }
            };
            let mut view = View::list(Object::RefundList, expand, page, "/v1/refunds");
            view.asked_id = Some(asked.to_string());
            view.param = param;
            (Operation::Retrieve { id: engine_id }, view)
        }
        Route::RetrievePaymentMethod(_) => {
            // Answered at routing (see `build_call`); unreachable by construction.
            return Err(unrecognized_url(&Method::GET, "/v1/payment_methods"));
        }
    })
}

// ---- ids -------------------------------------------------------------------------

const INTENT: &str = "pi_";
const CHARGE: &str = "ch_";

/// The engine's id for a Stripe id with `prefix`: `pi_X` → `pay_X`. Anything else
/// maps to an id the engine never has, so it is reported missing.
fn engine_id(stripe_id: &str, prefix: &str) -> String {
    match stripe_id.strip_prefix(prefix) {
        Some(digits) => format!("{}{digits}", PaymentId::PREFIX),
        None => String::new(),
    }
}

/// The Stripe id of an engine payment with `prefix`: `pay_X` → `pi_X` or `ch_X`.
fn stripe_id(id: PaymentId, prefix: &str) -> String {
    let printed = id.to_string();
    let digits = printed.strip_prefix(PaymentId::PREFIX).unwrap_or(&printed);
    format!("{prefix}{digits}")
}

// ---- authentication ----------------------------------------------------------------

/// The API key: `Authorization: Bearer <key>`, or HTTP Basic with the key as the
/// user name (how Stripe's curl examples send it, `-u sk_test_...:`).
fn api_key(headers: &http::HeaderMap) -> Option<String> {
    if let Some(key) = super::bearer_api_key(headers) {
        return Some(key.to_string());
    }
    basic_auth_user(headers)
}

fn basic_auth_user(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let user = decoded.split(':').next().unwrap_or_default();
    (!user.is_empty()).then(|| user.to_string())
}

/// Standard or URL-safe base64, padding optional; `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn missing_api_key() -> ApiError {
    let mut e = ApiError::unauthorized();
    e.message = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer sk_test_...') or Basic auth with the key as the user name. Any non-empty key names a merchant account in gateway-sim.".to_string();
    e
}

// ---- parameters ----------------------------------------------------------------------

/// Request parameters as Stripe's SDKs send them: form-encoded with nested keys
/// (`metadata[order_id]=7`, `expand[0]=latest_charge`, `expand[]=...`), from the
/// query string and, for POST, the body; a JSON body is accepted too. Each entry is
/// a key path (`["metadata", "order_id"]`) and its value.
struct Params {
    entries: Vec<(Vec<String>, String)>,
}

impl Params {
    fn from_request(req: &Incoming<'_>) -> Result<Params, ApiError> {
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
    fn only(&self, known: &[&str], not_modelled: bool) -> Result<(), ApiError> {
        for (path, _) in &self.entries {
            let name = path[0].as_str();
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

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a (Vec<String>, String)> {
        self.entries.iter().filter(move |(path, _)| path[0] == name)
    }

    /// A plain value (`name=value`); the last one wins. An empty value means "not
    /// given", as in Stripe's forms.
    fn string<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ApiError> {
        let mut found = None;
        for (path, value) in self.named(name) {
            if path.len() > 1 {
                return Err(ApiError::invalid(
                    "parameter_invalid_string",
                    format!("Invalid {name}: expected a string, got an object."),
                )
                .with_param(name));
            }
            found = Some(value.as_str());
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
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

    fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
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
    fn amount(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.integer(name)? {
            Some(amount) if amount <= 0 || amount > crate::engine::money::MAX_AMOUNT => {
                Err(ApiError::invalid(
                    "amount_too_small",
                    format!(
                        "{name} must be a positive integer in the currency's smallest unit, at most {}.",
                        crate::engine::money::MAX_AMOUNT
                    ),
                )
                .with_param(name))
            }
            amount => Ok(amount),
        }
    }

    fn currency(&self, name: &str) -> Result<Option<Currency>, ApiError> {
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
    fn payment_method(&self, name: &str) -> Result<Option<PaymentMethod>, ApiError> {
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

    fn capture_method(&self) -> Result<Option<CaptureMethod>, ApiError> {
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

    fn one_of<'a>(
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
                    pairs.push((key.clone(), value.clone()));
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
    fn metadata_on_create(&self) -> Result<Option<String>, ApiError> {
        let (_, pairs) = self.metadata_pairs()?;
        let map: Map<String, Value> = pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Ok((!map.is_empty()).then(|| Value::Object(map).to_string()))
    }

    /// Stripe's update semantics: `metadata[k]=v` sets, `metadata[k]=` removes,
    /// `metadata=` empties the object.
    fn metadata_patch(&self) -> Result<Option<MetadataPatch>, ApiError> {
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
    fn expand(&self, allowed: Expand) -> Result<Expand, ApiError> {
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

    fn page(&self) -> Result<Page, ApiError> {
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

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
}

fn parse_form(text: &str, into: &mut Vec<(Vec<String>, String)>) -> Result<(), ApiError> {
    let malformed = || {
        ApiError::invalid(
            "invalid_body",
            "The parameters are not valid form encoding (a malformed %-escape).",
        )
    };
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = super::percent_decode(&key.replace('+', " ")).ok_or_else(malformed)?;
        let value = super::percent_decode(&value.replace('+', " ")).ok_or_else(malformed)?;
        into.push((split_key(&key)?, value));
    }
    Ok(())
}

/// `a[b][c]` → `["a", "b", "c"]`; `a[]` → `["a", ""]`.
fn split_key(key: &str) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::invalid(
            "parameter_invalid_string",
            format!("Invalid parameter name: '{key}'."),
        )
    };
    let (name, mut rest) = key.find('[').map_or((key, ""), |i| key.split_at(i));
    if name.is_empty() {
        return Err(bad());
    }
    let mut path = vec![name.to_string()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(bad)?;
        let end = inner.find(']').ok_or_else(bad)?;
        path.push(inner[..end].to_string());
        rest = &inner[end + 1..];
    }
    Ok(path)
}

fn flatten_json(prefix: &mut Vec<String>, value: &Value, into: &mut Vec<(Vec<String>, String)>) {
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
        Value::String(s) => into.push((prefix.clone(), s.clone())),
        Value::Null => into.push((prefix.clone(), String::new())),
        other => into.push((prefix.clone(), other.to_string())),
    }
}

fn display_path(path: &[String]) -> String {
    let mut out = path[0].clone();
    for segment in &path[1..] {
        out.push('[');
        out.push_str(segment);
        out.push(']');
    }
    out
}

fn missing(param: &str) -> ApiError {
    ApiError::invalid(
        "parameter_missing",
        format!("Missing required param: {param}."),
    )
    .with_param(param)
}

// ---- views ---------------------------------------------------------------------------

/// How a Stripe call's outcome is shown: which object, expansions, page.
#[derive(Debug)]
pub struct View {
    object: Object,
    expand: Expand,
    /// The id the request named, as the client wrote it, for "No such ..." errors.
    asked_id: Option<String>,
    /// The parameter that named it.
    param: &'static str,
    /// The parameter an amount error points at.
    amount_param: &'static str,
    /// For refund creation: whether the request named a charge or a PaymentIntent.
    refunded_object: &'static str,
    page: Option<Page>,
    /// A list's `url` field.
    url: &'static str,
}

impl View {
    fn of(object: Object, expand: Expand, asked_id: Option<&str>, param: &'static str) -> View {
        View {
            object,
            expand,
            asked_id: asked_id.map(str::to_string),
            param,
            amount_param: "amount",
            refunded_object: INTENT,
            page: None,
            url: "",
        }
    }

    fn list(object: Object, expand: Expand, page: Page, url: &'static str) -> View {
        let (asked_id, param) = match &page.cursor {
            PageCursor::Start => (None, "id"),
            PageCursor::After(id) => (Some(id.clone()), "starting_after"),
            PageCursor::Before(id) => (Some(id.clone()), "ending_before"),
        };
        View {
            object,
            expand,
            asked_id,
            param,
            amount_param: "amount",
            refunded_object: INTENT,
            page: Some(page),
            url,
        }
    }

    /// What to show when the outcome came without a call (never, from the server).
    fn for_outcome(outcome: &Outcome) -> View {
        let object = match outcome {
            Outcome::Refund(_) => Object::Refund,
            Outcome::Payments(_) => Object::PaymentIntentList,
            _ => Object::PaymentIntent,
        };
        let mut view = View::of(object, Expand::NONE, None, "id");
        if let Object::PaymentIntentList = object {
            view.page = Some(Page {
                limit: MAX_LIMIT,
                cursor: PageCursor::Start,
            });
            view.url = "/v1/payment_intents";
        }
        view
    }

    /// The Stripe object kind for "No such ..." messages.
    fn noun(&self) -> &'static str {
        match (self.object, self.param) {
            (_, "payment_intent") => "payment_intent",
            (_, "charge") => "charge",
            (Object::PaymentIntent | Object::PaymentIntentList, _) => "payment_intent",
            (Object::Charge | Object::ChargeList, _) => "charge",
            (Object::Refund | Object::RefundList, _) => "refund",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Object {
    PaymentIntent,
    Charge,
    Refund,
    PaymentIntentList,
    ChargeList,
    RefundList,
}

/// Which related objects to render in full instead of by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expand(u8);

impl Expand {
    const NONE: Expand = Expand(0);
    const LATEST_CHARGE: Expand = Expand(1);
    const PAYMENT_METHOD: Expand = Expand(2);
    const PAYMENT_INTENT: Expand = Expand(4);
    const CHARGE: Expand = Expand(8);
    /// What each object can expand.
    const ON_INTENT: Expand = Expand(1 | 2);
    const ON_CHARGE: Expand = Expand(4 | 2);
    const ON_REFUND: Expand = Expand(8 | 4);

    fn named(field: &str) -> Option<Expand> {
        match field {
            "latest_charge" => Some(Expand::LATEST_CHARGE),
            "payment_method" => Some(Expand::PAYMENT_METHOD),
            "payment_intent" => Some(Expand::PAYMENT_INTENT),
            "charge" => Some(Expand::CHARGE),
            _ => None,
        }
    }

    fn contains(self, other: Expand) -> bool {
        self.0 & other.0 == other.0
    }

    fn with(self, other: Expand) -> Expand {
        Expand(self.0 | other.0)
    }
}

/// A page request, with Stripe ids as the client sent them.
#[derive(Debug, Clone)]
struct Page {
    limit: usize,
    cursor: PageCursor,
}

#[derive(Debug, Clone)]
enum PageCursor {
    Start,
    After(String),
    Before(String),
}

impl Page {
    /// The engine query: one more than asked, so the renderer knows whether more
    /// pages follow without a second look.
    fn query(&self, prefix: &str, confirmed_only: bool) -> PageQuery {
        PageQuery {
            limit: self.limit + 1,
            cursor: match &self.cursor {
                PageCursor::Start => Cursor::Newest,
                PageCursor::After(id) => Cursor::OlderThan(engine_id(id, prefix)),
                PageCursor::Before(id) => Cursor::NewerThan(engine_id(id, prefix)),
            },
            confirmed_only,
        }
    }

    /// Trims the engine's limit+1 answer (newest first) to the page; `true` when
    /// more follow in the page's direction.
    fn trim<T>(&self, mut items: Vec<T>) -> (Vec<T>, bool) {
        if items.len() <= self.limit {
            return (items, false);
        }
        match self.cursor {
            // Walking backwards, the extra item is the newest: the first.
            PageCursor::Before(_) => {
                let extra = items.len() - self.limit;
                items.drain(..extra);
            }
            _ => items.truncate(self.limit),
        }
        (items, true)
    }

    /// A page of an in-memory list (newest first); `None` when the cursor is not in it.
    fn slice<T: Clone>(&self, items: &[T], id: impl Fn(&T) -> String) -> Option<(Vec<T>, bool)> {
        let position = |cursor: &str| items.iter().position(|item| id(item) == cursor);
        Some(match &self.cursor {
            PageCursor::Start => {
                let end = items.len().min(self.limit);
                (items[..end].to_vec(), items.len() > end)
            }
            PageCursor::After(cursor) => {
                let rest = &items[position(cursor)? + 1..];
                let end = rest.len().min(self.limit);
                (rest[..end].to_vec(), rest.len() > end)
            }
            PageCursor::Before(cursor) => {
                let before = &items[..position(cursor)?];
                let start = before.len().saturating_sub(self.limit);
                (before[start..].to_vec(), start > 0)
            }
        })
    }
}

// ---- rendering ------------------------------------------------------------------------

/// The Stripe dialect's renderer.
pub struct Stripe;

impl Dialect for Stripe {
    fn render(&self, engine: &Engine, outcome: &Outcome) -> Reply {
        render_view(engine, None, &View::for_outcome(outcome), outcome)
    }

    fn render_call(&self, engine: &Engine, call: &Call, outcome: &Outcome) -> Reply {
        match &call.view {
            super::View::Stripe(view) => render_view(engine, Some(call), view, outcome),
            super::View::Plain => self.render(engine, outcome),
        }
    }

    fn render_error(&self, error: &ApiError) -> Reply {
        error_reply(error)
    }
}

fn render_view(engine: &Engine, call: Option<&Call>, view: &View, outcome: &Outcome) -> Reply {
    match outcome {
        Outcome::Payment(p) => match view.object {
            Object::PaymentIntent => ok(intent_json(p, view.expand)),
            Object::Charge if p.confirmed_at.is_some() => ok(charge_json(p, view.expand)),
            Object::Charge => no_such(view, view.asked_id.as_deref()),
            Object::ChargeList => {
                let charges: Vec<&Payment> = Some(p)
                    .filter(|p| p.confirmed_at.is_some())
                    .into_iter()
                    .collect();
                let page = view.page.clone().unwrap_or(Page {
                    limit: MAX_LIMIT,
                    cursor: PageCursor::Start,
                });
                let page = Page {
                    cursor: PageCursor::Start,
                    ..page
                };
                let (items, has_more) = page
                    .slice(&charges, |p| stripe_id(p.id, CHARGE))
                    .unwrap_or_default();
                ok(list_json(
                    view.url,
                    items.iter().map(|p| charge_json(p, view.expand)).collect(),
                    has_more,
                ))
            }
            Object::RefundList => {
                let newest_first: Vec<&Refund> = p.refunds.iter().rev().collect();
                let page = view.page.clone().unwrap_or(Page {
                    limit: MAX_LIMIT,
                    cursor: PageCursor::Start,
                });
                match page.slice(&newest_first, |r| r.id.to_string()) {
                    Some((items, has_more)) => ok(list_json(
                        view.url,
                        items
                            .iter()
                            .map(|r| refund_json(r, Some(p), view.expand))
                            .collect(),
                        has_more,
                    )),
                    None => {
                        let cursor = match &page.cursor {
                            PageCursor::After(c) | PageCursor::Before(c) => c.clone(),
                            PageCursor::Start => String::new(),
                        };
                        error_reply(
                            &ApiError::not_found(
                                "resource_missing",
                                format!("No such refund: '{cursor}'"),
                            )
                            .with_param(
                                if matches!(page.cursor, PageCursor::Before(_)) {
                                    "ending_before"
                                } else {
                                    "starting_after"
                                },
                            ),
                        )
                    }
                }
            }
            Object::Refund | Object::PaymentIntentList => ok(intent_json(p, view.expand)),
        },
        Outcome::Declined(p) => card_error(p),
        Outcome::Refund(r) => {
            let payment = call
                .filter(|_| {
                    view.expand.contains(Expand::CHARGE)
                        || view.expand.contains(Expand::PAYMENT_INTENT)
                })
                .and_then(|call| engine.payment(call.merchant, &r.payment.to_string()).ok());
            ok(refund_json(r, payment.as_ref(), view.expand))
        }
        Outcome::Payments(list) => {
            let page = view.page.clone().unwrap_or(Page {
                limit: MAX_LIMIT,
                cursor: PageCursor::Start,
            });
            let (items, has_more) = page.trim(list.iter().collect::<Vec<_>>());
            let data = items
                .into_iter()
                .map(|p| match view.object {
                    Object::ChargeList => charge_json(p, view.expand),
                    _ => intent_json(p, view.expand),
                })
                .collect();
            ok(list_json(view.url, data, has_more))
        }
        Outcome::Key(..) => error_reply(&unrecognized_url(&Method::GET, "/v1/idempotency-keys")),
        Outcome::Refused(e) => refusal(engine, call, view, e),
    }
}

fn ok(value: Value) -> Reply {
    Reply::ok(Bytes::from(value.to_string()))
}

fn list_json(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

fn intent_status(p: &Payment) -> &'static str {
    match p.status {
        // A declined PaymentIntent waits for another payment method, as on Stripe.
        PaymentStatus::Failed | PaymentStatus::RequiresPaymentMethod => "requires_payment_method",
        PaymentStatus::RequiresConfirmation => "requires_confirmation",
        PaymentStatus::RequiresCapture => "requires_capture",
        PaymentStatus::Succeeded => "succeeded",
        PaymentStatus::Canceled => "canceled",
    }
}

fn metadata_json(p: &Payment) -> Value {
    p.metadata
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// A stable secret per PaymentIntent: derived from its id, never stored.
fn client_secret(id: PaymentId) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut suffix = String::with_capacity(24);
    for round in 0u8..2 {
        let mut h = DefaultHasher::new();
        (round, id).hash(&mut h);
        let mut n = h.finish();
        for _ in 0..12 {
            suffix.push(char::from(ALPHABET[(n % 62) as usize]));
            n /= 62;
        }
    }
    format!("{}_secret_{suffix}", stripe_id(id, INTENT))
}

fn intent_json(p: &Payment, expand: Expand) -> Value {
    let latest_charge = match p.confirmed_at {
        None => Value::Null,
        Some(_) if expand.contains(Expand::LATEST_CHARGE) => charge_json(p, Expand::NONE),
        Some(_) => Value::String(stripe_id(p.id, CHARGE)),
    };
    // Stripe detaches a declined payment method: the PaymentIntent waits for a new one.
    let payment_method = if p.status == PaymentStatus::Failed {
        Value::Null
    } else {
        payment_method_ref(p, expand)
    };
    json!({
        "id": stripe_id(p.id, INTENT),
        "object": "payment_intent",
        "amount": p.amount,
        "amount_capturable": p.amount_capturable,
        "amount_details": {"tip": {}},
        "amount_received": p.amount_captured,
        "application": null,
        "application_fee_amount": null,
        "automatic_payment_methods": null,
        "canceled_at": p.canceled_at,
        "cancellation_reason": null,
        "capture_method": p.capture_method.as_str(),
        "client_secret": client_secret(p.id),
        "confirmation_method": "automatic",
        "created": p.created,
        "currency": p.currency.as_str(),
        "customer": null,
        "description": null,
        "last_payment_error": last_payment_error(p),
        "latest_charge": latest_charge,
        "livemode": false,
        "metadata": metadata_json(p),
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": payment_method,
        "payment_method_configuration_details": null,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "processing": null,
        "receipt_email": null,
        "review": null,
        "setup_future_usage": null,
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": intent_status(p),
        "transfer_data": null,
        "transfer_group": null,
    })
}

/// The payment method as an id, or in full when expanded; `null` when none.
fn payment_method_ref(p: &Payment, expand: Expand) -> Value {
    match (&p.payment_method, expand.contains(Expand::PAYMENT_METHOD)) {
        (method, _) if method.is_none() => Value::Null,
        (PaymentMethod::Token(token), false) => Value::String(token.to_string()),
        (method, _) => payment_method_json(method, p.created),
    }
}

/// How Stripe reports a decline: `card_declined` with the issuer's `decline_code`,
/// except the few reasons that have their own error code.
fn decline_error_code(decline_code: &str) -> &'static str {
    match decline_code {
        "expired_card" => "expired_card",
        "incorrect_cvc" => "incorrect_cvc",
        "incorrect_number" => "incorrect_number",
        "processing_error" => "processing_error",
        _ => "card_declined",
    }
}

fn decline_message(decline_code: &str) -> String {
    ApiError::declined(String::new(), decline_code).message
}

fn last_payment_error(p: &Payment) -> Value {
    match (&p.decline_code, p.status) {
        (Some(code), PaymentStatus::Failed | PaymentStatus::Canceled) => json!({
            "type": "card_error",
            "code": decline_error_code(code),
            "decline_code": code.as_ref(),
            "message": decline_message(code),
            "charge": stripe_id(p.id, CHARGE),
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", decline_error_code(code).replace('_', "-")),
            "payment_method": payment_method_json(&p.payment_method, p.created),
        }),
        _ => Value::Null,
    }
}

fn charge_json(p: &Payment, expand: Expand) -> Value {
    let failed = p.decline_code.is_some();
    let charge = stripe_id(p.id, CHARGE);
    let refunds: Vec<Value> = p
        .refunds
        .iter()
        .rev()
        .map(|r| refund_json(r, None, Expand::NONE))
        .collect();
    let outcome = match p.decline_code.as_deref() {
        Some(code) => json!({
            "network_status": "declined_by_network",
            "reason": code,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }),
        None => json!({
            "network_status": "approved_by_network",
            "reason": null,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }),
    };
    let payment_intent = if expand.contains(Expand::PAYMENT_INTENT) {
        intent_json(p, Expand::NONE)
    } else {
        Value::String(stripe_id(p.id, INTENT))
    };
    json!({
        "id": charge,
        "object": "charge",
        "amount": p.amount,
        "amount_captured": p.amount_captured,
        "amount_refunded": p.amount_refunded,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": null,
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": null, "name": null, "phone": null,
        },
        "calculated_statement_descriptor": null,
        "captured": p.amount_captured > 0,
        "created": p.confirmed_at.unwrap_or(p.created),
        "currency": p.currency.as_str(),
        "customer": null,
        "description": null,
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": p.decline_code.as_deref().map(decline_error_code),
        "failure_message": p.decline_code.as_deref().map(decline_message),
        "livemode": false,
        "metadata": metadata_json(p),
        "outcome": outcome,
        "paid": !failed,
        "payment_intent": payment_intent,
        "payment_method": payment_method_ref(p, expand),
        "payment_method_details": {"type": "card", "card": card_json(&p.payment_method, p.created)},
        "receipt_email": null,
        "receipt_url": null,
        "refunded": p.amount_captured > 0 && p.amount_refunded == p.amount_captured,
        "refunds": {
            "object": "list",
            "data": refunds,
            "has_more": false,
            "total_count": p.refunds.len(),
            "url": format!("/v1/charges/{charge}/refunds"),
        },
        "review": null,
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": if failed { "failed" } else { "succeeded" },
        "transfer_data": null,
        "transfer_group": null,
    })
}

/// A refund; `payment` is needed only to expand its charge or PaymentIntent.
fn refund_json(r: &Refund, payment: Option<&Payment>, expand: Expand) -> Value {
    let charge = match payment {
        Some(p) if expand.contains(Expand::CHARGE) => charge_json(p, Expand::NONE),
        _ => Value::String(stripe_id(r.payment, CHARGE)),
    };
    let payment_intent = match payment {
        Some(p) if expand.contains(Expand::PAYMENT_INTENT) => intent_json(p, Expand::NONE),
        _ => Value::String(stripe_id(r.payment, INTENT)),
    };
    json!({
        "id": r.id.to_string(),
        "object": "refund",
        "amount": r.amount,
        "balance_transaction": null,
        "charge": charge,
        "created": r.created,
        "currency": r.currency.as_str(),
        "destination_details": null,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    })
}

// ---- payment methods ---------------------------------------------------------------------

/// What Stripe's test payment methods look like: brand, last four digits, funding.
/// Presentation only; whether one declines is the fault model's business.
fn test_card(token: &str) -> (&'static str, &'static str, &'static str) {
    let name = token
        .strip_prefix("pm_card_")
        .or_else(|| token.strip_prefix("tok_"))
        .unwrap_or(token);
    let name = match name.strip_prefix("visa_") {
        Some(rest) if rest.starts_with("chargeDeclined") => rest,
        _ => name,
    };
    match name {
        "visa" => ("visa", "4242", "credit"),
        "visa_debit" => ("visa", "5556", "debit"),
        "mastercard" => ("mastercard", "4444", "credit"),
        "mastercard_debit" => ("mastercard", "8210", "debit"),
        "mastercard_prepaid" => ("mastercard", "5100", "prepaid"),
        "amex" => ("amex", "8431", "credit"),
        "discover" => ("discover", "1117", "credit"),
        "diners" => ("diners", "0004", "credit"),
        "jcb" => ("jcb", "0505", "credit"),
        "unionpay" => ("unionpay", "0005", "credit"),
        "chargeDeclined" => ("visa", "0002", "credit"),
        "chargeDeclinedInsufficientFunds" => ("visa", "9995", "credit"),
        "chargeDeclinedLostCard" => ("visa", "9987", "credit"),
        "chargeDeclinedStolenCard" => ("visa", "9979", "credit"),
        "chargeDeclinedExpiredCard" => ("visa", "0069", "credit"),
        "chargeDeclinedIncorrectCvc" => ("visa", "0127", "credit"),
        "chargeDeclinedProcessingError" => ("visa", "0119", "credit"),
        "chargeDeclinedFraudulent" => ("visa", "0019", "credit"),
        "chargeDeclinedVelocityLimitExceeded" => ("visa", "6975", "credit"),
        "radarBlock" => ("visa", "9235", "credit"),
        _ => ("unknown", "0000", "unknown"),
    }
}

/// Test cards expire at the end of next year, seen from `now` (Unix seconds).
fn next_year(now: u64) -> u64 {
    1970 + now / 31_556_952 + 1
}

fn card_json(method: &PaymentMethod, now: u64) -> Value {
    let (brand, last4, funding, exp_month, exp_year) = match method {
        PaymentMethod::Token(token) => {
            let (brand, last4, funding) = test_card(token);
            (brand, last4.to_string(), funding, 12, next_year(now))
        }
        PaymentMethod::Card {
            last4,
            exp_month,
            exp_year,
        } => (
            "unknown",
            String::from_utf8_lossy(last4).into_owned(),
            "unknown",
            u64::from(*exp_month),
            u64::from(*exp_year),
        ),
    };
    json!({
        "brand": brand,
        "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
        "country": "US",
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": null,
        "funding": funding,
        "last4": last4,
        "networks": {"available": [brand], "preferred": null},
        "three_d_secure_usage": {"supported": true},
        "wallet": null,
    })
}

fn payment_method_json(method: &PaymentMethod, now: u64) -> Value {
    if method.is_none() {
        return Value::Null;
    }
    json!({
        "id": method.token(),
        "object": "payment_method",
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": null, "name": null, "phone": null,
        },
        "card": card_json(method, now),
        "created": now,
        "customer": null,
        "livemode": false,
        "metadata": {},
        "type": "card",
    })
}

/// `GET /v1/payment_methods/{id}` for the test tokens the simulator knows.
fn payment_method_reply(id: &str, params: &Params) -> Reply {
    if let Err(e) = params.only(&["expand"], false) {
        return error_reply(&e);
    }
    if !behaviour::is_known_payment_method(id) {
        return error_reply(
            &ApiError::not_found("resource_missing", format!("No such PaymentMethod: '{id}'"))
                .with_param("payment_method"),
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ok(payment_method_json(&PaymentMethod::interned_token(id), now))
}

// ---- errors ------------------------------------------------------------------------------

/// Any error in Stripe's shape: `{"error": {"type", "code", "message", "param"}}`.
/// Stripe has no `rate_limit_error` type: a 429 is an `invalid_request_error` with
/// code `rate_limit` (the SDKs pick their exception by status).
fn error_reply(e: &ApiError) -> Reply {
    error_with(e, Map::new())
}

fn error_with(e: &ApiError, extra: Map<String, Value>) -> Reply {
    let kind = match e.kind {
        "rate_limit_error" => "invalid_request_error",
        other => other,
    };
    let mut body = Map::new();
    body.insert("type".into(), json!(kind));
    body.insert("code".into(), json!(e.code));
    body.insert("message".into(), json!(e.message));
    if let Some(param) = &e.param {
        body.insert("param".into(), json!(param));
    }
    body.insert(
        "doc_url".into(),
        json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            e.code.replace('_', "-")
        )),
    );
    body.extend(extra);
    Reply::json(
        e.status,
        Bytes::from(json!({ "error": Value::Object(body) }).to_string()),
    )
}

fn no_such(view: &View, id: Option<&str>) -> Reply {
    let id = id.unwrap_or_default();
    error_reply(
        &ApiError::not_found(
            "resource_missing",
            format!("No such {}: '{id}'", view.noun()),
        )
        .with_param(view.param),
    )
}

/// A decline: 402 `card_error` carrying the PaymentIntent, its charge and the
/// decline code, as Stripe answers a declined confirmation.
fn card_error(p: &Payment) -> Reply {
    let code = p
        .decline_code
        .as_deref()
        .unwrap_or(behaviour::DeclineCode::GENERIC_DECLINE.as_str());
    let mut e = ApiError::declined(stripe_id(p.id, INTENT), code);
    e.code = decline_error_code(code);
    let mut extra = Map::new();
    extra.insert("decline_code".into(), json!(code));
    extra.insert("charge".into(), json!(stripe_id(p.id, CHARGE)));
    extra.insert("payment_intent".into(), intent_json(p, Expand::NONE));
    extra.insert(
        "payment_method".into(),
        payment_method_json(&p.payment_method, p.created),
    );
    error_with(&e, extra)
}

/// An engine refusal in Stripe's words. A state conflict is a 400
/// `payment_intent_unexpected_state` carrying the PaymentIntent (the SDKs raise
/// their invalid-request error for it), or `charge_already_refunded` for a refund
/// of a fully refunded payment.
fn refusal(engine: &Engine, call: Option<&Call>, view: &View, e: &ApiError) -> Reply {
    let payment = || {
        let call = call?;
        let id = match &call.operation {
            Operation::Capture { id, .. }
            | Operation::Cancel { id }
            | Operation::CancelOrAbandon { id }
            | Operation::Refund { id, .. }
            | Operation::Confirm { id, .. }
            | Operation::Update { id, .. }
            | Operation::Retrieve { id } => id,
            _ => return None,
        };
        engine.payment(call.merchant, id).ok()
    };
    match (e.status, e.code) {
        (StatusCode::NOT_FOUND, "resource_missing") => no_such(view, view.asked_id.as_deref()),
        (StatusCode::CONFLICT, "invalid_state") => {
            let current = payment();
            let message = match (&current, call) {
                (Some(p), Some(call)) => unexpected_state_message(&call.operation, p),
                _ => e.message.replace(PaymentId::PREFIX, INTENT),
            };
            if view.object == Object::Refund
                && let Some(p) = &current
                && p.amount_captured > 0
                && p.amount_refunded == p.amount_captured
            {
                let charge = stripe_id(p.id, CHARGE);
                return error_reply(
                    &ApiError::invalid(
                        "charge_already_refunded",
                        format!("Charge {charge} has already been refunded."),
                    )
                    .with_param(view.param),
                );
            }
            let mut extra = Map::new();
            if let Some(p) = &current {
                extra.insert("payment_intent".into(), intent_json(p, Expand::NONE));
            }
            error_with(
                &ApiError::invalid("payment_intent_unexpected_state", message),
                extra,
            )
        }
        (_, "invalid_amount" | "amount_too_large") => {
            let mut e = e.clone();
            e.param = Some(view.amount_param.to_string());
            error_reply(&e)
        }
        _ => error_reply(e),
    }
}

/// Why the PaymentIntent's state forbids the operation, in Stripe's terms.
fn unexpected_state_message(operation: &Operation, p: &Payment) -> String {
    let status = intent_status(p);
    let requirement = match operation {
        Operation::Capture { .. } => "it must be requires_capture to be captured",
        Operation::Cancel { .. } | Operation::CancelOrAbandon { .. } => {
            "it must be requires_payment_method, requires_confirmation or requires_capture to be canceled"
        }
        Operation::Confirm { .. } if p.status.awaits_confirmation() => {
            return "You cannot confirm this PaymentIntent because it's missing a payment method. Confirm it with a payment_method (such as pm_card_visa), or update it with one first.".to_string();
        }
        Operation::Confirm { .. } => {
            "it must be requires_payment_method or requires_confirmation to be confirmed"
        }
        Operation::Update { .. } => {
            "amount, currency, payment_method and capture_method can change only while it is requires_payment_method or requires_confirmation"
        }
        Operation::Refund { .. } if p.status == PaymentStatus::Succeeded => {
            return format!(
                "Charge {} has already been refunded.",
                stripe_id(p.id, CHARGE)
            );
        }
        Operation::Refund { .. } => {
            return format!(
                "This PaymentIntent's status is {status}: it does not have a successful (captured) charge to refund."
            );
        }
        _ => "the operation is not allowed in this status",
    };
    format!("This PaymentIntent's status is {status}, but {requirement}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(form: &str) -> Params {
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
    fn malformed_and_unknown_parameters_are_refused() {
        let mut entries = Vec::new();
        assert!(parse_form("a%zz=1", &mut entries).is_err());
        assert!(parse_form("a[b=1", &mut entries).is_err());
        assert!(parse_form("[x]=1", &mut entries).is_err());
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

    #[test]
    fn ids_swap_prefixes_and_nothing_else() {
        let id = PaymentId(0x1234_5678_9abc_def0);
        let pi = stripe_id(id, INTENT);
        assert!(pi.starts_with("pi_"));
        assert_eq!(engine_id(&pi, INTENT), id.to_string());
        assert_eq!(engine_id(&stripe_id(id, CHARGE), CHARGE), id.to_string());
        assert_eq!(
            engine_id(&pi, CHARGE),
            "",
            "a PaymentIntent id is not a charge id"
        );
        assert_eq!(
            engine_id(&id.to_string(), INTENT),
            "",
            "native ids are not Stripe ids"
        );
        assert!(client_secret(id).starts_with(&format!("{pi}_secret_")));
        assert_eq!(client_secret(id), client_secret(id));
    }

    #[test]
    fn basic_auth_carries_the_key_as_user() {
        let mut h = http::HeaderMap::new();
        // base64("sk_test_abc:")
        h.insert(
            http::header::AUTHORIZATION,
            "Basic c2tfdGVzdF9hYmM6".parse().unwrap(),
        );
        assert_eq!(api_key(&h).as_deref(), Some("sk_test_abc"));
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer sk_test_xyz".parse().unwrap(),
        );
        assert_eq!(api_key(&h).as_deref(), Some("sk_test_xyz"));
        h.insert(http::header::AUTHORIZATION, "Basic Og==".parse().unwrap());
        assert_eq!(api_key(&h), None, "an empty user is no key");
        h.insert(http::header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(api_key(&h), None);
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn pages_of_in_memory_lists_follow_cursors_both_ways() {
        let items: Vec<u32> = (0..5).rev().collect(); // newest first: 4 3 2 1 0
        let id = |n: &u32| n.to_string();
        let page = |limit, cursor| Page { limit, cursor };
        assert_eq!(
            page(2, PageCursor::Start).slice(&items, id),
            Some((vec![4, 3], true))
        );
        assert_eq!(
            page(2, PageCursor::After("3".into())).slice(&items, id),
            Some((vec![2, 1], true))
        );
        assert_eq!(
            page(2, PageCursor::After("1".into())).slice(&items, id),
            Some((vec![0], false))
        );
        assert_eq!(
            page(2, PageCursor::Before("1".into())).slice(&items, id),
            Some((vec![3, 2], true))
        );
        assert_eq!(
            page(9, PageCursor::Before("1".into())).slice(&items, id),
            Some((vec![4, 3, 2], false))
        );
        assert_eq!(
            page(2, PageCursor::After("9".into())).slice(&items, id),
            None
        );
        assert_eq!(
            page(2, PageCursor::Start).trim(vec![1, 2, 3]),
            (vec![1, 2], true)
        );
        assert_eq!(
            page(2, PageCursor::Before("x".into())).trim(vec![1, 2, 3]),
            (vec![2, 3], true)
        );
        assert_eq!(
            page(3, PageCursor::Start).trim(vec![1, 2, 3]),
            (vec![1, 2, 3], false)
        );
    }
}
