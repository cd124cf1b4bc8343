//! The append-only ledger: one entry per money movement, never edited.
//!
//! The ledger is the simulator's single source of truth about money. loadgen's
//! check reads it (as NDJSON from `GET /_sim/ledger`, or in process) and
//! compares it with what every client was told.

use serde::{Deserialize, Serialize};

/// What kind of money movement an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Funds reserved on the card.
    Authorization,
    /// Authorized funds taken.
    Capture,
    /// Authorized funds given back without being taken (cancel, or the uncaptured rest of a partial capture).
    Release,
    /// Captured funds given back.
    Refund,
    /// A declined attempt: recorded so a test can see it, moves no money (amount is 0).
    Decline,
}

/// One ledger entry, in the form it is published (`GET /_sim/ledger`, one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// 1-based, gap-free, in the order the movements happened.
    pub seq: u64,
    /// Simulator time of the movement, Unix milliseconds.
    pub time_ms: u64,
    /// The merchant account (the API key) the payment belongs to.
    pub merchant: String,
    pub payment_id: String,
    /// The merchant's order reference given at creation, if any.
    pub reference: Option<String>,
    /// The idempotency key of the request that caused this movement, if it carried one.
    pub idempotency_key: Option<String>,
    pub kind: EntryKind,
    /// Minor units; 0 for declines.
    pub amount: i64,
    pub currency: String,
    /// The decline code, on decline entries only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
}
