//! Helpers shared by the crate's unit tests.

use std::sync::{Mutex, MutexGuard};

/// Tests that set the global seed and then draw from it hold this lock, so that tests
/// running in parallel do not draw from each other's sequence.
pub fn seed_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
