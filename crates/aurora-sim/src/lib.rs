//! `aurora-sim`: an emulator of Apache Aurora 0.22's scheduler behind its real API — Thrift
//! binary over HTTP `POST /api` — for trying specs and running CI dry runs without a cluster.
//!
//! # Overview
//!
//! - [`Sim::start`] takes a [`SimConfig`] (the scheduler flags that change behaviour, plus the
//!   emulator's clock, timings, faults and files) and returns a [`SimHandle`] serving on
//!   [`SimHandle::url`].
//! - The handle controls the emulator in-process: simulated time ([`SimHandle::advance`]),
//!   faults ([`SimHandle::set_faults`]), the call log ([`SimHandle::calls`]) and shutdown.
//!   The same controls are reachable over HTTP under `/sim/` (see `docs/emulator.md`).
//! - Behaviour follows the scheduler rule by rule (validation and population, RPC semantics,
//!   the job update state machine); each rule names its source in a comment.
//! - It depends on the Thrift bindings (`aurora-thrift`) only, never on the client
//!   (`aurora-api`): its HTTP server is plain `std::net`, so it compiles no HTTP client, TLS or
//!   ZooKeeper.
//!
//! ```no_run
//! use aurora_sim::{Sim, SimConfig};
//! let sim = Sim::start(SimConfig::for_tests()).expect("starts");
//! let api = format!("{}/api", sim.url());
//! # let _ = api;
//! sim.advance(std::time::Duration::from_secs(5));
//! sim.shutdown();
//! ```

#![deny(missing_docs)]

mod clock;
mod config;
mod cron;
mod engine;
mod faults;
pub mod flags;
mod http;
mod scheduler;
mod server;
mod shape;
mod state;
pub mod tjson;
mod validate;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{
    ClockMode, ConfigError, CustomExecutor, Resources, SimConfig, Tier, TierConfig, Timings,
    parse_custom_executors, parse_tier_config,
};
pub use cron::Crontab;
pub use faults::{CallRecord, FaultPatch, FaultSettings};
pub use scheduler::{FAIL_AFTER_KEY, FAIL_INSTANCES_KEY, FINISH_AFTER_KEY};
pub use server::Activity;
pub use state::{State, StateError};

use crate::clock::Clock;
use crate::engine::Core;
use crate::server::Shared;

/// Starting or persisting an emulator failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The state file cannot be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The call log cannot be opened.
    #[error("cannot open call log {path}: {source}")]
    CallLog {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Another emulator (e.g. a concurrent CLI run on the same `sim://PATH`) holds the
    /// state file.
    #[error("state file {path} is in use by another emulator")]
    StateInUse {
        /// The state file.
        path: String,
    },
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Entry point: starts emulators.
#[derive(Debug, Clone, Copy)]
pub struct Sim;

impl Sim {
    /// Starts an emulator: loads the state file (if any), binds `config.listen` (port 0 picks
    /// a free port) and serves until [`SimHandle::shutdown`] or drop.
    pub fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        if let Err(e) = regex::Regex::new(&config.allowed_job_environments) {
            return Err(ConfigError::Pattern(e.to_string()).into());
        }
        // One emulator per state file: an exclusive lock on `<file>.lock` for the handle's
        // lifetime (released by the OS even if the process dies).
        let state_lock = match &config.state_file {
            Some(p) => Some(lock_state_file(p)?),
            None => None,
        };
        let state = match &config.state_file {
            Some(p) => State::load(p)?,
            None => State {
                version: state::STATE_FORMAT_VERSION,
                ..State::default()
            },
        };
        let call_log = match &config.call_log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| SimError::CallLog {
                        path: p.display().to_string(),
                        source,
                    })?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(config.listen).map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let clock = Clock::new(config.clock);
        if config.catch_up_when_idle {
            // Until the state says something is in motion: a restart must not add a lead.
            clock.set_pace(clock::Pace::CatchUp);
        }
        // A state file written by a clock that ran ahead keeps time monotonic.
        clock.at_least(state.now_ms);
        let cfg = Arc::new(config);
        let mut core = Core::new(Arc::clone(&cfg), state);
        core.advance_to(clock.now_ms());
        let shared = Arc::new(Shared::new(cfg, clock, core, call_log));
        // The pace follows what is in motion from the first moment (see `clock`).
        shared.with_core(|_| ());
        let accept = server::serve(listener, Arc::clone(&shared));
        Ok(SimHandle {
            shared,
            addr,
            accept: Some(accept),
            _state_lock: state_lock,
        })
    }
}

/// A running emulator. Dropping it shuts it down.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
    _state_lock: Option<std::fs::File>,
}

fn lock_state_file(path: &std::path::Path) -> Result<std::fs::File, SimError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    let io = |source| {
        SimError::State(StateError::Io {
            path: lock_path.display().to_string(),
            source,
        })
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SimError::StateInUse {
            path: path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:40123` (the API is at `<url>/api`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Moves simulated time forward and replays everything that falls due.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.shared.clock.advance(ms);
        self.shared.with_core(|_| ());
    }

    /// Simulated now (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.shared.with_core(|c| c.now())
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: FaultSettings) {
        *self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Changes some fault settings.
    pub fn patch_faults(&self, patch: FaultPatch) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .apply(patch);
    }

    /// Current fault settings (counters as they are now).
    pub fn faults(&self) -> FaultSettings {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every `/api` call so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the call log (the file keeps its lines) and the most calls seen at once.
    pub fn clear_calls(&self) {
        self.shared
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.shared
            .most_calls_in_flight
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// The most `/api` calls answered at once since the emulator started or the call log was
    /// last cleared.
    pub fn most_calls_in_flight(&self) -> usize {
        self.shared
            .most_calls_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A copy of the whole state.
    pub fn state(&self) -> State {
        self.shared.with_core(|c| c.state.clone())
    }

    /// Triggers a cron run now (`role/env/name`), as the cron scheduler would; false if no
    /// such cron job.
    pub fn run_cron(&self, job: &str) -> bool {
        self.shared.with_core(|c| c.run_cron(job))
    }

    /// Writes the state file now (no-op without one).
    pub fn save(&self) -> Result<(), SimError> {
        let state = self.shared.with_core(|c| c.state.clone());
        if let Some(p) = &self.shared.cfg.state_file {
            state.save(p)?;
        }
        Ok(())
    }

    /// Blocks until `POST /sim/shutdown` asks the emulator to stop (the binary's main loop).
    pub fn wait(&self) {
        let (flag, cv) = &self.shared.stop_requested;
        let mut stop = flag.lock().unwrap_or_else(|e| e.into_inner());
        while !*stop {
            stop = cv.wait(stop).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Like [`SimHandle::wait`], for at most `timeout`: true once a stop was asked for. A
    /// host that also stops for other reasons (a shared emulator idling out) loops on it.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let (flag, cv) = &self.shared.stop_requested;
        let mut stop = flag.lock().unwrap_or_else(|e| e.into_inner());
        while !*stop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            stop = cv
                .wait_timeout(stop, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *stop
    }

    /// What the emulator is doing — calls in flight, time since the last call, updates
    /// rolling by themselves — with the state brought up to the clock's time (and written
    /// when that changed it). A shared emulator polls this to decide when to stop itself
    /// ([`Activity::is_idle_for`]) and, by polling, keeps its state file current while no
    /// client calls.
    pub fn activity(&self) -> Activity {
        self.shared.activity()
    }

    /// Marks the emulator as in use now, as an `/api` call does (`POST /sim/touch`).
    pub fn touch(&self) {
        self.shared.touch();
    }

    /// Stops serving, waits for the accept loop and writes the state file.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            self.shared.shutdown.store(true, Ordering::SeqCst);
            server::wake(self.addr);
            let _ = accept.join();
            if let Err(e) = self.save() {
                tracing::error!("{e}");
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
