# Everyday commands. Plain cargo works too; CI runs .ci/run, not just.

# Run every test (the README's test command).
test:
    scripts/test

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Regenerate the Thrift bindings from crates/aurora-thrift/thrift/aurora.thrift.
thrift:
    crates/aurora-thrift/thrift/regen.sh

# Fail if the committed bindings are stale.
thrift-check:
    crates/aurora-thrift/thrift/regen.sh --check

# Everything CI does.
ci:
    bash .ci/run
