// aurora-apply's own description of Apache Aurora 0.22's scheduler API.
//
// Written for this project from the published facts of the API (field ids, types, argument
// ids); see docs/thrift.md. Only what is on the wire matters for compatibility: method names,
// field ids, field types and the complete set of union variants. Three deliberate choices
// that do not change the wire:
//
// * Every struct field is declared `optional`. Requiredness is not on the wire; with
//   default requiredness the Rust generator decodes an absent bool/number/string/collection
//   as a zero value, so "absent" and "empty" could not be told apart (a JobUpdateQuery with
//   role "" matches nothing on the scheduler). `optional` keeps absent fields `None`.
// * Defaults such as `TaskConfig.container = {"mesos": {}}` are left out: the scheduler
//   applies them when a field is absent and the Rust generator would not apply them anyway.
// * Each RPC also has a `<Method>Call` struct with the method's argument ids, all optional.
//   The generator treats service arguments as required, but Aurora's client omits some
//   (startJobUpdate's message, killTasks' instances); the transport and the emulator encode
//   and decode calls through these structs instead of the generated service code.

namespace rs aurora

// ---------------------------------------------------------------------------------------
// Enums

enum ResponseCode {
  INVALID_REQUEST = 0,
  OK = 1,
  ERROR = 2,
  WARNING = 3,
  AUTH_FAILED = 4,
  JOB_UPDATING_ERROR = 5,
  ERROR_TRANSIENT = 6
}

enum MaintenanceMode {
  NONE = 1,
  SCHEDULED = 2,
  DRAINING = 3,
  DRAINED = 4
}

enum ScheduleStatus {
  INIT = 11,
  THROTTLED = 16,
  PENDING = 0,
  ASSIGNED = 9,
  STARTING = 1,
  RUNNING = 2,
  FINISHED = 3,
  PREEMPTING = 13,
  RESTARTING = 12,
  DRAINING = 17,
  FAILED = 4,
  KILLED = 5,
  KILLING = 6,
  LOST = 7,
  PARTITIONED = 18
}

enum CronCollisionPolicy {
  KILL_EXISTING = 0,
  CANCEL_NEW = 1,
  RUN_OVERLAP = 2
}

enum Mode {
  RW = 1,
  RO = 2
}

enum JobUpdateStatus {
  ROLLING_FORWARD = 0,
  ROLLING_BACK = 1,
  ROLL_FORWARD_PAUSED = 2,
  ROLL_BACK_PAUSED = 3,
  ROLLED_FORWARD = 4,
  ROLLED_BACK = 5,
  ABORTED = 6,
  ERROR = 7,
  FAILED = 8,
  ROLL_FORWARD_AWAITING_PULSE = 9,
  ROLL_BACK_AWAITING_PULSE = 10
}

enum JobUpdateAction {
  INSTANCE_UPDATED = 1,
  INSTANCE_ROLLED_BACK = 2,
  INSTANCE_UPDATING = 3,
  INSTANCE_ROLLING_BACK = 4,
  INSTANCE_UPDATE_FAILED = 5,
  INSTANCE_ROLLBACK_FAILED = 6
}

enum JobUpdatePulseStatus {
  OK = 1,
  FINISHED = 2
}

// ---------------------------------------------------------------------------------------
// Constants

const string AURORA_EXECUTOR_NAME = "AuroraExecutor"

const set<ScheduleStatus> ACTIVE_STATES = [
  ScheduleStatus.ASSIGNED, ScheduleStatus.DRAINING, ScheduleStatus.KILLING,
  ScheduleStatus.PENDING, ScheduleStatus.PREEMPTING, ScheduleStatus.RESTARTING,
  ScheduleStatus.RUNNING, ScheduleStatus.STARTING, ScheduleStatus.PARTITIONED,
  ScheduleStatus.THROTTLED
]

const set<ScheduleStatus> SLAVE_ASSIGNED_STATES = [
  ScheduleStatus.ASSIGNED, ScheduleStatus.DRAINING, ScheduleStatus.KILLING,
  ScheduleStatus.PREEMPTING, ScheduleStatus.RESTARTING, ScheduleStatus.RUNNING,
  ScheduleStatus.PARTITIONED, ScheduleStatus.STARTING
]

const set<ScheduleStatus> LIVE_STATES = [
  ScheduleStatus.KILLING, ScheduleStatus.PREEMPTING, ScheduleStatus.RESTARTING,
  ScheduleStatus.DRAINING, ScheduleStatus.PARTITIONED, ScheduleStatus.RUNNING
]

const set<ScheduleStatus> TERMINAL_STATES = [
  ScheduleStatus.FAILED, ScheduleStatus.FINISHED, ScheduleStatus.KILLED, ScheduleStatus.LOST
]

// The scheduler's identifier rule for job key components; the regeneration script turns
// this literal into a Rust raw string.
const string GOOD_IDENTIFIER_PATTERN = "^[\\w\\-\\.]+$"
const string GOOD_IDENTIFIER_PATTERN_JVM = "^[\\w\\-\\.]+$"
const string GOOD_IDENTIFIER_PATTERN_PYTHON = "^[\\w\\-\\.]+$"

const set<JobUpdateStatus> ACTIVE_JOB_UPDATE_STATES = [
  JobUpdateStatus.ROLLING_FORWARD, JobUpdateStatus.ROLLING_BACK,
  JobUpdateStatus.ROLL_FORWARD_PAUSED, JobUpdateStatus.ROLL_BACK_PAUSED,
  JobUpdateStatus.ROLL_FORWARD_AWAITING_PULSE, JobUpdateStatus.ROLL_BACK_AWAITING_PULSE
]

// Spelled as in Aurora's IDL (sic).
const set<JobUpdateStatus> AWAITNG_PULSE_JOB_UPDATE_STATES = [
  JobUpdateStatus.ROLL_FORWARD_AWAITING_PULSE, JobUpdateStatus.ROLL_BACK_AWAITING_PULSE
]

const string BYPASS_LEADER_REDIRECT_HEADER_NAME = "Bypass-Leader-Redirect"
const string TASK_FILESYSTEM_MOUNT_POINT = "taskfs"

// ---------------------------------------------------------------------------------------
// Jobs and tasks

struct JobKey {
  1: optional string role
  2: optional string environment
  3: optional string name
}

// Deprecated by Aurora (AURORA-749) but still part of TaskConfig equality.
struct Identity {
  2: optional string user
}

struct InstanceKey {
  1: optional JobKey jobKey
  2: optional i32 instanceId
}

// A closed interval [first, last].
struct Range {
  1: optional i32 first
  2: optional i32 last
}

struct Metadata {
  1: optional string key
  2: optional string value
}

struct ExecutorConfig {
  1: optional string name
  2: optional string data
}

struct MesosFetcherURI {
  1: optional string value
  2: optional bool extract
  3: optional bool cache
  4: optional string outputFile
}

union Resource {
  1: double numCpus
  2: i64 ramMb
  3: i64 diskMb
  4: string namedPort
  5: i64 numGpus
  // aurora-scheduler fork only (0.23+): an IP address as a scalar resource.
  6: i64 ipAddr
}

struct ValueConstraint {
  1: optional bool negated
  2: optional set<string> values
}

struct LimitConstraint {
  1: optional i32 limit
}

union TaskConstraint {
  1: ValueConstraint value
  2: LimitConstraint limit
}

struct Constraint {
  1: optional string name
  2: optional TaskConstraint constraint
}

struct Volume {
  1: optional string containerPath
  2: optional string hostPath
  3: optional Mode mode
}

struct DockerImage {
  1: optional string name
  2: optional string tag
}

struct AppcImage {
  1: optional string name
  2: optional string imageId
}

union Image {
  1: DockerImage docker
  2: AppcImage appc
}

struct MesosContainer {
  1: optional Image image
  2: optional list<Volume> volumes
}

struct DockerParameter {
  1: optional string name
  2: optional string value
}

struct DockerContainer {
  1: optional string image
  2: optional list<DockerParameter> parameters
}

union Container {
  1: MesosContainer mesos
  2: DockerContainer docker
}

struct PartitionPolicy {
  1: optional bool reschedule
  2: optional i64 delaySecs
}

struct PercentageSlaPolicy {
  1: optional double percentage
  2: optional i64 durationSecs
}

struct CountSlaPolicy {
  1: optional i64 count
  2: optional i64 durationSecs
}

struct CoordinatorSlaPolicy {
  1: optional string coordinatorUrl
  2: optional string statusKey
}

union SlaPolicy {
  1: PercentageSlaPolicy percentageSlaPolicy
  2: CountSlaPolicy countSlaPolicy
  3: CoordinatorSlaPolicy coordinatorSlaPolicy
}

struct TaskConfig {
  28: optional JobKey job
  17: optional Identity owner
  7: optional bool isService
  11: optional i32 priority
  13: optional i32 maxTaskFailures
  30: optional string tier
  32: optional set<Resource> resources
  20: optional set<Constraint> constraints
  33: optional set<MesosFetcherURI> mesosFetcherUris
  29: optional Container container
  25: optional ExecutorConfig executorConfig
  27: optional set<Metadata> metadata
  18: optional bool production
  22: optional map<string, string> taskLinks
  23: optional string contactEmail
  34: optional PartitionPolicy partitionPolicy
  35: optional SlaPolicy slaPolicy
}

struct ResourceAggregate {
  4: optional set<Resource> resources
}

struct JobConfiguration {
  9: optional JobKey key
  7: optional Identity owner
  4: optional string cronSchedule
  5: optional CronCollisionPolicy cronCollisionPolicy
  6: optional TaskConfig taskConfig
  8: optional i32 instanceCount
}

struct JobStats {
  1: optional i32 activeTaskCount
  2: optional i32 finishedTaskCount
  3: optional i32 failedTaskCount
  4: optional i32 pendingTaskCount
}

struct JobSummary {
  1: optional JobConfiguration job
  2: optional JobStats stats
  3: optional i64 nextCronRunMs
}

struct ConfigGroup {
  1: optional TaskConfig config
  3: optional set<Range> instances
}

struct ConfigSummary {
  1: optional JobKey key
  2: optional set<ConfigGroup> groups
}

struct PopulateJobResult {
  2: optional TaskConfig taskConfig
}

struct GetQuotaResult {
  1: optional ResourceAggregate quota
  2: optional ResourceAggregate prodSharedConsumption
  3: optional ResourceAggregate nonProdSharedConsumption
  4: optional ResourceAggregate prodDedicatedConsumption
  5: optional ResourceAggregate nonProdDedicatedConsumption
}

struct TaskEvent {
  1: optional i64 timestamp
  2: optional ScheduleStatus status
  3: optional string message
  4: optional string scheduler
}

struct AssignedTask {
  1: optional string taskId
  2: optional string slaveId
  3: optional string slaveHost
  4: optional TaskConfig task
  5: optional map<string, i32> assignedPorts
  6: optional i32 instanceId
}

struct ScheduledTask {
  1: optional AssignedTask assignedTask
  2: optional ScheduleStatus status
  3: optional i32 failureCount
  4: optional list<TaskEvent> taskEvents
  5: optional string ancestorId
  6: optional i32 timesPartitioned
}

struct ScheduleStatusResult {
  1: optional list<ScheduledTask> tasks
}

struct GetJobsResult {
  1: optional set<JobConfiguration> configs
}

// All fields are AND-ed; offset and limit are applied by getTasksStatus and
// getTasksWithoutConfigs (limit 0 = unlimited).
struct TaskQuery {
  14: optional string role
  9: optional string environment
  2: optional string jobName
  4: optional set<string> taskIds
  5: optional set<ScheduleStatus> statuses
  7: optional set<i32> instanceIds
  10: optional set<string> slaveHosts
  11: optional set<JobKey> jobKeys
  12: optional i32 offset
  13: optional i32 limit
}

struct HostStatus {
  1: optional string host
  2: optional MaintenanceMode mode
}

struct RoleSummary {
  1: optional string role
  2: optional i32 jobCount
  3: optional i32 cronJobCount
}

struct Hosts {
  1: optional set<string> hostNames
}

struct PendingReason {
  1: optional string taskId
  2: optional string reason
}

// ---------------------------------------------------------------------------------------
// Job updates

struct JobUpdateKey {
  1: optional JobKey job
  2: optional string id
}

struct QueueJobUpdateStrategy {
  1: optional i32 groupSize
}

struct BatchJobUpdateStrategy {
  1: optional i32 groupSize
  2: optional bool autopauseAfterBatch
}

struct VariableBatchJobUpdateStrategy {
  1: optional list<i32> groupSizes
  2: optional bool autopauseAfterBatch
}

union JobUpdateStrategy {
  1: QueueJobUpdateStrategy queueStrategy
  2: BatchJobUpdateStrategy batchStrategy
  3: VariableBatchJobUpdateStrategy varBatchStrategy
}

struct JobUpdateSettings {
  1: optional i32 updateGroupSize
  2: optional i32 maxPerInstanceFailures
  3: optional i32 maxFailedInstances
  5: optional i32 minWaitInInstanceRunningMs
  6: optional bool rollbackOnFailure
  7: optional set<Range> updateOnlyTheseInstances
  8: optional bool waitForBatchCompletion
  9: optional i32 blockIfNoPulsesAfterMs
  10: optional bool slaAware
  11: optional JobUpdateStrategy updateStrategy
}

struct JobUpdateState {
  1: optional JobUpdateStatus status
  2: optional i64 createdTimestampMs
  3: optional i64 lastModifiedTimestampMs
}

struct JobUpdateSummary {
  5: optional JobUpdateKey key
  3: optional string user
  4: optional JobUpdateState state
  6: optional set<Metadata> metadata
}

struct InstanceTaskConfig {
  1: optional TaskConfig task
  2: optional set<Range> instances
}

struct JobUpdateInstructions {
  1: optional set<InstanceTaskConfig> initialState
  2: optional InstanceTaskConfig desiredState
  3: optional JobUpdateSettings settings
}

struct JobUpdate {
  1: optional JobUpdateSummary summary
  2: optional JobUpdateInstructions instructions
}

struct JobUpdateEvent {
  1: optional JobUpdateStatus status
  2: optional i64 timestampMs
  3: optional string user
  4: optional string message
}

struct JobInstanceUpdateEvent {
  1: optional i32 instanceId
  2: optional i64 timestampMs
  3: optional JobUpdateAction action
  4: optional string message
}

struct JobUpdateDetails {
  1: optional JobUpdate update
  2: optional list<JobUpdateEvent> updateEvents
  3: optional list<JobInstanceUpdateEvent> instanceEvents
}

// The job key is taken from taskConfig.job.
struct JobUpdateRequest {
  1: optional TaskConfig taskConfig
  2: optional i32 instanceCount
  3: optional JobUpdateSettings settings
  4: optional set<Metadata> metadata
}

// Results are newest first; limit 0 = unlimited; there is no environment filter.
struct JobUpdateQuery {
  2: optional string role
  8: optional JobUpdateKey key
  3: optional JobKey jobKey
  4: optional string user
  5: optional set<JobUpdateStatus> updateStatuses
  6: optional i32 offset
  7: optional i32 limit
}

// ---------------------------------------------------------------------------------------
// Result wrappers

struct ListBackupsResult {
  1: optional set<string> backups
}

struct StartMaintenanceResult {
  1: optional set<HostStatus> statuses
}

struct DrainHostsResult {
  1: optional set<HostStatus> statuses
}

struct QueryRecoveryResult {
  1: optional set<ScheduledTask> tasks
}

struct MaintenanceStatusResult {
  1: optional set<HostStatus> statuses
}

struct EndMaintenanceResult {
  1: optional set<HostStatus> statuses
}

struct RoleSummaryResult {
  1: optional set<RoleSummary> summaries
}

struct JobSummaryResult {
  1: optional set<JobSummary> summaries
}

struct ConfigSummaryResult {
  1: optional ConfigSummary summary
}

struct GetPendingReasonResult {
  1: optional set<PendingReason> reasons
}

struct StartJobUpdateResult {
  1: optional JobUpdateKey key
  2: optional JobUpdateSummary updateSummary
}

struct GetJobUpdateSummariesResult {
  1: optional list<JobUpdateSummary> updateSummaries
}

struct GetJobUpdateDetailsResult {
  1: optional JobUpdateDetails details
  2: optional list<JobUpdateDetails> detailsList
}

struct PulseJobUpdateResult {
  1: optional JobUpdatePulseStatus status
}

struct GetJobUpdateDiffResult {
  1: optional set<ConfigGroup> add
  2: optional set<ConfigGroup> remove
  3: optional set<ConfigGroup> update
  4: optional set<ConfigGroup> unchanged
}

struct TierConfig {
  1: optional string name
  2: optional map<string, string> settings
}

struct GetTierConfigResult {
  1: optional string defaultTierName
  2: optional set<TierConfig> tiers
}

// Every variant is kept: a decoder fails on a variant it does not know.
union Result {
  1: PopulateJobResult populateJobResult
  3: ScheduleStatusResult scheduleStatusResult
  4: GetJobsResult getJobsResult
  5: GetQuotaResult getQuotaResult
  6: ListBackupsResult listBackupsResult
  7: StartMaintenanceResult startMaintenanceResult
  8: DrainHostsResult drainHostsResult
  9: QueryRecoveryResult queryRecoveryResult
  10: MaintenanceStatusResult maintenanceStatusResult
  11: EndMaintenanceResult endMaintenanceResult
  17: RoleSummaryResult roleSummaryResult
  18: JobSummaryResult jobSummaryResult
  20: ConfigSummaryResult configSummaryResult
  21: GetPendingReasonResult getPendingReasonResult
  22: StartJobUpdateResult startJobUpdateResult
  23: GetJobUpdateSummariesResult getJobUpdateSummariesResult
  24: GetJobUpdateDetailsResult getJobUpdateDetailsResult
  25: PulseJobUpdateResult pulseJobUpdateResult
  26: GetJobUpdateDiffResult getJobUpdateDiffResult
  27: GetTierConfigResult getTierConfigResult
}

struct ResponseDetail {
  1: optional string message
}

struct ServerInfo {
  1: optional string clusterName
  3: optional string statsUrlPrefix
}

struct Response {
  1: optional ResponseCode responseCode
  5: optional ServerInfo serverInfo
  3: optional Result result
  6: optional list<ResponseDetail> details
}

// ---------------------------------------------------------------------------------------
// Services. Argument ids are Aurora's and are not always 1..n.

service ReadOnlyScheduler {
  Response getRoleSummary()
  Response getJobSummary(1: string role)
  Response getTasksStatus(1: TaskQuery query)
  Response getTasksWithoutConfigs(1: TaskQuery query)
  Response getPendingReason(1: TaskQuery query)
  Response getConfigSummary(1: JobKey job)
  Response getJobs(1: string ownerRole)
  Response getQuota(1: string ownerRole)
  Response populateJobConfig(1: JobConfiguration description)
  Response getJobUpdateSummaries(1: JobUpdateQuery jobUpdateQuery)
  Response getJobUpdateDetails(1: JobUpdateKey key, 2: JobUpdateQuery query)
  Response getJobUpdateDiff(1: JobUpdateRequest request)
  Response getTierConfigs()
}

service AuroraSchedulerManager extends ReadOnlyScheduler {
  Response createJob(1: JobConfiguration description)
  Response scheduleCronJob(1: JobConfiguration description)
  Response descheduleCronJob(4: JobKey job)
  Response startCronJob(4: JobKey job)
  Response restartShards(5: JobKey job, 3: set<i32> shardIds)
  Response killTasks(4: JobKey job, 5: set<i32> instances, 6: string message)
  Response addInstances(3: InstanceKey key, 4: i32 count)
  Response replaceCronTemplate(1: JobConfiguration config)
  Response startJobUpdate(1: JobUpdateRequest request, 3: string message)
  Response pauseJobUpdate(1: JobUpdateKey key, 3: string message)
  Response resumeJobUpdate(1: JobUpdateKey key, 3: string message)
  Response abortJobUpdate(1: JobUpdateKey key, 3: string message)
  Response rollbackJobUpdate(1: JobUpdateKey key, 2: string message)
  Response pulseJobUpdate(1: JobUpdateKey key)
}

// ---------------------------------------------------------------------------------------
// Call envelopes: the argument structs of the methods above with every argument optional
// (same ids, same types). A CALL message body is one of these; a REPLY body is
// MethodReply (field 0: the Response).

struct GetRoleSummaryCall {}
struct GetJobSummaryCall { 1: optional string role }
struct GetTasksStatusCall { 1: optional TaskQuery query }
struct GetTasksWithoutConfigsCall { 1: optional TaskQuery query }
struct GetPendingReasonCall { 1: optional TaskQuery query }
struct GetConfigSummaryCall { 1: optional JobKey job }
struct GetJobsCall { 1: optional string ownerRole }
struct GetQuotaCall { 1: optional string ownerRole }
struct PopulateJobConfigCall { 1: optional JobConfiguration description }
struct GetJobUpdateSummariesCall { 1: optional JobUpdateQuery jobUpdateQuery }
struct GetJobUpdateDetailsCall { 1: optional JobUpdateKey key, 2: optional JobUpdateQuery query }
struct GetJobUpdateDiffCall { 1: optional JobUpdateRequest request }
struct GetTierConfigsCall {}

struct CreateJobCall { 1: optional JobConfiguration description }
struct ScheduleCronJobCall { 1: optional JobConfiguration description }
struct DescheduleCronJobCall { 4: optional JobKey job }
struct StartCronJobCall { 4: optional JobKey job }
struct RestartShardsCall { 5: optional JobKey job, 3: optional set<i32> shardIds }
struct KillTasksCall { 4: optional JobKey job, 5: optional set<i32> instances, 6: optional string message }
struct AddInstancesCall { 3: optional InstanceKey key, 4: optional i32 count }
struct ReplaceCronTemplateCall { 1: optional JobConfiguration config }
struct StartJobUpdateCall { 1: optional JobUpdateRequest request, 3: optional string message }
struct PauseJobUpdateCall { 1: optional JobUpdateKey key, 3: optional string message }
struct ResumeJobUpdateCall { 1: optional JobUpdateKey key, 3: optional string message }
struct AbortJobUpdateCall { 1: optional JobUpdateKey key, 3: optional string message }
struct RollbackJobUpdateCall { 1: optional JobUpdateKey key, 2: optional string message }
struct PulseJobUpdateCall { 1: optional JobUpdateKey key }
