//! The binary on a real pseudo-terminal, for the tests that need one (progress bars, the
//! apply prompt). `pty-process` opens the terminal pair, sets its window size, and starts
//! the binary in a session of its own with the terminal as its controlling one; there is no
//! shell or other program in between. A reader thread feeds everything the binary writes
//! to a vt100 screen and keeps the raw bytes as well.

use std::io::{Read as _, Write as _};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::harness::World;

/// A running binary on a pseudo-terminal; killed when dropped if it has not exited.
pub struct Pty {
    child: Child,
    terminal: Arc<pty_process::blocking::Pty>,
    screen: Arc<Mutex<vt100::Parser>>,
    transcript: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    /// Starts the `aurora-apply` binary with `args` in the world's directory, with the
    /// environment of [`World::run`] (no colours, no config root, HOME in the world), on a
    /// terminal of `rows` × `cols`.
    pub fn binary(w: &World, args: &[&str], rows: u16, cols: u16) -> Pty {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("aurora-apply"));
        cmd.args(args)
            .current_dir(w.dir.path())
            .env("NO_COLOR", "1")
            .env("AURORA_CONFIG_ROOT", w.path("none"))
            .env("HOME", w.dir.path());
        Pty::spawn(cmd, rows, cols)
    }

    /// Starts `cmd` (program, args, env and directory as set on it) with its stdin, stdout
    /// and stderr on a new pseudo-terminal of `rows` × `cols`.
    pub fn spawn(cmd: Command, rows: u16, cols: u16) -> Pty {
        let (terminal, pts) = pty_process::blocking::open().expect("a pseudo-terminal opens");
        terminal
            .resize(pty_process::Size::new(rows, cols))
            .expect("the window size is set");
        let child = pty_process::blocking::Command::from(cmd)
            .spawn(pts)
            .expect("the binary starts on the pseudo-terminal");
        let terminal = Arc::new(terminal);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let terminal = Arc::clone(&terminal);
            let screen = Arc::clone(&screen);
            let transcript = Arc::clone(&transcript);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // Ends when the last process holding the terminal's other end has gone
                // (Linux reports EIO then, after everything written has been read).
                while let Ok(n) = (&*terminal).read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    screen.lock().expect("screen").process(&buf[..n]);
                    transcript
                        .lock()
                        .expect("transcript")
                        .extend_from_slice(&buf[..n]);
                }
            })
        };
        Pty {
            child,
            terminal,
            screen,
            transcript,
            reader: Some(reader),
        }
    }

    /// Types `text` at the terminal, as a user's keys would.
    pub fn type_text(&self, text: &str) {
        (&*self.terminal)
            .write_all(text.as_bytes())
            .expect("types at the terminal");
    }

    /// Reads the screen as it is now.
    pub fn screen<T>(&self, read: impl FnOnce(&vt100::Screen) -> T) -> T {
        read(self.screen.lock().expect("screen").screen())
    }

    /// Everything the binary wrote so far (with the terminal's echo of what was typed).
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.transcript.lock().expect("transcript")).into_owned()
    }

    /// The exit code, once the binary has exited.
    pub fn exit_code(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| s.code().unwrap_or(-1))
    }

    /// Waits for the binary to exit and for its last output to be read; panics with the
    /// transcript if that takes longer than `limit`.
    pub fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = Instant::now() + limit;
        let code = loop {
            if let Some(code) = self.exit_code() {
                break code;
            }
            self.check_deadline(deadline, "the binary to exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
            self.check_deadline(deadline, "the binary's last output");
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the reader thread ends cleanly");
        }
        code
    }

    fn check_deadline(&self, deadline: Instant, what: &str) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; output so far:\n{}",
            self.transcript()
        );
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
