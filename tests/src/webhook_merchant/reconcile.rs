//! Catching what webhooks missed: Stripe's advice for a dropped or lost delivery is
//! to list the events and handle those not handled yet. One pass pages through
//! `GET /v1/events` (newest first) and applies the unhandled ones oldest first, so
//! an order sees its payment's events in the order they happened.

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
    /// The pass stopped at its page or time bound before reaching the oldest event.
    pub incomplete: bool,
}

/// One reconciliation pass, given at most `budget` of time.
pub async fn reconcile(shop: &Shop, budget: Duration) -> ReconcileReport {
    let deadline = Instant::now() + budget;
    let mut report = ReconcileReport::default();
    let mut events = Vec::new();
    let mut starting_after: Option<String> = None;
    let mut reached_oldest = false;
    for _ in 0..MAX_PAGES {
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
        events.extend(page.events);
        if !page.has_more || starting_after.is_none() {
            reached_oldest = true;
            break;
        }
    }
    report.incomplete = !reached_oldest;
    report.listed = events.len();
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
    report
}
