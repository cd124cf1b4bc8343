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
//! - `draw.rs`: the stable hashing every id and draw comes from.

mod balance_transaction;
mod books;
mod discrepancy;
mod draw;
mod payout;
mod policy;

use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock};

pub use balance_transaction::{BalanceTransaction, ReportingCategory, TxnSource, TxnStatus};
pub use discrepancy::{Discrepancy, DiscrepancyKind};
pub use payout::{Payout, PayoutStatus};
pub use policy::{DiscrepancyRates, Fee, SettlementPolicy};

use super::ids::{BalanceTransactionId, MerchantId, PaymentId, PayoutId};
use super::ledger::EntryKind;
use super::money::Currency;
use super::operations::Engine;
use books::{Books, Movement};

/// Ledger entries read per lock of the ledger while booking.
const BOOKING_CHUNK: u64 = 4096;

/// The policy in force and the books derived under it.
#[derive(Default)]
pub(crate) struct Settlement {
    policy: RwLock<SettlementPolicy>,
    books: Mutex<Books>,
}

impl Settlement {
    /// Forgets the books; the next read rebuilds them from the ledger.
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
    pub reference: Option<Arc<str>>,
    /// The payment's metadata as JSON text.
    pub metadata: Option<Arc<str>>,
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

impl Engine {
    /// Puts settlement terms in force. Different terms rebuild the books from the ledger,
    /// so they always read as if these terms had been in force from the start.
    pub fn set_settlement_policy(&self, policy: SettlementPolicy) {
        let settlement = &self.inner.settlement;
        if *settlement.policy.read() == policy {
            return;
        }
        *settlement.policy.write() = policy;
        settlement.clear();
    }

    /// The id of the balance transaction a payment's capture books as (whether or not a
    /// mistake kept it off the books).
    pub fn charge_balance_transaction(payment: PaymentId) -> BalanceTransactionId {
        books::txn_id(payment, ReportingCategory::Charge, 0)
    }

    /// Brings the books up to simulator time: books the ledger's new movements, then plays
    /// the payout runs and arrivals that fell due, in order.
    pub fn settle(&self) {
        drop(self.books());
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        let policy = self.inner.settlement.policy.read().clone();
        let mut books = self.inner.settlement.books.lock();
        let len = self.ledger_len();
        while books.ingested < len {
            let to = (books.ingested + BOOKING_CHUNK).min(len);
            let movements = self.inner.ledger.range(books.ingested + 1, to);
            if movements.is_empty() {
                break;
            }
            for (seq, m) in movements {
                books.ingested = seq;
                if !matches!(
                    m.kind,
                    EntryKind::Capture
                        | EntryKind::Refund
                        | EntryKind::Dispute
                        | EntryKind::DisputeReversal
                ) {
                    continue;
                }
                let movement = self.movement(&mut books, &m);
                books.book(&movement, &policy);
            }
        }
        books.run_until(self.inner.clock.now_ms(), &policy);
        books
    }

    /// What booking needs to know of a ledger movement, read from its payment.
    fn movement(&self, books: &mut Books, m: &super::ledger::Movement) -> Movement {
        let merchant_word = *books
            .merchant_words
            .entry(m.merchant)
            .or_insert_with(|| draw::text(&self.merchant_api_key(m.merchant)));
        let ordinal = if m.kind == EntryKind::Refund {
            let seen = books.refunds_seen.entry(m.payment).or_default();
            *seen += 1;
            *seen - 1
        } else {
            0
        };
        let (reference, refund) = self
            .shard(m.payment)
            .lock()
            .get(&m.payment)
            .map(|p| {
                let refund = (m.kind == EntryKind::Refund)
                    .then(|| p.refunds.get(ordinal as usize).map(|r| r.id))
                    .flatten();
                (p.reference.clone(), refund)
            })
            .unwrap_or_default();
        let identity = match reference {
            Some(r) => draw::text(&r),
            None => draw::mix(&draw::words(m.payment.0)),
        };
        Movement {
            merchant: m.merchant,
            merchant_word,
            payment: m.payment,
            kind: m.kind,
            amount: m.amount,
            currency: m.currency,
            time_ms: m.time_ms,
            identity,
            ordinal,
            refund,
        }
    }

    /// A merchant's balance per currency (currencies in the order first booked).
    pub fn balance(&self, merchant: MerchantId) -> Vec<Balance> {
        let books = self.books();
        let now = self.inner.clock.now_ms();
        // Every currency booked shows, paid out to zero or not.
        let mut out: Vec<Balance> = books
            .accounts()
            .filter(|(m, _)| *m == merchant)
            .map(|(_, currency)| Balance {
                currency,
                available: 0,
                pending: 0,
            })
            .collect();
        for txn in books.unpaid().filter(|t| t.merchant == merchant) {
            let Some(at) = out.iter().position(|b| b.currency == txn.currency) else {
                continue;
            };
            match txn.status(now) {
                TxnStatus::Available => out[at].available += txn.net(),
                TxnStatus::Pending => out[at].pending += txn.net(),
            }
        }
        out
    }

    /// A merchant's balance transactions that `query` keeps, newest first.
    pub fn balance_transactions(
        &self,
        merchant: MerchantId,
        query: &TxnQuery,
    ) -> Vec<BalanceTransaction> {
        let books = self.books();
        let payout = query.payout.as_deref().map(PayoutId::parse);
        if payout == Some(None) {
            return Vec::new();
        }
        books
            .txns
            .iter()
            .rev()
            .filter(|t| t.merchant == merchant)
            .filter(|t| payout.is_none_or(|p| t.payout == p))
            .filter(|t| {
                query
                    .kind
                    .as_deref()
                    .is_none_or(|k| k == t.category.as_str() || k == t.category.stripe_type())
            })
            .filter(|t| {
                query
                    .source
                    .as_deref()
                    .is_none_or(|s| t.source.engine_id() == s)
            })
            .filter(|t| query.created_gte.is_none_or(|g| t.created() >= g))
            .filter(|t| query.created_lte.is_none_or(|l| t.created() <= l))
            .cloned()
            .collect()
    }

    pub fn balance_transaction(
        &self,
        merchant: MerchantId,
        id: &str,
    ) -> Option<BalanceTransaction> {
        let id = BalanceTransactionId::parse(id)?;
        self.books()
            .txn(id)
            .filter(|t| t.merchant == merchant)
            .cloned()
    }

    /// Payouts, newest first: one merchant's, or every merchant's (`None`).
    pub fn payouts(&self, merchant: Option<MerchantId>) -> Vec<Payout> {
        self.books()
            .payouts
            .iter()
            .rev()
            .filter(|p| merchant.is_none_or(|m| p.merchant == m))
            .cloned()
            .collect()
    }

    pub fn payout(&self, merchant: Option<MerchantId>, id: &str) -> Option<Payout> {
        let id = PayoutId::parse(id)?;
        let books = self.books();
        let at = books.payout_position(id)?;
        Some(books.payouts[at].clone()).filter(|p| merchant.is_none_or(|m| p.merchant == m))
    }

    /// The positions of the payouts a report covers, oldest first; `None` when it names a
    /// payout that does not exist.
    pub fn report_payouts(&self, selection: &ReportSelection) -> Option<Vec<usize>> {
        let books = self.books();
        match selection {
            ReportSelection::Payout(id) => {
                let at = books.payout_position(PayoutId::parse(id)?)?;
                Some(vec![at])
            }
            ReportSelection::Between { from, to } => Some(
                books
                    .payouts
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| (*from..*to).contains(&p.created()))
                    .map(|(at, _)| at)
                    .collect(),
            ),
        }
    }

    /// Up to `max` rows of the payout at `position`, from its row `from`. The rows are
    /// copied under the books' lock and the orders read after it is let go. Empty past the
    /// end, or when the books were rebuilt since the position was found.
    pub fn report_rows(&self, position: usize, from: usize, max: usize) -> Vec<ReportRow> {
        let rows: Vec<(BalanceTransaction, PayoutId, u64)> = {
            let books = self.inner.settlement.books.lock();
            let (Some(payout), Some(rows)) =
                (books.payouts.get(position), books.payout_rows.get(position))
            else {
                return Vec::new();
            };
            rows.iter()
                .skip(from)
                .take(max)
                .map(|&i| {
                    (
                        books.txns[i as usize].clone(),
                        payout.id,
                        payout.arrival_date(),
                    )
                })
                .collect()
        };
        rows.into_iter()
            .map(|(txn, payout, payout_effective_at)| {
                let (reference, metadata) = txn
                    .payment
                    .and_then(|pid| {
                        self.shard(pid)
                            .lock()
                            .get(&pid)
                            .map(|p| (p.reference.clone(), p.metadata.clone()))
                    })
                    .unwrap_or_default();
                ReportRow {
                    txn,
                    payout,
                    payout_effective_at,
                    reference,
                    metadata,
                }
            })
            .collect()
    }

    /// The answer key: every mistake the processor made, in booking order, with the payout
    /// that paid the transaction at fault (if one has).
    pub fn discrepancies(&self) -> Vec<Discrepancy> {
        let books = self.books();
        books
            .discrepancies
            .iter()
            .map(|d| Discrepancy {
                payout: books.txn(d.balance_transaction).and_then(|t| t.payout),
                ..d.clone()
            })
            .collect()
    }
}
