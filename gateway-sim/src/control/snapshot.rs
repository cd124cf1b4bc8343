//! `POST /_sim/snapshot`: writes the whole state to a file, which `--restore FILE` starts a
//! gateway from, so a team can share a prepared state.
//!
//! Where: always inside `--data-dir`, in its `snapshots/` folder, under the body's `name`
//! (a plain file name: letters, digits, `.`, `-`, `_`, not starting with `.`) or, without
//! one, `snapshot-<simulator ms>.gsnap`. Never an arbitrary path: a request must not be
//! able to write anywhere the simulator's user may. Without `--data-dir`, a 400 says so; and
//! once `--retain` has let anything leave memory, a 400 says a snapshot would not be whole.

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
        name: Option<String>,
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
                .with_param("name")
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
                    "the body must be {{\"name\": \"FILE\"}} or empty: {e}"
                ));
            }
        }
    };
    let Some(dir) = state.data_dir() else {
        return invalid(
            "snapshots are written inside --data-dir; start gateway-sim with --data-dir DIR"
                .to_string(),
        );
    };
    if state.engine().retention_let_go() {
        // A snapshot is the whole state; the retired head would be missing from it, and
        // `--restore` takes a ledger back only from its first entry.
        return answer(
            ApiError::invalid(
                "snapshot_incomplete",
                "--retain has let settled payments and old ledger entries leave memory, so a snapshot would not be whole; restart without --retain on the same --data-dir (the journal has everything) and take it then".to_string(),
            )
            .into_reply(),
        );
    }
    let name = match request.name {
        Some(name) if !is_plain_file_name(&name) => {
            return invalid(format!(
                "name must be a plain file name (letters, digits, '.', '-', '_'; at most 100; not starting with '.'); got {name:?}"
            ));
        }
        Some(name) => name,
        None => format!("snapshot-{}.gsnap", state.engine().clock().now_ms()),
    };
    let path = dir.join(crate::SNAPSHOT_DIR).join(name);
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
        Ok(Err(e)) => answer(
            ApiError::invalid(
                "snapshot_failed",
                format!("cannot write {}: {e}", path.display()),
            )
            .into_reply(),
        ),
        Err(_) => answer(ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR).into_reply()),
    }
}

/// A name that stays inside the snapshots folder: no separators, no `..`, no hidden file.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
