//! What each client saw, per order: the flow it played, every request it sent (idempotency key,
//! status, payment id, latency) and the final answer it believed.
//!
//! This is one half of the money check (the other half is the gateway's ledger). Flows push one
//! [`OrderOutcome`] per order into a shared [`OutcomeLog`]; the run writes the log as NDJSON
//! (`outcomes.ndjson`) so `loadgen check` can re-run the reconciliation offline.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// One order as its client experienced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderOutcome {
    /// Also the `reference` sent to the gateway; unique per order.
    pub order_id: String,
    /// "purchase" | "auth_capture" | "auth_cancel" | "purchase_refund" | "double_submit" |
    /// "retry_same_key" | "retry_new_key" | "three_ds" | "checkout" | "service".
    pub flow: String,
    /// The API key used. Empty when loadgen does not know it (`--service` mode, where the
    /// merchant's own service holds the key): the check then matches the ledger by reference only.
    pub merchant: String,
    /// The order's amount, minor units.
    pub amount: i64,
    pub currency: String,
    /// The captured amount the client believes stands if `result == Succeeded`: the amount, the
    /// partial amount for a partial capture, 0 for auth_cancel.
    pub expected_capture: i64,
    /// The refunded amount the client believes stands if `result == Succeeded`
    /// (purchase_refund), else 0.
    pub expected_refund: i64,
    pub result: ClientResult,
    pub attempts: Vec<Attempt>,
    /// When the order's first request went out, in milliseconds since the run's start (the
    /// open-model schedule's `t0`; for `loadgen capacity`, the climb's start): when in the run
    /// an order, and so a violation, happened. Absent from outcomes written before loadgen
    /// kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sent_ms: Option<u64>,
    /// How the order's 3-D Secure challenge ended, when its card asked for one (the
    /// `three_ds` flow): the money check counts them, and knows an abandoned or failed
    /// challenge moves no money. Absent for every other order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeEnd>,
}

/// How a 3-D Secure challenge ended, as the buyer's side saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeEnd {
    /// Answered `complete`, and the gateway said the payment went through.
    Completed,
    /// The buyer walked away: nobody answered it.
    Abandoned,
    /// Answered, and the payment did not go through (authentication failed, or the
    /// answer was refused).
    Failed,
    /// Answered, and no answer came back: the buyer does not know how it ended.
    Unknown,
}

/// The final answer the client believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientResult {
    Succeeded,
    Declined,
    Failed,
    /// The client never learned the outcome (timeout, connection reset).
    Unknown,
    /// The service took the order and settles it later (an asynchronous answer such as
    /// `202 pending`, matched by `[target.accepted]`): the client was promised nothing yet,
    /// and the merchant's view (`[target.order]`) says how the order ended.
    Accepted,
}

impl ClientResult {
    /// Every result, in declaration order (live counters are indexed by it).
    pub const ALL: [ClientResult; 5] = [
        ClientResult::Succeeded,
        ClientResult::Declined,
        ClientResult::Failed,
        ClientResult::Unknown,
        ClientResult::Accepted,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientResult::Succeeded => "succeeded",
            ClientResult::Declined => "declined",
            ClientResult::Failed => "failed",
            ClientResult::Unknown => "unknown",
            ClientResult::Accepted => "accepted",
        }
    }
}

/// One HTTP request a client sent for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// create | capture | cancel | refund | lookup | challenge | session | pay | service
    pub step: String,
    pub idempotency_key: Option<String>,
    /// `None`: timeout or connection error, no status was received.
    pub status: Option<u16>,
    /// The payment id the answer named, if any.
    pub payment_id: Option<String>,
    pub error: Option<String>,
    /// From the intended send time to the answer (coordinated-omission corrected).
    pub latency_us: u64,
}

impl OrderOutcome {
    /// The distinct idempotency keys the attempts used, in first-use order.
    pub fn idempotency_keys(&self) -> Vec<String> {
        distinct(
            self.attempts
                .iter()
                .filter_map(|a| a.idempotency_key.as_deref()),
        )
    }

    /// The distinct payment ids the client was told about, in first-seen order.
    pub fn payment_ids(&self) -> Vec<String> {
        distinct(self.attempts.iter().filter_map(|a| a.payment_id.as_deref()))
    }
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    // Orders have a handful of attempts: a linear scan beats hashing here.
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.iter().any(|seen| seen == item) {
            out.push(item.to_owned());
        }
    }
    out
}

/// Reading or writing an outcomes file failed.
#[derive(Debug, thiserror::Error)]
pub enum OutcomeError {
    #[error("cannot open or write outcomes file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("outcomes file {path}, line {line}: not an order outcome: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// The run's shared list of outcomes. Cheap to clone (all clones share one list) and safe to push
/// from any task; one short lock per order is far below the cost of the HTTP requests behind it.
#[derive(Debug, Clone, Default)]
pub struct OutcomeLog {
    inner: Arc<Mutex<Vec<OrderOutcome>>>,
}

impl OutcomeLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pre-sizes the list, so pushes during the run do not pay for growth.
    pub fn with_capacity(orders: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Vec::with_capacity(orders))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<OrderOutcome>> {
        // A panic in another pusher cannot leave a Vec half-pushed, so a poisoned lock is safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn push(&self, outcome: OrderOutcome) {
        self.lock().push(outcome);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// A copy of the outcomes pushed so far.
    pub fn snapshot(&self) -> Vec<OrderOutcome> {
        self.lock().clone()
    }

    /// The order ids pushed so far, in push order (the log keeps its outcomes).
    pub fn order_ids(&self) -> Vec<String> {
        self.lock().iter().map(|o| o.order_id.clone()).collect()
    }

    /// Takes the outcomes out of the log (every clone then sees an empty log).
    pub fn into_vec(self) -> Vec<OrderOutcome> {
        std::mem::take(&mut *self.lock())
    }

    /// Writes the outcomes pushed so far, one JSON object per line.
    pub fn write_ndjson(&self, path: &Path) -> Result<(), OutcomeError> {
        write_ndjson(path, &self.lock())
    }

    /// Reads an NDJSON outcomes file (as written by [`OutcomeLog::write_ndjson`]).
    pub fn read_ndjson(path: &Path) -> Result<Vec<OrderOutcome>, OutcomeError> {
        read_ndjson(path)
    }
}

impl From<Vec<OrderOutcome>> for OutcomeLog {
    fn from(outcomes: Vec<OrderOutcome>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(outcomes)),
        }
    }
}

/// Writes outcomes as NDJSON, one object per line.
pub fn write_ndjson(path: &Path, outcomes: &[OrderOutcome]) -> Result<(), OutcomeError> {
    let io_err = |source| OutcomeError::Io {
        path: path.to_owned(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_err)?);
    for outcome in outcomes {
        serde_json::to_writer(&mut out, outcome).map_err(|e| io_err(e.into()))?;
        out.write_all(b"\n").map_err(io_err)?;
    }
    out.flush().map_err(io_err)
}

/// Reads an NDJSON outcomes file; blank lines are skipped.
pub fn read_ndjson(path: &Path) -> Result<Vec<OrderOutcome>, OutcomeError> {
    let io_err = |source| OutcomeError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut outcomes = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(io_err)?;
        if line.trim().is_empty() {
            continue;
        }
        let outcome = serde_json::from_str(&line).map_err(|source| OutcomeError::Parse {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
