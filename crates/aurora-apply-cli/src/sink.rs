//! Where apply events go: text lines on stderr (with progress bars when stderr is a
//! terminal), or NDJSON on stdout for `-o json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use aurora_apply::events::{Event, EventSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::view::events::{json_line, text_line};

/// One line per state change on stderr; on a terminal, a progress bar per rolling update.
pub struct TextSink {
    bars: Option<(MultiProgress, Mutex<BTreeMap<String, ProgressBar>>)>,
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
                let _ = writeln!(anstream::stderr(), "{text}");
            }
        }
    }

    fn progress(&self, event: &Event) {
        let Some((multi, bars)) = &self.bars else {
            return;
        };
        let Ok(mut bars) = bars.lock() else { return };
        match event {
            Event::UpdateStarted { job_key, .. } => {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(
                    ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(job_key.clone());
                bars.insert(job_key.clone(), bar);
            }
            Event::UpdateStatus {
                job_key,
                status,
                updated,
                total,
                ..
            } => {
                if let Some(bar) = bars.get(job_key) {
                    bar.set_length(*total as u64);
                    bar.set_position(*updated as u64);
                    bar.set_message(status.clone());
                }
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

impl EventSink for TextSink {
    fn event(&self, event: &Event) {
        self.progress(event);
        // With bars, per-instance progress and heartbeats live in the bar.
        let quiet = self.bars.is_some()
            && matches!(event, Event::UpdateStatus { .. } | Event::Heartbeat { .. });
        if quiet {
            return;
        }
        if let Some(text) = text_line(event) {
            self.line(&text);
        }
    }
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
