//! What kind of failure a failed request was: no answer in time, a connection that broke, or an
//! answer the client could not take (5xx, 429, another 4xx, a 2xx it could not read).
//!
//! Its own file because two readers share it: the session tags each failed request with its
//! kind as it records it, and the live metrics count errors by kind while the run goes on
//! (`loadgen_request_errors_total{kind=...}`), so a dashboard tells a brownout's 503s from
//! a client's own timeouts without waiting for the report.
//!
//! Whether a request failed at all is decided elsewhere (the native flows read the gateway's
//! answer; `--service` runs apply the `[target]` template's rules); this only says which kind
//! of failure it was, from what came back.

use std::sync::atomic::{AtomicU64, Ordering};

use super::transport::{HttpAnswer, TransportFailure};

/// The kind of a failed request, by what came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// No answer within the timeout.
    Timeout,
    /// Refused, reset or closed before a whole answer arrived.
    Connection,
    /// A 5xx answer.
    ServerError,
    /// A 429: rate limited.
    RateLimited,
    /// Any other 4xx the client did not expect.
    ClientError,
    /// A status the client could not take as an answer: a 2xx with an unreadable body, or one
    /// the `--service` template's rules do not accept, a 1xx or 3xx.
    UnexpectedAnswer,
    /// The request could not be sent or read for another reason (a bad URL, a body error).
    Other,
}

impl ErrorKind {
    /// Every kind, in the order metrics list them.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Timeout,
        ErrorKind::Connection,
        ErrorKind::ServerError,
        ErrorKind::RateLimited,
        ErrorKind::ClientError,
        ErrorKind::UnexpectedAnswer,
        ErrorKind::Other,
    ];

    /// The kind of a request that failed with this answer (or this missing answer).
    pub fn of(answer: &Result<HttpAnswer, TransportFailure>) -> ErrorKind {
        match answer {
            Err(TransportFailure::Timeout) => ErrorKind::Timeout,
            Err(TransportFailure::Connection(_)) => ErrorKind::Connection,
            Err(TransportFailure::Other(_)) => ErrorKind::Other,
            Ok(a) => match a.status {
                429 => ErrorKind::RateLimited,
                500..=599 => ErrorKind::ServerError,
                400..=499 => ErrorKind::ClientError,
                _ => ErrorKind::UnexpectedAnswer,
            },
        }
    }

    /// The label value metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::ServerError => "http_5xx",
            ErrorKind::RateLimited => "http_429",
            ErrorKind::ClientError => "http_4xx",
            ErrorKind::UnexpectedAnswer => "unexpected_answer",
            ErrorKind::Other => "other",
        }
    }

    /// Its place in [`ErrorKind::ALL`] (declaration order).
    fn index(self) -> usize {
        self as usize
    }
}

/// Failed requests counted by kind, cheap to bump from every user and to read once a scrape.
#[derive(Debug, Default)]
pub struct ErrorCounts {
    counts: [AtomicU64; ErrorKind::ALL.len()],
}

impl ErrorCounts {
    pub fn add(&self, kind: ErrorKind) {
        self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Every kind with its count so far, zeros included (a counter that appears only after its
    /// first error would make a dashboard's rate() start late).
    pub fn snapshot(&self) -> [(ErrorKind, u64); ErrorKind::ALL.len()] {
        ErrorKind::ALL.map(|kind| (kind, self.counts[kind.index()].load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Result<HttpAnswer, TransportFailure> {
        Ok(HttpAnswer {
            status,
            replayed: false,
            body: Vec::new(),
        })
    }

    #[test]
    fn kinds_follow_what_came_back() {
        assert_eq!(
            ErrorKind::of(&Err(TransportFailure::Timeout)),
            ErrorKind::Timeout
        );
        assert_eq!(
            ErrorKind::of(&Err(TransportFailure::Connection("reset".into()))),
            ErrorKind::Connection
        );
        assert_eq!(ErrorKind::of(&status(503)), ErrorKind::ServerError);
        assert_eq!(ErrorKind::of(&status(429)), ErrorKind::RateLimited);
        assert_eq!(ErrorKind::of(&status(422)), ErrorKind::ClientError);
        assert_eq!(ErrorKind::of(&status(200)), ErrorKind::UnexpectedAnswer);
        assert_eq!(
            ErrorKind::of(&Err(TransportFailure::Other("bad url".into()))),
            ErrorKind::Other
        );
    }

    #[test]
    fn counts_list_every_kind_once_in_order() {
        let counts = ErrorCounts::default();
        counts.add(ErrorKind::ServerError);
        counts.add(ErrorKind::ServerError);
        counts.add(ErrorKind::Timeout);
        let snapshot = counts.snapshot();
        assert_eq!(snapshot.map(|(k, _)| k), ErrorKind::ALL);
        assert_eq!(snapshot[0], (ErrorKind::Timeout, 1));
        assert_eq!(snapshot[2], (ErrorKind::ServerError, 2));
        assert_eq!(snapshot.iter().map(|(_, n)| n).sum::<u64>(), 3);
        let labels: std::collections::BTreeSet<&str> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels.len(), ErrorKind::ALL.len(), "labels are distinct");
    }
}
