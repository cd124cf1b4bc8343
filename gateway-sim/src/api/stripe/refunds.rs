//! `/v1/refunds`: create (of a PaymentIntent or of its charge), retrieve, and
//! list a payment's refunds. Refunds keep the engine's `re_` ids.

use http::Method;

use super::errors::error_reply;
use super::ids::{CHARGE, INTENT, engine_id};
use super::objects;
use super::pages::{PageCursor, list_json};
use super::params::Params;
use super::presentation::{Expand, Presentation, shown};
use super::resource::{Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply};
use crate::engine::{Engine, Refund};

/// `/v1/refunds`.
pub(super) struct Refunds;

/// A refunds route, with the refund id it names.
pub(super) enum Route<'a> {
    Create,
    List,
    Retrieve(&'a str),
}

impl Resource for Refunds {
    type Route<'a> = Route<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<Route<'a>> {
        let post = method == Method::POST;
        let get = method == Method::GET;
        match path {
            [] if post => Some(Route::Create),
            [] if get => Some(Route::List),
            [id] if get => Some(Route::Retrieve(id)),
            _ => None,
        }
    }

    fn operation(
        route: Route<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        match route {
            Route::Create => create(&request.params),
            Route::List => list(&request.params),
            Route::Retrieve(id) => retrieve(id, &request.params),
        }
    }
}

/// `POST /v1/refunds`: all or `amount` of what a payment captured, named by
/// its PaymentIntent or its charge (not both).
fn create(params: &Params) -> Result<(Operation, Presentation), ApiError> {
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
    let (asked, id, param) = match (params.string("payment_intent")?, params.string("charge")?) {
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
    let presentation = Presentation::object(show, param, expand, Some(asked), param);
    Ok((Operation::Refund { id, amount }, presentation))
}

fn retrieve(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(&["expand"], false)?;
    let id = path_segment(id)?;
    let expand = params.expand(Expand::ON_REFUND)?;
    let presentation = Presentation::object(show, "refund", expand, Some(&id), "refund");
    Ok((Operation::RetrieveRefund { id }, presentation))
}

/// `GET /v1/refunds`: the refunds of one payment, newest first.
fn list(params: &Params) -> Result<(Operation, Presentation), ApiError> {
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
    let (asked, id, param) = match (params.string("payment_intent")?, params.string("charge")?) {
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
    let mut presentation = Presentation::list(show_of_payment, param, expand, page, "/v1/refunds");
    presentation.asked_id = Some(asked.to_string());
    presentation.param = param;
    Ok((Operation::Retrieve { id }, presentation))
}

/// A refund; its charge or PaymentIntent in full when asked (read from the engine).
pub(super) fn show(
    engine: &Engine,
    call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Refund(r) = outcome else {
        return None;
    };
    let expand = presentation.expand;
    let payment = call
        .filter(|_| expand.contains(Expand::CHARGE) || expand.contains(Expand::PAYMENT_INTENT))
        .and_then(|call| engine.payment(call.merchant, &r.payment.to_string()).ok());
    Some(shown(objects::refund(r, payment.as_ref(), expand)))
}

/// A page of one payment's refunds, newest first; a cursor naming none of
/// them is a missing refund.
fn show_of_payment(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Payment(p) = outcome else {
        return None;
    };
    let newest_first: Vec<&Refund> = p.rare.refunds.iter().rev().collect();
    let page = presentation.page();
    Some(match page.slice(&newest_first, |r| r.id.to_string()) {
        Some((items, has_more)) => {
            let data = items
                .iter()
                .map(|r| objects::refund(r, Some(p), presentation.expand))
                .collect();
            shown(list_json(presentation.url, data, has_more))
        }
        None => {
            let (cursor, param) = match &page.cursor {
                PageCursor::Before(c) => (c.as_str(), "ending_before"),
                PageCursor::After(c) => (c.as_str(), "starting_after"),
                PageCursor::Start => ("", "starting_after"),
            };
            error_reply(
                &ApiError::not_found("resource_missing", format!("No such refund: '{cursor}'"))
                    .with_param(param),
            )
        }
    })
}
