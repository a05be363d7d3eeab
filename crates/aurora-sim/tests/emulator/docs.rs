//! `docs/emulator.md`'s behaviour table and these tests stay in step: every row names its
//! source and at least one test, every `module::test` it names exists (in this binary, or in
//! `crates/<crate>/tests/<module>.rs` when a crate name such as `aurora-spec` precedes it),
//! and every test here is named by some row.

use std::collections::BTreeSet;

/// The modules of this test binary that hold behaviour tests.
const MODULES: &[&str] = &[
    "cli",
    "fixtures",
    "http",
    "jobs",
    "shape",
    "state",
    "updates",
    "validation",
];

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A test a row names: `module::test` in this binary, or `crate module::test` in another
/// crate's `tests/module.rs` (e.g. "aurora-spec differential::…").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Named {
    krate: Option<String>,
    module: String,
    test: String,
}

/// The tests named in a table cell (other words, such as "(raw)" or "cron unit tests", are
/// left alone).
fn test_names(cell: &str) -> Vec<Named> {
    let mut out = Vec::new();
    let mut previous: Option<&str> = None;
    for word in cell.split(|c: char| c == ',' || c.is_whitespace()) {
        if word.is_empty() {
            continue;
        }
        if let Some((m, t)) = word.split_once("::")
            && !m.is_empty()
            && !t.is_empty()
            && m.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            out.push(Named {
                krate: previous
                    .filter(|p| p.starts_with("aurora-"))
                    .map(str::to_string),
                module: m.to_string(),
                test: t.to_string(),
            });
        }
        previous = Some(word);
    }
    out
}

/// `#[test] fn name` in a source file.
fn tests_in(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut after_test_attr = false;
    for line in source.lines() {
        let line = line.trim();
        if line == "#[test]" {
            after_test_attr = true;
        } else if after_test_attr && let Some(rest) = line.strip_prefix("fn ") {
            out.push(rest.split('(').next().unwrap_or("").to_string());
            after_test_attr = false;
        } else if !line.starts_with("#[") {
            after_test_attr = false;
        }
    }
    out
}

#[test]
fn behaviour_table_and_tests_stay_in_step() {
    let doc = read("../../docs/emulator.md");
    let start = doc
        .find("## Behaviour table")
        .expect("behaviour table heading");
    let end = doc[start..]
        .find("## Known differences")
        .map_or(doc.len(), |i| start + i);
    let mut named: BTreeSet<Named> = BTreeSet::new();
    let mut rows = 0;
    for line in doc[start..end].lines() {
        if !line.starts_with('|') || line.starts_with("| ---") || line.starts_with("| behaviour") {
            continue;
        }
        rows += 1;
        let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 3, "row with three cells: {line}");
        assert!(!cells[1].trim().is_empty(), "row without a source: {line}");
        assert!(!cells[2].trim().is_empty(), "row without a test: {line}");
        named.extend(test_names(cells[2]));
    }
    assert!(rows > 50, "only {rows} rows found");

    let sources: Vec<(&str, String)> = MODULES
        .iter()
        .map(|m| (*m, read(&format!("tests/emulator/{m}.rs"))))
        .collect();
    for n in &named {
        let Named {
            krate,
            module: m,
            test: t,
        } = n;
        let src = match krate {
            Some(k) => read(&format!("../{k}/tests/{m}.rs")),
            None => match sources.iter().find(|(name, _)| name == m) {
                Some((_, src)) => src.clone(),
                None => panic!("the table names {m}::{t}, but there is no test module {m}"),
            },
        };
        assert!(
            tests_in(&src).contains(t),
            "the table names {m}::{t}, which does not exist"
        );
    }
    for (m, src) in &sources {
        for t in tests_in(src) {
            let here = Named {
                krate: None,
                module: m.to_string(),
                test: t.clone(),
            };
            assert!(
                named.contains(&here),
                "{m}::{t} is not named by any row of the behaviour table"
            );
        }
    }
}
