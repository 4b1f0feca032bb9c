//! The reliability suite of the hardening issue, part 3: load. 500
//! sequential and 50 concurrent `box run … true` with limits, and 1000
//! `box exec` into one detached container; afterwards no leaked mount,
//! cgroup, state, descriptor or process, and the supervisor does not grow.
//!
//! The tests of this file take one lock, so they run one at a time (the
//! descriptor count of this process must not move with another test's
//! pipes), and print their numbers as `load: …` lines (`--nocapture`).

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    Some(busybox_rootfs(test))
}

/// Descriptors open in this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The descriptors a container's command gets (0, 1, 2 and ls's own 3).
fn fds_inside(root: &str) -> String {
    let run = run_box(["run", "--rootfs", root, "ls", "/proc/self/fd"]);
    assert_eq!(run.code(), 0, "{run:?}");
    run.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Everything runs of names PREFIX… may have left; empty when clean.
fn leftovers(prefix: &str, root: &Path) -> Vec<String> {
    let mut left = Vec::new();
    let procs = wait_no_leftover_processes(prefix, Some(root), Duration::from_secs(2));
    if !procs.is_empty() {
        left.push(format!("processes: {procs:#?}"));
    }
    let cgroups = cgroup_dirs_with_prefix(prefix);
    if !cgroups.is_empty() {
        left.push(format!("cgroups: {cgroups:#?}"));
    }
    let state = state_dirs_with_prefix(prefix);
    if !state.is_empty() {
        left.push(format!("state: {state:?}"));
    }
    let mounts = mounts_mentioning(&[root]);
    if !mounts.is_empty() {
        left.push(format!("mounts: {mounts:#?}"));
    }
    left
}

/// A named run with limits; `--rm`, so that nothing of it stays.
fn limited_run<'a>(root: &'a str, name: &'a str) -> [&'a str; 11] {
    [
        "run", "--rm", "--rootfs", root, "--name", name, "--pids", "64", "--memory", "64M", "true",
    ]
}

#[test]
#[ignore = "needs root"]
fn five_hundred_sequential_runs_leave_nothing() {
    let test = "five_hundred_sequential_runs_leave_nothing";
    let _serial = serial();
    let Some(root) = setup(test) else { return };
    let r = root.path().to_str().unwrap();
    let prefix = format!("hl-{}-seq-", std::process::id());
    let _sweep = ContainerSweep::new(&prefix);
    let fds_before = fd_count();
    let inside_before = fds_inside(r);
    let start = Instant::now();
    for i in 0..500 {
        let name = format!("{prefix}{i}");
        let run = run_box(limited_run(r, &name));
        assert_eq!(run.code(), 0, "run {i}: {run:?}");
    }
    let elapsed = start.elapsed();
    let inside_after = fds_inside(r);
    let fds_after = fd_count();
    eprintln!(
        "load: {test}: 500 runs in {elapsed:?}; fds of the test {fds_before} -> {fds_after}; \
         inside [{inside_before}] -> [{inside_after}]"
    );
    assert_eq!(inside_before, "0 1 2 3");
    assert_eq!(inside_after, inside_before);
    assert_eq!(fds_after, fds_before, "descriptors of the test process");
    let left = leftovers(&prefix, root.path());
    assert!(left.is_empty(), "left after 500 runs:\n{}", left.join("\n"));
}

#[test]
#[ignore = "needs root"]
fn fifty_concurrent_runs_leave_nothing() {
    let test = "fifty_concurrent_runs_leave_nothing";
    let _serial = serial();
    let Some(root) = setup(test) else { return };
    let r = root.path().to_str().unwrap();
    let prefix = format!("hl-{}-par-", std::process::id());
    let _sweep = ContainerSweep::new(&prefix);
    let fds_before = fd_count();
    let start = Instant::now();
    let children: Vec<_> = (0..50)
        .map(|i| {
            let name = format!("{prefix}{i}");
            Command::new(BOX)
                .args(limited_run(r, &name))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn box")
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| wait_with_timeout(c, Duration::from_secs(60)))
        .collect();
    let elapsed = start.elapsed();
    let failed: Vec<String> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code() != 0)
        .map(|(i, r)| format!("run {i}: {r:?}"))
        .collect();
    let fds_after = fd_count();
    eprintln!(
        "load: {test}: 50 concurrent runs in {elapsed:?}, {} failed; fds of the test {fds_before} -> {fds_after}",
        failed.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(fds_after, fds_before, "descriptors of the test process");
    let left = leftovers(&prefix, root.path());
    assert!(
        left.is_empty(),
        "left after 50 concurrent runs:\n{}",
        left.join("\n")
    );
}

/// VmRSS in KiB and the number of descriptors of a process.
fn rss_and_fds(pid: i32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (rss, fds)
}

/// Zombies whose parent is one of `parents`.
fn zombies_of(parents: &[i32]) -> Vec<ProcInfo> {
    all_processes()
        .into_iter()
        .filter(|p| p.state == 'Z' && parents.contains(&p.ppid))
        .collect()
}

#[test]
#[ignore = "needs root"]
fn supervisor_does_not_grow_over_1000_execs() {
    let test = "supervisor_does_not_grow_over_1000_execs";
    let _serial = serial();
    let Some(root) = setup(test) else { return };
    let r = root.path().to_str().unwrap();
    let name = format!("hl-{}-exec", std::process::id());
    let _sweep = ContainerSweep::new(&name);
    run_detached(
        &name,
        r,
        &[
            "--pids",
            "64",
            "sh",
            "-c",
            "while :; do sleep 1; done",
            &name,
        ],
    );
    let dir = Path::new("/run/box").join(&name);
    let read_pid = |f: &str| -> i32 {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let supervisor = read_pid("supervisor");
    let init = read_pid("pid");
    let fds_before = fd_count();
    let start_snapshot = rss_and_fds(supervisor);
    let init_start = rss_and_fds(init);
    let mut at_100 = (0, 0);
    let start = Instant::now();
    for i in 1..=1000 {
        let exec = run_box(["exec", &name, "--", "true"]);
        assert_eq!(exec.code(), 0, "exec {i}: {exec:?}");
        if i == 100 {
            at_100 = rss_and_fds(supervisor);
        }
    }
    let elapsed = start.elapsed();
    let at_1000 = rss_and_fds(supervisor);
    let init_end = rss_and_fds(init);
    let fds_after = fd_count();
    let zombies = zombies_of(&[supervisor, init]);
    eprintln!(
        "load: {test}: 1000 execs in {elapsed:?}; supervisor VmRSS/fds: start {start_snapshot:?}, \
         after 100 {at_100:?}, after 1000 {at_1000:?}; container init {init_start:?} -> {init_end:?}; \
         fds of the test {fds_before} -> {fds_after}; zombies {}",
        zombies.len()
    );
    assert!(
        at_1000.0 <= at_100.0 + 8,
        "supervisor VmRSS grew from {} KiB (after 100 execs) to {} KiB (after 1000)",
        at_100.0,
        at_1000.0
    );
    assert_eq!(at_1000.1, at_100.1, "supervisor descriptors");
    assert_eq!(init_end.1, init_start.1, "container init descriptors");
    assert_eq!(fds_after, fds_before, "descriptors of the test process");
    assert!(zombies.is_empty(), "zombies: {zombies:#?}");
    let rm = run_box(["rm", "-f", &name]);
    assert_eq!(rm.code(), 0, "{rm:?}");
    let left = leftovers(&name, root.path());
    assert!(
        left.is_empty(),
        "left after box rm -f:\n{}",
        left.join("\n")
    );
}
