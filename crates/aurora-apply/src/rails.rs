//! The safety rails that no confirmation passes, as one pure function of a plan and the
//! consent given on the command line.
//!
//! In: a [`Plan`] (from `plan`, a saved plan file, or `kill`/`destroy`) and a [`Consent`].
//! Out: the first [`Refusal`], in the documented order, or none. Nothing is sent and nothing
//! is printed: the CLI words each refusal, picks its exit code, and then asks for
//! confirmation (destructive changes, `--auto-approve`), which is not decided here because
//! an interactive "yes" passes it.
//!
//! The ownership rail is what makes the marker mean something on every path, not only for
//! `--prune`: a job the plan does not know to carry [`crate::marker::MANAGED_KEY`] is only
//! killed or replaced with [`Consent::allow_foreign`], and only updated when the change adopts
//! it ([`JobChange::adopt`], from `--adopt`), so a spec whose key collides with someone
//! else's job cannot roll, replace or destroy it by accident.

use crate::key::ClusterJobKey;
use crate::plan::{ActionReason, ActiveUpdate, JobChange, Ownership, Plan};

/// What the command line consents to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consent {
    /// Kill or replace jobs aurora-apply did not create (`--allow-foreign`; `kill JOBKEY`
    /// names its jobs, which is the consent).
    pub allow_foreign: bool,
    /// A prune that kills more owned jobs than the plan keeps (`--allow-mass-prune`).
    pub allow_mass_prune: bool,
}

/// Why a plan may not run. Every variant means nothing was sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Refusal {
    /// An update not started by aurora-apply is in progress on a job of the plan (a
    /// conflict, exit 4, not a rail the user can pass with a flag).
    ForeignUpdate {
        /// The job.
        job_key: ClusterJobKey,
        /// The update, with who started it and when.
        update: Box<ActiveUpdate>,
    },
    /// The live job carries `protect: true` and would be killed, replaced or shrunk.
    Protected {
        /// The job.
        job_key: ClusterJobKey,
    },
    /// Jobs aurora-apply did not create would be changed without consent. Each list is in
    /// plan order; at least one is not empty.
    NotOwned {
        /// Would be killed or replaced: needs [`Consent::allow_foreign`].
        killed: Vec<ClusterJobKey>,
        /// Would be updated (rolling update, cron template, more instances) without adding
        /// the marker: needs `--adopt`.
        updated: Vec<ClusterJobKey>,
        /// A saved plan from before format 1.1 does not say whether these existing jobs are
        /// ours: plan again.
        unknown: Vec<ClusterJobKey>,
    },
    /// A prune that kills more owned jobs than the plan keeps.
    MassPrune {
        /// Jobs pruned.
        pruned: usize,
        /// Jobs kept.
        kept: usize,
    },
}

/// What a change to a job that is not known to be ours needs, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnershipNeed {
    /// It kills or replaces the job: `--allow-foreign`.
    AllowForeign,
    /// It updates the job in place without adopting it: `--adopt`.
    Adopt,
    /// Ownership was not recorded (a plan file from before format 1.1): plan again.
    Replan,
}

/// What `change` needs to pass the ownership rail (`None`: nothing, e.g. an owned job, a
/// new job, a no-op, or an update that adopts the job).
pub fn ownership_need(change: &JobChange) -> Option<OwnershipNeed> {
    if change.is_noop() {
        return None;
    }
    match change.ownership {
        Ownership::Owned | Ownership::Absent => None,
        // Only a change to a job that existed when planned can harm someone else's job.
        Ownership::Unknown if change.live_fingerprint == crate::live::absent_fingerprint() => None,
        Ownership::Unknown => Some(OwnershipNeed::Replan),
        Ownership::Unowned if change.kills_job() => Some(OwnershipNeed::AllowForeign),
        Ownership::Unowned if change.adopt => None,
        Ownership::Unowned => Some(OwnershipNeed::Adopt),
    }
}

/// Checks `plan` against the rails no prompt passes, in order: an update not ours in
/// progress, protection, ownership, mass prune.
pub fn check(plan: &Plan, consent: &Consent) -> Result<(), Refusal> {
    let changed: Vec<&JobChange> = plan.changes.iter().filter(|c| !c.is_noop()).collect();
    if let Some((c, u)) = changed
        .iter()
        .find_map(|c| Some((c, c.active_update.as_ref().filter(|u| !u.ours)?)))
    {
        return Err(Refusal::ForeignUpdate {
            job_key: c.job_key.clone(),
            update: Box::new(u.clone()),
        });
    }
    if let Some(c) = changed.iter().find(|c| c.protected && c.destructive) {
        return Err(Refusal::Protected {
            job_key: c.job_key.clone(),
        });
    }
    let (mut killed, mut updated, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for c in &changed {
        match ownership_need(c) {
            Some(OwnershipNeed::AllowForeign) if !consent.allow_foreign => {
                killed.push(c.job_key.clone());
            }
            Some(OwnershipNeed::Adopt) => updated.push(c.job_key.clone()),
            Some(OwnershipNeed::Replan) => unknown.push(c.job_key.clone()),
            _ => {}
        }
    }
    if !(killed.is_empty() && updated.is_empty() && unknown.is_empty()) {
        return Err(Refusal::NotOwned {
            killed,
            updated,
            unknown,
        });
    }
    let pruned = changed
        .iter()
        .filter(|c| c.action_reason == Some(ActionReason::NotInSpecPruned))
        .count();
    let kept = plan.changes.len() - pruned;
    if pruned > 0 && pruned > kept && !consent.allow_mass_prune {
        return Err(Refusal::MassPrune { pruned, kept });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, JobKind, PlanInputs, PlanScope, Summary};

    fn change(key: &str, actions: Vec<Action>, ownership: Ownership) -> JobChange {
        JobChange {
            destructive: actions.iter().any(|a| a.is_destructive()),
            live_fingerprint: "sha256:live".into(),
            instance_count: (Some(1), Some(1)),
            ownership,
            ..JobChange::new(key.parse().expect("key"), JobKind::Service, actions)
        }
    }

    fn plan_of(changes: Vec<JobChange>) -> Plan {
        Plan {
            format_version: crate::plan::FORMAT_VERSION.into(),
            tool_version: "test".into(),
            created_at: String::new(),
            inputs: PlanInputs::default(),
            scope: PlanScope::default(),
            summary: Summary::of(&changes),
            changes,
            variables: Vec::new(),
            rollout: None,
        }
    }

    fn not_owned(killed: &[&str], updated: &[&str], unknown: &[&str]) -> Result<(), Refusal> {
        let owned = |keys: &[&str]| keys.iter().map(|k| k.parse().expect("key")).collect();
        Err(Refusal::NotOwned {
            killed: owned(killed),
            updated: owned(updated),
            unknown: owned(unknown),
        })
    }

    #[test]
    fn owned_and_new_jobs_need_no_consent() {
        let plan = plan_of(vec![
            change("c/r/e/kill", vec![Action::Kill], Ownership::Owned),
            change("c/r/e/update", vec![Action::Update], Ownership::Owned),
            change("c/r/e/new", vec![Action::Create], Ownership::Absent),
            change("c/r/e/same", vec![Action::Noop], Ownership::Unowned),
        ]);
        assert_eq!(check(&plan, &Consent::default()), Ok(()));
    }

    #[test]
    fn killing_or_replacing_a_foreign_job_needs_allow_foreign() {
        let plan = plan_of(vec![
            change("c/r/e/kill", vec![Action::Kill], Ownership::Unowned),
            change(
                "c/r/e/replace",
                vec![Action::Kill, Action::CronSchedule],
                Ownership::Unowned,
            ),
        ]);
        assert_eq!(
            check(&plan, &Consent::default()),
            not_owned(&["c/r/e/kill", "c/r/e/replace"], &[], &[])
        );
        let consent = Consent {
            allow_foreign: true,
            ..Consent::default()
        };
        assert_eq!(check(&plan, &consent), Ok(()));
        // Adopting does not make a kill of someone else's job acceptable.
        let mut adopting = plan.clone();
        adopting.changes.iter_mut().for_each(|c| c.adopt = true);
        assert!(check(&adopting, &Consent::default()).is_err());
    }

    #[test]
    fn updating_a_foreign_job_needs_adopt_whatever_else_is_allowed() {
        let mut cron = change("c/r/e/cron", vec![Action::CronSchedule], Ownership::Unowned);
        cron.job_kind = JobKind::Cron;
        let plan = plan_of(vec![
            change("c/r/e/web", vec![Action::Update], Ownership::Unowned),
            cron,
            change(
                "c/r/e/batch",
                vec![Action::AddInstances],
                Ownership::Unowned,
            ),
        ]);
        let everything = Consent {
            allow_foreign: true,
            allow_mass_prune: true,
        };
        assert_eq!(
            check(&plan, &everything),
            not_owned(&[], &["c/r/e/web", "c/r/e/cron", "c/r/e/batch"], &[])
        );
        let mut adopted = plan.clone();
        adopted.changes.iter_mut().for_each(|c| c.adopt = true);
        assert_eq!(check(&adopted, &Consent::default()), Ok(()));
    }

    #[test]
    fn a_plan_from_before_ownership_was_recorded_is_replanned_for_existing_jobs() {
        let mut create = change("c/r/e/new", vec![Action::Create], Ownership::Unknown);
        create.live_fingerprint = crate::live::absent_fingerprint();
        let plan = plan_of(vec![
            create,
            change("c/r/e/web", vec![Action::Update], Ownership::Unknown),
        ]);
        assert_eq!(
            check(&plan, &Consent::default()),
            not_owned(&[], &[], &["c/r/e/web"])
        );
    }

    #[test]
    fn rails_come_in_the_documented_order() {
        let mut protected = change("c/r/e/a", vec![Action::Kill], Ownership::Owned);
        protected.protected = true;
        let foreign = change("c/r/e/b", vec![Action::Kill], Ownership::Unowned);
        let mut busy = change("c/r/e/c", vec![Action::Update], Ownership::Owned);
        busy.active_update = Some(ActiveUpdate {
            id: "u".into(),
            status: "ROLLING_FORWARD".into(),
            user: "someone".into(),
            created_at_ms: 0,
            ours: false,
        });
        let plan = plan_of(vec![protected.clone(), foreign.clone(), busy]);
        assert!(matches!(
            check(&plan, &Consent::default()),
            Err(Refusal::ForeignUpdate { .. })
        ));
        let plan = plan_of(vec![foreign.clone(), protected]);
        assert!(matches!(
            check(&plan, &Consent::default()),
            Err(Refusal::Protected { .. })
        ));
        let mut pruned = change("c/r/e/d", vec![Action::Kill], Ownership::Owned);
        pruned.action_reason = Some(ActionReason::NotInSpecPruned);
        let plan = plan_of(vec![foreign, pruned.clone(), pruned]);
        assert!(matches!(
            check(&plan, &Consent::default()),
            Err(Refusal::NotOwned { .. })
        ));
        let consent = Consent {
            allow_foreign: true,
            ..Consent::default()
        };
        assert_eq!(
            check(&plan, &consent),
            Err(Refusal::MassPrune { pruned: 2, kept: 1 })
        );
    }
}
