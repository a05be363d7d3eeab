//! Time as execution and waiting see it: an injectable [`Clock`].
//!
//! Every deadline, poll pause, heartbeat and pulse of [`crate::execute`], [`crate::waiting`]
//! (and through it [`crate::updates::wait_for_update`], [`crate::restart`] and
//! [`crate::instances::kill_instances`]) reads the clock of its options instead of
//! `Instant::now()` and `std::thread::sleep`. Production uses [`SystemClock`], the default
//! of the options; tests use a [`ManualClock`], whose sleeps move virtual time at once (and,
//! through its hook, the emulator's manual clock by the same amount), so a two-second
//! deadline costs no two seconds and does not depend on how fast the machine is.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A source of time that can also be waited on.
///
/// Instants from different clocks must not be mixed: code that takes a clock measures every
/// interval with it.
pub trait Clock: fmt::Debug + Send + Sync {
    /// Now, for deadlines and intervals.
    fn now(&self) -> Instant;

    /// Now as a date (shown to people, e.g. when the scheduler last answered).
    fn wall(&self) -> SystemTime;

    /// Waits `d`: when it returns, `now()` has moved on by at least `d`.
    fn sleep(&self, d: Duration);

    /// The real instant `after` from now, for a bound kept by code that reads the system
    /// clock itself: the API client's `CallLimits` deadline, whose attempts and backoffs run
    /// in real time. `None` when this clock's time is not real time: then only the reads of
    /// this clock keep the deadline (an instant of virtual time means nothing to the client).
    fn real_deadline(&self, after: Duration) -> Option<Instant> {
        Some(Instant::now() + after)
    }
}

/// The system's clocks: `Instant::now()`, `SystemTime::now()` and `std::thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// The default clock of the options: the [`SystemClock`].
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Called with every step a [`ManualClock`] takes.
type Hook = Box<dyn Fn(Duration) + Send + Sync>;

/// Virtual time that moves only when someone sleeps on it or [`advances`](Self::advance) it,
/// for tests: a wait of two seconds returns at once, with two seconds gone.
///
/// There is one line of time for all threads: each sleep moves it forward by its duration,
/// one after another, so concurrent sleeps add up (a sleeper always sees at least its `d`
/// pass, and time never goes back; deadlines, which only bound waits, may come sooner than
/// with parallel real sleeps). The hook runs with every step, in order, before anyone sees
/// the new time: tests pass one that advances the scheduler emulator's manual clock, so the
/// emulator has moved as far as the engine has waited.
pub struct ManualClock {
    origin: Instant,
    wall_origin: SystemTime,
    elapsed: Mutex<Duration>,
    on_advance: Option<Hook>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .field("hooked", &self.on_advance.is_some())
            .finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock standing at the current real time, moving only when told.
    pub fn new() -> Self {
        ManualClock {
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
            elapsed: Mutex::new(Duration::ZERO),
            on_advance: None,
        }
    }

    /// Like [`ManualClock::new`], calling `hook` with every step time takes (e.g. to advance
    /// an emulator's manual clock by as much).
    pub fn with_hook(hook: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        ManualClock {
            on_advance: Some(Box::new(hook)),
            ..ManualClock::new()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Duration> {
        self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Virtual time gone since the clock was made.
    pub fn elapsed(&self) -> Duration {
        *self.lock()
    }

    /// Moves time forward by `d` (and the hook with it).
    pub fn advance(&self, d: Duration) {
        // The lock is held while the hook runs, so steps reach it in order and nobody reads
        // a time the hook has not caught up with.
        let mut elapsed = self.lock();
        *elapsed += d;
        if let Some(hook) = &self.on_advance {
            hook(d);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }

    fn wall(&self) -> SystemTime {
        self.wall_origin + self.elapsed()
    }

    /// Advances time by `d` and returns at once, after letting other threads run (the
    /// engine's parallel senders); it never waits for real time to pass.
    fn sleep(&self, d: Duration) {
        self.advance(d);
        std::thread::yield_now();
    }

    fn real_deadline(&self, _after: Duration) -> Option<Instant> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn a_manual_sleep_moves_time_and_the_hook_without_waiting() {
        let seen = Arc::new(AtomicU64::new(0));
        let hooked = Arc::clone(&seen);
        let clock = ManualClock::with_hook(move |d| {
            hooked.fetch_add(u64::try_from(d.as_millis()).unwrap_or(0), Ordering::SeqCst);
        });
        let (start, wall) = (clock.now(), clock.wall());
        let real = Instant::now();
        clock.sleep(Duration::from_secs(3600));
        clock.advance(Duration::from_millis(5));
        assert!(real.elapsed() < Duration::from_secs(60));
        assert_eq!(clock.now() - start, Duration::from_millis(3_600_005));
        assert_eq!(
            clock.wall().duration_since(wall).ok(),
            Some(Duration::from_millis(3_600_005))
        );
        assert_eq!(seen.load(Ordering::SeqCst), 3_600_005);
        assert_eq!(clock.real_deadline(Duration::from_secs(1)), None);
    }

    #[test]
    fn concurrent_sleeps_add_up() {
        let clock = Arc::new(ManualClock::new());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let clock = Arc::clone(&clock);
                scope.spawn(move || {
                    for _ in 0..100 {
                        clock.sleep(Duration::from_millis(10));
                    }
                });
            }
        });
        assert_eq!(clock.elapsed(), Duration::from_secs(4));
    }
}
