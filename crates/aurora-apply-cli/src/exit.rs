//! Exit codes: a public contract (docs/cli.md, design cli-and-engine.md). Every command
//! returns one of these; the only `process::exit` is a second Ctrl-C (`interrupt.rs`).

/// The process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // later commands (plan, apply, …) use the other codes
pub enum Exit {
    /// 0: success (for plan/status: no changes, or changes without `--detailed-exitcode`).
    Success,
    /// 1: error: network, auth, scheduler error, internal, I/O on output.
    Error,
    /// 2: changes present (`plan`/`status --detailed-exitcode`).
    Changes,
    /// 3: invalid input (parse, schema, rules); nothing was changed.
    Invalid,
    /// 4: conflict or stale plan.
    Conflict,
    /// 5: a rollout failed and was rolled back.
    RolledBack,
    /// 6: failed or partial.
    Partial,
    /// 7: timed out waiting; the update is still running.
    TimedOut,
    /// 8: refused by a safety rail.
    Refused,
    /// 130: interrupted.
    Interrupted,
}

impl Exit {
    /// The numeric code.
    pub fn as_u8(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Changes => 2,
            Exit::Invalid => 3,
            Exit::Conflict => 4,
            Exit::RolledBack => 5,
            Exit::Partial => 6,
            Exit::TimedOut => 7,
            Exit::Refused => 8,
            Exit::Interrupted => 130,
        }
    }
}
