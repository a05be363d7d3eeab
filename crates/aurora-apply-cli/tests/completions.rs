//! `aurora-apply completions SHELL`, run in the shells themselves:
//!
//! * bash: the script is sourced (or loaded by bash-completion from where docs/cli.md installs
//!   it) and its completion function called with `COMP_WORDS`, `COMP_CWORD`, `COMP_LINE` and
//!   `COMP_POINT` set, as readline calls it; `COMPREPLY` is the answer. When it is empty,
//!   readline falls back to file names (`complete -o default`): the harness does the same and
//!   says so, so a test can tell the script's answers from the fallback.
//! * zsh: an interactive `zsh -f` on a pseudo-terminal (the `zsh/zpty` module) with the
//!   script installed in `$fpath` and `compinit` run; the harness types each line and a TAB
//!   bound to `complete-word`, and records every match zsh's completion system adds (a
//!   wrapper around `compadd`).
//! * fish: `complete -C LINE` after sourcing the script (or autoloading it from
//!   `~/.config/fish/completions`).
//!
//! What to expect is read off the binary's own `-h` output (commands, options, possible
//! values), for every command and subcommand, so the tests follow the command line as it
//! changes. Every test here needs its
//! shell: a missing one fails (install: `apt-get install bash bash-completion zsh fish`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aurora-apply");
const MARK_DONE: &str = "::done::";
const MARK_FILES: &str = "::files::";

// ---------------------------------------------------------------------------------------------
// What the command line offers, from `-h`.

#[derive(Debug, Default)]
struct Help {
    commands: Vec<String>,
    options: Vec<Opt>,
    positionals: Vec<Positional>,
}

#[derive(Debug)]
struct Opt {
    short: Option<String>,
    long: Option<String>,
    takes_value: bool,
    values: Vec<String>,
}

#[derive(Debug)]
struct Positional {
    /// `PATH` for `<PATH>...`.
    name: String,
    values: Vec<String>,
}

/// A help token without clap's repetition marker: `--verbose...` (a counting or repeatable
/// option) is the option `--verbose`, `<PATH>...` the positional `<PATH>`.
fn without_repetition(token: &str) -> &str {
    token.strip_suffix("...").unwrap_or(token)
}

/// `aurora-apply PATH... -h`, parsed (wide enough that nothing wraps).
fn help(path: &[&str]) -> Help {
    let output = Command::new(BIN)
        .args(path)
        .arg("-h")
        .env("COLUMNS", "1000")
        .env("NO_COLOR", "1")
        .output()
        .expect("run aurora-apply -h");
    assert!(output.status.success(), "{path:?} -h: {output:?}");
    let text = String::from_utf8(output.stdout).expect("utf-8 help");
    let mut parsed = Help::default();
    let mut section = String::new();
    for line in text.lines() {
        if !line.starts_with(' ') {
            section = line.trim_end().to_owned();
            continue;
        }
        let item = line.trim_start();
        let values = possible_values(item);
        if section == "Commands:" {
            if let Some(name) = item.split_whitespace().next() {
                parsed.commands.push(name.to_owned());
            }
        } else if item.starts_with('-') {
            let mut short = None;
            let mut long = None;
            let mut takes_value = false;
            for token in item.split_whitespace() {
                let token = without_repetition(token.trim_end_matches(','));
                if let Some(name) = token.strip_prefix("--") {
                    long = Some(format!("--{name}"));
                } else if token.starts_with('-') && token.len() == 2 {
                    short = Some(token.to_owned());
                } else {
                    takes_value = token.starts_with('<') || token.starts_with('[');
                    break;
                }
            }
            parsed.options.push(Opt {
                short,
                long,
                takes_value,
                values,
            });
        } else if item.starts_with('<') || item.starts_with('[') {
            let token = item.split_whitespace().next().unwrap_or_default();
            let name = without_repetition(token)
                .trim_start_matches(['<', '['])
                .trim_end_matches(['>', ']'])
                .to_owned();
            parsed.positionals.push(Positional { name, values });
        }
    }
    parsed
}

/// `[possible values: a, b, c]` of a help line.
fn possible_values(item: &str) -> Vec<String> {
    let Some(start) = item.find("[possible values: ") else {
        return Vec::new();
    };
    let rest = &item[start + "[possible values: ".len()..];
    let end = rest.find(']').unwrap_or(rest.len());
    rest[..end].split(", ").map(str::to_owned).collect()
}

/// The commands of the top level (clap's own `help` left out).
fn commands() -> Vec<String> {
    let commands: Vec<String> = help(&[])
        .commands
        .into_iter()
        .filter(|c| c != "help")
        .collect();
    for expected in ["plan", "apply", "update", "completions", "man"] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected} in {commands:?}"
        );
    }
    commands
}

/// Every command path below the top level, subcommands of subcommands included:
/// `["plan"]`, …, `["update"]`, `["update", "pause"]`, … (clap's own `help` left out).
fn command_paths() -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = commands().into_iter().map(|c| vec![c]).collect();
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in help(&path_refs)
            .commands
            .into_iter()
            .filter(|c| c != "help")
        {
            let mut child = path.clone();
            child.push(sub);
            paths.push(child);
        }
        i += 1;
    }
    paths
}

/// `aurora-apply update pause`: the line typed before a path's own arguments.
fn line_of(path: &[String]) -> String {
    std::iter::once("aurora-apply")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// The shells.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sh {
    Bash,
    Zsh,
    Fish,
}

impl Sh {
    const ALL: [Sh; 3] = [Sh::Bash, Sh::Zsh, Sh::Fish];

    fn name(self) -> &'static str {
        match self {
            Sh::Bash => "bash",
            Sh::Zsh => "zsh",
            Sh::Fish => "fish",
        }
    }
}

/// The shell's executable; a missing shell fails the test, loudly.
fn require(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is not installed, and these tests run the completion scripts in \
                 it: apt-get install bash bash-completion zsh fish"
            )
        })
}

/// What the shell offered for one line.
#[derive(Debug)]
struct Offered {
    line: String,
    words: Vec<String>,
    /// bash only: the script offered nothing and readline's `-o default` fallback (file
    /// names) answered.
    files_fallback: bool,
}

impl Offered {
    fn has(&self, word: &str) -> bool {
        self.words.iter().any(|w| w == word)
    }

    fn assert_has_all<'a>(&self, sh: Sh, words: impl IntoIterator<Item = &'a str>) {
        let missing: Vec<&str> = words.into_iter().filter(|w| !self.has(w)).collect();
        assert!(
            missing.is_empty() && !self.files_fallback,
            "{}: `{}<TAB>` lacks {missing:?}; offered {:?}{}",
            sh.name(),
            self.line,
            self.words,
            if self.files_fallback {
                " (the script offered nothing: readline's file-name fallback)"
            } else {
                ""
            }
        );
    }

    /// A path completion named `name` (bash and fish give the path typed plus the name,
    /// zsh's `compadd` the name alone; directories may end with `/`).
    fn has_path(&self, name: &str) -> bool {
        self.words
            .iter()
            .any(|w| w.trim_end_matches('/').rsplit('/').next() == Some(name))
    }
}

/// A directory with the things completion looks at: the scripts, as docs/cli.md installs
/// them, and a few files to complete.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (sh, path) in [
            (Sh::Bash, "data/bash-completion/completions/aurora-apply"),
            (Sh::Zsh, "zsh-functions/_aurora-apply"),
            (Sh::Fish, "config/fish/completions/aurora-apply.fish"),
        ] {
            let output = Command::new(BIN)
                .args(["completions", sh.name()])
                .output()
                .expect("run aurora-apply completions");
            assert!(output.status.success(), "{output:?}");
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(&file, &output.stdout).expect("write script");
        }
        let work = root.join("work");
        std::fs::create_dir_all(work.join("specs")).expect("mkdir");
        std::fs::create_dir_all(work.join("plans")).expect("mkdir");
        std::fs::write(work.join("specs/hello.aurora-apply.yaml"), "").expect("write");
        std::fs::write(work.join("plans/plan.json"), "").expect("write");
        World { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The shell's answers to each line, as if TAB were pressed at its end.
    fn complete(&self, sh: Sh, lines: &[&str]) -> Vec<Offered> {
        self.complete_with(sh, lines, false)
    }

    /// `installed`: let the shell find the script where docs/cli.md installs it
    /// (bash-completion's loader, fish's autoloading), instead of sourcing it.
    fn complete_with(&self, sh: Sh, lines: &[&str], installed: bool) -> Vec<Offered> {
        let shell = require(sh.name());
        let mut cmd = Command::new(&shell);
        match sh {
            Sh::Bash => {
                let driver = self.write("drive.bash", BASH_DRIVER);
                cmd.args(["--norc", "--noprofile"]).arg(driver);
                if installed {
                    let loader = Path::new(BASH_COMPLETION);
                    assert!(
                        loader.is_file(),
                        "{BASH_COMPLETION} is missing: apt-get install bash-completion"
                    );
                    cmd.env("AURORA_TEST_LOADER", loader);
                } else {
                    cmd.env("AURORA_TEST_SCRIPT", self.path(BASH_SCRIPT));
                }
            }
            Sh::Zsh => {
                assert!(!installed, "zsh always finds the script through $fpath");
                let init = self.write("init.zsh", ZSH_INIT);
                let driver = self.write("drive.zsh", ZSH_DRIVER);
                cmd.arg("-f")
                    .arg(driver)
                    .env("AURORA_TEST_INIT", init)
                    .env("AURORA_TEST_FPATH", self.path("zsh-functions"))
                    .env("AURORA_TEST_OUT", self.path("zsh-matches"));
                let _ = std::fs::remove_file(self.path("zsh-matches"));
            }
            Sh::Fish => {
                let driver = self.write("drive.fish", FISH_DRIVER);
                if !installed {
                    cmd.arg("--no-config")
                        .env("AURORA_TEST_SCRIPT", self.path(FISH_SCRIPT));
                }
                cmd.arg(driver);
            }
        }
        // The binary's directory on PATH: fish autoloads completions of known commands only.
        let bin_dir = Path::new(BIN).parent().expect("bin dir");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin_dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        cmd.args(lines)
            .current_dir(self.path("work"))
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("TERM", "dumb")
            .env("LC_ALL", "C.UTF-8");
        let stdout = run(sh, cmd);
        let stdout = if sh == Sh::Zsh {
            // The driver's own output is the pseudo-terminal's noise; the matches are in a file.
            std::fs::read_to_string(self.path("zsh-matches")).unwrap_or_default()
        } else {
            stdout
        };
        let mut offered = Vec::new();
        let mut current = Vec::new();
        let mut files_fallback = false;
        for word in stdout.lines() {
            if word == MARK_DONE {
                offered.push(Offered {
                    line: lines.get(offered.len()).copied().unwrap_or("?").to_owned(),
                    words: std::mem::take(&mut current),
                    files_fallback,
                });
                files_fallback = false;
            } else if word == MARK_FILES {
                files_fallback = true;
            } else if !word.is_empty() {
                // fish: `word<TAB>description`.
                current.push(word.split('\t').next().unwrap_or(word).to_owned());
            }
        }
        assert_eq!(
            offered.len(),
            lines.len(),
            "{}: answers to {lines:?}: {offered:?}",
            sh.name()
        );
        offered
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write driver");
        path
    }
}

const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";
const BASH_SCRIPT: &str = "data/bash-completion/completions/aurora-apply";
const FISH_SCRIPT: &str = "config/fish/completions/aurora-apply.fish";

/// Runs a shell with a deadline; its stdout. A shell that fails or hangs fails the test.
fn run(sh: Sh, mut cmd: Command) -> String {
    let out = tempfile::NamedTempFile::new().expect("tmp");
    let err = tempfile::NamedTempFile::new().expect("tmp");
    cmd.stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen"))
        .stderr(err.reopen().expect("reopen"));
    let mut child = cmd.spawn().expect("spawn shell");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not finish in time; stderr: {}",
                sh.name(),
                std::fs::read_to_string(err.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = std::fs::read_to_string(out.path()).expect("read stdout");
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    assert!(
        status.success(),
        "{} failed ({status}): stdout {stdout}\nstderr {stderr}",
        sh.name()
    );
    stdout
}

/// bash: `drive.bash LINE...`. The script is sourced from `$AURORA_TEST_SCRIPT`, or, with
/// `$AURORA_TEST_LOADER`, bash-completion is sourced from there and loads the installed
/// script itself. Each line is completed in a subshell, the way readline calls the function.
const BASH_DRIVER: &str = r#"
if [[ -n $AURORA_TEST_LOADER ]]; then
    source "$AURORA_TEST_LOADER" || exit 93
    if declare -F _comp_load >/dev/null; then
        _comp_load aurora-apply || exit 94
    else
        __load_completion aurora-apply || exit 94
    fi
else
    source "$AURORA_TEST_SCRIPT" || exit 91
fi
spec=$(complete -p aurora-apply) || exit 92
func=${spec##* -F }
func=${func%% *}
for line in "$@"; do
    (
        COMP_LINE=$line
        COMP_POINT=${#COMP_LINE}
        COMP_TYPE=9
        COMP_KEY=9
        read -r -a COMP_WORDS <<< "$COMP_LINE"
        [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMPREPLY=()
        "$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        if (( ${#COMPREPLY[@]} == 0 )) && [[ $spec == *' -o default '* ]]; then
            echo '::files::'
            compgen -f -- "${COMP_WORDS[COMP_CWORD]}"
        else
            printf '%s\n' "${COMPREPLY[@]}"
        fi
    )
    echo '::done::'
done
"#;

/// zsh, run inside the interactive shell on the pseudo-terminal: no prompt, the script's
/// directory in `$fpath`, `compinit`, TAB bound to a widget that runs `complete-word` and
/// then writes a marker. `compadd` is wrapped: each call that adds matches first asks the
/// real `compadd` which of its words match (`-O`), writes those to `$AURORA_TEST_OUT`, then
/// adds them as usual. Calls that only filter or describe (`-O`, `-A`, `-D`) pass through.
const ZSH_INIT: &str = r#"
PS1='' PROMPT='' RPROMPT='' PS2=''
unset zle_bracketed_paste
unsetopt auto_menu auto_list list_ambiguous beep
fpath=("$AURORA_TEST_FPATH" $fpath)
autoload -Uz compinit
compinit -u -D
zstyle ':completion:*' insert-tab false
compadd() {
    local arg
    for arg in "$@"; do
        [[ $arg == (-|--) ]] && break
        if [[ $arg == -[OAD]* ]]; then
            builtin compadd "$@"
            return
        fi
    done
    local -a matched
    builtin compadd -O matched "$@"
    local word
    for word in "${matched[@]}"; do
        print -r -- "$word" >> "$AURORA_TEST_OUT"
    done
    builtin compadd "$@"
}
aurora-test-complete() {
    zle complete-word
    print -r -- '::done::' >> "$AURORA_TEST_OUT"
}
zle -N aurora-test-complete
bindkey '^I' aurora-test-complete
print -r -- '<<ready>>'
"#;

/// zsh: `zsh -f drive.zsh LINE...`: starts `zsh -f -i` on a pseudo-terminal, sources
/// `$AURORA_TEST_INIT` in it, then for each line types Ctrl-U (clear the line), the line and
/// TAB, and waits for that completion's marker.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || { print -u2 'zsh has no zsh/zpty module'; exit 90 }
zmodload zsh/zselect || exit 90
: > "$AURORA_TEST_OUT"
zpty capture zsh -f -i
zpty -w capture "source ${(q)AURORA_TEST_INIT}"
local out
while zpty -r capture out; do
    [[ $out == *'<<ready>>'* ]] && break
done
integer n=0 seen=0
local line
local -a lines marks
for line in "$@"; do
    (( n++ ))
    zpty -n -w capture $'\C-u'"$line"$'\t'
    while (( seen < n )); do
        # Drain the terminal (one character at a time: its output has no line ends).
        while zpty -r -t capture out '*'; do :; done
        zselect -t 2
        lines=(${(f)"$(<$AURORA_TEST_OUT)"})
        marks=(${(M)lines:#::done::})
        seen=${#marks}
    done
done
zpty -d capture
"#;

/// fish: `fish drive.fish LINE...`; sources `$AURORA_TEST_SCRIPT` when set (else fish
/// autoloads the installed script).
const FISH_DRIVER: &str = r#"
if set -q AURORA_TEST_SCRIPT
    source $AURORA_TEST_SCRIPT
    or exit 91
end
for line in $argv
    complete -C "$line"
    echo '::done::'
end
"#;

// ---------------------------------------------------------------------------------------------
// The tests.

/// The script completes past the first word: `aurora-apply plan --<TAB>` offers plan's
/// options. clap_complete's bash script for a hyphenated binary offered nothing there
/// (clap-rs/clap#6421; see `repair_bash` in src/commands/completions.rs).
#[test]
fn clap_6421_bash_completes_after_the_first_word() {
    let world = World::new();
    let offered = world.complete(
        Sh::Bash,
        &[
            "aurora-apply plan --",
            "aurora-apply plan -o ",
            "aurora-apply update ",
        ],
    );
    offered[0].assert_has_all(Sh::Bash, ["--out", "--output", "--help"]);
    offered[1].assert_has_all(Sh::Bash, ["text", "json", "markdown"]);
    offered[2].assert_has_all(Sh::Bash, ["pause", "resume", "abort", "rollback"]);
}

fn subcommands_are_completed(sh: Sh) {
    let world = World::new();
    let commands = commands();
    let offered = world.complete(
        sh,
        &["aurora-apply ", "aurora-apply pl", "aurora-apply upd"],
    );
    offered[0].assert_has_all(sh, commands.iter().map(String::as_str));
    offered[1].assert_has_all(sh, ["plan"]);
    assert!(!offered[1].has("apply"), "{sh:?}: {:?}", offered[1]);
    offered[2].assert_has_all(sh, ["update"]);
}

/// Every option of every command and subcommand, as `aurora-apply COMMAND... --<TAB>`.
fn options_of_every_command_are_completed(sh: Sh) {
    let world = World::new();
    let paths = command_paths();
    let lines: Vec<String> = paths.iter().map(|p| format!("{} --", line_of(p))).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let offered = world.complete(sh, &lines);
    for (path, offered) in paths.iter().zip(&offered) {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let longs: Vec<String> = help(&path)
            .options
            .into_iter()
            .filter_map(|o| o.long)
            .collect();
        assert!(longs.iter().any(|l| l == "--help"), "{path:?}: {longs:?}");
        offered.assert_has_all(sh, longs.iter().map(String::as_str));
    }
    // The brief's examples, by name: a command's options, a subcommand's, and the counting
    // flag clap's help shows as `--verbose...`.
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("{line} in {lines:?}"))
    };
    offered[at("aurora-apply plan --")].assert_has_all(sh, ["--out", "--output", "--verbose"]);
    offered[at("aurora-apply update pause --")].assert_has_all(sh, ["--message", "--verbose"]);
}

/// What follows a command with subcommands (`update <TAB>` → its actions), the values of
/// every option that has a fixed set, by long and short name (`--color <TAB>` → auto always
/// never, `plan -o <TAB>` → text json markdown), at the top level and after each command and
/// subcommand, and the values of positionals that have a fixed set (`completions <TAB>` →
/// the shells).
fn values_are_completed(sh: Sh) {
    let world = World::new();
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    let mut prefixes = vec![(String::from("aurora-apply"), help(&[]))];
    for path in command_paths() {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let help = help(&refs);
        let prefix = line_of(&path);
        let subcommands: Vec<String> = help
            .commands
            .iter()
            .filter(|c| *c != "help")
            .cloned()
            .collect();
        if !subcommands.is_empty() {
            cases.push((format!("{prefix} "), subcommands));
        } else if let Some(first) = help.positionals.first()
            && !first.values.is_empty()
        {
            cases.push((format!("{prefix} "), first.values.clone()));
        }
        prefixes.push((prefix, help));
    }
    for (prefix, help) in &prefixes {
        for option in help.options.iter().filter(|o| !o.values.is_empty()) {
            for name in [&option.long, &option.short].into_iter().flatten() {
                cases.push((format!("{prefix} {name} "), option.values.clone()));
            }
        }
    }
    let names: BTreeSet<&str> = cases.iter().map(|(line, _)| line.as_str()).collect();
    for expected in [
        "aurora-apply --color ",
        "aurora-apply plan --color ",
        "aurora-apply plan -o ",
        "aurora-apply plan --output ",
        "aurora-apply update ",
        "aurora-apply update pause --color ",
        "aurora-apply completions ",
    ] {
        assert!(names.contains(expected), "{expected} in {names:?}");
    }
    // `update`'s actions are its subcommands, each with the job as its positional.
    let update = help(&["update"]);
    for action in ["pause", "resume", "abort", "rollback"] {
        assert!(update.commands.iter().any(|c| c == action), "{update:?}");
        let action = help(&["update", action]);
        assert!(
            action.positionals.iter().any(|p| p.name == "JOBKEY"),
            "{action:?}"
        );
    }
    let lines: Vec<&str> = cases.iter().map(|(line, _)| line.as_str()).collect();
    let offered = world.complete(sh, &lines);
    for ((_, values), offered) in cases.iter().zip(&offered) {
        offered.assert_has_all(sh, values.iter().map(String::as_str));
        // Values, not file names.
        assert!(
            !offered.has_path("specs") && !offered.has_path("plans"),
            "{sh:?}: {offered:?}"
        );
    }
}

/// File names where a command takes paths: spec PATH arguments and FILE options.
fn paths_are_completed(sh: Sh) {
    let world = World::new();
    let plan = help(&["plan"]);
    assert!(
        plan.positionals.iter().any(|p| p.name == "PATH"),
        "{plan:?}"
    );
    let out = plan
        .options
        .iter()
        .find(|o| o.long.as_deref() == Some("--out"))
        .expect("plan --out");
    assert!(out.takes_value && out.values.is_empty(), "{out:?}");
    let offered = world.complete(
        sh,
        &[
            "aurora-apply plan sp",
            "aurora-apply plan specs/",
            "aurora-apply validate specs/he",
            "aurora-apply plan specs/ --out pl",
            "aurora-apply apply plans/",
        ],
    );
    assert!(offered[0].has_path("specs"), "{sh:?}: {:?}", offered[0]);
    for i in [1, 2] {
        assert!(
            offered[i].has_path("hello.aurora-apply.yaml"),
            "{sh:?}: {:?}",
            offered[i]
        );
    }
    assert!(offered[3].has_path("plans"), "{sh:?}: {:?}", offered[3]);
    assert!(offered[4].has_path("plan.json"), "{sh:?}: {:?}", offered[4]);
}

#[test]
fn bash_completes_subcommands() {
    subcommands_are_completed(Sh::Bash);
}

#[test]
fn zsh_completes_subcommands() {
    subcommands_are_completed(Sh::Zsh);
}

#[test]
fn fish_completes_subcommands() {
    subcommands_are_completed(Sh::Fish);
}

#[test]
fn bash_completes_options_of_every_command() {
    options_of_every_command_are_completed(Sh::Bash);
}

#[test]
fn zsh_completes_options_of_every_command() {
    options_of_every_command_are_completed(Sh::Zsh);
}

#[test]
fn fish_completes_options_of_every_command() {
    options_of_every_command_are_completed(Sh::Fish);
}

#[test]
fn bash_completes_option_and_positional_values() {
    values_are_completed(Sh::Bash);
}

#[test]
fn zsh_completes_option_and_positional_values() {
    values_are_completed(Sh::Zsh);
}

#[test]
fn fish_completes_option_and_positional_values() {
    values_are_completed(Sh::Fish);
}

#[test]
fn bash_completes_paths() {
    paths_are_completed(Sh::Bash);
}

#[test]
fn zsh_completes_paths() {
    paths_are_completed(Sh::Zsh);
}

#[test]
fn fish_completes_paths() {
    paths_are_completed(Sh::Fish);
}

/// Installed as docs/cli.md says, each shell finds the script by itself: bash-completion's
/// loader from `~/.local/share/bash-completion/completions/aurora-apply`, fish from
/// `~/.config/fish/completions/aurora-apply.fish` (zsh's `$fpath` install is how every zsh
/// test above loads it).
#[test]
fn installed_scripts_are_found() {
    let world = World::new();
    for sh in [Sh::Bash, Sh::Fish] {
        let offered = world.complete_with(sh, &["aurora-apply update "], true);
        offered[0].assert_has_all(sh, ["pause", "resume", "abort", "rollback"]);
    }
}

/// The harness itself: a script that offers nothing past the first word (clap_complete's
/// unrepaired bash output for a hyphenated name) is caught, not passed off by the
/// file-name fallback.
#[test]
fn bash_harness_tells_the_fallback_from_the_script() {
    let world = World::new();
    let script = world.path(BASH_SCRIPT);
    let text = std::fs::read_to_string(&script).expect("read");
    let broken: String = text
        .lines()
        .map(
            |line| match line.strip_prefix("        aurora__apply__subcmd__") {
                Some(rest) if rest.ends_with(')') => {
                    format!("        aurora__subcmd__apply__subcmd__{rest}\n")
                }
                _ => format!("{line}\n"),
            },
        )
        .collect();
    assert_ne!(broken, text, "no arms to break");
    std::fs::write(&script, broken).expect("write");
    let offered = world.complete(Sh::Bash, &["aurora-apply plan --", "aurora-apply pl"]);
    assert!(offered[0].files_fallback, "{:?}", offered[0]);
    assert!(offered[0].words.is_empty(), "{:?}", offered[0]);
    // The first word still worked: it is matched by `",$1"`, not by a broken arm.
    assert!(offered[1].has("plan"), "{:?}", offered[1]);
}

/// The scripts name no shell other than their own (a sanity check of `completions SHELL`).
#[test]
fn every_shell_gets_its_own_script() {
    for sh in Sh::ALL {
        let output = Command::new(BIN)
            .args(["completions", sh.name()])
            .output()
            .expect("run");
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).expect("utf-8");
        let marker = match sh {
            Sh::Bash => "complete -F _aurora__apply",
            Sh::Zsh => "#compdef aurora-apply",
            Sh::Fish => "complete -c aurora-apply",
        };
        assert!(text.contains(marker), "{sh:?}: {marker}");
    }
}
