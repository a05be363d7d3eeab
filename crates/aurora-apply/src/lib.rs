//! The aurora-apply engine: make a live Aurora scheduler match a set of job specs.
//!
//! Stages, each its own module: [`normalize`] (the scheduler's populate rules, locally),
//! [`compare`] (what differs, in spec terms), [`plan`] (the plan as data), and the stages
//! that talk to the scheduler through `aurora_api`'s client; [`rollout`] walks a plan's
//! stages cluster group by cluster group (halt, soak). No terminal I/O and no process
//! exit here: the CLI renders plans and events and picks exit codes.

pub mod clock;
pub mod compare;
pub mod desired;
pub mod error;
pub mod events;
pub mod execute;
pub mod import;
pub mod instances;
/// `cluster/role/environment/name` (the type lives beside the Thrift types, shared with the
/// spec loader).
pub use aurora_api::key;
pub mod live;
pub mod marker;
pub mod normalize;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod planner;
pub mod planning;
pub mod pool;
pub mod rails;
pub mod ranges;
pub mod restart;
pub mod rollout;
pub mod starting;
pub mod status;
pub mod target;
pub mod updates;
pub mod waiting;
