//! `GET /_sim/payments/{id}` and `GET /_sim/payments?reference=ORDER_ID`: a payment, or every
//! payment of one merchant order, with its history (`history.rs`), whichever merchant made it.
//!
//! The native API answers the same questions (`GET /v1/payments/{id}`, `?reference=`) but only
//! to the merchant that owns the payment; the operator, who points a local service at the
//! simulator and wants to see what happened, looks across merchants, here.

use http::{Response, StatusCode};
use serde::Serialize;

use super::history::{self, PaymentHistory};
use super::{answer, json};
use crate::api::ApiError;
use crate::response::Body;
use crate::state::SimState;

/// Where one payment's path starts.
const PATH: &str = "/_sim/payments/";

/// The most payments one reference answers with: an order normally has a few, and each
/// history walks the ledger.
const MAX_PER_REFERENCE: usize = 20;

#[derive(Serialize)]
struct ReferenceAnswer {
    object: &'static str,
    reference: String,
    /// Oldest first, merchant by merchant.
    data: Vec<PaymentHistory>,
    /// More payments carry this reference than `data` holds (the first ones are shown).
    has_more: bool,
}

/// `GET /_sim/payments/{id}`.
pub(super) fn by_id(state: &SimState, path: &str) -> Response<Body> {
    let segment = path.strip_prefix(PATH).unwrap_or_default();
    if segment.is_empty() || segment.contains('/') {
        return answer(ApiError::unknown_route(&http::Method::GET, path).into_reply());
    }
    let id = match crate::api::path_segment(segment) {
        Ok(id) => id,
        Err(e) => return answer(e.with_param("id").into_reply()),
    };
    match state.engine().find_payment(&id) {
        Some(payment) => json(StatusCode::OK, &history::of(state, &payment)),
        None => answer(
            ApiError::not_found(
                "resource_missing",
                format!(
                    "No such payment: '{id}' (payment ids look like pay_...; search by order with ?reference=)."
                ),
            )
            .with_param("id")
            .into_reply(),
        ),
    }
}

/// `GET /_sim/payments?reference=ORDER_ID`: an empty `data` when no payment carries it.
pub(super) fn by_reference(state: &SimState, query: Option<&str>) -> Response<Body> {
    let Some(reference) = crate::api::query_param(query, "reference").filter(|r| !r.is_empty())
    else {
        return answer(
            ApiError::invalid(
                "parameter_missing",
                "Search payments by merchant order: GET /_sim/payments?reference=<order id> (or one payment: GET /_sim/payments/{id}).",
            )
            .with_param("reference")
            .into_reply(),
        );
    };
    let mut payments = state.engine().find_payments_by_reference(&reference);
    let has_more = payments.len() > MAX_PER_REFERENCE;
    payments.truncate(MAX_PER_REFERENCE);
    json(
        StatusCode::OK,
        &ReferenceAnswer {
            object: "list",
            data: payments.iter().map(|p| history::of(state, p)).collect(),
            reference,
            has_more,
        },
    )
}
