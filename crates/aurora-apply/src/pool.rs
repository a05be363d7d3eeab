//! A bounded pool of scoped threads for independent round trips: reads of the live state and
//! confirmations. Latency, not CPU, is what they wait on, so the bound is the number of calls
//! a scheduler should see in flight from one client (`--parallelism`), not the core count.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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
}
