//! Facts of a `TaskConfig` that several parts read the same way: the named ports it asks for,
//! and the task links Aurora's scheduler fills in from them (ConfigurationManager: links for
//! the `http` and `health` ports when a config gives none). The emulator applies the rule,
//! the engine's comparison expects it and the importer reads the ports, so each reads it here.

use std::collections::{BTreeMap, BTreeSet};

use crate::types::{Resource, TaskConfig};

/// The named ports a task asks for, sorted.
pub fn named_ports(task: &TaskConfig) -> BTreeSet<String> {
    task.resources
        .iter()
        .flatten()
        .filter_map(|r| match r {
            Resource::NamedPort(name) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The task links the scheduler stores for a config without any: one per `http` and
/// `health` port it asks for, `http://%host%:%port:NAME%`.
pub fn default_task_links(task: &TaskConfig) -> BTreeMap<String, String> {
    named_ports(task)
        .into_iter()
        .filter(|p| p == "http" || p == "health")
        .map(|p| {
            let link = format!("http://%host%:%port:{p}%");
            (p, link)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_made_for_http_and_health_ports_only() {
        let task = TaskConfig {
            resources: Some(
                [
                    Resource::NamedPort("http".into()),
                    Resource::NamedPort("admin".into()),
                    Resource::NamedPort("health".into()),
                    Resource::NumCpus(1.0.into()),
                ]
                .into_iter()
                .collect(),
            ),
            ..TaskConfig::default()
        };
        assert_eq!(
            named_ports(&task).into_iter().collect::<Vec<_>>(),
            ["admin", "health", "http"]
        );
        let links = default_task_links(&task);
        assert_eq!(links.len(), 2);
        assert_eq!(links["http"], "http://%host%:%port:http%");
        assert_eq!(links["health"], "http://%host%:%port:health%");
    }
}
