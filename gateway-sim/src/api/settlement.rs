//! Settlement reads both doors share: what a request asks of the books (balance, balance
//! transactions, payouts) and what the books said. Its own file because neither door owns
//! settlement, and the engine's answers are the same whichever dialect shows them.

use crate::engine::ids::MerchantId;
use crate::engine::{Balance, BalanceTransaction, Engine, Payout, TxnQuery};

/// What a request asks of the books.
#[derive(Debug, Clone)]
pub enum SettlementRead {
    Balance,
    Transactions(TxnQuery),
    /// `id` is the transaction's id (`txn_...`).
    Transaction {
        id: String,
    },
    Payouts,
    /// `id` is the payout's id (`po_...`).
    Payout {
        id: String,
    },
}

/// What the books said; a one-object read the books do not hold is `None`, for the
/// dialect to call missing in its own words.
#[derive(Debug)]
pub enum SettlementView {
    Balance(Vec<Balance>),
    Transactions(Vec<BalanceTransaction>),
    Transaction(Option<BalanceTransaction>),
    Payouts(Vec<Payout>),
    Payout(Option<Payout>),
}

/// Reads the books, up to simulator time, for `merchant`.
pub(super) fn read(engine: &Engine, merchant: MerchantId, read: &SettlementRead) -> SettlementView {
    match read {
        SettlementRead::Balance => SettlementView::Balance(engine.balance(merchant)),
        SettlementRead::Transactions(query) => {
            SettlementView::Transactions(engine.balance_transactions(merchant, query))
        }
        SettlementRead::Transaction { id } => {
            SettlementView::Transaction(engine.balance_transaction(merchant, id))
        }
        SettlementRead::Payouts => SettlementView::Payouts(engine.payouts(Some(merchant))),
        SettlementRead::Payout { id } => SettlementView::Payout(engine.payout(Some(merchant), id)),
    }
}
