//! `GET /_sim/scenarios` (the scenario files given at start, by name, and which is in force)
//! and `POST /_sim/scenarios/{name}/activate` (put one in force while traffic flows).
//!
//! Activating goes through the same checks and the same answer as `PUT /_sim/config`
//! (`config::applied`): a scenario is a behaviour with a name, nothing more.

use http::{Response, StatusCode};
use serde::Serialize;

use super::{answer, config, json};
use crate::api::ApiError;
use crate::behaviour::BehaviourConfig;
use crate::response::Body;
use crate::state::SimState;

#[derive(Serialize)]
struct ScenarioList<'a> {
    /// The scenario in force; `None` when the behaviour was written by hand since.
    active: Option<&'a str>,
    scenarios: Vec<ScenarioView<'a>>,
}

#[derive(Serialize)]
struct ScenarioView<'a> {
    name: &'a str,
    active: bool,
    /// The scenario's `[gateway]` table as it is put in force (command-line flags included).
    gateway: &'a BehaviourConfig,
}

pub(super) fn list(state: &SimState) -> Response<Body> {
    let live = state.live();
    let active = live.scenario.as_deref();
    json(
        StatusCode::OK,
        &ScenarioList {
            active,
            scenarios: state
                .scenarios()
                .iter()
                .map(|s| ScenarioView {
                    name: &s.name,
                    active: active == Some(s.name.as_str()),
                    gateway: &s.behaviour,
                })
                .collect(),
        },
    )
}

/// Where a scenario's own paths start.
const PATH: &str = "/_sim/scenarios/";

/// `POST /_sim/scenarios/{name}/activate`, the name %-escaped.
pub(super) fn activate(state: &SimState, path: &str) -> Response<Body> {
    let segment = path
        .strip_prefix(PATH)
        .and_then(|rest| rest.strip_suffix("/activate"))
        .filter(|name| !name.is_empty() && !name.contains('/'));
    let Some(segment) = segment else {
        return answer(ApiError::unknown_route(&http::Method::POST, path).into_reply());
    };
    let name = match crate::api::path_segment(segment) {
        Ok(name) => name,
        Err(e) => return answer(e.with_param("name").into_reply()),
    };
    match state.activate_scenario(&name) {
        Some(result) => config::applied(
            state,
            result,
            &format!("POST /_sim/scenarios/{name}/activate"),
        ),
        None => answer(
            ApiError::not_found(
                "resource_missing",
                format!(
                    "No scenario is named '{name}': the names are the --scenario files' (without .toml), listed by GET /_sim/scenarios."
                ),
            )
            .with_param("name")
            .into_reply(),
        ),
    }
}
