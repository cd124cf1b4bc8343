//! `/v1/disputes`: list (all, or a charge's or a PaymentIntent's), retrieve,
//! update (evidence, submitted or kept) and close (accept the loss). A dispute
//! `dp_X` disputes the charge `ch_X` of the engine's payment `pay_X`; it exists
//! once a dispute test card's payment was disputed (see `engine/disputes.rs`).
//! The native door leaves this path to this one for Stripe's clients.

use http::Method;
use serde_json::{Value, json};

use super::ids::{CHARGE, INTENT, engine_id, stripe_id};
use super::pages::list_json;
use super::params::Params;
use super::presentation::{Expand, Presentation, shown};
use super::resource::{Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply};
use crate::engine::{DisputeAnswer, Engine, Payment};

/// Evidence text longer than this is refused (Stripe's limit for text fields).
const MAX_EVIDENCE: usize = 20_000;

/// `/v1/disputes`.
pub(super) struct Disputes;

/// A disputes route, with the dispute id it names.
pub(super) enum Route<'a> {
    List,
    Retrieve(&'a str),
    Update(&'a str),
    Close(&'a str),
}

impl Resource for Disputes {
    type Route<'a> = Route<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<Route<'a>> {
        let post = method == Method::POST;
        let get = method == Method::GET;
        match path {
            [] if get => Some(Route::List),
            [id] if get => Some(Route::Retrieve(id)),
            [id] if post => Some(Route::Update(id)),
            [id, "close"] if post => Some(Route::Close(id)),
            _ => None,
        }
    }

    fn operation(
        route: Route<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        let params = &request.params;
        match route {
            Route::List => list(params),
            Route::Retrieve(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let id = path_segment(id)?;
                Ok((Operation::RetrieveDispute { id: id.clone() }, one(&id)))
            }
            Route::Update(id) => update(id, params),
            Route::Close(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let id = path_segment(id)?;
                Ok((Operation::CloseDispute { id: id.clone() }, one(&id)))
            }
        }
    }
}

/// How a dispute outcome shows without a routed presentation.
pub(super) fn by_kind(outcome: &Outcome) -> Presentation {
    match outcome {
        Outcome::Disputes(_) => Presentation::list(
            show_list,
            "dispute",
            Expand::NONE,
            super::pages::LARGEST_FIRST.clone(),
            "/v1/disputes",
        ),
        _ => Presentation::object(show, "dispute", Expand::NONE, None, "id"),
    }
}

fn one(id: &str) -> Presentation {
    Presentation::object(show, "dispute", Expand::NONE, Some(id), "dispute")
}

/// `POST /v1/disputes/{id}`: `evidence[uncategorized_text]` and `submit`
/// (default true when evidence is given), and `metadata`, kept and shown. An update
/// of the metadata alone submits nothing, so a decided dispute takes it too.
fn update(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(&["evidence", "submit", "metadata", "expand"], false)?;
    params.expand(Expand::NONE)?;
    let metadata = params.metadata_patch()?;
    let evidence = params.evidence_text(MAX_EVIDENCE)?;
    let submit = params
        .boolean("submit")?
        .unwrap_or(evidence.is_some() || metadata.is_none());
    let id = path_segment(id)?;
    let operation = Operation::AnswerDispute {
        id: id.clone(),
        answer: DisputeAnswer {
            evidence,
            submit,
            metadata,
        },
    };
    Ok((operation, one(&id)))
}

/// `GET /v1/disputes`: newest first, all of the merchant's, or one charge's or
/// PaymentIntent's.
fn list(params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(
        &[
            "charge",
            "payment_intent",
            "limit",
            "starting_after",
            "ending_before",
            "expand",
        ],
        false,
    )?;
    let page = params.page()?;
    params.expand(Expand::NONE)?;
    let payment = match (params.string("charge")?, params.string("payment_intent")?) {
        (Some(charge), _) => Some(engine_id(charge, CHARGE)),
        (None, Some(intent)) => Some(engine_id(intent, INTENT)),
        (None, None) => None,
    };
    let presentation = Presentation::list(show_list, "dispute", Expand::NONE, page, "/v1/disputes");
    Ok((Operation::ListDisputes { payment }, presentation))
}

fn show(
    engine: &Engine,
    _call: Option<&Call>,
    _presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Dispute(p) = outcome else {
        return None;
    };
    Some(shown(dispute(p, now(engine))?))
}

fn show_list(
    engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Disputes(list) = outcome else {
        return None;
    };
    let all: Vec<&Payment> = list.iter().collect();
    let id = |p: &&Payment| {
        p.rare
            .dispute
            .as_ref()
            .map_or_else(String::new, |d| d.id.to_string())
    };
    Some(match presentation.page().slice(&all, id) {
        Some((items, has_more)) => {
            let data = items
                .iter()
                .filter_map(|p| dispute(p, now(engine)))
                .collect();
            shown(list_json(presentation.url, data, has_more))
        }
        None => presentation.missing(),
    })
}

/// A Stripe dispute object of a disputed payment; `None` when it has no dispute.
/// `now` (Unix seconds) says whether the answer is past due.
pub(super) fn dispute(p: &Payment, now: u64) -> Option<Value> {
    let d = p.rare.dispute.as_deref()?;
    Some(json!({
        "id": d.id.to_string(),
        "object": "dispute",
        "amount": d.amount,
        "balance_transactions": [],
        "charge": stripe_id(p.id, CHARGE),
        "created": d.created,
        "currency": p.currency.as_str(),
        "evidence": {
            "uncategorized_text": d.evidence.as_deref(),
        },
        "evidence_details": {
            "due_by": d.due_by,
            "has_evidence": d.evidence.is_some(),
            "past_due": d.status.needs_response() && now > d.due_by,
            "submission_count": d.submission_count,
        },
        "is_charge_refundable": d.status.is_closed() && d.withheld() == 0,
        "livemode": false,
        "metadata": d
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<Value>(m).ok())
            .unwrap_or_else(|| json!({})),
        "payment_intent": stripe_id(p.id, INTENT),
        "reason": d.reason.as_str(),
        "status": d.status.as_str(),
    }))
}

fn now(engine: &Engine) -> u64 {
    engine.clock().now_ms() / 1000
}
