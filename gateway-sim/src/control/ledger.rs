//! `GET /_sim/ledger`: the ledger as NDJSON, streamed in chunks so that a million entries never
//! sit in memory as one body.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::BodyExt;
use hyper::body::Frame;

use crate::api::ApiError;
use crate::engine::Engine;
use crate::response::Body;

/// Ledger entries rendered per chunk of the NDJSON stream.
const LEDGER_CHUNK: u64 = 4096;

/// `GET /_sim/ledger[?from=N]`: the ledger as NDJSON, streamed in chunks. It
/// covers the entries that existed when the request arrived. A `from` that is not a
/// sequence number is refused: reading from the start instead would hand a tailing client
/// the whole ledger again, and it would count every entry twice.
pub(super) fn stream(engine: &Engine, query: Option<&str>) -> Response<Body> {
    let from = match crate::api::query_param(query, "from") {
        None => 1,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => n.max(1),
            Err(_) => {
                return super::answer(
                    ApiError::invalid(
                        "parameter_invalid",
                        format!(
                            "`from` is the sequence number to resume at (1 or more, the last `seq` read plus one); got '{v}'."
                        ),
                    )
                    .with_param("from")
                    .into_reply(),
                );
            }
        },
    };
    let stream = LedgerStream {
        engine: engine.clone(),
        next: from,
        end: engine.ledger_len(),
    };
    let mut r = Response::new(stream.boxed());
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    r
}

struct LedgerStream {
    engine: Engine,
    next: u64,
    end: u64,
}

impl hyper::body::Body for LedgerStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        // `--retain` lets the head go: the stream starts (or goes on) at the first entry held.
        this.next = this.next.max(this.engine.ledger_first_held());
        if this.next > this.end {
            return Poll::Ready(None);
        }
        let to = (this.next + LEDGER_CHUNK - 1).min(this.end);
        let entries = this.engine.ledger_range(this.next, to);
        if entries.is_empty() {
            // The ledger was reset under us: end the stream where it stands.
            return Poll::Ready(None);
        }
        let mut buf = Vec::with_capacity(entries.len() * 220);
        for entry in &entries {
            if serde_json::to_writer(&mut buf, entry).is_ok() {
                buf.push(b'\n');
            }
        }
        this.next = to + 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
    }
}
