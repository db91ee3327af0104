//! Buffers kept from one training step to the next.
//!
//! A training step of the seed convnet needs some 40 MB of scratch buffers (windows,
//! feature maps and their gradients). Allocated afresh each step, the system allocator
//! hands most of them back to the operating system and maps them in again page by page:
//! measured at 880,000 page faults and a third of the CPU time in 2 epochs. Returned here
//! instead, each buffer is reused by the next step.
//!
//! Steps repeat the same shapes, so buffers are kept by their exact length: a reused
//! buffer needs no resizing (and no zero-filling), and finding one is a hash lookup.

use std::collections::HashMap;
use std::sync::Mutex;

/// Buffers of one length kept at most: enough for every piece of a batch to hold several
/// buffers of the same shape (a layer's output and its gradient), few enough that a
/// length used once does not keep much memory.
const KEPT_PER_LENGTH: usize = 64;

/// A pool of reusable buffers of `T`.
pub(crate) struct Workspace<T> {
    free: Mutex<HashMap<usize, Vec<Vec<T>>>>,
}

impl<T: Copy + Default> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default> Workspace<T> {
    pub fn new() -> Self {
        Workspace {
            free: Mutex::new(HashMap::new()),
        }
    }

    /// A buffer of `len` values. A reused buffer keeps its old values: callers overwrite
    /// every value.
    pub fn take(&self, len: usize) -> Vec<T> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&len)
            .and_then(Vec::pop);
        reused.unwrap_or_else(|| vec![T::default(); len])
    }

    /// Give a buffer back for later steps.
    pub fn give(&self, buffer: Vec<T>) {
        if buffer.is_empty() {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let same_length = free.entry(buffer.len()).or_default();
        if same_length.len() < KEPT_PER_LENGTH {
            same_length.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused_for_the_same_length() {
        let pool = Workspace::<f32>::new();
        let first = pool.take(1000);
        let address = first.as_ptr();
        pool.give(first);
        let second = pool.take(1000);
        assert_eq!(second.as_ptr(), address);
        // Another length: a new buffer.
        assert_eq!(pool.take(600).len(), 600);
        // The pool keeps a bounded number per length.
        for _ in 0..100 {
            pool.give(vec![0.0; 7]);
        }
        assert_eq!(pool.free.lock().unwrap()[&7].len(), KEPT_PER_LENGTH);
    }
}
