//! A payout: the available balance of one account (merchant, currency) sent to the bank at a
//! scheduled run, pending until its arrival date, then paid or returned. Plain data, and
//! serializable: a payout event's change keeps the payout as it was (`engine/events.rs`), and
//! the journal keeps the change.

use crate::engine::ids::{BalanceTransactionId, MerchantId, PayoutId};
use crate::engine::money::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    #[serde(with = "failure_code")]
    pub failure_code: Option<FailureCode>,
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

/// One of [`FAILURE_CODES`]. An alias, not `&'static str` written out, because serde's derive
/// would take a written-out `&str` field as borrowed from the input and ask the input to live
/// forever; `failure_code` below reads it back as the table's own string instead.
pub type FailureCode = &'static str;

/// A failure code in the journal: its text, taken back as the table's own `&'static str`
/// (an unknown code, from a journal of another version, reads as the catch-all).
mod failure_code {
    use super::FAILURE_CODES;

    pub(super) fn serialize<S: serde::Serializer>(
        code: &Option<&'static str>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(code, s)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<&'static str>, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
        Ok(text.map(|text| {
            FAILURE_CODES
                .iter()
                .copied()
                .find(|c| *c == text)
                .unwrap_or(FAILURE_CODES[2])
        }))
    }
}
