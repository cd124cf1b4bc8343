//! Why the engine refused an operation. Nothing changed when it did.

use super::money::MAX_AMOUNT;

/// Why the engine refused an operation. Nothing changed when it did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("no such payment: {0}")]
    NoSuchPayment(String),
    /// No such payment held, with retention on (`--retain`): it may have been retired.
    #[error(
        "no such payment: {id} (retention is on: settled payments older than {window_seconds}s leave memory)"
    )]
    NotHeld { id: String, window_seconds: u64 },
    #[error("no such checkout session: {0}")]
    NoSuchCheckoutSession(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("no such dispute: {0}")]
    NoSuchDispute(String),
    /// A refund of a payment whose dispute is open.
    #[error("{0}")]
    Disputed(String),
    #[error("amount must be a positive integer in minor units, at most {MAX_AMOUNT}")]
    InvalidAmount,
    #[error("amount {requested} is larger than the {available} available")]
    AmountTooLarge { requested: i64, available: i64 },
}
