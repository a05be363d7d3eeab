//! Job updates (Aurora's `updater` package): the RPCs that start and steer an update
//! (`controller`, Aurora `JobUpdateControllerImpl`), the update statuses and their allowed
//! transitions (`state_machine`, Aurora `JobUpdateStateMachine`), and the evaluation that moves
//! an active update's instances towards their targets as tasks change and time passes
//! (`evaluation`, Aurora `OneWayJobUpdater` / `InstanceUpdater`).

mod controller;
mod evaluation;
mod state_machine;

pub use controller::Control;
pub use evaluation::effective_strategy;
pub use state_machine::{status_name, transition_allowed};
