//! How the job changes and is protected: `update_config` (with its strategy), the partition
//! policy and the SLA policy.

use super::*;

impl Reader {
    pub(super) fn update(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(
            m,
            &[
                "batch_size",
                "watch_secs",
                "max_per_shard_failures",
                "max_total_failures",
                "rollback_on_failure",
                "wait_for_batch_completion",
                "pulse_interval_secs",
                "sla_aware",
                "update_strategy",
            ],
            path,
        );
        let mut out = Map::new();
        let batch_size = self.uint(m, "batch_size", path).unwrap_or(1);
        let wait = self
            .bool(m, "wait_for_batch_completion", path)
            .unwrap_or(false);
        let strategy = match get(m, "update_strategy") {
            Some(s) => self.strategy(s, &join(path, "update_strategy")),
            None => {
                let mut inner = Map::new();
                if batch_size != 1 {
                    inner.insert("size", batch_size);
                }
                let mut s = Map::new();
                if wait {
                    s.insert("batch", inner);
                } else if batch_size != 1 {
                    s.insert("queue", inner);
                } else {
                    return self.update_rest(m, path, out);
                }
                Some(s.into())
            }
        };
        if let Some(s) = strategy {
            out.insert("strategy", s);
        }
        self.update_rest(m, path, out)
    }

    pub(super) fn update_rest(
        &mut self,
        m: &JsonMap<String, Value>,
        path: &str,
        mut out: Map,
    ) -> Option<Node> {
        if let Some(w) = self.duration(m, "watch_secs", path).filter(|w| *w != 45.0) {
            out.insert("watch", duration(w));
        }
        if let Some(n) = self
            .uint(m, "max_per_shard_failures", path)
            .filter(|n| *n != 0)
        {
            out.insert("max_per_instance_failures", n);
        }
        if let Some(n) = self.uint(m, "max_total_failures", path).filter(|n| *n != 0) {
            out.insert("max_failed_instances", n);
        }
        if self.bool(m, "rollback_on_failure", path) == Some(false) {
            out.insert("rollback_on_failure", false);
        }
        if let Some(p) = self.duration(m, "pulse_interval_secs", path) {
            out.insert("pulse_interval", duration(p));
        }
        if self.bool(m, "sla_aware", path) == Some(true) {
            out.insert("sla_aware", true);
        }
        (!out.is_empty()).then(|| out.into())
    }

    pub(super) fn strategy(&mut self, v: &Value, path: &str) -> Option<Node> {
        let Some(m) = v.as_object() else {
            self.err(path, "expected an update strategy object");
            return None;
        };
        let mut s = Map::new();
        let mut inner = Map::new();
        if m.contains_key("batch_sizes") {
            self.unknown(m, &["batch_sizes", "autopause_after_batch"], path);
            let sizes = self
                .array(m, "batch_sizes", path)
                .cloned()
                .unwrap_or_default();
            let mut list = Vec::new();
            for (i, size) in sizes.iter().enumerate() {
                match size.as_i64().filter(|n| *n >= 0) {
                    Some(n) => list.push(Node::Int(n)),
                    None => self.err(&format!("{path}.batch_sizes[{i}]"), "expected a size"),
                }
            }
            inner.insert("sizes", list);
            if self.bool(m, "autopause_after_batch", path) == Some(true) {
                inner.insert("autopause", true);
            }
            s.insert("variable_batch", inner);
        } else if m.contains_key("autopause_after_batch") {
            self.unknown(m, &["batch_size", "autopause_after_batch"], path);
            if let Some(n) = self.uint(m, "batch_size", path).filter(|n| *n != 1) {
                inner.insert("size", n);
            }
            if self.bool(m, "autopause_after_batch", path) == Some(true) {
                inner.insert("autopause", true);
            }
            s.insert("batch", inner);
        } else {
            self.unknown(m, &["batch_size"], path);
            if let Some(n) = self.uint(m, "batch_size", path).filter(|n| *n != 1) {
                inner.insert("size", n);
            }
            s.insert("queue", inner);
        }
        Some(s.into())
    }

    pub(super) fn partition_policy(&mut self, m: &JsonMap<String, Value>, path: &str) -> Node {
        self.unknown(m, &["reschedule", "delay_secs"], path);
        let mut out = Map::new();
        if self.bool(m, "reschedule", path) == Some(false) {
            out.insert("reschedule", false);
        }
        if let Some(d) = self.uint(m, "delay_secs", path).filter(|d| *d != 0) {
            #[allow(clippy::cast_precision_loss)]
            out.insert("delay", duration(d as f64));
        }
        out.into()
    }

    pub(super) fn sla_policy(&mut self, v: &Value, path: &str) -> Option<Node> {
        let Some(m) = v.as_object() else {
            self.err(path, "expected an SLA policy object");
            return None;
        };
        let mut out = Map::new();
        let mut inner = Map::new();
        if m.contains_key("coordinator_url") {
            self.unknown(m, &["coordinator_url", "status_key"], path);
            inner.insert("url", self.required_string(m, "coordinator_url", path)?);
            if let Some(k) = self.string(m, "status_key", path).filter(|k| k != "drain") {
                inner.insert("status_key", k);
            }
            out.insert("coordinator", inner);
        } else if m.contains_key("percentage") {
            self.unknown(m, &["percentage", "duration_secs"], path);
            inner.insert(
                "percentage",
                Node::number(self.number(m, "percentage", path)?),
            );
            #[allow(clippy::cast_precision_loss)]
            inner.insert(
                "duration",
                duration(self.uint(m, "duration_secs", path).unwrap_or(0) as f64),
            );
            out.insert("percentage", inner);
        } else if m.contains_key("count") {
            self.unknown(m, &["count", "duration_secs"], path);
            inner.insert("count", self.uint(m, "count", path)?);
            #[allow(clippy::cast_precision_loss)]
            inner.insert(
                "duration",
                duration(self.uint(m, "duration_secs", path).unwrap_or(0) as f64),
            );
            out.insert("count", inner);
        } else {
            self.err(path, "not a percentage, count or coordinator SLA policy");
            return None;
        }
        Some(out.into())
    }
}
