//! `GET /openapi.json`: the OpenAPI 3.1 document of the native API and the control plane
//! (`docs/openapi.json`), built into the binary so a running simulator describes itself, with
//! no file to ship beside it. The document is hand-written; `tests/api/openapi.rs` keeps its
//! paths and the routes the server answers in step, and `scripts/openapi-check.sh` runs
//! schemathesis against a live simulator to keep its answers true to it.

use bytes::Bytes;
use http::{HeaderValue, Response};

use crate::response::{Body, full};

/// `docs/openapi.json`, as it was when the binary was built.
const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub(super) fn response() -> Response<Body> {
    let mut r = Response::new(full(Bytes::from_static(DOCUMENT.as_bytes())));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
