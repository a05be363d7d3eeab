//! Every wire fixture (made with Aurora's real IDL) decodes with our bindings to exactly what
//! its `.json` lists, and re-encodes to the same bytes.

use std::path::{Path, PathBuf};

use aurora_thrift::json::to_json;
use aurora_thrift::rpc::{call_args_json, reencode_call};
use aurora_thrift::types::JobConfiguration;
use aurora_thrift::wire::{IncomingCall, decode_reply, decode_struct, encode_reply, encode_struct};
use serde_json::{Value, json};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> Vec<(PathBuf, Value)> {
    let dir = repo_root().join("fixtures/wire");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/wire exists")
        .map(|e| e.expect("readable dir").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable fixture");
            (p, serde_json::from_str(&text).expect("valid JSON"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 30,
        "expected the full fixture set, found {}",
        out.len()
    );
    out
}

fn bin_of(desc: &Value) -> Vec<u8> {
    let name = desc["file"].as_str().expect("file name");
    std::fs::read(repo_root().join("fixtures/wire").join(name)).expect("the .bin exists")
}

#[test]
fn every_fixture_decodes_to_its_description() {
    for (path, desc) in fixtures() {
        let bytes = bin_of(&desc);
        assert_eq!(
            bytes.len() as u64,
            desc["size"].as_u64().unwrap_or(0),
            "{path:?} size"
        );
        let decoded = match desc.get("message") {
            None => {
                assert_eq!(desc["struct"], "JobConfiguration", "{path:?}");
                to_json(&decode_struct::<JobConfiguration>(&bytes).expect("decodes"))
            }
            Some(msg) => {
                let name = msg["name"].as_str().expect("method name");
                let seq = msg["seqid"].as_i64().expect("seqid") as i32;
                match msg["type"].as_str() {
                    Some("CALL") => {
                        let call = IncomingCall::parse(&bytes).expect("header decodes");
                        assert_eq!(call.method, name);
                        assert_eq!(call.seq, seq);
                        call_args_json(&call)
                            .expect("known method")
                            .unwrap_or_else(|e| panic!("{path:?}: {e}"))
                    }
                    Some("REPLY") => {
                        let response = decode_reply(name, seq, &bytes)
                            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
                        json!({ "success": to_json(&response) })
                    }
                    other => panic!("{path:?}: unexpected message type {other:?}"),
                }
            }
        };
        assert_eq!(
            decoded, desc["value"],
            "{path:?} decodes to its description"
        );
    }
}

#[test]
fn every_fixture_reencodes_byte_identical() {
    for (path, desc) in fixtures() {
        let bytes = bin_of(&desc);
        let again = match desc.get("message") {
            None => encode_struct(&decode_struct::<JobConfiguration>(&bytes).expect("decodes")),
            Some(msg) if msg["type"] == "CALL" => {
                let call = IncomingCall::parse(&bytes).expect("header decodes");
                reencode_call(&call)
                    .expect("known method")
                    .expect("decodes")
            }
            Some(msg) => {
                let name = msg["name"].as_str().expect("method name");
                encode_reply(name, 0, &decode_reply(name, 0, &bytes).expect("decodes"))
            }
        };
        assert!(again == bytes, "{path:?} re-encodes to different bytes");
    }
}

/// The copies are compared with the originals wherever they are: `AURORA_SHARED_FIXTURES`
/// (which `scripts/test` sets, to `absent` — and says so — when there are none), else the
/// folder beside the clone. Missing originals fail unless they were declared absent.
#[test]
fn fixture_copies_match_the_shared_originals() {
    let shared = match std::env::var("AURORA_SHARED_FIXTURES") {
        Ok(declared) if declared == "absent" => return,
        Ok(path) => PathBuf::from(path),
        Err(_) => repo_root().join("../shared/fixtures"),
    };
    assert!(
        shared.is_dir(),
        "the shared fixtures are not at {shared:?}: set AURORA_SHARED_FIXTURES to their folder, \
         or to `absent` to test the copies on their own"
    );
    for sub in ["wire", "aurora-client"] {
        compare_dirs(&shared.join(sub), &repo_root().join("fixtures").join(sub));
    }
}

fn compare_dirs(original: &Path, copy: &Path) {
    for entry in std::fs::read_dir(original).expect("readable") {
        let path = entry.expect("entry").path();
        let twin = copy.join(path.file_name().expect("name"));
        if path.is_dir() {
            compare_dirs(&path, &twin);
        } else {
            let a = std::fs::read(&path).expect("readable");
            let b = std::fs::read(&twin).unwrap_or_default();
            assert!(
                a == b,
                "{twin:?} differs from {path:?}: copy the shared fixtures again"
            );
        }
    }
}

#[test]
fn a_union_with_an_unknown_variant_is_an_error_not_a_panic() {
    // struct Resource { 9: i64 } — a variant this IDL does not know.
    let bytes = [0x0a, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 7, 0x00];
    let result = decode_struct::<aurora_thrift::types::Resource>(&bytes);
    assert!(result.is_err(), "{result:?}");
    // And an empty union.
    assert!(decode_struct::<aurora_thrift::types::Resource>(&[0x00]).is_err());
}
