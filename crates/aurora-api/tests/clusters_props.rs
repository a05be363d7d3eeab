//! No input makes cluster loading or resolution panic: arbitrary documents, cluster values,
//! serverset children and member data only ever produce values or typed errors.

use std::path::Path;

use aurora_api::clusters::{Cluster, Clusters, SchedulerEndpoint, ServiceInstance, leader_member};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Small JSON values, biased towards the shapes clusters.json uses.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        "(http|https|sim|ftp)://[a-z0-9:/._-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_owned()),
        Just("zk".to_owned()),
        Just("zk_port".to_owned()),
        Just("scheduler_zk_path".to_owned()),
        Just("scheduler_uri".to_owned()),
        Just("auth_mechanism".to_owned()),
        Just("proxy_url".to_owned()),
        "[a-z_]{1,8}",
    ]
}

fn exercise(all: &Clusters) {
    for c in all.iter() {
        let _ = (c.zk(), c.zk_port(), c.scheduler_uri(), c.auth_mechanism());
        if let Ok(d) = c.discovery() {
            let _ = format!("{d:?}");
        }
    }
}

proptest! {
    #[test]
    fn any_json_document_loads_or_errors(doc in json_value()) {
        if let Ok(all) = Clusters::parse(&doc.to_string(), Path::new("p.json")) {
            exercise(&all);
        }
    }

    #[test]
    fn any_text_loads_or_errors(text in "\\PC{0,64}") {
        if let Ok(all) = Clusters::parse(&text, Path::new("p.json")) {
            exercise(&all);
        }
    }

    #[test]
    fn any_cluster_object_resolves_or_errors(fields in prop::collection::btree_map(key(), json_value(), 0..8)) {
        let fields: Map<String, Value> = fields.into_iter().collect();
        if let Ok(Some(c)) = Cluster::from_object(fields, None) {
            let _ = c.discovery();
        }
    }

    #[test]
    fn any_uri_parses_or_is_rejected(uri in "\\PC{0,24}") {
        if let Some(e) = SchedulerEndpoint::from_uri(&uri) {
            if let Some(api) = e.api_url() {
                prop_assert!(api.ends_with("/api"), "{}", api);
            }
            prop_assert_eq!(e.to_string().to_ascii_lowercase(), uri.to_ascii_lowercase());
        }
    }

    #[test]
    fn leader_is_always_a_member(children in prop::collection::vec("(member_|_c_x-lock-)?[0-9a-z]{0,20}", 0..8)) {
        let picked = leader_member(children.iter().map(String::as_str));
        let members = children.iter().filter(|c| c.starts_with("member_")).count();
        prop_assert_eq!(picked.is_some(), members > 0);
        if let Some(p) = picked {
            prop_assert!(p.starts_with("member_"));
        }
    }

    #[test]
    fn any_member_data_parses_or_errors(data in prop::collection::vec(any::<u8>(), 0..64), doc in json_value()) {
        let _ = ServiceInstance::from_json(&data).map(|i| i.scheduler_url());
        let _ = ServiceInstance::from_json(doc.to_string().as_bytes()).map(|i| i.scheduler_url());
    }
}
