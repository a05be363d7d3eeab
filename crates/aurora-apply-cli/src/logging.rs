//! What the libraries log (`tracing`), shown on stderr and, with `--log-file`, kept in a
//! file for CI artifacts. Levels: `-q` errors only, by default warnings, `-v` info, `-vv`
//! debug, `-vvv` trace — for aurora-apply's own crates; other crates log warnings. `RUST_LOG`
//! replaces that choice (`RUST_LOG=aurora_api=trace`). The file gets at least debug.
//!
//! Whatever is asked for, the HTTP and TLS crates stay at warnings: their debug records can
//! carry request headers, and with them credentials.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Crates whose records can hold credentials: capped at warnings, last so they win.
const GUARDED: &str = "ureq=warn,ureq_proto=warn,rustls=warn,zookeeper_client=warn";

/// The same crates, for the hard cap that no directive (not even a more specific
/// `RUST_LOG=ureq::run=debug`) lifts.
const GUARDED_CRATES: &[&str] = &["ureq", "ureq_proto", "rustls", "zookeeper_client"];

/// Whether a record may be written at all: below warnings, never from the guarded crates.
fn allowed(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    let guarded = GUARDED_CRATES.iter().any(|c| {
        target == *c
            || target
                .strip_prefix(c)
                .is_some_and(|rest| rest.starts_with("::"))
    });
    !guarded || *meta.level() <= tracing::Level::WARN
}

/// Our crates, whose level `-v`/`-q` choose.
const OURS: &[&str] = &[
    "aurora_api",
    "aurora_apply",
    "aurora_apply_cli",
    "aurora_sim",
    "aurora_spec",
];

/// `-q` / `-v…` as a level name.
pub fn level(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    }
}

/// The filter directives for `level`, or `RUST_LOG` when set; the guarded crates last.
pub fn directives(level: &str, rust_log: Option<&str>) -> String {
    let chosen = match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(env) => env.to_string(),
        None => std::iter::once("warn".to_string())
            .chain(OURS.iter().map(|c| format!("{c}={level}")))
            .collect::<Vec<_>>()
            .join(","),
    };
    format!("{chosen},{GUARDED}")
}

/// The log file, locked for each write (each record arrives as one masked line).
struct SharedFile(std::sync::Arc<Mutex<std::fs::File>>);

impl std::io::Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// Installs the subscriber. A log file that cannot be opened is an error for the caller to
/// report (CI asked for an artifact; silently not writing it would hide that).
pub fn init(verbose: u8, quiet: bool, log_file: Option<&Path>, color: bool) -> Result<(), String> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let level = level(verbose, quiet);
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(|| crate::redact::Redacting::new(std::io::stderr()))
        .with_ansi(color)
        .with_target(true)
        .with_filter(EnvFilter::new(directives(level, rust_log.as_deref())))
        .with_filter(tracing_subscriber::filter::filter_fn(allowed));
    let file = match log_file {
        None => None,
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
            let at_least_debug = if matches!(level, "trace") {
                "trace"
            } else {
                "debug"
            };
            let file = std::sync::Arc::new(Mutex::new(file));
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || crate::redact::Redacting::new(SharedFile(file.clone())))
                    .with_ansi(false)
                    .with_filter(EnvFilter::new(directives(
                        at_least_debug,
                        rust_log.as_deref(),
                    )))
                    .with_filter(tracing_subscriber::filter::filter_fn(allowed)),
            )
        }
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_choose_our_level_and_rust_log_replaces_it_but_never_the_guard() {
        assert_eq!(level(0, false), "warn");
        assert_eq!(level(2, false), "debug");
        assert_eq!(level(5, true), "error");
        let d = directives("debug", None);
        assert!(d.starts_with("warn,aurora_api=debug,"), "{d}");
        assert!(d.ends_with(GUARDED), "{d}");
        let d = directives("debug", Some("trace"));
        assert_eq!(d, format!("trace,{GUARDED}"));
    }
}
