//! `aurora-apply man DIR`: a page per command, read back with `man -l` (man-db, which runs
//! groff). What each page must say is read off the binary's own `-h` output (commands,
//! options, examples), so the test follows the command line as it changes. Needs man-db
//! and groff (`apt-get install man-db groff-base`): a missing one fails the test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_aurora-apply");

/// What `-h` of one command says, wide enough that nothing wraps.
#[derive(Debug, Default)]
struct Help {
    about: String,
    commands: Vec<String>,
    /// `--long` and `-s` names of the options.
    options: Vec<String>,
    /// `<PATH>`, `[NAME]`: the positional arguments.
    arguments: Vec<String>,
    examples: Vec<String>,
}

fn help(path: &[String]) -> Help {
    let output = Command::new(BIN)
        .args(path)
        .arg("-h")
        .env("COLUMNS", "1000")
        .env("NO_COLOR", "1")
        .output()
        .expect("run aurora-apply -h");
    assert!(output.status.success(), "{path:?} -h: {output:?}");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let mut parsed = Help {
        about: text.lines().next().unwrap_or_default().to_owned(),
        ..Help::default()
    };
    let mut section = String::new();
    for line in text.lines() {
        if !line.starts_with(' ') {
            section = line.trim_end().to_owned();
            continue;
        }
        let item = line.trim();
        match section.as_str() {
            "Commands:" => parsed
                .commands
                .extend(item.split_whitespace().next().map(str::to_owned)),
            "Examples:" => parsed.examples.push(item.to_owned()),
            _ if item.starts_with('-') => {
                for token in item.split_whitespace() {
                    let token = without_repetition(token.trim_end_matches(','));
                    if !token.starts_with('-') {
                        break;
                    }
                    parsed.options.push(token.to_owned());
                }
            }
            _ if item.starts_with('<') || item.starts_with('[') => parsed.arguments.extend(
                item.split_whitespace()
                    .next()
                    .map(|token| without_repetition(token).to_owned()),
            ),
            _ => {}
        }
    }
    parsed.commands.retain(|c| c != "help");
    parsed
}

/// A help token without clap's repetition marker: `--verbose...` (a counting or repeatable
/// option) is the option `--verbose`, `<PATH>...` the argument `<PATH>`.
fn without_repetition(token: &str) -> &str {
    token.strip_suffix("...").unwrap_or(token)
}

/// Every command path: `[]`, `["plan"]`, …, `["sim", "status"]`.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        for sub in help(&path).commands {
            let mut child = path.clone();
            child.push(sub);
            paths.push(child);
        }
        i += 1;
    }
    paths
}

fn page_name(path: &[String]) -> String {
    std::iter::once("aurora-apply")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-")
}

fn require(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is not installed, and this test reads the pages with it: \
                 apt-get install man-db groff-base"
            )
        })
}

/// The page as `man -l` shows it, runs of blanks squeezed to one space.
fn rendered(page: &Path) -> String {
    let man = require("man");
    require("groff");
    let output = Command::new(man)
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "1000")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("MAN_KEEP_FORMATTING")
        .output()
        .expect("run man");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "man -l {}: {output:?}",
        page.display()
    );
    squeeze(&String::from_utf8(output.stdout).expect("utf-8"))
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn man_writes_a_page_per_command_that_man_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let output = Command::new(BIN)
        .arg("man")
        .arg(&out)
        .output()
        .expect("run aurora-apply man");
    assert!(output.status.success(), "{output:?}");

    let paths = command_paths();
    let expected: BTreeSet<String> = paths.iter().map(|p| page_name(p) + ".1").collect();
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    // One page per command shown in the help, and nothing else (no `help`, no hidden ones).
    assert_eq!(written, expected);
    for name in [
        "aurora-apply.1",
        "aurora-apply-plan.1",
        "aurora-apply-update.1",
    ] {
        assert!(written.contains(name), "{name}");
    }

    for path in &paths {
        let name = page_name(path);
        let help = help(path);
        let text = rendered(&out.join(format!("{name}.1")));
        let mut missing = Vec::new();
        if !text.contains(&squeeze(&format!("{name} - {}", help.about))) {
            missing.push(format!("NAME: {name} - {}", help.about));
        }
        for option in &help.options {
            if !text.contains(option.as_str()) {
                missing.push(format!("option {option}"));
            }
        }
        for argument in &help.arguments {
            if !text.contains(argument.as_str()) {
                missing.push(format!("argument {argument}"));
            }
        }
        if !help.examples.is_empty() && !text.contains("EXAMPLES") {
            missing.push("an EXAMPLES section".to_owned());
        }
        for example in &help.examples {
            if !text.contains(&squeeze(example)) {
                missing.push(format!("example `{example}`"));
            }
        }
        for sub in &help.commands {
            let reference = format!("{name}-{sub}(1)");
            if !text.contains(&reference) {
                missing.push(reference);
            }
        }
        if !path.is_empty() && !text.contains("SEE ALSO aurora-apply(1)") {
            missing.push("SEE ALSO aurora-apply(1)".to_owned());
        }
        assert!(missing.is_empty(), "{name}.1 lacks {missing:?}:\n{text}");
    }

    // The brief's examples, by name: plan's page documents --out and its examples.
    let plan = rendered(&out.join("aurora-apply-plan.1"));
    assert!(plan.contains("--out"), "{plan}");
    assert!(plan.contains("aurora-apply plan specs/"), "{plan}");
    let update = rendered(&out.join("aurora-apply-update.1"));
    for action in ["pause", "resume", "abort", "rollback"] {
        assert!(update.contains(action), "{update}");
    }
}

#[test]
fn man_fails_with_exit_1_when_the_directory_cannot_be_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let output = Command::new(BIN)
        .arg("man")
        .arg(file.join("man1"))
        .output()
        .expect("run aurora-apply man");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: "), "{stderr}");
}
