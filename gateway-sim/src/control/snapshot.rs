//! `POST /_sim/snapshot`: writes the whole state to a file, which `--restore FILE` starts a
//! gateway from, so a team can share a prepared state.
//!
//! Where: the body's `path` (a file path on the simulator's machine, relative to its
//! working directory), or without one `snapshots/snapshot-<simulator ms>.gsnap` inside
//! `--data-dir`; with neither, a 400 says to give one. The admin token guards it like the
//! rest of `/_sim/*`.

use std::path::PathBuf;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::{answer, json};
use crate::api::ApiError;
use crate::response::Body;
use crate::state::SimState;

pub(super) async fn take(state: &SimState, body: &Bytes) -> Response<Body> {
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Request {
        path: Option<String>,
    }
    #[derive(Serialize)]
    struct Taken {
        path: String,
        records: u64,
        bytes: u64,
    }
    let invalid = |why: String| {
        answer(
            ApiError::invalid("parameter_invalid", why)
                .with_param("path")
                .into_reply(),
        )
    };
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        Request::default()
    } else {
        match serde_json::from_slice::<Request>(body) {
            Ok(request) => request,
            Err(e) => {
                return invalid(format!(
                    "the body must be {{\"path\": \"FILE\"}} or empty: {e}"
                ));
            }
        }
    };
    let path = match (
        request.path.filter(|p| !p.trim().is_empty()),
        state.data_dir(),
    ) {
        (Some(path), _) => PathBuf::from(path),
        (None, Some(dir)) => dir.join(crate::SNAPSHOT_DIR).join(format!(
            "snapshot-{}.gsnap",
            state.engine().clock().now_ms()
        )),
        (None, None) => {
            return invalid(
                "give a \"path\" to write the snapshot to (without --data-dir there is no default place)"
                    .to_string(),
            );
        }
    };
    let engine = state.engine().clone();
    let target = path.clone();
    // Copying the state and writing the file both block: off the async workers.
    let written =
        tokio::task::spawn_blocking(move || crate::journal::write_snapshot(&engine, &target)).await;
    match written {
        Ok(Ok(written)) => json(
            StatusCode::CREATED,
            &Taken {
                path: path.display().to_string(),
                records: written.records,
                bytes: written.bytes,
            },
        ),
        Ok(Err(e)) => invalid(format!("cannot write {}: {e}", path.display())),
        Err(_) => answer(ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR).into_reply()),
    }
}
