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
    #[serde(rename = "truncated_body")]
    TruncatedBody,
    #[serde(rename = "truncated_body_after_commit")]
    TruncatedBodyAfterCommit,
    #[serde(rename = "slow_body")]
    SlowBody,
    #[serde(rename = "html_502")]
    Html502,
    #[serde(rename = "html_502_after_commit")]
    Html502AfterCommit,
    #[serde(rename = "empty_reply")]
    EmptyReply,
    #[serde(rename = "empty_reply_after_commit")]
    EmptyReplyAfterCommit,
}

impl FaultKind {
    /// Every kind, in the fixed order fault draws walk (part of the determinism contract: a new
    /// kind goes at the end, so a scenario that does not use it draws exactly as before).
    pub const ALL: [FaultKind; 14] = [
        FaultKind::Http500,
        FaultKind::Http503,
        FaultKind::Reset,
        FaultKind::Hang,
        FaultKind::LostAfterDelay,
        FaultKind::ResetAfterCommit,
        FaultKind::Http500AfterCommit,
        FaultKind::TruncatedBody,
        FaultKind::TruncatedBodyAfterCommit,
        FaultKind::SlowBody,
        FaultKind::Html502,
        FaultKind::Html502AfterCommit,
        FaultKind::EmptyReply,
        FaultKind::EmptyReplyAfterCommit,
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
            FaultKind::TruncatedBody => "truncated_body",
            FaultKind::TruncatedBodyAfterCommit => "truncated_body_after_commit",
            FaultKind::SlowBody => "slow_body",
            FaultKind::Html502 => "html_502",
            FaultKind::Html502AfterCommit => "html_502_after_commit",
            FaultKind::EmptyReply => "empty_reply",
            FaultKind::EmptyReplyAfterCommit => "empty_reply_after_commit",
        }
    }

    /// True for faults that strike before the operation runs: nothing is charged and nothing
    /// is stored under the idempotency key. The others strike the answer of an operation that
    /// ran.
    pub const fn before_processing(self) -> bool {
        matches!(
            self,
            FaultKind::Http500
                | FaultKind::Http503
                | FaultKind::Reset
                | FaultKind::Hang
                | FaultKind::TruncatedBody
                | FaultKind::Html502
                | FaultKind::EmptyReply
        )
    }

    /// True for faults applied after the payment was processed and recorded that break its
    /// answer: the client cannot tell whether it was charged. (`slow_body` strikes after
    /// processing too, but delivers the whole answer to a client patient enough to read it.)
    pub const fn is_ambiguous(self) -> bool {
        !self.before_processing() && !matches!(self, FaultKind::SlowBody)
    }

    pub(super) fn with_params(self, params: FaultParams) -> Fault {
        match self {
            FaultKind::Http500 => Fault::Http500,
            FaultKind::Http503 => Fault::Http503,
            FaultKind::Reset => Fault::Reset,
            FaultKind::Hang => Fault::Hang,
            FaultKind::LostAfterDelay => Fault::LostAfterDelay {
                delay: params.lost_delay,
            },
            FaultKind::ResetAfterCommit => Fault::ResetAfterCommit,
            FaultKind::Http500AfterCommit => Fault::Http500AfterCommit,
            FaultKind::TruncatedBody => Fault::TruncatedBody,
            FaultKind::TruncatedBodyAfterCommit => Fault::TruncatedBodyAfterCommit,
            FaultKind::SlowBody => Fault::SlowBody {
                duration: params.slow_body_duration,
            },
            FaultKind::Html502 => Fault::Html502,
            FaultKind::Html502AfterCommit => Fault::Html502AfterCommit,
            FaultKind::EmptyReply => Fault::EmptyReply,
            FaultKind::EmptyReplyAfterCommit => Fault::EmptyReplyAfterCommit,
        }
    }
}

/// The durations some faults carry, as one fault table sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FaultParams {
    /// How long `lost_after_delay` holds the answer.
    pub lost_delay: Duration,
    /// How long `slow_body` takes to deliver the body.
    pub slow_body_duration: Duration,
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
    // Faults on the wire, as a client's HTTP library meets them.
    /// Nothing processed; a 200 with the Content-Length of a whole body, then the body cut
    /// mid-JSON and the connection closed.
    TruncatedBody,
    /// Processed and recorded; its answer's status and headers, then the body cut mid-JSON and
    /// the connection closed.
    TruncatedBodyAfterCommit,
    /// Processed and recorded; the answer's status and headers at once, then its body a few
    /// bytes at a time over `duration` (a read timeout and a total timeout now differ).
    SlowBody { duration: Duration },
    /// Nothing processed; a load balancer's HTML 502 page instead of the gateway's answer.
    Html502,
    /// Processed and recorded; a load balancer's HTML 502 page instead of the answer.
    Html502AfterCommit,
    /// Nothing processed; the connection closes without a byte of answer.
    EmptyReply,
    /// Processed and recorded; the connection closes without a byte of answer.
    EmptyReplyAfterCommit,
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
            Fault::TruncatedBody => FaultKind::TruncatedBody,
            Fault::TruncatedBodyAfterCommit => FaultKind::TruncatedBodyAfterCommit,
            Fault::SlowBody { .. } => FaultKind::SlowBody,
            Fault::Html502 => FaultKind::Html502,
            Fault::Html502AfterCommit => FaultKind::Html502AfterCommit,
            Fault::EmptyReply => FaultKind::EmptyReply,
            Fault::EmptyReplyAfterCommit => FaultKind::EmptyReplyAfterCommit,
        }
    }

    /// True when it strikes before the operation runs (nothing charged, nothing stored).
    pub const fn before_processing(&self) -> bool {
        self.fault_kind().before_processing()
    }

    /// True when the request is processed and recorded before the answer is lost: the client
    /// cannot tell from the failure whether it was charged.
    pub const fn is_ambiguous(&self) -> bool {
        self.fault_kind().is_ambiguous()
    }
}
