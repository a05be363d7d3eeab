//! Encoding then decoding gives back the same value, for the structs aurora-apply sends and
//! receives most: `JobConfiguration`, `JobUpdateRequest`, `Response` (every `Result`
//! variant the engine reads), and whole CALL / REPLY messages.
//!
//! The generators leave any field unset at random, because every field is optional on the
//! wire and the scheduler omits unset object fields: absent must stay absent, and `Some(0)`
//! must not come back as `None` (or the other way round).

use std::collections::{BTreeMap, BTreeSet};

use aurora_thrift::types::Result as ApiResult;
use aurora_thrift::types::*;
use aurora_thrift::wire::{
    IncomingCall, WireError, decode_reply, decode_reply_from, decode_struct, encode_call,
    encode_reply, encode_struct,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::option::of as opt;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::result::Result;
use thrift::OrderedFloat;

fn text() -> impl Strategy<Value = String> {
    // ASCII identifiers, separators, and some non-ASCII to exercise UTF-8 lengths.
    "[a-zA-Z0-9_./\\- é€\u{1F600}]{0,12}"
}

fn float() -> impl Strategy<Value = OrderedFloat<f64>> {
    prop_oneof![
        (-1.0e12..1.0e12f64),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(f64::INFINITY),
    ]
    .prop_map(OrderedFloat)
}

fn small<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    vec(s, 0..3)
}

fn set<T: std::fmt::Debug + Ord>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = BTreeSet<T>> {
    btree_set(s, 0..3)
}

fn job_key() -> impl Strategy<Value = JobKey> {
    (opt(text()), opt(text()), opt(text())).prop_map(|(r, e, n)| JobKey {
        role: r,
        environment: e,
        name: n,
    })
}

fn identity() -> impl Strategy<Value = Identity> {
    opt(text()).prop_map(|user| Identity { user })
}

fn metadata() -> impl Strategy<Value = Metadata> {
    (opt(text()), opt(text())).prop_map(|(key, value)| Metadata { key, value })
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        float().prop_map(Resource::NumCpus),
        any::<i64>().prop_map(Resource::RamMb),
        any::<i64>().prop_map(Resource::DiskMb),
        text().prop_map(Resource::NamedPort),
        any::<i64>().prop_map(Resource::NumGpus),
        any::<i64>().prop_map(Resource::IpAddr),
    ]
}

fn constraint() -> impl Strategy<Value = Constraint> {
    let task_constraint = prop_oneof![
        (opt(any::<bool>()), opt(set(text()))).prop_map(|(negated, values)| {
            TaskConstraint::Value(ValueConstraint { negated, values })
        }),
        opt(any::<i32>()).prop_map(|limit| TaskConstraint::Limit(LimitConstraint { limit })),
    ];
    (opt(text()), opt(task_constraint))
        .prop_map(|(name, constraint)| Constraint { name, constraint })
}

fn container() -> impl Strategy<Value = Container> {
    let image = prop_oneof![
        (opt(text()), opt(text())).prop_map(|(name, tag)| Image::Docker(DockerImage { name, tag })),
        (opt(text()), opt(text()))
            .prop_map(|(name, image_id)| Image::Appc(AppcImage { name, image_id })),
    ];
    let volume = (opt(text()), opt(text()), opt(any::<i32>())).prop_map(|(c, h, m)| Volume {
        container_path: c,
        host_path: h,
        mode: m.map(Mode),
    });
    let param =
        (opt(text()), opt(text())).prop_map(|(name, value)| DockerParameter { name, value });
    prop_oneof![
        (opt(image), opt(small(volume)))
            .prop_map(|(image, volumes)| Container::Mesos(MesosContainer { image, volumes })),
        (opt(text()), opt(small(param))).prop_map(|(image, parameters)| {
            Container::Docker(DockerContainer { image, parameters })
        }),
    ]
}

fn sla_policy() -> impl Strategy<Value = SlaPolicy> {
    prop_oneof![
        (opt(float()), opt(any::<i64>())).prop_map(|(percentage, duration_secs)| {
            SlaPolicy::PercentageSlaPolicy(PercentageSlaPolicy {
                percentage,
                duration_secs,
            })
        }),
        (opt(any::<i64>()), opt(any::<i64>())).prop_map(|(count, duration_secs)| {
            SlaPolicy::CountSlaPolicy(CountSlaPolicy {
                count,
                duration_secs,
            })
        }),
        (opt(text()), opt(text())).prop_map(|(coordinator_url, status_key)| {
            SlaPolicy::CoordinatorSlaPolicy(CoordinatorSlaPolicy {
                coordinator_url,
                status_key,
            })
        }),
    ]
}

fn fetcher_uri() -> impl Strategy<Value = MesosFetcherURI> {
    (
        opt(text()),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(text()),
    )
        .prop_map(|(value, extract, cache, output_file)| MesosFetcherURI {
            value,
            extract,
            cache,
            output_file,
        })
}

fn task_config() -> impl Strategy<Value = TaskConfig> {
    let scalars = (
        opt(any::<bool>()),
        opt(any::<i32>()),
        opt(any::<i32>()),
        opt(identity()),
        opt(any::<bool>()),
        opt(text()),
        opt(text()),
        opt(job_key()),
    );
    let executor =
        (opt(text()), opt(text())).prop_map(|(name, data)| ExecutorConfig { name, data });
    let partition = (opt(any::<bool>()), opt(any::<i64>())).prop_map(|(reschedule, delay_secs)| {
        PartitionPolicy {
            reschedule,
            delay_secs,
        }
    });
    let collections = (
        opt(set(constraint())),
        opt(btree_map(text(), text(), 0..3)),
        opt(executor),
        opt(set(metadata())),
        opt(container()),
        opt(set(resource())),
        opt(set(fetcher_uri())),
        opt(partition),
        opt(sla_policy()),
    );
    (scalars, collections).prop_map(
        |(
            (is_service, priority, max_task_failures, owner, production, contact_email, tier, job),
            (
                constraints,
                task_links,
                executor_config,
                metadata,
                container,
                resources,
                mesos_fetcher_uris,
                partition_policy,
                sla_policy,
            ),
        )| TaskConfig {
            is_service,
            priority,
            max_task_failures,
            owner,
            production,
            constraints,
            task_links: task_links.map(|m: BTreeMap<String, String>| m),
            contact_email,
            executor_config,
            metadata,
            job,
            container,
            tier,
            resources,
            mesos_fetcher_uris,
            partition_policy,
            sla_policy,
        },
    )
}

fn job_configuration() -> impl Strategy<Value = JobConfiguration> {
    (
        opt(text()),
        opt(any::<i32>()),
        opt(task_config()),
        opt(identity()),
        opt(any::<i32>()),
        opt(job_key()),
    )
        .prop_map(
            |(cron_schedule, policy, task_config, owner, instance_count, key)| JobConfiguration {
                cron_schedule,
                cron_collision_policy: policy.map(CronCollisionPolicy),
                task_config,
                owner,
                instance_count,
                key,
            },
        )
}

fn range() -> impl Strategy<Value = Range> {
    (opt(any::<i32>()), opt(any::<i32>())).prop_map(|(first, last)| Range { first, last })
}

fn update_strategy() -> impl Strategy<Value = JobUpdateStrategy> {
    prop_oneof![
        opt(any::<i32>()).prop_map(|group_size| {
            JobUpdateStrategy::QueueStrategy(QueueJobUpdateStrategy { group_size })
        }),
        (opt(any::<i32>()), opt(any::<bool>())).prop_map(|(group_size, autopause_after_batch)| {
            JobUpdateStrategy::BatchStrategy(BatchJobUpdateStrategy {
                group_size,
                autopause_after_batch,
            })
        }),
        (opt(small(any::<i32>())), opt(any::<bool>())).prop_map(
            |(group_sizes, autopause_after_batch)| {
                JobUpdateStrategy::VarBatchStrategy(VariableBatchJobUpdateStrategy {
                    group_sizes,
                    autopause_after_batch,
                })
            }
        ),
    ]
}

fn update_settings() -> impl Strategy<Value = JobUpdateSettings> {
    (
        (
            opt(any::<i32>()),
            opt(any::<i32>()),
            opt(any::<i32>()),
            opt(any::<i32>()),
            opt(any::<bool>()),
        ),
        (
            opt(set(range())),
            opt(any::<bool>()),
            opt(any::<i32>()),
            opt(any::<bool>()),
            opt(update_strategy()),
        ),
    )
        .prop_map(
            |(
                (group, per_instance, failed, min_wait, rollback),
                (only, wait, pulse, sla, strategy),
            )| {
                JobUpdateSettings {
                    update_group_size: group,
                    max_per_instance_failures: per_instance,
                    max_failed_instances: failed,
                    min_wait_in_instance_running_ms: min_wait,
                    rollback_on_failure: rollback,
                    update_only_these_instances: only,
                    wait_for_batch_completion: wait,
                    block_if_no_pulses_after_ms: pulse,
                    sla_aware: sla,
                    update_strategy: strategy,
                }
            },
        )
}

fn update_request() -> impl Strategy<Value = JobUpdateRequest> {
    (
        opt(task_config()),
        opt(any::<i32>()),
        opt(update_settings()),
        opt(set(metadata())),
    )
        .prop_map(
            |(task_config, instance_count, settings, metadata)| JobUpdateRequest {
                task_config,
                instance_count,
                settings,
                metadata,
            },
        )
}

fn update_key() -> impl Strategy<Value = JobUpdateKey> {
    (opt(job_key()), opt(text())).prop_map(|(job, id)| JobUpdateKey { job, id })
}

fn update_summary() -> impl Strategy<Value = JobUpdateSummary> {
    let state = (opt(any::<i32>()), opt(any::<i64>()), opt(any::<i64>())).prop_map(
        |(status, created, modified)| JobUpdateState {
            status: status.map(JobUpdateStatus),
            created_timestamp_ms: created,
            last_modified_timestamp_ms: modified,
        },
    );
    (
        opt(text()),
        opt(state),
        opt(update_key()),
        opt(set(metadata())),
    )
        .prop_map(|(user, state, key, metadata)| JobUpdateSummary {
            user,
            state,
            key,
            metadata,
        })
}

fn config_group() -> impl Strategy<Value = ConfigGroup> {
    (opt(task_config()), opt(set(range())))
        .prop_map(|(config, instances)| ConfigGroup { config, instances })
}

fn api_result() -> impl Strategy<Value = ApiResult> {
    prop_oneof![
        opt(task_config()).prop_map(|task_config| ApiResult::PopulateJobResult(
            PopulateJobResult { task_config }
        )),
        opt(set(job_configuration()))
            .prop_map(|configs| ApiResult::GetJobsResult(GetJobsResult { configs })),
        (opt(job_key()), opt(set(config_group()))).prop_map(|(key, groups)| {
            ApiResult::ConfigSummaryResult(ConfigSummaryResult {
                summary: Some(ConfigSummary { key, groups }),
            })
        }),
        (opt(update_key()), opt(update_summary())).prop_map(|(key, update_summary)| {
            ApiResult::StartJobUpdateResult(StartJobUpdateResult {
                key,
                update_summary,
            })
        }),
        opt(small(update_summary())).prop_map(|update_summaries| {
            ApiResult::GetJobUpdateSummariesResult(GetJobUpdateSummariesResult { update_summaries })
        }),
        (
            opt(set(config_group())),
            opt(set(config_group())),
            opt(set(config_group())),
            opt(set(config_group())),
        )
            .prop_map(|(add, remove, update, unchanged)| {
                ApiResult::GetJobUpdateDiffResult(GetJobUpdateDiffResult {
                    add,
                    remove,
                    update,
                    unchanged,
                })
            }),
        opt(any::<i32>()).prop_map(|status| {
            ApiResult::PulseJobUpdateResult(PulseJobUpdateResult {
                status: status.map(JobUpdatePulseStatus),
            })
        }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let server_info =
        (opt(text()), opt(text())).prop_map(|(cluster_name, stats_url_prefix)| ServerInfo {
            cluster_name,
            stats_url_prefix,
        });
    let detail = opt(text()).prop_map(|message| ResponseDetail { message });
    (
        opt(any::<i32>()),
        opt(api_result()),
        opt(server_info),
        opt(small(detail)),
    )
        .prop_map(|(code, result, server_info, details)| Response {
            response_code: code.map(ResponseCode),
            result,
            server_info,
            details,
        })
}

/// Runs a property in a thread with a large stack: the generated value trees of these deep
/// structs overflow the default 2 MiB test-thread stack in debug builds.
fn check<S>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static)
where
    S: Strategy + Send + 'static,
{
    let outcome = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let mut runner = TestRunner::new(ProptestConfig {
                cases: 128,
                failure_persistence: None,
                ..ProptestConfig::default()
            });
            runner.run(&strategy, test).map_err(|e| e.to_string())
        })
        .expect("spawn")
        .join()
        .expect("property thread");
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn job_configuration_round_trips() {
    check(job_configuration(), |value| {
        let bytes = encode_struct(&value);
        prop_assert_eq!(
            decode_struct::<JobConfiguration>(&bytes).expect("decodes"),
            value
        );
        Ok(())
    });
}

#[test]
fn job_update_request_round_trips() {
    check(update_request(), |value| {
        let bytes = encode_struct(&value);
        prop_assert_eq!(
            decode_struct::<JobUpdateRequest>(&bytes).expect("decodes"),
            value
        );
        Ok(())
    });
}

#[test]
fn response_round_trips() {
    check(response(), |value| {
        let bytes = encode_struct(&value);
        prop_assert_eq!(decode_struct::<Response>(&bytes).expect("decodes"), value);
        Ok(())
    });
}

#[test]
fn start_job_update_call_round_trips_through_a_message() {
    check(
        (opt(update_request()), opt(text()), any::<i32>()),
        |(request, message, seq)| {
            let call = StartJobUpdateCall { request, message };
            let bytes = encode_call("startJobUpdate", seq, &call);
            let incoming = IncomingCall::parse(&bytes).expect("header decodes");
            prop_assert_eq!(incoming.method.as_str(), "startJobUpdate");
            prop_assert_eq!(incoming.seq, seq);
            prop_assert_eq!(
                incoming.args::<StartJobUpdateCall>().expect("args decode"),
                call
            );
            Ok(())
        },
    );
}

#[test]
fn create_job_call_round_trips_through_a_message() {
    check(
        (opt(job_configuration()), any::<i32>()),
        |(description, seq)| {
            let call = CreateJobCall { description };
            let bytes = encode_call("createJob", seq, &call);
            let incoming = IncomingCall::parse(&bytes).expect("header decodes");
            prop_assert_eq!(incoming.seq, seq);
            prop_assert_eq!(incoming.args::<CreateJobCall>().expect("args decode"), call);
            Ok(())
        },
    );
}

#[test]
fn reply_round_trips_through_a_message() {
    check((response(), any::<i32>()), |(value, seq)| {
        let bytes = encode_reply("getJobs", seq, &value);
        prop_assert_eq!(
            decode_reply("getJobs", seq, &bytes).expect("decodes"),
            value
        );
        Ok(())
    });
}

#[test]
fn truncated_replies_are_errors_not_panics() {
    check(
        (response(), any::<prop::sample::Index>()),
        |(value, cut)| {
            let bytes = encode_reply("getJobs", 1, &value);
            let cut = cut.index(bytes.len());
            prop_assert!(decode_reply("getJobs", 1, &bytes[..cut]).is_err());
            prop_assert!(decode_reply_from("getJobs", 1, &mut &bytes[..cut]).is_err());
            Ok(())
        },
    );
}

#[test]
fn a_reply_read_as_it_arrives_decodes_as_from_its_bytes() {
    check((response(), any::<i32>()), |(value, seq)| {
        let bytes = encode_reply("getJobs", seq, &value);
        prop_assert_eq!(
            decode_reply_from("getJobs", seq, &mut &bytes[..]).expect("decodes"),
            value
        );
        // What follows the message is refused, counted, as from the bytes.
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"xyz");
        prop_assert!(matches!(
            decode_reply_from("getJobs", seq, &mut &longer[..]),
            Err(WireError::TrailingBytes(3))
        ));
        prop_assert!(matches!(
            decode_reply("getJobs", seq, &longer),
            Err(WireError::TrailingBytes(3))
        ));
        Ok(())
    });
}
