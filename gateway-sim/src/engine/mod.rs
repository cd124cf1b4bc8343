//! The payments domain and nothing else: payments and their state machine,
//! refunds, idempotency keys, the ledger and the simulator clock.
//!
//! Synchronous on purpose: no sleeping, no I/O, no HTTP types. Every operation
//! takes the one lock that guards its payment, checks the rule, moves the money
//! and appends the ledger entries before letting go, so no interleaving of
//! requests can capture twice or refund more than was captured.
//!
//! Decisions that come from the fault model (is this attempt declined?) arrive
//! as arguments: the engine records what happened, it does not roll dice.
//!
//! - `operations.rs`: the [`Engine`] handle and every operation on payments.
//! - `payment.rs`: the payment record, its status, method and refunds, and the
//!   validated requests that create or change one (plain data).
//! - `page.rs`: which page of a merchant's payments to list.
//! - [`idempotency`]: the key store (claim → complete, replay, mismatch, in use, expiry).
//! - [`ledger`]: the append-only ledger; [`LedgerEntry`] is its published form.
//! - [`ids`]: payment and refund ids, interned merchants; [`money`]: currencies and
//!   the amount ceiling.
//! - `events.rs`: the change log beside the ledger (the events' outbox), each
//!   change recorded under the lock of the payment it changed; [`Cause`] says
//!   which request caused the changes of an operation and collects them.
//! - `webhook_endpoints.rs`: where merchants asked their events to be sent.
//! - `lifecycle.rs`: what happens after the first answer without the merchant's
//!   call: an uncaptured authorization expires, a buyer answers a 3-D Secure
//!   challenge or abandons it; `expiry.rs` the schedule of expiries, soonest first.
//! - `checkout.rs`: checkout sessions (Stripe Checkout): the order a buyer pays
//!   on the hosted page, which payment paid it, and their 24-hour expiry.
//!   challenge; `expiry.rs` the schedule of expiries (and of dispute openings and
//!   decisions), soonest first.
//! - `dispute.rs`: a dispute, its reason and status (plain data); `disputes.rs`
//!   how one opens on a dispute card's captured payment, is answered and decided.
//! - `settlement/`: balance transactions, fees, payouts and the processor's mistakes on
//!   purpose, derived from the ledger and the clock (never stored; see its `mod.rs`);
//!   `balance.rs` the engine's reads of them, each bringing the books up to time first;
//!   `payout_events.rs` the payouts' changes told as events once simulator time passes
//!   them, exactly once however often the books are rebuilt.
//! - `record.rs`: what a journal is told (a frame of [`Record`]s per change, the
//!   resulting state) and where it goes; `durable.rs` the section a change holds
//!   while it is made, so the journal has the ledger and the changes in sequence
//!   order and each change whole; `restore.rs` takes
//!   records back on start (replay, `--restore`) and writes the whole state out as
//!   records (a snapshot).
//! - `retention.rs`: `--retain`: settled payments older than a window leave memory, and so
//!   do the ledger's and the change log's entries older than it (its doc has the rules; the
//!   data it tracks); `retire.rs` the engine's pass over it, once a second.
//! - `clock.rs`: simulator time; `stats.rs`: counts and totals; `error.rs`: refusals;
//!   `decline_code.rs`: decline codes interned to one byte;
//!   `shard.rs`: the sharded hash tables everything above is built from, and
//!   `payment_table.rs` one payments shard (boxed payments found by their own id).

mod balance;
mod checkout;
mod checkout_session;
mod clock;
mod decline_code;
mod dispute;
mod disputes;
mod durable;
mod error;
mod events;
mod expiry;
pub mod idempotency;
pub mod ids;
pub mod ledger;
mod lifecycle;
pub mod money;
mod operations;
mod page;
mod payment;
mod payment_form;
mod payment_table;
mod payout_events;
mod record;
mod restore;
mod retention;
mod retire;
mod settlement;
mod shard;
mod shared_str;
mod stats;
mod webhook_endpoints;

pub use checkout_session::{CheckoutSession, CheckoutStatus, NewCheckoutSession};
pub use clock::SimClock;
pub use dispute::{DisputePlan, DisputeReason, DisputeStatus};
pub use disputes::DisputeAnswer;
pub use error::EngineError;
pub use events::{Cause, Change, ChangeKind, EventDialect, EventId, RequestRef};
pub use ledger::{EntryKind, EntryReason, LedgerEntry};
pub use operations::Engine;
pub use page::{Cursor, PageQuery};
pub use payment::{
    AUTHENTICATION_FAILURE, AuthenticationOutcome, CancellationReason, CaptureMethod, Challenge,
    ConfirmedAt, MetadataPatch, NewPayment, NewPendingPayment, Payment, PaymentMethod,
    PaymentStatus, PaymentUpdate, Refund, ReturnTo, Verdict,
};
#[cfg(test)]
pub(crate) use record::StoredBody;
pub(crate) use record::{JournalSink, Record};
pub use retention::RetentionStats;
pub use settlement::{
    Balance, BalanceTransaction, DiscrepancyKind, DiscrepancyRates, Fee, Payout, PayoutStatus,
    ReportRow, ReportSelection, ReportingCategory, SettlementPolicy, TxnQuery, TxnSource,
};
pub use shared_str::SharedStr;
pub use stats::LedgerStats;
pub use webhook_endpoints::{
    EndpointUpdate, MAX_ENDPOINTS_PER_MERCHANT, NewWebhookEndpoint, WebhookEndpoint,
};

#[cfg(test)]
mod tests;
