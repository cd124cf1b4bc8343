//! `/v1/payment_intents`: create (optionally confirming), retrieve, update,
//! confirm, capture, cancel, list. A PaymentIntent `pi_X` is the engine's
//! payment `pay_X`; this file turns each route's parameters into the engine
//! operation, and shows the outcome as a PaymentIntent or a page of them.

use bytes::Bytes;
use http::Method;

use super::ids::{INTENT, engine_id};
use super::objects;
use super::params::{Params, missing};
use super::presentation::{Expand, Presentation, payments_page};
use super::resource::{Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply, check_return_url};
use crate::engine::{
    CaptureMethod, Engine, NewPayment, NewPendingPayment, PaymentUpdate, ReturnTo,
};

/// `/v1/payment_intents`.
pub(super) struct PaymentIntents;

/// A PaymentIntents route, with the PaymentIntent id it names.
pub(super) enum Route<'a> {
    Create,
    List,
    Retrieve(&'a str),
    Update(&'a str),
    Confirm(&'a str),
    Capture(&'a str),
    Cancel(&'a str),
}

impl Resource for PaymentIntents {
    type Route<'a> = Route<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<Route<'a>> {
        let post = method == Method::POST;
        let get = method == Method::GET;
        Some(match path {
            [] if post => Route::Create,
            [] if get => Route::List,
            [id] if get => Route::Retrieve(id),
            [id] if post => Route::Update(id),
            [id, "confirm"] if post => Route::Confirm(id),
            [id, "capture"] if post => Route::Capture(id),
            [id, "cancel"] if post => Route::Cancel(id),
            _ => return None,
        })
    }

    fn operation(
        route: Route<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        let params = &request.params;
        match route {
            Route::Create => create(params),
            Route::List => list(params),
            Route::Retrieve(id) => retrieve(id, params),
            Route::Update(id) => update(id, params),
            Route::Confirm(id) => confirm(id, request),
            Route::Capture(id) => capture(id, params),
            Route::Cancel(id) => cancel(id, params),
        }
    }
}

/// Shows the PaymentIntent `id` (as the client wrote it).
fn intent(id: Option<&str>, expand: Expand) -> Presentation {
    Presentation::object(show, "payment_intent", expand, id, "intent")
}

/// `POST /v1/payment_intents`: with `confirm=true` it authorizes at once (an
/// ordinary create for the engine); without, it waits for a confirmation.
fn create(params: &Params) -> Result<(Operation, Presentation), ApiError> {
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
            return_to: return_to(params)?,
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
    Ok((operation, intent(None, expand)))
}

fn retrieve(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(&["expand", "client_secret"], false)?;
    let id = path_segment(id)?;
    let presentation = intent(Some(&id), params.expand(Expand::ON_INTENT)?);
    let id = engine_id(&id, INTENT);
    Ok((Operation::Retrieve { id }, presentation))
}

/// `POST /v1/payment_intents/{id}`: terms before confirmation, metadata any time.
fn update(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
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
    let id = path_segment(id)?;
    let update = PaymentUpdate {
        amount: params.amount("amount")?,
        currency: params.currency("currency")?,
        payment_method: params.payment_method("payment_method")?,
        capture_method: params.capture_method()?,
        metadata: params.metadata_patch()?,
    };
    let presentation = intent(Some(&id), params.expand(Expand::ON_INTENT)?);
    let id = engine_id(&id, INTENT);
    Ok((Operation::Update { id, update }, presentation))
}

/// `POST /v1/payment_intents/{id}/confirm`. The attempt (amount, payment
/// method) is read now, so the fault model can decide a decline before the
/// engine runs.
fn confirm(id: &str, request: &Request<'_>) -> Result<(Operation, Presentation), ApiError> {
    let params = &request.params;
    params.only(&["payment_method", "expand"], true)?;
    let id = path_segment(id)?;
    let payment_method = params.payment_method("payment_method")?;
    let engine_id = engine_id(&id, INTENT);
    let attempt =
        request
            .engine
            .confirmation_preview(request.merchant, &engine_id, payment_method.as_ref());
    let presentation = intent(Some(&id), params.expand(Expand::ON_INTENT)?);
    let operation = Operation::Confirm {
        id: engine_id,
        payment_method,
        attempt,
        return_to: return_to(params)?,
    };
    Ok((operation, presentation))
}

/// Where the buyer returns after a 3-D Secure challenge: the confirmation's
/// `return_url`, with `payment_intent=pi_...` appended on the way back, as Stripe does.
fn return_to(params: &Params) -> Result<ReturnTo, ApiError> {
    let url = params.string("return_url")?;
    if let Some(url) = url {
        check_return_url(url, "return_url")?;
    }
    Ok(ReturnTo {
        url: url.map(str::to_string),
        param: "payment_intent",
        id_prefix: INTENT,
    })
}

/// `POST /v1/payment_intents/{id}/capture`, all or `amount_to_capture`.
fn capture(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(
        &[
            "amount_to_capture",
            "expand",
            "statement_descriptor",
            "statement_descriptor_suffix",
        ],
        false,
    )?;
    let id = path_segment(id)?;
    let amount = params.amount("amount_to_capture")?;
    let mut presentation = intent(Some(&id), params.expand(Expand::ON_INTENT)?);
    presentation.amount_param = "amount_to_capture";
    let id = engine_id(&id, INTENT);
    Ok((Operation::Capture { id, amount }, presentation))
}

/// `POST /v1/payment_intents/{id}/cancel`: releases an authorization, or
/// abandons a PaymentIntent not authorized (a declined one included).
fn cancel(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
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
    let id = path_segment(id)?;
    let presentation = intent(Some(&id), params.expand(Expand::ON_INTENT)?);
    let id = engine_id(&id, INTENT);
    Ok((Operation::CancelOrAbandon { id }, presentation))
}

/// `GET /v1/payment_intents`: the merchant's, newest first.
fn list(params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(
        &["limit", "starting_after", "ending_before", "expand"],
        false,
    )?;
    let page = params.page()?;
    let expand = params.expand(Expand::ON_INTENT)?;
    let query = page.query(INTENT, false);
    let presentation = Presentation::list(
        show_page,
        "payment_intent",
        expand,
        page,
        "/v1/payment_intents",
    );
    Ok((Operation::ListPage(query), presentation))
}

/// A payment, as its PaymentIntent.
pub(super) fn show(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Payment(p) = outcome else {
        return None;
    };
    Some(Reply::ok(Bytes::from(objects::payment_intent_bytes(
        p,
        presentation.expand,
    ))))
}

/// A page of payments, as PaymentIntents.
pub(super) fn show_page(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    payments_page(presentation, outcome, objects::payment_intent)
}
