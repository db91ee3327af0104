//! Helpers shared by the crate's unit tests.

use std::sync::{Mutex, MutexGuard};

/// Tests that set the global seed hold this lock, so that no two set it at once. Tests that
/// build a layer draw from the global generator without it, at any moment: a test that
/// needs an exact sequence of numbers draws from a generator of its own (`rng::using`).
pub fn seed_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
