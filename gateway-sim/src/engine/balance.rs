//! The engine's reads of settlement: the balance, its transactions, the payouts, the report's
//! rows and the answer key. Each first brings the books (`settlement/`) up to simulator time:
//! books the ledger's new movements, reading what it needs of their payments, then plays the
//! payout runs and arrivals that fell due. Apart from `settlement/` because the engine's handle
//! holds the books: the books must not name the handle.

use parking_lot::MutexGuard;

use super::ids::{BalanceTransactionId, MerchantId, PaymentId, PayoutId};
use super::ledger::EntryKind;
use super::operations::Engine;
use super::settlement::{
    Balance, BalanceTransaction, Books, Discrepancy, Movement, Payout, ReportRow, ReportSelection,
    ReportingCategory, SettlementPolicy, TxnQuery, TxnStatus, identity, merchant_word, txn_id,
};

/// Ledger entries read per lock of the ledger while booking.
const BOOKING_CHUNK: u64 = 4096;

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
        txn_id(payment, ReportingCategory::Charge, 0)
    }

    /// Brings the books up to simulator time: books the ledger's new movements, then plays
    /// the payout runs and arrivals that fell due, in order.
    pub fn settle(&self) {
        drop(self.books());
    }

    /// The books, brought up to simulator time, held.
    pub(super) fn settled_books(&self) -> MutexGuard<'_, Books> {
        self.books()
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        let policy = self.inner.settlement.policy.read().clone();
        let mut books = self.inner.settlement.books.lock();
        let len = self.ledger_len();
        // Retention (`--retain`) may have let the ledger's head go unbooked: books first
        // read then start at the first entry held.
        books.ingested = books
            .ingested
            .max(self.inner.ledger.first_held().saturating_sub(1));
        while books.ingested < len {
            let to = (books.ingested + BOOKING_CHUNK).min(len);
            let movements = self.inner.ledger.range(books.ingested + 1, to);
            if movements.is_empty() {
                break;
            }
            for (seq, m) in movements {
                books.ingested = seq;
                if !matches!(
                    m.kind(),
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
            .or_insert_with(|| merchant_word(&self.merchant_api_key(m.merchant)));
        let ordinal = if m.kind() == EntryKind::Refund {
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
                let refund = (m.kind() == EntryKind::Refund)
                    .then(|| p.rare.refunds.get(ordinal as usize).map(|r| r.id))
                    .flatten();
                (p.reference.clone(), refund)
            })
            .unwrap_or_default();
        let identity = identity(reference.as_deref(), m.payment);
        Movement {
            merchant: m.merchant,
            merchant_word,
            payment: m.payment,
            kind: m.kind(),
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
