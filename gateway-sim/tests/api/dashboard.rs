//! The dashboard (`GET /_sim/ui`): its files are served from the binary, without the admin
//! token (they hold no data); the data it reads is behind the token like the rest of `/_sim/*`.
//! The browser test in `tests/dashboard/` drives the page itself.

use reqwest::StatusCode;

use crate::helpers::{TestApp, answer, spawn_app, spawn_app_with};

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn the_page_and_its_files_are_served_from_the_binary() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/_sim/ui", "text/html; charset=utf-8"),
        ("/_sim/ui/", "text/html; charset=utf-8"),
        ("/_sim/ui/app.js", "text/javascript; charset=utf-8"),
        ("/_sim/ui/style.css", "text/css; charset=utf-8"),
    ] {
        let r = fetch(&app, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("content-type"), content_type, "{path}");
        assert!(
            header("content-security-policy").contains("script-src 'self'"),
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
    let page = fetch(&app, "/_sim/ui").await.text().await.expect("a body");
    assert!(page.contains("<script src=\"/_sim/ui/app.js\""), "{page}");
    let missing = answer(fetch(&app, "/_sim/ui/favicon.ico").await).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let posted = app
        .client
        .post(app.url("/_sim/ui"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// Nothing the page shows is ever parsed as markup: it builds elements and sets their text.
/// Checked on the bytes the binary serves, so no edit of the page can slip past it.
#[tokio::test]
async fn the_page_never_turns_data_into_markup_nor_loads_from_elsewhere() {
    let app = spawn_app().await;
    let script = fetch(&app, "/_sim/ui/app.js")
        .await
        .text()
        .await
        .expect("a body");
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!script.contains(sink), "app.js uses {sink}");
    }
    for path in ["/_sim/ui", "/_sim/ui/app.js", "/_sim/ui/style.css"] {
        let text = fetch(&app, path).await.text().await.expect("a body");
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{path} names another origin"
        );
    }
}

#[tokio::test]
async fn with_an_admin_token_the_page_loads_but_its_data_needs_the_token() {
    let app = spawn_app_with(gateway_sim::SimConfig {
        admin_token: Some("s3cret".into()),
        ..gateway_sim::SimConfig::default()
    })
    .await;
    for path in ["/_sim/ui", "/_sim/ui/app.js", "/_sim/ui/style.css"] {
        assert_eq!(fetch(&app, path).await.status(), StatusCode::OK, "{path}");
    }
    let data = [
        (reqwest::Method::GET, "/_sim/stats"),
        (reqwest::Method::GET, "/_sim/ledger"),
        (reqwest::Method::GET, "/_sim/config"),
        (reqwest::Method::GET, "/_sim/scenarios"),
        (reqwest::Method::POST, "/_sim/scenarios/calm/activate"),
        (reqwest::Method::GET, "/_sim/payments?reference=order-1"),
        (
            reqwest::Method::GET,
            "/_sim/payments/pay_0000000000000000000000",
        ),
    ];
    for (method, path) in &data {
        let refused = answer(
            app.client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("request sent"),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(refused.error_code(), "admin_token_required");
        let wrong = app
            .client
            .request(method.clone(), app.url(path))
            .header("x-admin-token", "guess")
            .send()
            .await
            .expect("request sent");
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // With the token, as the page sends it: the answers themselves.
    let with = |path: &str| {
        app.client
            .get(app.url(path))
            .header("x-admin-token", "s3cret")
            .send()
    };
    assert_eq!(
        with("/_sim/scenarios").await.expect("sent").status(),
        StatusCode::OK
    );
    assert_eq!(
        with("/_sim/payments?reference=order-1")
            .await
            .expect("sent")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        with("/_sim/payments/pay_0000000000000000000000")
            .await
            .expect("sent")
            .status(),
        StatusCode::NOT_FOUND
    );
}
