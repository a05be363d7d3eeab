//! The metadata this tool writes on jobs and updates.
//!
//! * Ownership: every job aurora-apply creates carries [`MANAGED_KEY`] in
//!   `TaskConfig.metadata`. Pruning only ever kills jobs that carry it. Adding it to an
//!   existing job changes its `TaskConfig` and so rolls every instance, which is why the
//!   marker never causes an update by itself: a job found without it stays without it
//!   (adoption is explicit).
//! * Protection: `protect: true` in a spec is written as [`PROTECT_KEY`] on the live job, so
//!   the protection holds even after the spec entry is deleted.
//! * Provenance: every update started carries tool version, spec hash, user and the
//!   client-style update id in `JobUpdateRequest.metadata`, which restarts nothing and lets
//!   a retried `startJobUpdate` recognise itself.

use std::collections::BTreeSet;

use aurora_api::types::{Metadata, TaskConfig};

/// Ownership marker key (value [`MANAGED_VALUE`]).
pub const MANAGED_KEY: &str = "aurora-apply.managed";
/// Ownership marker value.
pub const MANAGED_VALUE: &str = "true";
/// Protection marker key (value `"true"`).
pub const PROTECT_KEY: &str = "aurora-apply.protect";
/// The update id key Aurora's own client uses; the scheduler returns it with an in-progress
/// update so a retry can tell its own update from someone else's.
pub const UPDATE_ID_KEY: &str = "org.apache.aurora.client.update_id";
/// Provenance: the tool and its version.
pub const TOOL_KEY: &str = "aurora-apply.tool";
/// Provenance: hash of the specs applied.
pub const SPEC_HASH_KEY: &str = "aurora-apply.spec_hash";
/// Provenance: the local user who applied.
pub const USER_KEY: &str = "aurora-apply.user";
/// Provenance: the git commit of the specs, when they are in a repository.
pub const GIT_COMMIT_KEY: &str = "aurora-apply.git_commit";

fn has(task: &TaskConfig, key: &str) -> bool {
    task.metadata
        .iter()
        .flatten()
        .any(|m| m.key.as_deref() == Some(key) && m.value.as_deref() == Some("true"))
}

/// Whether a live task carries the ownership marker.
pub fn is_managed(task: &TaskConfig) -> bool {
    has(task, MANAGED_KEY)
}

/// Whether a live task carries the protection marker.
pub fn is_protected(task: &TaskConfig) -> bool {
    has(task, PROTECT_KEY)
}

/// Sets or removes a `"true"` marker.
pub fn set_marker(task: &mut TaskConfig, key: &str, on: bool) {
    let metadata = task.metadata.get_or_insert_with(BTreeSet::new);
    metadata.retain(|m| m.key.as_deref() != Some(key));
    if on {
        metadata.insert(Metadata {
            key: Some(key.to_string()),
            value: Some("true".to_string()),
        });
    }
}

/// Whether `metadata` names this update id (our own earlier attempt).
pub fn has_update_id(metadata: Option<&BTreeSet<Metadata>>, id: &str) -> bool {
    metadata
        .into_iter()
        .flatten()
        .any(|m| m.key.as_deref() == Some(UPDATE_ID_KEY) && m.value.as_deref() == Some(id))
}

/// The update's target (task config, instance count, settings) as a hash, recorded on every
/// update aurora-apply starts: a later run recognises an update that targets its own spec.
pub const CONFIG_HASH_KEY: &str = "aurora-apply.config_hash";

/// Whether `metadata` has `key` = `value`.
pub fn has_entry(metadata: Option<&BTreeSet<Metadata>>, key: &str, value: &str) -> bool {
    metadata
        .into_iter()
        .flatten()
        .any(|m| m.key.as_deref() == Some(key) && m.value.as_deref() == Some(value))
}

/// Whether an update summary's metadata says aurora-apply started it.
pub fn is_our_update(metadata: Option<&BTreeSet<Metadata>>) -> bool {
    metadata
        .into_iter()
        .flatten()
        .any(|m| m.key.as_deref() == Some(TOOL_KEY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let mut task = TaskConfig::default();
        assert!(!is_managed(&task));
        set_marker(&mut task, MANAGED_KEY, true);
        set_marker(&mut task, PROTECT_KEY, true);
        assert!(is_managed(&task) && is_protected(&task));
        set_marker(&mut task, PROTECT_KEY, false);
        assert!(is_managed(&task) && !is_protected(&task));
    }
}
