//! `aurora-apply completions SHELL`: shell completion script on stdout.
//!
//! The scripts are clap_complete's, generated from [`crate::cli::Cli::command()`] so they follow
//! every change of the command line, repaired where clap_complete 4.6 falls short (each repair
//! applies only while the generated script still shows the shortcoming; the tests in
//! `tests/completions.rs` run every script in its shell):
//!
//! * bash: past the first word nothing completed for a binary whose name has a hyphen
//!   ([`repair_bash`], clap-rs/clap#6421);
//! * fish: the generator completes options only, never the values of positional arguments
//!   (`completions <TAB>` → `bash elvish fish powershell zsh`), so [`fish_positional_values`]
//!   adds them (subcommands, such as `update <TAB>` → `list info … rollback`, it completes);
//!   and it offers no value for an option of the top level (`aurora-apply --color <TAB>`)
//!   ([`repair_fish`]).

use std::fmt::Write as _;
use std::io::Write as _;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::exit::Exit;

/// The name completions are registered for.
const BIN: &str = "aurora-apply";

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Runs `completions`.
pub fn exec(args: &CompletionsArgs) -> Exit {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(script(args.shell).as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => Exit::Success,
        // `completions bash | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Success,
        Err(e) => {
            crate::session::error(format!("writing the completion script: {e}"));
            Exit::Error
        }
    }
}

/// The completion script for `shell`, repaired where clap_complete falls short.
pub fn script(shell: Shell) -> String {
    let mut command = crate::cli::Cli::command();
    let mut generated = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut generated);
    let generated = String::from_utf8_lossy(&generated).into_owned();
    match shell {
        Shell::Bash => repair_bash(&generated),
        Shell::Fish => {
            let mut command = crate::cli::Cli::command();
            command.build();
            repair_fish(&generated) + &fish_positional_values(&command)
        }
        _ => generated,
    }
}

/// clap_complete's bash script finds the command being completed with a loop that sets
/// `cmd` to the words so far, escaped: `aurora-apply plan` gives
/// `cmd="aurora__apply__subcmd__plan"` (hyphens of the binary name become `__`, and
/// `__subcmd__` joins the words). The `case "${cmd}"` that follows, which completes options,
/// option values and positional values, has its arms escaped in a single pass over the whole
/// path instead, so the binary name's hyphen becomes the separator too:
/// `aurora__subcmd__apply__subcmd__plan)`. No arm matches, `COMPREPLY` stays empty and bash
/// falls back to file names for every word after the first: `aurora-apply plan --<TAB>`
/// offers nothing. Known upstream, still so in clap_complete 4.6.12:
/// <https://github.com/clap-rs/clap/issues/6421> (also #6386, #6529; fixes proposed in
/// #6423 and #6428, closed unmerged, and #6530).
///
/// The repair renames exactly those arms: an arm label that no `cmd="…"` assignment produces,
/// but that does once its binary-name part is spelled the loop's way. A script without the
/// mismatch (a fixed clap_complete) passes through unchanged.
fn repair_bash(script: &str) -> String {
    const SEP: &str = "__subcmd__";
    let wrong = format!("{}{SEP}", BIN.replace('-', SEP));
    let right = format!("{}{SEP}", BIN.replace('-', "__"));
    let assigned: std::collections::HashSet<&str> = script
        .lines()
        .filter_map(|line| line.trim().strip_prefix("cmd=\"")?.strip_suffix('"'))
        .collect();
    let mut out = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = &body[..body.len() - body.trim_start().len()];
        let repaired = body
            .trim_start()
            .strip_suffix(')')
            .filter(|label| !assigned.contains(label))
            .and_then(|label| label.strip_prefix(&wrong))
            .map(|rest| format!("{right}{rest}"))
            .filter(|label| assigned.contains(label.as_str()));
        match repaired {
            Some(label) => {
                out.push_str(indent);
                out.push_str(&label);
                out.push(')');
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// clap_complete's fish script offers the top level's options and subcommands only while
/// `__fish_aurora_apply_needs_command` holds, and that function parses the words typed so far
/// with fish's `argparse`, giving up when it fails. It fails while the last word is an option
/// still waiting for its value, which is exactly when that value is being completed:
/// `aurora-apply --color <TAB>` offered file names, not `auto always never` (the same option
/// after a subcommand works). The repair makes the function parse the words once more
/// without the last one before giving up. Applied only where the generated function reads
/// as expected; otherwise the script passes through unchanged.
fn repair_fish(script: &str) -> String {
    let name = BIN.replace('-', "_");
    let strict = format!(
        "    argparse -s (__fish_{name}_global_optspecs) -- $cmd 2>/dev/null\n    or return\n"
    );
    let relaxed = format!(
        "    argparse -s (__fish_{name}_global_optspecs) -- $cmd 2>/dev/null\n    \
         or begin\n        \
         # The last word may be an option waiting for the value being completed.\n        \
         set -e cmd[-1]\n        \
         argparse -s (__fish_{name}_global_optspecs) -- $cmd 2>/dev/null\n    \
         end\n    \
         or return\n"
    );
    let function = format!("function __fish_{name}_needs_command\n");
    let Some(start) = script.find(&function) else {
        return script.to_owned();
    };
    let end = script[start..]
        .find("\nend\n")
        .map_or(script.len(), |e| start + e);
    let body = &script[start..end];
    if body.matches(&strict).count() != 1 {
        return script.to_owned();
    }
    format!(
        "{}{}{}",
        &script[..start],
        body.replacen(&strict, &relaxed, 1),
        &script[end..]
    )
}

/// fish `complete` lines for the values of positional arguments that have a fixed set
/// (`completions SHELL`): clap_complete's fish generator documents that it
/// completes named options only (upstream: <https://github.com/clap-rs/clap/issues/2729>,
/// closed in favour of the unstable native completions, #3166). Each (sub)command with such
/// a positional gets a function that tells whether the word under the cursor is its
/// positional number N (options, with their values, are skipped the way clap parses them,
/// using fish's `argparse` with each level's option specs); the values are offered there,
/// and file names are not.
fn fish_positional_values(root: &clap::Command) -> String {
    let mut out = String::new();
    let mut path = Vec::new();
    fish_positionals_of(root, &mut path, &mut out);
    if out.is_empty() {
        return out;
    }
    format!(
        "\n# Values of positional arguments (clap_complete's fish generator completes options \
         only).\n{out}"
    )
}

fn fish_positionals_of<'a>(
    cmd: &'a clap::Command,
    path: &mut Vec<&'a clap::Command>,
    out: &mut String,
) {
    path.push(cmd);
    let mut index = 0usize;
    let mut lines = String::new();
    for arg in cmd.get_positionals() {
        index += 1;
        let values: Vec<_> = arg
            .get_possible_values()
            .into_iter()
            .filter(|v| !v.is_hide_set())
            .collect();
        if !arg.is_hide_set() && !values.is_empty() {
            for value in values {
                let _ = write!(
                    lines,
                    "complete -c {BIN} -n '{} {index}' -f -a {}",
                    fish_function_name(path),
                    fish_quote(value.get_name())
                );
                if let Some(help) = value.get_help() {
                    let _ = write!(lines, " -d {}", fish_quote(&help.to_string()));
                }
                lines.push('\n');
            }
        }
        // A positional taking several values makes the number of the next one depend on
        // the words typed: stop counting there.
        if arg
            .get_num_args()
            .is_some_and(|n| n.max_values() != 1 || n.min_values() != 1)
        {
            break;
        }
    }
    if !lines.is_empty() {
        out.push_str(&fish_position_function(path));
        out.push_str(&lines);
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        fish_positionals_of(sub, path, out);
    }
    path.pop();
}

/// `__fish_aurora_apply_positional_update`: the function name for a command path.
fn fish_function_name(path: &[&clap::Command]) -> String {
    let mut name = format!("__fish_{}_positional", BIN.replace('-', "_"));
    for cmd in &path[1..] {
        name.push('_');
        name.push_str(&cmd.get_name().replace('-', "_"));
    }
    name
}

/// The fish function `NAME N` that succeeds when the word under the cursor is positional
/// number N of the command at `path` (`path[0]` is the root).
fn fish_position_function(path: &[&clap::Command]) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "function {}", fish_function_name(path));
    body.push_str("    set -l n $argv[1]\n    set -l words (commandline -opc)\n");
    body.push_str("    set -e words[1]\n    set argv $words\n");
    for (level, cmd) in path.iter().enumerate() {
        let last = level + 1 == path.len();
        let _ = writeln!(
            body,
            "    argparse{} {} -- $argv 2>/dev/null\n    or return 1",
            if last { "" } else { " -s" },
            fish_optspecs(cmd)
        );
        if let Some(next) = path.get(level + 1) {
            let names: Vec<String> = next
                .get_name_and_visible_aliases()
                .into_iter()
                .map(fish_quote)
                .collect();
            let _ = writeln!(
                body,
                "    contains -- \"$argv[1]\" {}\n    or return 1\n    set -e argv[1]",
                names.join(" ")
            );
        }
    }
    body.push_str("    test (count $argv) -eq (math $n - 1)\nend\n");
    body
}

/// The options of `cmd` as fish `argparse` specs (`m/message=`, `color=`, `h/help`).
fn fish_optspecs(cmd: &clap::Command) -> String {
    let mut specs = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_positional()) {
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        let value = if takes_value { "=" } else { "" };
        let shorts = arg.get_short_and_visible_aliases().unwrap_or_default();
        let longs = arg.get_long_and_visible_aliases().unwrap_or_default();
        // argparse takes at most one short and one long name per spec.
        for i in 0..shorts.len().max(longs.len()) {
            let name = match (shorts.get(i), longs.get(i)) {
                (Some(short), Some(long)) => format!("{short}/{long}"),
                (Some(short), None) => short.to_string(),
                (None, Some(long)) => (*long).to_owned(),
                (None, None) => continue,
            };
            specs.push(fish_quote(&format!("{name}{value}")));
        }
    }
    specs.join(" ")
}

/// `text` in fish single quotes.
fn fish_quote(text: &str) -> String {
    format!(
        "'{}'",
        text.replace('\n', " ")
            .replace('\\', "\\\\")
            .replace('\'', "\\'")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `case "${cmd}"` arm of the bash script is a value the dispatch loop can set
    /// (the loop and the arms spell hyphenated names the same way), and every value the loop
    /// sets has its arm.
    #[test]
    fn bash_arms_match_the_dispatch_loop() {
        let script = script(Shell::Bash);
        let assigned: std::collections::BTreeSet<&str> = script
            .lines()
            .filter_map(|line| line.trim().strip_prefix("cmd=\"")?.strip_suffix('"'))
            .filter(|cmd| !cmd.is_empty())
            .collect();
        let arms: std::collections::BTreeSet<&str> = script
            .lines()
            .filter(|line| line.starts_with("        ") && !line.starts_with("         "))
            .filter_map(|line| line.trim().strip_suffix(')'))
            .collect();
        assert!(
            assigned.contains("aurora__apply__subcmd__plan"),
            "{assigned:?}"
        );
        assert_eq!(assigned, arms);
    }

    #[test]
    fn bash_repair_renames_only_the_mismatched_arms() {
        let broken = "\
            case \"${cmd},${i}\" in
            \",$1\")
                cmd=\"aurora__apply\"
                ;;
            aurora__apply,plan)
                cmd=\"aurora__apply__subcmd__plan\"
                ;;
        esac
    case \"${cmd}\" in
        aurora__apply)
            ;;
        aurora__subcmd__apply__subcmd__plan)
            case \"${prev}\" in
                --out)
                    ;;
        aurora__subcmd__apply__subcmd__gone)
";
        let repaired = repair_bash(broken);
        assert!(repaired.contains("\n        aurora__apply__subcmd__plan)\n"));
        assert!(!repaired.contains("aurora__subcmd__apply__subcmd__plan"));
        // Not produced by the loop under either spelling: left alone.
        assert!(repaired.contains("\n        aurora__subcmd__apply__subcmd__gone)\n"));
        // A script without the mismatch is unchanged.
        assert_eq!(repair_bash(&repaired), repaired);
    }

    /// `update`'s actions are its subcommands: the generator offers them (and nothing
    /// else once one is typed), and the positional-values repair adds nothing for `update`
    /// (no value set of its own, no duplicate of the generator's lines).
    #[test]
    fn fish_offers_update_actions_after_update() {
        let script = script(Shell::Fish);
        let mut command = crate::cli::Cli::command();
        command.build();
        let update = command
            .find_subcommand("update")
            .expect("an update command");
        let subcommands: Vec<&str> = update
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(clap::Command::get_name)
            .collect();
        for action in ["pause", "resume", "abort", "rollback"] {
            assert!(subcommands.contains(&action), "{subcommands:?}");
        }
        let condition = format!(
            "__fish_aurora_apply_using_subcommand update; and not __fish_seen_subcommand_from {}",
            subcommands.join(" ")
        );
        for action in &subcommands {
            let line = format!("complete -c aurora-apply -n \"{condition}\" -f -a \"{action}\"");
            assert_eq!(
                script.lines().filter(|l| l.starts_with(&line)).count(),
                1,
                "{line}\n{script}"
            );
        }
        // Each action's own options, once it is typed.
        assert!(
            script.contains(
                "-n \"__fish_aurora_apply_using_subcommand update; and __fish_seen_subcommand_from pause\" -s m -l message"
            ),
            "{script}"
        );
        let repair = fish_positional_values(&command);
        assert!(!repair.contains("_positional_update"), "{repair}");
        assert!(
            repair.contains("complete -c aurora-apply -n '__fish_aurora_apply_positional_completions 1' -f -a 'fish'"),
            "{repair}"
        );
    }

    #[test]
    fn fish_optspecs_pair_short_and_long() {
        let cmd = clap::Command::new("x")
            .arg(clap::Arg::new("m").short('m').long("message"))
            .arg(
                clap::Arg::new("q")
                    .long("quiet")
                    .action(clap::ArgAction::SetTrue),
            )
            .arg(clap::Arg::new("o").short('o'));
        let mut cmd = cmd;
        cmd.build();
        assert_eq!(fish_optspecs(&cmd), "'m/message=' 'quiet' 'o=' 'h/help'");
    }
}
