//! Switching among the scenarios given at start (`GET /_sim/scenarios`,
//! `POST /_sim/scenarios/{name}/activate`): the same checks and answer as `PUT /_sim/config`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_error_shape, spawn_app, spawn_app_with};
use gateway_sim::{ScenarioBehaviour, SimConfig, parse_scenario_gateway};

fn scenario(name: &str, gateway_toml: &str) -> ScenarioBehaviour {
    ScenarioBehaviour {
        name: name.to_string(),
        behaviour: parse_scenario_gateway(gateway_toml).expect("a valid scenario"),
    }
}

/// A simulator started with `calm` (in force) and `stormy` (half the charges declined).
async fn calm_and_stormy() -> TestApp {
    let calm = scenario("calm", "[gateway]\n");
    let stormy = scenario("stormy", "[gateway.declines]\nrate = 0.5\n");
    spawn_app_with(SimConfig {
        behaviour: calm.behaviour.clone(),
        scenarios: vec![calm, stormy],
        ..SimConfig::default()
    })
    .await
}

/// The decline rate a `/_sim/config` answer shows (a default is left out: 0).
fn decline_rate(config: &serde_json::Value) -> f64 {
    config["gateway"]["declines"]["rate"]
        .as_f64()
        .unwrap_or(0.0)
}

async fn post(app: &TestApp, path: &str) -> crate::helpers::Answer {
    crate::helpers::answer(
        app.client
            .post(app.url(path))
            .send()
            .await
            .expect("request sent"),
    )
    .await
}

#[tokio::test]
async fn the_scenarios_are_listed_with_the_one_in_force() {
    let app = calm_and_stormy().await;

    let list = app.get("/_sim/scenarios").await;

    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json["active"], "calm");
    let scenarios = list.json["scenarios"].as_array().expect("a list");
    assert_eq!(scenarios.len(), 2);
    assert_eq!(scenarios[0]["name"], "calm");
    assert_eq!(scenarios[0]["active"], true);
    assert_eq!(scenarios[1]["name"], "stormy");
    assert_eq!(scenarios[1]["active"], false);
    assert_eq!(scenarios[1]["gateway"]["declines"]["rate"], 0.5);
}

#[tokio::test]
async fn activating_a_scenario_changes_the_behaviour_in_force() {
    let app = calm_and_stormy().await;
    assert_eq!(decline_rate(&app.get("/_sim/config").await.json), 0.0);

    let switched = post(&app, "/_sim/scenarios/stormy/activate").await;

    assert_eq!(switched.status, StatusCode::OK, "{}", switched.json);
    // The same answer as PUT /_sim/config: the behaviour now in force.
    let config = app.get("/_sim/config").await.json;
    assert_eq!(switched.json, config);
    assert_eq!(decline_rate(&config), 0.5);
    assert_eq!(app.get("/_sim/scenarios").await.json["active"], "stormy");

    // Back, by name; then a behaviour written by hand is no scenario's.
    let back = post(&app, "/_sim/scenarios/calm/activate").await;
    assert_eq!(decline_rate(&back.json), 0.0);
    let put = app
        .client
        .put(app.url("/_sim/config"))
        .json(&json!({"declines": {"rate": 0.25}}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(put.status(), StatusCode::OK);
    let list = app.get("/_sim/scenarios").await.json;
    assert_eq!(list["active"], json!(null));
    assert!(
        list["scenarios"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|s| s["active"] == false)
    );
}

#[tokio::test]
async fn what_get_config_answers_can_be_put_back() {
    // The dashboard's editor sends back what it was shown.
    let app = calm_and_stormy().await;
    post(&app, "/_sim/scenarios/stormy/activate").await;
    let shown = app.get("/_sim/config").await.json["gateway"].clone();

    let put = app
        .client
        .put(app.url("/_sim/config"))
        .json(&shown)
        .send()
        .await
        .expect("request sent");

    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(app.get("/_sim/config").await.json["gateway"], shown);
}

#[tokio::test]
async fn unknown_scenarios_and_routes_are_refused() {
    let app = calm_and_stormy().await;
    let unknown = post(&app, "/_sim/scenarios/windy/activate").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "resource_missing");
    assert_eq!(unknown.json["error"]["param"], "name");
    assert_error_shape(&unknown);
    assert_eq!(app.get("/_sim/scenarios").await.json["active"], "calm");

    let no_verb = post(&app, "/_sim/scenarios/stormy").await;
    assert_eq!(no_verb.status, StatusCode::NOT_FOUND);
    assert_eq!(no_verb.error_code(), "unknown_route");
    let got = app.get("/_sim/scenarios/stormy/activate").await;
    assert_eq!(got.status, StatusCode::METHOD_NOT_ALLOWED);
    let malformed = post(&app, "/_sim/scenarios/st%zzormy/activate").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_scenarios_the_list_is_empty_and_nothing_is_in_force_by_name() {
    let app = spawn_app().await;
    let list = app.get("/_sim/scenarios").await;
    assert_eq!(list.json, json!({"active": null, "scenarios": []}));
}

#[tokio::test]
async fn a_scenario_that_could_not_be_put_in_force_stops_the_start() {
    // An event type no dialect sends passes the table's own rules but not the state's: the
    // start checks every scenario as a switch would.
    let bad = scenario(
        "bad",
        "[[gateway.webhooks.endpoints]]\nurl = \"http://127.0.0.1:9/\"\nevents = [\"payment.exploded\"]\n",
    );
    let started = gateway_sim::GatewaySim::start(SimConfig {
        scenarios: vec![bad],
        ..SimConfig::default()
    })
    .await;
    let Err(error) = started else {
        panic!("a simulator with an impossible scenario started");
    };
    let message = error.to_string();
    assert!(
        message.contains("bad") && message.contains("payment.exploded"),
        "{message}"
    );
}
