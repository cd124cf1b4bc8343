//! Injected latency, measured from the request's arrival, with tokio's timer lateness allowed for.

use std::time::{Duration, Instant};

/// tokio's timer fires on the first millisecond tick at or after a deadline,
/// and its driver wakes up to a millisecond late again: about 1 ms late on
/// average. Aiming that much early makes injected delays unbiased.
const TIMER_LATENESS: Duration = Duration::from_millis(1);

/// Waits until `latency` after the request arrived. No latency means no timer
/// at all: even a zero-length tokio sleep waits for the next tick, which capped
/// a connection at a few hundred requests a second.
pub(super) async fn pause_until(arrived: Instant, latency: Duration) {
    if latency.is_zero() {
        return;
    }
    let deadline = arrived + latency.saturating_sub(TIMER_LATENESS);
    if deadline > Instant::now() {
        tokio::time::sleep_until(deadline.into()).await;
    }
}
