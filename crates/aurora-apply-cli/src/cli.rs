//! Command-line arguments (clap derive). Shared flags are defined once here; each command's
//! own arguments live beside its `exec` in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{render::RenderArgs, schema::SchemaArgs, validate::ValidateArgs};

/// Declarative job specs for Apache Aurora: validate, render (plan/apply to come).
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
    /// Print the JSON Schema of the spec format.
    Schema(SchemaArgs),
}
