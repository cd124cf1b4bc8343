//! Payments and refunds as this API's JSON: what the payments API answers
//! and what a native event carries as its `data.object`. Apart from
//! `render.rs` (which dispatches every outcome) so the event renderer can use
//! these shapes without the two files importing each other.

use bytes::Bytes;
use serde::{Serialize, Serializer};

use crate::engine::ids::{PaymentId, RefundId};
use crate::engine::{
    CancellationReason, DisputeStatus, Payment, PaymentMethod, PaymentStatus, Refund,
};

pub(super) fn to_json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

fn display<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[derive(Serialize)]
pub(super) struct PaymentJson<'a> {
    #[serde(serialize_with = "display")]
    id: PaymentId,
    object: &'static str,
    status: &'static str,
    amount: i64,
    amount_capturable: i64,
    amount_captured: i64,
    amount_refunded: i64,
    currency: &'a str,
    reference: Option<&'a str>,
    created: u64,
    payment_method: PaymentMethodJson<'a>,
    decline_code: Option<&'a str>,
    metadata: Metadata<'a>,
    refunds: Vec<RefundJson>,
    /// Unix seconds by which an uncaptured authorization must be captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_before: Option<u64>,
    /// Why the gateway canceled it by itself (`expired`).
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation_reason: Option<&'static str>,
    /// The 3-D Secure page the buyer opens, while the payment `requires_action`.
    #[serde(skip_serializing_if = "Option::is_none")]
    action_url: Option<&'a str>,
    /// The payment's dispute (`dp_...`), once one opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    dispute: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum PaymentMethodJson<'a> {
    Token(&'a str),
    Card { card: CardJson },
}

#[derive(Serialize)]
pub(super) struct CardJson {
    last4: String,
    exp_month: u8,
    exp_year: u16,
}

impl<'a> From<&'a PaymentMethod> for PaymentMethodJson<'a> {
    fn from(method: &'a PaymentMethod) -> Self {
        match method {
            PaymentMethod::Token(t) => PaymentMethodJson::Token(t),
            PaymentMethod::Card {
                last4,
                exp_month,
                exp_year,
            } => PaymentMethodJson::Card {
                card: CardJson {
                    last4: String::from_utf8_lossy(last4).into_owned(),
                    exp_month: *exp_month,
                    exp_year: *exp_year,
                },
            },
        }
    }
}

/// Metadata is kept as the JSON text it arrived as and written back verbatim.
struct Metadata<'a>(Option<&'a str>);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self
            .0
            .and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok())
        {
            Some(raw) => raw.serialize(s),
            None => serde_json::Map::new().serialize(s),
        }
    }
}

impl<'a> From<&'a Payment> for PaymentJson<'a> {
    fn from(p: &'a Payment) -> Self {
        PaymentJson {
            id: p.id,
            object: "payment",
            status: p.status.as_str(),
            amount: p.amount,
            amount_capturable: p.amount_capturable,
            amount_captured: p.amount_captured,
            amount_refunded: p.amount_refunded,
            currency: p.currency.as_str(),
            reference: p.reference.as_deref(),
            created: p.created,
            payment_method: PaymentMethodJson::from(&p.payment_method),
            decline_code: p.decline_code.as_deref(),
            metadata: Metadata(p.metadata.as_deref()),
            refunds: p.rare.refunds.iter().map(RefundJson::from).collect(),
            capture_before: p.rare.capture_before_ms.map(|ms| ms / 1000),
            cancellation_reason: p.rare.cancellation_reason.map(|reason| match reason {
                CancellationReason::Expired => "expired",
            }),
            action_url: p
                .rare
                .challenge
                .as_ref()
                .filter(|_| p.status == PaymentStatus::RequiresAction)
                .map(|c| c.url.as_ref()),
            dispute: p.rare.dispute.as_ref().map(|d| d.id.to_string()),
        }
    }
}

/// A dispute as this API shows it, with the payment it disputes.
#[derive(Serialize)]
pub(super) struct DisputeJson<'a> {
    id: String,
    object: &'static str,
    #[serde(serialize_with = "display")]
    payment: PaymentId,
    reference: Option<&'a str>,
    amount: i64,
    currency: &'a str,
    reason: &'static str,
    /// An inquiry: the bank asks, no money moves.
    inquiry: bool,
    status: &'static str,
    /// `won`, `lost` or `closed` (an inquiry) once closed; `null` while open.
    outcome: Option<&'static str>,
    evidence: EvidenceJson<'a>,
    submission_count: u32,
    /// Unix seconds by which the merchant must answer.
    due_by: u64,
    created: u64,
}

#[derive(Serialize)]
struct EvidenceJson<'a> {
    text: Option<&'a str>,
}

impl<'a> DisputeJson<'a> {
    /// The dispute of `p`; `None` when it has none.
    pub(super) fn of(p: &'a Payment) -> Option<DisputeJson<'a>> {
        let d = p.rare.dispute.as_deref()?;
        Some(DisputeJson {
            id: d.id.to_string(),
            object: "dispute",
            payment: p.id,
            reference: p.reference.as_deref(),
            amount: d.amount,
            currency: p.currency.as_str(),
            reason: d.reason.as_str(),
            inquiry: d.inquiry,
            status: d.status.as_str(),
            outcome: match d.status {
                DisputeStatus::Won => Some("won"),
                DisputeStatus::Lost => Some("lost"),
                DisputeStatus::WarningClosed => Some("closed"),
                _ => None,
            },
            evidence: EvidenceJson {
                text: d.evidence.as_deref(),
            },
            submission_count: d.submission_count,
            due_by: d.due_by,
            created: d.created,
        })
    }
}

#[derive(Serialize)]
pub(super) struct RefundJson {
    #[serde(serialize_with = "display")]
    id: RefundId,
    object: &'static str,
    amount: i64,
    #[serde(serialize_with = "display")]
    payment_id: PaymentId,
    status: &'static str,
    created: u64,
}

impl From<&Refund> for RefundJson {
    fn from(r: &Refund) -> Self {
        RefundJson {
            id: r.id,
            object: "refund",
            amount: r.amount,
            payment_id: r.payment,
            status: "succeeded",
            created: r.created,
        }
    }
}
