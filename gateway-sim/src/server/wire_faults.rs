//! Answers that go wrong on the wire, as a client's HTTP library meets them: a body cut short
//! after a 200, a body dribbled a few bytes at a time, a load balancer's HTML 502 page.
//!
//! Its own file because these are the only answers that are not a [`Reply`] sent whole: each
//! is a hyper body of its own. They wait on tokio timers inside the connection's own task,
//! holding no lock, so a slow body costs its own connection time and nobody else's.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::api::Reply;
use crate::response::{Body, full, into_response_with};
use crate::webhooks::Raised;

/// The page nginx in front of an upstream answers when the upstream broke: what a client of a
/// gateway behind a load balancer gets, in HTML, whatever the API's own error format.
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
</body>\r\n</html>\r\n";

/// How long a cut body waits after its last bytes before ending: long enough for hyper to
/// flush them to the socket (it flushes when a body is pending), so the client reads the
/// headers and half a body before the connection closes, rather than nothing.
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(20);

/// A slow body sends a chunk at most this often: tokio's timer has a millisecond's grain, and
/// a long body over a short duration would otherwise fall behind its schedule.
const SLOW_BODY_TICK: Duration = Duration::from_millis(10);

/// The fewest bytes a slow body sends at a time ("a few bytes at a time").
const SLOW_BODY_MIN_CHUNK: usize = 8;

/// An answer broken on the wire.
pub(super) enum Mangled {
    /// The reply's status and headers (with its whole body's Content-Length), then half its
    /// body, then the connection closes: the client saw a status it cannot use.
    Truncated(Reply),
    /// The reply's status and headers at once, then its body spread over the duration.
    Slow(Reply, Duration),
    /// A load balancer's `502 Bad Gateway` page, `text/html`.
    BadGateway,
}

impl Mangled {
    /// The response hyper sends. `raised` (the webhooks of a processed call) is held until the
    /// body is done, as for a whole answer.
    pub(super) fn into_response(self, raised: Raised) -> Response<Body> {
        match self {
            Mangled::Truncated(reply) => {
                let whole = reply.body.len();
                let mut response = into_response_with(reply, |body| {
                    TruncatedBody::new(body.slice(..whole / 2), raised).boxed()
                });
                // The promise of the whole body, which hyper keeps to the letter: when the body
                // ends early it closes the connection instead of finishing the message.
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_LENGTH, HeaderValue::from(whole));
                response
            }
            Mangled::Slow(reply, duration) => {
                into_response_with(reply, |body| SlowBody::new(body, duration, raised).boxed())
            }
            Mangled::BadGateway => {
                drop(raised);
                let mut response =
                    Response::new(full(Bytes::from_static(BAD_GATEWAY_PAGE.as_bytes())));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html"),
                );
                response
            }
        }
    }
}

/// Half a body, then a short pause (so hyper flushes it), then the end: short of the
/// Content-Length the headers promised, which makes hyper close the connection.
struct TruncatedBody {
    part: Option<Bytes>,
    pause: Option<Pin<Box<Sleep>>>,
    _raised: Raised,
}

impl TruncatedBody {
    fn new(part: Bytes, raised: Raised) -> Self {
        TruncatedBody {
            part: Some(part),
            pause: None,
            _raised: raised,
        }
    }
}

impl hyper::body::Body for TruncatedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(part) = self.part.take() {
            self.pause = Some(Box::pin(tokio::time::sleep(FLUSH_BEFORE_CUT)));
            return Poll::Ready(Some(Ok(Frame::data(part))));
        }
        match self.pause.as_mut() {
            Some(pause) => pause.as_mut().poll(cx).map(|()| None),
            None => Poll::Ready(None),
        }
    }

    /// Unknown on purpose: with an exact hint hyper would write its own, truthful,
    /// Content-Length instead of the whole body's.
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A body sent in equal chunks on a fixed schedule: chunk `i` of `n` when `i / n` of the
/// duration has passed since the headers left, so the last bytes arrive after the whole
/// duration, however late the timer fires on the way.
struct SlowBody {
    rest: Bytes,
    chunk: usize,
    started: Instant,
    duration: Duration,
    sent_chunks: u32,
    chunks: u32,
    timer: Pin<Box<Sleep>>,
    _raised: Raised,
}

impl SlowBody {
    fn new(body: Bytes, duration: Duration, raised: Raised) -> Self {
        let by_size = body.len().div_ceil(SLOW_BODY_MIN_CHUNK).max(1);
        let by_time = (duration.as_nanos() / SLOW_BODY_TICK.as_nanos()).max(1);
        let chunks = u32::try_from(by_time.min(by_size as u128)).unwrap_or(u32::MAX);
        let chunk = body.len().div_ceil(chunks as usize).max(1);
        let started = Instant::now();
        SlowBody {
            rest: body,
            chunk,
            started,
            duration,
            sent_chunks: 0,
            chunks,
            timer: Box::pin(tokio::time::sleep_until(started)),
            _raised: raised,
        }
    }

    fn due(&self, chunk: u32) -> Instant {
        self.started
            + self
                .duration
                .mul_f64(f64::from(chunk) / f64::from(self.chunks))
    }
}

impl hyper::body::Body for SlowBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.sent_chunks >= self.chunks {
            return Poll::Ready(None);
        }
        let due = self.due(self.sent_chunks + 1);
        if self.timer.deadline() != due {
            self.timer.as_mut().reset(due);
        }
        std::task::ready!(self.timer.as_mut().poll(cx));
        self.sent_chunks += 1;
        let take = if self.sent_chunks == self.chunks {
            self.rest.len()
        } else {
            self.chunk.min(self.rest.len())
        };
        let part = self.rest.split_to(take);
        Poll::Ready(Some(Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent_chunks >= self.chunks
    }

    /// Exact, so the client gets a Content-Length and knows how much is still to come.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}
