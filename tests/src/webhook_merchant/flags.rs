//! The three switches of webhook mode, each a bug real services ship, each off
//! (the correct behaviour) by default.

/// Whether each webhook delivery is checked against the events already handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dedupe {
    /// Deduplicate by event id: a delivery seen before is answered 200 and ignored (the fix).
    On,
    /// Handle every delivery: a duplicated `payment.succeeded` ships the order twice, and so
    /// does one whose event a reconciliation pass found (and handled) first (the bug).
    Off,
}

/// What an event's arrival means for its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventOrder {
    /// Ask the gateway for the payment as it is now and set the order from that; a paid
    /// order never goes back (the fix: events arrive late, out of order, or twice).
    Current,
    /// Apply each event's status in arrival order: a late or older event moves the order
    /// backwards, and a duplicated refund counts twice (the bug).
    Trust,
}

/// Whether the service lists `GET /v1/events` to catch events whose webhook never came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reconcile {
    /// A background pass (and `POST /reconcile`) applies every listed event not yet handled.
    On,
    /// Webhooks only: a dropped delivery leaves its order pending forever (the bug).
    Off,
}
