//! A cluster's tiers, as `getTierConfigs` serves them, and the two rules that read them.
//!
//! Aurora decides a task's tier and `production` flag twice. Its client fills in the one the
//! config leaves out before it converts the job ([`Tiers::client_placement`]), and writes the
//! result into both the `TaskConfig` and the Thermos payload. The scheduler then fills in the
//! tier of a config that still has none and derives `production` from the tier
//! ([`Tiers::scheduler_production`]). The spec loader, the engine's comparison and the
//! emulator all need these rules, so they live here beside the types they read.

use std::collections::BTreeMap;

use crate::types::GetTierConfigResult;

/// One tier's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TierSettings {
    /// Tasks of this tier may be preempted.
    pub preemptible: bool,
    /// Tasks of this tier run on revocable resources.
    pub revocable: bool,
}

impl TierSettings {
    /// The scheduler's rule: production iff neither preemptible nor revocable.
    pub fn production(self) -> bool {
        !self.preemptible && !self.revocable
    }
}

/// A cluster's tier configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers {
    /// The tier the scheduler gives tasks that name none.
    pub default_tier: String,
    /// Settings per tier name, in name order. The scheduler sends a Thrift `set`, which has
    /// no order on the wire, and Aurora's client iterates a Python set of them, so no order
    /// is Aurora's; name order makes the choice among several candidates repeatable.
    pub tiers: BTreeMap<String, TierSettings>,
}

/// Where a task runs: its tier and whether it is a production task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The tier name.
    pub tier: String,
    /// The `production` flag.
    pub production: bool,
}

impl Tiers {
    /// Aurora's bundled `tiers.json` (preemptible by default; preferred is the production
    /// tier; revocable runs on revocable resources), for when no scheduler is asked.
    pub fn aurora_default() -> Self {
        let tier = |preemptible, revocable| TierSettings {
            preemptible,
            revocable,
        };
        Tiers {
            default_tier: "preemptible".into(),
            tiers: BTreeMap::from([
                ("preferred".into(), tier(false, false)),
                ("preemptible".into(), tier(true, false)),
                ("revocable".into(), tier(true, true)),
            ]),
        }
    }

    /// Reads the scheduler's `getTierConfigs` answer. A setting is true when it reads as
    /// `"true"` (pystachio's `Boolean.coerce`, which the client uses, takes any case).
    pub fn from_thrift(result: &GetTierConfigResult) -> Self {
        let tiers = result
            .tiers
            .iter()
            .flatten()
            .filter_map(|t| {
                let settings = t.settings.as_ref();
                let flag = |k: &str| {
                    settings
                        .and_then(|s| s.get(k))
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                };
                Some((
                    t.name.clone()?,
                    TierSettings {
                        preemptible: flag("preemptible"),
                        revocable: flag("revocable"),
                    },
                ))
            })
            .collect();
        Tiers {
            default_tier: result.default_tier_name.clone().unwrap_or_default(),
            tiers,
        }
    }

    /// What Aurora's client sends for a config with this `tier` and `production` (source:
    /// client/cli/context.py `_get_config_with_production_and_tier`, rel/0.22.0):
    /// - no tier: the first tier that is not revocable and whose `preemptible` is the
    ///   opposite of `production`, else the default tier; `production` as given;
    /// - a tier: `production` = not `preemptible` of that tier, or as given when the cluster
    ///   does not list the tier.
    pub fn client_placement(&self, tier: Option<&str>, production: bool) -> Placement {
        match tier {
            None => Placement {
                tier: self
                    .tiers
                    .iter()
                    .find(|(_, s)| s.preemptible != production && !s.revocable)
                    .map_or_else(|| self.default_tier.clone(), |(name, _)| name.clone()),
                production,
            },
            Some(tier) => Placement {
                tier: tier.to_string(),
                production: self.tiers.get(tier).map_or(production, |s| !s.preemptible),
            },
        }
    }

    /// What the scheduler stores as `production` for a task of `tier` (its default tier when
    /// none): derived from the tier's settings; as sent when the tier is not listed.
    pub fn scheduler_production(&self, tier: Option<&str>, sent: bool) -> bool {
        let tier = tier.filter(|t| !t.is_empty()).unwrap_or(&self.default_tier);
        self.tiers.get(tier).map_or(sent, |s| s.production())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TierConfig;

    #[test]
    fn the_client_backfills_as_aurora_does_with_the_bundled_tiers() {
        let tiers = Tiers::aurora_default();
        let placed = |tier, production| {
            let p = tiers.client_placement(tier, production);
            (p.tier, p.production)
        };
        assert_eq!(placed(None, false), ("preemptible".into(), false));
        assert_eq!(placed(None, true), ("preferred".into(), true));
        assert_eq!(placed(Some("preferred"), false), ("preferred".into(), true));
        assert_eq!(placed(Some("revocable"), true), ("revocable".into(), false));
        assert_eq!(placed(Some("custom"), true), ("custom".into(), true));
    }

    #[test]
    fn with_no_candidate_the_default_tier_is_used() {
        let tiers = Tiers {
            default_tier: "only".into(),
            tiers: BTreeMap::from([(
                "only".into(),
                TierSettings {
                    preemptible: true,
                    revocable: true,
                },
            )]),
        };
        assert_eq!(tiers.client_placement(None, true).tier, "only");
        assert!(!tiers.scheduler_production(None, true));
    }

    #[test]
    fn reads_the_schedulers_answer() {
        let config = |name: &str, preemptible: &str, revocable: &str| TierConfig {
            name: Some(name.into()),
            settings: Some(BTreeMap::from([
                ("preemptible".into(), preemptible.into()),
                ("revocable".into(), revocable.into()),
            ])),
        };
        let result = GetTierConfigResult {
            default_tier_name: Some("preemptible".into()),
            tiers: Some(
                [
                    config("preferred", "false", "false"),
                    config("preemptible", "True", "false"),
                    config("revocable", "true", "true"),
                ]
                .into_iter()
                .collect(),
            ),
        };
        assert_eq!(Tiers::from_thrift(&result), Tiers::aurora_default());
    }
}
