//! A dispute as the engine keeps it: why the cardholder disputes, where it stands,
//! the merchant's evidence. Plain data, like `payment.rs`; the rules that open,
//! answer and decide disputes live in `disputes.rs`.
//!
//! A payment has at most one dispute, boxed on the payment (few have one), and the
//! dispute's id is the payment's number behind `dp_` ([`DisputeId::of`]), so
//! finding a dispute by id needs no index of its own.

use std::sync::Arc;
use std::time::Duration;

use super::ids::DisputeId;

// The defaults live with the plain data rather than in `disputes.rs`, so that the engine's
// constructor (`operations.rs`) can name them without importing the module that imports it.

/// How long after its capture a dispute card's payment is disputed, until told
/// otherwise (`[gateway.disputes] open_after`).
pub(super) const DEFAULT_OPEN_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long the bank takes to decide once evidence is submitted (`decided_after`).
pub(super) const DEFAULT_DECIDED_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why the cardholder disputes the payment (Stripe's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DisputeReason {
    Fraudulent,
    ProductNotReceived,
}

impl DisputeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeReason::Fraudulent => "fraudulent",
            DisputeReason::ProductNotReceived => "product_not_received",
        }
    }
}

/// The dispute a payment will get once captured, as the fault model decided from
/// its test card (`pm_card_createDispute`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DisputePlan {
    pub reason: DisputeReason,
    /// An inquiry: the bank asks questions, no money moves.
    pub inquiry: bool,
}

/// Where a dispute stands, in Stripe's words. Inquiries go through the
/// `warning_` statuses, chargebacks through the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DisputeStatus {
    WarningNeedsResponse,
    WarningUnderReview,
    WarningClosed,
    NeedsResponse,
    UnderReview,
    Won,
    Lost,
}

impl DisputeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::WarningNeedsResponse => "warning_needs_response",
            DisputeStatus::WarningUnderReview => "warning_under_review",
            DisputeStatus::WarningClosed => "warning_closed",
            DisputeStatus::NeedsResponse => "needs_response",
            DisputeStatus::UnderReview => "under_review",
            DisputeStatus::Won => "won",
            DisputeStatus::Lost => "lost",
        }
    }

    /// Waiting for the merchant: evidence may be given, or the dispute accepted.
    pub fn needs_response(self) -> bool {
        matches!(
            self,
            DisputeStatus::WarningNeedsResponse | DisputeStatus::NeedsResponse
        )
    }

    /// Decided (or accepted): nothing more can happen to it.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            DisputeStatus::WarningClosed | DisputeStatus::Won | DisputeStatus::Lost
        )
    }
}

/// The evidence text that wins a test dispute, as in Stripe's test mode; any
/// other text loses (Stripe's own losing text is `losing_evidence`).
pub const WINNING_EVIDENCE: &str = "winning_evidence";

/// How long the merchant has to answer, after the dispute opens (`due_by`).
pub const RESPONSE_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// A dispute of (part of) a captured payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dispute {
    pub id: DisputeId,
    /// What the dispute takes back: the payment's captured amount not refunded
    /// when it opened (taken from the merchant unless an inquiry).
    pub amount: i64,
    pub reason: DisputeReason,
    pub inquiry: bool,
    pub status: DisputeStatus,
    /// Unix seconds, simulator time.
    pub created: u64,
    /// Unix seconds by which the merchant must answer.
    pub due_by: u64,
    /// The merchant's evidence (`evidence[uncategorized_text]`), if given.
    pub evidence: Option<Arc<str>>,
    /// How many times evidence was submitted (once, here).
    pub submission_count: u32,
    /// Unix milliseconds when the bank decides a submitted dispute.
    pub decides_at_ms: Option<u64>,
    /// The merchant's metadata object on the dispute, as compact JSON text.
    pub metadata: Option<Arc<str>>,
}

impl Dispute {
    /// Money the dispute holds back from the merchant now: its amount while open
    /// or lost (inquiries hold none), nothing once won.
    pub fn withheld(&self) -> i64 {
        match self.status {
            _ if self.inquiry => 0,
            DisputeStatus::Won => 0,
            _ => self.amount,
        }
    }
}
