//! `GET /_sim/webhooks/deliveries` (the delivery records as NDJSON, `?event=evt_...` for one
//! event's, `?reference=ORDER_ID` for one order's, both together for one order's event) and
//! `POST /_sim/webhooks/resend/{event_id}` (send an event again to every endpoint that wants
//! it, without faults: how a test recovers what a `drop` fault or an outage lost).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use super::{answer, json};
use crate::api::ApiError;
use crate::response::{Body, full};
use crate::state::SimState;
use crate::webhooks::DeliveryFilter;

pub(super) fn deliveries(state: &SimState, query: Option<&str>) -> Response<Body> {
    let (event, reference) = match (filter(query, "event"), filter(query, "reference")) {
        (Ok(event), Ok(reference)) => (event, reference),
        (Err(e), _) | (_, Err(e)) => return answer(e.into_reply()),
    };
    let filter = DeliveryFilter {
        event_id: event.as_deref(),
        reference: reference.as_deref(),
        payment_id: None,
    };
    let mut out = Vec::new();
    for record in state.webhooks().deliveries(&filter) {
        // A record always serializes; a failure would only lose one line.
        if serde_json::to_writer(&mut out, &record).is_ok() {
            out.push(b'\n');
        }
    }
    let mut r = Response::new(full(Bytes::from(out)));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    r
}

/// A filter of the query, percent-decoded. A filter given with a malformed %-escape is a 400:
/// answering with every record instead would look like the order's deliveries.
fn filter(query: Option<&str>, name: &'static str) -> Result<Option<String>, ApiError> {
    let given = query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split_once('=').map_or(pair, |(k, _)| k) == name)
    });
    match crate::api::query_param(query, name) {
        None if given => Err(ApiError::invalid(
            "invalid_query",
            format!("The `{name}` filter has a malformed %-escape."),
        )
        .with_param(name)),
        value => Ok(value),
    }
}

pub(super) fn resend(state: &SimState, event_id: &str) -> Response<Body> {
    #[derive(Serialize)]
    struct Resent<'a> {
        event: &'a str,
        deliveries: usize,
    }
    match state.webhooks().resend(event_id) {
        Some(deliveries) => json(
            StatusCode::ACCEPTED,
            &Resent {
                event: event_id,
                deliveries,
            },
        ),
        None => answer(
            ApiError::not_found(
                "resource_missing",
                format!("No such event: '{event_id}' (event ids come from GET /v1/events or a delivery)."),
            )
            .with_param("event_id")
            .into_reply(),
        ),
    }
}
