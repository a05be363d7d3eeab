//! A bounded pool of scoped threads for independent round trips: reads of the live state and
//! confirmations. Latency, not CPU, is what they wait on, so the bound is the number of calls
//! a scheduler should see in flight from one client (`--parallelism`), not the core count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

/// `f` over `items` on at most `workers` threads, results in input order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() <= 1 || workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

/// `f` over owned `items`, in contiguous parts on at most `workers` threads, results in
/// input order: for CPU work on values that are consumed (converting jobs), where each part
/// is one thread's share.
pub fn parallel_map_owned<T: Send, R: Send>(
    items: Vec<T>,
    workers: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if items.len() <= 1 || workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let part = items.len().div_ceil(workers.min(items.len()));
    let mut parts: Vec<Vec<T>> = Vec::new();
    let mut rest = items.into_iter().peekable();
    while rest.peek().is_some() {
        parts.push(rest.by_ref().take(part).collect());
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|p| scope.spawn(move || p.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `f` over `items` on at most `workers` threads, each result handed to `sink` on the calling
/// thread in input order as soon as it and those before it are ready: the sink (writing
/// output) overlaps the work, and at most `ahead` results wait for it, so memory does not grow
/// with the number of items. The first error of `sink` stops the run and is returned; a panic
/// of `f` is resumed on the calling thread.
pub fn parallel_for_each_ordered<T: Sync, R: Send, E>(
    items: &[T],
    workers: usize,
    ahead: usize,
    f: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    if items.len() <= 1 || workers <= 1 {
        return items.iter().try_for_each(|item| sink(f(item)));
    }
    let ahead = ahead.max(1);
    let state = Mutex::new(Ordered {
        ready: HashMap::new(),
        consumed: 0,
        stop: false,
        panic: None,
    });
    // Workers wait on `room` for the sink to catch up; the sink waits on `done` for results.
    let (room, done) = (Condvar::new(), Condvar::new());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers.min(items.len()) {
            scope.spawn(|| {
                loop {
                    // Indexes are taken in order, so the one the sink waits for is always
                    // held by a worker that is not waiting for room.
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let mut st = lock(&state);
                    while !st.stop && i >= st.consumed + ahead {
                        st = room
                            .wait(st)
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                    }
                    if st.stop {
                        break;
                    }
                    drop(st);
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                    let mut st = lock(&state);
                    match r {
                        Ok(r) => {
                            st.ready.insert(i, r);
                        }
                        Err(payload) => {
                            st.stop = true;
                            st.panic.get_or_insert(payload);
                            room.notify_all();
                        }
                    }
                    done.notify_one();
                }
            });
        }
        let mut result = Ok(());
        for i in 0..items.len() {
            let mut st = lock(&state);
            let r = loop {
                if let Some(payload) = st.panic.take() {
                    drop(st);
                    std::panic::resume_unwind(payload);
                }
                if let Some(r) = st.ready.remove(&i) {
                    break r;
                }
                st = done
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            };
            drop(st);
            if let Err(e) = sink(r) {
                result = Err(e);
                break;
            }
            lock(&state).consumed = i + 1;
            room.notify_all();
        }
        if result.is_err() {
            lock(&state).stop = true;
            room.notify_all();
        }
        result
    })
}

/// Room for at most a few holders at once; whoever comes next waits for a [`Pass`] to be
/// dropped. Reading a cluster admits its big roles through one, so that only a few roles'
/// answers are in memory at once however many are read in parallel.
#[derive(Debug)]
pub struct Gate {
    holders: Mutex<usize>,
    room: Condvar,
    capacity: usize,
}

/// One holder of a [`Gate`]'s room, given back when dropped (on any thread, and when
/// unwinding).
#[derive(Debug)]
pub struct Pass<'a> {
    gate: &'a Gate,
}

impl Gate {
    /// A gate for `capacity` holders at once (at least one).
    pub fn new(capacity: usize) -> Gate {
        Gate {
            holders: Mutex::new(0),
            room: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Waits for room and takes it.
    pub fn enter(&self) -> Pass<'_> {
        let mut holders = lock(&self.holders);
        while *holders >= self.capacity {
            holders = self
                .room
                .wait(holders)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *holders += 1;
        Pass { gate: self }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut holders = lock(&self.gate.holders);
        *holders = holders.saturating_sub(1);
        drop(holders);
        self.gate.room.notify_one();
    }
}

/// A value some threads wait for and one thread sets once. Planning's roles wait on it for
/// the desired jobs placed on the cluster's tiers.
#[derive(Debug)]
pub struct Latch<T> {
    value: OnceLock<T>,
    guard: Mutex<()>,
    ready: Condvar,
}

impl<T> Default for Latch<T> {
    fn default() -> Self {
        Latch {
            value: OnceLock::new(),
            guard: Mutex::new(()),
            ready: Condvar::new(),
        }
    }
}

impl<T> Latch<T> {
    /// Sets the value (the first set wins) and wakes every waiter.
    pub fn set(&self, value: T) {
        let _guard = lock(&self.guard);
        let _ = self.value.set(value);
        self.ready.notify_all();
    }

    /// The value, once set: blocks until then.
    pub fn wait(&self) -> &T {
        let mut guard = lock(&self.guard);
        loop {
            if let Some(value) = self.value.get() {
                return value;
            }
            guard = self
                .ready
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// The value, if it was set.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

/// The value of `m`, poisoned or not (see [`lock`]).
pub(crate) fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`parallel_for_each_ordered`]'s threads share.
struct Ordered<R> {
    /// Results not yet handed to the sink, by index.
    ready: HashMap<usize, R>,
    /// How many results the sink has taken.
    consumed: usize,
    /// The sink failed or a worker panicked: take no more work.
    stop: bool,
    /// The payload of a worker's panic, for the calling thread.
    panic: Option<Box<dyn std::any::Any + Send>>,
}

/// Locks `m`, taking the value of a poisoned lock too: a panic on another thread is
/// resumed where its scope ends, so what it left behind is never used for a result.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order_whatever_the_workers() {
        let items: Vec<u32> = (0..100).collect();
        for workers in [0, 1, 3, 16, 200] {
            assert_eq!(
                parallel_map(&items, workers, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn owned_results_keep_the_input_order() {
        for n in [0, 1, 2, 7, 100] {
            let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            for workers in [0, 1, 2, 3, 16] {
                assert_eq!(
                    parallel_map_owned(items.clone(), workers, |s| s + "!"),
                    items.iter().map(|s| format!("{s}!")).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn at_most_the_bound_runs_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u32> = (0..64).collect();
        parallel_map(&items, 5, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(peak.load(Ordering::SeqCst) <= 5);
    }

    #[test]
    fn ordered_sink_sees_every_result_in_order() {
        for n in [0, 1, 2, 7, 100] {
            let items: Vec<u32> = (0..n).collect();
            for (workers, ahead) in [(0, 0), (1, 4), (2, 1), (3, 2), (16, 64)] {
                let mut seen = Vec::new();
                let r: Result<(), ()> = parallel_for_each_ordered(
                    &items,
                    workers,
                    ahead,
                    |x| x * 2,
                    |r| {
                        seen.push(r);
                        Ok(())
                    },
                );
                assert_eq!(r, Ok(()));
                assert_eq!(seen, items.iter().map(|x| x * 2).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn ordered_work_stays_at_most_ahead_results_past_the_sink() {
        let taken = AtomicUsize::new(0);
        let items: Vec<usize> = (0..200).collect();
        let mut sunk = 0;
        let r: Result<(), ()> = parallel_for_each_ordered(
            &items,
            4,
            3,
            |&i| {
                // Started only while the sink has taken more than i - 3 results.
                taken.fetch_max(i, Ordering::SeqCst);
                i
            },
            |i| {
                assert_eq!(i, sunk);
                // Nothing past `ahead` results beyond this one has been started.
                assert!(taken.load(Ordering::SeqCst) < sunk + 3);
                sunk += 1;
                std::thread::yield_now();
                Ok(())
            },
        );
        assert_eq!(r, Ok(()));
        assert_eq!(sunk, 200);
    }

    #[test]
    fn ordered_sink_error_stops_the_run() {
        let items: Vec<u32> = (0..1000).collect();
        let started = AtomicUsize::new(0);
        let mut sunk = 0;
        let r = parallel_for_each_ordered(
            &items,
            3,
            2,
            |x| {
                started.fetch_add(1, Ordering::SeqCst);
                *x
            },
            |x| {
                sunk += 1;
                if x == 10 { Err("full") } else { Ok(()) }
            },
        );
        assert_eq!(r, Err("full"));
        assert_eq!(sunk, 11);
        assert!(started.load(Ordering::SeqCst) < 20);
    }

    #[test]
    fn latch_waiters_get_the_value_set_later() {
        for value in [7, 8] {
            let latch = Latch::<i32>::default();
            let seen = std::thread::scope(|scope| {
                let waiters: Vec<_> = (0..4).map(|_| scope.spawn(|| *latch.wait())).collect();
                latch.set(value);
                // A second set does not replace the first.
                latch.set(9);
                waiters
                    .into_iter()
                    .map(|w| w.join().expect("waiter"))
                    .collect::<Vec<_>>()
            });
            assert_eq!(seen, vec![value; 4]);
            assert_eq!(*latch.wait(), value);
            assert_eq!(latch.into_inner(), Some(value));
        }
    }

    #[test]
    fn a_gate_holds_at_most_its_capacity_and_passes_come_back_when_unwinding() {
        let gate = Gate::new(2);
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for i in 0..8 {
                let (gate, inside, most) = (&gate, &inside, &most);
                scope.spawn(move || {
                    let entered = std::panic::catch_unwind(|| {
                        let _pass = gate.enter();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        // Half of them leave by panicking: their room is given back too.
                        assert!(i % 2 == 0, "leaving by a panic");
                    });
                    assert_eq!(entered.is_ok(), i % 2 == 0);
                });
            }
        });
        assert!((1..=2).contains(&most.load(Ordering::SeqCst)));
        // All the room is back.
        let (_a, _b) = (gate.enter(), gate.enter());
    }

    #[test]
    fn ordered_worker_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..50).collect();
        let caught = std::panic::catch_unwind(|| {
            let _: Result<(), ()> =
                parallel_for_each_ordered(&items, 2, 4, |&x| assert!(x != 20, "boom"), |()| Ok(()));
        });
        assert!(caught.is_err());
    }
}
