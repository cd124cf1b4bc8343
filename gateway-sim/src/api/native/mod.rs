//! The native JSON API: `/v1/payments...` and `/v1/idempotency-keys/{key}`.
//!
//! Routing (this file) turns a request into a [`Call`]; `body.rs` validates the
//! JSON bodies field by field, apart because strictness is this API's promise:
//! unknown fields are refused, like strict real gateways do, so a typo never
//! silently changes what is charged; `render.rs` shows the engine's outcomes as
//! this API's JSON.

mod body;
mod events;
mod render;

use std::sync::Arc;

use http::Method;

use super::request::{bearer_api_key, idempotency_key, is_json, path_segment, query_param};
use super::{ApiError, Call, FrontDoor, Incoming, Operation};
use crate::engine::Engine;

/// The native API's front door and dialect.
pub struct Native;

impl FrontDoor for Native {
    fn route(&self, engine: &Engine, req: &Incoming<'_>) -> Option<Result<Call, ApiError>> {
        let op = match find_route(req) {
            Ok(Some(op)) => op,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        Some(build_call(engine, req, op))
    }
}

/// What a native path asks for, with the id or key it names (still %-encoded).
enum Op<'a> {
    Create,
    List,
    Retrieve(&'a str),
    Capture(&'a str),
    Cancel(&'a str),
    Refund(&'a str),
    LookupKey(&'a str),
}

/// The route a path names: `None` when it is not this API's, 405 (with the
/// methods it takes) when the method does not fit.
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
    let api_key = bearer_api_key(req.headers).ok_or_else(ApiError::unauthorized)?;
    let merchant = engine.merchant(api_key);
    let idempotency_key = if req.method == Method::POST {
        idempotency_key(req.headers)?
    } else {
        None
    };
    if req.method == Method::POST && !req.body.is_empty() && !is_json(req.headers) {
        return Err(ApiError::unsupported_media_type());
    }

    let mut card_number = None;
    let operation = match op {
        Op::Create => {
            let (new, number) = body::parse_create(req.body)?;
            card_number = number;
            Operation::Create(new)
        }
        Op::List => {
            let reference = query_param(req.query, "reference").ok_or_else(|| {
                ApiError::invalid(
                    "parameter_missing",
                    "List payments by merchant order: GET /v1/payments?reference=<order id>.",
                )
                .with_param("reference")
            })?;
            Operation::ListByReference { reference }
        }
        Op::Retrieve(id) => Operation::Retrieve {
            id: path_segment(id)?,
        },
        Op::Capture(id) => Operation::Capture {
            id: path_segment(id)?,
            amount: body::parse_amount(req.body)?,
        },
        Op::Cancel(id) => {
            body::parse_empty(req.body)?;
            Operation::Cancel {
                id: path_segment(id)?,
            }
        }
        Op::Refund(id) => Operation::Refund {
            id: path_segment(id)?,
            amount: body::parse_amount(req.body)?,
        },
        Op::LookupKey(key) => Operation::LookupKey {
            key: path_segment(key)?,
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
