//! Catching what webhooks missed: Stripe's advice for a dropped or lost delivery is
//! to list the events and handle those not handled yet. One pass pages through
//! `GET /v1/events` (newest first) and applies the unhandled ones oldest first, so
//! an order sees its payment's events in the order they happened.
//!
//! A pass stops at the newest event of the last clean pass (`OrderBook::reconciled`):
//! new events only ever join the newest end of the list, so everything from there back
//! has been handled. Walking the whole history instead made each pass slower as the run
//! grew (thousands of pages after a few minutes of load), until the last pass of a run
//! could not finish before its books were read. A pass with an error, or one cut short
//! by its bound, leaves the mark where it was, so the next pass sees the same events again;
//! an event whose handling failed and was released clears it, since a pass may have
//! skipped that event as handled while the failing handler held it.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::handling::{Handled, Shop};

/// Pages read at most in one pass (100 events each): a bound, whatever the history.
const MAX_PAGES: usize = 1000;

/// What one pass did, as `POST /reconcile` answers it.
#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub listed: usize,
    pub applied: usize,
    pub errors: Vec<String>,
    /// The pass stopped at its page or time bound before reaching the last clean pass's
    /// newest event (or, without one, the oldest).
    pub incomplete: bool,
}

/// One reconciliation pass, given at most `budget` of time.
pub async fn reconcile(shop: &Shop, budget: Duration) -> ReconcileReport {
    let deadline = Instant::now() + budget;
    let mut report = ReconcileReport::default();
    let (through, releases) = {
        let book = shop.book.lock();
        (book.reconciled.through.clone(), book.reconciled.releases)
    };
    let mut events = Vec::new();
    let mut starting_after: Option<String> = None;
    let mut reached_mark = false;
    'pages: for _ in 0..MAX_PAGES {
        if Instant::now() >= deadline {
            break;
        }
        let page = match shop.gateway.events(starting_after.as_deref()).await {
            Ok(page) => page,
            Err(e) => {
                report.errors.push(e.to_string());
                break;
            }
        };
        starting_after = page
            .events
            .last()
            .and_then(|e| e["id"].as_str())
            .map(str::to_string);
        for event in page.events {
            if through.is_some() && event["id"].as_str() == through.as_deref() {
                reached_mark = true;
                break 'pages;
            }
            events.push(event);
        }
        if !page.has_more || starting_after.is_none() {
            reached_mark = true;
            break;
        }
    }
    report.incomplete = !reached_mark;
    report.listed = events.len();
    // The newest event listed (the list is newest first): the mark, if the pass ends clean.
    let newest = events
        .first()
        .and_then(|e| e["id"].as_str())
        .map(str::to_string);
    for event in events.iter().rev() {
        if Instant::now() >= deadline {
            report.incomplete = true;
            break;
        }
        let event_id = event["id"].as_str().unwrap_or_default();
        if shop.book.lock().was_handled(event_id) {
            continue;
        }
        match shop.handle_listed(event).await {
            Ok(Handled::Applied) => report.applied += 1,
            Ok(Handled::Duplicate | Handled::Ignored) => {}
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    let mut book = shop.book.lock();
    if !report.incomplete
        && report.errors.is_empty()
        && newest.is_some()
        && book.reconciled.releases == releases
    {
        book.reconciled.through = newest;
    }
    drop(book);
    report
}
