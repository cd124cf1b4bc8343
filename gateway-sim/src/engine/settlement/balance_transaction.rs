//! A balance transaction: one movement of the merchant's balance at the processor, with its
//! fee and the day it becomes available, and what it settles. Plain data.

use crate::engine::ids::{
    BalanceTransactionId, DisputeId, MerchantId, PaymentId, PayoutId, RefundId,
};
use crate::engine::money::Currency;

/// Stripe's `reporting_category`: what the movement is, for accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportingCategory {
    Charge,
    Refund,
    Dispute,
    DisputeReversal,
    Payout,
    PayoutReversal,
}

impl ReportingCategory {
    pub const ALL: [ReportingCategory; 6] = [
        ReportingCategory::Charge,
        ReportingCategory::Refund,
        ReportingCategory::Dispute,
        ReportingCategory::DisputeReversal,
        ReportingCategory::Payout,
        ReportingCategory::PayoutReversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportingCategory::Charge => "charge",
            ReportingCategory::Refund => "refund",
            ReportingCategory::Dispute => "dispute",
            ReportingCategory::DisputeReversal => "dispute_reversal",
            ReportingCategory::Payout => "payout",
            ReportingCategory::PayoutReversal => "payout_reversal",
        }
    }

    /// Stripe's `type`: disputes and their reversals are adjustments there.
    pub fn stripe_type(self) -> &'static str {
        match self {
            ReportingCategory::Charge => "charge",
            ReportingCategory::Refund => "refund",
            ReportingCategory::Dispute | ReportingCategory::DisputeReversal => "adjustment",
            ReportingCategory::Payout => "payout",
            ReportingCategory::PayoutReversal => "payout_failure",
        }
    }
}

/// What a balance transaction settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnSource {
    /// A capture (or, on an unknown row, a payment that does not exist).
    Payment(PaymentId),
    Refund(RefundId),
    Dispute(DisputeId),
    Payout(PayoutId),
}

/// Whether a transaction counts in the balance yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    Pending,
    Available,
}

impl TxnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TxnStatus::Pending => "pending",
            TxnStatus::Available => "available",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BalanceTransaction {
    pub id: BalanceTransactionId,
    pub merchant: MerchantId,
    pub currency: Currency,
    /// Gross, minor units: negative for refunds, disputes and payouts.
    pub amount: i64,
    pub fee: i64,
    /// Simulator time, Unix milliseconds.
    pub created_ms: u64,
    pub available_on_ms: u64,
    pub category: ReportingCategory,
    pub source: TxnSource,
    /// The payment whose money this is; `None` for payouts and unknown rows.
    pub payment: Option<PaymentId>,
    /// The payout that paid it out, once one has.
    pub payout: Option<PayoutId>,
    /// Payouts it still sits out although available (a `late` discrepancy).
    pub(super) sit_out: u8,
}

impl BalanceTransaction {
    pub fn net(&self) -> i64 {
        self.amount - self.fee
    }

    pub fn created(&self) -> u64 {
        self.created_ms / 1000
    }

    pub fn available_on(&self) -> u64 {
        self.available_on_ms / 1000
    }

    pub fn status(&self, now_ms: u64) -> TxnStatus {
        if self.available_on_ms <= now_ms {
            TxnStatus::Available
        } else {
            TxnStatus::Pending
        }
    }

    /// A short description, as Stripe's report shows one.
    pub fn description(&self) -> &'static str {
        match self.category {
            ReportingCategory::Charge => "Payment",
            ReportingCategory::Refund => "REFUND FOR CHARGE",
            ReportingCategory::Dispute => "Chargeback withdrawal",
            ReportingCategory::DisputeReversal => "Chargeback reversal",
            ReportingCategory::Payout => "STRIPE PAYOUT",
            ReportingCategory::PayoutReversal => "Payout failure",
        }
    }
}
