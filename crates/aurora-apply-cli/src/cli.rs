//! Command-line arguments (clap derive). Shared flags are defined once here; each command's
//! own arguments live beside its `exec` in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::time::Duration;

use aurora_apply::execute::{ExecuteOptions, OnFailure};

use crate::commands::{
    apply::ApplyArgs,
    completions::CompletionsArgs,
    convert::ConvertArgs,
    destroy::{DestroyArgs, KillArgs},
    import::ImportArgs,
    init::InitArgs,
    lsp::LspArgs,
    man::ManArgs,
    plan::PlanArgs,
    render::RenderArgs,
    restart::RestartArgs,
    schema::SchemaArgs,
    sim::SimArgs,
    status::StatusArgs,
    update::UpdateArgs,
    validate::ValidateArgs,
};

/// Declarative job specs for Apache Aurora: plan and apply YAML/TOML job specs against a live
/// scheduler.
#[derive(Debug, Parser)]
#[command(
    name = "aurora-apply",
    version,
    about,
    override_usage = "aurora-apply [OPTIONS] <COMMAND>\n       aurora-apply [OPTIONS] PATH...   (the same as `aurora-apply apply PATH...`)",
    after_help = EXAMPLES_TOP
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES_TOP: &str = "\
`aurora-apply PATH...` (a spec file or directory instead of a command) means `aurora-apply apply PATH...`.

Examples:
  aurora-apply specs/                     plan, confirm and apply every spec under specs/
  aurora-apply plan specs/ --out plan.json
  aurora-apply status specs/ -o json";

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to use colour (NO_COLOR is honoured).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// More log detail: -v info, -vv debug, -vvv trace (RUST_LOG, when set, decides instead).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also write the log to this file (at least debug detail), e.g. as a CI artifact.
    #[arg(long, value_name = "FILE", global = true)]
    pub log_file: Option<PathBuf>,
}

/// How a command finds clusters and trusts their schedulers.
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// Use this clusters.json only. Without it: the clusters.json beside the specs, then
    /// ./specs/clusters.json, then ./clusters.json, then Aurora's own
    /// ($AURORA_CONFIG_ROOT or /etc/aurora, then ~/.aurora); the more specific wins by name.
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,
    /// A PEM file of CA certificates to trust for HTTPS schedulers (a private CA), in place
    /// of the Mozilla roots built into aurora-apply; else the cluster entry's `ca_file`.
    #[arg(long, value_name = "FILE", env = "AURORA_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Set by commands that stream NDJSON events: retries become `retry` events.
    #[arg(skip)]
    pub json_events: bool,
}

impl ConnectArgs {
    /// The connection options.
    pub fn options(&self) -> crate::connect::ConnectOptions {
        crate::connect::ConnectOptions {
            clusters: self.clusters.clone(),
            ca_file: self.ca_file.clone(),
            json_events: self.json_events,
        }
    }
}

/// Where `validate` looks for cluster names (offline: the file is read, nothing is contacted).
#[derive(Debug, Args, Clone)]
pub struct ClustersFileArg {
    /// Check cluster names against this clusters.json only (default: the files every
    /// command finds; with none found, cluster names are not checked).
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,
}

/// Plan output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people.
    Text,
    /// The versioned plan document (apply: newline-delimited events).
    Json,
    /// For pull-request comments.
    Markdown,
}

/// How the live state is read.
#[derive(Debug, Args, Clone)]
pub struct ReadArgs {
    /// Read calls in flight at once per cluster (observing and confirming a plan).
    #[arg(long, default_value_t = aurora_apply::observe::DEFAULT_PARALLELISM, value_name = "N")]
    pub parallelism: usize,
}

impl ReadArgs {
    /// The engine's observe options.
    pub fn observe(&self) -> aurora_apply::observe::ObserveOptions {
        aurora_apply::observe::ObserveOptions {
            parallelism: self.parallelism.max(1),
            ..aurora_apply::observe::ObserveOptions::default()
        }
    }
}

/// Options of planning.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Kill jobs created by aurora-apply that are no longer in the specs (roles of the
    /// specs only, plus `--scope`).
    #[arg(long)]
    pub prune: bool,
    /// Take over jobs of the specs that exist without aurora-apply's ownership marker: the
    /// marker is added, which rolls their instances (the plan shows it). Without it, apply
    /// refuses to change such jobs (exit 8).
    #[arg(long)]
    pub adopt: bool,
    /// Also look at (and, with --prune, prune in) this cluster or cluster/role, besides the
    /// roles of the specs; repeatable. Needed to prune a role whose last job left the specs.
    #[arg(long, value_name = "CLUSTER[/ROLE]", value_parser = parse_scope)]
    pub scope: Vec<aurora_apply::planning::Scope>,
    /// Reading.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Limiting the run to some jobs.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only stage N (1-based) of the project file's rollout: its clusters are planned and
    /// changed, no other; the plan says it is partial.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub stage: Option<u16>,
}

/// `--target`: the jobs a run is limited to.
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// Only the jobs this glob over cluster/role/environment/name matches (`*`, `?` within a
    /// part; fewer parts: every job below, e.g. `devcluster/www-data`); repeatable. Nothing
    /// else is planned, changed or pruned, and the plan says it is partial.
    #[arg(long = "target", value_name = "PATTERN", value_parser = parse_target)]
    pub targets: Vec<aurora_apply::target::TargetPattern>,
}

impl TargetArgs {
    /// The engine's targets (none: every job).
    pub fn targets(&self) -> aurora_apply::target::Targets {
        aurora_apply::target::Targets(self.targets.clone())
    }
}

fn parse_target(text: &str) -> Result<aurora_apply::target::TargetPattern, String> {
    text.parse()
        .map_err(|e: aurora_apply::target::TargetError| e.to_string())
}

fn parse_scope(text: &str) -> Result<aurora_apply::planning::Scope, String> {
    aurora_apply::planning::Scope::parse(text)
        .ok_or_else(|| format!("`{text}`: expected CLUSTER or CLUSTER/ROLE"))
}

impl EngineArgs {
    /// The engine's plan options.
    pub fn plan_options(&self) -> aurora_apply::planning::PlanOptions {
        aurora_apply::planning::PlanOptions {
            prune: self.prune,
            scope: self.scope.clone(),
            observe: self.read.observe(),
            targets: self.target.targets(),
        }
    }
}

/// What to do with the other jobs when one fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnFailureArg {
    /// Start no further jobs (running updates finish).
    Stop,
    /// Carry on with the other jobs.
    Continue,
}

/// Confirmation.
#[derive(Debug, Args, Clone)]
pub struct ConfirmArgs {
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// The safety rails of an apply that can be passed on the command line.
#[derive(Debug, Args, Clone)]
pub struct RailArgs {
    /// Allow kills, fewer instances and replacements without interactive confirmation.
    #[arg(long)]
    pub allow_destroy: bool,
    /// Allow a prune that deletes more owned jobs than it keeps.
    #[arg(long)]
    pub allow_mass_prune: bool,
    /// Jobs aurora-apply did not create.
    #[command(flatten)]
    pub foreign: ForeignArg,
    /// Abort an update that an earlier aurora-apply run started towards another config and
    /// start this one (without it, that is a conflict, exit 4; one towards the same config
    /// is always followed).
    #[arg(long)]
    pub replace_running_update: bool,
}

/// Consent to destroy jobs aurora-apply did not create.
#[derive(Debug, Args, Clone)]
pub struct ForeignArg {
    /// Allow killing or replacing jobs aurora-apply did not create (jobs without its
    /// ownership marker: made by Aurora's client or another tool).
    #[arg(long)]
    pub allow_foreign: bool,
}

/// Waiting for rollouts.
#[derive(Debug, Args, Clone)]
pub struct WaitArgs {
    /// Return once updates have started instead of waiting for them.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for rollouts (e.g. `30m`); exit 7 when exceeded.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Time between two polls of the scheduler.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
}

/// How changes are carried out.
#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    /// Jobs changed at the same time.
    #[arg(long = "jobs", default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Reaction to a failed job.
    #[arg(long, value_enum, default_value_t = OnFailureArg::Stop)]
    pub on_failure: OnFailureArg,
    /// Audit message recorded with updates and kills.
    #[arg(short, long)]
    pub message: Option<String>,
    /// How long to wait for another run's lock on a role being changed (ZooKeeper clusters
    /// and sim://); exit 4 when it is not free by then.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub lock_timeout: Duration,
}

impl ExecArgs {
    /// The session's run options; `wait` = `None` for commands that never wait (kills).
    pub fn run_options(&self, wait: Option<&WaitArgs>) -> crate::session::RunOptions {
        let defaults = ExecuteOptions::default();
        crate::session::RunOptions {
            parallelism: self.jobs.max(1),
            on_failure: match self.on_failure {
                OnFailureArg::Stop => OnFailure::Stop,
                OnFailureArg::Continue => OnFailure::Continue,
            },
            wait: wait.is_some_and(|w| !w.no_wait),
            timeout: wait.map_or(defaults.timeout, |w| w.timeout),
            poll_interval: wait.map_or(defaults.poll_interval, |w| w.poll_interval),
            message: self.message.clone(),
            replace_running_update: false,
            lock_timeout: self.lock_timeout,
        }
    }
}

/// Colour choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// The spec files or directories a command reads.
#[derive(Debug, Args)]
pub struct SpecPaths {
    /// Spec files (`*.yaml`, `*.yml`, `*.toml`, `*.json`) or directories (searched for
    /// `*.yaml`, `*.yml`, `*.toml`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Values for the specs' variables.
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Values for the `vars:` the spec files declare. Precedence, lowest first: a declaration's
/// `default`, `AURORA_APPLY_VAR_NAME` in the environment, `--var-file` files in order, then
/// `--var` in order.
#[derive(Debug, Clone, Default, Args)]
pub struct VarArgs {
    /// Set a variable, e.g. `--var replicas=3` (repeatable; wins over --var-file and the
    /// environment). Lists and maps in YAML/JSON flow syntax: `--var 'zones=[a, b]'`.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variable values from a YAML, TOML or JSON mapping of names to values
    /// (repeatable; later files win).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check specs offline: syntax, schema and the scheduler's rules; all errors at once.
    #[command(after_help = "Examples:
  aurora-apply validate specs/
  aurora-apply validate specs/web.aurora-apply.yaml -o json
  aurora-apply validate specs/ --clusters /etc/aurora/clusters.json")]
    Validate(ValidateArgs),
    /// Print what would be sent: the JobConfiguration of every job.
    #[command(after_help = "Examples:
  aurora-apply render specs/hello.aurora-apply.yaml
  aurora-apply render specs/ -o json
  aurora-apply render specs/ --update -o json")]
    Render(RenderArgs),
    /// Convert Aurora's JSON job files (`aurora job inspect --write-json`) into spec files,
    /// each job verified by rendering it.
    #[command(after_help = "Examples:
  aurora job inspect --write-json devcluster/www-data/prod/hello hello.aurora > hello.json
  aurora-apply convert hello.json --out specs/
  aurora-apply convert jobs/*.json --out specs/ --format toml
  aurora-apply validate specs/ && aurora-apply plan specs/")]
    Convert(ConvertArgs),
    /// Write spec files for live jobs (services, ad-hoc and cron), each verified to plan as a
    /// no-op; never overwrites.
    #[command(after_help = "Examples:
  aurora-apply import devcluster/www-data --out specs/
  aurora-apply import devcluster/www-data/prod devcluster/vagrant --out specs/ --format toml
  aurora-apply import devcluster/www-data/prod/hello --out specs/ --split jobs
  aurora-apply plan specs/ --detailed-exitcode && aurora-apply apply specs/ --adopt")]
    Import(ImportArgs),
    /// Desired vs live: what apply would do, per job.
    #[command(after_help = "Examples:
  aurora-apply plan specs/
  aurora-apply plan specs/ --out plan.json --detailed-exitcode
  aurora-apply plan specs/ --prune --scope devcluster/www-data -o markdown")]
    Plan(PlanArgs),
    /// Plan, confirm and execute; wait for rollouts. `aurora-apply PATH...` is this command.
    #[command(after_help = "Examples:
  aurora-apply apply specs/
  aurora-apply apply plan.json               apply a saved plan (no question: the plan was the review)
  aurora-apply apply specs/ --auto-approve --no-wait -o json")]
    Apply(ApplyArgs),
    /// Kill and deschedule every job the specs describe.
    #[command(after_help = "Examples:
  aurora-apply destroy specs/old-service.aurora-apply.yaml
  aurora-apply destroy specs/batch/ --auto-approve -m 'retired'")]
    Destroy(DestroyArgs),
    /// Kill and deschedule jobs by key, or some of a job's instances.
    #[command(after_help = "Examples:
  aurora-apply kill devcluster/www-data/prod/hello
  aurora-apply kill devcluster/www-data/prod/web --instances 0-3,7
  aurora-apply kill devcluster/www-data/prod/hello devcluster/www-data/prod/web --auto-approve")]
    Kill(KillArgs),
    /// Whether the scheduler matches the specs; active updates; pending reasons.
    #[command(after_help = "Examples:
  aurora-apply status specs/
  aurora-apply status specs/ --watch               redraw every 5 s until Ctrl-C
  aurora-apply status specs/ -o json
  aurora-apply status specs/ --detailed-exitcode   exit 2 when a job drifted")]
    Status(StatusArgs),
    /// Look at, follow and control rolling updates (list, info, wait, pause, resume, abort,
    /// rollback).
    #[command(after_help = "Examples:
  aurora-apply update list devcluster/www-data
  aurora-apply update wait devcluster/www-data/prod/hello
  aurora-apply update pause devcluster/www-data/prod/hello
  aurora-apply update rollback devcluster/www-data/prod/hello")]
    Update(UpdateArgs),
    /// Restart a job's instances a few at a time (as `aurora job restart`).
    #[command(after_help = "Examples:
  aurora-apply restart devcluster/www-data/prod/hello
  aurora-apply restart devcluster/www-data/prod/web --instances 0-3,7")]
    Restart(RestartArgs),
    /// Set up a new spec repository: clusters.json, an example spec, the schema and editor
    /// settings; never overwrites.
    #[command(after_help = "Examples:
  aurora-apply init                       specs/ here, on the local sim:// cluster `devcluster`
  aurora-apply init my-jobs && aurora-apply my-jobs/specs/ --auto-approve
  aurora-apply init --cluster west=https://aurora.example.com:8081/
  aurora-apply init --cluster west=zk://zk1:2181,zk2:2181/aurora/scheduler")]
    Init(InitArgs),
    /// Print the JSON Schema of the spec format.
    #[command(after_help = "Examples:
  aurora-apply schema > aurora-apply.v1.json
  aurora-apply schema | diff - schema/aurora-apply.v1.json    is the committed schema current?
A YAML spec whose first line is `# yaml-language-server: $schema=./aurora-apply.v1.json` gets
completion and checks in editors.")]
    Schema(SchemaArgs),
    /// Run the language server (stdio) for spec files: validate's diagnostics, hover,
    /// completion, quick fixes.
    #[command(after_help = "Examples:
  aurora-apply lsp                        started by an editor, speaks LSP on stdin/stdout
  aurora-apply lsp --stdio                the same, for clients that always pass --stdio
Neovim: vim.lsp.start({ name = 'aurora-apply', cmd = { 'aurora-apply', 'lsp' } }).
Editor set-up (VS Code, Neovim, Helix, Emacs, Zed): docs/editors.md.")]
    Lsp(LspArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  aurora-apply completions bash > /etc/bash_completion.d/aurora-apply
  aurora-apply completions zsh > \"${fpath[1]}/_aurora-apply\"
  aurora-apply completions fish > ~/.config/fish/completions/aurora-apply.fish")]
    Completions(CompletionsArgs),
    /// Write a man page per command into a directory.
    #[command(after_help = "Examples:
  aurora-apply man /usr/local/share/man/man1
  aurora-apply man ./man && man -l ./man/aurora-apply-plan.1")]
    Man(ManArgs),
    /// The local `sim://` cluster: its status, or stop it.
    #[command(after_help = "Examples:
  aurora-apply sim status
  aurora-apply sim stop")]
    Sim(SimArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
