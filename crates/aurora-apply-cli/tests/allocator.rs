//! The binary fixes glibc's allocator settings by executing itself once at start-up
//! (`src/allocator.rs`): the running process has them in its environment, with its own
//! arguments, and settings the user chose are kept.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_aurora-apply");
const VARS: [&str; 4] = [
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_ARENA_MAX",
    "GLIBC_TUNABLES",
];

/// `aurora-apply lsp`, with `env` besides a clean allocator setting, once it has answered
/// `initialize`: past its start-up, in the program image that serves.
fn serving_lsp_with(env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("the binary starts");
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
    let stdin = child.stdin.as_mut().expect("stdin");
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("request");
    stdin.flush().expect("flush");
    let mut answer = BufReader::new(child.stdout.take().expect("stdout"));
    let mut header = String::new();
    answer.read_line(&mut header).expect("an answer");
    assert!(header.starts_with("Content-Length:"), "{header:?}");
    child
}

fn nul_separated(path: String) -> Vec<String> {
    std::fs::read(path)
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The process's environment and arguments, and the process stopped.
fn environ_and_cmdline(mut child: Child) -> (Vec<String>, Vec<String>) {
    let environ = nul_separated(format!("/proc/{}/environ", child.id()));
    let cmdline = nul_separated(format!("/proc/{}/cmdline", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    (environ, cmdline)
}

#[test]
fn the_running_binary_has_the_thresholds_fixed_and_its_own_arguments() {
    let (environ, cmdline) = environ_and_cmdline(serving_lsp_with(&[]));
    let arenas = 2 * std::thread::available_parallelism().map_or(1, usize::from);
    for fixed in [
        "MALLOC_MMAP_THRESHOLD_=131072".to_string(),
        "MALLOC_TRIM_THRESHOLD_=131072".to_string(),
        format!("MALLOC_ARENA_MAX={arenas}"),
    ] {
        assert!(environ.contains(&fixed), "{fixed}: {environ:?}");
    }
    // The same pid runs the same command line, argv[0] included.
    assert_eq!(cmdline, [BIN, "lsp"]);
}

#[test]
fn thresholds_the_user_chose_are_kept() {
    for (chosen, value) in [
        ("MALLOC_TRIM_THRESHOLD_", "999999"),
        ("MALLOC_MMAP_THRESHOLD_", "999999"),
        ("MALLOC_ARENA_MAX", "7"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=999999"),
    ] {
        let (environ, _) = environ_and_cmdline(serving_lsp_with(&[(chosen, value)]));
        let set: Vec<&String> = environ
            .iter()
            .filter(|v| VARS.iter().any(|var| v.starts_with(&format!("{var}="))))
            .collect();
        assert_eq!(set, [&format!("{chosen}={value}")], "{chosen}");
    }
}
