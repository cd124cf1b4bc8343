//! `POST /_sim/clock/advance`: moves simulator time forward, so a test can jump a day ahead.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Deserialize;

use super::{answer, json};
use crate::api::ApiError;
use crate::response::Body;
use crate::state::SimState;

pub(super) fn advance(state: &SimState, body: &Bytes) -> Response<Body> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        seconds: u64,
    }
    match serde_json::from_slice::<Advance>(body) {
        Ok(a) => {
            state.engine().advance_clock(Duration::from_secs(a.seconds));
            // Retries and held deliveries follow simulator time.
            state.webhooks().clock_moved();
            json(StatusCode::OK, &super::stats(state))
        }
        Err(e) => answer(
            ApiError::invalid(
                "parameter_invalid",
                format!("Send {{\"seconds\": n}} with n a whole number: {e}"),
            )
            .with_param("seconds")
            .into_reply(),
        ),
    }
}
