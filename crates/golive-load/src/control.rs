//! The run's control block, shared by the aggregator and every worker: stop and
//! abort flags and the live VU counts, all atomics read on the hot path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

/// Shared between workers and the aggregator: atomics only, read on the hot path.
pub(crate) struct Control {
    pub start: Instant,
    stopping: AtomicBool,
    /// Cancelled by a stop "at once": scenarios interrupt their running iterations without
    /// waiting for gracefulStop.
    abort: CancellationToken,
    pub active_vus: AtomicU64,
    pub vus_max: AtomicU64,
}

impl Control {
    pub fn new(start: Instant) -> Control {
        Control {
            start,
            stopping: AtomicBool::new(false),
            abort: CancellationToken::new(),
            active_vus: AtomicU64::new(0),
            vus_max: AtomicU64::new(0),
        }
    }
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
    /// Stops, and interrupts what is running instead of letting it finish.
    pub fn abort(&self) {
        self.stop();
        self.abort.cancel();
    }
    /// Resolves once the run is stopped at once.
    pub async fn until_aborted(&self) {
        self.abort.cancelled().await;
    }
    pub fn aborted(&self) -> bool {
        self.abort.is_cancelled()
    }
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
    pub fn vu_started(&self) {
        let now = self.active_vus.fetch_add(1, Ordering::Relaxed) + 1;
        self.vus_max.fetch_max(now, Ordering::Relaxed);
    }
    pub fn vu_stopped(&self) {
        self.active_vus.fetch_sub(1, Ordering::Relaxed);
    }
}
