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
//!
//! Each thread of the pool gets back the buffers it gave back, the latest first, while it
//! has any: they are still in its core's cache. From one pool shared by all threads, a
//! core often took a buffer another core had just written, whose values had to move
//! between the cores' caches. Kept per thread, chapter 5's Conv(16,3)-Pool-Dense trained
//! at 59,906–63,522 samples/s instead of 52,851–53,134 at batch 32, the same model with
//! batch norm at 40,673–41,465 instead of 31,495–32,426, and the seed convnet at
//! 10,335–10,987 instead of 10,112–10,497 (2 alternating runs each, a 2-core Intel Xeon,
//! CPUID model 167).

use std::collections::HashMap;
use std::sync::Mutex;

/// Buffers of one length kept at most: enough for every piece of a batch to hold several
/// buffers of the same shape (a layer's output and its gradient), few enough that a
/// length used once does not keep much memory.
const KEPT_PER_LENGTH: usize = 64;

/// A pool of reusable buffers of `T`.
pub(crate) struct Workspace<T> {
    /// Per thread of the pool (and one for threads outside it), the buffers it gave back.
    free: Vec<Mutex<HashMap<usize, Vec<Vec<T>>>>>,
}

impl<T: Copy + Default> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default> Workspace<T> {
    pub fn new() -> Self {
        Workspace {
            free: (0..=rayon::current_num_threads())
                .map(|_| Mutex::new(HashMap::new()))
                .collect(),
        }
    }

    /// A buffer of `len` values: one this thread gave back, else one another thread gave
    /// back, else a new one. A reused buffer keeps its old values: callers overwrite
    /// every value.
    pub fn take(&self, len: usize) -> Vec<T> {
        let mine = self.slot();
        let reused = (0..self.free.len()).find_map(|i| {
            let slot = (mine + i) % self.free.len();
            let mut free = self.free[slot].lock().unwrap_or_else(|p| p.into_inner());
            free.get_mut(&len).and_then(Vec::pop)
        });
        reused.unwrap_or_else(|| vec![T::default(); len])
    }

    /// Where the calling thread's buffers are kept: its own place for a thread of the
    /// pool, a shared one for other threads.
    fn slot(&self) -> usize {
        rayon::current_thread_index().map_or(0, |i| i + 1) % self.free.len()
    }

    /// Give a buffer back for later steps.
    pub fn give(&self, buffer: Vec<T>) {
        if buffer.is_empty() {
            return;
        }
        let mut free = self.free[self.slot()].lock().unwrap_or_else(|p| p.into_inner());
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
        assert_eq!(pool.free[0].lock().unwrap()[&7].len(), KEPT_PER_LENGTH);
    }

    #[test]
    fn a_thread_reuses_the_buffers_it_gave_back_before_those_of_other_threads() {
        let pool = Workspace::<f32>::new();
        let threads = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let address = |buffer: &Vec<f32>| buffer.as_ptr() as usize;
        let outside = vec![0.0; 1000];
        let outside_address = address(&outside);
        pool.give(outside);
        let inside_address = threads.install(|| {
            let inside = vec![0.0; 1000];
            let inside_address = address(&inside);
            pool.give(inside);
            let taken = pool.take(1000);
            assert_eq!(address(&taken), inside_address, "its own, not the other thread's");
            pool.give(taken);
            inside_address
        });
        assert_eq!(address(&pool.take(1000)), outside_address, "its own");
        assert_eq!(
            address(&pool.take(1000)),
            inside_address,
            "none of its own left: the other thread's, not a new one"
        );
    }
}
