//! glibc's allocator settings, fixed once at start-up.
//!
//! glibc raises its mmap threshold to the size of the largest mmapped block freed so far, and
//! its trim threshold to twice that (the "dynamic threshold" of `free` in malloc.c): after the
//! first large free (a 0.6 MB reply, the vector of loaded specs) no arena gives a free top
//! back below that size, and each of the up to eight arenas per core keeps the high-water mark
//! of the threads that used it. A plan of 10,000 jobs kept ~35 MB of free memory resident that
//! way (docs/performance.md: 106–118 MiB, 72–78 MiB with the thresholds fixed; same time).
//!
//! Arenas are capped too, at two per core. glibc allows eight per core so that threads
//! contending for the allocator seldom wait; a plan's threads mostly wait for the network,
//! and every arena keeps its own free memory and its own high-water mark. With eight arenas
//! per core a 10,000-job plan peaked at 62–67 MiB, with two per core at 57–62 (the same time).
//!
//! The settings are made by `mallopt`, a C call that this workspace's `unsafe_code = forbid`
//! rules out, or by the environment, which glibc reads before `main`. So the binary executes
//! itself once more, at once, with them set (`MALLOC_MMAP_THRESHOLD_` and
//! `MALLOC_TRIM_THRESHOLD_` at glibc's initial 128 KiB, `MALLOC_ARENA_MAX`): the same process
//! (the pid, the terminal, the arguments, `argv[0]`) with only the allocator's settings
//! changed. Settings the user made (any of the variables, or any `GLIBC_TUNABLES`) are left
//! alone, and if the executable cannot be run again, the run goes on as it is.

/// The thresholds glibc reads, set to its initial (128 KiB) values.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub const FIXED: [(&str, &str); 2] = [
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
    ("MALLOC_TRIM_THRESHOLD_", "131072"),
];

/// The variable capping glibc's arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub const ARENA_MAX: &str = "MALLOC_ARENA_MAX";

/// Arenas allowed per core.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS_PER_CORE: usize = 2;

/// Executes this binary again with the allocator's settings fixed, unless they already are
/// (or the user chose their own). Returns only when it did not.
pub fn fix_settings() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        let chosen = FIXED
            .iter()
            .map(|(name, _)| *name)
            .chain([ARENA_MAX, "GLIBC_TUNABLES"])
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
        let arenas = std::thread::available_parallelism().map_or(1, usize::from) * ARENAS_PER_CORE;
        again
            .arg0(arg0)
            .args(args)
            .envs(FIXED)
            .env(ARENA_MAX, arenas.to_string());
        // `exec` returns only when the executable could not be run again.
        let _ = again.exec();
    }
}
