//! `aurora-apply init [DIR] [--cluster NAME=URL]...`: scaffolds a spec repository in DIR —
//! `specs/clusters.json` (the local `sim://` cluster `devcluster`, or the clusters given),
//! an example spec for the first cluster, the JSON Schema beside the specs
//! (`specs/.schema/aurora-apply.v1.json`, [`aurora_spec::schema`]'s output, as `schema`
//! prints it) and the editor settings that map spec files to it (`.vscode/settings.json`,
//! `.taplo.toml`), and a short `specs/README.md`. It never overwrites: when any of its files
//! exists it writes nothing and exits 3 naming them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::exit::Exit;

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to set up (created if missing); the specs go to DIR/specs.
    #[arg(value_name = "DIR", default_value = ".", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
    /// A cluster for specs/clusters.json, instead of the local `devcluster`; repeatable, the
    /// example spec uses the first. URL: `sim://PATH` (the local emulator, its state in PATH
    /// relative to clusters.json), `http(s)://HOST:PORT[/PATH]` (a scheduler), or
    /// `zk://HOST:PORT,…/PATH` (the scheduler's ZooKeeper serverset).
    #[arg(long = "cluster", value_name = "NAME=URL", value_parser = parse_cluster)]
    pub clusters: Vec<ClusterEntry>,
}

/// The cluster `init` writes without `--cluster`.
const DEFAULT_CLUSTER: &str = "devcluster";
/// Its `sim://` URL: the emulator's state in `specs/.aurora-sim/devcluster/`.
const DEFAULT_SIM_URI: &str = "sim://.aurora-sim/devcluster";
/// The emulator flags of a `sim://` cluster (as the repository's `specs/clusters.json`,
/// without its custom executor): a quota for the example's role (a test checks), and 20× time while
/// something rolls, so `apply` finishes in seconds.
const SIM_FLAGS: [&str; 3] = [
    "-enable_mesos_fetcher=true",
    "--quota=www-data=16,32768,65536",
    "--time-scale=20",
];
/// The folder of the specs, inside DIR.
const SPECS: &str = "specs";
/// The schema's folder, inside the specs (hidden: never searched for specs).
const SCHEMA_DIR: &str = ".schema";
/// The first line of a YAML spec that names its schema (yaml-language-server's modeline,
/// as the repository's specs start).
const YAML_MODELINE: &str = "# yaml-language-server: $schema=";
/// The example job's key without its cluster (`<cluster>/` goes before it).
const EXAMPLE_JOB: &str = "www-data/prod/hello";
/// The example spec after its modeline: `specs/hello.aurora-apply.yaml` of the repository (a
/// test keeps them equal), in cluster `devcluster`.
const EXAMPLE_BODY: &str = "\
apiVersion: aurora-apply/v1
jobs:
  - key: devcluster/www-data/prod/hello        # or cluster/role/environment/name fields
    kind: service                              # service | adhoc | cron
    instances: 1
    resources: { cpu: 1, ram: 128MiB, disk: 128MiB }
    task:                                      # Thermos executor (the default executor)
      processes:
        - name: hello
          cmdline: |
            while true; do
              echo hello world
              sleep 10
            done
";

/// One `--cluster NAME=URL`: a clusters.json entry, in the keys Aurora's client reads (plus
/// aurora-apply's `sim_flags`), in this order.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterEntry {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    zk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zk_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduler_zk_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduler_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_flags: Option<Vec<String>>,
}

impl ClusterEntry {
    /// A cluster whose scheduler is at `uri` (`http(s)://`).
    fn direct(name: &str, uri: &str) -> Self {
        ClusterEntry {
            name: name.to_string(),
            zk: None,
            zk_port: None,
            scheduler_zk_path: None,
            scheduler_uri: Some(uri.to_string()),
            sim_flags: None,
        }
    }

    /// A local emulated cluster (`sim://PATH`) with the example's flags.
    fn sim(name: &str, uri: &str) -> Self {
        ClusterEntry {
            sim_flags: Some(SIM_FLAGS.iter().map(|f| f.to_string()).collect()),
            ..ClusterEntry::direct(name, uri)
        }
    }

    fn is_sim(&self) -> bool {
        self.sim_flags.is_some()
    }

    /// How the cluster is reached, for people.
    fn describe(&self) -> String {
        match (&self.zk, &self.scheduler_uri) {
            (Some(zk), _) => format!(
                "ZooKeeper {zk}{}, serverset {}",
                self.zk_port
                    .map(|p| format!(" port {p}"))
                    .unwrap_or_default(),
                self.scheduler_zk_path.as_deref().unwrap_or_default()
            ),
            (None, Some(uri)) if self.is_sim() => format!("{uri}, the local emulator"),
            (None, Some(uri)) => uri.clone(),
            (None, None) => String::new(),
        }
    }
}

/// Parses `NAME=URL` into a clusters.json entry, checked by the code that reads clusters.json.
fn parse_cluster(text: &str) -> Result<ClusterEntry, String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected NAME=URL"))?;
    if !aurora_spec::validate::good_identifier(name) {
        return Err(format!(
            "cluster name `{name}`: use ASCII letters, digits, `_`, `-` and `.` (it is the first part of job keys)"
        ));
    }
    let lower = url.to_ascii_lowercase();
    let entry = if lower.starts_with(aurora_api::clusters::SIM_SCHEME) {
        if url.len() == aurora_api::clusters::SIM_SCHEME.len() {
            return Err(format!(
                "`{url}`: give the emulator's state folder, e.g. sim://.aurora-sim/{name}"
            ));
        }
        ClusterEntry::sim(name, url)
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        ClusterEntry::direct(name, url)
    } else if let Some(rest) = lower.strip_prefix("zk://").map(|_| &url["zk://".len()..]) {
        zk_entry(name, rest)?
    } else {
        return Err(format!(
            "`{url}`: expected sim://PATH, http(s)://HOST:PORT[/PATH] or zk://HOST:PORT,…/PATH"
        ));
    };
    // The entry must mean what it says to the code that reads clusters.json.
    let text = serde_json::to_string(&[&entry]).map_err(|e| e.to_string())?;
    let clusters = aurora_api::clusters::Clusters::parse(&text, Path::new("--cluster"))
        .map_err(|e| e.to_string())?;
    let cluster = clusters.get(name).ok_or("the entry has no name")?;
    cluster.discovery().map_err(|e| e.to_string())?;
    Ok(entry)
}

/// `zk://h1:2181,h2:2181/aurora/scheduler` → `zk: "h1,h2"`, `zk_port: 2181`,
/// `scheduler_zk_path: "/aurora/scheduler"` (Aurora's clusters.json has one port for all
/// hosts; without a port, Aurora's default 2181 applies).
fn zk_entry(name: &str, rest: &str) -> Result<ClusterEntry, String> {
    let (hosts, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    if path.trim_matches('/').is_empty() {
        return Err(format!(
            "zk://{rest}: give the scheduler's serverset path, e.g. zk://{hosts}/aurora/scheduler"
        ));
    }
    let mut names = Vec::new();
    let mut ports = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        let (host, port) = if let Some(v6) = host.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{host}`: unclosed `[`"))?;
            (addr, after.strip_prefix(':'))
        } else {
            match host.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                _ => (host, None),
            }
        };
        if host.is_empty() {
            return Err(format!("zk://{rest}: a host is empty"));
        }
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| format!("`{p}`: not a port")))
            .transpose()?;
        names.push(host.to_string());
        ports.push(port);
    }
    let mut given = ports.iter().flatten();
    let zk_port = given.next().copied();
    if let Some(first) = zk_port
        && (given.any(|p| *p != first) || (ports.iter().any(Option::is_none) && first != 2181))
    {
        return Err(format!(
            "zk://{rest}: clusters.json has one ZooKeeper port for every host; give them the same port"
        ));
    }
    Ok(ClusterEntry {
        name: name.to_string(),
        zk: Some(names.join(",")),
        zk_port,
        scheduler_zk_path: Some(path.to_string()),
        scheduler_uri: None,
        sim_flags: None,
    })
}

/// One file `init` writes: its path inside DIR and its content.
#[derive(Debug)]
struct Scaffold {
    rel: String,
    content: String,
    /// What it is, for the list printed at the end.
    what: String,
}

/// The files of a new repository whose clusters are `clusters` (the first one is the
/// example's).
fn scaffold(clusters: &[ClusterEntry]) -> Vec<Scaffold> {
    let schema_name = aurora_spec::schema::SCHEMA_ID
        .rsplit('/')
        .next()
        .unwrap_or("aurora-apply.v1.json");
    let schema_in_specs = format!("{SCHEMA_DIR}/{schema_name}");
    let schema_rel = format!("{SPECS}/{schema_in_specs}");
    let first = &clusters[0];
    let key = format!("{}/{EXAMPLE_JOB}", first.name);
    let mut files = vec![
        Scaffold {
            rel: format!("{SPECS}/clusters.json"),
            content: clusters_json(clusters),
            what: clusters
                .iter()
                .map(|c| format!("cluster {} ({})", c.name, c.describe()))
                .collect::<Vec<_>>()
                .join("; "),
        },
        Scaffold {
            rel: format!("{SPECS}/hello.aurora-apply.yaml"),
            content: example_spec(&first.name, &schema_in_specs),
            what: format!("an example job, {key}"),
        },
        Scaffold {
            rel: schema_rel.clone(),
            content: aurora_spec::schema::to_pretty_string(),
            what: "the JSON Schema of the spec format (`aurora-apply schema`)".into(),
        },
        Scaffold {
            rel: format!("{SPECS}/README.md"),
            content: readme(clusters, &key, &schema_rel),
            what: "next steps".into(),
        },
    ];
    let ignored = sim_state_folders(clusters);
    if !ignored.is_empty() {
        files.push(Scaffold {
            rel: format!("{SPECS}/.gitignore"),
            content: format!(
                "# The local emulator's state (sim:// clusters in clusters.json).\n{}",
                ignored
                    .iter()
                    .map(|f| format!("/{f}/\n"))
                    .collect::<String>()
            ),
            what: "keeps the emulator's state out of git".into(),
        });
    }
    files.push(Scaffold {
        rel: ".vscode/settings.json".into(),
        content: vscode_settings(&schema_rel),
        what: "VS Code: the schema for *.aurora-apply.yaml (YAML extension)".into(),
    });
    files.push(Scaffold {
        rel: ".taplo.toml".into(),
        content: taplo_config(&schema_rel),
        what: "Taplo (Even Better TOML): the schema for *.aurora-apply.toml".into(),
    });
    files
}

fn clusters_json(clusters: &[ClusterEntry]) -> String {
    let mut text = serde_json::to_string_pretty(clusters).unwrap_or_default();
    text.push('\n');
    text
}

/// The repository's hello example, with a modeline to `schema` (relative to the spec) and
/// its job in `cluster`.
fn example_spec(cluster: &str, schema: &str) -> String {
    let original = format!("{DEFAULT_CLUSTER}/{EXAMPLE_JOB}");
    let key = format!("{cluster}/{EXAMPLE_JOB}");
    // Keep the comment beside the key aligned when the name is shorter.
    let key = format!("{key:<width$}", width = original.len());
    format!(
        "{YAML_MODELINE}{schema}\n{}",
        EXAMPLE_BODY.replacen(&original, &key, 1)
    )
}

/// The first folder of each relative `sim://` state path (`.aurora-sim`), once each.
fn sim_state_folders(clusters: &[ClusterEntry]) -> Vec<String> {
    let mut folders: Vec<String> = Vec::new();
    for c in clusters.iter().filter(|c| c.is_sim()) {
        let Some(path) = c
            .scheduler_uri
            .as_deref()
            .map(|u| &u[aurora_api::clusters::SIM_SCHEME.len()..])
        else {
            continue;
        };
        if path.starts_with('/') {
            continue;
        }
        let first = path
            .trim_start_matches("./")
            .split('/')
            .next()
            .unwrap_or_default();
        if !first.is_empty() && first != "." && !folders.iter().any(|f| f == first) {
            folders.push(first.to_string());
        }
    }
    folders
}

fn vscode_settings(schema_rel: &str) -> String {
    let settings = serde_json::json!({
        "yaml.schemas": {
            format!("./{schema_rel}"): ["**/*.aurora-apply.yaml", "**/*.aurora-apply.yml"]
        }
    });
    let mut text = serde_json::to_string_pretty(&settings).unwrap_or_default();
    text.push('\n');
    text
}

fn taplo_config(schema_rel: &str) -> String {
    format!(
        "# Taplo (and the Even Better TOML extension): check and complete aurora-apply specs.\n\
         [[rule]]\n\
         include = [\"**/*.aurora-apply.toml\"]\n\
         \n\
         [rule.schema]\n\
         path = \"./{schema_rel}\"\n"
    )
}

fn readme(clusters: &[ClusterEntry], key: &str, schema_rel: &str) -> String {
    let first = &clusters[0];
    let names = clusters
        .iter()
        .map(|c| format!("`{}`", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "# Job specs

Set up by `aurora-apply init`. Every `*.aurora-apply.yaml` / `*.aurora-apply.toml` file below this folder
describes Aurora jobs; `clusters.json` says where the scheduler of each cluster is ({names}).

| file | what |
| --- | --- |
| `hello.aurora-apply.yaml` | an example job, `{key}`: edit it, copy it |
| `clusters.json` | the clusters ([clusters.md]({repo}/blob/main/docs/clusters.md)) |
| `.schema/` | the JSON Schema of the spec format, for editors (`.vscode/settings.json`, `.taplo.toml`) |

Next steps, from the folder that holds `specs/`:

```sh
aurora-apply validate specs/     # offline checks, every problem with file:line:col
aurora-apply plan specs/         # what would change on the cluster
aurora-apply specs/              # plan, confirm, apply and follow rolling updates
aurora-apply status specs/       # in sync? updates in progress? why is a task pending?
```
",
        repo = env!("CARGO_PKG_REPOSITORY"),
    );
    if first.is_sim() {
        text.push_str(&format!(
            "
`{}` is a local emulated cluster (`{}`):
the first command that needs it starts it in the background, and it stops itself after ten
idle minutes. `aurora-apply sim status` shows it, `aurora-apply sim stop` stops it. When you
have a real cluster, add it to `clusters.json` (or use Aurora's own
`/etc/aurora/clusters.json`) and change the job keys.
",
            first.name,
            first.scheduler_uri.as_deref().unwrap_or_default()
        ));
    }
    text.push_str(&format!(
        "
After upgrading aurora-apply, refresh the schema:
`aurora-apply schema > {schema_rel}`.

More: `aurora-apply --help`, `aurora-apply <command> --help`, the guide
({repo}/blob/main/docs/guide.md) and the spec format
({repo}/blob/main/docs/spec-reference.md).
",
        repo = env!("CARGO_PKG_REPOSITORY"),
    ));
    text
}

/// `path` as shown to people: `DIR/rel`, or `rel` when DIR is the current directory.
fn shown(dir: &Path, rel: &str) -> String {
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        rel.to_string()
    } else {
        dir.join(rel).display().to_string()
    }
}

/// A path for a command line: quoted when the shell would split or expand it.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@%".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Runs `init`.
pub fn exec(args: &InitArgs) -> Exit {
    let clusters = if args.clusters.is_empty() {
        vec![ClusterEntry::sim(DEFAULT_CLUSTER, DEFAULT_SIM_URI)]
    } else {
        args.clusters.clone()
    };
    for (i, c) in clusters.iter().enumerate() {
        if clusters[..i].iter().any(|d| d.name == c.name) {
            crate::session::error(format!("--cluster {} is given twice", c.name));
            return Exit::Invalid;
        }
    }
    let files = scaffold(&clusters);
    // Nothing is written unless every file is new.
    let existing: Vec<String> = files
        .iter()
        .filter(|f| args.dir.join(&f.rel).symlink_metadata().is_ok())
        .map(|f| shown(&args.dir, &f.rel))
        .collect();
    if !existing.is_empty() {
        crate::session::error(format!(
            "these files exist already, and init never overwrites; nothing was written:\n  {}",
            existing.join("\n  ")
        ));
        return Exit::Invalid;
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for file in &files {
        let path = args.dir.join(&file.rel);
        if let Err(e) = write_new(&path, &file.content) {
            crate::session::error(format!("{}: {e}", path.display()));
            // Leave nothing half done: remove what this run wrote.
            for done in &written {
                let _ = std::fs::remove_file(done);
            }
            return Exit::Error;
        }
        written.push(path);
    }
    let mut out = crate::redact::stdout();
    let width = files
        .iter()
        .map(|f| shown(&args.dir, &f.rel).len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Created:\n");
    for file in &files {
        text.push_str(&format!(
            "  {:<width$}  {}\n",
            shown(&args.dir, &file.rel),
            file.what
        ));
    }
    let specs = shell_word(&format!("{}/", shown(&args.dir, SPECS)));
    let first = &clusters[0];
    if first.is_sim() {
        text.push_str(&format!(
            "\nNext: aurora-apply {specs}    plan, confirm and apply the example on {}\n",
            first.name
        ));
    } else {
        text.push_str(&format!(
            "\nNext: aurora-apply plan {specs}    what applying the example would change on {}\n",
            first.name
        ));
    }
    match out.write_all(text.as_bytes()) {
        Ok(()) => Exit::Success,
        Err(_) => Exit::Error,
    }
}

/// Writes a file that must not exist yet (its folders are created).
fn write_new(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_file(rel: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_example_is_the_repositorys_hello_spec() {
        let hello = repo_file("specs/hello.aurora-apply.yaml");
        assert_eq!(
            example_spec(DEFAULT_CLUSTER, "../schema/aurora-apply.v1.json"),
            hello
        );
    }

    #[test]
    fn the_modeline_is_the_one_the_repositorys_specs_start_with() {
        for spec in [
            "specs/hello.aurora-apply.yaml",
            "specs/cron.aurora-apply.yaml",
        ] {
            assert!(repo_file(spec).starts_with(YAML_MODELINE), "{spec}");
        }
    }

    #[test]
    fn the_quota_is_for_the_examples_role() {
        let role = EXAMPLE_JOB.split('/').next().expect("a role");
        assert!(SIM_FLAGS.contains(&format!("--quota={role}=16,32768,65536").as_str()));
        // The repository's own sim:// cluster has the same flags (and a custom executor).
        let repo: serde_json::Value =
            serde_json::from_str(&repo_file("specs/clusters.json")).expect("JSON");
        let flags = repo[0]["sim_flags"].as_array().expect("sim_flags");
        for flag in SIM_FLAGS {
            assert!(flags.iter().any(|f| f == flag), "{flag}");
        }
        assert_eq!(repo[0]["scheduler_uri"], DEFAULT_SIM_URI);
    }

    #[test]
    fn cluster_urls_become_the_entries_clusters_json_reads() {
        let zk = parse_cluster("b=zk://h1:2181,h2:2181/aurora/scheduler").expect("zk");
        assert_eq!(
            serde_json::to_value(&zk).expect("json"),
            serde_json::json!({"name": "b", "zk": "h1,h2", "zk_port": 2181,
                               "scheduler_zk_path": "/aurora/scheduler"})
        );
        let plain = parse_cluster("z=zk://zk.example/aurora/scheduler").expect("zk");
        assert_eq!(plain.zk.as_deref(), Some("zk.example"));
        assert_eq!(plain.zk_port, None);
        let v6 = parse_cluster("z=zk://[::1]:2182/aurora/scheduler").expect("zk v6");
        assert_eq!((v6.zk.as_deref(), v6.zk_port), (Some("::1"), Some(2182)));
        let http = parse_cluster("a=http://x:8081/api").expect("http");
        assert_eq!(
            serde_json::to_value(&http).expect("json"),
            serde_json::json!({"name": "a", "scheduler_uri": "http://x:8081/api"})
        );
        let sim = parse_cluster("s=sim:///tmp/state").expect("sim");
        assert!(sim.is_sim());
        for bad in [
            "nourl",
            "a/b=http://x",
            "a=ftp://x",
            "a=sim://",
            "a=zk://h:2181",
            "a=zk://h:2181/",
            "a=zk://h1:2181,h2:2182/aurora/scheduler",
            "a=zk://h:notaport/aurora/scheduler",
            "a=http://",
        ] {
            assert!(parse_cluster(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_relative_sim_state_is_ignored() {
        let clusters = [
            ClusterEntry::sim("a", "sim://.aurora-sim/a"),
            ClusterEntry::sim("b", "sim://.aurora-sim/b"),
            ClusterEntry::sim("c", "sim:///tmp/c"),
            parse_cluster("d=http://x:8081").expect("http"),
        ];
        assert_eq!(sim_state_folders(&clusters), [".aurora-sim"]);
        assert!(sim_state_folders(&clusters[2..]).is_empty());
    }
}
