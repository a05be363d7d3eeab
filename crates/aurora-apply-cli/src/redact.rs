//! Sensitive variable values never reach the terminal or a log: every line the CLI writes
//! to stdout, stderr or its log goes through [`Redacting`], which replaces each registered
//! secret (and its JSON-escaped forms, as it appears inside JSON and inside a Thermos payload
//! in JSON) with `(sensitive)`.
//!
//! The secrets are registered once the specs are loaded ([`add_secrets`]); until then, and
//! in runs without sensitive variables, writers pass bytes straight through.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::RwLock;

use aurora_spec::load::vars::MASK;

/// The registered secrets, longest first.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers the values of sensitive variables (and their escaped forms) for masking.
pub fn add_secrets(values: &[String]) {
    if values.is_empty() {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for v in values.iter().filter(|v| !v.is_empty()) {
        let mut form = v.clone();
        // As written, inside a JSON string, and inside a JSON string inside a JSON string.
        for _ in 0..3 {
            if !secrets.contains(&form) {
                secrets.push(form.clone());
            }
            let escaped = serde_json::to_string(&form).unwrap_or_default();
            form = escaped[1..escaped.len().saturating_sub(1).max(1)].to_string();
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Whether any secret is registered.
fn active() -> bool {
    !SECRETS.read().unwrap_or_else(|e| e.into_inner()).is_empty()
}

/// `text` with every registered secret masked.
pub fn mask(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// Masks, in a plan's field changes, every field whose desired value holds a secret —
/// before and after alike: the live value holds the secret's previous value, which no
/// registry knows (Terraform marks such attributes sensitive the same way).
pub fn mask_plan_fields(plan: &mut aurora_apply::plan::Plan) {
    if !active() {
        return;
    }
    let masked = || Some(serde_json::Value::String(MASK.to_string()));
    for change in &mut plan.changes {
        for field in &mut change.fields {
            let holds_secret = field.after.as_ref().is_some_and(|v| {
                let text = v.to_string();
                matches!(mask(&text), Cow::Owned(_))
            });
            if holds_secret {
                field.after = masked();
                if field.before.is_some() {
                    field.before = masked();
                }
            }
        }
    }
}

/// A writer that masks secrets line by line (a secret is never split across two writes of
/// one line: lines are buffered until their newline, a flush or the end) and writes each
/// line to its stream in one call.
pub struct Redacting<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> Redacting<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Redacting {
            inner,
            line: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let chunk: Vec<u8> = self.line.drain(..upto).collect();
        if !active() {
            return self.inner.write_all(&chunk);
        }
        match std::str::from_utf8(&chunk) {
            Ok(text) => self.inner.write_all(mask(text).as_bytes()),
            Err(_) => self.inner.write_all(&chunk),
        }
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Always whole lines, even with no secret registered: a line reaches the stream in
        // one write, so lines that threads print at once (retry notices, job events) never
        // interleave mid-line.
        self.line.extend_from_slice(buf);
        if let Some(last) = self.line.iter().rposition(|b| *b == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            let n = self.line.len();
            self.emit(n)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Standard output, masked (colour handling as `anstream::stdout`).
pub fn stdout() -> Redacting<anstream::Stdout> {
    Redacting::new(anstream::stdout())
}

/// Standard output for machine-readable text (JSON): masked, without the colour-stripping
/// pass `anstream` makes over every byte when stdout is not a terminal (the text holds no
/// colour).
pub fn plain_stdout() -> Redacting<std::io::Stdout> {
    Redacting::new(std::io::stdout())
}

/// Standard error, masked (colour handling as `anstream::stderr`).
pub fn stderr() -> Redacting<anstream::Stderr> {
    Redacting::new(anstream::stderr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_threads_never_interleave() {
        use std::sync::{Arc, Mutex};
        /// Records each write call separately, as a stream shared by threads sees them.
        #[derive(Clone, Default)]
        struct Calls(Arc<Mutex<Vec<Vec<u8>>>>);
        impl Write for Calls {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().expect("lock").push(buf.to_vec());
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let calls = Calls::default();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let calls = calls.clone();
                scope.spawn(move || {
                    for i in 0..50 {
                        let mut out = Redacting::new(calls.clone());
                        writeln!(out, "thread {t}: {}, line {i}", "x".repeat(i)).expect("write");
                    }
                });
            }
        });
        let calls = calls.0.lock().expect("lock");
        assert_eq!(calls.len(), 200, "one write per line");
        assert!(
            calls
                .iter()
                .all(|c| c.ends_with(b"\n") && c.starts_with(b"thread "))
        );
    }

    #[test]
    fn secrets_are_masked_across_writes_and_in_json_forms() {
        add_secrets(&["s3cr\"et".to_string()]);
        let mut out = Redacting::new(Vec::new());
        write!(out, "a s3c").expect("write");
        writeln!(out, "r\"et b").expect("write");
        writeln!(out, "{}", serde_json::json!({"v": "x s3cr\"et"})).expect("write");
        let payload =
            serde_json::json!({"data": serde_json::json!({"cmd": "s3cr\"et"}).to_string()});
        write!(out, "{payload}").expect("write");
        out.flush().expect("flush");
        let text = String::from_utf8(out.inner.clone()).expect("utf-8");
        assert!(!text.contains("s3cr"), "{text}");
        assert_eq!(text.matches(MASK).count(), 3, "{text}");
    }
}
