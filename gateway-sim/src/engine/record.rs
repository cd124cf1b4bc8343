//! What a journal is told: [`Record`], one fact of the simulator's state (a frame is the
//! records of one change), and [`JournalSink`], where frames go. Also the engine's half of
//! durability as data ([`Durability`]): the lock a change holds and, once attached, the
//! sink; `durable.rs` is how a change uses them, `restore.rs` how records come back.
//!
//! A file of its own so that the plain-data modules it names never import what imports them.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use parking_lot::{ReentrantMutex, RwLock};
use serde::{Deserialize, Serialize};

use super::checkout_session::CheckoutSession;
use super::events::Change;
use super::ids::{MerchantId, PaymentId, WebhookEndpointId};
use super::ledger::Movement;
use super::payment::Payment;
use super::shared_str::SharedStr;
use super::webhook_endpoints::WebhookEndpoint;

/// One fact of the simulator's state, as journaled and as snapshotted.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A merchant account's number and API key, written when it is first seen.
    Merchant { id: MerchantId, api_key: Arc<str> },
    /// A payment as it is after a change (later records of it replace earlier ones).
    Payment(Box<Payment>),
    /// A ledger entry with its sequence number.
    Ledger { seq: u64, movement: Movement },
    /// A change (the events' source) with its sequence number.
    Change(Box<Change>),
    /// A completed idempotency key and the answer it replays, byte for byte.
    Key {
        merchant: MerchantId,
        key: SharedStr,
        fingerprint: u64,
        created_ms: u64,
        status: u16,
        body: StoredBody,
    },
    /// A checkout session as it is after a change.
    Checkout(Box<CheckoutSession>),
    /// A webhook endpoint as registered or updated.
    Endpoint(Box<WebhookEndpoint>),
    EndpointRemoved {
        merchant: MerchantId,
        id: WebhookEndpointId,
    },
    /// How far simulator time has been advanced beyond wall-clock time.
    Clock { advanced_ms: u64 },
    /// The salt every event id carries (new on each reset).
    Salt { salt: u32 },
    /// `POST /_sim/reset`: everything before is forgotten.
    Reset,
}

/// A stored answer's bytes, written as MessagePack binary: a stored answer is kept packed
/// (`api::compact`), full of control bytes. Journals written before hold them as base64
/// (JSON escaped those bytes six bytes each, a fifth of a journaled request's work), as text,
/// or, not UTF-8, as numbers; every form still reads. Variants are tried in this order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum StoredBody {
    Binary(Packed),
    Encoded { base64: String },
    Text(String),
    Bytes(Vec<u8>),
}

/// Bytes serialized as bytes (MessagePack `bin`), not as a list of numbers.
#[derive(Debug)]
pub(crate) struct Packed(pub(crate) Vec<u8>);

impl Serialize for Packed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Packed;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Packed, E> {
                Ok(Packed(bytes.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Packed, E> {
                Ok(Packed(bytes))
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}

impl StoredBody {
    pub(crate) fn of(bytes: &[u8]) -> StoredBody {
        StoredBody::Binary(Packed(bytes.to_vec()))
    }

    /// The stored bytes; `None` when the base64 does not decode (not a file we wrote).
    pub(crate) fn into_bytes(self) -> Option<Box<[u8]>> {
        Some(match self {
            StoredBody::Binary(Packed(bytes)) | StoredBody::Bytes(bytes) => {
                bytes.into_boxed_slice()
            }
            StoredBody::Encoded { base64 } => {
                BASE64.decode(base64.as_bytes()).ok()?.into_boxed_slice()
            }
            StoredBody::Text(text) => text.into_bytes().into_boxed_slice(),
        })
    }
}

/// Where frames go: the journal writer, outside the engine. `append` must not block on
/// I/O (it is called under the section lock); it queues the frame for the writer.
pub(crate) trait JournalSink: Send + Sync {
    fn append(&self, frame: &[Record]);
}

/// The engine's half of durability: the section lock and, once attached, the sink.
#[derive(Default)]
pub(super) struct Durability {
    /// Taken shared by every change, exclusively by a snapshot.
    pub(super) quiet: RwLock<()>,
    pub(super) attached: OnceLock<Attached>,
}

pub(super) struct Attached {
    pub(super) sink: Arc<dyn JournalSink>,
    /// Shared with the idempotency store's hook, which adds a completed key to the frame
    /// of the section its thread holds.
    pub(super) section: Arc<ReentrantMutex<RefCell<Pending>>>,
}

/// What the section being held has changed so far, and how far the journal has the
/// ledger and the change log.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) depth: u32,
    pub(super) notes: Vec<Record>,
    pub(super) payments: Vec<PaymentId>,
    pub(super) sessions: Vec<Arc<str>>,
    pub(super) ledger_journaled: u64,
    pub(super) changes_journaled: u64,
}
