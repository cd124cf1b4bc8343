//! `/v1/webhook_endpoints`: register, list, retrieve, update and delete the
//! URLs a merchant's Stripe events are sent to. The secret (`whsec_...`) is
//! shown once, in the answer to the create, as on Stripe.
//!
//! An endpoint registered here speaks Stripe (its events are Stripe's, named
//! from `ALL_EVENT_TYPES`); endpoints registered through the native door are
//! not this door's, so it neither lists nor finds them.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use super::errors::error_reply;
use super::events::ALL_EVENT_TYPES;
use super::pages::{PageCursor, list_json};
use super::params::{Params, missing};
use super::presentation::{Expand, Presentation, shown};
use super::resource::{Request, Resource};
use crate::api::request::path_segment;
use crate::api::webhook_endpoints::{check_description, check_event_types, check_url};
use crate::api::{ApiError, Call, Operation, Outcome, Reply};
use crate::engine::ids::WebhookEndpointId;
use crate::engine::{EndpointUpdate, Engine, EventDialect, NewWebhookEndpoint, WebhookEndpoint};

/// `/v1/webhook_endpoints`.
pub(super) struct WebhookEndpoints;

/// A webhook-endpoints route, with the endpoint id it names.
pub(super) enum Route<'a> {
    Create,
    List,
    Retrieve(&'a str),
    Update(&'a str),
    Delete(&'a str),
}

impl Resource for WebhookEndpoints {
    type Route<'a> = Route<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<Route<'a>> {
        match path {
            [] if method == Method::POST => Some(Route::Create),
            [] if method == Method::GET => Some(Route::List),
            [id] if method == Method::GET => Some(Route::Retrieve(id)),
            [id] if method == Method::POST => Some(Route::Update(id)),
            [id] if method == Method::DELETE => Some(Route::Delete(id)),
            _ => None,
        }
    }

    fn operation(
        route: Route<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        let params = &request.params;
        match route {
            Route::Create => create(params),
            Route::List => list(params),
            Route::Retrieve(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let (id, presentation) = named(request, id)?;
                Ok((Operation::RetrieveWebhookEndpoint { id }, presentation))
            }
            Route::Update(id) => {
                let update = update(params)?;
                let (id, presentation) = named(request, id)?;
                Ok((
                    Operation::UpdateWebhookEndpoint { id, update },
                    presentation,
                ))
            }
            Route::Delete(id) => {
                params.only(&[], false)?;
                let (id, presentation) = named(request, id)?;
                Ok((Operation::DeleteWebhookEndpoint { id }, presentation))
            }
        }
    }
}

/// The endpoint a path names, checked to be a Stripe one: another door's
/// endpoint is missing here, so it cannot be changed into a Stripe endpoint.
fn named(request: &Request<'_>, id: &str) -> Result<(String, Presentation), ApiError> {
    let id = path_segment(id)?;
    let presentation =
        Presentation::object(show, "webhook_endpoint", Expand::NONE, Some(&id), "id");
    let theirs = WebhookEndpointId::parse(&id)
        .and_then(|eid| request.engine.webhook_endpoint(request.merchant, eid))
        .is_some_and(|e| e.dialect != EventDialect::Stripe);
    if theirs {
        return Err(ApiError::not_found(
            "resource_missing",
            format!("No such webhook endpoint: '{id}'"),
        )
        .with_param("id"));
    }
    Ok((id, presentation))
}

/// `POST /v1/webhook_endpoints`: `url` and `enabled_events[]` required.
fn create(params: &Params) -> Result<(Operation, Presentation), ApiError> {
    // `api_version` and `metadata` are accepted and not kept (docs/stripe.md).
    params.only(
        &[
            "url",
            "enabled_events",
            "description",
            "connect",
            "api_version",
            "metadata",
            "expand",
        ],
        false,
    )?;
    params.metadata_on_create()?;
    params.expand(Expand::NONE)?;
    if params.boolean("connect")? == Some(true) {
        return Err(ApiError::invalid(
            "parameter_invalid_boolean",
            "gateway-sim has no Connect accounts: connect=true is not supported.",
        )
        .with_param("connect"));
    }
    let url = check_url(params.string("url")?.ok_or_else(|| missing("url"))?, "url")?;
    let events = params
        .list("enabled_events")?
        .ok_or_else(|| missing("enabled_events"))?;
    let enabled_events = check_event_types(&events, ALL_EVENT_TYPES, "enabled_events")?;
    let description = params
        .string("description")?
        .map(|d| check_description(d, "description"))
        .transpose()?;
    let new = NewWebhookEndpoint {
        url,
        enabled_events,
        dialect: EventDialect::Stripe,
        description,
    };
    let presentation = Presentation::object(show, "webhook_endpoint", Expand::NONE, None, "id");
    Ok((Operation::CreateWebhookEndpoint(new), presentation))
}

/// `POST /v1/webhook_endpoints/{id}`: what it sends changes; the rest stays.
fn update(params: &Params) -> Result<EndpointUpdate, ApiError> {
    params.only(
        &[
            "url",
            "enabled_events",
            "description",
            "disabled",
            "metadata",
            "expand",
        ],
        false,
    )?;
    params.metadata_patch()?;
    params.expand(Expand::NONE)?;
    let url = match params.string("url")? {
        Some(url) => Some(check_url(url, "url")?),
        // `url=` would unset the one thing an endpoint must have.
        None if params.sent("url") => return Err(missing("url")),
        None => None,
    };
    let enabled_events = params
        .list("enabled_events")?
        .map(|events| check_event_types(&events, ALL_EVENT_TYPES, "enabled_events"))
        .transpose()?;
    // `description=` unsets it, as Stripe's empty strings do.
    let description = match params.string("description")? {
        Some(d) => Some(Some(check_description(d, "description")?)),
        None if params.sent("description") => Some(None),
        None => None,
    };
    Ok(EndpointUpdate {
        url,
        enabled_events,
        disabled: params.boolean("disabled")?,
        description,
    })
}

/// `GET /v1/webhook_endpoints`: newest first, paged.
fn list(params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(
        &["limit", "starting_after", "ending_before", "expand"],
        false,
    )?;
    params.expand(Expand::NONE)?;
    let page = params.page()?;
    let presentation = Presentation::list(
        show_page,
        "webhook_endpoint",
        Expand::NONE,
        page,
        "/v1/webhook_endpoints",
    );
    Ok((Operation::ListWebhookEndpoints, presentation))
}

/// An endpoint as Stripe's JSON; with its secret only when just created.
fn endpoint_json(e: &WebhookEndpoint, with_secret: bool) -> Value {
    let status = if e.disabled { "disabled" } else { "enabled" };
    let mut value = json!({
        "id": e.id.to_string(),
        "object": "webhook_endpoint",
        "api_version": null,
        "application": null,
        "created": e.created,
        "description": e.description.as_deref(),
        "enabled_events": e.enabled_events.iter().map(|t| &**t).collect::<Vec<_>>(),
        "livemode": false,
        "metadata": {},
        "status": status,
        "url": &*e.url,
    });
    if with_secret {
        value["secret"] = json!(&*e.secret);
    }
    value
}

/// One endpoint, or the deletion of one.
fn show(
    _engine: &Engine,
    _call: Option<&Call>,
    _presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    Some(shown(match outcome {
        Outcome::WebhookEndpoint { endpoint, new } => endpoint_json(endpoint, *new),
        Outcome::DeletedWebhookEndpoint(e) => {
            json!({"id": e.id.to_string(), "object": "webhook_endpoint", "deleted": true})
        }
        _ => return None,
    }))
}

/// A page of this door's endpoints, newest first.
fn show_page(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::WebhookEndpoints(all) = outcome else {
        return None;
    };
    let ours: Vec<&Arc<WebhookEndpoint>> = all
        .iter()
        .filter(|e| e.dialect == EventDialect::Stripe)
        .collect();
    let page = presentation.page();
    Some(match page.slice(&ours, |e| e.id.to_string()) {
        Some((items, has_more)) => {
            let data = items.iter().map(|e| endpoint_json(e, false)).collect();
            shown(list_json(presentation.url, data, has_more))
        }
        None => {
            let (cursor, param) = match &page.cursor {
                PageCursor::Before(c) => (c.as_str(), "ending_before"),
                PageCursor::After(c) => (c.as_str(), "starting_after"),
                PageCursor::Start => ("", "starting_after"),
            };
            error_reply(
                &ApiError::not_found(
                    "resource_missing",
                    format!("No such webhook endpoint: '{cursor}'"),
                )
                .with_param(param),
            )
        }
    })
}
