//! Where apply events go: text lines on stderr (with progress bars when stderr is a
//! terminal), or NDJSON on stdout for `-o json`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use aurora_apply::events::{Event, EventSink};
use std::time::Duration;

use aurora_apply::key::ClusterJobKey;
use aurora_apply::plan::Action;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::view::events::{json_line, text_line};

/// One line per state change on stderr; on a terminal, a progress bar per rolling update.
pub struct TextSink {
    bars: Option<(MultiProgress, Mutex<BTreeMap<ClusterJobKey, ProgressBar>>)>,
}

impl std::fmt::Debug for TextSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextSink")
            .field("progress_bars", &self.bars.is_some())
            .finish()
    }
}

impl TextSink {
    /// A sink; progress bars only when `progress` (stderr is a terminal).
    pub fn new(progress: bool) -> Self {
        let bars = progress.then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                Mutex::new(BTreeMap::new()),
            )
        });
        TextSink { bars }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => {
                let _ = writeln!(crate::redact::stderr(), "{text}");
            }
        }
    }

    fn progress(&self, event: &Event) {
        let Some((multi, bars)) = &self.bars else {
            return;
        };
        let Ok(mut bars) = bars.lock() else { return };
        let mut bar_of = |job_key: &ClusterJobKey| -> ProgressBar {
            bars.entry(job_key.clone())
                .or_insert_with(|| {
                    let bar = multi.add(ProgressBar::no_length());
                    bar.set_style(waiting_style());
                    bar.set_prefix(job_key.to_string());
                    // The spinner and the elapsed time move while the scheduler does not.
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .clone()
        };
        match event {
            Event::StepStarted { job_key, action } if *action == Action::Create => {
                bar_of(job_key).set_message("creating");
            }
            Event::UpdateStarted { job_key, update_id }
            | Event::UpdateFollowed { job_key, update_id } => {
                bar_of(job_key).set_message(format!("update {update_id} starting"));
            }
            Event::UpdateStatus {
                job_key,
                status,
                updated,
                failed,
                total,
                ..
            } => {
                let bar = bar_of(job_key);
                bar.set_style(counting_style("updated"));
                bar.set_length(*total as u64);
                bar.set_position(*updated as u64);
                bar.set_message(if *failed > 0 {
                    format!("{status}, {failed} failed")
                } else {
                    status.clone()
                });
            }
            Event::InstancesStarting {
                job_key,
                running,
                waiting,
                total,
            } => {
                let bar = bar_of(job_key);
                bar.set_style(counting_style("running"));
                bar.set_length(*total as u64);
                bar.set_position(*running as u64);
                bar.set_message(format!("STARTING, {waiting} not running yet"));
            }
            Event::JobComplete { job_key, .. } => {
                if let Some(bar) = bars.remove(job_key) {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
}

/// Before the scheduler has said how many instances an update touches: a spinner.
fn waiting_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix}  {msg}  {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Instances done of the total, the update's state, the time so far.
fn counting_style(done: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{{spinner}} {{prefix}} [{{bar:24}}] {{pos}}/{{len}} {done} · {{msg}} · {{elapsed}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

impl EventSink for TextSink {
    fn event(&self, event: &Event) {
        self.progress(event);
        // With bars, per-instance progress and heartbeats live in the bar.
        let quiet = self.bars.is_some()
            && matches!(
                event,
                Event::UpdateStatus { .. }
                    | Event::InstancesStarting { .. }
                    | Event::Heartbeat { .. }
            );
        if quiet {
            return;
        }
        if let Some(text) = text_line(event) {
            self.line(&text);
        }
    }
}

/// The sink of a command that follows rollouts: NDJSON on stdout for `-o json`, else text
/// on stderr (bars on a terminal). The stream opens with its `version` event.
pub fn for_output(json: bool) -> Box<dyn EventSink> {
    let sink: Box<dyn EventSink> = if json {
        Box::new(JsonSink)
    } else {
        Box::new(TextSink::new(std::io::stderr().is_terminal()))
    };
    sink.event(&Event::Version {
        ui: "1.0".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    });
    sink
}

/// Newline-delimited JSON on stdout.
#[derive(Debug, Default)]
pub struct JsonSink;

impl EventSink for JsonSink {
    fn event(&self, event: &Event) {
        let line = json_line(event, &crate::session::now_rfc3339());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
