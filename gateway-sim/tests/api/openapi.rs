//! docs/openapi.json and the server agree, mechanically:
//! - the document's paths are exactly the paths the routers route (read from their source by
//!   `routes.rs`), so a route added without documenting it, or documented without being
//!   added, fails here;
//! - each path's documented methods are exactly the ones the server takes: the `Allow` header
//!   of the 405 it answers to a method nobody routes says which;
//! - every documented operation is answered by its route (not "unknown route", not 405);
//! - `GET /openapi.json` serves the file's bytes.
//!
//! Whether the answers keep to the document's schemas is schemathesis' job
//! (`scripts/openapi-check.sh`), against a live simulator.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, answer, spawn_app};
use crate::routes::server_paths;

const DOCUMENT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

/// A method no route takes: the server answers it with 405 and the methods the path does take.
const NO_ROUTE_TAKES: &str = "PROBE";

/// Stands in for a `{}` segment: names nothing, so lookups answer 404 `resource_missing`.
const SOME_NAME: &str = "nothing_by_this_name";

/// The document's operations: each path (as a template with `{}` for every `{name}`) and its
/// methods, upper case.
fn documented_operations() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(DOCUMENT_PATH).expect("docs/openapi.json is readable");
    let document: Value = serde_json::from_str(&text).expect("docs/openapi.json is JSON");
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    paths
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item is an object")
                .keys()
                .filter(|key| {
                    [
                        "get", "put", "post", "delete", "patch", "head", "options", "trace",
                    ]
                    .contains(&key.as_str())
                })
                .map(|method| method.to_uppercase())
                .collect();
            (template(path), methods)
        })
        .collect()
}

/// `/v1/payments/{id}/capture` → `/v1/payments/{}/capture`.
fn template(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn concrete(template: &str) -> String {
    template.replace("{}", SOME_NAME)
}

async fn send(app: &TestApp, method: Method, path: &str) -> crate::helpers::Answer {
    let mut request = app
        .client
        .request(method.clone(), app.url(path))
        .bearer_auth(&app.api_key);
    if method == Method::POST || method == Method::PUT {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    answer(request.send().await.expect("request sent")).await
}

#[test]
fn the_document_has_every_path_the_server_routes_and_no_other() {
    let documented: BTreeSet<String> = documented_operations().into_keys().collect();
    let routed = server_paths();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not in docs/openapi.json: {undocumented:?}; \
         in docs/openapi.json but not routed: {unrouted:?}"
    );
}

#[tokio::test]
async fn each_path_takes_exactly_the_documented_methods() {
    let app = spawn_app().await;
    let probe = Method::from_bytes(NO_ROUTE_TAKES.as_bytes()).expect("a valid method token");
    for (path, documented) in documented_operations() {
        let a = send(&app, probe.clone(), &concrete(&path)).await;
        assert_eq!(
            a.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{NO_ROUTE_TAKES} {path}: {}",
            a.json
        );
        let allowed: BTreeSet<String> = a
            .headers
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(
            allowed, documented,
            "{path}: the server takes {allowed:?}, the document says {documented:?}"
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_answered_by_its_route() {
    let app = spawn_app().await;
    for (path, methods) in documented_operations() {
        for method in methods {
            let method = Method::from_bytes(method.as_bytes()).expect("a documented method");
            let a = send(&app, method.clone(), &concrete(&path)).await;
            assert_ne!(
                a.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {}",
                a.json
            );
            let code = a.json["error"]["code"].as_str().unwrap_or_default();
            assert!(
                code != "unknown_route" && code != "unrecognized_request_url",
                "{method} {path} is not routed: {}",
                a.json
            );
        }
    }
}

#[tokio::test]
async fn openapi_json_serves_the_document_as_checked_in() {
    let app = spawn_app().await;
    let file = std::fs::read(DOCUMENT_PATH).expect("docs/openapi.json is readable");
    let a = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(a.status(), StatusCode::OK);
    assert_eq!(
        a.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(
        a.bytes().await.expect("body read").as_ref(),
        file.as_slice()
    );
}

#[tokio::test]
async fn openapi_json_needs_no_admin_token() {
    let app = crate::helpers::spawn_app_with(gateway_sim::SimConfig {
        admin_token: Some("t0ken".into()),
        ..gateway_sim::SimConfig::default()
    })
    .await;
    let open = app.client.get(app.url("/openapi.json")).send().await;
    assert_eq!(open.expect("request sent").status(), StatusCode::OK);
    let guarded = app.client.get(app.url("/_sim/stats")).send().await;
    assert_eq!(
        guarded.expect("request sent").status(),
        StatusCode::UNAUTHORIZED
    );
}
