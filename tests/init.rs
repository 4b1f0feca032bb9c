//! box-init as a container's init, on the host: `box-init -- CMD` and
//! `box run --init`.

mod common;

use common::*;
use std::time::Duration;

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    let root = busybox_rootfs(test);
    add_box_libraries(root.path());
    Some(root)
}

/// `box run --rootfs ROOT --init sh -c SCRIPT`.
fn init_args<'a>(root: &'a TempDir, script: &'a str) -> [&'a str; 7] {
    let root = root.path().to_str().unwrap();
    ["run", "--rootfs", root, "--init", "sh", "-c", script]
}

#[test]
#[ignore = "needs root"]
fn box_init_passes_the_exit_status_through() {
    let run = run_box(["box-init", "--subreaper", "--", "false"]);
    assert_eq!(run.code(), 1, "{run:?}");
    let run = run_box(["box-init", "-s", "--", "sh", "-c", "exit 7"]);
    assert_eq!(run.code(), 7, "{run:?}");
    let run = run_box(["box-init", "-s", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(run.code(), 143, "{run:?}");
    let run = run_box(["box-init", "-s", "--", "no-such-command"]);
    assert_eq!(run.code(), 127, "{run:?}");
}

#[test]
fn box_init_without_a_command_off_pid_1_says_so() {
    let run = run_box(["box-init"]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(
        one_error_line(&run).contains("board mode runs only as PID 1"),
        "{run:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn init_reaps_orphaned_zombies() {
    let Some(root) = setup("init_reaps_orphaned_zombies") else {
        return;
    };
    // 100 grandchildren whose parents exit at once: orphans, reparented to
    // the container's PID 1. When they exit, only a reaping init keeps them
    // from staying zombies.
    let script = "for i in $(seq 100); do (sleep 1 &); done; sleep 0.3; \
                  echo started $(ps -o comm | grep -c sleep); \
                  sleep 2; echo zombies $(ps -o stat | grep -c '^Z')";
    let run = run_box(init_args(&root, script));
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "started 100\nzombies 0\n", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn sigterm_reaches_the_command_through_init() {
    let Some(root) = setup("sigterm_reaches_the_command_through_init") else {
        return;
    };
    let (child, _out) = spawn_until_ready(&init_args(&root, "echo ready; exec sleep 100"));
    // Without an init, sleep as PID 1 would ignore SIGTERM; box-init as PID
    // 1 passes it on, and sleep dies of it: 128 + 15.
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let run = wait_with_timeout(child, Duration::from_secs(30));
    assert_eq!(run.code(), 143, "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn the_container_cannot_touch_box_through_proc_self_exe() {
    let Some(root) = setup("the_container_cannot_touch_box_through_proc_self_exe") else {
        return;
    };
    let before = std::fs::read(BOX).unwrap();
    let script = "readlink /proc/1/exe; echo x >> /proc/1/exe 2>/dev/null && echo WROTE; \
                  cat /proc/1/exe > /tmp/copy && chmod +x /tmp/copy && echo copied";
    let run = run_box(init_args(&root, script));
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    let exe = lines.next().unwrap();
    assert!(
        exe.starts_with("/memfd:"),
        "PID 1 runs from a sealed copy, not the host's file: {run:?}"
    );
    assert_eq!(lines.next(), Some("copied"), "{run:?}");
    assert!(!run.stdout.contains("WROTE"), "{run:?}");
    assert_eq!(
        std::fs::read(BOX).unwrap(),
        before,
        "the host's box changed"
    );
}
