//! The loader never panics: arbitrary bytes, and valid specs with random edits, in every
//! format. (Errors are fine; a panic or a hang is not.)

use aurora_spec::{Format, LoadOptions, SourceFile, load_sources};
use proptest::prelude::*;

const SEEDS: &[(&str, &str)] = &[
    (
        "a.yaml",
        include_str!("../../../specs/hello.aurora-apply.yaml"),
    ),
    (
        "b.yaml",
        include_str!("../../../specs/compose.aurora-apply.yaml"),
    ),
    (
        "c.yaml",
        include_str!("../../../specs/cron.aurora-apply.yaml"),
    ),
    (
        "d.toml",
        include_str!("../../../specs/web.aurora-apply.toml"),
    ),
];

fn load(name: &str, text: String) {
    let format = Format::from_path(std::path::Path::new(name)).unwrap_or(Format::Yaml);
    let _ = load_sources(
        &[SourceFile::new(name, text, format)],
        &LoadOptions::default(),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text(bytes in prop::collection::vec(any::<u8>(), 0..400), fmt in 0usize..3) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        load(["x.yaml", "x.toml", "x.json"][fmt], text);
    }

    #[test]
    fn mutated_specs(seed in 0usize..4, edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[ -~\\n]{0,6}"), 1..6)) {
        let (name, text) = SEEDS[seed];
        let mut s = text.to_string();
        for (idx, op, insert) in edits {
            if s.is_empty() { break; }
            let mut at = idx.index(s.len());
            while !s.is_char_boundary(at) { at -= 1; }
            match op {
                0 => s.insert_str(at, &insert),
                1 => { let end = (at + insert.len().max(1)).min(s.len()); let mut e = end; while !s.is_char_boundary(e) { e -= 1; } s.replace_range(at..e, ""); }
                2 => { let end = (at + 3).min(s.len()); let mut e = end; while !s.is_char_boundary(e) { e -= 1; } s.replace_range(at..e, &insert); }
                _ => s.insert_str(at, "{[&a *a"),
            }
        }
        load(name, s);
    }
}
