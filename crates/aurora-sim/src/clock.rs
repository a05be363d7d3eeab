//! Simulated time. Every timestamp the emulator reports comes from here, and the state
//! machine only moves when the clock is read, so tests never sleep: with
//! [`ClockMode::Manual`] time moves only through [`Clock::advance`].

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::ClockMode;

/// The emulator's clock (milliseconds since the Unix epoch, like the scheduler's).
#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    origin: Instant,
    origin_ms: i64,
    offset_ms: Mutex<i64>,
}

impl Clock {
    /// A clock starting at the current wall-clock time.
    pub fn new(mode: ClockMode) -> Self {
        let origin_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
            .unwrap_or(0);
        Clock {
            mode,
            origin: Instant::now(),
            origin_ms,
            offset_ms: Mutex::new(0),
        }
    }

    /// A manual clock starting at `start_ms` (deterministic unit tests).
    #[cfg(test)]
    pub fn manual_at(start_ms: i64) -> Self {
        Clock {
            mode: ClockMode::Manual,
            origin: Instant::now(),
            origin_ms: start_ms,
            offset_ms: Mutex::new(0),
        }
    }

    fn offset(&self) -> i64 {
        *self.offset_ms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Now, in simulated milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        let scaled = match self.mode {
            ClockMode::Manual => 0,
            ClockMode::Scaled(scale) => {
                let real = self.origin.elapsed().as_secs_f64() * 1000.0;
                let v = real
                    * if scale.is_finite() && scale > 0.0 {
                        scale
                    } else {
                        1.0
                    };
                if v.is_finite() && v < 1e15 {
                    v as i64
                } else {
                    0
                }
            }
        };
        self.origin_ms
            .saturating_add(scaled)
            .saturating_add(self.offset())
    }

    /// Moves simulated time forward by `ms` (any mode).
    pub fn advance(&self, ms: i64) {
        let mut off = self.offset_ms.lock().unwrap_or_else(|e| e.into_inner());
        *off = off.saturating_add(ms.max(0));
    }

    /// Makes sure the clock reads at least `ms` (after loading a state file written by a
    /// clock that ran ahead).
    pub fn at_least(&self, ms: i64) {
        let now = self.now_ms();
        if ms > now {
            self.advance(ms - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_on_advance() {
        let c = Clock::manual_at(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(500);
        assert_eq!(c.now_ms(), 1500);
        c.at_least(1200);
        assert_eq!(c.now_ms(), 1500);
        c.at_least(2000);
        assert_eq!(c.now_ms(), 2000);
    }
}
