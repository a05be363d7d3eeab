//! Ctrl-C. A command that follows something on the scheduler (apply, restart, update wait,
//! status --watch) asks for [`flag`]: the first press then asks it to stop cleanly —
//! watching ends, updates keep running, exit 130 with a note on how to pause or abort — and a
//! second press exits at once. Anywhere else (planning, waiting for a lock, reading specs) the
//! first press exits at once with 130.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first press.
static PRESSED: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
/// Whether a command is listening to [`PRESSED`] (and so stops cleanly by itself).
static LISTENING: AtomicBool = AtomicBool::new(false);

fn pressed() -> &'static Arc<AtomicBool> {
    PRESSED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Installs the handler (once, at start-up).
pub fn install() {
    let seen = Arc::clone(pressed());
    let _ = ctrlc::set_handler(move || {
        if seen.swap(true, Ordering::SeqCst) || !LISTENING.load(Ordering::SeqCst) {
            // The one exit outside `main`: nothing is left to finish cleanly.
            std::process::exit(i32::from(crate::exit::Exit::Interrupted.as_u8()));
        }
        let _ = writeln!(
            crate::redact::stderr(),
            "\ninterrupted: stopping (running updates keep running); Ctrl-C again exits at once"
        );
    });
}

/// The flag the first Ctrl-C sets, for a command that stops cleanly when it is set.
pub fn flag() -> Arc<AtomicBool> {
    LISTENING.store(true, Ordering::SeqCst);
    Arc::clone(pressed())
}
