#!/usr/bin/env bash
# Regenerates src/generated/aurora.rs from thrift/aurora.thrift with the Thrift compiler (Debian
# package thrift-compiler, 0.17). The output is committed and never edited by hand; the one
# fix it needs is applied here:
#   * string constants are emitted without escaping, so "^[\w\-\.]+$" is not valid Rust;
#     they are turned into raw strings (upstream THRIFT-6236);
#   * `Default` of an all-optional struct sets base-type and container fields to
#     Some(zero) (0.17's opt_in_req_out_value); every field of our IDL is optional and
#     "absent" must stay absent, so those impls are made to return None for every field;
#   * a union holding exactly one field this IDL does not know makes the generated reader
#     panic (`ret.expect(...)`); a hostile or newer peer must get an error instead.
# With --check, regenerates into a temporary directory and fails if the committed file differs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
crate=$(dirname "$here")
gen="$crate/src/generated"

command -v thrift >/dev/null || { echo "thrift compiler not found (apt-get install thrift-compiler)" >&2; exit 1; }
version=$(thrift --version)
case "$version" in
  *"0.17.0"*) ;;
  *) echo "expected Thrift compiler 0.17.0, found: $version" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
thrift --gen rs -out "$tmp" "$here/aurora.thrift"
sed -E -i 's/^(pub const [A-Z_]+: &str = )"(.*\\.*)";$/\1r"\2";/' "$tmp/aurora.rs"
sed -E -i '/^impl Default for /,/^}/ s/^( +[a-z_0-9]+): Some\(.*\),$/\1: None,/' "$tmp/aurora.rs"
sed -i 's/Ok(ret.expect("return value should have been constructed"))/ret.ok_or_else(|| thrift::Error::Protocol(ProtocolError::new(ProtocolErrorKind::InvalidData, "received an unknown union variant")))/' "$tmp/aurora.rs"
# Enum names and enum-typed fields, which the Thrift compiler does not emit.
python3 "$here/enum_table.py" "$here/aurora.thrift" > "$tmp/enum_names.rs"
rustfmt --edition 2024 "$tmp/enum_names.rs"

for f in aurora.rs enum_names.rs; do
  if [ "${1:-}" = "--check" ]; then
    if ! diff -q "$tmp/$f" "$gen/$f" >/dev/null 2>&1; then
      echo "src/generated/$f is stale: run crates/aurora-thrift/thrift/regen.sh (or just thrift) and commit" >&2
      diff -u "$gen/$f" "$tmp/$f" | head -40 >&2 || true
      exit 1
    fi
  else
    cp "$tmp/$f" "$gen/$f"
    echo "wrote $gen/$f"
  fi
done
[ "${1:-}" = "--check" ] && echo "thrift bindings are fresh"
exit 0
