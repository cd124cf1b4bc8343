//! The processor's books: balance transactions made from the ledger's money movements, the
//! accounts' unpaid transactions, and the payouts the schedule made of them. A pure function
//! of (movements in ledger order, simulator time, policy): [`Books::book`] takes the next
//! movement, [`Books::run_until`] plays the payout schedule up to a time, and rebuilding from
//! an empty `Books` over the same ledger gives the same books. That is what lets the journal
//! persist the ledger and the clock only: settlement is derived, never stored.

use super::balance_transaction::{BalanceTransaction, ReportingCategory, TxnSource};
use super::discrepancy::{self, Discrepancy, DiscrepancyKind};
use super::draw;
use super::payout::{FAILURE_CODES, Payout, PayoutStatus};
use super::policy::{DAY_MS, SettlementPolicy};
use crate::engine::ids::{
    BalanceTransactionId, DisputeId, MerchantId, PaymentId, PayoutId, RefundId,
};
use crate::engine::ledger::EntryKind;
use crate::engine::money::Currency;
// foldhash, as every engine table: std's SipHash would be a tenth of booking a million.
use crate::engine::shard::Map;

/// A ledger movement that touches the balance, with what settlement needs to know of it.
#[derive(Debug, Clone)]
pub(crate) struct Movement {
    pub merchant: MerchantId,
    /// The merchant's API key, hashed: merchant numbers depend on arrival order, keys do not.
    pub merchant_word: u64,
    pub payment: PaymentId,
    pub kind: EntryKind,
    /// Positive minor units, as the ledger records them.
    pub amount: i64,
    pub currency: Currency,
    pub time_ms: u64,
    /// The order reference (or the payment) hashed: what the mistakes are drawn from.
    pub identity: u64,
    /// Which refund of the payment this is (0 for the others).
    pub ordinal: u32,
    pub refund: Option<RefundId>,
}

/// One (merchant, currency) balance.
struct Account {
    merchant: MerchantId,
    merchant_word: u64,
    currency: Currency,
    /// Transactions not paid out yet, in booking order.
    unpaid: Vec<u32>,
}

#[derive(Default)]
pub(crate) struct Books {
    /// The last ledger sequence number booked.
    pub(crate) ingested: u64,
    pub(crate) txns: Vec<BalanceTransaction>,
    index: Map<BalanceTransactionId, u32>,
    accounts: Vec<Account>,
    account_of: Map<(MerchantId, Currency), usize>,
    pub(crate) payouts: Vec<Payout>,
    /// Each payout's rows (indices into `txns`), in booking order.
    pub(crate) payout_rows: Vec<Vec<u32>>,
    payout_index: Map<PayoutId, u32>,
    /// Payouts not arrived yet.
    in_transit: Vec<u32>,
    /// The next scheduled payout run; `None` while nothing waits to be paid out.
    next_run_ms: Option<u64>,
    pub(crate) discrepancies: Vec<Discrepancy>,
    /// How many refunds of each payment were booked: the ledger's n-th refund of a payment
    /// is the payment's n-th refund.
    pub(crate) refunds_seen: Map<PaymentId, u32>,
    pub(crate) merchant_words: Map<MerchantId, u64>,
}

/// The category, gross and fee a movement books as; `None` for movements that do not touch
/// the balance (authorizations, releases, declines).
fn terms(m: &Movement, policy: &SettlementPolicy) -> Option<(ReportingCategory, i64, i64)> {
    Some(match m.kind {
        EntryKind::Capture => (
            ReportingCategory::Charge,
            m.amount,
            policy.fee_for(m.currency).on(m.amount),
        ),
        EntryKind::Refund => (ReportingCategory::Refund, -m.amount, 0),
        EntryKind::Dispute => (ReportingCategory::Dispute, -m.amount, policy.dispute_fee),
        EntryKind::DisputeReversal => (ReportingCategory::DisputeReversal, m.amount, 0),
        _ => return None,
    })
}

/// The id of the transaction a payment's movement books as: derived, so a charge can name
/// its transaction without asking the books.
pub(crate) fn txn_id(
    payment: PaymentId,
    category: ReportingCategory,
    ordinal: u32,
) -> BalanceTransactionId {
    let [a, b] = draw::words(payment.0);
    BalanceTransactionId(draw::id128(&[a, b, category as u64, u64::from(ordinal)]))
}

impl Books {
    pub(crate) fn txn(&self, id: BalanceTransactionId) -> Option<&BalanceTransaction> {
        self.index.get(&id).map(|&i| &self.txns[i as usize])
    }

    pub(crate) fn payout_position(&self, id: PayoutId) -> Option<usize> {
        self.payout_index.get(&id).map(|&i| i as usize)
    }

    /// Every account that has booked anything, in the order first booked.
    pub(crate) fn accounts(&self) -> impl Iterator<Item = (MerchantId, Currency)> + '_ {
        self.accounts.iter().map(|a| (a.merchant, a.currency))
    }

    /// The accounts' unpaid transactions, for the balance.
    pub(crate) fn unpaid(&self) -> impl Iterator<Item = &BalanceTransaction> {
        self.accounts
            .iter()
            .flat_map(|a| a.unpaid.iter().map(|&i| &self.txns[i as usize]))
    }

    /// Books one movement, with the mistake (if any) the policy draws for it.
    pub(crate) fn book(&mut self, m: &Movement, policy: &SettlementPolicy) {
        let Some((category, amount, fee)) = terms(m, policy) else {
            return;
        };
        let id = txn_id(m.payment, category, m.ordinal);
        let source = match category {
            ReportingCategory::Refund => m
                .refund
                .map_or(TxnSource::Payment(m.payment), TxnSource::Refund),
            ReportingCategory::Dispute | ReportingCategory::DisputeReversal => {
                TxnSource::Dispute(DisputeId::of(m.payment))
            }
            _ => TxnSource::Payment(m.payment),
        };
        let mut txn = BalanceTransaction {
            id,
            merchant: m.merchant,
            currency: m.currency,
            amount,
            fee,
            created_ms: m.time_ms,
            available_on_ms: policy.available_on_ms(m.time_ms),
            category,
            source,
            payment: Some(m.payment),
            payout: None,
            sit_out: 0,
        };
        let words = [m.identity, category as u64, u64::from(m.ordinal)];
        let Some(kind) = discrepancy::draw(&policy.discrepancies, policy.seed, words) else {
            self.push(txn, m.merchant_word);
            return;
        };
        let [a, b] = draw::words(id.0);
        let mut noted = Discrepancy {
            kind,
            merchant: m.merchant,
            balance_transaction: id,
            original: id,
            source,
            category,
            expected_fee: fee,
            fee,
            payout: None,
        };
        match kind {
            DiscrepancyKind::MissingRow => {}
            DiscrepancyKind::DuplicateRow => {
                let mut twin = txn.clone();
                twin.id = BalanceTransactionId(draw::id128(&[a, b, 0x0d0b]));
                noted.balance_transaction = twin.id;
                self.push(txn, m.merchant_word);
                self.push(twin, m.merchant_word);
            }
            DiscrepancyKind::FeeOff => {
                // Off by 1 to 100 minor units, always over: the costly direction to miss.
                txn.fee += 1
                    + (draw::mix(&[policy.seed, 0xfee, words[0], words[1], words[2]]) % 100) as i64;
                noted.fee = txn.fee;
                self.push(txn, m.merchant_word);
            }
            DiscrepancyKind::Late => {
                txn.sit_out = 1;
                self.push(txn, m.merchant_word);
            }
            DiscrepancyKind::UnknownRow => {
                let stranger = draw::id128(&[policy.seed, a, b, 0x0dd]);
                // Drawn from the order, not the ids, so the same orders get the same strangers.
                let gross = 500
                    + (draw::mix(&[policy.seed, 0x9055, words[0], words[1], words[2]]) % 9_500)
                        as i64;
                let fee = policy.fee_for(m.currency).on(gross);
                let unknown = BalanceTransaction {
                    id: BalanceTransactionId(draw::id128(&[a, b, 0x0dd])),
                    amount: gross,
                    fee,
                    category: ReportingCategory::Charge,
                    source: TxnSource::Payment(PaymentId(stranger)),
                    payment: None,
                    ..txn.clone()
                };
                noted.balance_transaction = unknown.id;
                noted.source = unknown.source;
                noted.expected_fee = fee;
                noted.fee = fee;
                self.push(txn, m.merchant_word);
                self.push(unknown, m.merchant_word);
            }
        }
        self.discrepancies.push(noted);
    }

    fn push(&mut self, txn: BalanceTransaction, merchant_word: u64) {
        let at = self.txns.len() as u32;
        let account = self.account(txn.merchant, merchant_word, txn.currency);
        self.accounts[account].unpaid.push(at);
        if self.next_run_ms.is_none() {
            // Runs are only played while something waits; none has run since this was made.
            self.next_run_ms = Some(txn.created_ms);
        }
        self.index.insert(txn.id, at);
        self.txns.push(txn);
    }

    fn push_unbooked(&mut self, txn: BalanceTransaction) {
        self.index.insert(txn.id, self.txns.len() as u32);
        self.txns.push(txn);
    }

    fn account(&mut self, merchant: MerchantId, merchant_word: u64, currency: Currency) -> usize {
        if let Some(&a) = self.account_of.get(&(merchant, currency)) {
            return a;
        }
        self.accounts.push(Account {
            merchant,
            merchant_word,
            currency,
            unpaid: Vec::new(),
        });
        self.account_of
            .insert((merchant, currency), self.accounts.len() - 1);
        self.accounts.len() - 1
    }

    /// Plays everything that falls due up to `now_ms`, in time order: payouts arriving (a
    /// return first, so its money is in the next run), then scheduled runs.
    pub(crate) fn run_until(&mut self, now_ms: u64, policy: &SettlementPolicy) {
        loop {
            // Runs fall at the scheduled hour; a `next` set by a booking is only "not before".
            self.next_run_ms = self
                .next_run_ms
                .map(|next| policy.payout_run_at_or_after(next));
            let arrival = self
                .in_transit
                .iter()
                .map(|&i| self.payouts[i as usize].arrival_ms)
                .min();
            match (arrival, self.next_run_ms) {
                (Some(a), run) if a <= now_ms && run.is_none_or(|r| a <= r) => {
                    self.arrive(a, policy)
                }
                (_, Some(r)) if r <= now_ms => {
                    self.run(r, policy);
                    let waiting = self.accounts.iter().any(|a| !a.unpaid.is_empty());
                    self.next_run_ms = waiting.then_some(r + DAY_MS);
                }
                _ => return,
            }
        }
    }

    /// A scheduled run at `t`: each account with a positive available balance is paid out.
    fn run(&mut self, t: u64, policy: &SettlementPolicy) {
        let mut order: Vec<usize> = (0..self.accounts.len()).collect();
        order.sort_by_key(|&a| {
            (
                self.accounts[a].merchant_word,
                self.accounts[a].currency.as_str().to_string(),
            )
        });
        for a in order {
            self.pay_out(a, t, policy);
        }
    }

    fn pay_out(&mut self, account: usize, t: u64, policy: &SettlementPolicy) {
        let txns = &self.txns;
        let due = |i: &u32| {
            let txn = &txns[*i as usize];
            txn.created_ms <= t && txn.available_on_ms <= t
        };
        let unpaid = &self.accounts[account].unpaid;
        let paying: Vec<u32> = unpaid
            .iter()
            .copied()
            .filter(|i| due(i) && txns[*i as usize].sit_out == 0)
            .collect();
        let amount: i64 = paying.iter().map(|&i| txns[i as usize].net()).sum();
        if paying.is_empty() || amount <= 0 {
            // A balance at or below zero is carried to the next run, as Stripe carries it.
            return;
        }
        let sitting: Vec<u32> = unpaid
            .iter()
            .copied()
            .filter(|i| due(i) && txns[*i as usize].sit_out > 0)
            .collect();
        for i in sitting {
            self.txns[i as usize].sit_out -= 1;
        }
        let Account {
            merchant,
            merchant_word,
            currency,
            ..
        } = self.accounts[account];
        let cw = draw::text(currency.as_str());
        let id = PayoutId(draw::id128(&[merchant_word, cw, t]));
        let [a, b] = draw::words(id.0);
        let own = BalanceTransactionId(draw::id128(&[a, b, 0x9a1d]));
        for &i in &paying {
            self.txns[i as usize].payout = Some(id);
        }
        // `paying` is in booking order, like `unpaid`, so it can be searched.
        self.accounts[account]
            .unpaid
            .retain(|i| paying.binary_search(i).is_err());
        self.push_unbooked(BalanceTransaction {
            id: own,
            merchant,
            currency,
            amount: -amount,
            fee: 0,
            created_ms: t,
            available_on_ms: t,
            category: ReportingCategory::Payout,
            source: TxnSource::Payout(id),
            payment: None,
            payout: None,
            sit_out: 0,
        });
        let at = self.payouts.len() as u32;
        self.payouts.push(Payout {
            id,
            merchant,
            currency,
            amount,
            created_ms: t,
            arrival_ms: t + u64::from(policy.arrival_days) * DAY_MS,
            status: PayoutStatus::Pending,
            failure_code: None,
            balance_transaction: own,
            failure_balance_transaction: None,
            rows: paying.len(),
        });
        self.payout_rows.push(paying);
        self.payout_index.insert(id, at);
        self.in_transit.push(at);
    }

    /// The payouts arriving at `t`: paid, or (a seeded share) returned, the money back in
    /// the balance as a `payout_reversal` that the next run pays out again.
    fn arrive(&mut self, t: u64, policy: &SettlementPolicy) {
        let arriving: Vec<u32> = self
            .in_transit
            .iter()
            .copied()
            .filter(|&i| self.payouts[i as usize].arrival_ms == t)
            .collect();
        self.in_transit
            .retain(|&i| self.payouts[i as usize].arrival_ms != t);
        for i in arriving {
            let payout = &self.payouts[i as usize];
            let [a, b] = draw::words(payout.id.0);
            if draw::unit(&[policy.seed, a, b, 0xfa11]) >= policy.payout_failure_rate {
                self.payouts[i as usize].status = PayoutStatus::Paid;
                continue;
            }
            let code = FAILURE_CODES[(draw::mix(&[policy.seed, a, b, 0xc0de]) % 3) as usize];
            let reversal = BalanceTransaction {
                id: BalanceTransactionId(draw::id128(&[a, b, 0xfa11])),
                merchant: payout.merchant,
                currency: payout.currency,
                amount: payout.amount,
                fee: 0,
                created_ms: t,
                available_on_ms: t,
                category: ReportingCategory::PayoutReversal,
                source: TxnSource::Payout(payout.id),
                payment: None,
                payout: None,
                sit_out: 0,
            };
            let (merchant, currency) = (payout.merchant, payout.currency);
            let word = self
                .account_of
                .get(&(merchant, currency))
                .map_or(0, |&a| self.accounts[a].merchant_word);
            let payout = &mut self.payouts[i as usize];
            payout.status = PayoutStatus::Failed;
            payout.failure_code = Some(code);
            payout.failure_balance_transaction = Some(reversal.id);
            self.push(reversal, word);
        }
    }
}
