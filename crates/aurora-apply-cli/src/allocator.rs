//! glibc's allocator thresholds, fixed once at start-up.
//!
//! glibc raises its mmap threshold to the size of the largest mmapped block freed so far, and
//! its trim threshold to twice that (the "dynamic threshold" of `free` in malloc.c): after the
//! first large free (a 0.6 MB reply, the vector of loaded specs) no arena gives a free top
//! back below that size, and each of the up to eight arenas per core keeps the high-water mark
//! of the threads that used it. A plan of 10,000 jobs kept ~35 MB of free memory resident that
//! way (docs/performance.md: 106–118 MiB, 72–78 MiB with the thresholds fixed; same time).
//!
//! The thresholds are set by `mallopt`, a C call that this workspace's `unsafe_code = forbid`
//! rules out, or by the environment, which glibc reads before `main`. So the binary executes
//! itself once more, at once, with glibc's initial values set as fixed ones
//! (`MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_`, 128 KiB): the same process (the
//! pid, the terminal, the arguments, `argv[0]`) with only the allocator's settings changed.
//! Thresholds the user set (either variable, or any `GLIBC_TUNABLES`) are left alone, and if
//! the executable cannot be run again, the run goes on as it is.

/// The variables glibc reads, set to its initial (128 KiB) values.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub const FIXED: [(&str, &str); 2] = [
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
    ("MALLOC_TRIM_THRESHOLD_", "131072"),
];

/// Executes this binary again with the thresholds fixed, unless they already are (or the
/// user chose their own). Returns only when it did not.
pub fn fix_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        let chosen = FIXED
            .iter()
            .map(|(name, _)| *name)
            .chain(["GLIBC_TUNABLES"])
            .any(|name| std::env::var_os(name).is_some());
        if chosen {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        let mut again = std::process::Command::new(&exe);
        again.arg0(arg0).args(args).envs(FIXED);
        // `exec` returns only when the executable could not be run again.
        let _ = again.exec();
    }
}
