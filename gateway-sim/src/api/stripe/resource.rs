//! What every Stripe resource file provides: which of its paths exist, and
//! what each asks the engine to do. The contract between the route table and
//! the resources, apart from both so neither has to know the other's insides.

use http::Method;

use super::params::Params;
use super::presentation::Presentation;
use crate::api::{ApiError, Operation};
use crate::engine::Engine;
use crate::engine::ids::MerchantId;

/// One Stripe resource (`/v1/payment_intents`, `/v1/charges`...). A new
/// resource is a new implementation and one line in the route table.
pub(super) trait Resource {
    /// One of the resource's routes, holding the ids its path names (still %-encoded).
    type Route<'a>;

    /// The route `method` and the path segments after `/v1/<collection>` name;
    /// `None` answers 404, as Stripe answers unknown paths and wrong methods.
    /// Decided before authentication, so a wrong path is a 404 even without a key.
    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<Self::Route<'a>>;

    /// What the route asks the engine to do, and how to show what it did.
    fn operation(
        route: Self::Route<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError>;
}

/// A Stripe request past authentication: who asks, and what they sent.
pub(super) struct Request<'a> {
    /// For what an operation must read before the fault model decides (the
    /// payment a confirmation authorizes).
    pub(super) engine: &'a Engine,
    pub(super) merchant: MerchantId,
    pub(super) params: Params<'a>,
}

/// The routes of a read-only resource (charges, events): its list, and one by id.
pub(super) enum ReadRoute<'a> {
    List,
    Retrieve(&'a str),
}

impl<'a> ReadRoute<'a> {
    /// `GET /v1/<collection>` and `GET /v1/<collection>/{id}`; nothing else exists.
    pub(super) fn of(method: &Method, path: &[&'a str]) -> Option<ReadRoute<'a>> {
        match path {
            [] if method == Method::GET => Some(ReadRoute::List),
            [id] if method == Method::GET => Some(ReadRoute::Retrieve(id)),
            _ => None,
        }
    }
}
