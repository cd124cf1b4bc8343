//! `/v1/webhook-endpoints`: the JSON bodies that register and change an
//! endpoint (unknown fields refused, like every native body), and an endpoint
//! as this API's JSON. The secret is shown once, in the answer to the create.
//!
//! An endpoint registered here speaks the native dialect (its events are
//! named from the native table); endpoints registered through the Stripe door
//! are not this door's, so it neither lists nor finds them.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::body::parse_json;
use super::events::ALL_EVENT_TYPES;
use crate::api::ApiError;
use crate::api::request::path_segment;
use crate::api::webhook_endpoints::{check_description, check_event_types, check_url, missing};
use crate::engine::ids::{MerchantId, WebhookEndpointId};
use crate::engine::{EndpointUpdate, Engine, EventDialect, NewWebhookEndpoint, WebhookEndpoint};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    events: Vec<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    disabled: Option<bool>,
    /// `null` removes the description; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `POST /v1/webhook-endpoints`: `{"url", "events": [...], "description"?}`.
pub(super) fn parse_create(body: &Bytes) -> Result<NewWebhookEndpoint, ApiError> {
    if body.is_empty() {
        return Err(missing("url"));
    }
    let b: CreateBody = parse_json(body)?;
    let events: Vec<&str> = b.events.iter().map(String::as_str).collect();
    Ok(NewWebhookEndpoint {
        url: check_url(&b.url, "url")?,
        enabled_events: check_event_types(&events, ALL_EVENT_TYPES, "events")?,
        dialect: EventDialect::Native,
        description: b
            .description
            .map(|d| check_description(&d, "description"))
            .transpose()?,
    })
}

/// `POST /v1/webhook-endpoints/{id}`: the fields sent change, the rest stays.
pub(super) fn parse_update(body: &Bytes) -> Result<EndpointUpdate, ApiError> {
    if body.is_empty() {
        return Ok(EndpointUpdate::default());
    }
    let b: UpdateBody = parse_json(body)?;
    let enabled_events = match &b.events {
        Some(events) => {
            let events: Vec<&str> = events.iter().map(String::as_str).collect();
            Some(check_event_types(&events, ALL_EVENT_TYPES, "events")?)
        }
        None => None,
    };
    let description = match b.description {
        Some(Some(d)) => Some(Some(check_description(&d, "description")?)),
        Some(None) => Some(None),
        None => None,
    };
    Ok(EndpointUpdate {
        url: b.url.map(|u| check_url(&u, "url")).transpose()?,
        enabled_events,
        disabled: b.disabled,
        description,
    })
}

/// The endpoint id a path names, unless it is another door's endpoint: that
/// one is missing here, so it cannot be changed into a native endpoint.
pub(super) fn ours(engine: &Engine, merchant: MerchantId, id: &str) -> Result<String, ApiError> {
    let id = path_segment(id)?;
    let theirs = WebhookEndpointId::parse(&id)
        .and_then(|eid| engine.webhook_endpoint(merchant, eid))
        .is_some_and(|e| e.dialect != EventDialect::Native);
    if theirs {
        return Err(ApiError::not_found(
            "resource_missing",
            format!("No such webhook endpoint: '{id}'"),
        )
        .with_param("id"));
    }
    Ok(id)
}

#[derive(Serialize)]
pub(super) struct EndpointJson<'a> {
    id: String,
    object: &'static str,
    url: &'a str,
    events: Vec<&'a str>,
    disabled: bool,
    description: Option<&'a str>,
    created: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

/// An endpoint as this API's JSON; its secret only when just created.
pub(super) fn endpoint_json(e: &WebhookEndpoint, with_secret: bool) -> EndpointJson<'_> {
    EndpointJson {
        id: e.id.to_string(),
        object: "webhook_endpoint",
        url: &e.url,
        events: e.enabled_events.iter().map(|t| &**t).collect(),
        disabled: e.disabled,
        description: e.description.as_deref(),
        created: e.created,
        secret: with_secret.then_some(&*e.secret),
    }
}

#[derive(Serialize)]
pub(super) struct DeletedJson {
    id: String,
    object: &'static str,
    deleted: bool,
}

pub(super) fn deleted_json(e: &WebhookEndpoint) -> DeletedJson {
    DeletedJson {
        id: e.id.to_string(),
        object: "webhook_endpoint",
        deleted: true,
    }
}

/// This door's endpoints among a merchant's.
pub(super) fn native_only(all: &[Arc<WebhookEndpoint>]) -> impl Iterator<Item = &WebhookEndpoint> {
    all.iter()
        .map(|e| &**e)
        .filter(|e| e.dialect == EventDialect::Native)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_bodies_are_strict_and_name_the_field() {
        let create = |body: &str| parse_create(&Bytes::from(body.to_string()));
        let param = |body: &str| create(body).unwrap_err().param;
        assert!(create(r#"{"url": "https://x.test/h", "events": ["payment.succeeded"]}"#).is_ok());
        assert_eq!(param(r#"{"events": ["*"]}"#).as_deref(), Some("url"));
        assert_eq!(
            param(r#"{"url": "https://x.test/h"}"#).as_deref(),
            Some("events")
        );
        assert_eq!(
            param(r#"{"url": "https://x.test/h", "events": []}"#).as_deref(),
            Some("events")
        );
        assert_eq!(
            param(r#"{"url": "https://x.test/h", "events": ["payment_intent.created"]}"#)
                .as_deref(),
            Some("events")
        );
        assert_eq!(
            param(r#"{"url": "mailto:a@b", "events": ["*"]}"#).as_deref(),
            Some("url")
        );
        assert_eq!(
            param(r#"{"url": "https://x.test/h", "events": ["*"], "secret": "x"}"#).as_deref(),
            Some("secret")
        );
        let update = parse_update(&Bytes::from_static(
            br#"{"description": null, "disabled": true}"#,
        ))
        .unwrap();
        assert_eq!(update.description, Some(None));
        assert_eq!(update.disabled, Some(true));
        let update = parse_update(&Bytes::from_static(br#"{"disabled": false}"#)).unwrap();
        assert!(update.description.is_none());
    }
}
