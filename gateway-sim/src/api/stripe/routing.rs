//! The route table: which resource owns `/v1/<collection>/...`, and the steps
//! every Stripe request takes before its resource turns it into an operation
//! (the route, the API key, the idempotency key, the parameters, in that
//! order, so every resource fails the same way on the same mistake).

use std::sync::Arc;

use http::Method;

use super::auth::{api_key, missing_api_key};
use super::balance::Balance;
use super::balance_transactions::BalanceTransactions;
use super::charges::Charges;
use super::checkout_sessions::CheckoutSessions;
use super::disputes::Disputes;
use super::errors::unrecognized_url;
use super::events::Events;
use super::params::Params;
use super::payment_intents::PaymentIntents;
use super::payment_methods::PaymentMethods;
use super::payouts::Payouts;
use super::refunds::Refunds;
use super::resource::{Request, Resource};
use super::webhook_endpoints::WebhookEndpoints;
use crate::api::request::idempotency_key;
use crate::api::{ApiError, Call, Incoming};
use crate::engine::Engine;

/// Builds the call for a request on one resource's paths (those after the collection).
type Serve = fn(&Engine, &Incoming<'_>, &[&str]) -> Result<Call, ApiError>;

/// The resources this dialect serves, by the collection their paths start with.
/// A new resource is a new file and one line here.
const RESOURCES: &[(&str, Serve)] = &[
    ("payment_intents", serve::<PaymentIntents>),
    ("charges", serve::<Charges>),
    ("refunds", serve::<Refunds>),
    ("payment_methods", serve::<PaymentMethods>),
    ("events", serve::<Events>),
    ("webhook_endpoints", serve::<WebhookEndpoints>),
    ("checkout", serve::<CheckoutSessions>),
    ("disputes", serve::<Disputes>),
    ("balance", serve::<Balance>),
    ("balance_transactions", serve::<BalanceTransactions>),
    ("payouts", serve::<Payouts>),
];

/// Routes a Stripe API request: `None` when the path is not one of this dialect's.
pub(super) fn route(engine: &Engine, req: &Incoming<'_>) -> Option<Result<Call, ApiError>> {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let ["v1", collection, path @ ..] = segments.as_slice() else {
        return None;
    };
    let (_, serve) = RESOURCES.iter().find(|(name, _)| name == collection)?;
    Some(serve(engine, req, path))
}

/// The call a request on resource `R` makes, or the error Stripe would answer.
fn serve<R: Resource>(
    engine: &Engine,
    req: &Incoming<'_>,
    path: &[&str],
) -> Result<Call, ApiError> {
    let route = R::route(req.method, path).ok_or_else(|| unrecognized_url(req.method, req.path))?;
    let api_key = api_key(req.headers).ok_or_else(missing_api_key)?;
    let merchant = engine.merchant(&api_key);
    let idempotency_key = if req.method == Method::POST {
        idempotency_key(req.headers)?
    } else {
        None
    };
    let params = Params::from_request(req)?;
    let request = Request {
        engine,
        merchant,
        params,
    };
    let (operation, presentation) = R::operation(route, &request)?;
    let mut call = Call::new(
        merchant,
        Arc::from(api_key),
        operation,
        idempotency_key,
        req.method,
        req.path,
        req.body,
    );
    call.presentation = Some(Arc::new(presentation));
    Ok(call)
}
