//! Command-line arguments (clap derive). Shared flags are defined once here; each command's
//! own arguments live beside its `exec` in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::time::Duration;

use aurora_apply::execute::OnFailure;

use crate::commands::{
    apply::ApplyArgs,
    completions::CompletionsArgs,
    destroy::{DestroyArgs, KillArgs},
    plan::PlanArgs,
    render::RenderArgs,
    schema::SchemaArgs,
    status::StatusArgs,
    update::UpdateArgs,
    validate::ValidateArgs,
};

/// Declarative job specs for Apache Aurora: plan and apply YAML/TOML job specs against a live
/// scheduler. `aurora-apply PATH...` is `aurora-apply apply PATH...`.
#[derive(Debug, Parser)]
#[command(name = "aurora-apply", version, about)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to use colour (NO_COLOR is honoured).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// A clusters.json to use instead of Aurora's search path and the specs' own
    /// clusters.json.
    #[arg(long, value_name = "FILE", global = true)]
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

/// Options of planning.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Kill jobs created by aurora-apply that are no longer in the specs (roles of the
    /// specs only, plus `--scope`).
    #[arg(long)]
    pub prune: bool,
    /// Take over jobs of the specs that exist without aurora-apply's ownership marker: the
    /// marker is added, which rolls their instances (the plan shows it).
    #[arg(long)]
    pub adopt: bool,
    /// Also look at (and, with --prune, prune in) this cluster or cluster/role, besides the
    /// roles of the specs; repeatable. Needed to prune a role whose last job left the specs.
    #[arg(long, value_name = "CLUSTER[/ROLE]", value_parser = parse_scope)]
    pub scope: Vec<aurora_apply::planning::Scope>,
    /// Roles read in parallel.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub parallelism: usize,
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
            observe: aurora_apply::observe::ObserveOptions {
                parallelism: self.parallelism.max(1),
                ..aurora_apply::observe::ObserveOptions::default()
            },
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

/// Options of executing.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow kills, fewer instances and replacements without interactive confirmation.
    #[arg(long)]
    pub allow_destroy: bool,
    /// Allow a prune that deletes more owned jobs than it keeps.
    #[arg(long)]
    pub allow_mass_prune: bool,
    /// Return once updates have started instead of waiting for them.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for rollouts (e.g. `30m`); exit 7 when exceeded.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Time between two polls of the scheduler.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Jobs changed at the same time.
    #[arg(long = "jobs", default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Reaction to a failed job.
    #[arg(long, value_enum, default_value_t = OnFailureArg::Stop)]
    pub on_failure: OnFailureArg,
    /// Audit message recorded with updates and kills.
    #[arg(short, long)]
    pub message: Option<String>,
}

impl RunArgs {
    /// The session's run options.
    pub fn run_options(&self) -> crate::session::RunOptions {
        crate::session::RunOptions {
            parallelism: self.jobs.max(1),
            on_failure: match self.on_failure {
                OnFailureArg::Stop => OnFailure::Stop,
                OnFailureArg::Continue => OnFailure::Continue,
            },
            wait: !self.no_wait,
            timeout: self.timeout,
            poll_interval: self.poll_interval,
            message: self.message.clone(),
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
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check specs offline: syntax, schema and the scheduler's rules; all errors at once.
    Validate(ValidateArgs),
    /// Print what would be sent: the JobConfiguration of every job.
    Render(RenderArgs),
    /// Desired vs live: what apply would do, per job.
    Plan(PlanArgs),
    /// Plan, confirm and execute; wait for rollouts.
    Apply(ApplyArgs),
    /// Kill and deschedule every job the specs describe.
    Destroy(DestroyArgs),
    /// Kill and deschedule jobs by key.
    Kill(KillArgs),
    /// Whether the scheduler matches the specs; active updates; pending reasons.
    Status(StatusArgs),
    /// Pause, resume, abort or roll back a job's active update.
    Update(UpdateArgs),
    /// Print the JSON Schema of the spec format.
    Schema(SchemaArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// Command names, for telling `aurora-apply PATH` (= apply) from a command.
pub const COMMANDS: &[&str] = &[
    "validate",
    "render",
    "plan",
    "apply",
    "destroy",
    "kill",
    "status",
    "update",
    "schema",
    "completions",
    "help",
];

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_is_listed_for_the_bare_path_form() {
        for sub in Cli::command().get_subcommands() {
            assert!(COMMANDS.contains(&sub.get_name()), "{}", sub.get_name());
        }
    }
}
