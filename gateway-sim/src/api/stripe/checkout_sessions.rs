//! `/v1/checkout/sessions`: Stripe Checkout in `payment` mode. A session is the
//! merchant's order (line items with inline `price_data`, where the buyer goes
//! afterwards); its `url` is the page gateway-sim hosts (`/_sim/checkout/{id}`,
//! `control/checkout.rs`), where the buyer pays. Create, retrieve, list (with
//! `payment_intent=`), `/line_items` and `/expire`; the session as Stripe's
//! JSON, for answers and for `checkout.session.*` events alike.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{Map, Value, json};

use super::errors::error_reply;
use super::ids::{INTENT, engine_id, stripe_id};
use super::pages::{PageCursor, list_json};
use super::params::{Params, missing};
use super::presentation::{Expand, Presentation, shown};
use super::resource::{Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, CheckoutOperation, Operation, Outcome, Reply, check_return_url};
use crate::engine::ids::PaymentId;
use crate::engine::money::{Currency, MAX_AMOUNT};
use crate::engine::{CaptureMethod, CheckoutSession, CheckoutStatus, Engine, NewCheckoutSession};

/// The most line items one session takes (Stripe's limit in payment mode).
const MAX_LINE_ITEMS: usize = 100;
/// The longest product name, `client_reference_id` and `customer_email` taken.
const MAX_TEXT_LEN: usize = 200;

/// `/v1/checkout/sessions...`: the collection is `checkout`, the rest of the path follows.
pub(super) struct CheckoutSessions;

pub(super) enum Route<'a> {
    Create,
    List,
    Retrieve(&'a str),
    LineItems(&'a str),
    Expire(&'a str),
}

impl Resource for CheckoutSessions {
    type Route<'a> = Route<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<Route<'a>> {
        match (method, path) {
            (&Method::POST, ["sessions"]) => Some(Route::Create),
            (&Method::GET, ["sessions"]) => Some(Route::List),
            (&Method::GET, ["sessions", id]) => Some(Route::Retrieve(id)),
            (&Method::GET, ["sessions", id, "line_items"]) => Some(Route::LineItems(id)),
            (&Method::POST, ["sessions", id, "expire"]) => Some(Route::Expire(id)),
            _ => None,
        }
    }

    fn operation(
        route: Route<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        let params = &request.params;
        let one = |show, id: &str| {
            Presentation::object(show, "checkout.session", Expand::NONE, Some(id), "session")
        };
        let (operation, presentation) = match route {
            Route::Create => (
                CheckoutOperation::Create(create(params)?),
                Presentation::object(show, "checkout.session", Expand::NONE, None, "session"),
            ),
            Route::List => list(params)?,
            Route::Retrieve(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let id = path_segment(id)?;
                let presentation = one(show, &id);
                (CheckoutOperation::Retrieve { id }, presentation)
            }
            Route::LineItems(id) => {
                params.only(
                    &["limit", "starting_after", "ending_before", "expand"],
                    false,
                )?;
                params.expand(Expand::NONE)?;
                let page = params.page()?;
                let id = path_segment(id)?;
                let mut presentation = one(show_line_items, &id);
                presentation.page = Some(page);
                (CheckoutOperation::Retrieve { id }, presentation)
            }
            Route::Expire(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let id = path_segment(id)?;
                let presentation = one(show, &id);
                (CheckoutOperation::Expire { id }, presentation)
            }
        };
        Ok((Operation::Checkout(operation), presentation))
    }
}

/// `POST /v1/checkout/sessions`: `mode=payment` with inline prices only.
fn create(params: &Params) -> Result<NewCheckoutSession, ApiError> {
    params.only(
        &[
            "mode",
            "line_items",
            "success_url",
            "cancel_url",
            "client_reference_id",
            "metadata",
            "customer_email",
            "payment_intent_data",
            "payment_method_types",
            "expand",
        ],
        false,
    )?;
    params.expand(Expand::NONE)?;
    match params.string("mode")? {
        Some("payment") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                format!("Invalid mode: {other:?}. gateway-sim supports mode=payment only (no subscription or setup sessions)."),
            )
            .with_param("mode"));
        }
        None => return Err(missing("mode")),
    }
    let (currency, line_items) = line_items(params)?;
    let success_url = params
        .string("success_url")?
        .ok_or_else(|| missing("success_url"))?;
    check_return_url(success_url, "success_url")?;
    let cancel_url = params.string("cancel_url")?;
    if let Some(url) = cancel_url {
        check_return_url(url, "cancel_url")?;
    }
    let text = |name: &'static str| -> Result<Option<String>, ApiError> {
        match params.string(name)? {
            Some(v) if v.chars().count() > MAX_TEXT_LEN => Err(ApiError::invalid(
                "parameter_invalid_string",
                format!("{name} must be at most {MAX_TEXT_LEN} characters."),
            )
            .with_param(name)),
            v => Ok(v.map(str::to_string)),
        }
    };
    let client_reference_id = text("client_reference_id")?;
    let customer_email = text("customer_email")?;
    if customer_email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::invalid("email_invalid", "Invalid email address.")
            .with_param("customer_email"));
    }
    if let Some(types) = params.list("payment_method_types")?
        && types.iter().any(|t| *t != "card")
    {
        return Err(ApiError::invalid(
            "parameter_invalid_string",
            "gateway-sim's Checkout takes cards only: payment_method_types[]=card.",
        )
        .with_param("payment_method_types"));
    }
    Ok(NewCheckoutSession {
        currency,
        line_items,
        success_url: success_url.to_string(),
        cancel_url: cancel_url.map(str::to_string),
        client_reference_id,
        metadata: params.metadata_on_create()?,
        customer_email,
        capture_method: capture_method(params)?,
    })
}

/// `payment_intent_data[capture_method]`, the one field of it taken.
fn capture_method(params: &Params) -> Result<CaptureMethod, ApiError> {
    let mut method = CaptureMethod::Automatic;
    for (path, value) in params.nested("payment_intent_data") {
        match (path, value) {
            ([field], "manual") if field == "capture_method" => method = CaptureMethod::Manual,
            ([field], "automatic" | "automatic_async") if field == "capture_method" => {
                method = CaptureMethod::Automatic;
            }
            ([field], other) if field == "capture_method" => {
                return Err(ApiError::invalid(
                    "parameter_invalid_string",
                    format!("Invalid payment_intent_data[capture_method]: {other:?}; use automatic, automatic_async or manual."),
                )
                .with_param("payment_intent_data[capture_method]"));
            }
            _ => {
                return Err(ApiError::invalid(
                    "parameter_unknown",
                    format!(
                        "Received unknown parameter: payment_intent_data[{}]. gateway-sim takes payment_intent_data[capture_method] only.",
                        path.join("][")
                    ),
                )
                .with_param("payment_intent_data"));
            }
        }
    }
    Ok(method)
}

/// One line item as sent, field by field.
#[derive(Default)]
struct LineItemParams<'a> {
    currency: Option<&'a str>,
    unit_amount: Option<&'a str>,
    name: Option<&'a str>,
    quantity: Option<&'a str>,
}

/// `line_items[N][price_data][currency|unit_amount|product_data][name]]` and
/// `line_items[N][quantity]`: the session's currency (one for all) and its items.
#[allow(clippy::type_complexity)]
fn line_items(params: &Params) -> Result<(Currency, Vec<(String, i64, u32)>), ApiError> {
    let mut items: BTreeMap<usize, LineItemParams<'_>> = BTreeMap::new();
    for (path, value) in params.nested("line_items") {
        let unknown = || {
            ApiError::invalid(
                "parameter_unknown",
                format!(
                    "Received unknown parameter: line_items[{}]. gateway-sim takes line_items[N][price_data][currency], [unit_amount], [product_data][name] and line_items[N][quantity].",
                    path.join("][")
                ),
            )
            .with_param("line_items")
        };
        let Some((index, field)) = path.split_first() else {
            return Err(unknown());
        };
        let index: usize = index.parse().map_err(|_| unknown())?;
        if index >= MAX_LINE_ITEMS {
            return Err(ApiError::invalid(
                "parameter_invalid_integer",
                format!("A session takes at most {MAX_LINE_ITEMS} line items."),
            )
            .with_param("line_items"));
        }
        let item = items.entry(index).or_default();
        let field: Vec<&str> = field.iter().map(|s| &**s).collect();
        match field.as_slice() {
            ["quantity"] => item.quantity = Some(value),
            ["price_data", "currency"] => item.currency = Some(value),
            ["price_data", "unit_amount"] => item.unit_amount = Some(value),
            ["price_data", "product_data", "name"] => item.name = Some(value),
            _ => return Err(unknown()),
        }
    }
    if items.is_empty() {
        return Err(missing("line_items"));
    }
    let mut currency: Option<Currency> = None;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items {
        let param = |field: &str| format!("line_items[{index}]{field}");
        fn required(v: Option<&str>, param: String) -> Result<&str, ApiError> {
            v.filter(|v| !v.is_empty()).ok_or_else(|| missing(&param))
        }
        let code = required(item.currency, param("[price_data][currency]"))?;
        let this = Currency::parse(code).ok_or_else(|| {
            ApiError::invalid(
                "parameter_invalid_string",
                format!("Invalid currency: {code:?}; use a three-letter ISO code such as usd."),
            )
            .with_param(param("[price_data][currency]"))
        })?;
        if currency.is_some_and(|c| c != this) {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                "All line items of a session must have the same currency.",
            )
            .with_param(param("[price_data][currency]")));
        }
        currency = Some(this);
        let unit = required(item.unit_amount, param("[price_data][unit_amount]"))?;
        let unit_amount = unit
            .parse::<i64>()
            .ok()
            .filter(|a| (0..=MAX_AMOUNT).contains(a))
            .ok_or_else(|| {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    format!("Invalid unit_amount: {unit:?}; a whole number of minor units from 0 to {MAX_AMOUNT}."),
                )
                .with_param(param("[price_data][unit_amount]"))
            })?;
        let name = required(item.name, param("[price_data][product_data][name]"))?;
        if name.chars().count() > MAX_TEXT_LEN {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                format!("A product name must be at most {MAX_TEXT_LEN} characters."),
            )
            .with_param(param("[price_data][product_data][name]")));
        }
        let qty = required(item.quantity, param("[quantity]"))?;
        let quantity = qty
            .parse::<u32>()
            .ok()
            .filter(|q| (1..=999_999).contains(q))
            .ok_or_else(|| {
                ApiError::invalid(
                    "parameter_invalid_integer",
                    format!("Invalid quantity: {qty:?}; a whole number from 1 to 999999."),
                )
                .with_param(param("[quantity]"))
            })?;
        out.push((name.to_string(), unit_amount, quantity));
    }
    let total = out
        .iter()
        .try_fold(0i64, |sum, (_, unit, qty)| {
            sum.checked_add(unit.checked_mul(i64::from(*qty))?)
        })
        .filter(|t| (1..=MAX_AMOUNT).contains(t));
    if total.is_none() {
        return Err(ApiError::invalid(
            "amount_too_small",
            format!("The session's total (the sum of unit_amount × quantity) must be from 1 to {MAX_AMOUNT} minor units."),
        )
        .with_param("line_items"));
    }
    let currency = currency.ok_or_else(|| missing("line_items"))?;
    Ok((currency, out))
}

/// `GET /v1/checkout/sessions`: newest first, paged; `payment_intent=` the session it paid.
fn list(params: &Params) -> Result<(CheckoutOperation, Presentation), ApiError> {
    params.only(
        &[
            "limit",
            "starting_after",
            "ending_before",
            "payment_intent",
            "expand",
        ],
        false,
    )?;
    params.expand(Expand::NONE)?;
    let page = params.page()?;
    // An id that is not a PaymentIntent's matches nothing: an empty list, as Stripe.
    let payment = params
        .string("payment_intent")?
        .map(|pi| PaymentId::parse(&engine_id(pi, INTENT)).unwrap_or(PaymentId(0)));
    let presentation = Presentation::list(
        show_page,
        "checkout.session",
        Expand::NONE,
        page,
        "/v1/checkout/sessions",
    );
    Ok((CheckoutOperation::List { payment }, presentation))
}

/// A session as Stripe's JSON. Only an open session shows its `url`, as Stripe's do.
pub(crate) fn session_json(public_url: &str, s: &CheckoutSession) -> Value {
    let metadata: Value = s
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
    let complete = s.status == CheckoutStatus::Complete;
    let customer_details = complete.then(|| {
        json!({
            "address": null,
            "email": s.customer_email.as_deref(),
            "name": null,
            "phone": null,
            "tax_exempt": "none",
            "tax_ids": [],
        })
    });
    json!({
        "id": &*s.id,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": s.amount_total,
        "amount_total": s.amount_total,
        "billing_address_collection": null,
        "cancel_url": s.cancel_url.as_deref(),
        "client_reference_id": s.client_reference_id.as_deref(),
        "created": s.created,
        "currency": s.currency.as_str(),
        "customer": null,
        "customer_creation": null,
        "customer_details": customer_details,
        "customer_email": s.customer_email.as_deref(),
        "expires_at": s.expires_at,
        "livemode": false,
        "locale": null,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": s.payment.map(|p| stripe_id(p, INTENT)),
        "payment_method_types": ["card"],
        "payment_status": if s.paid { "paid" } else { "unpaid" },
        "status": s.status.as_str(),
        "submit_type": null,
        "success_url": &s.success_url,
        "ui_mode": "hosted",
        "url": (s.status == CheckoutStatus::Open)
            .then(|| format!("{public_url}/_sim/checkout/{}", s.id)),
    })
}

/// A session's line items as Stripe's `item` objects.
fn line_items_json(s: &CheckoutSession) -> Vec<Value> {
    let currency = s.currency.as_str();
    s.line_items
        .iter()
        .map(|item| {
            let suffix = &item.id["li_".len()..];
            json!({
                "id": &item.id,
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": item.amount(),
                "amount_tax": 0,
                "amount_total": item.amount(),
                "currency": currency,
                "description": &item.name,
                "price": {
                    "id": format!("price_{suffix}"),
                    "object": "price",
                    "active": false,
                    "currency": currency,
                    "livemode": false,
                    "product": format!("prod_{suffix}"),
                    "type": "one_time",
                    "unit_amount": item.unit_amount,
                },
                "quantity": item.quantity,
            })
        })
        .collect()
}

fn show(
    engine: &Engine,
    _call: Option<&Call>,
    _presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::CheckoutSession(s) = outcome else {
        return None;
    };
    Some(shown(session_json(&engine.public_url(), s)))
}

fn show_line_items(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::CheckoutSession(s) = outcome else {
        return None;
    };
    let items = line_items_json(s);
    let url = format!("/v1/checkout/sessions/{}/line_items", s.id);
    let page = presentation.page();
    Some(
        match page.slice(&items, |i| i["id"].as_str().unwrap_or_default().to_string()) {
            Some((data, has_more)) => shown(list_json(&url, data, has_more)),
            None => missing_cursor(&page.cursor, "line item"),
        },
    )
}

fn show_page(
    engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::CheckoutSessions(all) = outcome else {
        return None;
    };
    let page = presentation.page();
    let public_url = engine.public_url();
    Some(match page.slice(all, |s| s.id.to_string()) {
        Some((items, has_more)) => {
            let data = items.iter().map(|s| session_json(&public_url, s)).collect();
            shown(list_json(presentation.url, data, has_more))
        }
        None => missing_cursor(&page.cursor, "checkout.session"),
    })
}

/// 404 for a page cursor that names nothing in the list.
fn missing_cursor(cursor: &PageCursor, noun: &str) -> Reply {
    let (id, param) = match cursor {
        PageCursor::Before(c) => (c.as_str(), "ending_before"),
        PageCursor::After(c) => (c.as_str(), "starting_after"),
        PageCursor::Start => ("", "starting_after"),
    };
    error_reply(
        &ApiError::not_found("resource_missing", format!("No such {noun}: '{id}'"))
            .with_param(param),
    )
}
