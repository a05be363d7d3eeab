//! The `aurora-apply` command (work in progress).
fn main() {}
