//! `GET /_sim/ui`: the dashboard, a page for the developer who points a local service at the
//! simulator and wants to see what happened. Its HTML, script and stylesheet live in `ui/` and
//! are compiled into the binary, so it works offline and fetches nothing from anywhere else.
//!
//! The page holds no data: it asks the control plane's JSON for everything it shows
//! (`/_sim/stats`, `/_sim/ledger`, `/_sim/payments`, `/_sim/config`, `/_sim/scenarios`), once a
//! second. So the page itself is served without the admin token (a browser cannot send a
//! header when it opens a URL), and the token guards the data: the page asks for it, keeps it
//! in the tab's sessionStorage and sends it as `X-Admin-Token`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

use super::answer;
use crate::api::ApiError;
use crate::response::{Body, full};

const PAGE: &str = "/_sim/ui";

/// Only the page's own files, and only scripts and styles from them: merchant-supplied text
/// the page shows can never run, even if a bug put it into markup.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The page's files: path, content type, bytes.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        PAGE,
        "text/html; charset=utf-8",
        include_str!("ui/index.html"),
    ),
    (
        "/_sim/ui/app.js",
        "text/javascript; charset=utf-8",
        include_str!("ui/app.js"),
    ),
    (
        "/_sim/ui/style.css",
        "text/css; charset=utf-8",
        include_str!("ui/style.css"),
    ),
];

/// Whether `path` is the page or one of its files (served without the admin token).
pub(super) fn is_page(path: &str) -> bool {
    ASSETS.iter().any(|(p, _, _)| *p == path)
}

/// `GET /_sim/ui` and its files; 404 for any other path under it.
pub(super) fn asset(method: &http::Method, path: &str) -> Response<Body> {
    let Some((_, content_type, text)) = ASSETS.iter().find(|(p, _, _)| *p == path) else {
        return answer(ApiError::unknown_route(method, path).into_reply());
    };
    let mut r = Response::new(full(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = StatusCode::OK;
    let headers = r.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A new binary may bring a new page: the browser asks again each time.
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    r
}
