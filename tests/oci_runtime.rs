//! box-oci as an engine drives it: `create` leaves the init waiting and
//! exits, `start` releases it, `state` follows it, `kill` and `delete`
//! end it, and nothing is left behind. This test process stands in for the
//! engine: it is a subreaper, as conmon and the containerd shim are, so
//! the container's init becomes its child once `create` exits.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// box, called as box-oci (`box oci …`).
fn oci(root: &Path, args: &[&str]) -> Run {
    let child = Command::new(BOX)
        .arg("oci")
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn box oci");
    wait_with_timeout(child, Duration::from_secs(30))
}

/// `create`, its output in `log`: the container's init inherits create's
/// 1 and 2 and keeps them, so pipes would never reach EOF (an engine
/// reads them as the container's output).
fn create(root: &Path, bundle: &Path, id: &str, log: &Path) -> (i32, String) {
    let out = File::create(log).unwrap();
    let status = Command::new(BOX)
        .args(["oci", "--root"])
        .arg(root)
        .args(["create", "--bundle"])
        .arg(bundle)
        .arg("--pid-file")
        .arg(bundle.join("pid"))
        .arg(id)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .expect("spawn box oci create");
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(log).unwrap_or_default(),
    )
}

/// Become a subreaper, as an engine is: the inits `create` leaves are
/// then ours to reap.
fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) takes no pointers.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER");
}

/// Reap `pid` (ours as subreaper), returning its exit status.
fn reap(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid on one PID with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid {pid}");
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// A bundle: a busybox rootfs and `box oci spec`'s config.json with
/// `args` and `extra` (members added to `linux`).
struct Bundle {
    dir: TempDir,
    rootfs: TempDir,
}

impl Bundle {
    fn new(tag: &str, args: &[&str], linux_extra: &str) -> Bundle {
        let dir = TempDir::new(tag);
        let rootfs = busybox_rootfs(&format!("{tag}-rootfs"));
        let run = run_box(["oci", "spec", "--bundle", dir.path().to_str().unwrap()]);
        assert_eq!(run.code(), 0, "{run:?}");
        let config = dir.path().join("config.json");
        let text = std::fs::read_to_string(&config).unwrap();
        let words: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let text = text
            .replace(
                r#""args": ["sh"]"#,
                &format!(r#""args": [{}]"#, words.join(", ")),
            )
            .replace(
                r#""path": "rootfs""#,
                &format!("\"path\": {:?}", rootfs.path().to_str().unwrap()),
            )
            .replace(r#""linux": {"#, &format!("\"linux\": {{{linux_extra}"));
        std::fs::write(&config, text).unwrap();
        Bundle { dir, rootfs }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn status_of(root: &Path, id: &str) -> String {
    let run = oci(root, &["state", id]);
    assert_eq!(run.code(), 0, "{run:?}");
    let at = run.stdout.find(r#""status":""#).expect("status in state") + 10;
    run.stdout[at..].split('"').next().unwrap().to_string()
}

fn wait_status(root: &Path, id: &str, want: &str) {
    let start = Instant::now();
    while status_of(root, id) != want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{id} never {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The whole life as podman drives it, with limits (so the container has
/// cgroups) and a command whose exit status the engine collects.
#[test]
#[ignore = "needs root"]
fn create_start_state_kill_delete() {
    let test = "create_start_state_kill_delete";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-life-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let bundle = Bundle::new(
        "oci-life",
        &["sh", "-c", "echo started; exec sleep 100"],
        r#""resources": {"pids": {"limit": 32}, "memory": {"limit": 67108864}}, "#,
    );

    let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
    assert_eq!(code, 0, "{log}");
    let pid: i32 = std::fs::read_to_string(bundle.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    // create has exited; the init waits, not yet running the command.
    assert_eq!(status_of(root.path(), &id), "created");
    let state = oci(root.path(), &["state", &id]).stdout;
    for member in [
        "\"ociVersion\":\"1.2.0\"",
        &format!("\"id\":\"{id}\""),
        &format!("\"pid\":{pid}"),
        &format!("\"bundle\":\"{}\"", bundle.path().display()),
        "\"annotations\":{}",
    ] {
        assert!(state.contains(member), "{member} in {state}");
    }
    assert!(
        !std::fs::read_to_string(bundle.path().join("log"))
            .unwrap()
            .contains("started")
    );
    assert!(!cgroup_dirs_with_prefix(&id).is_empty(), "limits: a cgroup");

    let run = oci(root.path(), &["start", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "running");
    // A second start finds nothing to release.
    assert_ne!(oci(root.path(), &["start", &id]).code(), 0);
    let start = Instant::now();
    while !std::fs::read_to_string(bundle.path().join("log"))
        .unwrap()
        .contains("started")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the command never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The container's processes: the init alone (sh became sleep).
    let run = oci(root.path(), &["ps", "--format", "json", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout.trim(), format!("[{pid}]"));
    let run = oci(root.path(), &["list"]);
    assert!(
        run.stdout.contains(&format!("{id}\t{pid}\trunning")),
        "{run:?}"
    );
    // pause freezes through a cgroup v2 group; where the limits are in v1
    // groups (a hybrid host) it says so.
    let run = oci(root.path(), &["pause", &id]);
    if run.code() == 0 {
        assert_eq!(status_of(root.path(), &id), "paused");
        let run = oci(root.path(), &["resume", &id]);
        assert_eq!(run.code(), 0, "{run:?}");
    } else {
        assert!(
            run.stderr.contains("no cgroup v2 group to freeze"),
            "{run:?}"
        );
    }
    assert_eq!(status_of(root.path(), &id), "running");

    let run = oci(root.path(), &["kill", &id, "KILL"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 128 + 9);
    assert_eq!(status_of(root.path(), &id), "stopped");
    let run = oci(root.path(), &["kill", &id, "TERM"]);
    assert_ne!(run.code(), 0);
    assert!(run.stderr.contains("container not running"), "{run:?}");

    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!root.path().join(&id).exists(), "state left after delete");
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    let left = mounts_mentioning(&[bundle.path(), bundle.rootfs.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
    for command in [
        &["state", id.as_str()][..],
        &["delete", &id],
        &["kill", &id],
    ] {
        let run = oci(root.path(), command);
        assert_ne!(run.code(), 0, "{command:?}");
        assert!(
            run.stderr.contains("does not exist"),
            "{command:?}: {run:?}"
        );
    }
}

/// The command's exit status reaches the engine (its reaper), and the
/// stopped container is deleted without --force.
#[test]
#[ignore = "needs root"]
fn the_engine_collects_the_exit_status() {
    let test = "the_engine_collects_the_exit_status";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-exit-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let bundle = Bundle::new(
        "oci-exit",
        &[
            "sh",
            "-c",
            "grep Seccomp: /proc/self/status; hostname; cat /proc/sys/net/ipv4/ping_group_range; exit 3",
        ],
        r#""sysctl": {"net.ipv4.ping_group_range": "0 0"}, "#,
    );
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
    assert_eq!(code, 0, "{log}");
    let pid: i32 = std::fs::read_to_string(bundle.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    let run = oci(root.path(), &["start", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 3);
    wait_status(root.path(), &id, "stopped");
    let output = std::fs::read_to_string(bundle.path().join("log")).unwrap();
    // box's own filter, as config.json has no seccomp profile; the
    // config's hostname.
    assert!(output.contains("Seccomp:\t2"), "{output}");
    assert!(output.contains("box\n"), "{output}");
    // The config's sysctl, in the container's network namespace only.
    assert!(output.contains("0\t0\n"), "{output}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap(),
        host_range
    );
    // Running: delete refuses without --force; stopped: it deletes.
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!root.path().join(&id).exists());
}

/// delete --force ends a created container that never started, and
/// leaves nothing; the init the engine reaps was killed.
#[test]
#[ignore = "needs root"]
fn delete_force_ends_a_created_container() {
    let test = "delete_force_ends_a_created_container";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-force-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let bundle = Bundle::new(
        "oci-force",
        &["sh", "-c", "echo never"],
        r#""resources": {"pids": {"limit": 16}}, "#,
    );
    let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
    assert_eq!(code, 0, "{log}");
    let pid: i32 = std::fs::read_to_string(bundle.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    let run = oci(root.path(), &["delete", &id]);
    assert_ne!(run.code(), 0, "a created container is not deleted unforced");
    let run = oci(root.path(), &["delete", "--force", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 128 + 9);
    assert!(!root.path().join(&id).exists());
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    let output = std::fs::read_to_string(bundle.path().join("log")).unwrap();
    assert!(!output.contains("never"), "{output}");
}

/// What box cannot do is refused by its key path in config.json, before
/// anything is made, and nothing is left under --root. No root needed:
/// the refusal comes before any namespace.
#[test]
fn unsupported_settings_are_refused_by_their_key_path() {
    let root = TempDir::new("oci-root");
    for (tag, extra, path) in [
        (
            "sysctl",
            r#""sysctl": {"kernel.panic": "1"}, "#,
            "config.json: linux.sysctl.kernel.panic: not supported",
        ),
        (
            "devices",
            r#""devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}], "#,
            "config.json: linux.devices: not supported",
        ),
        (
            "intelrdt",
            r#""intelRdt": {"closID": "x"}, "#,
            "config.json: linux.intelRdt",
        ),
    ] {
        let bundle = Bundle::new(&format!("oci-refuse-{tag}"), &["true"], extra);
        let id = format!("box-oci-refuse-{tag}-{}", std::process::id());
        let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
        if code == 0 {
            // Accepted after all: end it before failing.
            oci(root.path(), &["delete", "--force", &id]);
        }
        assert_eq!(code, 125, "{log}");
        assert!(log.contains(path), "{tag}: {log}");
        assert_eq!(log.lines().count(), 1, "one line: {log}");
        assert!(!root.path().join(&id).exists(), "{tag}: state left");
        assert!(!bundle.path().join("pid").exists(), "{tag}: pid file");
    }
}

/// The global options engines pass, the JSON log the containerd shim reads
/// its error from, and what is refused.
#[test]
fn global_options_and_the_json_log() {
    let root = TempDir::new("oci-root");
    let log = root.path().join("log.json");
    let run = Command::new(BOX)
        .arg("oci")
        .arg("--root")
        .arg(root.path())
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "state", "no-such-container"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("container no-such-container does not exist"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with(
            r#"{"level":"error","msg":"container no-such-container does not exist","time":""#
        ),
        "{last}"
    );
    assert!(last.ends_with("Z\"}"), "{last}");

    let run = oci(root.path(), &["--systemd-cgroup", "list"]);
    assert_eq!(run.code(), 125);
    assert!(
        run.stderr.contains("--systemd-cgroup: not supported"),
        "{run:?}"
    );
    for help in [
        &["--help"][..],
        &["-h"],
        &["create", "--help"],
        &["kill", "-h"],
    ] {
        let run = oci(root.path(), help);
        assert_eq!(run.code(), 0, "{help:?}: {run:?}");
        assert!(run.stdout.starts_with("usage: box-oci"), "{run:?}");
    }
    let run = oci(root.path(), &["--version"]);
    assert_eq!(run.code(), 0);
    assert!(run.stdout.starts_with("box-oci version "), "{run:?}");
    let run = oci(root.path(), &["features"]);
    assert!(run.stdout.contains(r#""systemd":false"#), "{run:?}");
    let run = oci(root.path(), &["frobnicate", "x"]);
    assert_eq!(run.code(), 125);
    // An id that would leave --root.
    let run = oci(root.path(), &["state", "../etc"]);
    assert_eq!(run.code(), 125);
    assert!(run.stderr.contains("invalid container id"), "{run:?}");
}

/// podman, if installed, or a loud skip.
fn have_podman(test: &str) -> bool {
    let found = Command::new("podman")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip(
            test,
            "needs podman and conmon (apt-get install podman conmon)",
        );
    }
    found
}

/// podman with box-oci as its runtime, its storage and state in `dir`
/// (nothing shared with other podman users of the machine), the cgroupfs
/// manager and a file for events (no systemd here).
fn podman(dir: &Path, runtime: &Path, args: &[&str]) -> Run {
    let child = Command::new("podman")
        .arg("--root")
        .arg(dir.join("storage"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .arg("--tmpdir")
        .arg(dir.join("tmp"))
        .arg("--runtime")
        .arg(runtime)
        .args(["--cgroup-manager=cgroupfs", "--events-backend=file"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn podman");
    wait_with_timeout(child, Duration::from_secs(60))
}

/// podman drives box-oci unchanged: a command's exit status, podman's
/// default seccomp profile in force, a detached container stopped and
/// removed, and nothing of box-oci's left behind.
#[test]
#[ignore = "needs root"]
fn podman_runs_containers_with_box_oci() {
    let test = "podman_runs_containers_with_box_oci";
    if !need_root(test) || !have_busybox(test) || !have_podman(test) {
        return;
    }
    let dir = TempDir::new("oci-podman");
    let rootfs = busybox_rootfs("oci-podman-rootfs");
    // podman calls the runtime by its path: box dispatches on the name.
    let runtime = dir.path().join("box-oci");
    std::os::unix::fs::symlink(BOX, &runtime).unwrap();
    let rootfs_arg = rootfs.path().to_str().unwrap();
    // This machine's default nofile limit (1048576) is beyond what the
    // container may raise to without CAP_SYS_RESOURCE.
    let common = [
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ];
    let name = format!("box-oci-podman-{}", std::process::id());

    let mut args = vec!["run", "--rm", "--name", &name];
    args.extend(common);
    args.extend([
        "--rootfs",
        rootfs_arg,
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status; exit 3",
    ]);
    let run = podman(dir.path(), &runtime, &args);
    assert_eq!(run.code(), 3, "{run:?}");
    assert!(run.stdout.contains("Seccomp:\t2"), "{run:?}");

    // Another user: its id, its groups, no capabilities.
    let mut args = vec![
        "run",
        "--rm",
        "--name",
        &name,
        "--user",
        "1000",
        "--group-add",
        "44",
    ];
    args.extend(common);
    args.extend([
        "--rootfs",
        rootfs_arg,
        "sh",
        "-c",
        "id -u; id -G; grep CapEff: /proc/self/status",
    ]);
    let run = podman(dir.path(), &runtime, &args);
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("1000"), "{run:?}");
    assert!(
        lines.next().unwrap().split(' ').any(|g| g == "44"),
        "{run:?}"
    );
    assert_eq!(lines.next(), Some("CapEff:\t0000000000000000"), "{run:?}");

    let mut args = vec!["run", "-d", "--name", &name];
    args.extend(common);
    args.extend(["--rootfs", rootfs_arg, "sleep", "100"]);
    let run = podman(dir.path(), &runtime, &args);
    assert_eq!(run.code(), 0, "{run:?}");
    let id = run.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{run:?}");
    let run = podman(
        dir.path(),
        &runtime,
        &["ps", "--format", "{{.ID}} {{.Status}}"],
    );
    assert!(
        run.stdout.contains(&id[..12]) && run.stdout.contains("Up"),
        "{run:?}"
    );
    assert!(Path::new("/run/box-oci").join(&id).exists());
    // sleep, PID 1 of its namespace, ignores SIGTERM: podman ends it with
    // SIGKILL after the grace time.
    let run = podman(dir.path(), &runtime, &["stop", "-t", "2", &name]);
    assert_eq!(run.code(), 0, "{run:?}");
    let run = podman(dir.path(), &runtime, &["rm", &name]);
    assert_eq!(run.code(), 0, "{run:?}");

    assert!(!Path::new("/run/box-oci").join(&id).exists(), "state left");
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    let left = mounts_mentioning(&[rootfs.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
    // The other tests made this process a subreaper: conmon, which
    // daemonizes, becomes our child when its parent exits, and a zombie
    // at its end. Reap those (and only those) as an engine's own parent
    // would, until nothing of the container is left or 10 s have passed.
    let me = std::process::id() as i32;
    let start = Instant::now();
    let left = loop {
        for p in all_processes() {
            if p.ppid == me && p.state == 'Z' && p.comm == "conmon" {
                // SAFETY: waitpid on one PID, no status wanted.
                unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
        }
        let left = leftover_processes(&name, Some(rootfs.path()));
        if left.is_empty() || start.elapsed() > Duration::from_secs(10) {
            break left;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(left.is_empty(), "processes left: {left:?}");
}

/// A create that fails after the init exists (here: its pid file cannot
/// be written) ends the init and removes its cgroups and state.
#[test]
#[ignore = "needs root"]
fn a_failed_create_leaves_nothing() {
    let test = "a_failed_create_leaves_nothing";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    let id = format!("box-oci-failed-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let bundle = Bundle::new(
        "oci-failed",
        &["sleep", "100"],
        r#""resources": {"pids": {"limit": 16}}, "#,
    );
    let log = bundle.path().join("log");
    let out = File::create(&log).unwrap();
    let status = Command::new(BOX)
        .args(["oci", "--root"])
        .arg(root.path())
        .args(["create", "--bundle"])
        .arg(bundle.path())
        .arg("--pid-file")
        .arg(bundle.path().join("no-such-dir/pid"))
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(125), "{text}");
    assert!(text.contains("no-such-dir/pid"), "{text}");
    assert!(!root.path().join(&id).exists(), "state left");
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    // Zombies are left out: other tests' box processes are this test
    // process's children too, and wait to be reaped by their threads.
    let mut left = leftover_processes(&id, Some(bundle.rootfs.path()));
    left.retain(|p| p.state != 'Z');
    assert!(left.is_empty(), "processes left: {left:?}");
}
