//! The API endpoints the fault model tells apart (`create`, `capture`, `cancel`, `refund`,
//! `retrieve`): the vocabulary of `[gateway.endpoints.*]`, stats and metrics. A leaf, so that
//! the config that names endpoints and the fate that draws for them do not import each other.

use serde::{Deserialize, Serialize};

/// The API operations a fate can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /v1/payments` (authorize, or authorize and capture).
    Create,
    /// `POST /v1/payments/{id}/capture`.
    Capture,
    /// `POST /v1/payments/{id}/cancel`.
    Cancel,
    /// `POST /v1/payments/{id}/refunds`.
    Refund,
    /// Reads: `GET /v1/payments/{id}`, the reference search, idempotency-key lookups.
    Retrieve,
}

impl Endpoint {
    pub(super) const ALL: [Endpoint; 5] = [
        Endpoint::Create,
        Endpoint::Capture,
        Endpoint::Cancel,
        Endpoint::Refund,
        Endpoint::Retrieve,
    ];

    /// The name used in scenario files, stats and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::Create => "create",
            Endpoint::Capture => "capture",
            Endpoint::Cancel => "cancel",
            Endpoint::Refund => "refund",
            Endpoint::Retrieve => "retrieve",
        }
    }

    pub fn all() -> impl Iterator<Item = Endpoint> {
        Self::ALL.into_iter()
    }

    pub(super) const fn index(self) -> usize {
        match self {
            Endpoint::Create => 0,
            Endpoint::Capture => 1,
            Endpoint::Cancel => 2,
            Endpoint::Refund => 3,
            Endpoint::Retrieve => 4,
        }
    }
}
