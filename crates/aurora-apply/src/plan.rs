//! The plan: what must change on the scheduler, as plain data.
//!
//! A [`Plan`] is what `plan -o json` prints, what `plan --out FILE` saves and what `apply
//! FILE` executes. Renderers (text, markdown) are views of it in the CLI; nothing here does
//! I/O. Fields that drive execution: `changes[].actions`, `changes[].job_key`,
//! `changes[].execution` and `changes[].live_fingerprint` (checked before executing a saved
//! plan). The safety rails ([`crate::rails`]) read `destructive`, `protected`,
//! `active_update`, `ownership` and `adopt`. Everything else (`fields`, `instances`,
//! `action_reason`, `summary`) explains the plan and never drives it.
//!
//! Changing the format: additive fields bump the minor version of [`FORMAT_VERSION`] and
//! readers ignore what they do not know; anything else bumps the major version, and
//! [`Plan::check_version`] rejects majors it does not know, naming the supported one.

use serde::{Deserialize, Serialize};

use crate::compare::FieldChange;
use crate::key::ClusterJobKey;
use crate::ranges::InstanceRange;

/// Version of the plan document (plan files and `plan -o json`).
/// 1.1 added `changes[].ownership` and `changes[].adopt`; 1.2 `scope.targets`; 1.3 the
/// staged `rollout` (stages of clusters from the project file, the soak time),
/// `scope.stage` (`--stage N`) and `variables`.
pub const FORMAT_VERSION: &str = "1.3";

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: String,
    /// Version of aurora-apply that made the plan.
    pub tool_version: String,
    /// When the plan was made (RFC 3339, UTC).
    pub created_at: String,
    /// Spec files and their combined hash.
    pub inputs: PlanInputs,
    /// Whether pruning was asked for, and its scope.
    pub scope: PlanScope,
    /// Counts, for the verdict line.
    pub summary: Summary,
    /// One entry per job in scope, no-ops included (renderers hide them).
    pub changes: Vec<JobChange>,
    /// The staged rollout of the project file, when there is one (format 1.3): drives the
    /// order in which apply executes the clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout::Rollout>,
    /// The spec variables the plan was made with (format 1.3); display only: the values are
    /// already in `changes[].execution`, and `inputs.spec_hash` covers them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<PlanVariable>,
}

/// A variable the specs used, with its value and where the value came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanVariable {
    /// The name.
    pub name: String,
    /// The declared type (`string`, `integer`, `size`, …).
    #[serde(rename = "type")]
    pub var_type: String,
    /// The value; absent when `sensitive` (never written anywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Declared `sensitive: true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// `command_line`, `environment`, `var_file` or `default`.
    pub source: String,
    /// Where exactly (`vars/prod.yaml:3:11`, `--var replicas=… on the command line`).
    pub from: String,
}

/// What the plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PlanInputs {
    /// The spec files read, as given.
    pub files: Vec<String>,
    /// `sha256:` of every desired job, so a saved plan notices edited specs.
    pub spec_hash: String,
}

/// The prune scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PlanScope {
    /// Jobs absent from the specs are killed (only with the ownership marker).
    pub prune: bool,
    /// `cluster/role` pairs looked at.
    pub roles: Vec<String>,
    /// `--target` patterns: when present the plan is partial — only matching jobs were
    /// planned, and only they could be pruned (format 1.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `--stage N` (1-based): when present the plan is partial — only the clusters of that
    /// stage of `rollout` were planned (format 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<usize>,
}

/// The kind of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Long-running, restarted on exit, updated by rolling updates.
    Service,
    /// Runs to completion once.
    Adhoc,
    /// A cron template; runs on a schedule.
    Cron,
}

/// One step the engine takes on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `createJob`.
    Create,
    /// `startJobUpdate` (rolling update, also for instance count changes).
    Update,
    /// `scheduleCronJob`: creates or replaces a cron template.
    CronSchedule,
    /// `descheduleCronJob`.
    CronDeschedule,
    /// `killTasks` for every instance.
    Kill,
    /// Follow (and pulse) an update an earlier aurora-apply run started, whose instances
    /// already run the spec; nothing new is sent but pulses.
    Follow,
    /// `addInstances`: more instances of an ad-hoc job whose config did not change, copied
    /// from a running instance (`instances.unchanged`); nothing running is touched.
    AddInstances,
    /// Nothing to do.
    Noop,
}

impl Action {
    /// Whether the step destroys running instances or a schedule.
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Kill | Action::CronDeschedule)
    }
}

/// Why a job gets the actions it gets; display only, `execute` never reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionReason {
    /// Not in the specs, carries our marker, and `--prune` was given.
    NotInSpecPruned,
    /// Service ↔ cron ↔ ad-hoc: Aurora cannot update across kinds.
    KindChanged,
    /// Ad-hoc jobs cannot be updated in place (the scheduler refuses updates for non-service
    /// tasks), so a change means kill and create.
    AdhocNotUpdatable,
    /// The update removes instances.
    FewerInstances,
    /// The job exists without our marker; it is left unmarked (adoption is explicit).
    NotOwned,
}

/// Whether the live job is aurora-apply's: whether it carries the ownership marker
/// ([`crate::marker::MANAGED_KEY`]). Jobs that are not are killed, replaced or updated only
/// with explicit consent (see [`crate::rails`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The live job carries the marker: aurora-apply created (or adopted) it.
    Owned,
    /// The live job exists without the marker: created by Aurora's client or another tool.
    Unowned,
    /// No such job on the scheduler (it is to be created).
    Absent,
    /// Not recorded: a plan file written before format 1.1. The rails treat it as not ours.
    #[default]
    Unknown,
}

/// How the instances of a job are affected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InstanceImpact {
    /// Instances that will be created.
    pub add: Vec<InstanceRange>,
    /// Instances that will be killed.
    pub remove: Vec<InstanceRange>,
    /// Instances that will restart with the new config.
    pub update: Vec<InstanceRange>,
    /// Instances left alone.
    pub unchanged: Vec<InstanceRange>,
}

/// An update already running on a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveUpdate {
    /// The update id.
    pub id: String,
    /// Its state (`ROLLING_FORWARD`…).
    pub status: String,
    /// Who started it.
    pub user: String,
    /// When it started (ms since the epoch).
    pub created_at_ms: i64,
    /// Whether it carries our provenance (then apply follows it instead of failing).
    pub ours: bool,
}

/// What `execute` sends, exactly as planned (Thrift binary, base64): the desired
/// `JobConfiguration` and the `JobUpdateSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Execution {
    /// `JobConfiguration`, Thrift binary, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_configuration: Option<String>,
    /// `JobUpdateSettings`, Thrift binary, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_settings: Option<String>,
}

/// The plan for one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobChange {
    /// `cluster/role/environment/name`; a saved plan with any other text here does not load.
    pub job_key: ClusterJobKey,
    /// The job's kind after the change (before it, for kills).
    pub job_kind: JobKind,
    /// Steps in order; `["kill","create"]` is a replacement.
    pub actions: Vec<Action>,
    /// Why, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<ActionReason>,
    /// Whether anything running is destroyed (kills, fewer instances, replacement).
    pub destructive: bool,
    /// `sha256:` of the live state this plan was made against.
    pub live_fingerprint: String,
    /// An update running on the job when planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_update: Option<ActiveUpdate>,
    /// Instance impact.
    pub instances: InstanceImpact,
    /// Changed fields in spec terms.
    pub fields: Vec<FieldChange>,
    /// Instance count before and after (`None` where there is none).
    pub instance_count: (Option<i32>, Option<i32>),
    /// Where the job is declared (`file:line:col`), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The live job carries `protect: true`; its destructive actions are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    /// Whether the live job carries the ownership marker (`unknown` in plans from before
    /// 1.1). Drives the ownership rail ([`crate::rails`]), not execution.
    #[serde(default)]
    pub ownership: Ownership,
    /// The change adds the ownership marker to a job found without it (`--adopt`); present
    /// when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
    /// What execute sends.
    #[serde(default)]
    pub execution: Execution,
}

impl JobChange {
    /// A change of `job_key` with these actions and nothing else known yet: no instances,
    /// fields, update or execution, ownership unknown. Callers fill in what they know (the
    /// planner, and tests that need one change of a given shape).
    pub fn new(job_key: ClusterJobKey, job_kind: JobKind, actions: Vec<Action>) -> Self {
        JobChange {
            job_key,
            job_kind,
            actions,
            action_reason: None,
            destructive: false,
            live_fingerprint: String::new(),
            active_update: None,
            instances: InstanceImpact::default(),
            fields: Vec::new(),
            instance_count: (None, None),
            source: None,
            protected: false,
            ownership: Ownership::Unknown,
            adopt: false,
            execution: Execution::default(),
        }
    }

    /// Whether the job needs no step at all.
    pub fn is_noop(&self) -> bool {
        self.actions.iter().all(|a| *a == Action::Noop)
    }

    /// Whether a step kills the live job or removes its schedule (a kill or a replacement);
    /// fewer instances alone is an update.
    pub fn kills_job(&self) -> bool {
        self.actions.iter().any(|a| a.is_destructive())
    }
}

/// Counts for the verdict line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Jobs to create (services, ad-hoc jobs and new cron jobs).
    pub create: usize,
    /// Jobs to update (rolling updates and cron template replacements).
    pub update: usize,
    /// Jobs to kill or deschedule.
    pub kill: usize,
    /// Jobs to replace (kill then create).
    pub replace: usize,
    /// Jobs already as specified.
    pub noop: usize,
    /// Instances added.
    pub instances_added: usize,
    /// Instances removed.
    pub instances_removed: usize,
    /// Instances restarted.
    pub instances_restarted: usize,
}

impl Summary {
    /// Counts for a list of changes.
    pub fn of(changes: &[JobChange]) -> Self {
        let mut s = Summary::default();
        for c in changes {
            let creates = c.actions.iter().any(|a| {
                matches!(a, Action::Create)
                    || (*a == Action::CronSchedule && c.instance_count.0.is_none())
            });
            let kills = c.actions.iter().any(|a| a.is_destructive());
            if c.is_noop() {
                s.noop += 1;
            } else if creates && kills {
                s.replace += 1;
            } else if kills {
                s.kill += 1;
            } else if creates {
                s.create += 1;
            } else {
                s.update += 1;
            }
            s.instances_added += crate::ranges::count(&c.instances.add);
            s.instances_removed += crate::ranges::count(&c.instances.remove);
            s.instances_restarted += crate::ranges::count(&c.instances.update);
        }
        s
    }

    /// Whether anything changes.
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.kill + self.replace > 0
    }
}

/// A plan file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFormatError {
    /// Not a plan document.
    #[error("not an aurora-apply plan: {0}")]
    Malformed(String),
    /// A change the plan records cannot be carried out as written: the Thrift structs it
    /// carries are missing or do not decode.
    #[error("the plan's change {index} ({job_key}): {problem}")]
    BadChange {
        /// Its position in `changes`, from 0.
        index: usize,
        /// Its job key, as text (the error stays small).
        job_key: String,
        /// What is wrong.
        problem: String,
    },
    /// Written by an incompatible version.
    #[error(
        "plan format version {found} is not supported (this aurora-apply reads {FORMAT_VERSION} and other 1.x)"
    )]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
    },
}

impl JobChange {
    /// Whether this change can be carried out as written: the Thrift structs its actions
    /// need, present and decodable (the key was checked when the plan was read).
    pub fn check_executable(&self) -> Result<(), String> {
        let needs_config = self.actions.iter().any(|a| {
            matches!(
                a,
                Action::Create | Action::CronSchedule | Action::Update | Action::AddInstances
            )
        });
        match &self.execution.job_configuration {
            Some(b64) => decode_b64::<aurora_api::types::JobConfiguration>(b64)
                .map_err(|e| format!("execution.job_configuration does not decode: {e}"))?,
            None if needs_config => {
                return Err("execution.job_configuration is missing".into());
            }
            None => {}
        }
        if let Some(b64) = &self.execution.update_settings {
            decode_b64::<aurora_api::types::JobUpdateSettings>(b64)
                .map_err(|e| format!("execution.update_settings does not decode: {e}"))?;
        }
        Ok(())
    }
}

/// Base64 of a Thrift binary struct, decoded (the plan's `execution` fields).
fn decode_b64<T: thrift::protocol::TSerializable>(b64: &str) -> Result<(), String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("not base64 ({e})"))?;
    aurora_api::wire::decode_struct::<T>(&bytes)
        .map(|_| ())
        .map_err(|e| format!("not a Thrift struct ({e})"))
}

impl Plan {
    /// The changes grouped by cluster (the first part of the job key), clusters sorted.
    pub fn by_cluster(&self) -> Vec<(String, Vec<JobChange>)> {
        let mut groups: std::collections::BTreeMap<String, Vec<JobChange>> =
            std::collections::BTreeMap::new();
        for change in &self.changes {
            groups
                .entry(change.job_key.cluster.clone())
                .or_default()
                .push(change.clone());
        }
        groups.into_iter().collect()
    }

    /// Reads a plan document, rejecting unknown major versions.
    pub fn from_json(text: &str) -> Result<Plan, PlanFormatError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PlanFormatError::Malformed(e.to_string()))?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| PlanFormatError::Malformed("no format_version".into()))?;
        Self::check_version(version)?;
        let plan: Plan =
            serde_json::from_value(value).map_err(|e| PlanFormatError::Malformed(e.to_string()))?;
        // Validated whole now, so a damaged file is reported as such before anything is
        // sent, not as a step that fails half-way.
        for (index, change) in plan.changes.iter().enumerate() {
            change
                .check_executable()
                .map_err(|problem| PlanFormatError::BadChange {
                    index,
                    job_key: change.job_key.to_string(),
                    problem,
                })?;
        }
        Ok(plan)
    }

    /// Accepts any 1.x version.
    pub fn check_version(version: &str) -> Result<(), PlanFormatError> {
        let major = FORMAT_VERSION.split('.').next().unwrap_or("1");
        if version.split('.').next() == Some(major) {
            Ok(())
        } else {
            Err(PlanFormatError::UnsupportedVersion {
                found: version.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_change_is_reported_when_the_plan_is_read() {
        let plan = |change: &str| {
            format!(
                r#"{{"format_version": "1.1", "tool_version": "t", "created_at": "",
                    "inputs": {{"files": [], "spec_hash": ""}}, "scope": {{"prune": false, "roles": []}},
                    "summary": {{"create": 1, "update": 0, "kill": 0, "replace": 0, "noop": 0,
                                "instances_added": 1, "instances_removed": 0, "instances_restarted": 0}},
                    "changes": [{change}]}}"#
            )
        };
        let change = |key: &str, actions: &str, execution: &str| {
            format!(
                r#"{{"job_key": "{key}", "job_kind": "service", "actions": {actions}, "destructive": false, "live_fingerprint": "", "instances": {{"add": [], "remove": [], "update": [], "unchanged": []}}, "fields": [], "instance_count": [null, 1], "execution": {execution}}}"#
            )
        };
        let err = |text: String| Plan::from_json(&text).expect_err("damaged").to_string();
        let e = err(plan(&change("c/r/prod", r#"["create"]"#, "{}")));
        assert!(
            e.contains("c/r/prod: not a job key (expected cluster/role/environment/name)"),
            "{e}"
        );
        let e = err(plan(&change("c/r/prod/x", r#"["create"]"#, "{}")));
        assert!(e.contains("execution.job_configuration is missing"), "{e}");
        let e = err(plan(&change(
            "c/r/prod/x",
            r#"["create"]"#,
            r#"{"job_configuration": "%%%"}"#,
        )));
        assert!(e.contains("does not decode: not base64"), "{e}");
        let e = err(plan(&change(
            "c/r/prod/x",
            r#"["create"]"#,
            r#"{"job_configuration": "AAAA"}"#,
        )));
        assert!(e.contains("does not decode: not a Thrift struct"), "{e}");
    }

    #[test]
    fn rejects_other_major_versions() {
        assert!(Plan::check_version("1.3").is_ok());
        let err = Plan::from_json(r#"{"format_version": "2.0"}"#).map(|_| ());
        assert!(matches!(
            err,
            Err(PlanFormatError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            Plan::from_json("[]"),
            Err(PlanFormatError::Malformed(_))
        ));
    }

    #[test]
    fn a_plan_from_format_1_0_still_reads_with_ownership_unknown() {
        // The shape of a change as aurora-apply wrote it before 1.1: no `ownership`.
        let text = r#"{
          "format_version": "1.0", "tool_version": "0.1.0", "created_at": "2026-01-01T00:00:00Z",
          "inputs": {"files": ["specs"], "spec_hash": "sha256:00"},
          "scope": {"prune": false, "roles": ["devcluster/www-data"]},
          "summary": {"create": 0, "update": 1, "kill": 0, "replace": 0, "noop": 0,
                      "instances_added": 0, "instances_removed": 0, "instances_restarted": 1},
          "changes": [{
            "job_key": "devcluster/www-data/prod/hello", "job_kind": "service",
            "actions": ["update"], "destructive": false, "live_fingerprint": "sha256:01",
            "instances": {"add": [], "remove": [], "update": [{"first": 0, "last": 0}],
                          "unchanged": []},
            "fields": [], "instance_count": [1, 1], "execution": {"job_configuration": "CONFIG"}
          }]
        }"#;
        let config = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(aurora_api::wire::encode_struct(
                &aurora_api::types::JobConfiguration::default(),
            ))
        };
        let text = text.replace("CONFIG", &config);
        let plan = Plan::from_json(&text).expect("a 1.0 plan reads");
        assert_eq!(plan.changes[0].ownership, Ownership::Unknown);
        assert!(!plan.changes[0].adopt);
    }

    #[test]
    fn ownership_serialises_as_a_word_and_adopt_only_when_true() {
        let json =
            serde_json::to_string(&[Ownership::Owned, Ownership::Unowned, Ownership::Absent])
                .unwrap_or_default();
        assert_eq!(json, r#"["owned","unowned","absent"]"#);
    }

    #[test]
    fn actions_serialise_as_a_list_of_words() {
        let json = serde_json::to_string(&[Action::Kill, Action::Create]).unwrap_or_default();
        assert_eq!(json, r#"["kill","create"]"#);
    }
}
