//! Containers: the Mesos (unified) container with its image and volumes, and Docker.

use super::*;

impl Reader {
    pub(super) fn container(&mut self, v: &Value, path: &str) -> Option<Node> {
        let Some(m) = v.as_object() else {
            self.err(path, "expected an object");
            return None;
        };
        // The `Container` struct (`{"docker": Docker}`), or the choice written untagged:
        // Docker (`image` a string) or Mesos (`image` an object or none, `volumes`).
        if m.contains_key("docker") {
            self.unknown(m, &["docker"], path);
            let p = join(path, "docker");
            return match self.object(m, "docker", path) {
                Some(d) => self.docker(d, &p),
                None => None,
            };
        }
        if matches!(get(m, "image"), Some(Value::String(_))) || m.contains_key("parameters") {
            return self.docker(m, path);
        }
        self.unknown(m, &["image", "volumes"], path);
        let mut mesos = Map::new();
        if let Some(img) = self.object(m, "image", path) {
            let p = join(path, "image");
            let mut image = Map::new();
            if img.contains_key("image_id") {
                self.unknown(img, &["name", "image_id"], &p);
                let mut a = Map::new();
                if let (Some(n), Some(id)) = (
                    self.required_string(img, "name", &p),
                    self.required_string(img, "image_id", &p),
                ) {
                    a.insert("name", n);
                    a.insert("image_id", id);
                }
                image.insert("appc", a);
            } else {
                self.unknown(img, &["name", "tag"], &p);
                let mut d = Map::new();
                if let (Some(n), Some(t)) = (
                    self.required_string(img, "name", &p),
                    self.required_string(img, "tag", &p),
                ) {
                    d.insert("name", n);
                    d.insert("tag", t);
                }
                image.insert("docker", d);
            }
            mesos.insert("image", image);
        }
        if let Some(vols) = self.array(m, "volumes", path)
            && !vols.is_empty()
        {
            let p = join(path, "volumes");
            let mut out = Vec::new();
            for (i, vol) in vols.iter().enumerate() {
                let vp = format!("{p}[{i}]");
                let Some(o) = vol.as_object() else {
                    self.err(&vp, "expected an object");
                    continue;
                };
                self.unknown(o, &["container_path", "host_path", "mode"], &vp);
                let mut m = Map::new();
                if let Some(c) = self.required_string(o, "container_path", &vp) {
                    m.insert("container_path", c);
                }
                if let Some(h) = self.required_string(o, "host_path", &vp) {
                    m.insert("host_path", h);
                }
                match self.required_string(o, "mode", &vp) {
                    Some(mode) if mode == "RO" || mode == "RW" => m.insert("mode", mode),
                    Some(mode) => self.err(&join(&vp, "mode"), format!("`{mode}` is not RO or RW")),
                    None => {}
                }
                out.push(Node::Map(m));
            }
            mesos.insert("volumes", out);
        }
        if mesos.is_empty() {
            return None;
        }
        let mut out = Map::new();
        out.insert("mesos", mesos);
        Some(out.into())
    }

    pub(super) fn docker(&mut self, m: &JsonMap<String, Value>, path: &str) -> Option<Node> {
        self.unknown(m, &["image", "parameters"], path);
        let mut d = Map::new();
        d.insert("image", self.required_string(m, "image", path)?);
        if let Some(params) = self.array(m, "parameters", path)
            && !params.is_empty()
        {
            let p = join(path, "parameters");
            let mut out = Vec::new();
            for (i, param) in params.iter().enumerate() {
                let pp = format!("{p}[{i}]");
                let Some(o) = param.as_object() else {
                    self.err(&pp, "expected {\"name\": …, \"value\": …}");
                    continue;
                };
                self.unknown(o, &["name", "value"], &pp);
                let mut m = Map::new();
                if let (Some(n), Some(v)) = (
                    self.required_string(o, "name", &pp),
                    self.required_string(o, "value", &pp),
                ) {
                    m.insert("name", n);
                    m.insert("value", v);
                }
                out.push(Node::Map(m));
            }
            d.insert("parameters", out);
        }
        let mut out = Map::new();
        out.insert("docker", d);
        Some(out.into())
    }
}
