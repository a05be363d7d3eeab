//! Hostile input: whatever the parser and the loader are given (FIFOs, devices, symbolic link
//! loops, huge files and lines, thousands of errors, alias bombs, odd scalars), they return
//! jobs or located diagnostics, never panic, hang or exhaust memory. Timing is asserted only
//! where a hang is the failure (with generous deadlines); speed is measured in
//! `benches/load.rs`.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use aurora_spec::{
    Code, Diagnostic, Diagnostics, Format, LoadOptions, SourceFile, load_paths, load_sources,
};
use miette::{GraphicalReportHandler, GraphicalTheme};

const HEAD: &str = "apiVersion: aurora-apply/v1\njobs:\n";
const JOB: &str = "    kind: adhoc\n    resources: { cpu: 1, ram: 1GiB, disk: 1GiB }\n    task: { processes: [{ name: a, cmdline: x }] }\n";

fn load(name: &str, text: &str) -> Result<usize, Vec<Diagnostic>> {
    let format = Format::from_path(Path::new(name)).unwrap_or(Format::Yaml);
    load_sources(
        &[SourceFile::new(name, text, format)],
        &LoadOptions::default(),
    )
    .map(|jobs| jobs.len())
    .map_err(Diagnostics::sorted)
}

fn errors(name: &str, text: &str) -> Vec<Diagnostic> {
    match load(name, text) {
        Ok(n) => panic!("{name}: expected errors, got {n} job(s)"),
        Err(d) => d,
    }
}

fn one_error(name: &str, text: &str) -> Diagnostic {
    let mut d = errors(name, text);
    assert_eq!(
        d.len(),
        1,
        "{name}: {:#?}",
        d.iter().map(|d| d.to_string()).collect::<Vec<_>>()
    );
    d.remove(0)
}

/// What the CLI draws for a diagnostic (same handler settings as `report.rs`).
fn render(d: &Diagnostic) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = format!("{}: error: {d}\n", d.location());
    handler.render_report(&mut out, d).expect("renders");
    for r in d.foreign_related() {
        handler
            .render_report(&mut out, r.as_ref())
            .expect("renders");
    }
    out
}

/// Runs `f` on a thread and fails the test (instead of hanging it) past `secs`.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what}: no answer within {secs} s (blocked?)"))
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

fn load_dir_errors(paths: Vec<std::path::PathBuf>) -> Vec<Diagnostic> {
    within(20, "load_paths", move || {
        load_paths(&paths, &LoadOptions::default())
            .map(|j| j.len())
            .map_err(Diagnostics::sorted)
    })
    .expect_err("refused")
}

// ---- errors past column 65,535 ------------------------------------------------------------

#[test]
fn an_error_past_column_65535_is_located_and_drawn_clipped() {
    // One-line JSON, the unknown key after a 70,000-character metadata value.
    let long = "v".repeat(70_000);
    let text = format!(
        r#"{{"apiVersion": "aurora-apply/v1", "jobs": [{{"key": "devcluster/www-data/prod/a", "kind": "adhoc", "resources": {{"cpu": 1, "ram": "1GiB", "disk": "1GiB"}}, "task": {{"processes": [{{"name": "a", "cmdline": "x"}}]}}, "metadata": {{"k": "{long}"}}, "bogus": 1}}]}}"#
    );
    let d = one_error("long.json", &text);
    assert_eq!(d.code, Code::UnknownField);
    let (line, col) = d.line_col().expect("located");
    assert_eq!(line, 1);
    assert_eq!(col, text.find("\"bogus\"").expect("there") + 1);
    let shown = render(&d);
    assert!(shown.contains("bogus") && shown.contains('…'), "{shown}");
    assert!(
        shown.len() < 2_000,
        "the snippet is clipped: {} bytes",
        shown.len()
    );
    assert!(shown.contains(&format!("[long.json:1:{col}]")), "{shown}");
}

#[test]
fn an_error_inside_a_long_metadata_value_is_drawn() {
    let text = format!(
        "{HEAD}  - key: devcluster/www-data/prod/a\n{JOB}    metadata: {{ k: {}, n: [1] }}\n",
        "w".repeat(80_000)
    );
    let d = one_error("meta.yaml", &text);
    assert_eq!(d.path, "jobs[0].metadata.n");
    let shown = render(&d);
    assert!(shown.contains("n: [1]"), "{shown}");
}

#[test]
fn columns_count_characters_in_the_headline_and_the_snippet() {
    let text = format!(
        "{HEAD}  - key: devcluster/www-data/prod/a\n{JOB}    metadata: {{ k: {}, n: [1] }}\n",
        "é".repeat(40_000)
    );
    let d = one_error("utf8.yaml", &text);
    let (line, col) = d.line_col().expect("located");
    assert_eq!(
        col,
        "    metadata: { k: ".chars().count() + 40_000 + ", n: ".len() + 1
    );
    let shown = render(&d);
    assert!(
        shown.contains(&format!("[utf8.yaml:{line}:{col}]")),
        "{shown}"
    );
    assert!(
        shown.starts_with(&format!("utf8.yaml:{line}:{col}:")),
        "{shown}"
    );
}

#[test]
fn a_related_location_in_a_long_line_of_another_file_is_drawn() {
    let one = |name: &str| {
        let meta = "m".repeat(70_000);
        SourceFile::new(
            name,
            format!(
                r#"{{"apiVersion": "aurora-apply/v1", "jobs": [{{"metadata": {{"k": "{meta}"}}, "key": "devcluster/www-data/prod/a", "kind": "adhoc", "resources": {{"cpu": 1, "ram": "1GiB", "disk": "1GiB"}}, "task": {{"processes": [{{"name": "a", "cmdline": "x"}}]}}}}]}}"#
            ),
            Format::Json,
        )
    };
    let d = load_sources(&[one("a.json"), one("b.json")], &LoadOptions::default())
        .expect_err("defined twice")
        .sorted();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, Code::DuplicateJob);
    let shown = render(&d[0]);
    assert!(shown.len() < 4_000, "{} bytes", shown.len());
}

// ---- many errors ---------------------------------------------------------------------------

fn many_unknown_keys(n: usize) -> String {
    let mut text = String::from(HEAD);
    for i in 0..n {
        text.push_str(&format!(
            "  - key: devcluster/www-data/prod/j{i}\n{JOB}    bogus{i}: 1\n"
        ));
    }
    text
}

#[test]
fn many_errors_are_all_reported_and_located() {
    // Two files of 2,000 jobs with one unknown key each: every error kept, located (line,
    // column) and turned into JSON, as `validate -o json` does. How fast that is (it was
    // quadratic) is measured by `cargo bench -p aurora-spec --bench load`
    // (`load/10k_errors_one_file`), not here.
    let text = many_unknown_keys(2_000);
    let sources: Vec<SourceFile> = (0..2)
        .map(|i| {
            let text = text.replace("prod/j", &format!("prod/f{i}j"));
            SourceFile::new(format!("many{i}.yaml"), text, Format::Yaml)
        })
        .collect();
    let d = load_sources(&sources, &LoadOptions::default())
        .expect_err("invalid")
        .sorted();
    let located: Vec<String> = d.iter().map(Diagnostic::location).collect();
    let json: Vec<serde_json::Value> = d.iter().map(Diagnostic::to_json).collect();
    assert_eq!(
        (d.len(), json.len(), located.last().cloned()),
        (
            4_000,
            4_000,
            Some(format!("many1.yaml:{}:5", 2 + 2_000 * 5))
        )
    );
}

#[test]
fn identical_problems_are_kept_once_distinct_ones_all_kept() {
    let mut diags = Diagnostics::new();
    let f = SourceFile::new("x.yaml", "a: 1\n", Format::Yaml);
    for i in 0..3 {
        for _ in 0..2 {
            diags.push(
                Diagnostic::new(Code::UnknownField, format!("unknown key `k{i}`"))
                    .at(&f, aurora_spec::Span::new(i, 1)),
            );
        }
    }
    assert_eq!(diags.len(), 3);
}

// ---- FIFOs, devices, sizes -----------------------------------------------------------------

#[test]
fn a_fifo_given_as_a_spec_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("spec.yaml");
    mkfifo(&fifo);
    let d = load_dir_errors(vec![fifo]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, Code::Io);
    assert!(
        d[0].message.contains("not a regular file (a FIFO)"),
        "{}",
        d[0].message
    );
}

#[test]
fn a_fifo_inside_a_spec_directory_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("a.yaml"),
        format!("{HEAD}  - key: devcluster/www-data/prod/a\n{JOB}"),
    )
    .expect("write");
    mkfifo(&dir.path().join("b.yaml"));
    let d = load_dir_errors(vec![dir.path().to_path_buf()]);
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message.contains("b.yaml: not a regular file (a FIFO)"),
        "{}",
        d[0].message
    );
}

#[test]
fn a_fifo_or_a_device_as_data_file_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    mkfifo(&dir.path().join("payload.json"));
    for (target, what) in [
        ("payload.json", "a FIFO"),
        ("/dev/zero", "a character device"),
    ] {
        let spec = dir.path().join("x.yaml");
        std::fs::write(
            &spec,
            format!("{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    executor: {{ name: custom, data_file: '{target}' }}\n"),
        )
        .expect("write");
        let d = load_dir_errors(vec![spec]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, Code::DataFile);
        assert!(d[0].message.contains(what), "{}", d[0].message);
        assert!(d[0].span.is_some());
    }
}

#[test]
fn devices_are_refused_as_specs() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        if !Path::new(dev).exists() {
            continue;
        }
        let d = load_dir_errors(vec![dev.into()]);
        assert!(
            d[0].message
                .contains("not a regular file (a character device)"),
            "{}",
            d[0].message
        );
        // Also behind a `*.yaml` link inside a spec directory.
        let dir = tempfile::tempdir().expect("tmp");
        std::os::unix::fs::symlink(dev, dir.path().join("z.yaml")).expect("symlink");
        let d = load_dir_errors(vec![dir.path().to_path_buf()]);
        assert!(
            d[0].message.contains("character device"),
            "{}",
            d[0].message
        );
    }
}

#[test]
fn files_over_the_size_limits_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tmp");
    let big = dir.path().join("big.yaml");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(aurora_spec::load::MAX_SPEC_BYTES + 1)
        .expect("sparse file");
    let d = load_dir_errors(vec![big]);
    assert!(
        d[0].message.contains("larger than the limit of 64 MiB"),
        "{}",
        d[0].message
    );

    let payload = dir.path().join("payload.json");
    let f = std::fs::File::create(&payload).expect("create");
    f.set_len(aurora_spec::load::MAX_PAYLOAD_BYTES + 1)
        .expect("sparse file");
    let spec = dir.path().join("x.yaml");
    std::fs::write(&spec, format!("{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    executor: {{ name: custom, data_file: payload.json }}\n")).expect("write");
    let d = load_dir_errors(vec![spec]);
    assert!(
        d[0].message.contains("larger than the limit of 4 MiB"),
        "{}",
        d[0].message
    );

    // In-memory sources are held to the same limit.
    let huge = " ".repeat(usize::try_from(aurora_spec::load::MAX_SPEC_BYTES).expect("fits") + 1);
    let d = errors("mem.yaml", &huge);
    assert!(
        d[0].message.contains("larger than the limit"),
        "{}",
        d[0].message
    );
}

// ---- symbolic link loops -------------------------------------------------------------------

#[test]
fn directory_link_loops_are_walked_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    std::fs::write(
        root.join("a.yaml"),
        format!("{HEAD}  - key: devcluster/www-data/prod/a\n{JOB}"),
    )
    .expect("write");
    std::fs::create_dir(root.join("sub")).expect("mkdir");
    std::fs::write(
        root.join("sub/b.yaml"),
        format!("{HEAD}  - key: devcluster/www-data/prod/b\n{JOB}"),
    )
    .expect("write");
    std::os::unix::fs::symlink(".", root.join("self")).expect("symlink");
    std::os::unix::fs::symlink("..", root.join("sub/up")).expect("symlink");
    let root = root.to_path_buf();
    let (files, problems) = within(20, "walk", move || {
        let (files, diags) = aurora_spec::collect_paths(&[root.clone(), root.join("a.yaml")]);
        (files.len(), diags.len())
    });
    assert_eq!((files, problems), (2, 0));
    let jobs = load_paths(&[dir.path()], &LoadOptions::default()).expect("no false duplicates");
    assert_eq!(jobs.len(), 2);
}

// ---- big documents and alias bombs -----------------------------------------------------------

fn one_line_jobs(format: Format, n: usize) -> String {
    let mut text = String::new();
    match format {
        Format::Yaml => {
            text.push_str(HEAD);
            for i in 0..n {
                text.push_str(&format!("  - {{ key: devcluster/www-data/prod/j{i}, kind: adhoc, resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}, task: {{ processes: [{{ name: a, cmdline: x }}] }} }}\n"));
            }
        }
        Format::Json => {
            text.push_str("{\"apiVersion\": \"aurora-apply/v1\", \"jobs\": [\n");
            for i in 0..n {
                let sep = if i + 1 == n { "" } else { "," };
                text.push_str(&format!("{{\"key\": \"devcluster/www-data/prod/j{i}\", \"kind\": \"adhoc\", \"resources\": {{\"cpu\": 1, \"ram\": \"1GiB\", \"disk\": \"1GiB\"}}, \"task\": {{\"processes\": [{{\"name\": \"a\", \"cmdline\": \"x\"}}]}}}}{sep}\n"));
            }
            text.push_str("]}\n");
        }
        Format::Toml => {
            text.push_str("apiVersion = \"aurora-apply/v1\"\n");
            for i in 0..n {
                text.push_str(&format!("[[jobs]]\nkey = \"devcluster/www-data/prod/j{i}\"\nkind = \"adhoc\"\nresources = {{ cpu = 1, ram = \"1GiB\", disk = \"1GiB\" }}\ntask = {{ processes = [{{ name = \"a\", cmdline = \"x\" }}] }}\n"));
            }
        }
    }
    text
}

#[test]
fn large_alias_free_documents_load_in_every_format() {
    // 11,365 such jobs were refused as an "alias bomb" (250,000 values) in YAML and JSON.
    for (name, format) in [
        ("big.yaml", Format::Yaml),
        ("big.json", Format::Json),
        ("big.toml", Format::Toml),
    ] {
        let text = one_line_jobs(format, 20_000);
        assert_eq!(
            load(name, &text).map_err(|d| d[0].to_string()),
            Ok(20_000),
            "{name}"
        );
    }
}

#[test]
fn alias_bombs_are_refused_with_an_honest_message() {
    // Nested: 10^7 values from 12 lines.
    let mut text = String::from(
        "apiVersion: aurora-apply/v1\njobs: []\nx:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..8 {
        let p = i - 1;
        text.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let d = one_error("bomb.yaml", &text);
    assert_eq!(d.code, Code::Syntax);
    assert!(
        d.message.contains("aliases expand the document"),
        "{}",
        d.message
    );
    // Wide: one long text repeated by aliases.
    let text = format!(
        "apiVersion: aurora-apply/v1\njobs: []\nx:\n  s: &s {}\n  l: [{}]\n",
        "y".repeat(1 << 20),
        vec!["*s"; 100].join(", ")
    );
    let d = one_error("wide.yaml", &text);
    assert!(
        d.message.contains("MiB of text") && d.message.contains("alias"),
        "{}",
        d.message
    );
    // JSON files go through the same parser and limits.
    let d = one_error(
        "bomb.json",
        "{\"apiVersion\": \"aurora-apply/v1\", \"jobs\": [], \"x\": &a [1, *a]}",
    );
    assert_eq!(d.code, Code::Syntax);
}

// ---- messages ------------------------------------------------------------------------------

const NEVER: &[&str] = &[
    "DuplicateKeyPolicy",
    "from_str_multiple",
    "Options",
    "struct ",
    "configured policy",
    "unknown unit `-",
];

fn message_of(name: &str, text: &str) -> String {
    let d = one_error(name, text);
    let all = format!("{} | {}", d, d.help.as_deref().unwrap_or(""));
    for bad in NEVER {
        assert!(!all.contains(bad), "{name}: `{bad}` in {all}");
    }
    assert!(
        all.chars().count() < 400,
        "{name}: {} characters",
        all.chars().count()
    );
    all
}

fn with_job(extra: &str) -> String {
    format!("{HEAD}  - key: devcluster/www-data/prod/a\n{JOB}{extra}")
}

#[test]
fn messages_speak_the_spec_not_the_library() {
    let m = message_of("dup.yaml", &with_job("    kind: adhoc\n"));
    assert!(m.contains("key `kind` given twice"), "{m}");
    let m = message_of(
        "multi.yaml",
        &format!("{}---\n{}", with_job(""), with_job("")),
    );
    assert!(m.contains("more than one document"), "{m}");
    let m = message_of(
        "task.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: [1]\n"
        ),
    );
    assert!(
        m.contains("jobs[0].task: expected a mapping, found a list"),
        "{m}"
    );
    let res = |r: &str| {
        format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ {r} }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n"
        )
    };
    let m = message_of("neg.yaml", &res("cpu: 1, ram: -5MiB, disk: 1GiB"));
    assert!(
        m.contains("jobs[0].resources.ram: size `-5MiB` is negative"),
        "{m}"
    );
    for (name, cpu) in [
        ("nan.yaml", ".nan"),
        ("inf.yaml", "-.inf"),
        ("1e999.yaml", "1e999"),
    ] {
        let m = message_of(name, &res(&format!("cpu: {cpu}, ram: 1GiB, disk: 1GiB")));
        assert!(
            m.contains("jobs[0].resources.cpu: expected a finite number"),
            "{m}"
        );
    }
    let m = message_of(
        "digits.yaml",
        &with_job(&format!("    instances: {}\n", "9".repeat(100_000))),
    );
    assert!(m.contains("jobs[0].instances"), "{m}");
    let m = message_of(
        "kind.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: {}\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n",
            "s".repeat(100_000)
        ),
    );
    assert!(m.contains("100000 characters"), "{m}");
    let m = message_of(
        "ram.yaml",
        &res(&format!("cpu: 1, ram: {}, disk: 1GiB", "7".repeat(100_000))),
    );
    assert!(m.contains("jobs[0].resources.ram"), "{m}");
    let m = message_of(
        "dup.json",
        "{\"apiVersion\": \"aurora-apply/v1\", \"apiVersion\": \"x\", \"jobs\": []}",
    );
    assert!(m.contains("key `apiVersion` given twice"), "{m}");
}

const TOML_JOB: &str = "apiVersion = \"aurora-apply/v1\"\n[[jobs]]\nkey = \"devcluster/www-data/prod/a\"\nkind = \"adhoc\"\nresources = { cpu = 1, ram = \"1GiB\", disk = \"1GiB\" }\ntask = { processes = [{ name = \"a\", cmdline = \"x\" }] }\n";

#[test]
fn toml_errors_name_the_key() {
    let m = message_of("dup.toml", &format!("{TOML_JOB}kind = \"adhoc\"\n"));
    assert!(m.contains("key `kind` given twice"), "{m}");
    let m = message_of(
        "bare.toml",
        &TOML_JOB.replace("kind = \"adhoc\"", "kind = adhoc"),
    );
    assert!(m.contains("`kind`"), "{m}");
    let m = message_of("nan.toml", &TOML_JOB.replace("cpu = 1,", "cpu = nan,"));
    assert!(
        m.contains("jobs[0].resources.cpu: expected a finite number"),
        "{m}"
    );
}

// ---- silently accepted before ----------------------------------------------------------------

#[test]
fn unknown_yaml_tags_are_refused() {
    let d = one_error(
        "tag.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: !include run.sh }}] }}\n"
        ),
    );
    assert!(
        d.message.contains("unsupported tag `!include`"),
        "{}",
        d.message
    );
    let (line, _) = d.line_col().expect("located");
    assert_eq!(line, 6);
}

#[test]
fn inline_aurora_executor_data_must_be_json() {
    let spec = |data: &str| {
        format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    executor: {{ name: AuroraExecutor, data: '{data}' }}\n"
        )
    };
    let d = one_error("data.yaml", &spec("not json"));
    assert_eq!(d.path, "jobs[0].executor.data");
    assert!(d.message.contains("not valid JSON"), "{}", d.message);
    assert!(d.span.is_some());
    assert_eq!(load("ok.yaml", &spec("{\"task\": {}}")).ok(), Some(1));
}

#[test]
fn toml_datetimes_are_refused_where_a_string_is_expected() {
    let d = one_error(
        "dt.toml",
        &TOML_JOB.replace("cmdline = \"x\"", "cmdline = 1979-05-27T07:32:00Z"),
    );
    assert!(d.message.contains("datetime"), "{}", d.message);
    assert_eq!(d.line_col().map(|l| l.0), Some(6));
}

#[test]
fn an_escaped_nul_in_a_command_line_is_refused() {
    let d = one_error(
        "nul.yaml",
        &format!(
            "{HEAD}  - key: devcluster/www-data/prod/a\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: \"echo a\\0b\" }}] }}\n"
        ),
    );
    assert_eq!(d.path, "jobs[0].task.processes[0].cmdline");
    assert!(d.message.contains("NUL"), "{}", d.message);
}

/// The memory bound documented in docs/spec-reference.md: run alone, in release, once per
/// format (`HOSTILE_FORMAT=yaml|json|toml cargo test --release -p aurora-spec --test hostile
/// -- --ignored --exact hundred_thousand_jobs_peak_memory --nocapture`).
#[test]
#[ignore = "measurement: run alone, in release"]
fn hundred_thousand_jobs_peak_memory() {
    let (name, format) = match std::env::var("HOSTILE_FORMAT").as_deref() {
        Ok("json") => ("big.json", Format::Json),
        Ok("toml") => ("big.toml", Format::Toml),
        _ => ("big.yaml", Format::Yaml),
    };
    let text = one_line_jobs(format, 100_000);
    let bytes = text.len();
    let start = std::time::Instant::now();
    assert_eq!(load(name, &text).map_err(|d| d[0].to_string()), Ok(100_000));
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    println!(
        "{name}: {} MiB of text, 100,000 jobs in {:?}, peak {peak}",
        bytes >> 20,
        start.elapsed()
    );
}
