//! `POST /_sim/clock/advance`: moves simulator time forward, so a test can jump a day ahead.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Deserialize;

use super::{answer, json};
use crate::api::ApiError;
use crate::response::Body;
use crate::state::SimState;

/// The most one request moves the clock: 100 years, far past what any test needs. Simulator
/// time is kept in u64 milliseconds; bounding each jump keeps it, and every deadline counted
/// from it, far from wrapping around.
const MAX_ADVANCE_SECS: u64 = 100 * 31_557_600;

pub(super) fn advance(state: &SimState, body: &Bytes) -> Response<Body> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        seconds: u64,
    }
    let invalid = |why: String| {
        answer(
            ApiError::invalid("parameter_invalid", why)
                .with_param("seconds")
                .into_reply(),
        )
    };
    match serde_json::from_slice::<Advance>(body) {
        Ok(a) if a.seconds > MAX_ADVANCE_SECS => invalid(format!(
            "seconds must be at most {MAX_ADVANCE_SECS} (100 years) at once; got {}",
            a.seconds
        )),
        Ok(a) => {
            state.engine().advance_clock(Duration::from_secs(a.seconds));
            // Authorizations the jump ran out expire now, their events first in line.
            state.expire_authorizations();
            // Payout runs and arrivals the jump passed are played now, in order, and told
            // as events before the answer leaves.
            state.raise_payout_events();
            // Retries and held deliveries follow simulator time.
            state.webhooks().clock_moved();
            json(StatusCode::OK, &super::stats(state))
        }
        Err(e) => invalid(format!(
            "Send {{\"seconds\": n}} with n a whole number: {e}"
        )),
    }
}
