//! A scheduler behind HTTPS with a private CA: unreachable without the CA, reachable with
//! `--ca-file`, `AURORA_CA_FILE` or the cluster entry's `ca_file` (relative to its
//! clusters.json). The emulator is put behind a TLS-terminating proxy that uses the
//! project's test certificates (fixtures/tls/).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::harness::{World, expect_code, stderr};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/tls")
        .join(name)
}

/// `https://127.0.0.1:PORT` forwarding each request to `upstream` (`host:port`).
fn tls_proxy(upstream: String) -> String {
    let certs = vec![CertificateDer::from_pem_file(fixture("leaf.pem")).expect("leaf certificate")];
    let key = PrivateKeyDer::from_pem_file(fixture("leaf.key")).expect("leaf key");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (config, upstream) = (Arc::clone(&config), upstream.clone());
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                // One request per connection: the client opens another for the next.
                let Some(request) = read_message(&mut tls, true) else {
                    return; // the handshake was refused (no trusted CA), or a broken request
                };
                let Ok(mut plain) = TcpStream::connect(&upstream) else {
                    return;
                };
                if plain.write_all(&request).is_err() {
                    return;
                }
                let Some(reply) = read_message(&mut plain, false) else {
                    return;
                };
                let _ = tls.write_all(&reply);
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

/// One HTTP/1.1 message (head and Content-Length body), with `Connection: close` put in
/// place of any connection header when `close` is set.
fn read_message(stream: &mut impl Read, close: bool) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if line == "\r\n" {
            if close {
                head.extend_from_slice(b"Connection: close\r\n");
            }
            head.extend_from_slice(b"\r\n");
            break;
        }
        if !(close && lower.starts_with("connection:")) {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    head.extend_from_slice(&body);
    Some(head)
}

#[test]
fn a_private_ca_is_trusted_from_the_option_the_environment_or_clusters_json() {
    let w = World::seed();
    let https = tls_proxy(w.sim.addr().to_string());
    let clusters = w.path("specs/clusters.json");
    std::fs::write(
        &clusters,
        format!(r#"[{{"name": "devcluster", "scheduler_uri": "{https}"}}]"#),
    )
    .expect("clusters.json");
    let specs = w.specs();
    let specs = specs.to_str().expect("utf-8");
    let ca = fixture("ca.pem");
    let ca = ca.to_str().expect("utf-8");

    // Without the CA: a TLS failure, not retried, nothing planned.
    let out = w.run(&["plan", specs]);
    expect_code(&out, 1);
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("retrying in"), "{}", stderr(&out));
    assert!(w.methods().is_empty(), "{:?}", w.methods());

    // --ca-file.
    expect_code(&w.run(&["plan", specs, "--ca-file", ca]), 0);
    assert!(w.methods().iter().any(|m| m == "getJobs"));

    // AURORA_CA_FILE.
    let out = assert_cmd::Command::cargo_bin("aurora-apply")
        .expect("binary")
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env("AURORA_CONFIG_ROOT", w.path("none"))
        .env("HOME", w.dir.path())
        .env("AURORA_CA_FILE", ca)
        .args(["plan", specs])
        .output()
        .expect("runs");
    expect_code(&out, 0);

    // The cluster entry's ca_file, relative to its clusters.json.
    std::fs::copy(fixture("ca.pem"), w.path("specs/private-ca.pem")).expect("copy");
    std::fs::write(
        &clusters,
        format!(
            r#"[{{"name": "devcluster", "scheduler_uri": "{https}", "ca_file": "private-ca.pem"}}]"#
        ),
    )
    .expect("clusters.json");
    expect_code(&w.run(&["plan", specs]), 0);
}
