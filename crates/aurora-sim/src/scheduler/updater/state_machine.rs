//! Update statuses (Aurora `JobUpdateStateMachine`): which transitions are allowed, and how a
//! status change is recorded.

use aurora_thrift::types::{JobUpdateEvent, JobUpdateStatus};

use crate::engine::{Core, update_active};
use crate::state::{InstPhase, InstProgress};

/// `JobUpdateStateMachine`'s allowed transitions (reference §1.6).
pub fn transition_allowed(from: JobUpdateStatus, to: JobUpdateStatus) -> bool {
    use JobUpdateStatus as S;
    let allowed: &[S] = match from {
        S::ROLLING_FORWARD => &[
            S::ROLLING_BACK,
            S::ROLL_FORWARD_PAUSED,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLLED_FORWARD,
            S::ABORTED,
            S::FAILED,
            S::ERROR,
        ],
        S::ROLLING_BACK => &[
            S::ROLL_BACK_PAUSED,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ROLLED_BACK,
            S::ABORTED,
            S::ERROR,
            S::FAILED,
        ],
        S::ROLL_FORWARD_PAUSED => &[
            S::ROLLING_BACK,
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_BACK_PAUSED => &[
            S::ROLLING_BACK,
            S::ROLL_BACK_AWAITING_PULSE,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_FORWARD_AWAITING_PULSE => &[
            S::ROLLING_BACK,
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_PAUSED,
            S::ABORTED,
            S::ERROR,
        ],
        S::ROLL_BACK_AWAITING_PULSE => {
            &[S::ROLLING_BACK, S::ROLL_BACK_PAUSED, S::ABORTED, S::ERROR]
        }
        _ => &[],
    };
    allowed.contains(&to)
}

/// Name of an update status for messages.
pub fn status_name(s: JobUpdateStatus) -> String {
    s.name()
        .map(str::to_string)
        .unwrap_or_else(|| s.0.to_string())
}

impl Core {
    /// Records a status change of update `idx` with an event (Aurora
    /// `changeJobUpdateStatus`); the same status is a no-op.
    pub fn change_update_status(
        &mut self,
        idx: usize,
        status: JobUpdateStatus,
        user: Option<String>,
        message: Option<String>,
    ) {
        let now = self.now();
        let Some(u) = self.state.updates.get_mut(idx) else {
            return;
        };
        if u.status() == status {
            return;
        }
        let rolling_back_now = status == JobUpdateStatus::ROLLING_BACK
            && u.status() != JobUpdateStatus::ROLL_BACK_PAUSED
            && u.status() != JobUpdateStatus::ROLL_BACK_AWAITING_PULSE;
        if let Some(state) = u
            .details
            .update
            .as_mut()
            .and_then(|x| x.summary.as_mut())
            .and_then(|s| s.state.as_mut())
        {
            state.status = Some(status);
            state.last_modified_timestamp_ms = Some(now);
        }
        u.details
            .update_events
            .get_or_insert_with(Vec::new)
            .push(JobUpdateEvent {
                status: Some(status),
                timestamp_ms: Some(now),
                user,
                message,
            });
        if rolling_back_now {
            // The rollback is a new one-way updater over the reversed instructions.
            for p in u.insts.values_mut() {
                *p = InstProgress {
                    phase: InstPhase::Idle,
                    failures: 0,
                };
            }
            u.batch_no = 0;
            u.batch.clear();
            u.autopaused_after = None;
        }
        // A new state is a reason to look again (a resumed update, a rollback).
        u.wake_ms = None;
        if update_active(status) {
            self.active_updates.insert(idx);
        } else {
            self.active_updates.remove(&idx);
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_state_machine() {
        use JobUpdateStatus as S;
        assert!(transition_allowed(
            S::ROLLING_FORWARD,
            S::ROLL_FORWARD_PAUSED
        ));
        assert!(!transition_allowed(
            S::ROLLED_FORWARD,
            S::ROLL_FORWARD_PAUSED
        ));
        assert!(!transition_allowed(S::ROLL_BACK_PAUSED, S::ROLLING_FORWARD));
        assert!(transition_allowed(
            S::ROLL_FORWARD_AWAITING_PULSE,
            S::ROLLING_FORWARD
        ));
    }
}
