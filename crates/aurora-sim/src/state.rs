//! The emulator's state: tasks, cron templates and job updates, with the emulator's own
//! bookkeeping next to each Thrift struct. Serialised to the JSON state file with every Thrift
//! struct stored as base64 of its Thrift binary encoding (`aurora_thrift::wire::encode_struct`),
//! so nothing is lost and the JSON stays small.

use std::collections::BTreeMap;
use std::path::Path;

use aurora_thrift::types::{
    JobConfiguration, JobKey, JobUpdateDetails, JobUpdateSettings, JobUpdateStatus, ScheduleStatus,
    ScheduledTask, TaskConfig,
};
use serde::{Deserialize, Serialize};

/// Version of the state file format.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// Serde adapter: a Thrift struct as base64 of its binary encoding.
pub mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};
    use thrift::protocol::TSerializable;

    /// Writes `value` as base64 text.
    pub fn serialize<T: TSerializable, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(aurora_thrift::wire::encode_struct(value)))
    }

    /// Reads a value written by [`serialize`].
    pub fn deserialize<'de, T: TSerializable, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        // The generated union readers panic on an empty union; a damaged file is an error.
        std::panic::catch_unwind(|| aurora_thrift::wire::decode_struct::<T>(&bytes))
            .unwrap_or_else(|_| {
                Err(aurora_thrift::wire::WireError::Protocol(
                    "a union without a value".to_string(),
                ))
            })
            .map_err(serde::de::Error::custom)
    }
}

/// A task plus what the simulation needs to move it along.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimTask {
    /// The task as the API shows it.
    #[serde(with = "b64")]
    pub task: ScheduledTask,
    /// When the next automatic transition happens (simulated ms); `None` = waits.
    pub due_ms: Option<i64>,
    /// When it reached RUNNING.
    pub running_since: Option<i64>,
    /// Why it is still PENDING (getPendingReason), if resources are short.
    pub pending_reason: Option<String>,
    /// Order of creation (for "most recent" questions).
    pub seq: u64,
    /// Consecutive flapping reschedules leading to this task (throttling penalty).
    #[serde(default)]
    pub flaps: u32,
}

impl SimTask {
    /// Current status.
    pub fn status(&self) -> ScheduleStatus {
        self.task.status.unwrap_or(ScheduleStatus::INIT)
    }
    /// Instance id.
    pub fn instance(&self) -> i32 {
        self.task
            .assigned_task
            .as_ref()
            .and_then(|a| a.instance_id)
            .unwrap_or(-1)
    }
    /// The task's config.
    pub fn config(&self) -> Option<&TaskConfig> {
        self.task
            .assigned_task
            .as_ref()
            .and_then(|a| a.task.as_ref())
    }
    /// The task's job key.
    pub fn job(&self) -> Option<&JobKey> {
        self.config().and_then(|c| c.job.as_ref())
    }
    /// Task id.
    pub fn id(&self) -> &str {
        self.task
            .assigned_task
            .as_ref()
            .and_then(|a| a.task_id.as_deref())
            .unwrap_or("")
    }
    /// Time of the latest event.
    pub fn last_event_ms(&self) -> i64 {
        self.task
            .task_events
            .as_ref()
            .and_then(|e| e.last())
            .and_then(|e| e.timestamp)
            .unwrap_or(0)
    }
}

/// A cron job's stored template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CronJob {
    /// The populated template.
    #[serde(with = "b64")]
    pub config: JobConfiguration,
    /// When it was (re)scheduled.
    pub scheduled_ms: i64,
    /// The next run the cron scheduler will start (GMT, `-cron_timezone` default).
    #[serde(default)]
    pub next_run_ms: Option<i64>,
}

/// Where one instance of an update stands (Aurora `InstanceUpdater` outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstPhase {
    /// Not started yet.
    Idle,
    /// Being changed.
    Working,
    /// In its target state.
    Succeeded,
    /// Gave up (too many failures).
    Failed,
}

/// Progress of one instance within an update.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstProgress {
    /// Phase.
    pub phase: InstPhase,
    /// Failures observed for the target config during this update direction.
    pub failures: i32,
}

/// A job update plus the updater's runtime state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateRec {
    /// Summary, instructions and events as the API shows them.
    #[serde(with = "b64")]
    pub details: JobUpdateDetails,
    /// Last pulse (0 = never), for coordinated updates.
    pub last_pulse_ms: i64,
    /// Per-instance progress in the current direction.
    pub insts: BTreeMap<i32, InstProgress>,
    /// Batch number in the current direction (batch strategies).
    pub batch_no: usize,
    /// Instances of the current batch.
    pub batch: Vec<i32>,
    /// The batch after which the update was last auto-paused.
    pub autopaused_after: Option<usize>,
    /// When the updater must look again (minimum time in RUNNING, pulse timeout).
    pub wake_ms: Option<i64>,
    /// Order of creation.
    pub seq: u64,
}

impl UpdateRec {
    /// Current status.
    pub fn status(&self) -> JobUpdateStatus {
        self.details
            .update
            .as_ref()
            .and_then(|u| u.summary.as_ref())
            .and_then(|s| s.state.as_ref())
            .and_then(|s| s.status)
            .unwrap_or(JobUpdateStatus::ERROR)
    }
    /// The update id.
    pub fn id(&self) -> &str {
        self.details
            .update
            .as_ref()
            .and_then(|u| u.summary.as_ref())
            .and_then(|s| s.key.as_ref())
            .and_then(|k| k.id.as_deref())
            .unwrap_or("")
    }
    /// The job.
    pub fn job(&self) -> Option<&JobKey> {
        self.details
            .update
            .as_ref()
            .and_then(|u| u.summary.as_ref())
            .and_then(|s| s.key.as_ref())
            .and_then(|k| k.job.as_ref())
    }
    /// Settings.
    pub fn settings(&self) -> JobUpdateSettings {
        self.details
            .update
            .as_ref()
            .and_then(|u| u.instructions.as_ref())
            .and_then(|i| i.settings.clone())
            .unwrap_or_default()
    }
    /// Last modification time.
    pub fn last_modified_ms(&self) -> i64 {
        self.details
            .update
            .as_ref()
            .and_then(|u| u.summary.as_ref())
            .and_then(|s| s.state.as_ref())
            .and_then(|s| s.last_modified_timestamp_ms)
            .unwrap_or(0)
    }
}

/// Whole emulator state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// File format version.
    pub version: u32,
    /// Tasks by id.
    pub tasks: BTreeMap<String, SimTask>,
    /// Cron templates by `role/env/name`.
    pub crons: BTreeMap<String, CronJob>,
    /// All updates, oldest first.
    pub updates: Vec<UpdateRec>,
    /// Id counter.
    pub seq: u64,
    /// Simulated time the state was last advanced to.
    pub now_ms: i64,
}

/// Reading or writing the state file failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O.
    #[error("state file {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not a state file of this version.
    #[error("state file {path} is not valid: {message}")]
    Format {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
}

impl State {
    /// Loads a state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: STATE_FORMAT_VERSION,
                    ..State::default()
                });
            }
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| StateError::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if state.version != STATE_FORMAT_VERSION {
            return Err(StateError::Format {
                path: path.display().to_string(),
                message: format!("unsupported version {}", state.version),
            });
        }
        Ok(state)
    }

    /// Serialises the state.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Writes the state atomically: temporary file in the same directory, fsync, rename,
    /// fsync of the directory. A crash leaves either the old or the new file.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        write_atomic(path, &self.to_json()).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// A fresh id number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, fsync, rename,
/// then fsync of the directory. A crash leaves either the old or the new file.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "state".to_string());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
