//! Reading a request's body, bounded, and what happens to an upload over the bound.
//!
//! Its own file because refusing a large body is not only "answer 413": a client that writes
//! its whole body before it reads (most HTTP libraries, for a plain POST) is still writing
//! when the 413 leaves, and a server that then closes the socket with unread bytes in it sends
//! a reset, which throws away the 413 in the client's receive buffer: the client sees a broken
//! pipe instead of the answer. nginx reads and discards the rest of the upload (a "lingering
//! close") so the answer survives; so does this, within a bound of bytes and time, so a client
//! that never stops sending cannot hold a connection's task for ever.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming as IncomingBody;

use crate::api::{ApiError, Reply};

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The most of a refused upload read and discarded before the 413 leaves.
const DRAIN_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The longest a refused upload is read for before the 413 leaves anyway.
const DRAIN_MAX_TIME: Duration = Duration::from_secs(5);

/// The body, or the answer that refuses it: 413 past [`MAX_BODY_BYTES`] (after draining the
/// rest of the upload), 400 when it cannot be read.
pub(super) async fn read_body(
    headers: &http::HeaderMap,
    mut body: IncomingBody,
) -> Result<Bytes, Refused> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        // A client that asked `Expect: 100-continue` sends nothing until told to: answer now,
        // and it never uploads. Anyone else is uploading already.
        if !expects_continue(headers) {
            drain(body).await;
        }
        return Err(Refused::too_large());
    }
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Refused::unreadable());
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing a payment API reads
        };
        if collected.len() + data.len() > MAX_BODY_BYTES {
            drain(body).await;
            return Err(Refused::too_large());
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}

/// A body the server will not take: the answer that says so. The connection closes after it,
/// as the upload may not have been read to its end and what is left of it must not be read
/// as the next request.
pub(super) struct Refused {
    pub reply: Reply,
}

impl Refused {
    fn too_large() -> Self {
        Refused {
            reply: ApiError::too_large(MAX_BODY_BYTES).into_reply(),
        }
    }

    fn unreadable() -> Self {
        Refused {
            reply: ApiError::invalid("invalid_body", "The request body could not be read.")
                .into_reply(),
        }
    }
}

fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and discards the rest of an upload, up to [`DRAIN_MAX_BYTES`] or [`DRAIN_MAX_TIME`],
/// whichever comes first. Runs in the connection's own task and holds no lock.
async fn drain(mut body: IncomingBody) {
    let discard = async {
        let mut discarded: u64 = 0;
        while discarded < DRAIN_MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    discarded += frame.data_ref().map_or(0, |d| d.len() as u64);
                }
                Some(Err(_)) | None => return,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, discard).await;
}
