//! Payment-method lookups over HTTP: the test catalogue, read like any other
//! object (rate-limited, exposed to the fault model) and dated by the
//! simulator clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;

use super::assert_stripe_error;
use crate::helpers::{spawn_app, spawn_app_with_behaviour};

const VISA: &str = "/v1/payment_methods/pm_card_visa";

#[tokio::test]
async fn a_lookup_meets_the_fault_model_like_any_retrieve() {
    let app = spawn_app_with_behaviour(
        "[[gateway.sequences]]\nendpoints = [\"retrieve\"]\nfail_first = 1\nfault = \"http_503\"\n",
    )
    .await;
    let first = app.stripe_get(VISA, &[]).await;
    assert_stripe_error(
        &first,
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "service_unavailable",
    );
    let retry = app.stripe_get(VISA, &[]).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.json);
    assert_eq!(retry.json["id"], "pm_card_visa");
    assert_eq!(retry.json["card"]["last4"], "4242");
}

#[tokio::test]
async fn lookups_count_against_the_rate_limit() {
    let app =
        spawn_app_with_behaviour("[gateway.rate_limit]\nrequests_per_second = 1\nburst = 2\n")
            .await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let a = app.stripe_get(VISA, &[]).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert_stripe_error(
                &a,
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                "rate_limit",
            );
        }
        statuses.push(a.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn created_is_simulator_time_like_every_other_object() {
    let app = spawn_app().await;
    let a_year = Duration::from_secs(365 * 24 * 3600);
    app.sim.engine().advance_clock(a_year);
    let wall_clock = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let pm = app.stripe_get(VISA, &[]).await;
    assert_eq!(pm.status, StatusCode::OK, "{}", pm.json);
    let created = pm.json["created"].as_u64().expect("created");
    assert!(
        created >= (wall_clock + a_year).as_secs() - 5,
        "created {created} is not a year ahead of the wall clock {wall_clock:?}"
    );
    let intent = app
        .form(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd")],
            None,
        )
        .await;
    let intent_created = intent.json["created"].as_u64().expect("created");
    assert!(
        created.abs_diff(intent_created) <= 5,
        "{created} vs {intent_created}"
    );
}
