//! End-to-end: the real `aurora-apply` binary against the scheduler emulator over real HTTP
//! on loopback. One test binary; a module per area.

mod adoption;
mod command_line;
mod convert;
mod harness;
mod import;
mod lifecycle;
#[path = "../support/local_world.rs"]
mod local_world;
mod operations;
mod ownership;
mod pty;
mod safety;
mod seed;
mod staged_rollout;
mod targeting;
mod targets_in_specs;
mod terminal;
mod tls;
mod variables;
