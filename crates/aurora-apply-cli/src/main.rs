//! The `aurora-apply` command. Thin: parses arguments, runs one command, maps the outcome to
//! an exit code (see `exit.rs`). The work is in the libraries.

mod allocator;
mod apply_lock;
mod cli;
mod commands;
mod connect;
mod discover;
mod exit;
mod interrupt;
mod local_sim;
mod logging;
mod project;
mod redact;
mod report;
mod retry_notice;
mod session;
mod sink;
mod view;

use clap::Parser as _;

/// How the command line starts: with a command, or with spec paths (the bare form).
#[derive(Debug, PartialEq, Eq)]
enum Start {
    /// Parse as it is (a command right after the program, `--help`, or a mistake clap
    /// explains).
    AsIs,
    /// `aurora-apply OPTIONS... COMMAND ...`: the command is at this index; it moves to the
    /// front so the options before it count as the command's (`--clusters F plan specs/`).
    CommandAt(usize),
    /// `aurora-apply [OPTIONS] PATH...`: `apply` goes in at index 1.
    BareApply,
    /// The first word is neither a command nor an existing path but looks like a path.
    MissingPath(String),
}

/// Finds the first word that is not an option or an option's value and decides what it
/// means. Which options take a value is read from every command's definition (a unit test
/// checks that no option name takes a value in one command and not in another).
/// `aurora-apply PATH...` is `apply` only when PATH exists: a mistyped command (`plna`)
/// must get clap's "did you mean", not a spec-loading error.
fn classify(args: &[std::ffi::OsString], command: &clap::Command) -> Start {
    let takes_value = |long: Option<&str>, short: Option<char>| {
        all_arguments(command).any(|a| {
            let named = match (long, short) {
                (Some(l), _) => a.get_long() == Some(l),
                (_, Some(s)) => a.get_short() == Some(s),
                _ => false,
            };
            named && a.get_action().takes_values()
        })
    };
    let mut i = 1;
    while i < args.len() {
        let word = args[i].to_string_lossy();
        if word == "--" {
            return match args.get(i + 1) {
                Some(next) => word_meaning(&next.to_string_lossy(), i + 1, command),
                None => Start::AsIs,
            };
        }
        if let Some(long) = word.strip_prefix("--") {
            if !long.contains('=') && takes_value(Some(long), None) {
                i += 1;
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-vq`, `-ojson`, `-o json`: the first short that takes a value ends the group.
            for (at, c) in shorts.char_indices() {
                if takes_value(None, Some(c)) {
                    if at + c.len_utf8() == shorts.len() {
                        i += 1;
                    }
                    break;
                }
            }
        } else {
            return word_meaning(&word, i, command);
        }
        i += 1;
    }
    Start::AsIs
}

/// The arguments of the top level and of every command, nested ones included.
fn all_arguments(command: &clap::Command) -> impl Iterator<Item = &clap::Arg> + Clone {
    fn walk<'a>(c: &'a clap::Command, out: &mut Vec<&'a clap::Arg>) {
        out.extend(c.get_arguments());
        for sub in c.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(command, &mut out);
    out.into_iter()
}

fn word_meaning(word: &str, at: usize, command: &clap::Command) -> Start {
    let is_command = word == "help"
        || command
            .get_subcommands()
            .any(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word));
    if is_command {
        if at > 1 {
            Start::CommandAt(at)
        } else {
            Start::AsIs
        }
    } else if std::path::Path::new(word).exists() {
        Start::BareApply
    } else if word.contains(['/', '.']) {
        // No command has a slash or a dot: this was meant as a path.
        Start::MissingPath(word.to_string())
    } else {
        Start::AsIs
    }
}

/// The command line to parse: `apply` made explicit, or the command moved before the
/// options that preceded it.
fn normalise(mut args: Vec<std::ffi::OsString>, start: &Start) -> Vec<std::ffi::OsString> {
    match start {
        Start::BareApply => args.insert(1.min(args.len()), "apply".into()),
        Start::CommandAt(at) if *at < args.len() => {
            let name = args.remove(*at);
            args.insert(1, name);
        }
        _ => {}
    }
    args
}

fn main() -> std::process::ExitCode {
    use clap::CommandFactory as _;
    // Before anything else (no thread, no output yet): see `allocator`.
    allocator::fix_settings();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let start = classify(&args, &cli::Cli::command());
    if let Start::MissingPath(path) = &start {
        session::error(format!(
            "{path}: no such file or directory (and not a command; see `aurora-apply --help`)"
        ));
        return std::process::ExitCode::from(exit::Exit::Invalid.as_u8());
    }
    let args = normalise(args, &start);
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes; every other usage error is invalid input
            // (exit 3). Clap's own code, 2, would read as "changes present".
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() {
                exit::Exit::Invalid.as_u8()
            } else {
                0
            });
        }
    };
    let color = report::use_color(cli.global.color);
    if let Err(e) = logging::init(
        cli.global.verbose,
        cli.global.quiet,
        cli.global.log_file.as_deref(),
        color,
    ) {
        session::error(e);
        return std::process::ExitCode::from(exit::Exit::Error.as_u8());
    }
    interrupt::install();
    let code = commands::run(cli);
    std::process::ExitCode::from(code.as_u8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn start(line: &str) -> Start {
        let args: Vec<std::ffi::OsString> = std::iter::once("aurora-apply")
            .chain(line.split_whitespace())
            .map(Into::into)
            .collect();
        classify(&args, &cli::Cli::command())
    }

    #[test]
    fn options_before_the_command_are_skipped_with_their_values() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path().display();
        assert_eq!(start("plan specs/"), Start::AsIs);
        assert_eq!(start("--color never plan specs/"), Start::CommandAt(3));
        assert_eq!(start("--clusters f.json plan specs/"), Start::CommandAt(3));
        assert_eq!(start(&format!("--color never {d}")), Start::BareApply);
        assert_eq!(start(&format!("--color=never {d}")), Start::BareApply);
        assert_eq!(start(&format!("--clusters {d} {d}")), Start::BareApply);
        assert_eq!(start(&format!("-o json -m hi {d}")), Start::BareApply);
        assert_eq!(start(&format!("-ojson {d}")), Start::BareApply);
        assert_eq!(start(&format!("--auto-approve {d}")), Start::BareApply);
        assert_eq!(start(&format!("-- {d}")), Start::BareApply);
    }

    #[test]
    fn the_command_moves_before_the_options_that_preceded_it() {
        let line =
            |l: &str| -> Vec<std::ffi::OsString> { l.split_whitespace().map(Into::into).collect() };
        let args = line("aurora-apply --clusters f.json plan specs/");
        let start = classify(&args, &cli::Cli::command());
        assert_eq!(
            normalise(args, &start),
            line("aurora-apply plan --clusters f.json specs/")
        );
    }

    #[test]
    fn an_option_name_takes_a_value_everywhere_or_nowhere() {
        let command = cli::Cli::command();
        let mut seen: std::collections::BTreeMap<String, bool> = Default::default();
        for a in all_arguments(&command) {
            let names = a
                .get_long()
                .map(str::to_string)
                .into_iter()
                .chain(a.get_short().map(|c| format!("-{c}")));
            for name in names {
                let takes = a.get_action().takes_values();
                let before = *seen.entry(name.clone()).or_insert(takes);
                assert_eq!(before, takes, "{name}");
            }
        }
    }

    #[test]
    fn mistyped_commands_go_to_clap_and_missing_paths_are_named() {
        assert_eq!(start("plna specs/"), Start::AsIs);
        assert_eq!(start("--color never aplly"), Start::AsIs);
        assert_eq!(start("help plan"), Start::AsIs);
        assert_eq!(start("--help"), Start::AsIs);
        assert_eq!(
            start("specs/nope.yaml"),
            Start::MissingPath("specs/nope.yaml".into())
        );
    }
}
