//! What only the Thermos executor reads: the task and its processes, loggers, the health
//! check, the lifecycle and the announcer.

use super::*;

impl Reader {
    pub(super) fn health_check(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(
            m,
            &[
                "health_checker",
                "initial_interval_secs",
                "interval_secs",
                "max_consecutive_failures",
                "min_consecutive_successes",
                "timeout_secs",
            ],
            path,
        );
        let mut out = Map::new();
        if let Some(hc) = self.object(m, "health_checker", path) {
            let p = join(path, "health_checker");
            self.unknown(hc, &["http", "shell"], &p);
            if let Some(shell) = self.object(hc, "shell", &p) {
                let sp = join(&p, "shell");
                self.unknown(shell, &["shell_command"], &sp);
                if hc.contains_key("http") {
                    self.err(&join(&p, "http"), "give either an http or a shell checker");
                }
                if let Some(c) = self.required_string(shell, "shell_command", &sp) {
                    let mut s = Map::new();
                    s.insert("command", c);
                    out.insert("shell", s);
                }
            } else if let Some(http) = self.object(hc, "http", &p) {
                let hp = join(&p, "http");
                self.unknown(
                    http,
                    &["endpoint", "expected_response", "expected_response_code"],
                    &hp,
                );
                let mut h = Map::new();
                if let Some(e) = self
                    .string(http, "endpoint", &hp)
                    .filter(|e| e != "/health")
                {
                    h.insert("endpoint", e);
                }
                if let Some(e) = self
                    .string(http, "expected_response", &hp)
                    .filter(|e| e != "ok")
                {
                    h.insert("expected_response", e);
                }
                if let Some(c) = self
                    .uint(http, "expected_response_code", &hp)
                    .filter(|c| *c != 0)
                {
                    h.insert("expected_response_code", c);
                }
                if !h.is_empty() {
                    out.insert("http", h);
                }
            }
        }
        for (key, spec_key, default) in [
            ("initial_interval_secs", "initial_interval", 15.0),
            ("interval_secs", "interval", 10.0),
        ] {
            if let Some(d) = self.duration(m, key, path).filter(|d| *d != default) {
                out.insert(spec_key, duration(d));
            }
        }
        if let Some(n) = self
            .uint(m, "max_consecutive_failures", path)
            .filter(|n| *n != 0)
        {
            out.insert("max_consecutive_failures", n);
        }
        if let Some(n) = self
            .uint(m, "min_consecutive_successes", path)
            .filter(|n| *n != 1)
        {
            out.insert("min_consecutive_successes", n);
        }
        if let Some(d) = self.duration(m, "timeout_secs", path).filter(|d| *d != 1.0) {
            out.insert("timeout", duration(d));
        }
        (!out.is_empty()).then(|| out.into())
    }

    pub(super) fn lifecycle(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(m, &["http"], path);
        let Some(http) = self.object(m, "http", path) else {
            self.err(
                &join(path, "http"),
                "a lifecycle without `http` cannot be expressed (the spec always sends the HTTP lifecycle, as Aurora's client does by default)",
            );
            return None;
        };
        let p = join(path, "http");
        self.unknown(
            http,
            &[
                "port",
                "graceful_shutdown_endpoint",
                "shutdown_endpoint",
                "graceful_shutdown_wait_secs",
                "shutdown_wait_secs",
            ],
            &p,
        );
        let mut h = Map::new();
        for (key, default) in [
            ("port", "health"),
            ("graceful_shutdown_endpoint", "/quitquitquit"),
            ("shutdown_endpoint", "/abortabortabort"),
        ] {
            if let Some(v) = self.string(http, key, &p).filter(|v| v != default) {
                h.insert(key, v);
            }
        }
        for (key, spec_key) in [
            ("graceful_shutdown_wait_secs", "graceful_shutdown_wait"),
            ("shutdown_wait_secs", "shutdown_wait"),
        ] {
            if let Some(d) = self.uint(http, key, &p).filter(|d| *d != 5) {
                #[allow(clippy::cast_precision_loss)]
                h.insert(spec_key, duration(d as f64));
            }
        }
        if h.is_empty() {
            return None;
        }
        let mut out = Map::new();
        out.insert("http", h);
        Some(out.into())
    }

    pub(super) fn announce(&mut self, m: &JsonMap<String, Value>, path: &str) -> Node {
        self.unknown(m, &["primary_port", "portmap", "zk_path"], path);
        let mut out = Map::new();
        let primary = self
            .string(m, "primary_port", path)
            .unwrap_or_else(|| "http".into());
        if primary != "http" {
            out.insert("primary_port", primary.as_str());
        }
        if let Some(pm) = self.object(m, "portmap", path) {
            let p = join(path, "portmap");
            let default =
                pm.len() == 1 && pm.get("aurora").and_then(Value::as_str) == Some(&primary);
            if !default {
                let mut map = Map::new();
                for (k, v) in pm {
                    match v {
                        Value::String(s) => match s.parse::<u16>() {
                            Ok(n) if n.to_string() == *s => map.insert(k.as_str(), i64::from(n)),
                            _ => map.insert(k.as_str(), s.as_str()),
                        },
                        Value::Number(n) => match n.as_u64().and_then(|n| u16::try_from(n).ok()) {
                            Some(n) => map.insert(k.as_str(), i64::from(n)),
                            None => self.err(&join(&p, k), "port out of range"),
                        },
                        _ => self.err(&join(&p, k), "expected a port name or number"),
                    }
                }
                out.insert("portmap", map);
            }
        }
        if let Some(zk) = self.string(m, "zk_path", path) {
            out.insert("zk_path", zk);
        }
        out.into()
    }

    pub(super) fn task(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(
            m,
            &[
                "name",
                "processes",
                "constraints",
                "resources",
                "max_failures",
                "max_concurrency",
                "finalization_wait",
                "user",
            ],
            path,
        );
        let mut out = Map::new();
        let procs_path = join(path, "processes");
        let Some(procs) = self.array(m, "processes", path) else {
            self.err(&procs_path, "required");
            return None;
        };
        if procs.is_empty() {
            self.err(&procs_path, "a task needs at least one process");
        }
        let mut names = Vec::new();
        let mut processes = Vec::new();
        for (i, p) in procs.iter().enumerate() {
            let pp = format!("{procs_path}[{i}]");
            match p.as_object() {
                Some(o) => {
                    if let Some((name, node)) = self.process(o, &pp) {
                        names.push(name);
                        processes.push(node);
                    }
                }
                None => self.err(&pp, "expected a process object"),
            }
        }
        if let Some(name) = self.string(m, "name", path)
            && names.first() != Some(&name)
        {
            out.insert("name", name);
        }
        let mut order = Vec::new();
        if let Some(cs) = self.array(m, "constraints", path) {
            let cp = join(path, "constraints");
            for (i, c) in cs.iter().enumerate() {
                let p = format!("{cp}[{i}]");
                let chain = c
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.get("order"))
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .map(|n| n.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                    });
                match chain {
                    Some(chain) => order.push(chain),
                    None => self.err(
                        &p,
                        "only `{\"order\": [process names]}` constraints can be expressed",
                    ),
                }
            }
        }
        if order.len() == 1 && order[0] == names {
            out.insert("sequential", true);
        } else if !order.is_empty() {
            out.insert(
                "order",
                order
                    .into_iter()
                    .map(|c| Node::Seq(c.into_iter().map(Node::Str).collect()))
                    .collect::<Vec<_>>(),
            );
        }
        if let Some(n) = self.uint(m, "max_failures", path).filter(|n| *n != 1) {
            out.insert("max_failures", n);
        }
        if let Some(n) = self.uint(m, "max_concurrency", path).filter(|n| *n != 0) {
            out.insert("max_concurrency", n);
        }
        if let Some(d) = self.uint(m, "finalization_wait", path).filter(|d| *d != 30) {
            #[allow(clippy::cast_precision_loss)]
            out.insert("finalization_wait", duration(d as f64));
        }
        if let Some(u) = self.string(m, "user", path) {
            out.insert("user", u);
        }
        out.insert("processes", processes);
        Some(out.into())
    }

    pub(super) fn process(
        &mut self,
        m: &JsonMap<String, Value>,
        path: &str,
    ) -> Option<(String, Node)> {
        self.unknown(
            m,
            &[
                "name",
                "cmdline",
                "max_failures",
                "daemon",
                "ephemeral",
                "min_duration",
                "final",
                "logger",
            ],
            path,
        );
        let name = self.required_string(m, "name", path);
        let cmdline = self.required_string(m, "cmdline", path);
        let (name, cmdline) = (name?, cmdline?);
        let mut out = Map::new();
        out.insert("name", name.as_str());
        out.insert("cmdline", cmdline);
        if let Some(n) = self.uint(m, "max_failures", path).filter(|n| *n != 1) {
            out.insert("max_failures", n);
        }
        for key in ["daemon", "ephemeral"] {
            if self.bool(m, key, path) == Some(true) {
                out.insert(key, true);
            }
        }
        if let Some(d) = self.uint(m, "min_duration", path).filter(|d| *d != 5) {
            #[allow(clippy::cast_precision_loss)]
            out.insert("min_duration", duration(d as f64));
        }
        if self.bool(m, "final", path) == Some(true) {
            out.insert("final", true);
        }
        if let Some(l) = self.object(m, "logger", path) {
            let lp = join(path, "logger");
            out.insert("logger", self.logger(l, &lp));
        }
        Some((name, out.into()))
    }

    pub(super) fn logger(&mut self, m: &JsonMap<String, Value>, path: &str) -> Node {
        self.unknown(m, &["destination", "mode", "rotate"], path);
        let mut out = Map::new();
        if let Some(d) = self.string(m, "destination", path) {
            if ["file", "console", "both", "none"].contains(&d.as_str()) {
                if d != "file" {
                    out.insert("destination", d);
                }
            } else {
                self.err(
                    &join(path, "destination"),
                    format!("unknown destination `{d}`"),
                );
            }
        }
        if let Some(mode) = self.string(m, "mode", path) {
            if mode == "rotate" {
                out.insert("mode", mode);
            } else if mode != "standard" {
                self.err(&join(path, "mode"), format!("unknown mode `{mode}`"));
            }
        }
        if let Some(r) = self.object(m, "rotate", path) {
            let rp = join(path, "rotate");
            self.unknown(r, &["log_size", "backups"], &rp);
            let mut rot = Map::new();
            if let Some(n) = self
                .int(r, "log_size", &rp)
                .filter(|n| *n != 100 * 1024 * 1024)
            {
                match u64::try_from(n) {
                    Ok(b) => rot.insert("log_size", Size(b).to_string()),
                    Err(_) => self.err(&join(&rp, "log_size"), "a size cannot be negative"),
                }
            }
            if let Some(n) = self.uint(r, "backups", &rp).filter(|n| *n != 5) {
                rot.insert("backups", n);
            }
            out.insert("rotate", rot);
        }
        out.into()
    }
}
