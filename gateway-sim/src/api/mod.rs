//! Front doors: translate HTTP requests into engine operations and engine
//! results into HTTP answers. Adapters only: no state, no rules of their own.
//!
//! A front door (the native JSON API in [`native`], the Stripe-compatible API in
//! [`stripe`]) turns a request into a [`Call`]: who is calling, which operation,
//! and what identifies the request for idempotency and for the fault model. The
//! server applies the request's fate around [`Call::execute`], which runs the
//! operation on the engine, and the front door's [`Dialect`] renders the result.

pub mod compact;
pub mod error;
pub mod native;
pub mod stripe;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};

use crate::behaviour::{ChargeFacts, Endpoint};
use crate::engine::idempotency::{KeyState, StoredResponse};
use crate::engine::ids::MerchantId;
use crate::engine::{
    Engine, NewPayment, NewPendingPayment, PageQuery, Payment, PaymentMethod, PaymentUpdate, Refund,
};
pub use error::ApiError;

/// Idempotency keys longer than this are refused, as Stripe does.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// An HTTP answer before it meets hyper.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    /// Set on answers replayed from an idempotency key (`Idempotent-Replayed: true`).
    pub replayed: bool,
    /// Seconds, for 429 answers (`Retry-After`).
    pub retry_after: Option<u64>,
    /// For 405 answers (`Allow`).
    pub allow: Option<&'static str>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Bytes) -> Reply {
        Reply {
            status,
            body,
            replayed: false,
            retry_after: None,
            allow: None,
        }
    }

    pub fn ok(body: Bytes) -> Reply {
        Reply::json(StatusCode::OK, body)
    }
}

/// What a request asks the engine to do.
#[derive(Debug, Clone)]
pub enum Operation {
    Create(NewPayment),
    Capture {
        id: String,
        amount: Option<i64>,
    },
    Cancel {
        id: String,
    },
    Refund {
        id: String,
        amount: Option<i64>,
    },
    Retrieve {
        id: String,
    },
    ListByReference {
        reference: String,
    },
    LookupKey {
        key: String,
    },
    /// Create a payment without authorizing it (a PaymentIntent not confirmed yet).
    CreatePending(NewPendingPayment),
    /// Authorize a pending or declined payment.
    Confirm {
        id: String,
        payment_method: Option<PaymentMethod>,
        /// What the authorization will be for (amount, payment method), read at
        /// routing so the fault model can decide a decline; `None` when the payment
        /// cannot be confirmed (the engine then refuses).
        attempt: Option<(i64, PaymentMethod)>,
    },
    /// Change a payment's terms before authorization, or its metadata.
    Update {
        id: String,
        update: PaymentUpdate,
    },
    /// Cancel, a declined payment included.
    CancelOrAbandon {
        id: String,
    },
    /// A page of the merchant's payments, newest first.
    ListPage(PageQuery),
    RetrieveRefund {
        id: String,
    },
}

impl Operation {
    /// The endpoint the fault model treats this as. Everything that prepares or
    /// authorizes a payment (pending create, update, confirm) counts as `create`.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Operation::Create(_)
            | Operation::CreatePending(_)
            | Operation::Confirm { .. }
            | Operation::Update { .. } => Endpoint::Create,
            Operation::Capture { .. } => Endpoint::Capture,
            Operation::Cancel { .. } | Operation::CancelOrAbandon { .. } => Endpoint::Cancel,
            Operation::Refund { .. } => Endpoint::Refund,
            Operation::Retrieve { .. }
            | Operation::ListByReference { .. }
            | Operation::LookupKey { .. }
            | Operation::ListPage(_)
            | Operation::RetrieveRefund { .. } => Endpoint::Retrieve,
        }
    }

    /// Operations that change state (move money, or create or edit a payment) take
    /// idempotency keys and can be ambiguous; reads do not.
    pub fn moves_money(&self) -> bool {
        matches!(
            self,
            Operation::Create(_)
                | Operation::Capture { .. }
                | Operation::Cancel { .. }
                | Operation::Refund { .. }
                | Operation::CreatePending(_)
                | Operation::Confirm { .. }
                | Operation::Update { .. }
                | Operation::CancelOrAbandon { .. }
        )
    }
}

/// What the engine did, before a dialect renders it.
#[derive(Debug)]
pub enum Outcome {
    Payment(Payment),
    Declined(Payment),
    Refund(Refund),
    Payments(Vec<Payment>),
    Key(String, Option<KeyState>),
    Refused(ApiError),
}

impl Outcome {
    /// Only answers of requests that ran to the ledger are stored under an
    /// idempotency key. A refusal (unknown payment, wrong state, amount too
    /// large) changed nothing, so the key is freed and a corrected request may use it.
    pub fn is_stored(&self) -> bool {
        matches!(
            self,
            Outcome::Payment(_) | Outcome::Declined(_) | Outcome::Refund(_)
        )
    }
}

/// How a front door renders outcomes; one engine, several dialects.
pub trait Dialect: Send + Sync + 'static {
    fn render(&self, engine: &Engine, outcome: &Outcome) -> Reply;

    /// Renders the outcome of `call`. The server calls this; dialects whose answer
    /// depends on how the request asked (which object, expansions, page size, all
    /// in [`Call::view`]) override it.
    fn render_call(&self, engine: &Engine, call: &Call, outcome: &Outcome) -> Reply {
        let _ = call;
        self.render(engine, outcome)
    }

    /// Errors raised around the operation (idempotency conflicts, injected
    /// faults, rate limits), in this dialect's shape.
    fn render_error(&self, error: &ApiError) -> Reply {
        error.clone().into_reply()
    }
}

/// The request as the server hands it to a front door.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a Bytes,
}

static NATIVE: native::Native = native::Native;
static STRIPE: stripe::Stripe = stripe::Stripe;

/// Finds the front door that owns the request's path and lets it build the call.
/// `Err` is a complete answer (unknown route, bad input), already in the
/// dialect's shape.
pub fn route(engine: &Engine, req: &Incoming<'_>) -> Result<(Call, &'static dyn Dialect), Reply> {
    if let Some(routed) = native::route(engine, req) {
        return routed
            .map(|call| (call, &NATIVE as &'static dyn Dialect))
            .map_err(|e| NATIVE.render_error(&e));
    }
    if let Some(routed) = stripe::route(engine, req) {
        return routed.map(|call| (call, &STRIPE as &'static dyn Dialect));
    }
    Err(ApiError::unknown_route(req.method, req.path).into_reply())
}

/// What a dialect needs, besides the outcome, to render it. The Stripe dialect
/// shows one engine payment as a PaymentIntent or as its charge, with the
/// expansions and the page the request asked for. Set at routing.
#[derive(Debug, Clone, Default)]
pub enum View {
    /// The outcome says it all (the native API).
    #[default]
    Plain,
    Stripe(Arc<stripe::View>),
}

/// A routed, authenticated, validated request, ready for its fate.
#[derive(Debug, Clone)]
pub struct Call {
    pub merchant: MerchantId,
    pub api_key: Arc<str>,
    pub operation: Operation,
    pub idempotency_key: Option<String>,
    /// Hash of method, path and body: what "the same request" means for a key.
    pub fingerprint: u64,
    /// What identifies this request for the fault model: its idempotency key, or,
    /// without one, its method, path and body.
    pub identity: Bytes,
    /// The full card number of a create with raw card details (the engine keeps only
    /// the last four digits; the fault model needs the number for test cards).
    pub card_number: Option<String>,
    /// How the dialect shows the outcome.
    pub view: View,
}

impl Call {
    pub fn new(
        merchant: MerchantId,
        api_key: Arc<str>,
        operation: Operation,
        idempotency_key: Option<String>,
        method: &Method,
        path: &str,
        body: &Bytes,
    ) -> Call {
        let mut h = DefaultHasher::new();
        method.as_str().hash(&mut h);
        path.hash(&mut h);
        body.as_ref().hash(&mut h);
        let fingerprint = h.finish();
        let identity = match &idempotency_key {
            Some(key) => Bytes::copy_from_slice(key.as_bytes()),
            None => {
                let mut v = Vec::with_capacity(method.as_str().len() + path.len() + body.len() + 2);
                v.extend_from_slice(method.as_str().as_bytes());
                v.push(b' ');
                v.extend_from_slice(path.as_bytes());
                v.push(b'\n');
                v.extend_from_slice(body);
                Bytes::from(v)
            }
        };
        Call {
            merchant,
            api_key,
            operation,
            idempotency_key,
            fingerprint,
            identity,
            card_number: None,
            view: View::Plain,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.operation.endpoint()
    }

    /// The authorization attempt this call makes, for test cards and decline rules:
    /// a create that authorizes, or a confirmation.
    pub fn charge_facts(&self) -> Option<ChargeFacts<'_>> {
        match &self.operation {
            Operation::Create(new) => Some(ChargeFacts {
                amount: new.amount,
                payment_method: new.payment_method.token(),
                card_number: self.card_number.as_deref(),
            }),
            Operation::Confirm {
                attempt: Some((amount, method)),
                ..
            } => Some(ChargeFacts {
                amount: *amount,
                payment_method: method.token(),
                card_number: None,
            }),
            _ => None,
        }
    }

    /// Executes the operation on the engine. `key` is the reserved idempotency key
    /// (recorded in the ledger), `decline` the fault model's verdict for a create.
    pub fn execute(
        &self,
        engine: &Engine,
        key: Option<&Arc<str>>,
        decline: Option<&str>,
    ) -> Outcome {
        let m = self.merchant;
        let refused = |e: crate::engine::EngineError| Outcome::Refused(e.into());
        match &self.operation {
            Operation::Create(new) => match engine.create_payment(m, new.clone(), key, decline) {
                Ok(p) if p.decline_code.is_some() => Outcome::Declined(p),
                Ok(p) => Outcome::Payment(p),
                Err(e) => refused(e),
            },
            Operation::Capture { id, amount } => engine
                .capture(m, id, *amount, key)
                .map_or_else(refused, Outcome::Payment),
            Operation::Cancel { id } => engine
                .cancel(m, id, key)
                .map_or_else(refused, Outcome::Payment),
            Operation::Refund { id, amount } => engine
                .refund(m, id, *amount, key)
                .map_or_else(refused, |(refund, _)| Outcome::Refund(refund)),
            Operation::Retrieve { id } => {
                engine.payment(m, id).map_or_else(refused, Outcome::Payment)
            }
            Operation::ListByReference { reference } => {
                Outcome::Payments(engine.payments_by_reference(m, reference))
            }
            Operation::LookupKey { key } => {
                Outcome::Key(key.clone(), engine.idempotency_key_state(m, key))
            }
            Operation::CreatePending(new) => engine
                .create_pending_payment(m, new.clone())
                .map_or_else(refused, Outcome::Payment),
            Operation::Confirm {
                id, payment_method, ..
            } => match engine.confirm(m, id, payment_method.clone(), key, decline) {
                Ok(p) if p.decline_code.is_some() => Outcome::Declined(p),
                Ok(p) => Outcome::Payment(p),
                Err(e) => refused(e),
            },
            Operation::Update { id, update } => engine
                .update_payment(m, id, update.clone())
                .map_or_else(refused, Outcome::Payment),
            Operation::CancelOrAbandon { id } => engine
                .cancel_or_abandon(m, id, key)
                .map_or_else(refused, Outcome::Payment),
            Operation::ListPage(query) => engine
                .list_payments(m, query)
                .map_or_else(refused, Outcome::Payments),
            Operation::RetrieveRefund { id } => match engine.refund_by_id(m, id) {
                Some((refund, _)) => Outcome::Refund(refund),
                None => Outcome::Refused(
                    ApiError::not_found("resource_missing", format!("No such refund: '{id}'"))
                        .with_param("id"),
                ),
            },
        }
    }
}

impl From<&Reply> for StoredResponse {
    fn from(r: &Reply) -> Self {
        StoredResponse {
            status: r.status.as_u16(),
            body: compact::pack(&r.body),
        }
    }
}

impl Reply {
    /// The stored answer, replayed: the same status and bytes, marked as a replay.
    pub fn replay(stored: &StoredResponse) -> Reply {
        let mut reply = Reply::json(
            StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
            compact::unpack(&stored.body),
        );
        reply.replayed = true;
        reply
    }
}

/// The `Idempotency-Key` header, checked: present keys are 1..=255 visible ASCII characters.
pub fn idempotency_key(headers: &http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = |msg: &str| {
        Err(
            ApiError::invalid("idempotency_key_invalid", msg.to_string())
                .with_param("Idempotency-Key"),
        )
    };
    let Ok(key) = value.to_str() else {
        return bad("The Idempotency-Key header must be printable ASCII.");
    };
    let key = key.trim();
    if key.is_empty() {
        return bad(
            "The Idempotency-Key header is empty; omit it or send a unique key per operation.",
        );
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(ApiError::invalid(
            "idempotency_key_too_long",
            format!("Idempotency keys can be at most {MAX_IDEMPOTENCY_KEY_LEN} characters; this one has {}.", key.len()),
        )
        .with_param("Idempotency-Key"));
    }
    Ok(Some(key.to_string()))
}

/// The API key from `Authorization: Bearer <key>`; it names the merchant account.
pub fn bearer_api_key(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// Decodes `%XX` escapes in a path segment; `None` if they do not form UTF-8.
pub fn percent_decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_string());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if bytes[i] == b'%' {
            return None;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value of one query parameter, percent-decoded (`+` is a space, as forms send it).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(&v.replace('+', " ")))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_escapes_and_refuses_garbage() {
        assert_eq!(percent_decode("order%2D1").as_deref(), Some("order-1"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None, "not UTF-8");
        assert_eq!(
            query_param(Some("a=1&reference=order%20%31"), "reference").as_deref(),
            Some("order 1")
        );
        assert_eq!(
            query_param(Some("reference=a+b"), "reference").as_deref(),
            Some("a b")
        );
        assert_eq!(query_param(None, "reference"), None);
    }

    #[test]
    fn bearer_keys_are_read_and_empty_ones_refused() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer_api_key(&h), None);
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer sk_test_1".parse().unwrap(),
        );
        assert_eq!(bearer_api_key(&h), Some("sk_test_1"));
        h.insert(http::header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_api_key(&h), None);
        h.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_api_key(&h), None);
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        let mut h = http::HeaderMap::new();
        assert_eq!(idempotency_key(&h), Ok(None));
        h.insert("idempotency-key", "k-1".parse().unwrap());
        assert_eq!(idempotency_key(&h), Ok(Some("k-1".into())));
        h.insert("idempotency-key", "x".repeat(255).parse().unwrap());
        assert!(idempotency_key(&h).is_ok());
        h.insert("idempotency-key", "x".repeat(256).parse().unwrap());
        assert_eq!(
            idempotency_key(&h).unwrap_err().code,
            "idempotency_key_too_long"
        );
    }
}
