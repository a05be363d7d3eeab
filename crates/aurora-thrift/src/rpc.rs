//! The scheduler's RPCs as types: one zero-sized marker per method implementing
//! [`Rpc`], so the transport, the retry policy and the emulator agree on
//! names, argument structs and idempotency from one table.

use crate::types;
use crate::wire::Rpc;

macro_rules! rpcs {
    ($( $(#[$doc:meta])* $ty:ident = $method:literal, $call:ident, idempotent: $idem:literal, read_only: $ro:literal; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $ty;
            impl Rpc for $ty {
                const METHOD: &'static str = $method;
                type Call = types::$call;
                const IDEMPOTENT: bool = $idem;
                const READ_ONLY: bool = $ro;
            }
        )*

        /// Every method name of ReadOnlyScheduler and AuroraSchedulerManager, in IDL order.
        pub const ALL_METHODS: &[&str] = &[$($method),*];

        /// The JSON view ([`crate::json`]) of a call's arguments, decoded with the argument
        /// struct of its method; `None` for a method this API does not have.
        pub fn call_args_json(
            call: &crate::wire::IncomingCall<'_>,
        ) -> Option<Result<serde_json::Value, crate::wire::WireError>> {
            match call.method.as_str() {
                $($method => Some(call.args::<types::$call>().map(|a| crate::json::to_json(&a))),)*
                _ => None,
            }
        }

        /// Re-encodes a call from its decoded arguments (same method, same sequence id).
        pub fn reencode_call(
            call: &crate::wire::IncomingCall<'_>,
        ) -> Option<Result<Vec<u8>, crate::wire::WireError>> {
            match call.method.as_str() {
                $($method => Some(call.args::<types::$call>().map(|a| crate::wire::encode_call(&call.method, call.seq, &a))),)*
                _ => None,
            }
        }

        /// Whether `method` only reads state (a `ReadOnlyScheduler` method, which needs no
        /// authentication); `None` for a method this API does not have.
        pub fn is_read_only(method: &str) -> Option<bool> {
            match method {
                $($method => Some($ro),)*
                _ => None,
            }
        }

        /// Whether `method` may be re-sent when its outcome is unknown; `None` for a method
        /// this API does not have.
        pub fn is_idempotent(method: &str) -> Option<bool> {
            match method {
                $($method => Some($idem),)*
                _ => None,
            }
        }
    };
}

rpcs! {
    // ReadOnlyScheduler
    /// Per-role job and cron counts.
    GetRoleSummary = "getRoleSummary", GetRoleSummaryCall, idempotent: true, read_only: true;
    /// Jobs synthesised from all stored tasks, with stats.
    GetJobSummary = "getJobSummary", GetJobSummaryCall, idempotent: true, read_only: true;
    /// Tasks matching a query, with full configs.
    GetTasksStatus = "getTasksStatus", GetTasksStatusCall, idempotent: true, read_only: true;
    /// Tasks matching a query, without executor data.
    GetTasksWithoutConfigs = "getTasksWithoutConfigs", GetTasksWithoutConfigsCall, idempotent: true, read_only: true;
    /// Why tasks are pending.
    GetPendingReason = "getPendingReason", GetPendingReasonCall, idempotent: true, read_only: true;
    /// Active tasks of a job grouped by config.
    GetConfigSummary = "getConfigSummary", GetConfigSummaryCall, idempotent: true, read_only: true;
    /// Jobs of a role (services synthesised from active tasks; cron templates).
    GetJobs = "getJobs", GetJobsCall, idempotent: true, read_only: true;
    /// Quota and consumption of a role.
    GetQuota = "getQuota", GetQuotaCall, idempotent: true, read_only: true;
    /// The scheduler's validate-and-populate, as a dry run.
    PopulateJobConfig = "populateJobConfig", PopulateJobConfigCall, idempotent: true, read_only: true;
    /// Update summaries matching a query, newest first.
    GetJobUpdateSummaries = "getJobUpdateSummaries", GetJobUpdateSummariesCall, idempotent: true, read_only: true;
    /// Update details (instructions and events) matching a query.
    GetJobUpdateDetails = "getJobUpdateDetails", GetJobUpdateDetailsCall, idempotent: true, read_only: true;
    /// What an update request would add, remove, change or leave alone.
    GetJobUpdateDiff = "getJobUpdateDiff", GetJobUpdateDiffCall, idempotent: true, read_only: true;
    /// The tier configuration.
    GetTierConfigs = "getTierConfigs", GetTierConfigsCall, idempotent: true, read_only: true;
    // AuroraSchedulerManager
    /// Creates a service or ad-hoc job. Not idempotent: a second call fails with "already
    /// exists", so a lost reply must be resolved by reading state.
    CreateJob = "createJob", CreateJobCall, idempotent: false, read_only: false;
    /// Creates or replaces a cron job (an upsert).
    ScheduleCronJob = "scheduleCronJob", ScheduleCronJobCall, idempotent: true, read_only: false;
    /// Removes a cron template; OK when there is none.
    DescheduleCronJob = "descheduleCronJob", DescheduleCronJobCall, idempotent: true, read_only: false;
    /// Runs a cron job now. Each call starts a run.
    StartCronJob = "startCronJob", StartCronJobCall, idempotent: false, read_only: false;
    /// Restarts instances. Each call restarts them again.
    RestartShards = "restartShards", RestartShardsCall, idempotent: false, read_only: false;
    /// Kills active tasks; "No tasks to kill." when nothing matches.
    KillTasks = "killTasks", KillTasksCall, idempotent: true, read_only: false;
    /// Adds instances copying an existing one. Each call adds more.
    AddInstances = "addInstances", AddInstancesCall, idempotent: false, read_only: false;
    /// Replaces an existing cron template.
    ReplaceCronTemplate = "replaceCronTemplate", ReplaceCronTemplateCall, idempotent: false, read_only: false;
    /// Starts a rolling update; a retry is recognised by its update-id metadata.
    StartJobUpdate = "startJobUpdate", StartJobUpdateCall, idempotent: true, read_only: false;
    /// Pauses an update.
    PauseJobUpdate = "pauseJobUpdate", PauseJobUpdateCall, idempotent: false, read_only: false;
    /// Resumes a paused update.
    ResumeJobUpdate = "resumeJobUpdate", ResumeJobUpdateCall, idempotent: false, read_only: false;
    /// Aborts an update, leaving instances as they are.
    AbortJobUpdate = "abortJobUpdate", AbortJobUpdateCall, idempotent: false, read_only: false;
    /// Rolls an update back.
    RollbackJobUpdate = "rollbackJobUpdate", RollbackJobUpdateCall, idempotent: false, read_only: false;
    /// Tells a coordinated update to keep going.
    PulseJobUpdate = "pulseJobUpdate", PulseJobUpdateCall, idempotent: true, read_only: false;
}
