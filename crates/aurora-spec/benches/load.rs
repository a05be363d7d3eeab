//! Validate and render 10,000 jobs from 1,000 generated files (10 jobs each, a mix of
//! services with update policies and constraints, cron jobs and custom executors), from
//! disk, as `aurora-apply validate`/`render` do. Target: under 1 s on 2 cores.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use aurora_spec::{LoadOptions, load_paths};
use criterion::{Criterion, criterion_group, criterion_main};

fn job(f: usize, j: usize) -> String {
    match j % 3 {
        0 => format!(
            "  - name: svc-{f}-{j}\n    kind: service\n    instances: {}\n    tier: preferred\n    resources: {{ cpu: 0.5, ram: 256MiB, disk: 1GiB }}\n    ports: [http, health]\n    constraints: {{ host: {{ limit: 1 }}, rack: {{ values: [r1, r2] }} }}\n    update: {{ strategy: {{ batch: {{ size: 2 }} }}, watch: 30s, max_failed_instances: 1 }}\n    health_check: {{ http: {{ endpoint: /health }}, interval: 10s }}\n    task:\n      sequential: true\n      processes:\n        - {{ name: setup, cmdline: 'echo setup' }}\n        - {{ name: web, cmdline: './server --port={{{{thermos.ports[http]}}}}' }}\n",
            2 + j
        ),
        1 => format!(
            "  - name: cron-{f}-{j}\n    kind: cron\n    cron: {{ schedule: '*/5 * * * *', collision_policy: CANCEL_NEW }}\n    resources: {{ cpu: 1, ram: 512MiB, disk: 1GiB }}\n    task:\n      processes:\n        - {{ name: report, cmdline: './report --date=yesterday' }}\n"
        ),
        _ => format!(
            "  - name: compose-{f}-{j}\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 64MiB, disk: 100MiB }}\n    ports: 2\n    executor: {{ name: docker-compose-executor, data: '{{}}' }}\n    metadata: {{ fileName: sample-app/docker-compose.yml }}\n    fetch:\n      - {{ uri: 'https://example.com/app-{f}.tar.gz', extract: true, cache: true }}\n"
        ),
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    for f in 0..1000 {
        let mut text = format!(
            "apiVersion: aurora-apply/v1\ndefaults:\n  cluster: devcluster\n  role: team{}\n  environment: prod\njobs:\n",
            f % 7
        );
        for j in 0..10 {
            text.push_str(&job(f, j));
        }
        std::fs::write(dir.path().join(format!("f{f:04}.aurora-apply.yaml")), text).expect("write");
    }
    let jobs =
        load_paths(&[dir.path()], &LoadOptions::default()).expect("generated specs are valid");
    assert_eq!(jobs.len(), 10_000);

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("validate_render_10k_jobs_1k_files", |b| {
        b.iter(|| {
            let jobs = load_paths(&[dir.path()], &LoadOptions::default()).expect("valid");
            let bytes: usize = jobs
                .iter()
                .map(|j| {
                    aurora_spec::render::job_configuration_json(&j.config)
                        .to_string()
                        .len()
                })
                .sum();
            black_box(bytes)
        })
    });
    // 10,000 jobs with one unknown key each: every diagnostic collected, located (line and
    // column) and turned into JSON, as `validate -o json` does. Quadratic bookkeeping took
    // 34 s here; the target is well under a second.
    let mut text = String::from("apiVersion: aurora-apply/v1\njobs:\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "  - key: devcluster/www-data/prod/j{i}\n    kind: adhoc\n    resources: {{ cpu: 1, ram: 1GiB, disk: 1GiB }}\n    task: {{ processes: [{{ name: a, cmdline: x }}] }}\n    bogus{i}: 1\n"
        ));
    }
    let errors = dir.path().join("errors.yaml");
    std::fs::write(&errors, text).expect("write");
    group.bench_function("10k_errors_one_file", |b| {
        b.iter(|| {
            let diags = load_paths(&[&errors], &LoadOptions::default()).expect_err("invalid");
            let json: Vec<_> = diags.iter().map(aurora_spec::Diagnostic::to_json).collect();
            assert_eq!(json.len(), 10_000);
            black_box(json)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
