//! Simulated time. Every timestamp the emulator reports comes from here, and the state
//! machine only moves when the clock is read, so tests never sleep: with
//! [`ClockMode::Manual`] time moves only through [`Clock::advance`].
//!
//! With [`ClockMode::Scaled`] the clock runs `scale` times as fast as the wall clock. That
//! makes rolling updates finish quickly, but a long-lived emulator (the CLI's shared
//! `sim://` cluster) would drift ever further ahead of the wall clock while it merely waits.
//! An emulator with `catch_up_when_idle` therefore switches between two [`Pace`]s: `Scaled`
//! while something is in motion, `CatchUp` otherwise — simulated time stands still until the
//! wall clock has caught up with it and then follows the wall clock. The lead over the wall
//! clock is then only what the scale explains for the time work was pending, and it melts
//! away while nothing happens. Switching pace never moves the clock backwards or makes it
//! jump.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::ClockMode;

/// How a [`ClockMode::Scaled`] clock moves right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// `scale` simulated milliseconds per real millisecond.
    Scaled,
    /// Stand still until the wall clock has caught up, then follow it (a clock that is behind
    /// the wall clock, with a scale below 1, keeps its scale).
    CatchUp,
}

/// One stretch of time at one pace: the clock reads `sim_ms` at `start` and moves from there.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: Instant,
    /// Simulated ms at `start` (earlier manual advances folded in).
    sim_ms: i64,
    /// Wall-clock ms at `start`.
    wall_ms: i64,
    pace: Pace,
    /// Manual advances since `start`.
    offset_ms: i64,
}

/// The emulator's clock (milliseconds since the Unix epoch, like the scheduler's).
#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    segment: Mutex<Segment>,
}

/// Wall-clock milliseconds since the epoch.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
        .unwrap_or(0)
}

fn ms_from_f64(v: f64) -> i64 {
    if v.is_finite() && (0.0..1e15).contains(&v) {
        v as i64
    } else {
        0
    }
}

/// Simulated ms `elapsed_ms` real milliseconds after a segment started at `sim_ms` (wall
/// clock `wall_ms`), manual advances not included. Pure, so the pace rules are unit-tested
/// without waiting.
fn sim_at(mode: ClockMode, pace: Pace, sim_ms: i64, wall_ms: i64, elapsed_ms: f64) -> i64 {
    let ClockMode::Scaled(scale) = mode else {
        return sim_ms;
    };
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    match pace {
        Pace::CatchUp if sim_ms >= wall_ms => {
            sim_ms.max(wall_ms.saturating_add(ms_from_f64(elapsed_ms)))
        }
        Pace::Scaled | Pace::CatchUp => sim_ms.saturating_add(ms_from_f64(elapsed_ms * scale)),
    }
}

impl Clock {
    /// A clock starting at the current wall-clock time, at [`Pace::Scaled`].
    pub fn new(mode: ClockMode) -> Self {
        let now = wall_ms();
        Clock {
            mode,
            segment: Mutex::new(Segment {
                start: Instant::now(),
                sim_ms: now,
                wall_ms: now,
                pace: Pace::Scaled,
                offset_ms: 0,
            }),
        }
    }

    /// A manual clock starting at `start_ms` (deterministic unit tests).
    #[cfg(test)]
    pub fn manual_at(start_ms: i64) -> Self {
        Clock {
            mode: ClockMode::Manual,
            segment: Mutex::new(Segment {
                start: Instant::now(),
                sim_ms: start_ms,
                wall_ms: start_ms,
                pace: Pace::Scaled,
                offset_ms: 0,
            }),
        }
    }

    fn segment(&self) -> std::sync::MutexGuard<'_, Segment> {
        self.segment.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self, s: &Segment) -> i64 {
        let elapsed = s.start.elapsed().as_secs_f64() * 1000.0;
        sim_at(self.mode, s.pace, s.sim_ms, s.wall_ms, elapsed).saturating_add(s.offset_ms)
    }

    /// Now, in simulated milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        let s = self.segment();
        self.read(&s)
    }

    /// Moves simulated time forward by `ms` (any mode, any pace).
    pub fn advance(&self, ms: i64) {
        let mut s = self.segment();
        s.offset_ms = s.offset_ms.saturating_add(ms.max(0));
    }

    /// Makes sure the clock reads at least `ms` (after loading a state file written by a
    /// clock that ran ahead).
    pub fn at_least(&self, ms: i64) {
        let mut s = self.segment();
        let now = self.read(&s);
        if ms > now {
            s.offset_ms = s.offset_ms.saturating_add(ms - now);
        }
    }

    /// Switches pace from now on; the reading carries on from where it is.
    pub fn set_pace(&self, pace: Pace) {
        let mut s = self.segment();
        if s.pace == pace {
            return;
        }
        let now = self.read(&s);
        *s = Segment {
            start: Instant::now(),
            sim_ms: now,
            wall_ms: wall_ms(),
            pace,
            offset_ms: 0,
        };
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
        c.set_pace(Pace::CatchUp);
        assert_eq!(c.now_ms(), 2000);
    }

    #[test]
    fn scaled_pace_multiplies_real_time() {
        let m = ClockMode::Scaled(20.0);
        assert_eq!(sim_at(m, Pace::Scaled, 1_000, 1_000, 0.0), 1_000);
        assert_eq!(sim_at(m, Pace::Scaled, 1_000, 1_000, 500.0), 11_000);
        // Nonsense scales count as 1.
        let bad = ClockMode::Scaled(f64::NAN);
        assert_eq!(sim_at(bad, Pace::Scaled, 0, 0, 10.0), 10);
    }

    #[test]
    fn catch_up_pace_waits_for_the_wall_clock_then_follows_it() {
        let m = ClockMode::Scaled(20.0);
        // 60 s ahead of the wall clock: stands still for 60 s of real time…
        let (sim, wall) = (100_000, 40_000);
        assert_eq!(sim_at(m, Pace::CatchUp, sim, wall, 0.0), sim);
        assert_eq!(sim_at(m, Pace::CatchUp, sim, wall, 59_999.0), sim);
        // …then moves at wall-clock speed.
        assert_eq!(sim_at(m, Pace::CatchUp, sim, wall, 61_000.0), 101_000);
        // A clock behind the wall clock (scale below 1) keeps its scale.
        let slow = ClockMode::Scaled(0.5);
        assert_eq!(sim_at(slow, Pace::CatchUp, 10, 1_000, 100.0), 60);
    }

    #[test]
    fn switching_pace_neither_jumps_nor_goes_back() {
        let c = Clock::new(ClockMode::Scaled(1000.0));
        // An hour ahead of the wall clock, as after a busy stretch at 1000×.
        c.advance(3_600_000);
        let before = c.now_ms();
        c.set_pace(Pace::CatchUp);
        let a = c.now_ms();
        let b = c.now_ms();
        assert!(a >= before, "no step back: {before} → {a}");
        // At 1000× even a microsecond would show; caught-up time stands still.
        assert_eq!(a, b);
        assert!(a - before < 600_000, "no jump: {before} → {a}");
        // Manual advances still move it.
        c.advance(5_000);
        assert_eq!(c.now_ms(), a + 5_000);
        c.set_pace(Pace::Scaled);
        assert!(c.now_ms() >= a + 5_000);
    }
}
