//! `clusters.json`: Aurora's own cluster file format and search path.
//!
//! In: JSON text from the search path (`$AURORA_CONFIG_ROOT/clusters.json`, default
//! `/etc/aurora/clusters.json`, then `~/.aurora/clusters.json`) or from one explicit file.
//! Out: [`Clusters`], a map from cluster name to [`Cluster`]. Nothing here touches the network;
//! turning a cluster into a scheduler address is [`Cluster::resolve`](super::Cluster::resolve).
//!
//! The rules follow Aurora 0.22's `apache/aurora/common/clusters.py` so that a file the Python
//! client accepts works here unchanged: a list of cluster objects or an object whose values are
//! cluster objects (keys ignored); entries without `name` are skipped; later entries and later
//! files replace earlier ones with the same name (whole cluster, no key merge); unknown keys are
//! kept. One deliberate difference: the keys this crate interprets are type-checked when the
//! file is loaded (Aurora checks them when a command first uses them), so a typo'd `zk_port`
//! is reported with its file before any network call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::ConfigError;

/// The port appended to every `zk` host when `zk_port` is absent (Aurora's default).
pub const DEFAULT_ZK_PORT: u16 = 2181;

/// Aurora's config root when `AURORA_CONFIG_ROOT` is unset or empty.
pub const DEFAULT_CONFIG_ROOT: &str = "/etc/aurora";

/// The file name looked up in every search-path directory.
pub const CLUSTERS_FILE_NAME: &str = "clusters.json";

/// Where [`Clusters::load_from`] looks for `clusters.json`, in order.
///
/// Kept as a value rather than read from the environment inside the loader so tests and
/// callers can point it anywhere; [`SearchPath::from_env`] is the one place that reads the
/// real environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath {
    /// Directory of the system-wide file (`$AURORA_CONFIG_ROOT`, default `/etc/aurora`).
    pub config_root: PathBuf,
    /// The user's home directory; `<home>/.aurora/clusters.json` is read second. `None` skips
    /// the per-user file (no home directory known).
    pub home: Option<PathBuf>,
}

impl SearchPath {
    /// A search path with an explicit config root and home directory.
    pub fn new(config_root: impl Into<PathBuf>, home: Option<PathBuf>) -> Self {
        SearchPath {
            config_root: config_root.into(),
            home,
        }
    }

    /// Aurora's search path from the process environment: `AURORA_CONFIG_ROOT` (unset or empty
    /// means `/etc/aurora`, as in Aurora) and the home directory (`HOME`, else the platform's
    /// notion of it).
    pub fn from_env() -> Self {
        let config_root = std::env::var_os("AURORA_CONFIG_ROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_ROOT));
        let home = std::env::home_dir().filter(|h| !h.as_os_str().is_empty());
        SearchPath { config_root, home }
    }

    /// The candidate files, lowest precedence first.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.config_root.join(CLUSTERS_FILE_NAME)];
        if let Some(home) = &self.home {
            files.push(home.join(".aurora").join(CLUSTERS_FILE_NAME));
        }
        files
    }
}

/// How the Python client authenticates to the scheduler (`auth_mechanism`).
///
/// Only selects a client-side module in Aurora; this crate exposes it so the transport can
/// decide whether to attempt Kerberos. Unknown values fall back to `Unauthenticated`, as in
/// Aurora (the raw string stays available through [`Cluster::get`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// `UNAUTHENTICATED` (the default): the client sends no auth of its own; HTTP Basic from
    /// `~/.netrc` still applies.
    #[default]
    Unauthenticated,
    /// `KERBEROS`: SPNEGO/Negotiate.
    Kerberos,
}

impl AuthMechanism {
    /// Maps an `auth_mechanism` value; anything but `KERBEROS` is unauthenticated.
    pub fn from_config(value: &str) -> Self {
        match value {
            "KERBEROS" => AuthMechanism::Kerberos,
            _ => AuthMechanism::Unauthenticated,
        }
    }
}

/// One cluster: an open key/value map (every key of the file is kept) plus typed accessors for
/// the keys Aurora's client and this tool interpret.
///
/// A cluster is open because Aurora lets each component read its own keys; keeping them all lets
/// later code (or users' plugins) read keys this crate does not know about via [`Cluster::get`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    name: String,
    fields: Map<String, Value>,
    zk_port: u16,
    source: Option<PathBuf>,
}

/// Keys read as strings. Numbers are accepted and turned into their decimal text, as pystachio's
/// `String` does in Aurora; null means absent.
const STRING_KEYS: [&str; 8] = [
    "zk",
    "scheduler_zk_path",
    "scheduler_uri",
    "proxy_url",
    "auth_mechanism",
    "slave_root",
    "slave_run_directory",
    "docker_registry",
];

impl Cluster {
    /// Builds a cluster from one JSON object, type-checking the known keys.
    ///
    /// Returns `Ok(None)` for an object without `name` (Aurora skips those). `source` is the
    /// file it came from, used in error messages and kept for display.
    pub fn from_object(
        mut fields: Map<String, Value>,
        source: Option<&Path>,
    ) -> Result<Option<Cluster>, ConfigError> {
        let path = || source.map(Path::to_path_buf).unwrap_or_default();
        let name = match fields.get("name") {
            None => return Ok(None),
            Some(v) => match stringish(v) {
                Some(s) => s,
                None => {
                    return Err(ConfigError::InvalidField {
                        path: path(),
                        cluster: "(unnamed)".to_owned(),
                        key: "name",
                        expected: "a string",
                        found: json_type(v).to_owned(),
                    });
                }
            },
        };
        fields.insert("name".to_owned(), Value::String(name.clone()));
        for key in STRING_KEYS {
            let Some(v) = fields.get_mut(key) else {
                continue;
            };
            if v.is_null() {
                continue;
            }
            match stringish(v) {
                // Stored as text so the typed accessors see what Aurora's pystachio would.
                Some(s) => *v = Value::String(s),
                None => {
                    return Err(ConfigError::InvalidField {
                        path: path(),
                        cluster: name,
                        key,
                        expected: "a string",
                        found: json_type(v).to_owned(),
                    });
                }
            }
        }
        let zk_port = match fields.get("zk_port") {
            None | Some(Value::Null) => DEFAULT_ZK_PORT,
            Some(v) => parse_port(v).ok_or_else(|| ConfigError::InvalidField {
                path: path(),
                cluster: name.clone(),
                key: "zk_port",
                expected: "a port number (1-65535)",
                found: match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => format!("{s:?}"),
                    other => json_type(other).to_owned(),
                },
            })?,
        };
        Ok(Some(Cluster {
            name,
            fields,
            zk_port,
            source: source.map(Path::to_path_buf),
        }))
    }

    /// A cluster from code rather than a file (for an ad-hoc `--scheduler-uri`, or tests):
    /// only `name` and `scheduler_uri` set.
    pub fn with_scheduler_uri(name: impl Into<String>, scheduler_uri: impl Into<String>) -> Self {
        let name = name.into();
        let mut fields = Map::new();
        fields.insert("name".to_owned(), Value::String(name.clone()));
        fields.insert(
            "scheduler_uri".to_owned(),
            Value::String(scheduler_uri.into()),
        );
        Cluster {
            name,
            fields,
            zk_port: DEFAULT_ZK_PORT,
            source: None,
        }
    }

    /// The cluster name: the first component of job keys (`name/role/env/job`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file this cluster was read from (`None` when built in code).
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Any key of the cluster object as written, including keys this crate does not interpret
    /// (known string keys holding a number are stored as its text).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The whole cluster object as written.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    fn string(&self, key: &str) -> Option<&str> {
        match self.fields.get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// `zk`: ZooKeeper host names, comma-separated, without ports (ports come from
    /// [`Cluster::zk_port`]).
    pub fn zk(&self) -> Option<&str> {
        self.string("zk")
    }

    /// `zk_port`: appended to every `zk` host; default 2181.
    pub fn zk_port(&self) -> u16 {
        self.zk_port
    }

    /// `scheduler_zk_path`: the scheduler's `-serverset_path`, where the leader registers.
    pub fn scheduler_zk_path(&self) -> Option<&str> {
        self.string("scheduler_zk_path")
    }

    /// `scheduler_uri`: a direct scheduler base URL (used when `zk` is absent); `sim://PATH`
    /// selects the embedded emulator.
    pub fn scheduler_uri(&self) -> Option<&str> {
        self.string("scheduler_uri")
    }

    /// `proxy_url`: base URL for links shown to users instead of the leader's own address.
    pub fn proxy_url(&self) -> Option<&str> {
        self.string("proxy_url")
    }

    /// `auth_mechanism`, mapped; absent or unknown values are `Unauthenticated`.
    pub fn auth_mechanism(&self) -> AuthMechanism {
        self.string("auth_mechanism")
            .map(AuthMechanism::from_config)
            .unwrap_or_default()
    }

    /// `slave_root`: the agents' work directory (for sandbox paths).
    pub fn slave_root(&self) -> Option<&str> {
        self.string("slave_root")
    }

    /// `slave_run_directory`: usually `latest`.
    pub fn slave_run_directory(&self) -> Option<&str> {
        self.string("slave_run_directory")
    }

    /// `docker_registry`: the registry Aurora's docker binding helper resolves against.
    pub fn docker_registry(&self) -> Option<&str> {
        self.string("docker_registry")
    }
}

/// Every cluster of the loaded files, by name.
///
/// Built once at start-up; later files and later entries replace earlier clusters of the same
/// name wholesale, exactly as Aurora's `CLUSTERS.update()` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clusters {
    clusters: BTreeMap<String, Cluster>,
    files: Vec<PathBuf>,
}

impl Clusters {
    /// An empty set (no file read).
    pub fn new() -> Self {
        Clusters::default()
    }

    /// Loads Aurora's search path from the process environment ([`SearchPath::from_env`]).
    pub fn load() -> Result<Self, ConfigError> {
        Clusters::load_from(&SearchPath::from_env())
    }

    /// Loads every existing file of `search`, later files overriding earlier ones by name.
    /// Missing files are skipped (Aurora checks `os.path.exists`); any other read error fails.
    pub fn load_from(search: &SearchPath) -> Result<Self, ConfigError> {
        let mut all = Clusters::new();
        for file in search.files() {
            match std::fs::read_to_string(&file) {
                Ok(text) => all.merge(Clusters::parse(&text, &file)?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(ConfigError::Read { path: file, source }),
            }
        }
        Ok(all)
    }

    /// Loads exactly one file, replacing the search path (a `--clusters FILE` option). A
    /// missing file is an error here, since the caller named it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Clusters::parse(&text, path)
    }

    /// Parses one document's text; `path` names it in errors and in [`Cluster::source`].
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let document: Value =
            serde_json::from_str(text).map_err(|source| json_error(path, source))?;
        let entries: Vec<(String, Value)> = match document {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("[{i}]"), v))
                .collect(),
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (format!("{k:?}"), v))
                .collect(),
            other => {
                return Err(ConfigError::Layout {
                    path: path.to_path_buf(),
                    found: json_type(&other),
                });
            }
        };
        let mut clusters = Clusters {
            clusters: BTreeMap::new(),
            files: vec![path.to_path_buf()],
        };
        for (entry, value) in entries {
            let Value::Object(fields) = value else {
                return Err(ConfigError::NotAnObject {
                    path: path.to_path_buf(),
                    entry,
                    found: json_type(&value),
                });
            };
            if let Some(cluster) = Cluster::from_object(fields, Some(path))? {
                clusters.insert(cluster);
            }
        }
        Ok(clusters)
    }

    /// Adds or replaces one cluster (by name).
    pub fn insert(&mut self, cluster: Cluster) {
        self.clusters.insert(cluster.name.clone(), cluster);
    }

    /// Adds every cluster of `later`, replacing same-named ones, and records its files.
    pub fn merge(&mut self, later: Clusters) {
        self.files.extend(later.files);
        self.clusters.extend(later.clusters);
    }

    /// The cluster called `name`, if any file defines it.
    pub fn get(&self, name: &str) -> Option<&Cluster> {
        self.clusters.get(name)
    }

    /// The cluster called `name`, or an error listing the known names.
    pub fn cluster(&self, name: &str) -> Result<&Cluster, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::UnknownCluster {
            name: name.to_owned(),
            known: self.clusters.keys().cloned().collect(),
        })
    }

    /// Cluster names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.clusters.keys().map(String::as_str)
    }

    /// All clusters, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Cluster> {
        self.clusters.values()
    }

    /// How many clusters are defined.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether no cluster is defined.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The files that were actually read, in order (for "no cluster X in: …" messages).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// A JSON string, or a number turned into its text (pystachio's `String` coercion).
fn stringish(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A port from an integer or a decimal string (pystachio's `Integer` coercion), 1-65535.
fn parse_port(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|p| *p != 0)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn json_error(path: &Path, source: serde_json::Error) -> ConfigError {
    let line = source.line();
    let column = source.column();
    let full = source.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    ConfigError::Json {
        path: path.to_path_buf(),
        line,
        column,
        message,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Clusters, ConfigError> {
        Clusters::parse(text, Path::new("/cfg/clusters.json"))
    }

    #[test]
    fn port_coercion() {
        assert_eq!(parse_port(&Value::from(2181)), Some(2181));
        assert_eq!(parse_port(&Value::from("2182")), Some(2182));
        assert_eq!(parse_port(&Value::from(0)), None);
        assert_eq!(parse_port(&Value::from(70000)), None);
        assert_eq!(parse_port(&Value::from(-1)), None);
        assert_eq!(parse_port(&Value::from(1.5)), None);
        assert_eq!(parse_port(&Value::from("x")), None);
        assert_eq!(parse_port(&Value::Bool(true)), None);
    }

    #[test]
    fn json_error_message_has_no_duplicate_position() {
        let err = parse("[{\"name\": }]").expect_err("bad json");
        let text = err.to_string();
        assert!(text.starts_with("/cfg/clusters.json:1:"), "{text}");
        assert!(!text.contains(" at line "), "{text}");
    }

    #[test]
    fn numbers_coerce_to_strings() {
        let c = parse(r#"[{"name": 7, "zk": 10, "zk_port": "2000"}]"#).expect("parses");
        let cluster = c.get("7").expect("named by its number");
        assert_eq!(cluster.zk(), Some("10"));
        assert_eq!(cluster.zk_port(), 2000);
        assert_eq!(cluster.get("name"), Some(&Value::from("7")));
    }

    #[test]
    fn null_known_keys_are_absent() {
        let c =
            parse(r#"[{"name": "a", "zk": null, "zk_port": null, "scheduler_uri": "http://h"}]"#)
                .expect("parses");
        let a = c.get("a").expect("a");
        assert_eq!(a.zk(), None);
        assert_eq!(a.zk_port(), DEFAULT_ZK_PORT);
    }

    #[test]
    fn auth_mechanism_mapping() {
        assert_eq!(
            AuthMechanism::from_config("KERBEROS"),
            AuthMechanism::Kerberos
        );
        assert_eq!(
            AuthMechanism::from_config("UNAUTHENTICATED"),
            AuthMechanism::Unauthenticated
        );
        assert_eq!(
            AuthMechanism::from_config("BASIC"),
            AuthMechanism::Unauthenticated
        );
    }
}
