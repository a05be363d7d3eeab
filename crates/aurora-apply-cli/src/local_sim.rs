//! The shared local cluster behind `sim://PATH`: one detached emulator process per state
//! file, found and used over HTTP by every aurora-apply process, so one terminal can follow
//! an apply while another pauses it, and an update started with `--no-wait` finishes while
//! no command runs.
//!
//! # Files, next to the state file `F` (`PATH/state.json`, or `PATH` when it ends in `.json`)
//!
//! | file | what |
//! | --- | --- |
//! | `F` | the emulator's state (aurora-sim's format, written after every change) |
//! | `F.lock` | held by the running emulator (aurora-sim's own lock): the liveness test |
//! | `<stem>.daemon.json` | the address file: [`Address`] (pid, URL, flags, start time…) |
//! | `<stem>.daemon.lock` | the start lock: held while a command finds, starts or stops the emulator, and by the emulator while it stops itself |
//! | `<stem>.daemon.log` | the emulator's stderr (start, stop, errors) |
//!
//! # Protocol
//!
//! - **Attach** ([`LocalSim::attach_or_start`]): take the start lock; if the address file
//!   names an emulator that answers `POST /sim/touch` as itself (same pid, same state file),
//!   use it — the touch restarts its idle time, so it cannot stop itself under us. Otherwise
//!   the file is stale: when `F.lock` is free the process is gone, so remove the file and start
//!   a new emulator; when `F.lock` is held, the emulator lives but does not answer — an error
//!   naming its pid. Two commands starting at once queue on the lock: the second finds the
//!   first one's emulator, so there is always one.
//! - **Start**: re-run the current executable as `aurora-apply sim serve --state F
//!   --idle-exit D -- FLAGS…`, detached (stdin and stdout null, stderr to the log, its own
//!   process group so a Ctrl-C in the terminal does not reach it, working directory the state
//!   folder), and poll — with a deadline — until it has written the address file with its pid
//!   and answers there. If it exits first, its log says why.
//! - **Idle exit** ([`serve`]): the emulator stops itself when no `/api` call (or touch) has
//!   come for the idle time (`sim_idle_exit`, default [`DEFAULT_IDLE_EXIT`]), none is in
//!   flight, and no update rolls by itself (rolling forward or back with something due; paused
//!   and pulse-blocked updates wait for a person and do not count). It re-checks under the
//!   start lock, removes the address file, writes its state and exits.
//! - **Stop** ([`LocalSim::stop`]): under the start lock, `POST /sim/shutdown`, then poll until
//!   `F.lock` is free (the state is written) and the address file is gone.
//! - **Other settings**: the address file records the emulator's flags and version. A command
//!   whose cluster entry asks for other flags (or another aurora-apply version) still uses the
//!   running emulator and warns; the new settings apply once it has stopped.

#![cfg(feature = "sim")]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long an emulator waits without calls before it stops itself (minutes, so a person
/// switching terminals finds it still running; tests set `sim_idle_exit` shorter).
pub const DEFAULT_IDLE_EXIT: Duration = Duration::from_secs(10 * 60);

/// Version of the address file format.
const ADDRESS_VERSION: u32 = 1;
/// Longest wait for the start lock (another command may be starting or stopping the emulator).
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// Longest wait for a new emulator to answer (it loads its state first).
const START_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for an emulator to write its state and exit.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// Connect, read and write timeout of one admin HTTP request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Poll interval while waiting for a lock, a start or a stop.
const POLL: Duration = Duration::from_millis(10);
/// A log larger than this is started afresh when a new emulator starts.
const MAX_LOG_BYTES: u64 = 1024 * 1024;

/// Finding, starting or stopping a local emulator failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalSimError {
    /// A file of the emulator could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Waited too long for the start lock, a starting or a stopping emulator.
    #[error("gave up after {}s waiting for {what}", waited.as_secs())]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
    /// The new emulator exited before it answered.
    #[error("the emulator exited at start ({status}); {}:\n{tail}", log.display())]
    Start {
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The end of the log.
        tail: String,
    },
    /// An emulator holds the state file but does not answer at its address.
    #[error(
        "the emulator (pid {pid}) holds {} but does not answer at {url}; stop it (`kill {pid}`) and try again",
        state.display()
    )]
    Unresponsive {
        /// Its pid.
        pid: u32,
        /// The address it recorded.
        url: String,
        /// The state file.
        state: PathBuf,
    },
    /// The emulator could not be configured or started (`sim serve`).
    #[error("{0}")]
    Emulator(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LocalSimError + '_ {
    move |source| LocalSimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The files of one local emulator (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFiles {
    /// The state file.
    pub state: PathBuf,
    /// The folder holding every file below.
    pub dir: PathBuf,
    /// The address file.
    pub address: PathBuf,
    /// The start lock.
    pub lock: PathBuf,
    /// The emulator's log.
    pub log: PathBuf,
    /// aurora-sim's own lock on the state file, held while an emulator runs.
    pub state_lock: PathBuf,
}

impl SimFiles {
    /// The files of `sim://PATH` for an absolute `path`: a `.json` file is the state file,
    /// anything else a folder holding `state.json`.
    pub fn for_sim_path(path: &Path) -> Self {
        if path.extension().is_some_and(|e| e == "json") {
            SimFiles::for_state(path.to_path_buf())
        } else {
            SimFiles::for_state(path.join("state.json"))
        }
    }

    /// The files around the state file `state` (absolute).
    pub fn for_state(state: PathBuf) -> Self {
        let dir = state.parent().map(Path::to_path_buf).unwrap_or_default();
        let stem = state
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_string());
        let mut state_lock = state.as_os_str().to_owned();
        state_lock.push(".lock");
        SimFiles {
            address: dir.join(format!("{stem}.daemon.json")),
            lock: dir.join(format!("{stem}.daemon.lock")),
            log: dir.join(format!("{stem}.daemon.log")),
            state_lock: PathBuf::from(state_lock),
            dir,
            state,
        }
    }
}

/// The address file: where a running emulator answers and how it was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Format version ([`ADDRESS_VERSION`]).
    pub version: u32,
    /// The emulator's process id.
    pub pid: u32,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its state file.
    pub state_file: PathBuf,
    /// When it started (wall clock, ms since the epoch).
    pub started_at_ms: i64,
    /// Its idle time before it stops itself, in ms.
    pub idle_exit_ms: u64,
    /// The emulator flags it was started with.
    pub flags: Vec<String>,
    /// The aurora-apply version that started it.
    pub tool_version: String,
}

/// What an emulator says about itself (`GET /sim/activity`, aurora-sim's `Activity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Probe {
    /// Its process id.
    pub pid: u32,
    /// Its state file.
    pub state_file: Option<String>,
    /// Simulated now (ms since the epoch).
    pub now_ms: i64,
    /// Its wall clock (ms since the epoch).
    pub wall_ms: i64,
    /// Time since it started, in ms.
    pub uptime_ms: u64,
    /// Time since the last call, in ms.
    pub idle_ms: u64,
    /// Calls being answered.
    pub calls_in_flight: usize,
    /// Updates rolling by themselves.
    pub rolling_updates: usize,
}

/// A running emulator found (or started) for a command.
#[derive(Debug, Clone)]
pub struct Running {
    /// Its address file.
    pub address: Address,
    /// What it said when asked.
    pub probe: Probe,
    /// Why it may not be what the command expects (other flags, another version).
    pub warnings: Vec<String>,
}

/// Whether an emulator runs, for `sim status`.
#[derive(Debug, Clone)]
pub enum RunState {
    /// No address file.
    NotRunning,
    /// An address file whose emulator is gone (it is replaced at the next start).
    Stale {
        /// The pid it names, when readable.
        pid: Option<u32>,
    },
    /// The emulator holds the state file but does not answer.
    Unresponsive(Address),
    /// Running and answering.
    Running(Box<Running>),
}

/// The outcome of [`LocalSim::stop`].
#[derive(Debug, Clone)]
pub enum Stopped {
    /// Nothing was running (a stale address file is removed).
    NotRunning,
    /// This emulator was stopped and its state written.
    Stopped(Address),
}

/// One local emulator: its files, and how a command wants it started.
#[derive(Debug, Clone)]
pub struct LocalSim {
    /// Its files.
    pub files: SimFiles,
    /// The emulator flags to start it with (`None`: not known, for `sim status|stop
    /// --state`; nothing is started then and nothing compared).
    pub flags: Option<Vec<String>>,
    /// Idle time before it stops itself.
    pub idle_exit: Duration,
}

enum AddressRead {
    Missing,
    Garbled,
    Valid(Address),
}

fn read_address(path: &Path) -> Result<AddressRead, LocalSimError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(match serde_json::from_str::<Address>(&text) {
            Ok(a) if a.version == ADDRESS_VERSION => AddressRead::Valid(a),
            _ => AddressRead::Garbled,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AddressRead::Missing),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes the address file atomically (temporary file, rename), so a reader never sees half.
fn write_address(path: &Path, address: &Address) -> Result<(), LocalSimError> {
    let text = serde_json::to_string_pretty(address)
        .map_err(|e| LocalSimError::Emulator(e.to_string()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text + "\n").map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Removes the address file if it still names `pid` (a newer emulator's file stays).
fn remove_address_of(path: &Path, pid: u32) {
    if let Ok(AddressRead::Valid(a)) = read_address(path)
        && a.pid == pid
    {
        let _ = std::fs::remove_file(path);
    }
}

fn remove_file(path: &Path) -> Result<(), LocalSimError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn open_lock(path: &Path) -> Result<File, LocalSimError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err(path))
}

/// The start lock, if nobody holds it right now.
fn try_lock_now(path: &Path) -> Result<Option<File>, LocalSimError> {
    let file = open_lock(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(path)(e)),
    }
}

/// The start lock, waiting (polling, with a deadline) while another command holds it.
fn lock_within(path: &Path, wait: Duration) -> Result<File, LocalSimError> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(file) = try_lock_now(path)? {
            return Ok(file);
        }
        if Instant::now() >= deadline {
            return Err(LocalSimError::Timeout {
                what: format!(
                    "the lock {} (another aurora-apply starting or stopping this emulator?)",
                    path.display()
                ),
                waited: wait,
            });
        }
        std::thread::sleep(POLL);
    }
}

/// Whether a live emulator holds the state file (the OS drops the lock when a process dies,
/// so this is the test of "gone" that a reused pid cannot fool).
fn state_held(files: &SimFiles) -> Result<bool, LocalSimError> {
    let file = match OpenOptions::new().write(true).open(&files.state_lock) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(&files.state_lock)(e)),
    };
    match file.try_lock() {
        // Dropping the file releases it at once.
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&files.state_lock)(e)),
    }
}

/// One admin request to an emulator (`http://127.0.0.1:PORT`): status and body. The
/// emulator answers one request per connection and closes it, so the reply is read to the end.
fn http(url: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let host = url
        .strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let addr: SocketAddr = host.parse().map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{host}: {e}"))
    })?;
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    stream.flush()?;
    let mut reply = Vec::new();
    stream.take(8 * 1024 * 1024).read_to_end(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP reply");
    let (head, body) = reply.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_string()))
}

/// Asks the emulator of `address` about itself (`touch` also restarts its idle time) and
/// checks that it is that emulator: same pid, same state file.
fn probe(address: &Address, touch: bool) -> Result<Probe, String> {
    let (method, path) = if touch {
        ("POST", "/sim/touch")
    } else {
        ("GET", "/sim/activity")
    };
    let (status, body) = http(&address.url, method, path).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{} answered HTTP {status}", address.url));
    }
    let probe: Probe = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let same_state = probe
        .state_file
        .as_deref()
        .is_some_and(|s| Path::new(s) == address.state_file);
    if probe.pid != address.pid || !same_state {
        return Err(format!(
            "{} is another emulator (pid {}, state {:?})",
            address.url, probe.pid, probe.state_file
        ));
    }
    Ok(probe)
}

/// Wall-clock ms since the epoch.
fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The last lines of the log (why a start failed).
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

impl LocalSim {
    /// An emulator with these files, started (when it must be) with `flags`.
    pub fn new(files: SimFiles, flags: Option<Vec<String>>, idle_exit: Duration) -> Self {
        LocalSim {
            files,
            flags,
            idle_exit,
        }
    }

    fn running(&self, address: Address, probe: Probe) -> Running {
        let mut warnings = Vec::new();
        if let Some(flags) = &self.flags
            && *flags != address.flags
        {
            warnings.push(format!(
                "the running emulator (pid {}) was started with other settings ({}) than this cluster entry asks for ({}); it keeps them until it stops (`aurora-apply sim stop`)",
                address.pid,
                address.flags.join(" "),
                flags.join(" ")
            ));
        }
        if address.tool_version != env!("CARGO_PKG_VERSION") {
            warnings.push(format!(
                "the running emulator (pid {}) was started by aurora-apply {}; this is {} (`aurora-apply sim stop` to restart it)",
                address.pid,
                address.tool_version,
                env!("CARGO_PKG_VERSION")
            ));
        }
        Running {
            address,
            probe,
            warnings,
        }
    }

    /// With the start lock held: the emulator of the address file if it answers (touched, so
    /// it stays up); a stale file is removed; a live but silent emulator is an error.
    fn attach_locked(&self) -> Result<Option<Running>, LocalSimError> {
        let address = match read_address(&self.files.address)? {
            AddressRead::Missing => return Ok(None),
            AddressRead::Garbled => None,
            AddressRead::Valid(a) => Some(a),
        };
        if let Some(address) = &address
            && let Ok(probe) = probe(address, true)
        {
            return Ok(Some(self.running(address.clone(), probe)));
        }
        if state_held(&self.files)? {
            if let Some(address) = address {
                return Err(LocalSimError::Unresponsive {
                    pid: address.pid,
                    url: address.url,
                    state: self.files.state.clone(),
                });
            }
            // A garbled file and a held state: whoever holds it did not write this file;
            // leave both alone and let the start report the conflict.
            return Ok(None);
        }
        remove_file(&self.files.address)?;
        Ok(None)
    }

    /// The running emulator, if there is one, without creating anything when there is none
    /// (read-only commands on a cluster without state).
    pub fn find_running(&self) -> Result<Option<Running>, LocalSimError> {
        if !self.files.address.exists() {
            return Ok(None);
        }
        let _lock = lock_within(&self.files.lock, LOCK_WAIT)?;
        self.attach_locked()
    }

    /// The running emulator, started first when there is none (creating the state folder).
    pub fn attach_or_start(&self) -> Result<Running, LocalSimError> {
        std::fs::create_dir_all(&self.files.dir).map_err(io_err(&self.files.dir))?;
        let _lock = lock_within(&self.files.lock, LOCK_WAIT)?;
        if let Some(running) = self.attach_locked()? {
            return Ok(running);
        }
        self.spawn_locked()
    }

    /// With the start lock held: starts a detached emulator and waits until it answers.
    fn spawn_locked(&self) -> Result<Running, LocalSimError> {
        let flags = self.flags.clone().unwrap_or_default();
        let exe = std::env::current_exe()
            .map_err(|e| LocalSimError::Emulator(format!("cannot find this executable: {e}")))?;
        let fresh_log = std::fs::metadata(&self.files.log).is_ok_and(|m| m.len() > MAX_LOG_BYTES);
        let log = OpenOptions::new()
            .create(true)
            .append(!fresh_log)
            .write(true)
            .truncate(fresh_log)
            .open(&self.files.log)
            .map_err(io_err(&self.files.log))?;
        let mut command = Command::new(exe);
        command
            .args(["sim", "serve", "--state"])
            .arg(&self.files.state)
            .arg("--idle-exit")
            .arg(humantime::format_duration(self.idle_exit).to_string())
            .arg("--")
            .args(&flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .current_dir(&self.files.dir);
        #[cfg(unix)]
        {
            // Its own process group: a Ctrl-C in the terminal stops the command, not the
            // emulator every terminal shares.
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command
            .spawn()
            .map_err(|e| LocalSimError::Emulator(format!("cannot start the emulator: {e}")))?;
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Some(status) = child.try_wait().map_err(io_err(&self.files.log))? {
                return Err(LocalSimError::Start {
                    status: status.to_string(),
                    log: self.files.log.clone(),
                    tail: log_tail(&self.files.log),
                });
            }
            if let AddressRead::Valid(address) = read_address(&self.files.address)?
                && address.pid == child.id()
                && let Ok(probe) = probe(&address, true)
            {
                return Ok(self.running(address, probe));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(LocalSimError::Timeout {
                    what: format!("the emulator to answer (log: {})", self.files.log.display()),
                    waited: START_WAIT,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the emulator runs; creates nothing and does not count as a call.
    pub fn status(&self) -> Result<RunState, LocalSimError> {
        let address = match read_address(&self.files.address)? {
            AddressRead::Missing => return Ok(RunState::NotRunning),
            AddressRead::Garbled => return Ok(RunState::Stale { pid: None }),
            AddressRead::Valid(a) => a,
        };
        match probe(&address, false) {
            Ok(probe) => Ok(RunState::Running(Box::new(self.running(address, probe)))),
            Err(_) if state_held(&self.files)? => Ok(RunState::Unresponsive(address)),
            Err(_) => Ok(RunState::Stale {
                pid: Some(address.pid),
            }),
        }
    }

    /// Stops the emulator gracefully (it writes its state) and waits until it has let go of
    /// the state file, so the next command starts a fresh one from the saved state.
    pub fn stop(&self) -> Result<Stopped, LocalSimError> {
        if !self.files.address.exists() {
            return Ok(Stopped::NotRunning);
        }
        let _lock = lock_within(&self.files.lock, LOCK_WAIT)?;
        let address = match read_address(&self.files.address)? {
            AddressRead::Missing => return Ok(Stopped::NotRunning),
            AddressRead::Garbled => None,
            AddressRead::Valid(a) => Some(a),
        };
        let Some(address) = address.filter(|a| probe(a, false).is_ok()) else {
            if state_held(&self.files)? {
                return Err(LocalSimError::Emulator(format!(
                    "an emulator holds {} but does not answer at its address; stop it with `kill`",
                    self.files.state.display()
                )));
            }
            remove_file(&self.files.address)?;
            return Ok(Stopped::NotRunning);
        };
        match http(&address.url, "POST", "/sim/shutdown") {
            Ok((200, _)) => {}
            Ok((status, _)) => {
                return Err(LocalSimError::Emulator(format!(
                    "{} refused to stop (HTTP {status})",
                    address.url
                )));
            }
            Err(e) => return Err(LocalSimError::Emulator(format!("{}: {e}", address.url))),
        }
        let deadline = Instant::now() + STOP_WAIT;
        loop {
            let file_gone = !matches!(
                read_address(&self.files.address)?,
                AddressRead::Valid(ref a) if a.pid == address.pid
            );
            if file_gone && !state_held(&self.files)? {
                return Ok(Stopped::Stopped(address));
            }
            if Instant::now() >= deadline {
                return Err(LocalSimError::Timeout {
                    what: format!("the emulator (pid {}) to stop", address.pid),
                    waited: STOP_WAIT,
                });
            }
            std::thread::sleep(POLL);
        }
    }
}

/// How [`serve`] ended.
#[cfg(feature = "sim")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// `POST /sim/shutdown` (`aurora-apply sim stop`).
    Requested,
    /// Idle for the idle time.
    Idle,
}

#[cfg(feature = "sim")]
fn log_line(message: impl std::fmt::Display) {
    eprintln!(
        "{} aurora-apply sim [{}]: {message}",
        humantime::format_rfc3339_seconds(SystemTime::now()),
        std::process::id()
    );
}

/// The emulator process (`aurora-apply sim serve`): serves the state file `state` until asked
/// to stop or idle for `idle_exit` (see the module docs), then writes its state and returns.
/// The clock catches up with the wall clock while nothing is in motion
/// (`--catch-up-when-idle`, unless `flags` say otherwise), so a long-lived emulator does not
/// drift ahead of the wall clock.
#[cfg(feature = "sim")]
pub fn serve(
    state: &Path,
    idle_exit: Duration,
    flags: &[String],
) -> Result<ServeEnd, LocalSimError> {
    let state = std::path::absolute(state).map_err(io_err(state))?;
    let files = SimFiles::for_state(state.clone());
    let mut all = flags.to_vec();
    if !flags.iter().any(|f| f.contains("catch-up-when-idle")) {
        all.push("--catch-up-when-idle".to_string());
    }
    let mut config = aurora_sim::SimConfig::from_flags(all).map_err(LocalSimError::Emulator)?;
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.state_file = Some(state.clone());
    let sim = aurora_sim::Sim::start(config).map_err(|e| LocalSimError::Emulator(e.to_string()))?;
    let pid = std::process::id();
    let address = Address {
        version: ADDRESS_VERSION,
        pid,
        url: sim.url(),
        state_file: state,
        started_at_ms: wall_ms(),
        idle_exit_ms: u64::try_from(idle_exit.as_millis()).unwrap_or(u64::MAX),
        flags: flags.to_vec(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    if let Err(e) = write_address(&files.address, &address) {
        sim.shutdown();
        return Err(e);
    }
    log_line(format!(
        "serving {} at {}; stops after {} without calls",
        files.state.display(),
        address.url,
        humantime::format_duration(idle_exit)
    ));
    let tick = (idle_exit / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    loop {
        if sim.wait_timeout(tick) {
            remove_address_of(&files.address, pid);
            sim.shutdown();
            log_line("stopped on request; state written");
            return Ok(ServeEnd::Requested);
        }
        // Polling activity also brings the state up to date and writes it, so the state file
        // follows a running update while no command calls.
        if !sim.activity().is_idle_for(idle_exit) {
            continue;
        }
        // Under the start lock, so no command attaches between the check and the exit; a
        // command holding it is about to call, so this is not the moment.
        let Ok(Some(_lock)) = try_lock_now(&files.lock) else {
            continue;
        };
        if sim.activity().is_idle_for(idle_exit) {
            remove_address_of(&files.address, pid);
            sim.shutdown();
            log_line("stopped after the idle time; state written");
            return Ok(ServeEnd::Idle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_sit_beside_the_state_file() {
        let f = SimFiles::for_sim_path(Path::new("/x/.aurora-sim/dev"));
        assert_eq!(f.state, Path::new("/x/.aurora-sim/dev/state.json"));
        assert_eq!(f.address, Path::new("/x/.aurora-sim/dev/state.daemon.json"));
        assert_eq!(f.lock, Path::new("/x/.aurora-sim/dev/state.daemon.lock"));
        assert_eq!(f.log, Path::new("/x/.aurora-sim/dev/state.daemon.log"));
        assert_eq!(
            f.state_lock,
            Path::new("/x/.aurora-sim/dev/state.json.lock")
        );
        let f = SimFiles::for_sim_path(Path::new("/tmp/one.json"));
        assert_eq!(f.state, Path::new("/tmp/one.json"));
        assert_eq!(f.address, Path::new("/tmp/one.daemon.json"));
    }

    #[test]
    fn address_files_round_trip_and_garbage_is_stale() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("state.daemon.json");
        assert!(matches!(read_address(&path), Ok(AddressRead::Missing)));
        let address = Address {
            version: ADDRESS_VERSION,
            pid: 42,
            url: "http://127.0.0.1:1".into(),
            state_file: dir.path().join("state.json"),
            started_at_ms: 1,
            idle_exit_ms: 2,
            flags: vec!["--time-scale=20".into()],
            tool_version: "0".into(),
        };
        write_address(&path, &address).expect("written");
        assert!(matches!(read_address(&path), Ok(AddressRead::Valid(a)) if a == address));
        remove_address_of(&path, 7);
        assert!(path.exists(), "another pid's file stays");
        remove_address_of(&path, 42);
        assert!(!path.exists());
        std::fs::write(&path, "{ half").expect("write");
        assert!(matches!(read_address(&path), Ok(AddressRead::Garbled)));
    }

    #[test]
    fn the_start_lock_is_exclusive_and_a_missing_state_lock_is_free() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = SimFiles::for_sim_path(dir.path());
        let held = lock_within(&files.lock, Duration::from_secs(1)).expect("first");
        assert!(try_lock_now(&files.lock).expect("io").is_none());
        assert!(matches!(
            lock_within(&files.lock, Duration::from_millis(30)),
            Err(LocalSimError::Timeout { .. })
        ));
        drop(held);
        assert!(try_lock_now(&files.lock).expect("io").is_some());
        assert!(!state_held(&files).expect("io"));
        let state_lock = open_lock(&files.state_lock).expect("open");
        state_lock.try_lock().expect("lock");
        assert!(state_held(&files).expect("io"));
    }

    #[test]
    fn nothing_listening_is_an_error_not_a_hang() {
        // A port just freed: connection refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        assert!(http(&format!("http://127.0.0.1:{port}"), "GET", "/sim/activity").is_err());
        assert!(http("http://not-an-address", "GET", "/").is_err());
    }
}
