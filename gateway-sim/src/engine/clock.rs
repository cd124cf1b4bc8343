//! The simulator clock: wall-clock time plus whatever `POST /_sim/clock/advance` added.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Simulator time: wall-clock time plus whatever `advance` added. Key expiry and
/// scheduled behaviour windows read it, so a test can jump a day ahead in a millisecond.
pub struct SimClock {
    origin: Instant,
    origin_unix_ms: u64,
    advanced_ms: AtomicU64,
    /// Simulator time of the last start or reset: schedules count from here.
    epoch_ms: AtomicU64,
}

impl SimClock {
    pub(super) fn new() -> Self {
        let origin_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            origin: Instant::now(),
            origin_unix_ms,
            advanced_ms: AtomicU64::new(0),
            epoch_ms: AtomicU64::new(origin_unix_ms),
        }
    }

    /// Unix milliseconds, simulator time.
    pub fn now_ms(&self) -> u64 {
        self.origin_unix_ms
            .saturating_add(self.origin.elapsed().as_millis() as u64)
            .saturating_add(self.advanced_ms.load(Ordering::Relaxed))
    }

    /// Time since the simulator started (or was reset), for scheduled behaviour.
    pub fn since_start(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.epoch_ms.load(Ordering::Relaxed)),
        )
    }

    /// Moves simulator time forward by `by`. Saturates: time never wraps around to the past,
    /// however far it is pushed (a plain `as u64` of a huge jump would have).
    pub fn advance(&self, by: Duration) {
        let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // The closure always returns Some, so the update cannot fail.
        let _ = self
            .advanced_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |ms| {
                Some(ms.saturating_add(by_ms))
            });
    }

    /// How far time has been advanced beyond the wall clock (journaled on each move).
    pub(super) fn advanced_ms(&self) -> u64 {
        self.advanced_ms.load(Ordering::Relaxed)
    }

    /// Replay: the journaled run's advance, so simulator time never runs backwards.
    pub(super) fn restore_advanced(&self, ms: u64) {
        self.advanced_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub(super) fn restart_epoch(&self) {
        self.epoch_ms.store(self.now_ms(), Ordering::Relaxed);
    }
}
