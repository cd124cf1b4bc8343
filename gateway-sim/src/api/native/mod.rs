//! The native JSON API: `/v1/payments...`, `/v1/idempotency-keys/{key}`,
//! `/v1/events...`, `/v1/webhook-endpoints...`, `/v1/disputes...`, `/v1/balance`,
//! `/v1/balance-transactions...` and `/v1/payouts...` (`/v1/disputes`, `/v1/balance` and
//! `/v1/payouts`, like `/v1/events`, it leaves to the Stripe door for Stripe's clients).
//!
//! Routing (this file) turns a request into a [`Call`]; `body.rs` validates the
//! JSON bodies field by field, apart because strictness is this API's promise:
//! unknown fields are refused, like strict real gateways do, so a typo never
//! silently changes what is charged; `render.rs` shows the engine's outcomes as
//! this API's JSON, payments and refunds as `objects.rs` writes them (events
//! carry them too). `events.rs` is the native event table, an event's JSON and
//! the events list's query; `webhook_endpoints.rs` the endpoint bodies and JSON;
//! `settlement.rs` the balance, balance transactions and payouts (read-only).
//!
//! `/v1/events` is a path both doors claim, and this door is asked first. It
//! keeps a list request there unless it is a Stripe client's: HTTP Basic auth,
//! a `Stripe-Version` header or a `Stripe/` user agent (the SDKs send both).
//! Those it declines, and the Stripe door answers them with Stripe's events.
//! `GET /v1/events/{id}` goes to the dialect the id names. Each door lists
//! only its own dialect's events.

mod body;
mod events;
mod objects;
mod render;
mod settlement;
mod webhook_endpoints;

use std::sync::Arc;

use http::Method;

use super::request::{bearer_api_key, idempotency_key, is_json, path_segment, query_param};
use super::{ApiError, Call, FrontDoor, Incoming, Operation, SettlementRead};
use crate::engine::{Engine, EventDialect};

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
    ListEvents,
    RetrieveEvent(&'a str),
    CreateEndpoint,
    ListEndpoints,
    RetrieveEndpoint(&'a str),
    UpdateEndpoint(&'a str),
    DeleteEndpoint(&'a str),
    ListDisputes,
    RetrieveDispute(&'a str),
    DisputeEvidence(&'a str),
    CloseDispute(&'a str),
    Balance,
    ListBalanceTransactions,
    RetrieveBalanceTransaction(&'a str),
    ListPayouts,
    RetrievePayout(&'a str),
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
        ["v1", "events", id] if names_stripe_event(id) => ("", None),
        ["v1", "events"] if speaks_stripe(req.headers) => ("", None),
        ["v1", "events"] => ("GET", Some(Op::ListEvents)),
        ["v1", "events", id] => ("GET", Some(Op::RetrieveEvent(id))),
        // Stripe's clients get Stripe's disputes on the same paths.
        ["v1", "disputes", ..] if speaks_stripe(req.headers) => ("", None),
        ["v1", "disputes"] => ("GET", Some(Op::ListDisputes)),
        ["v1", "disputes", id] => ("GET", Some(Op::RetrieveDispute(id))),
        ["v1", "disputes", id, "evidence"] => ("POST", Some(Op::DisputeEvidence(id))),
        ["v1", "disputes", id, "close"] => ("POST", Some(Op::CloseDispute(id))),
        // Stripe's clients get Stripe's balance and payouts on the same paths.
        ["v1", "balance"] if speaks_stripe(req.headers) => ("", None),
        ["v1", "payouts"] if speaks_stripe(req.headers) => ("", None),
        ["v1", "payouts", _] if speaks_stripe(req.headers) => ("", None),
        ["v1", "balance"] => ("GET", Some(Op::Balance)),
        ["v1", "balance-transactions"] => ("GET", Some(Op::ListBalanceTransactions)),
        ["v1", "balance-transactions", id] => ("GET", Some(Op::RetrieveBalanceTransaction(id))),
        ["v1", "payouts"] => ("GET", Some(Op::ListPayouts)),
        ["v1", "payouts", id] => ("GET", Some(Op::RetrievePayout(id))),
        ["v1", "webhook-endpoints"] => (
            "GET, POST",
            Some(if req.method == Method::POST {
                Op::CreateEndpoint
            } else {
                Op::ListEndpoints
            }),
        ),
        ["v1", "webhook-endpoints", id] => (
            "GET, POST, DELETE",
            Some(match *req.method {
                Method::POST => Op::UpdateEndpoint(id),
                Method::DELETE => Op::DeleteEndpoint(id),
                _ => Op::RetrieveEndpoint(id),
            }),
        ),
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

/// Whether a request is a Stripe client's: HTTP Basic auth (Stripe's curl
/// examples), a `Stripe-Version` header, or a `Stripe/` user agent (every
/// Stripe SDK sends both). Decides who lists events on `/v1/events`, the path
/// both doors claim. The key's shape decides nothing: native clients use
/// `sk_test_...` keys too.
fn speaks_stripe(headers: &http::HeaderMap) -> bool {
    let basic = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    let stripe_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Stripe/"));
    basic || stripe_agent || headers.contains_key("stripe-version")
}

/// Whether an event id is one of the Stripe dialect's: the id itself says which
/// door answers `GET /v1/events/{id}`, whoever asks.
fn names_stripe_event(id: &str) -> bool {
    crate::engine::EventId::parse(id)
        .is_some_and(|id| id.dialect == crate::engine::EventDialect::Stripe)
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
        Op::ListEvents => Operation::ListEvents(events::list_query(engine, merchant, req.query)?),
        Op::RetrieveEvent(id) => Operation::RetrieveEvent {
            id: path_segment(id)?,
            dialect: EventDialect::Native,
        },
        Op::CreateEndpoint => {
            Operation::CreateWebhookEndpoint(webhook_endpoints::parse_create(req.body)?)
        }
        Op::ListEndpoints => Operation::ListWebhookEndpoints,
        Op::RetrieveEndpoint(id) => Operation::RetrieveWebhookEndpoint {
            id: webhook_endpoints::ours(engine, merchant, id)?,
        },
        Op::UpdateEndpoint(id) => {
            let update = webhook_endpoints::parse_update(req.body)?;
            Operation::UpdateWebhookEndpoint {
                id: webhook_endpoints::ours(engine, merchant, id)?,
                update,
            }
        }
        Op::DeleteEndpoint(id) => {
            body::parse_empty(req.body)?;
            Operation::DeleteWebhookEndpoint {
                id: webhook_endpoints::ours(engine, merchant, id)?,
            }
        }
        Op::ListDisputes => Operation::ListDisputes {
            payment: disputes_filter(req.query)?,
        },
        Op::RetrieveDispute(id) => Operation::RetrieveDispute {
            id: path_segment(id)?,
        },
        Op::DisputeEvidence(id) => Operation::AnswerDispute {
            id: path_segment(id)?,
            answer: body::parse_evidence(req.body)?,
        },
        Op::CloseDispute(id) => {
            body::parse_empty(req.body)?;
            Operation::CloseDispute {
                id: path_segment(id)?,
            }
        }
        Op::Balance => Operation::Settlement(SettlementRead::Balance),
        Op::ListBalanceTransactions => {
            Operation::Settlement(SettlementRead::Transactions(settlement::query(req.query)?))
        }
        Op::RetrieveBalanceTransaction(id) => Operation::Settlement(SettlementRead::Transaction {
            id: path_segment(id)?,
        }),
        Op::ListPayouts => Operation::Settlement(SettlementRead::Payouts),
        Op::RetrievePayout(id) => Operation::Settlement(SettlementRead::Payout {
            id: path_segment(id)?,
        }),
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

/// `GET /v1/disputes?payment=pay_...`: the one filter the list takes.
fn disputes_filter(query: Option<&str>) -> Result<Option<String>, ApiError> {
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        if key != "payment" {
            return Err(ApiError::invalid(
                "parameter_unknown",
                format!(
                    "Unknown query parameter '{key}'; GET /v1/disputes takes payment=<payment id>."
                ),
            )
            .with_param(key.to_string()));
        }
    }
    Ok(query_param(query, "payment").filter(|p| !p.is_empty()))
}
