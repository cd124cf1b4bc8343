//! A scripted [`Transport`] for the flows' tests: it answers from a list, in order, and
//! remembers every request it was given.
//!
//! Its own file (compiled for tests only) because the native flows, the `--service` flow
//! and the answer model all test against it.

use std::collections::VecDeque;
use std::time::Instant;

use super::transport::{ApiRequest, Exchange, HttpAnswer, Transport, TransportFailure};

/// Answers requests from a script, in order, and remembers what was sent.
#[derive(Default)]
pub struct Scripted {
    pub script: VecDeque<Result<HttpAnswer, TransportFailure>>,
    pub sent: Vec<ApiRequest>,
}

/// A JSON answer with this status.
pub fn json(status: u16, body: serde_json::Value) -> Result<HttpAnswer, TransportFailure> {
    Ok(HttpAnswer {
        status,
        replayed: false,
        body: body.to_string().into_bytes(),
    })
}

/// A native payment body, `captured` of `amount` captured.
pub fn payment(id: &str, status: &str, amount: i64, captured: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id, "object": "payment", "status": status, "amount": amount,
        "amount_capturable": amount - captured, "amount_captured": captured,
        "amount_refunded": 0, "currency": "usd", "refunds": []
    })
}

impl Scripted {
    pub fn new(script: Vec<Result<HttpAnswer, TransportFailure>>) -> Self {
        Self {
            script: script.into(),
            sent: Vec::new(),
        }
    }

    fn next(&mut self, request: &ApiRequest) -> Exchange {
        self.sent.push(request.clone());
        let now = Instant::now();
        Exchange {
            sent: now,
            done: now,
            answer: self
                .script
                .pop_front()
                .unwrap_or(Err(TransportFailure::Other("script exhausted".into()))),
        }
    }
}

impl Transport for Scripted {
    async fn send(&mut self, request: &ApiRequest) -> Exchange {
        self.next(request)
    }

    async fn send_pair(&mut self, a: &ApiRequest, b: &ApiRequest) -> (Exchange, Exchange) {
        (self.next(a), self.next(b))
    }
}
