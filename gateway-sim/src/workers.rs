//! `[gateway.capacity]` at run time: the gateway's workers and the queue before them.
//!
//! A [`WorkerPool`] is a fair (FIFO) `tokio::sync::Semaphore` with one permit per worker: an
//! API request takes a permit, holds it for its drawn service time, and gives it back; a
//! request that finds every worker busy waits in arrival order, so latency grows as the offered
//! rate nears `workers / mean(service_time)`, and without bound above it. At most `max_queue`
//! wait; the next is refused at once (the server answers 503 `queue_full`).
//!
//! One pool per configuration generation: `PUT /_sim/config` builds a new pool with a new
//! semaphore, and a request keeps the pool of the behaviour snapshot it took on arrival. That
//! is simpler and safer than resizing one semaphore in place (tokio can add permits but only
//! take away free ones, and a shrunk `max_queue` would have to evict waiters): requests already
//! queued finish on the old pool while new ones queue on the new, so for the length of one
//! queue the two together may serve more than the new `workers`. The gauges ([`QueueStats`])
//! are the server's, across generations.
//!
//! Tokio lives here, not in `behaviour/` (which stays pure): the service time is drawn there,
//! with the rest of the request's fate, and only spent here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::behaviour::CapacityConfig;

/// The queue's figures for `/_sim/stats` and `/metrics`, across configuration generations.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Requests waiting for a worker now.
    depth: AtomicU64,
    /// The most that ever waited at once (since start or reset).
    max_depth: AtomicU64,
    /// Requests refused because the queue was full.
    rejected: AtomicU64,
    /// Requests holding a worker now.
    busy: AtomicU64,
}

/// A snapshot of [`QueueStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueFigures {
    pub depth: u64,
    pub max_depth: u64,
    pub rejected: u64,
    pub busy_workers: u64,
}

impl QueueStats {
    pub fn figures(&self) -> QueueFigures {
        QueueFigures {
            depth: self.depth.load(Ordering::Relaxed),
            max_depth: self.max_depth.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            busy_workers: self.busy.load(Ordering::Relaxed),
        }
    }

    /// Forgets the counts (`/_sim/reset`); the live gauges stay true.
    pub fn clear(&self) {
        self.rejected.store(0, Ordering::Relaxed);
        self.max_depth
            .store(self.depth.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// The workers of one configuration generation.
pub struct WorkerPool {
    permits: Arc<Semaphore>,
    max_queue: u64,
    /// Requests waiting on this pool (the bound applies per pool).
    waiting: AtomicU64,
}

/// The queue was full: the request is refused before anything runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// One worker, held until dropped.
pub struct Worker {
    _permit: OwnedSemaphorePermit,
    stats: Arc<QueueStats>,
    /// When the worker took the request: its service time counts from here.
    pub since: Instant,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stats.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Leaves the queue however the wait ends (a worker, or the client gone).
struct Waiting<'a> {
    pool: &'a WorkerPool,
    stats: &'a QueueStats,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.pool.waiting.fetch_sub(1, Ordering::Relaxed);
        self.stats.depth.fetch_sub(1, Ordering::Relaxed);
    }
}

impl WorkerPool {
    pub fn new(config: &CapacityConfig) -> Self {
        WorkerPool {
            permits: Arc::new(Semaphore::new(config.workers as usize)),
            max_queue: u64::from(config.max_queue()),
            waiting: AtomicU64::new(0),
        }
    }

    /// A free worker, else a place in the queue and the wait for a worker (first come, first
    /// served), else [`QueueFull`]. Cancel-safe: a request dropped while waiting leaves the
    /// queue.
    pub async fn take(&self, stats: &Arc<QueueStats>) -> Result<Worker, QueueFull> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => unreachable!("the pool never closes its semaphore"),
            Err(TryAcquireError::NoPermits) => {
                if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_queue {
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    stats.rejected.fetch_add(1, Ordering::Relaxed);
                    return Err(QueueFull);
                }
                let depth = stats.depth.fetch_add(1, Ordering::Relaxed) + 1;
                stats.max_depth.fetch_max(depth, Ordering::Relaxed);
                let _waiting = Waiting { pool: self, stats };
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the pool never closes its semaphore")
            }
        };
        stats.busy.fetch_add(1, Ordering::Relaxed);
        Ok(Worker {
            _permit: permit,
            stats: Arc::clone(stats),
            since: Instant::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::LatencyConfig;
    use std::time::Duration;

    fn pool(workers: u32, max_queue: u32) -> WorkerPool {
        WorkerPool::new(&CapacityConfig {
            workers,
            service_time: LatencyConfig::constant(Duration::from_millis(1)),
            max_queue: Some(max_queue),
        })
    }

    #[tokio::test]
    async fn beyond_the_workers_requests_wait_then_beyond_the_queue_are_refused() {
        let stats = Arc::new(QueueStats::default());
        let pool = Arc::new(pool(2, 1));
        let first = pool.take(&stats).await.expect("a free worker");
        let second = pool.take(&stats).await.expect("a free worker");
        assert_eq!(stats.figures().busy_workers, 2);
        let (pool2, stats2) = (Arc::clone(&pool), Arc::clone(&stats));
        let third = tokio::spawn(async move { pool2.take(&stats2).await.map(|w| w.since) });
        while stats.figures().depth == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.take(&stats).await.err(), Some(QueueFull));
        let figures = stats.figures();
        assert_eq!(
            (figures.depth, figures.max_depth, figures.rejected),
            (1, 1, 1)
        );
        drop(first);
        third
            .await
            .expect("joined")
            .expect("served after the first");
        drop(second);
        let figures = stats.figures();
        assert_eq!((figures.depth, figures.busy_workers), (0, 0));
        stats.clear();
        assert_eq!(stats.figures(), QueueFigures::default());
    }

    #[tokio::test]
    async fn a_request_that_gives_up_leaves_the_queue() {
        let stats = Arc::new(QueueStats::default());
        let pool = pool(1, 0);
        let worker = pool.take(&stats).await.expect("a free worker");
        // No queue at all: the second is refused at once.
        assert!(pool.take(&stats).await.is_err());
        let pool = self::pool(1, 5);
        let _held = pool.take(&stats).await.expect("a free worker");
        let waited = tokio::time::timeout(Duration::from_millis(5), pool.take(&stats)).await;
        assert!(waited.is_err(), "still waiting");
        assert_eq!(
            stats.figures().depth,
            0,
            "the abandoned wait left the queue"
        );
        assert_eq!(pool.waiting.load(Ordering::Relaxed), 0);
        drop(worker);
    }
}
