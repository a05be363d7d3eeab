//! How the operations that follow something on the scheduler wait: a deadline from the
//! caller, an interval between polls, and a flag the caller sets (Ctrl-C) to stop waiting.
//!
//! Used by [`crate::instances::kill_instances`], [`crate::restart::rolling_restart`] and
//! [`crate::updates::wait_for_update`]. Like `execute`, nothing here adds a timeout of its
//! own: the caller decides, and a miss is an outcome ([`crate::events::Outcome::TimedOut`]),
//! not an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::clock::Clock;

/// How long and how often to look.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Overall deadline, from the start of the operation.
    pub timeout: Duration,
    /// Time between two polls (the longest; short waits poll sooner, see [`Pacer`]).
    pub poll_interval: Duration,
    /// Set by the caller (Ctrl-C) to stop waiting; what runs on the scheduler keeps running.
    pub interrupted: Option<Arc<AtomicBool>>,
    /// What measures the deadline and the pauses, and sleeps them: the system clock, or in
    /// tests a [`crate::clock::ManualClock`], so waits take no real time.
    pub clock: Arc<dyn Clock>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(5),
            interrupted: None,
            clock: crate::clock::system(),
        }
    }
}

impl WaitOptions {
    /// Whether the caller asked to stop.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }
}

/// What a wait between two polls ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// Time for the next poll.
    Poll,
    /// The deadline passed.
    Deadline,
    /// The caller asked to stop.
    Interrupted,
}

/// Paces polls: the first ones come quickly (a kill or a restart often settles within a
/// second), then the interval doubles up to `poll_interval`, as Aurora's client backs off
/// when it waits for kills. Sleeps in short slices so an interrupt is noticed at once.
#[derive(Debug)]
pub struct Pacer {
    options: WaitOptions,
    deadline: Instant,
    next: Duration,
}

/// The first pause of a [`Pacer`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest uninterrupted sleep.
const SLICE: Duration = Duration::from_millis(100);

impl Pacer {
    /// A pacer whose deadline is `options.timeout` from now.
    pub fn new(options: &WaitOptions) -> Self {
        Pacer {
            options: options.clone(),
            deadline: options.clock.now() + options.timeout,
            next: FIRST_PAUSE.min(options.poll_interval),
        }
    }

    /// Polls quickly again (something new started, e.g. the next batch of a restart); the
    /// deadline stays.
    pub fn quicken(&mut self) {
        self.next = FIRST_PAUSE.min(self.options.poll_interval);
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.options.clock.now() >= self.deadline
    }

    /// Whether the caller asked to stop.
    pub fn interrupted(&self) -> bool {
        self.options.is_interrupted()
    }

    /// Sleeps until the next poll, the deadline or an interrupt, whichever comes first.
    pub fn wait(&mut self) -> Woke {
        let clock = &self.options.clock;
        let until = (clock.now() + self.next).min(self.deadline);
        self.next = (self.next * 2).min(self.options.poll_interval.max(FIRST_PAUSE));
        loop {
            if self.interrupted() {
                return Woke::Interrupted;
            }
            let now = clock.now();
            if now >= self.deadline {
                return Woke::Deadline;
            }
            if now >= until {
                return Woke::Poll;
            }
            clock.sleep(SLICE.min(until - now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn pauses_grow_to_the_poll_interval_and_stop_at_the_deadline() {
        let clock = Arc::new(ManualClock::new());
        let options = WaitOptions {
            timeout: Duration::from_millis(400),
            poll_interval: Duration::from_millis(120),
            interrupted: None,
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
        };
        let mut pacer = Pacer::new(&options);
        let mut polls = Vec::new();
        while pacer.wait() == Woke::Poll {
            polls.push(clock.elapsed().as_millis());
        }
        // Pauses of 50, 100, 120, 120 ms; the next one is cut short by the deadline.
        assert_eq!(polls, [50, 150, 270, 390]);
        assert_eq!(clock.elapsed(), Duration::from_millis(400));
        assert!(pacer.expired());
    }

    #[test]
    fn an_interrupt_ends_the_wait() {
        let flag = Arc::new(AtomicBool::new(true));
        let options = WaitOptions {
            interrupted: Some(flag),
            ..WaitOptions::default()
        };
        assert_eq!(Pacer::new(&options).wait(), Woke::Interrupted);
    }
}
