//! Settlement: what the merchant is owed, when, and what reached the bank. Every capture,
//! refund, dispute and dispute reversal in the ledger books a balance transaction with its fee
//! and the day it becomes available; a schedule of simulator time pays the available balance
//! out; a seeded share of payouts come back; the processor makes seeded mistakes on purpose.
//!
//! Settlement is derived, never stored: the books are a function of (the ledger, simulator
//! time, the policy, the seed), brought up to date when read. Nothing an operation does
//! waits on them, and a journal that keeps the ledger and the clock has kept settlement too.
//! A policy change rebuilds the books from the ledger under the new terms.
//!
//! - `policy.rs`: the terms ([`SettlementPolicy`]: fees, delay, schedule, mistakes' rates);
//! - `balance_transaction.rs` and `payout.rs`: the two records (plain data);
//! - `discrepancy.rs`: the mistakes and the answer key's entries;
//! - `books.rs`: the derivation (booking movements, playing the schedule);
//!
//! The engine's reads of the books (`engine/balance.rs`) are beside this folder, not in it: the
//! engine's handle holds the books, so the books must not name the handle.
//! - `draw.rs`: the stable hashing every id and draw comes from.

mod balance_transaction;
mod books;
mod discrepancy;
mod draw;
mod payout;
mod policy;

use parking_lot::{Mutex, RwLock};

pub use balance_transaction::{BalanceTransaction, ReportingCategory, TxnSource, TxnStatus};
pub use discrepancy::{Discrepancy, DiscrepancyKind};
pub use payout::{Payout, PayoutStatus};
pub use policy::{DiscrepancyRates, Fee, SettlementPolicy};

pub(crate) use books::{Books, Movement, txn_id};

use super::ids::{PaymentId, PayoutId};
use super::money::Currency;
use super::shared_str::SharedStr;

/// The policy in force and the books derived under it.
#[derive(Default)]
pub(crate) struct Settlement {
    pub(crate) policy: RwLock<SettlementPolicy>,
    pub(crate) books: Mutex<Books>,
    /// Simulator time (Unix ms) up to which the payouts' changes have been recorded as
    /// events (`engine/payout_events.rs`): kept apart from the books, which a new policy
    /// rebuilds, so a rebuild never tells of a change twice. Only a reset lowers it.
    pub(crate) announced_until_ms: Mutex<u64>,
}

impl Settlement {
    /// Forgets the books; the next read rebuilds them from the ledger. The payout events
    /// already recorded stay recorded, and so does how far they go.
    pub(crate) fn clear(&self) {
        *self.books.lock() = Books::default();
    }
}

/// One currency of a merchant's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub currency: Currency,
    /// Available now: the next payout run takes it (less what sits out).
    pub available: i64,
    /// Booked, not available yet.
    pub pending: i64,
}

/// Which balance transactions to list.
#[derive(Debug, Clone, Default)]
pub struct TxnQuery {
    pub payout: Option<String>,
    /// A reporting category or a Stripe type (`charge`, `adjustment`, `payout_failure`).
    pub kind: Option<String>,
    /// The engine's printed id of what it settles (`pay_`, `re_`, `dp_`, `po_`).
    pub source: Option<String>,
    /// Unix seconds, simulator time, inclusive.
    pub created_gte: Option<u64>,
    pub created_lte: Option<u64>,
}

/// Which payouts a report covers.
#[derive(Debug, Clone)]
pub enum ReportSelection {
    Payout(String),
    /// Payouts made in `[from, to)`, Unix seconds of simulator time.
    Between {
        from: u64,
        to: u64,
    },
}

/// One row of the payout reconciliation report: a transaction, the payout that paid it
/// out, and the order it belongs to.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub txn: BalanceTransaction,
    pub payout: PayoutId,
    /// When the payout's money is expected at the bank, Unix seconds.
    pub payout_effective_at: u64,
    pub reference: Option<SharedStr>,
    /// The payment's metadata as JSON text.
    pub metadata: Option<SharedStr>,
}

/// The word a merchant's draws and payout ids are keyed by: its API key hashed (merchant
/// numbers follow arrival order, keys do not).
pub(crate) fn merchant_word(api_key: &str) -> u64 {
    draw::text(api_key)
}

/// The word a movement's mistakes are drawn from: its order reference, else its payment.
pub(crate) fn identity(reference: Option<&str>, payment: PaymentId) -> u64 {
    match reference {
        Some(r) => draw::text(r),
        None => draw::mix(&draw::words(payment.0)),
    }
}

impl TxnSource {
    /// The engine's printed id of the source.
    pub fn engine_id(&self) -> String {
        match self {
            TxnSource::Payment(p) => p.to_string(),
            TxnSource::Refund(r) => r.to_string(),
            TxnSource::Dispute(d) => d.to_string(),
            TxnSource::Payout(p) => p.to_string(),
        }
    }
}
