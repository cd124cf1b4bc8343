//! A payout: the available balance of one account (merchant, currency) sent to the bank at a
//! scheduled run, pending until its arrival date, then paid or returned. Plain data.

use crate::engine::ids::{BalanceTransactionId, MerchantId, PayoutId};
use crate::engine::money::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutStatus {
    Pending,
    Paid,
    Failed,
}

impl PayoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Pending => "pending",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Failed => "failed",
        }
    }
}

/// The failure codes a bank's return carries, drawn per failed payout.
pub const FAILURE_CODES: [&str; 3] = ["account_closed", "no_account", "could_not_process"];

#[derive(Debug, Clone)]
pub struct Payout {
    pub id: PayoutId,
    pub merchant: MerchantId,
    pub currency: Currency,
    /// Minor units, always positive: the sum of its rows' net.
    pub amount: i64,
    /// The scheduled run that made it, Unix milliseconds (its `automatic_payout_effective_at`).
    pub created_ms: u64,
    pub arrival_ms: u64,
    pub status: PayoutStatus,
    pub failure_code: Option<&'static str>,
    /// The payout's own balance transaction (the balance going down by `amount`).
    pub balance_transaction: BalanceTransactionId,
    /// The transaction that returned the money, for a failed payout.
    pub failure_balance_transaction: Option<BalanceTransactionId>,
    /// How many transactions it paid out (the rows of its report).
    pub rows: usize,
}

impl Payout {
    pub fn created(&self) -> u64 {
        self.created_ms / 1000
    }

    pub fn arrival_date(&self) -> u64 {
        self.arrival_ms / 1000
    }
}
