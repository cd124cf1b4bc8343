//! `GET` and `PUT /_sim/config`: the live behaviour, read and replaced while traffic flows; and
//! the one answer to a behaviour put in force, which switching scenarios shares.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Serialize;

use super::{answer, json};
use crate::api::ApiError;
use crate::behaviour::{self, BehaviourConfig, ConfigError};
use crate::response::Body;
use crate::state::SimState;

#[derive(Serialize)]
pub(super) struct ConfigView {
    seed: u64,
    gateway: BehaviourConfig,
}

pub(super) fn current(state: &SimState) -> ConfigView {
    ConfigView {
        seed: state.seed(),
        gateway: state.live().behaviour.config().clone(),
    }
}

/// Replaces the behaviour: a JSON `[gateway]` table, or (with a TOML content type)
/// a scenario file. Invalid input names the field at fault and changes nothing.
pub(super) fn replace(state: &SimState, headers: &http::HeaderMap, body: &Bytes) -> Response<Body> {
    let is_toml = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"));
    let parsed = if is_toml {
        match std::str::from_utf8(body) {
            Ok(text) => behaviour::parse_scenario_gateway(text),
            Err(_) => {
                return answer(
                    ApiError::invalid("invalid_config", "The TOML body is not UTF-8.").into_reply(),
                );
            }
        }
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => BehaviourConfig::from_json(text),
            Err(_) => {
                return answer(
                    ApiError::invalid("invalid_config", "The JSON body is not UTF-8.").into_reply(),
                );
            }
        }
    };
    applied(
        state,
        parsed.and_then(|config| state.set_behaviour(config)),
        "PUT /_sim/config",
    )
}

/// The answer to putting a behaviour in force, however it was chosen (written here, or a
/// scenario by name): the behaviour now in force, or the field at fault (nothing changed).
pub(super) fn applied(
    state: &SimState,
    result: Result<(), ConfigError>,
    through: &str,
) -> Response<Body> {
    match result {
        Ok(()) => {
            tracing::info!("behaviour replaced through {through}");
            json(StatusCode::OK, &current(state))
        }
        Err(e) => answer(
            ApiError::invalid("invalid_config", format!("{}: {}", e.field, e.message))
                .with_param(e.field)
                .into_reply(),
        ),
    }
}
