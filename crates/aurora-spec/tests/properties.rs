//! Properties of conversion on generated specs: the key is the same everywhere, resources
//! agree between Thrift (MiB) and the Thermos payload (bytes), named ports cover every
//! `{{thermos.ports[...]}}`, update settings are consistent, and rendering is deterministic.

use aurora_spec::{Format, LoadOptions, SourceFile, load_sources};
use aurora_thrift::types::{JobUpdateStrategy, Resource};
use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_spec() -> impl Strategy<Value = Value> {
    (
        "[a-z][a-z0-9_-]{0,10}",
        prop::sample::select(vec!["prod", "devel", "test", "staging3"]),
        prop::sample::select(vec!["service", "adhoc", "cron"]),
        1u32..100,
        (1u32..64, 1u32..4096, 1u32..8192),
        prop::collection::vec(("[a-z]{1,6}", prop::option::of("[a-z]{1,5}")), 1..4),
        prop::option::of((1u32..5, any::<bool>())),
        any::<bool>(),
    )
        .prop_map(|(name, env, kind, instances, (cpu, ram, disk), procs, batch, sequential)| {
            let mut seen = std::collections::BTreeSet::new();
            let processes: Vec<Value> = procs
                .into_iter()
                .filter(|(n, _)| seen.insert(n.clone()))
                .map(|(n, port)| {
                    let cmd = match port {
                        Some(p) => format!("./run --port={{{{thermos.ports[{p}]}}}}"),
                        None => "./run".to_string(),
                    };
                    json!({"name": n, "cmdline": cmd})
                })
                .collect();
            let mut job = json!({
                "key": format!("devcluster/www-data/{env}/{name}"),
                "kind": kind,
                "instances": instances,
                "resources": {"cpu": f64::from(cpu) / 4.0, "ram": format!("{ram}MiB"), "disk": format!("{disk}MiB")},
                "task": {"processes": processes, "sequential": sequential},
            });
            if kind == "cron" {
                job["cron"] = json!({"schedule": "*/5 * * * *"});
            } else if let Some((size, batch)) = batch {
                let strategy = if batch { json!({"batch": {"size": size}}) } else { json!({"queue": {"size": size}}) };
                job["update"] = json!({"strategy": strategy, "watch": "30s"});
            }
            json!({"apiVersion": "aurora-apply/v1", "jobs": [job]})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn conversion_invariants(doc in arb_spec()) {
        let text = serde_json::to_string(&doc).expect("json");
        let load = || load_sources(&[SourceFile::new("p.json", text.clone(), Format::Json)], &LoadOptions::default());
        let jobs = load().map_err(|d| TestCaseError::fail(format!("{:?}", d.sorted().iter().map(ToString::to_string).collect::<Vec<_>>())))?;
        let j = &jobs[0];
        let tc = j.config.task_config.as_ref().expect("task config");
        prop_assert_eq!(&tc.job, &j.config.key);
        prop_assert_eq!(j.config.instance_count, Some(i32::try_from(doc["jobs"][0]["instances"].as_u64().expect("n")).expect("i32")));

        let data: Value = serde_json::from_str(tc.executor_config.as_ref().and_then(|e| e.data.as_deref()).expect("data")).expect("payload is JSON");
        let resources = tc.resources.as_ref().expect("resources");
        let ram_mb = resources.iter().find_map(|r| if let Resource::RamMb(m) = r { Some(*m) } else { None }).expect("ram");
        prop_assert_eq!(data["task"]["resources"]["ram"].as_i64(), Some(ram_mb * 1024 * 1024));
        prop_assert_eq!(data["role"].as_str(), Some("www-data"));

        let ports: Vec<&str> = resources.iter().filter_map(|r| if let Resource::NamedPort(p) = r { Some(p.as_str()) } else { None }).collect();
        for p in data["task"]["processes"].as_array().expect("processes") {
            for name in aurora_spec::thermos::port_refs(p["cmdline"].as_str().expect("cmdline")) {
                prop_assert!(ports.contains(&name.as_str()), "port {} not requested", name);
            }
        }

        match &j.update {
            None => prop_assert!(j.config.cron_schedule.is_some()),
            Some(u) => {
                let s = u.settings.as_ref().expect("settings");
                match s.update_strategy.as_ref().expect("strategy always set") {
                    JobUpdateStrategy::QueueStrategy(q) => {
                        prop_assert_eq!(s.update_group_size, q.group_size);
                        prop_assert_eq!(s.wait_for_batch_completion, Some(false));
                    }
                    JobUpdateStrategy::BatchStrategy(b) => {
                        prop_assert_eq!(s.update_group_size, b.group_size);
                        prop_assert_eq!(s.wait_for_batch_completion, Some(true));
                    }
                    JobUpdateStrategy::VarBatchStrategy(_) => {}
                }
                prop_assert_eq!(u.task_config.as_ref(), Some(tc));
            }
        }

        let again = load().expect("valid");
        prop_assert_eq!(
            aurora_thrift::wire::encode_struct(&again[0].config),
            aurora_thrift::wire::encode_struct(&j.config)
        );
    }
}
