//! `/v1/charges`: retrieve, and list (all of the merchant's, or a
//! PaymentIntent's). A charge `ch_X` is the authorization attempt of the
//! engine's payment `pay_X`, shown only once that payment was confirmed.

use http::Method;

use super::ids::{CHARGE, INTENT, engine_id, stripe_id};
use super::objects;
use super::pages::{Page, PageCursor, list_json};
use super::params::Params;
use super::presentation::{Expand, Presentation, payments_page, shown};
use super::resource::{ReadRoute, Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply};
use crate::engine::{Engine, Payment};

/// `/v1/charges`.
pub(super) struct Charges;

impl Resource for Charges {
    type Route<'a> = ReadRoute<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<ReadRoute<'a>> {
        ReadRoute::of(method, path)
    }

    fn operation(
        route: ReadRoute<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        match route {
            ReadRoute::List => list(&request.params),
            ReadRoute::Retrieve(id) => retrieve(id, &request.params),
        }
    }
}

fn retrieve(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(&["expand"], false)?;
    let id = path_segment(id)?;
    let expand = params.expand(Expand::ON_CHARGE)?;
    let presentation = Presentation::object(show, "charge", expand, Some(&id), "charge");
    let id = engine_id(&id, CHARGE);
    Ok((Operation::Retrieve { id }, presentation))
}

/// `GET /v1/charges`: the merchant's confirmed payments, newest first; with
/// `payment_intent=`, that PaymentIntent's one charge (or none).
fn list(params: &Params) -> Result<(Operation, Presentation), ApiError> {
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
            let mut presentation = Presentation::list(
                show_of_payment,
                "payment_intent",
                expand,
                page,
                "/v1/charges",
            );
            presentation.asked_id = Some(intent.to_string());
            presentation.param = "payment_intent";
            let id = engine_id(intent, INTENT);
            Ok((Operation::Retrieve { id }, presentation))
        }
        None => {
            let query = page.query(CHARGE, true);
            let presentation = Presentation::list(show_page, "charge", expand, page, "/v1/charges");
            Ok((Operation::ListPage(query), presentation))
        }
    }
}

/// A payment's charge; a payment never confirmed has none.
fn show(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Payment(p) = outcome else {
        return None;
    };
    Some(match p.confirmed_at.get() {
        Some(_) => shown(objects::charge(p, presentation.expand)),
        None => presentation.missing(),
    })
}

/// The charges of one payment, as a list: one once confirmed, none before.
fn show_of_payment(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Payment(p) = outcome else {
        return None;
    };
    let charges: Vec<&Payment> = Some(p)
        .filter(|p| p.confirmed_at.is_some())
        .into_iter()
        .collect();
    // A list of at most one: cursors have nothing to walk past.
    let page = Page {
        limit: presentation.page().limit,
        cursor: PageCursor::Start,
    };
    let (items, has_more) = page
        .slice(&charges, |p| stripe_id(p.id, CHARGE))
        .unwrap_or_default();
    let data = items
        .iter()
        .map(|p| objects::charge(p, presentation.expand))
        .collect();
    Some(shown(list_json(presentation.url, data, has_more)))
}

/// A page of confirmed payments, as charges.
fn show_page(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    payments_page(presentation, outcome, objects::charge)
}
