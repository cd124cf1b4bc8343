//! Faults: what scenario files name (`fault = "http_503"`, a [`FaultKind`]) and what the server
//! applies to one request (a [`Fault`], with its parameters). A leaf, so that the config that
//! names faults and the fate that draws them do not import each other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A fault without its parameters: what scenario files name (`fault = "http_503"`) and what
/// stats count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    #[serde(rename = "http_500")]
    Http500,
    #[serde(rename = "http_503")]
    Http503,
    #[serde(rename = "reset")]
    Reset,
    #[serde(rename = "hang")]
    Hang,
    #[serde(rename = "lost_after_delay")]
    LostAfterDelay,
    #[serde(rename = "reset_after_commit")]
    ResetAfterCommit,
    #[serde(rename = "http_500_after_commit")]
    Http500AfterCommit,
}

impl FaultKind {
    /// Every kind, in the fixed order fault draws walk (part of the determinism contract).
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Http500,
        FaultKind::Http503,
        FaultKind::Reset,
        FaultKind::Hang,
        FaultKind::LostAfterDelay,
        FaultKind::ResetAfterCommit,
        FaultKind::Http500AfterCommit,
    ];

    /// Stable snake_case name, as in scenario files, `/_sim/stats`, `/metrics` and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::Http500 => "http_500",
            FaultKind::Http503 => "http_503",
            FaultKind::Reset => "reset",
            FaultKind::Hang => "hang",
            FaultKind::LostAfterDelay => "lost_after_delay",
            FaultKind::ResetAfterCommit => "reset_after_commit",
            FaultKind::Http500AfterCommit => "http_500_after_commit",
        }
    }

    /// True for faults applied after the payment was processed and recorded.
    pub const fn is_ambiguous(self) -> bool {
        matches!(
            self,
            FaultKind::LostAfterDelay | FaultKind::ResetAfterCommit | FaultKind::Http500AfterCommit
        )
    }

    pub(super) fn with_delay(self, lost_delay: Duration) -> Fault {
        match self {
            FaultKind::Http500 => Fault::Http500,
            FaultKind::Http503 => Fault::Http503,
            FaultKind::Reset => Fault::Reset,
            FaultKind::Hang => Fault::Hang,
            FaultKind::LostAfterDelay => Fault::LostAfterDelay { delay: lost_delay },
            FaultKind::ResetAfterCommit => Fault::ResetAfterCommit,
            FaultKind::Http500AfterCommit => Fault::Http500AfterCommit,
        }
    }
}

/// What goes wrong with a request, for the server to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    // Rejected before processing: nothing charged, nothing stored under the idempotency key.
    /// Answer 500 `api_error`.
    Http500,
    /// Answer 503 `api_error`.
    Http503,
    /// Reset the connection without answering.
    Reset,
    /// Never answer; the client's timeout ends it.
    Hang,
    // Ambiguous: the payment WAS processed and recorded, the answer is lost.
    /// Hold the answer for `delay`, then drop the connection without answering.
    LostAfterDelay { delay: Duration },
    /// Reset the connection instead of answering.
    ResetAfterCommit,
    /// Answer 500 although the request succeeded (or declined).
    Http500AfterCommit,
}

impl Fault {
    /// Stable snake_case name for stats, metrics and logs (same as [`FaultKind::as_str`]).
    pub const fn kind(&self) -> &'static str {
        self.fault_kind().as_str()
    }

    pub const fn fault_kind(&self) -> FaultKind {
        match self {
            Fault::Http500 => FaultKind::Http500,
            Fault::Http503 => FaultKind::Http503,
            Fault::Reset => FaultKind::Reset,
            Fault::Hang => FaultKind::Hang,
            Fault::LostAfterDelay { .. } => FaultKind::LostAfterDelay,
            Fault::ResetAfterCommit => FaultKind::ResetAfterCommit,
            Fault::Http500AfterCommit => FaultKind::Http500AfterCommit,
        }
    }

    /// True when the request is processed and recorded before the answer is lost: the client
    /// cannot tell from the failure whether it was charged.
    pub const fn is_ambiguous(&self) -> bool {
        self.fault_kind().is_ambiguous()
    }
}
