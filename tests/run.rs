//! `box run` on the host, as root, with a busybox rootfs: what a user checks
//! first (PID 1 inside, isolated hostname, mounts that stay inside, exit
//! statuses, signals, errors that say what went wrong).

mod common;

use common::*;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Common preamble: root, busybox, a fresh rootfs.
fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    Some(busybox_rootfs(test))
}

fn rootfs_arg(root: &TempDir) -> String {
    root.path().to_str().unwrap().to_string()
}

#[test]
#[ignore = "needs root"]
fn command_is_pid_1() {
    let Some(root) = setup("command_is_pid_1") else {
        return;
    };
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--",
        "sh",
        "-c",
        "echo $$",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim(), "1", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn ps_sees_only_the_container() {
    let Some(root) = setup("ps_sees_only_the_container") else {
        return;
    };
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "sh",
        "-c",
        "ps -o pid,comm; true",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    let rows: Vec<(u32, String)> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split_whitespace();
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "only sh and ps: {run:?}");
    assert_eq!(rows[0], (1, "sh".to_string()), "{run:?}");
    assert!(
        rows.iter().all(|(_, comm)| comm == "sh" || comm == "ps"),
        "{run:?}"
    );
}

fn host_hostname() -> String {
    rustix_uname()
}

fn rustix_uname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
#[ignore = "needs root"]
fn hostname_is_isolated() {
    let Some(root) = setup("hostname_is_isolated") else {
        return;
    };
    let before = host_hostname();
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--hostname",
        "web",
        "hostname",
    ]);
    assert_eq!(run.stdout.trim(), "web", "{run:?}");
    // The default is the container's name, box-PID without --name.
    let run = run_box(["run", "--rootfs", &rootfs_arg(&root), "hostname"]);
    assert!(run.stdout.trim().starts_with("box-"), "{run:?}");
    let run = run_box([
        "run",
        "--rm",
        "--rootfs",
        &rootfs_arg(&root),
        "--name",
        &format!("db-{}", std::process::id()),
        "hostname",
    ]);
    assert_eq!(
        run.stdout.trim(),
        format!("db-{}", std::process::id()),
        "{run:?}"
    );
    assert_eq!(host_hostname(), before, "the host's hostname changed");
}

#[test]
#[ignore = "needs root"]
fn mounts_stay_inside() {
    let Some(root) = setup("mounts_stay_inside") else {
        return;
    };
    let data = TempDir::new("bind-src");
    std::fs::write(data.path().join("file"), "from the host\n").unwrap();
    let before = host_mounts();
    for propagation in ["private", "slave", "shared", "unbindable"] {
        let bind = format!("{}:/data:ro", data.path().display());
        let run = run_box([
            "run",
            "--rootfs",
            &rootfs_arg(&root),
            "--propagation",
            propagation,
            "--bind",
            &bind,
            "--tmpfs",
            "/scratch:size=1M",
            "sh",
            "-c",
            "cat /data/file && touch /scratch/x && ! touch /data/y 2>/dev/null && grep -c ' /scratch ' /proc/self/mountinfo",
        ]);
        assert_eq!(run.code(), 0, "{propagation}: {run:?}");
        assert_eq!(run.stdout, "from the host\n1\n", "{propagation}: {run:?}");
        assert_same_mounts(&before, propagation);
    }
    assert!(!data.path().join("y").exists());
}

#[test]
#[ignore = "needs root"]
fn failed_run_leaves_host_mounts_as_they_were() {
    let Some(root) = setup("failed_run_leaves_host_mounts") else {
        return;
    };
    let before = host_mounts();
    // Fails late: after the rootfs, /proc and /sys are mounted and the
    // root switched, when the bind's target turns out to be a file.
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--read-only",
        "--bind",
        "/etc:/etc/passwd",
        "true",
    ]);
    let line = assert_refused(
        &run,
        "target inside the rootfs is not",
        "--bind /etc:/etc/passwd",
    );
    assert!(line.contains("/etc/passwd"), "{line}");
    assert_same_mounts(&before, "after a failed run");
}

/// `--read-only` on a rootfs that lacks the mount points: box makes them
/// (a directory for a tmpfs or a directory bind, an empty file for a file
/// bind) before the root becomes read-only, and they stay in the rootfs.
/// Binds and tmpfs are mounted in the order given: a bind under a tmpfs
/// given before it is visible, one given before the tmpfs is covered.
#[test]
#[ignore = "needs root"]
fn read_only_root_gets_its_missing_mount_points_and_mounts_in_order() {
    let test = "read_only_root_gets_its_missing_mount_points";
    let Some(root) = setup(test) else {
        return;
    };
    let host = TempDir::new("ro-points-src");
    std::fs::write(host.path().join("early"), "early\n").unwrap();
    std::fs::write(host.path().join("late"), "late\n").unwrap();
    let early = format!("{}:/newdir/early:ro", host.path().join("early").display());
    let late = format!("{}:/newdir/late:ro", host.path().join("late").display());
    let dir = format!("{}:/hostdir:ro", host.path().display());
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--read-only",
        "--bind",
        &early,
        "--tmpfs",
        "/newdir",
        "--bind",
        &late,
        "--bind",
        &dir,
        "sh",
        "-c",
        "cat /newdir/late /hostdir/early; test -e /newdir/early && echo early; touch /newdir/x && echo writable; touch /y 2>/dev/null || echo read-only",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "late\nearly\nwritable\nread-only\n", "{run:?}");
    let rootfs = root.path();
    assert!(rootfs.join("newdir").is_dir() && rootfs.join("hostdir").is_dir());
    assert_eq!(
        std::fs::metadata(rootfs.join("newdir/early"))
            .unwrap()
            .len(),
        0
    );
    assert!(!rootfs.join("newdir/late").exists() && !rootfs.join("y").exists());
}

#[test]
#[ignore = "needs root"]
fn only_standard_descriptors_inside() {
    let Some(root) = setup("only_standard_descriptors_inside") else {
        return;
    };
    let mut cmd = Command::new(BOX);
    cmd.args(["run", "--rootfs", &rootfs_arg(&root), "ls", "/proc/self/fd"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // A descriptor leaked by the caller, not close-on-exec.
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            libc::dup2(fd, 7);
            Ok(())
        });
    }
    let run = run_command(&mut cmd);
    let fds: Vec<&str> = run.stdout.split_whitespace().collect();
    // 3 is ls's own handle on the directory it lists.
    assert_eq!(fds, ["0", "1", "2", "3"], "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn exit_statuses_come_through() {
    let Some(root) = setup("exit_statuses_come_through") else {
        return;
    };
    let r = rootfs_arg(&root);
    assert_eq!(run_box(["run", "--rootfs", &r, "true"]).code(), 0);
    assert_eq!(
        run_box(["run", "--rootfs", &r, "sh", "-c", "exit 42"]).code(),
        42
    );

    let run = run_box(["run", "--rootfs", &r, "/etc/not-executable"]);
    assert_eq!(run.code(), 126, "{run:?}");
    assert!(
        one_error_line(&run).contains("execve(/etc/not-executable): Permission denied"),
        "{run:?}"
    );

    let run = run_box(["run", "--rootfs", &r, "no-such-command"]);
    assert_eq!(run.code(), 127, "{run:?}");
    assert!(
        one_error_line(&run).contains("no-such-command: not found in PATH="),
        "{run:?}"
    );

    let run = run_box(["run", "--rootfs", &r, "/bin/nothing"]);
    assert_eq!(run.code(), 127, "{run:?}");
    assert!(one_error_line(&run).contains("execve(/bin/nothing): No such file or directory"));
}

/// The PID of box's child (the container's init), from /proc.
fn child_of(pid: u32) -> u32 {
    for _ in 0..1000 {
        let path = format!("/proc/{pid}/task/{pid}/children");
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Some(first) = text.split_whitespace().next()
        {
            return first.parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("box {pid} never got a child");
}

#[test]
#[ignore = "needs root"]
fn killed_command_gives_128_plus_signal() {
    let Some(root) = setup("killed_command_gives_128_plus_signal") else {
        return;
    };
    let child = Command::new(BOX)
        .args(["run", "--rootfs", &rootfs_arg(&root), "sleep", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let init = child_of(child.id());
    // SAFETY: plain kill(2) on a PID read from /proc.
    unsafe { libc::kill(init as i32, libc::SIGKILL) };
    let run = wait_with_timeout(child, Duration::from_secs(30));
    assert_eq!(run.code(), 137, "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn sigterm_to_box_reaches_the_command() {
    let Some(root) = setup("sigterm_to_box_reaches_the_command") else {
        return;
    };
    let (mut child, mut out) = spawn_until_ready(&[
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "sh",
        "-c",
        "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got TERM\n");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
}

#[test]
#[ignore = "needs root"]
fn net_has_only_loopback_and_it_is_up() {
    let Some(root) = setup("net_has_only_loopback_and_it_is_up") else {
        return;
    };
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--net",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    let links: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(links.len(), 1, "{run:?}");
    assert!(links[0].contains(" lo: <LOOPBACK,UP"), "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn map_root_gives_an_unprivileged_caller_root_inside() {
    let Some(root) = setup("map_root_gives_an_unprivileged_caller_root_inside") else {
        return;
    };
    let Some(run) = run_box_as_nobody(
        "map_root",
        [
            "run",
            "--rootfs",
            &rootfs_arg(&root),
            "--map-root",
            "sh",
            "-c",
            "id -u; id -g; echo $$",
        ],
    ) else {
        return;
    };
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "0\n0\n1\n", "{run:?}");
}

const ESCAPE_C: &str = r#"
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
/* The classic chroot escape: chroot into a subdirectory while the working
   directory stays outside it, climb with "..", chroot to where we landed.
   argv[1] is a file that exists only outside the container. */
int main(int argc, char **argv) {
    struct stat st;
    mkdir("/tmp/jail", 0755);
    if (chroot("/tmp/jail") != 0) { perror("chroot"); return 2; }
    for (int i = 0; i < 256; i++) chdir("..");
    chroot(".");
    if (stat(argv[1], &st) == 0) { puts("ESCAPED"); return 1; }
    puts("CONTAINED");
    return 0;
}
"#;

fn old_root_unreachable(test: &str, extra: &[&str]) {
    let Some(root) = setup(test) else { return };
    let host_only = TempDir::new("host-only");
    let marker = host_only.path().join("MARKER");
    std::fs::write(&marker, "host\n").unwrap();
    if compile_static_c(test, ESCAPE_C, &root.path().join("bin/escape")).is_none() {
        return;
    }
    let mut args = vec!["run", "--rootfs"];
    let r = rootfs_arg(&root);
    args.push(&r);
    args.extend_from_slice(extra);
    let m = marker.to_str().unwrap().to_string();
    let script =
        format!("ls /; test -e {m} && echo VISIBLE; readlink /proc/1/root; /bin/escape {m}");
    args.extend_from_slice(&["sh", "-c", &script]);
    let run = run_box(&args);
    assert_eq!(run.code(), 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(!run.stdout.contains("VISIBLE"), "{run:?}");
    assert!(lines.contains(&"/"), "/proc/1/root is /: {run:?}");
    assert_eq!(lines.last(), Some(&"CONTAINED"), "{run:?}");
    // Only the rootfs's own entries at the top.
    let top: Vec<&str> = run
        .stdout
        .split_whitespace()
        .take_while(|w| *w != "/")
        .collect();
    for entry in &top {
        assert!(
            root.path().join(entry).exists(),
            "{entry} is not from the rootfs: {run:?}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn old_root_is_unreachable_after_pivot_root() {
    old_root_unreachable("old_root_is_unreachable_after_pivot_root", &[]);
}

#[test]
#[ignore = "needs root"]
fn old_root_is_unreachable_on_the_move_and_chroot_path() {
    old_root_unreachable(
        "old_root_is_unreachable_on_the_move_and_chroot_path",
        &["--no-pivot"],
    );
}

/// From a user namespace made inside the container (no capability needed),
/// mounting a fresh procfs must be refused: the kernel allows it only while
/// a fully visible procfs is in the mount namespace, and the container's is
/// masked while the host's is detached (with the old root after pivot_root,
/// or after the move on the move-and-chroot path). A mount namespace holding the host's full /proc
/// would let the container see it again. Without the seccomp filter, which
/// refuses the user namespace before any of this (tests/seccomp.rs).
fn cannot_mount_procfs_again(test: &str, extra: &[&str]) {
    let Some(root) = setup(test) else { return };
    let r = rootfs_arg(&root);
    let mut args = vec!["run", "--rootfs", &r, "--seccomp", "unconfined"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "sh",
        "-c",
        "unshare -Urmpf sh -c 'mount -t proc proc /mnt 2>/dev/null && echo MOUNTED || echo REFUSED'; grep -c ' /proc ' /proc/self/mountinfo",
    ]);
    let run = run_box(&args);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "REFUSED\n1\n", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn container_cannot_mount_procfs_again() {
    cannot_mount_procfs_again("container_cannot_mount_procfs_again", &[]);
}

#[test]
#[ignore = "needs root"]
fn container_cannot_mount_procfs_again_without_pivot() {
    cannot_mount_procfs_again(
        "container_cannot_mount_procfs_again_without_pivot",
        &["--no-pivot"],
    );
}

/// As [`cannot_mount_procfs_again`], on a host that has a procfs and a
/// sysfs of its own beside /proc and /sys (as a chroot's would be): made in
/// a private mount namespace of the test (util-linux unshare), so the
/// host's table is untouched. On the move-and-chroot path every mount
/// outside the new root must be gone or hidden, not just /proc and /sys;
/// with --map-root the copies are locked and cannot be detached.
fn cannot_mount_kernel_fs_beside_others(test: &str, extra: &[&str]) {
    let Some(root) = setup(test) else { return };
    let unshare = "/usr/bin/unshare";
    if !std::path::Path::new(unshare).exists() {
        skip(test, "needs util-linux unshare at /usr/bin/unshare");
        return;
    }
    let others = TempDir::new("other-kernel-fs");
    for dir in ["proc", "sys"] {
        std::fs::create_dir(others.path().join(dir)).unwrap();
    }
    let o = others.path().to_str().unwrap();
    let r = rootfs_arg(&root);
    let inside = "unshare -Urmnpf sh -c '\
        mount -t proc proc /mnt 2>/dev/null && echo PROC MOUNTED || echo proc refused; \
        mount -t sysfs sysfs /mnt 2>/dev/null && echo SYSFS MOUNTED || echo sysfs refused'";
    let script = format!(
        "mount -t proc proc {o}/proc && mount -t sysfs sysfs {o}/sys && \
         exec \"$0\" run --rootfs {r} --seccomp unconfined {} sh -c \"{inside}\"",
        extra.join(" ")
    );
    let run = run_command(Command::new(unshare).args(["-m", "sh", "-c", &script, BOX]));
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "proc refused\nsysfs refused\n", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn container_cannot_mount_kernel_fs_again_without_pivot_beside_others() {
    cannot_mount_kernel_fs_beside_others(
        "container_cannot_mount_kernel_fs_again_without_pivot_beside_others",
        &["--no-pivot"],
    );
}

#[test]
#[ignore = "needs root"]
fn map_root_container_cannot_mount_kernel_fs_again_without_pivot() {
    cannot_mount_kernel_fs_beside_others(
        "map_root_container_cannot_mount_kernel_fs_again_without_pivot",
        &["--no-pivot", "--map-root"],
    );
}

#[test]
#[ignore = "needs root"]
fn container_cannot_mount_kernel_fs_again_beside_others() {
    cannot_mount_kernel_fs_beside_others(
        "container_cannot_mount_kernel_fs_again_beside_others",
        &[],
    );
}

/// A rejected value is quoted in the error, and a newline in it would
/// make a line of its own (a forged `box: …` line in a log); an escape
/// sequence would reach the terminal. Both come out as `\xNN`.
#[test]
fn control_characters_in_values_stay_on_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "run",
                "--name",
                "web\nbox: run: all is well",
                "--rootfs",
                "/",
                "true",
            ],
            "--name web\\x0abox: run: all is well: use",
        ),
        (
            &["run", "--hostname", "h\u{1b}[2J", "--rootfs", "/", "true"],
            "--hostname h\\x1b[2J: use",
        ),
        (
            &["run", "--rootfs", "/no\nsuch", "true"],
            "stat(/no\\x0asuch): No such file or directory",
        ),
        (
            &["run", "--rootfs", "/", "--bind", "/no\rsuch:/x", "true"],
            "stat(/no\\x0dsuch)",
        ),
        (&["stop", "x\u{85}y"], "no container named x\\x85y"),
    ];
    for (args, expected) in cases {
        let run = run_box(*args);
        assert_eq!(run.code(), 125, "{args:?}: {run:?}");
        let line = one_error_line(&run);
        assert!(line.contains(expected), "{args:?}: {run:?}");
        assert!(!line.contains('\u{1b}') && !line.contains('\r'), "{run:?}");
    }
}

/// A bind that cannot be attached because of what the target is inside
/// the rootfs says so, with the bind as given, rather than
/// `move_mount: Invalid argument`. A link in the image as the target is
/// no such case: a directory is bound onto where the link leads (inside
/// the container's root, as any link on the way), a file over the link
/// itself, dangling or not (as /etc/resolv.conf often is in an image).
#[test]
#[ignore = "needs root"]
fn bind_onto_a_link_or_the_wrong_kind_says_why() {
    let test = "bind_onto_a_link_or_the_wrong_kind_says_why";
    let Some(root) = setup(test) else { return };
    std::os::unix::fs::symlink("/etc", root.path().join("etc/link")).unwrap();
    std::os::unix::fs::symlink("/nowhere", root.path().join("etc/dangling")).unwrap();
    let host = TempDir::new("bind-sources");
    let file = host.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let (file, dir) = (file.to_str().unwrap(), host.path().to_str().unwrap());
    let r = rootfs_arg(&root);
    let cases = [
        (
            format!("{file}:/mnt"),
            "the source is a file but the target inside the rootfs is a directory",
        ),
        (
            format!("{dir}:/etc/passwd"),
            "the source is a directory but the target inside the rootfs is not",
        ),
    ];
    let links = [
        (format!("{file}:/etc/dangling"), "cat /etc/dangling"),
        (format!("{dir}:/etc/link:ro"), "cat /etc/file"),
    ];
    for extra in [&[][..], &["--no-pivot"][..]] {
        for (bind, why) in &cases {
            let mut args = vec!["run", "--rootfs", &r, "--bind", bind];
            args.extend_from_slice(extra);
            args.push("true");
            let run = run_box(&args);
            assert_eq!(run.code(), 125, "{args:?}: {run:?}");
            let line = one_error_line(&run);
            assert!(
                line.contains(&format!("--bind {bind}: {why}")),
                "{args:?}: {run:?}"
            );
        }
        for (bind, read) in &links {
            let mut args = vec!["run", "--rootfs", &r, "--bind", bind];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["sh", "-c", read]);
            let run = run_box(&args);
            assert_eq!((run.code(), &*run.stdout), (0, "x"), "{args:?}: {run:?}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(root.path().join("etc/passwd"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    assert!(!std::path::Path::new("/nowhere").exists());
    assert!(
        std::fs::symlink_metadata(root.path().join("etc/dangling"))
            .unwrap()
            .is_symlink()
    );
}

/// Run box with `args` from the working directory `dir`.
fn run_box_in(dir: &std::path::Path, args: &[&str]) -> Run {
    run_command(Command::new(BOX).args(args).current_dir(dir))
}

/// A relative `--bind` source is the caller's (or, in a spec file, the
/// spec directory's), never the image's: the container process changes
/// into the rootfs before it opens the sources, while the host's root is
/// still its root, so an image shipping `src -> /etc` got the host's /etc
/// bound in. Here the image's link points at a host directory of the
/// test's; the caller's own `src` must be the one bound.
#[test]
#[ignore = "needs root"]
fn relative_bind_sources_are_the_callers_not_the_images() {
    let test = "relative_bind_sources_are_the_callers_not_the_images";
    let Some(root) = setup(test) else { return };
    let host_only = TempDir::new("host-only");
    std::fs::write(host_only.path().join("marker"), "HOST\n").unwrap();
    std::os::unix::fs::symlink(host_only.path(), root.path().join("src")).unwrap();
    let caller = TempDir::new("caller");
    std::fs::create_dir(caller.path().join("src")).unwrap();
    std::fs::write(caller.path().join("src/marker"), "CALLER\n").unwrap();
    let r = rootfs_arg(&root);

    let run = run_box_in(
        caller.path(),
        &[
            "run",
            "--rootfs",
            &r,
            "--bind",
            "src:/data:ro",
            "cat",
            "/data/marker",
        ],
    );
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "CALLER\n"),
        "{run:?}"
    );
    let run = run_box_in(
        caller.path(),
        &[
            "run",
            "--rootfs",
            &r,
            "--bind",
            "./src/:/data:ro",
            "cat",
            "/data/marker",
        ],
    );
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "CALLER\n"),
        "{run:?}"
    );

    // A relative rootfs, from its parent directory.
    let parent = root.path().parent().unwrap();
    let base = root.path().file_name().unwrap().to_str().unwrap();
    let run = run_box_in(parent, &["run", "--rootfs", base, "cat", "/etc/passwd"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.starts_with("root:"), "{run:?}");

    // A spec file's relative paths are its own directory's, wherever box
    // is called from; the command line's are the caller's.
    let specs = TempDir::new("spec-dir");
    std::fs::create_dir(specs.path().join("src")).unwrap();
    std::fs::write(specs.path().join("src/marker"), "SPEC\n").unwrap();
    let spec = specs.path().join("web.box");
    std::fs::write(
        &spec,
        format!("rootfs {r}\nbind src:/data:ro\ncmd cat /data/marker /extra/marker\n"),
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    let run = run_box_in(
        caller.path(),
        &["run", "--file", spec, "--bind", "src:/extra:ro"],
    );
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "SPEC\nCALLER\n"),
        "{run:?}"
    );
    let run = run_box_in(
        specs.path().parent().unwrap(),
        &[
            "run",
            "--file",
            &format!(
                "{}/web.box",
                specs.path().file_name().unwrap().to_str().unwrap()
            ),
            "--bind",
            &format!("{}/src:/extra:ro", caller.path().display()),
        ],
    );
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (0, "SPEC\nCALLER\n"),
        "{run:?}"
    );

    // The error names the path as box resolved it.
    let run = run_box_in(
        caller.path(),
        &["run", "--rootfs", &r, "--bind", "missing:/data", "true"],
    );
    assert_eq!(run.code(), 125, "{run:?}");
    let line = one_error_line(&run);
    assert!(
        line.contains(&format!("stat({}/missing)", caller.path().display())),
        "{run:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn bad_input_gives_one_line_and_125() {
    let Some(root) = setup("bad_input_gives_one_line_and_125") else {
        return;
    };
    let r = rootfs_arg(&root);
    let file = root.path().join("bin/busybox");
    let file = file.to_str().unwrap();
    let before = host_mounts();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "true"], "no rootfs"),
        (
            &["run", "--rootfs", "/no/such/dir", "true"],
            "stat(/no/such/dir): No such file or directory",
        ),
        (&["run", "--rootfs", file, "true"], "not a directory"),
        (
            &["run", "--rootfs", &r, "--bind", "/no/such/src:/x", "true"],
            "stat(/no/such/src)",
        ),
        (
            &["run", "--rootfs", &r, "--ns", "mount,bogus", "true"],
            "unknown namespace 'bogus'",
        ),
        (
            &["run", "--rootfs", &r, "--frobnicate", "true"],
            "unknown option --frobnicate",
        ),
        (&["run", "--rootfs", &r], "no command given"),
        (&["run", "--rootfs", &r, "--"], "no command given"),
        (&["run", "--rootfs"], "--rootfs needs a value"),
        (
            &["run", "--rootfs", &r, "--memory", "12Q", "true"],
            "--memory 12Q",
        ),
        // Mounts over the container's root were accepted and did nothing.
        (
            &["run", "--rootfs", &r, "--bind", "/tmp:/", "true"],
            "--bind /tmp:/: the target is the container's root",
        ),
        (
            &["run", "--rootfs", &r, "--bind", "/tmp:/etc/..:ro", "true"],
            "the target is the container's root",
        ),
        (
            &["run", "--rootfs", &r, "--tmpfs", "/", "true"],
            "--tmpfs /: the target is the container's root",
        ),
        (
            &["run", "--rootfs", &r, "--tmpfs", "//:size=1M", "true"],
            "the target is the container's root",
        ),
    ];
    for (args, expected) in cases {
        let run = run_box(*args);
        let line = assert_refused(&run, expected, &format!("{args:?}"));
        assert!(line.starts_with("box: run: "), "{args:?}: {line}");
    }
    assert_same_mounts(&before, "after bad input");
}

/// A seccomp filter that answers ENOSYS for clone3, as on kernels before
/// 5.3 (or under some container runtimes' policies): box must fall back to
/// clone and still work.
#[test]
#[ignore = "needs root"]
fn falls_back_to_clone_without_clone3() {
    let Some(root) = setup("falls_back_to_clone_without_clone3") else {
        return;
    };
    if !cfg!(target_arch = "x86_64") {
        skip(
            "falls_back_to_clone_without_clone3",
            "the filter is written for x86_64",
        );
        return;
    }
    let mut cmd = Command::new(BOX);
    cmd.args(["run", "--rootfs", &rootfs_arg(&root), "sh", "-c", "echo $$"]);
    // SAFETY: only async-signal-safe calls between fork and exec; the filter
    // program lives on this stack frame during prctl.
    unsafe {
        cmd.pre_exec(|| {
            const CLONE3: u32 = 435;
            let ld_nr = libc::sock_filter {
                code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
                jt: 0,
                jf: 0,
                k: 0,
            };
            let is_clone3 = libc::sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                jt: 0,
                jf: 1,
                k: CLONE3,
            };
            let enosys = libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
            };
            let allow = libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ALLOW,
            };
            let mut program = [ld_nr, is_clone3, enosys, allow];
            let prog = libc::sock_fprog {
                len: program.len() as u16,
                filter: program.as_mut_ptr(),
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const _ as libc::c_ulong,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let run = run_command(&mut cmd);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim(), "1", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn environment_is_minimal() {
    let Some(root) = setup("environment_is_minimal") else {
        return;
    };
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--hostname",
        "envtest",
        "--env",
        "PORT=8080",
        "--workdir",
        "/tmp",
        "sh",
        "-c",
        "env | sort; pwd",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.pop(), Some("/tmp"));
    // sh adds PWD and SHLVL of its own.
    let ours: Vec<&str> = lines
        .into_iter()
        .filter(|l| !l.starts_with("PWD=") && !l.starts_with("SHLVL=") && !l.starts_with("TERM="))
        .collect();
    assert_eq!(
        ours,
        [
            "HOME=/root",
            "HOSTNAME=envtest",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PORT=8080"
        ],
        "{run:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn user_option_sets_the_identity_and_drops_capabilities() {
    let Some(root) = setup("user_option_sets_the_identity") else {
        return;
    };
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--user",
        "1000:1000",
        "sh",
        "-c",
        "id -u; id -g; grep -E '^Cap(Eff|Prm|Bnd)|^NoNewPrivs' /proc/self/status",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(&lines[..2], ["1000", "1000"], "{run:?}");
    assert!(run.stdout.contains("CapEff:\t0000000000000000"), "{run:?}");
    assert!(run.stdout.contains("NoNewPrivs:\t1"), "{run:?}");
    // Root keeps exactly the default set (DESIGN.md), nothing more.
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "grep",
        "-E",
        "^CapEff|^CapBnd",
        "/proc/self/status",
    ]);
    let default_set = "00000000a00405fb";
    assert!(
        run.stdout.contains(&format!("CapEff:\t{default_set}")),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!("CapBnd:\t{default_set}")),
        "{run:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn masked_and_read_only_proc_paths() {
    let Some(root) = setup("masked_and_read_only_proc_paths") else {
        return;
    };
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "sh",
        "-c",
        "cat /proc/keys | wc -c; cat /proc/timer_list | wc -c; echo 1 > /proc/sys/kernel/hostname 2>/dev/null && echo WROTE; echo x > /sys/kernel/uevent_helper 2>/dev/null && echo WROTE2; echo done",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "0\n0\ndone\n", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn rlimits_and_capability_changes() {
    let Some(root) = setup("rlimits_and_capability_changes") else {
        return;
    };
    let r = rootfs_arg(&root);
    let run = run_box([
        "run",
        "--rootfs",
        &r,
        "--rlimit",
        "nofile=100:200",
        "--rlimit",
        "CORE=0",
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn; ulimit -c",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "100\n200\n0\n", "{run:?}");

    let caps = |extra: &[&str]| {
        let mut args = vec!["run", "--rootfs", r.as_str()];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["grep", "CapEff", "/proc/self/status"]);
        let run = run_box(&args);
        assert_eq!(run.code(), 0, "{run:?}");
        u64::from_str_radix(run.stdout.trim().rsplit('\t').next().unwrap(), 16).unwrap()
    };
    const DEFAULT: u64 = 0xa00405fb;
    const NET_ADMIN: u64 = 1 << 12;
    const CHOWN: u64 = 1;
    assert_eq!(caps(&["--cap-add", "net_admin"]), DEFAULT | NET_ADMIN);
    assert_eq!(
        caps(&["--cap-add", "CAP_NET_ADMIN", "--cap-drop", "chown,kill"]),
        (DEFAULT | NET_ADMIN) & !CHOWN & !(1 << 5)
    );
    assert_eq!(caps(&["--cap-drop", "all"]), 0);
    let all = caps(&["--cap-add", "all"]);
    assert_eq!(all & DEFAULT, DEFAULT);
    assert!(
        all & (1 << 21) != 0,
        "sys_admin with --cap-add all: {all:x}"
    );

    for (opts, expected) in [
        (&["--cap-add", "bogus"][..], "unknown capability 'bogus'"),
        (
            &["--rlimit", "nofile=x"][..],
            "--rlimit nofile=x: use NAME=SOFT[:HARD]",
        ),
        (
            &["--rlimit", "nofile=10:5"][..],
            "the soft limit is above the hard one",
        ),
        (
            &["--uidmap", "0:1"][..],
            "--uidmap 0:1: use INSIDE:OUTSIDE:COUNT",
        ),
    ] {
        let mut args = vec!["run", "--rootfs", r.as_str()];
        args.extend_from_slice(opts);
        args.push("true");
        let run = run_box(&args);
        assert_eq!(run.code(), 125, "{opts:?}: {run:?}");
        assert!(one_error_line(&run).contains(expected), "{opts:?}: {run:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn uid_map_ranges_for_root_callers() {
    let Some(root) = setup("uid_map_ranges_for_root_callers") else {
        return;
    };
    let r = rootfs_arg(&root);
    // A host file owned by root, bound in read-write: inside the user
    // namespace root is host uid 100000, so the file shows as unmapped
    // (nobody) and stays unwritable.
    let host = TempDir::new("uidmap-host");
    let file = host.path().join("owned-by-root");
    std::fs::write(&file, "host\n").unwrap();
    chmod(&file, 0o644);
    chmod(host.path(), 0o755);
    let bind = format!("{}:/hostfile", file.display());
    // The rootfs belongs to host root, which the namespace does not map:
    // the mount point must be there already (box cannot create it).
    std::fs::write(root.path().join("hostfile"), "").unwrap();
    let run = run_box([
        "run",
        "--rootfs",
        &r,
        "--uidmap",
        "0:100000:65536",
        "--bind",
        &bind,
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map | tr -s ' '; stat -c %u /hostfile; echo x >> /hostfile 2>/dev/null && echo WROTE; touch /tmp/mine && stat -c %u /tmp/mine",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "0", "{run:?}");
    assert_eq!(lines[1].trim(), "0 100000 65536", "{run:?}");
    assert_eq!(
        lines[2], "65534",
        "host root shows as the overflow uid: {run:?}"
    );
    assert!(!run.stdout.contains("WROTE"), "{run:?}");
    assert_eq!(
        lines[3], "0",
        "files the container makes are its root's: {run:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "host\n");
}

/// `box ns` run inside a container (the board's demo does this) must not
/// call the container's namespaces the host's: there PID 1 is the command
/// itself, and no host process is visible.
#[test]
#[ignore = "needs root"]
fn box_ns_inside_a_container_tells_the_truth() {
    let Some(root) = setup("box_ns_inside_a_container_tells_the_truth") else {
        return;
    };
    let bind = format!("{BOX}:/bin/box:ro");
    let run = run_box([
        "run",
        "--rootfs",
        &rootfs_arg(&root),
        "--bind",
        &bind,
        // The test build of box is linked against the host's libc.
        "--bind",
        "/lib:/lib:ro",
        "--bind",
        "/lib64:/lib64:ro",
        "--",
        "/bin/box",
        "ns",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    let host = |kind: &str| {
        run.stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(kind))
            .and_then(|line| line.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("no {kind} row: {run:?}"))
            .to_string()
    };
    // box run's default namespaces: mount, UTS, IPC, PID, (cgroup where
    // the kernel has it); the user and time namespaces stay the host's.
    for kind in ["ipc", "uts", "pid", "pid_for_children"] {
        assert_eq!(host(kind), "isolated", "{kind}: {run:?}");
    }
    for kind in ["user", "time"] {
        assert_eq!(host(kind), "shared", "{kind}: {run:?}");
    }
    // mnt and net have no fixed initial inode: not known from inside.
    assert_eq!(host("mnt"), "unknown", "{run:?}");
    assert!(run.stderr.contains("not visible"), "{run:?}");
}

/// `--debug-timing` prints every setup step with its µs: box's line (with
/// the sealed copy's before it, when box takes the copy), the child's;
/// without it, nothing. A default container is confined by Landlock (no
/// copy; a `landlock` step), one with `--cap-add sys_admin` is not.
#[test]
#[ignore = "needs root"]
fn debug_timing_prints_every_step_and_nothing_without_it() {
    let Some(root) = setup("debug_timing_prints_every_step_and_nothing_without_it") else {
        return;
    };
    let rootfs = rootfs_arg(&root);
    let with = [
        "--pids", "64", "--net", "--tmpfs", "/tmp", "--rootfs", &rootfs,
    ];
    let child_steps = |landlock: bool| {
        let mut steps = vec![
            "cgroup",
            "namespaces",
            "session",
            "private",
            "bind root",
            "nodev",
            "proc sys",
            "host trees",
            "pivot",
            "dev",
            "binds",
            "tmpfs",
            "masks",
            "hostname",
            "loopback",
            "workdir",
            "close fds",
            "identity",
            "stdio",
            "signals",
        ];
        if landlock {
            steps.push("landlock");
        }
        steps.push("seccomp");
        steps
    };
    let box_steps = ["parse", "plan", "prepare", "cgroup", "clone", "child"];
    let sealed_steps = [
        "check", "parse", "plan", "prepare", "cgroup", "clone", "child",
    ];
    let confined = landlock_abi() >= 2;
    let default_child = child_steps(confined);
    let sealed_child = child_steps(false);
    // (options beyond `with`, the lines: each prefix with its steps)
    type Lines<'a> = Vec<(&'a str, &'a [&'a str])>;
    let mut cases: Vec<(&[&str], Lines)> = vec![(
        &["--cap-add", "sys_admin"],
        vec![
            ("box: timing: seal: ", &["check", "copy"][..]),
            ("box: timing: check", &sealed_steps[..]),
            ("box: timing: child: ", &sealed_child[..]),
        ],
    )];
    if confined {
        cases.push((
            &[],
            vec![
                ("box: timing: parse", &box_steps[..]),
                ("box: timing: child: ", &default_child[..]),
            ],
        ));
    }
    for (extra, expect) in cases {
        let run = run_box(
            ["run", "--debug-timing"]
                .iter()
                .chain(extra)
                .chain(&with)
                .chain(&["true"]),
        );
        assert_eq!(run.code(), 0, "{run:?}");
        let line = |prefix: &str| {
            let found = run.stderr.lines().find(|l| l.starts_with(prefix));
            found
                .unwrap_or_else(|| panic!("no line {prefix:?}: {run:?}"))
                .to_string()
        };
        for &(prefix, labels) in &expect {
            let line = line(prefix);
            let steps = line["box: timing: ".len()..].trim_start_matches("child: ");
            let steps = steps.trim_start_matches("seal: ");
            let steps = steps.split(';').next().unwrap();
            let got: Vec<&str> = steps
                .split(", ")
                .map(|step| {
                    let (label, time) = step.rsplit_once(' ').unwrap().0.rsplit_once(' ').unwrap();
                    assert!(time.parse::<u64>().is_ok(), "{step:?} in {line:?}");
                    assert!(step.ends_with(" µs"), "{step:?} in {line:?}");
                    label
                })
                .collect();
            assert_eq!(got, labels, "{line:?}");
            assert!(line.contains("; total "), "{line:?}");
        }
        assert_eq!(run.stderr.lines().count(), expect.len(), "{run:?}");
    }

    let run = run_box(["run"].iter().chain(&with).chain(&["true"]));
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stderr, "", "{run:?}");
    // In the command it is the command's.
    let run = run_box(
        ["run"]
            .iter()
            .chain(&with)
            .chain(&["echo", "--debug-timing"]),
    );
    assert_eq!((run.code(), run.stderr.as_str()), (0, ""), "{run:?}");
    assert_eq!(run.stdout.trim(), "--debug-timing", "{run:?}");
}
