//! The job-level fields of a pystachio `Job`: key, kind, placement (tier and production),
//! resources, constraints, metadata and executor.

use super::*;

impl Reader {
    pub(super) fn job(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<ConvertedJob> {
        self.unknown(m, JOB_KEYS, path);
        let cluster = self.required_string(m, "cluster", path);
        let role = self.required_string(m, "role", path);
        let environment = self.required_string(m, "environment", path);
        let name = self.required_string(m, "name", path);
        let mut spec = Map::new();
        let (cluster, role, environment, name) = (cluster?, role?, environment?, name?);
        let key = format!("{cluster}/{role}/{environment}/{name}");
        if [&cluster, &role, &environment, &name]
            .iter()
            .any(|p| p.contains('/'))
        {
            self.err(path, format!("job key parts cannot contain `/`: {key}"));
        }
        spec.insert("key", key.as_str());

        let service = self.bool(m, "service", path).unwrap_or(false);
        let cron_schedule = self.string(m, "cron_schedule", path);
        let kind = match (service, &cron_schedule) {
            (true, Some(_)) => {
                self.err(
                    &join(path, "cron_schedule"),
                    "A service task may not be run on a cron schedule",
                );
                "service"
            }
            (true, None) => "service",
            (false, Some(_)) => "cron",
            (false, None) => "adhoc",
        };
        spec.insert("kind", kind);

        if let Some(n) = self.int(m, "instances", path) {
            if n < 1 || n > i64::from(u32::MAX) {
                self.err(&join(path, "instances"), format!("{n} is out of range"));
            } else if n != 1 {
                spec.insert("instances", n);
            }
        }

        self.placement(m, path, &mut spec);
        if let Some(p) = self.int(m, "priority", path).filter(|p| *p != 0) {
            spec.insert("priority", p);
        }
        if let Some(n) = self.int(m, "max_task_failures", path).filter(|n| *n != 1) {
            spec.insert("max_task_failures", n);
        }
        if let Some(c) = self.string(m, "contact", path) {
            spec.insert("contact", c);
        }

        let policy = self.string(m, "cron_collision_policy", path);
        if let Some(p) = &policy
            && !["KILL_EXISTING", "CANCEL_NEW", "RUN_OVERLAP"].contains(&p.as_str())
        {
            self.err(
                &join(path, "cron_collision_policy"),
                format!("unknown collision policy `{p}`"),
            );
        }
        let policy = policy.filter(|p| p != "KILL_EXISTING");
        match &cron_schedule {
            Some(schedule) if kind == "cron" => {
                let mut cron = Map::new();
                cron.insert("schedule", schedule.as_str());
                if let Some(p) = policy {
                    cron.insert("collision_policy", p);
                }
                spec.insert("cron", cron);
            }
            _ => {
                if policy.is_some() {
                    self.err(
                        &join(path, "cron_collision_policy"),
                        "a collision policy other than KILL_EXISTING on a job without cron_schedule cannot be expressed",
                    );
                }
            }
        }

        let task = self.object(m, "task", path);
        let task_path = join(path, "task");
        if task.is_none() && get(m, "task").is_none() {
            self.err(&task_path, "required");
        }
        if let Some(res) = task.and_then(|t| self.object(t, "resources", &task_path)) {
            let res_path = join(&task_path, "resources");
            if let Some(r) = self.resources(res, &res_path) {
                spec.insert("resources", r);
            }
        } else if task.is_some() {
            self.err(&join(&task_path, "resources"), "required");
        }

        if let Some(c) = self.object(m, "constraints", path) {
            let c = self.constraints(c, &join(path, "constraints"));
            if !c.is_empty() {
                spec.insert("constraints", c);
            }
        }
        if let Some(md) = self.array(m, "metadata", path) {
            let md = self.metadata(md, &join(path, "metadata"));
            if !md.is_empty() {
                spec.insert("metadata", md);
            }
        }
        if let Some(c) = get(m, "container")
            && let Some(c) = self.container(c, &join(path, "container"))
        {
            spec.insert("container", c);
        }
        if let Some(links) = get(m, "task_links")
            && links.as_object().is_none_or(|o| !o.is_empty())
        {
            self.err(
                &join(path, "task_links"),
                "task links cannot be expressed (Aurora's client does not send them either; the scheduler makes links for ports `http` and `health`)",
            );
        }

        let custom = self.executor(m, path);
        if let Some(ex) = &custom {
            spec.insert("executor", ex.clone());
        }
        if kind != "cron"
            && let Some(u) = self.object(m, "update_config", path)
            && let Some(u) = self.update(u, &join(path, "update_config"))
        {
            spec.insert("update", u);
        }

        let mut thermos_only = Vec::new();
        if let Some(h) = self.object(m, "health_check_config", path)
            && let Some(h) = self.health_check(h, &join(path, "health_check_config"))
        {
            thermos_only.push("health_check_config");
            spec.insert("health_check", h);
        }
        if let Some(l) = self.object(m, "lifecycle", path)
            && let Some(l) = self.lifecycle(l, &join(path, "lifecycle"))
        {
            thermos_only.push("lifecycle");
            spec.insert("lifecycle", l);
        }
        if let Some(a) = self.object(m, "announce", path) {
            let a = self.announce(a, &join(path, "announce"));
            thermos_only.push("announce");
            spec.insert("announce", a);
        }
        if self.bool(m, "enable_hooks", path) == Some(true) {
            thermos_only.push("enable_hooks");
            spec.insert("enable_hooks", true);
        }
        if let Some(p) = self.object(m, "partition_policy", path) {
            let p = self.partition_policy(p, &join(path, "partition_policy"));
            spec.insert("partition_policy", p);
        }
        if let Some(p) = get(m, "sla_policy")
            && let Some(p) = self.sla_policy(p, &join(path, "sla_policy"))
        {
            spec.insert("sla_policy", p);
        }

        if custom.is_some() {
            for key in thermos_only {
                self.err(
                    &join(path, key),
                    "only the Thermos executor uses this, and the job names a custom executor",
                );
            }
        } else if let Some(t) = task
            && let Some(t) = self.task(t, &task_path)
        {
            spec.insert("task", t);
        }

        Some(ConvertedJob {
            key,
            name,
            path: path.to_string(),
            spec,
        })
    }

    /// `tier` and `production`, leaving out what Aurora's client backfills from the bundled
    /// tiers (the same placement aurora-spec applies when a spec leaves them out).
    pub(super) fn placement(&mut self, m: &JsonMap<String, Value>, path: &str, spec: &mut Map) {
        let tier = self.string(m, "tier", path);
        let production = self.bool(m, "production", path).unwrap_or(false);
        let tiers = Tiers::aurora_default();
        let Some(tier) = tier else {
            if production {
                spec.insert("production", true);
            }
            return;
        };
        let want = (tier.as_str(), production);
        // Nothing when the client would backfill both; else the tier (Aurora deprecates
        // `production` in favour of tiers); `production: true` alone only as a last resort.
        let candidates: [(Option<&str>, bool); 3] = [
            (None, false),
            (Some(tier.as_str()), production),
            (None, true),
        ];
        for (t, p) in candidates {
            let got = tiers.client_placement(t, p);
            if (got.tier.as_str(), got.production) == want {
                if let Some(t) = t {
                    spec.insert("tier", t);
                    // With a tier, `production` follows from it on the bundled tiers.
                    let implied = tiers.client_placement(Some(t), false).production;
                    if implied != production {
                        spec.insert("production", production);
                    }
                } else if p {
                    spec.insert("production", true);
                }
                return;
            }
        }
        self.err(
            &join(path, "production"),
            format!(
                "tier `{tier}` with production {production} cannot be expressed: Aurora's client derives production from the tier"
            ),
        );
    }

    pub(super) fn resources(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(m, &["cpu", "ram", "disk", "gpu"], path);
        let mut out = Map::new();
        match self.number(m, "cpu", path) {
            Some(cpu) => out.insert("cpu", Node::number(cpu)),
            None if get(m, "cpu").is_none() => self.err(&join(path, "cpu"), "required"),
            None => {}
        }
        for key in ["ram", "disk"] {
            match self.size(m, key, path) {
                Some(s) => out.insert(key, s),
                None if get(m, key).is_none() => self.err(&join(path, key), "required"),
                None => {}
            }
        }
        if let Some(g) = self.uint(m, "gpu", path).filter(|g| *g > 0) {
            out.insert("gpu", g);
        }
        Some(out.into())
    }

    pub(super) fn constraints(&mut self, m: &JsonMap<String, Value>, path: &str) -> Map {
        let mut out = Map::new();
        for (name, v) in m {
            let p = join(path, name);
            let Some(s) = v.as_str() else {
                self.err(
                    &p,
                    "expected a constraint string (`a,b`, `!a,b` or `limit:N`)",
                );
                continue;
            };
            let mut c = Map::new();
            if let Some(limit) = s.strip_prefix("limit:") {
                match limit.trim().parse::<i64>() {
                    Ok(n) if n >= 1 => c.insert("limit", n),
                    _ => {
                        self.err(&p, format!("`{s}` is not a limit of at least 1"));
                        continue;
                    }
                }
            } else {
                let (negated, list) = match s.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, s),
                };
                // A set in Aurora (and sorted in the payload aurora-spec renders): sorted here.
                let mut values: Vec<&str> = list.split(',').map(str::trim).collect();
                values.sort_unstable();
                values.dedup();
                let values: Vec<Node> = values.into_iter().map(Node::from).collect();
                c.insert("values", values);
                if negated {
                    c.insert("negated", true);
                }
            }
            out.insert(name.as_str(), c);
        }
        out
    }

    pub(super) fn metadata(&mut self, items: &[Value], path: &str) -> Map {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(o) = item.as_object() else {
                self.err(&p, "expected {\"key\": …, \"value\": …}");
                continue;
            };
            self.unknown(o, &["key", "value"], &p);
            let (Some(k), Some(v)) = (
                self.required_string(o, "key", &p),
                self.required_string(o, "value", &p),
            ) else {
                continue;
            };
            if pairs.iter().any(|(seen, _)| *seen == k) {
                self.err(
                    &join(&p, "key"),
                    format!("metadata key `{k}` appears twice; a spec holds one value per key"),
                );
                continue;
            }
            pairs.push((k, v));
        }
        // A set in Aurora: written sorted by key, as the spec's map renders it.
        pairs.sort();
        let mut out = Map::new();
        for (k, v) in pairs {
            out.insert(k, v);
        }
        out
    }

    /// A custom executor (`executor: {name, data}`); `None` for the Thermos executor.
    pub(super) fn executor(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        let ec = self.object(m, "executor_config", path)?;
        let p = join(path, "executor_config");
        self.unknown(ec, &["name", "data"], &p);
        let name = self
            .string(ec, "name", &p)
            .unwrap_or_else(|| AURORA_EXECUTOR.to_string());
        let data = self.string(ec, "data", &p).unwrap_or_default();
        if name == AURORA_EXECUTOR {
            if !data.is_empty() {
                self.err(
                    &join(&p, "data"),
                    "Thermos executor data given in the job cannot be expressed: Aurora's client builds it from the task (use a spec with `executor.data_file` for a prepared payload)",
                );
            }
            return None;
        }
        let mut ex = Map::new();
        ex.insert("name", name);
        ex.insert("data", data);
        Some(ex.into())
    }
}
