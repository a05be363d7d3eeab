//! The RPCs: decoding a call, dispatching it, and the `Response`s the handlers build
//! (reference aurora-api.md §1.6). The handlers work on [`Core`], one module per concern as
//! Aurora splits its scheduler:
//!
//! - `read_only`, `update_queries`: `ReadOnlySchedulerImpl` (jobs, tasks, configs, quota,
//!   tiers; update summaries, details and diffs);
//! - `writes`: `SchedulerThriftInterface`'s job changes (createJob, killTasks, restartShards,
//!   addInstances) and the quota and instance-count checks;
//! - `cron_jobs`: `CronJobManager` (cron templates, and the runs that fall due);
//! - `updater`: `JobUpdateControllerImpl`, `JobUpdateStateMachine` and the instance updaters;
//! - `tasks`: `StateManager` / `TaskStateMachine` (the task lifecycle).

mod cron_jobs;
#[cfg(test)]
mod index_tests;
mod read_only;
mod tasks;
mod update_queries;
mod updater;
mod writes;

use aurora_thrift::types::{
    self as t, JobKey, JobUpdateKey, Response, ResponseCode, ResponseDetail,
};
use aurora_thrift::wire::{IncomingCall, WireError};
use thrift::protocol::TSerializable;

pub use tasks::{FAIL_AFTER_KEY, FAIL_INSTANCES_KEY, FINISH_AFTER_KEY};
use updater::Control;

use crate::engine::Core;
use crate::validate::key_wrapper_string;

/// What the server sends back for one call.
#[derive(Debug)]
pub enum Reply {
    /// A REPLY carrying a `Response`.
    Response(Box<Response>),
    /// A Thrift `EXCEPTION` (unknown method, undecodable arguments).
    Exception(thrift::ApplicationErrorKind, String),
}

type R = Response;

fn response(code: ResponseCode, result: Option<t::Result>, details: Vec<Option<String>>) -> R {
    Response {
        response_code: Some(code),
        result,
        server_info: None,
        details: Some(
            details
                .into_iter()
                .map(|message| ResponseDetail { message })
                .collect(),
        ),
    }
}

fn ok(result: Option<t::Result>) -> R {
    response(ResponseCode::OK, result, Vec::new())
}

fn ok_msg(msg: impl Into<String>) -> R {
    response(ResponseCode::OK, None, vec![Some(msg.into())])
}

fn invalid(msg: impl Into<String>) -> R {
    response(ResponseCode::INVALID_REQUEST, None, vec![Some(msg.into())])
}

/// An uncaught runtime exception (`ERROR` with its message; null for NPE-like failures).
fn error(msg: Option<String>) -> R {
    response(ResponseCode::ERROR, None, vec![msg])
}

/// `JOB_UPDATING_ERROR` (JobUpdateControllerImpl.assertNotUpdating: "Job is currently
/// updating").
fn updating(_job: &JobKey) -> R {
    response(
        ResponseCode::JOB_UPDATING_ERROR,
        None,
        vec![Some("Job is currently updating".to_string())],
    )
}

/// The immutable wrapper's `toString` of an update key, as the scheduler's messages print
/// it: ReadOnlySchedulerImpl and JobUpdateControllerImpl hold an `IJobUpdateKey`, printed by
/// Guava's `MoreObjects.toStringHelper` (`IJobUpdateKey{job=IJobKey{role=…, environment=…,
/// name=…}, id=…}`).
fn update_key_string(k: &JobUpdateKey) -> String {
    format!(
        "IJobUpdateKey{{job={}, id={}}}",
        key_wrapper_string(k.job.as_ref()),
        k.id.as_deref().unwrap_or("null")
    )
}

/// A CALL in either protocol the endpoint speaks (reference §2.2).
#[derive(Debug)]
pub enum CallBody<'a> {
    /// TBinaryProtocol.
    Binary(IncomingCall<'a>),
    /// TJSONProtocol.
    Json(crate::tjson::JsonCall),
}

impl CallBody<'_> {
    /// The method name.
    pub fn method(&self) -> &str {
        match self {
            CallBody::Binary(c) => &c.method,
            CallBody::Json(c) => &c.method,
        }
    }

    /// The sequence id.
    pub fn seq(&self) -> i32 {
        match self {
            CallBody::Binary(c) => c.seq,
            CallBody::Json(c) => c.seq,
        }
    }

    fn args<C: TSerializable>(&self) -> Result<C, String> {
        match self {
            CallBody::Binary(c) => c.args::<C>().map_err(|e| match e {
                WireError::Exception { message, .. } => message,
                other => other.to_string(),
            }),
            CallBody::Json(c) => c.args::<C>().map_err(|e| e.to_string()),
        }
    }
}

fn decode<C: TSerializable>(call: &CallBody<'_>) -> Result<C, Reply> {
    // The generated union readers panic on a union with no field set ("return value should
    // have been constructed"); a malformed request must get a Thrift exception instead.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.args::<C>()))
        .unwrap_or_else(|_| Err("malformed Thrift data: a union without a value".to_string()))
        .map_err(|msg| Reply::Exception(thrift::ApplicationErrorKind::ProtocolError, msg))
}

/// Runs one decoded call against the core; `user` is the audit user (reference §2.3).
pub fn dispatch(core: &mut Core, call: &CallBody<'_>, user: &str) -> Reply {
    core.audit_user = user.to_string();
    macro_rules! run {
        ($ty:ty, |$a:ident| $body:expr) => {
            match decode::<$ty>(call) {
                Ok($a) => Reply::Response(Box::new($body)),
                Err(e) => e,
            }
        };
    }
    match call.method() {
        "getRoleSummary" => run!(t::GetRoleSummaryCall, |_a| core.get_role_summary()),
        "getJobSummary" => run!(t::GetJobSummaryCall, |a| core.get_job_summary(a.role)),
        "getTasksStatus" => run!(t::GetTasksStatusCall, |a| core.get_tasks(a.query, false)),
        "getTasksWithoutConfigs" => {
            run!(t::GetTasksWithoutConfigsCall, |a| core
                .get_tasks(a.query, true))
        }
        "getPendingReason" => run!(t::GetPendingReasonCall, |a| core
            .get_pending_reason(a.query)),
        "getConfigSummary" => run!(t::GetConfigSummaryCall, |a| core.get_config_summary(a.job)),
        "getJobs" => run!(t::GetJobsCall, |a| core.get_jobs(a.owner_role)),
        "getQuota" => run!(t::GetQuotaCall, |a| core.get_quota(a.owner_role)),
        "populateJobConfig" => {
            run!(t::PopulateJobConfigCall, |a| core
                .populate_job_config(a.description))
        }
        "getJobUpdateSummaries" => run!(t::GetJobUpdateSummariesCall, |a| core
            .get_job_update_summaries(a.job_update_query)),
        "getJobUpdateDetails" => {
            run!(t::GetJobUpdateDetailsCall, |a| core
                .get_job_update_details(a.key, a.query))
        }
        "getJobUpdateDiff" => run!(t::GetJobUpdateDiffCall, |a| core
            .get_job_update_diff(a.request)),
        "getTierConfigs" => run!(t::GetTierConfigsCall, |_a| core.get_tier_configs()),
        "createJob" => run!(t::CreateJobCall, |a| core.create_job(a.description)),
        "scheduleCronJob" => run!(t::ScheduleCronJobCall, |a| core
            .schedule_cron(a.description, false)),
        "replaceCronTemplate" => run!(t::ReplaceCronTemplateCall, |a| core
            .schedule_cron(a.config, true)),
        "descheduleCronJob" => run!(t::DescheduleCronJobCall, |a| core.deschedule_cron(a.job)),
        "startCronJob" => run!(t::StartCronJobCall, |a| core.start_cron(a.job)),
        "restartShards" => run!(t::RestartShardsCall, |a| core
            .restart_shards(a.job, a.shard_ids)),
        "killTasks" => run!(t::KillTasksCall, |a| core.kill_tasks(
            a.job,
            a.instances,
            a.message
        )),
        "addInstances" => run!(t::AddInstancesCall, |a| core.add_instances(a.key, a.count)),
        "startJobUpdate" => run!(t::StartJobUpdateCall, |a| core
            .start_job_update(a.request, a.message)),
        "pauseJobUpdate" => run!(t::PauseJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Pause,
            a.message
        )),
        "resumeJobUpdate" => run!(t::ResumeJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Resume,
            a.message
        )),
        "abortJobUpdate" => run!(t::AbortJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Abort,
            a.message
        )),
        "rollbackJobUpdate" => run!(t::RollbackJobUpdateCall, |a| core.control_update(
            a.key,
            Control::Rollback,
            a.message
        )),
        "pulseJobUpdate" => run!(t::PulseJobUpdateCall, |a| core.pulse_job_update(a.key)),
        other => Reply::Exception(
            thrift::ApplicationErrorKind::UnknownMethod,
            format!("Invalid method name: '{other}'"),
        ),
    }
}
