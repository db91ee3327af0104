//! Running the pieces of a batch through a step's phases, side by side on the CPU's cores.
//!
//! A training step is one phase, or more where a layer needs sums over the whole batch
//! (batch norm): every piece must finish a phase before any starts the next, and between
//! the two, one thread adds the pieces' shares of the sums. [`run_phases`] runs all the
//! phases with the same threads, which claim pieces one at a time and wait for the next
//! phase by spinning (and yielding the core to any other thread that is ready to run),
//! so no thread goes to sleep and has to be woken between phases.
//!
//! With a parallel iterator per phase instead, the second core of a 2-core Intel VM
//! started each phase 29 µs late on average, and the two cores sat idle 31 % of the time
//! the phases took, against 15 % now (chapter 5's Conv(16,3)-BatchNorm-Pool-Dense at
//! batch 32, three phases a step). That model trained 18–22 % faster (AVX-512 build).
//!
//! Each thread first takes the pieces of its own run (thread `k` of `T` owns the `k`-th of
//! `T` runs of nearly equal length), walking it forwards in even phases and backwards in
//! odd ones, so that it starts each phase with the piece it finished last, still in its
//! cache; then it takes what is left of the other threads' runs, from their far ends.
//! Which thread runs a piece changes nothing in the results: each piece is computed
//! alone, and the sums and gradients are added in piece order.
//!
//! Between two steps the calling thread works alone (the optimizer, for a small model),
//! or with the pool's help (the optimizer's parts for a large one). The other threads
//! then [`stay_awake`] until the next step starts, instead of going to sleep and being
//! woken late. Between two steps of chapter 5's Conv(16,3)-Pool-Dense at batch 32 the
//! calling thread worked 73 µs (median), and the second core started each step 46 µs
//! late; staying awake, that model trained 7 % faster in the AVX2 build (66,010 → 70,809
//! samples/s, medians of 3 alternating runs) and 13 % with AVX-512 (54,962 → 61,889,
//! medians of 4), on a 2-core Intel VM.

use crate::Result;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a thread that [`stay_awake`]s waits with no work before it lets the pool put
/// it to sleep: longer than the calling thread works alone between two steps of every
/// course model (57–629 µs, medians; up to 2 ms between the chapter-6 models' steps, but
/// there most of that is the optimizer's parts, which the waiting threads run).
const STAY_AWAKE: Duration = Duration::from_millis(1);

/// How many multi-threaded [`run_phases`] have started: a thread staying awake after one
/// stops once the next has started.
static RUNS_STARTED: AtomicUsize = AtomicUsize::new(0);

/// Shared by the threads of one [`run_phases`].
struct Progress<P> {
    pieces: Vec<Mutex<P>>,
    /// The phase now running; `phases` once all are done.
    phase: AtomicUsize,
    /// Per phase and piece, whether a thread has taken the piece.
    taken: Vec<AtomicBool>,
    /// Per phase, how many pieces are finished.
    finished: Vec<AtomicUsize>,
    /// Set when a piece fails (or a thread panics): every thread stops.
    failed: AtomicBool,
    error: Mutex<Option<crate::Error>>,
}

/// Sets `failed` if its thread unwinds, so that no other thread waits for it forever.
struct StopOthersOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOthersOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// Runs `work(phase, piece)` on every piece for each phase `0..phases` in turn, on up to
/// `threads` threads of the current rayon pool (one of them the calling thread when it
/// belongs to the pool; with one thread, only the calling thread).
/// After the last piece of a phase finishes, `between(phase, pieces)` runs on the
/// thread that finished it, with every piece, before any piece starts the next phase.
/// Stops at the first error and returns it. Afterwards the other threads
/// [`stay_awake`] until the next run starts.
pub(crate) fn run_phases<P: Send>(
    pieces: Vec<P>,
    (phases, threads): (usize, usize),
    work: impl Fn(usize, &mut P) -> Result<()> + Sync,
    between: impl Fn(usize, &mut [&mut P]) + Sync,
) -> Result<Vec<P>> {
    let count = pieces.len();
    let progress = Progress {
        pieces: pieces.into_iter().map(Mutex::new).collect(),
        phase: AtomicUsize::new(0),
        taken: (0..phases * count).map(|_| AtomicBool::new(false)).collect(),
        finished: (0..phases).map(|_| AtomicUsize::new(0)).collect(),
        failed: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    let threads = threads.clamp(1, count.max(1));
    let run = |thread: usize| take_part(&progress, (thread, threads), &work, &between);
    match threads {
        1 => run(0),
        _ => {
            let this_run = RUNS_STARTED.fetch_add(1, Ordering::AcqRel) + 1;
            rayon::scope(|scope| {
                for thread in 1..threads {
                    let run = &run;
                    scope.spawn(move |_| run(thread));
                }
                run(0);
            });
            for _ in 1..threads {
                rayon::spawn(move || stay_awake((&RUNS_STARTED, this_run), STAY_AWAKE));
            }
        }
    }
    if let Some(error) = progress.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(error);
    }
    Ok(progress
        .pieces
        .into_iter()
        .map(|p| p.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect())
}

/// Thread `thread` of `threads`: takes pieces phase after phase until every phase is done
/// or a piece has failed.
fn take_part<P>(
    progress: &Progress<P>,
    (thread, threads): (usize, usize),
    work: &(impl Fn(usize, &mut P) -> Result<()> + Sync),
    between: &(impl Fn(usize, &mut [&mut P]) + Sync),
) {
    let _guard = StopOthersOnPanic(&progress.failed);
    let count = progress.pieces.len();
    let phases = progress.finished.len();
    let run_of = |t: usize| t * count / threads..(t + 1) * count / threads;
    loop {
        let phase = progress.phase.load(Ordering::Acquire);
        if phase == phases || progress.failed.load(Ordering::Acquire) {
            return;
        }
        // Its own run, then the others' from their far ends.
        let forwards = phase.is_multiple_of(2);
        let mut order: Vec<usize> = Vec::with_capacity(count);
        for o in 0..threads {
            let run = run_of((thread + o) % threads);
            let start = order.len();
            order.extend(run);
            if forwards == (o > 0) {
                order[start..].reverse();
            }
        }
        for i in order {
            if progress.failed.load(Ordering::Acquire) {
                return;
            }
            if progress.taken[phase * count + i].swap(true, Ordering::AcqRel) {
                continue;
            }
            let result = {
                let mut piece = progress.pieces[i].lock().unwrap_or_else(|e| e.into_inner());
                work(phase, &mut piece)
            };
            if let Err(error) = result {
                let mut slot = progress.error.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(error);
                progress.failed.store(true, Ordering::Release);
                return;
            }
            if progress.finished[phase].fetch_add(1, Ordering::AcqRel) + 1 == count {
                // The last piece of the phase: every other is finished and unlocked.
                let mut guards: Vec<_> = progress
                    .pieces
                    .iter()
                    .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()))
                    .collect();
                let mut all: Vec<&mut P> = guards.iter_mut().map(|g| &mut **g).collect();
                between(phase, &mut all);
                drop(guards);
                progress.phase.store(phase + 1, Ordering::Release);
            }
        }
        // Every piece of this phase is taken: wait until they are finished.
        while progress.phase.load(Ordering::Acquire) == phase {
            if !spin_once(progress) {
                return;
            }
        }
    }
}

/// Waits a little; `false` once a piece has failed.
fn spin_once<P>(progress: &Progress<P>) -> bool {
    pause();
    !progress.failed.load(Ordering::Acquire)
}

/// Waits a little, and lets the core run any other thread that is ready.
fn pause() {
    for _ in 0..64 {
        std::hint::spin_loop();
    }
    std::thread::yield_now();
}

/// Keeps a thread of the pool awake after the run numbered `run` (counted by `runs`),
/// running any work the pool is given meanwhile, until the next run starts or it has
/// found no work for `quiet`. A thread already staying awake returns at once, so that
/// stays never nest.
fn stay_awake((runs, run): (&AtomicUsize, usize), quiet: Duration) {
    thread_local! {
        static STAYING: Cell<bool> = const { Cell::new(false) };
    }
    if STAYING.replace(true) {
        return;
    }
    let mut idle_since = Instant::now();
    while runs.load(Ordering::Acquire) == run && idle_since.elapsed() < quiet {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle_since = Instant::now(),
            _ => pause(),
        }
    }
    STAYING.set(false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bail;

    /// A piece that records, per phase, how many pieces had finished the phase before.
    #[derive(Default, Debug)]
    struct Log {
        phases_seen: Vec<usize>,
        totals_seen: Vec<usize>,
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
    }

    #[test]
    fn every_piece_runs_every_phase_once_and_after_the_previous_phase_has_met() {
        for (threads, pieces, phases) in [(1, 4, 3), (2, 4, 3), (2, 1, 2), (3, 7, 5), (4, 2, 1), (2, 4, 0)] {
            // Per phase, the pieces' count as `between` saw it.
            let met: Vec<AtomicUsize> = (0..phases).map(|_| AtomicUsize::new(0)).collect();
            let done = pool(threads).install(|| {
                run_phases(
                    (0..pieces).map(|_| Log::default()).collect(),
                    (phases, threads),
                    |phase, log| {
                        std::thread::sleep(Duration::from_micros(200));
                        log.phases_seen.push(phase);
                        log.totals_seen.push(match phase {
                            0 => pieces,
                            _ => met[phase - 1].load(Ordering::Acquire),
                        });
                        Ok(())
                    },
                    |phase, all| {
                        let finished = all.iter().filter(|l| l.phases_seen.len() == phase + 1).count();
                        met[phase].store(finished, Ordering::Release);
                    },
                )
            });
            let done = done.unwrap();
            assert_eq!(done.len(), pieces);
            for log in &done {
                let case = format!("{threads} threads, {pieces} pieces, {phases} phases: {log:?}");
                assert_eq!(log.phases_seen, (0..phases).collect::<Vec<_>>(), "{case}");
                assert!(log.totals_seen.iter().all(|&t| t == pieces), "{case}");
            }
        }
    }

    #[test]
    fn one_thread_walks_its_pieces_forwards_then_backwards_so_it_starts_with_the_last_one() {
        let order = Mutex::new(Vec::new());
        run_phases(
            vec![0, 1, 2, 3],
            (3, 1),
            |phase, piece| {
                order.lock().unwrap().push((phase, *piece));
                Ok(())
            },
            |_, _| {},
        )
        .unwrap();
        let order = order.into_inner().unwrap();
        let want = [
            (0, 0),
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 3),
            (1, 2),
            (1, 1),
            (1, 0),
            (2, 0),
            (2, 1),
            (2, 2),
            (2, 3),
        ];
        assert_eq!(order, want);
    }

    #[test]
    fn the_first_error_stops_every_thread_and_is_returned() {
        let started_phase_1 = AtomicUsize::new(0);
        let result = pool(2).install(|| {
            run_phases(
                (0..6).collect(),
                (2, 2),
                |phase, piece: &mut usize| {
                    if phase == 1 {
                        started_phase_1.fetch_add(1, Ordering::Relaxed);
                    }
                    if *piece == 4 {
                        bail!(Shape, "piece 4 failed");
                    }
                    Ok(())
                },
                |_, _| {},
            )
        });
        let error = result.expect_err("the error of piece 4");
        assert!(error.to_string().contains("piece 4 failed"), "{error}");
        assert_eq!(
            started_phase_1.load(Ordering::Relaxed),
            0,
            "no piece starts the next phase"
        );
    }

    #[test]
    fn a_panicking_piece_stops_the_other_threads_instead_of_leaving_them_waiting() {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| {
                pool(2).install(|| {
                    run_phases(
                        (0..4).collect(),
                        (3, 2),
                        |phase, piece: &mut usize| {
                            assert!(!(phase == 1 && *piece == 2), "piece 2 panics");
                            Ok(())
                        },
                        |_, _| {},
                    )
                })
            });
            let _ = sender.send(outcome.is_err());
        });
        let panicked = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("run_phases hung after a panic");
        assert!(panicked, "the panic reaches the caller");
    }

    #[test]
    fn a_thread_staying_awake_runs_the_pools_work_and_stops_when_the_next_run_starts() {
        let (started, stopped) = (AtomicBool::new(false), AtomicBool::new(false));
        let runs = AtomicUsize::new(1);
        let wait_for = |flag: &AtomicBool, what: &str| {
            let since = Instant::now();
            while !flag.load(Ordering::Acquire) {
                assert!(since.elapsed() < Duration::from_secs(30), "{what}");
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        pool(2).scope(|scope| {
            // Told to wait a minute for work, it would hold the second thread that long
            // if it did not run the work itself.
            scope.spawn(|_| {
                started.store(true, Ordering::Release);
                stay_awake((&runs, 1), Duration::from_secs(60));
                stopped.store(true, Ordering::Release);
            });
            wait_for(&started, "the thread never started to stay awake");
            let since = Instant::now();
            let both = std::sync::Barrier::new(2);
            rayon::join(|| both.wait(), || both.wait());
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "work waited for the stay to end"
            );
            assert!(!stopped.load(Ordering::Acquire), "it stays awake after running work");
            runs.fetch_add(1, Ordering::AcqRel);
            wait_for(&stopped, "the thread stayed awake after the next run started");
        });
    }
}
