//! The `unshare` and `nsenter` applets on the host, as root, side by side
//! with util-linux's on the same machine: the same output and exit status
//! for the same command line. Each box case runs twice, as `box APPLET …`
//! and through a symlink named APPLET (argv[0] dispatch). Without
//! util-linux, the side-by-side half is skipped with a line on stderr.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Above PID_MAX_LIMIT (4194304), so never a process.
const NO_SUCH_PID: &str = "4194305";

/// Symlinks named after the applets, pointing at box.
struct Links(TempDir);

impl Links {
    fn new() -> Links {
        let dir = TempDir::new("links");
        for name in ["unshare", "nsenter"] {
            symlink(BOX, dir.path().join(name)).expect("symlink");
        }
        Links(dir)
    }

    fn path(&self, applet: &str) -> PathBuf {
        self.0.path().join(applet)
    }
}

/// The ways to run a box applet: `box APPLET ARGS…` and `APPLET ARGS…`
/// through the symlink.
fn box_commands(links: &Links, applet: &str, args: &[&str]) -> Vec<(String, Command)> {
    let mut through_box = Command::new(BOX);
    through_box.arg(applet).args(args);
    let mut through_link = Command::new(links.path(applet));
    through_link.args(args);
    vec![
        (format!("box {applet}"), through_box),
        (format!("{applet} (symlink)"), through_link),
    ]
}

/// util-linux's `tool`, or a skip line saying why the comparison is left out.
fn util_linux(test: &str, tool: &str) -> Option<PathBuf> {
    for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        let path = Path::new(dir).join(tool);
        if let Ok(out) = Command::new(&path).arg("--version").output()
            && String::from_utf8_lossy(&out.stdout).contains("util-linux")
        {
            return Some(path);
        }
    }
    // One line per test and tool, however many comparisons it skips.
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{test} {tool}");
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.contains(&key) {
        skip(
            test,
            &format!("util-linux {tool} is not installed: the side-by-side half is skipped"),
        );
        said.push(key);
    }
    None
}

fn run(mut command: Command) -> Run {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_with_timeout(child, Duration::from_secs(30))
}

/// Run `applet ARGS…` through box both ways and through util-linux; check
/// each run with `check`, and that util-linux gave the same status and
/// output as box.
fn side_by_side(test: &str, applet: &str, args: &[&str], check: impl Fn(&str, &Run)) {
    side_by_side_with(test, applet, args, |_| {}, check);
}

/// [`side_by_side`], each command first given to `setup` (a working
/// directory, an environment).
fn side_by_side_with(
    test: &str,
    applet: &str,
    args: &[&str],
    setup: impl Fn(&mut Command),
    check: impl Fn(&str, &Run),
) {
    let links = Links::new();
    let mut box_run = None;
    for (how, mut command) in box_commands(&links, applet, args) {
        setup(&mut command);
        let r = run(command);
        check(&how, &r);
        box_run = Some(r);
    }
    let box_run = box_run.unwrap();
    if let Some(tool) = util_linux(test, applet) {
        let mut command = Command::new(tool);
        command.args(args);
        setup(&mut command);
        let theirs = run(command);
        check("util-linux", &theirs);
        assert_eq!(
            (box_run.code(), box_run.status.signal(), &box_run.stdout),
            (theirs.code(), theirs.status.signal(), &theirs.stdout),
            "box and util-linux differ for {applet} {args:?}\nbox: {box_run:?}\nutil-linux: {theirs:?}"
        );
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// Whether `dir` is a mount point in our mount namespace.
fn is_mount_point(dir: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_str().unwrap();
    text.lines().any(|l| l.split(' ').nth(4) == Some(dir))
}

/// The mounts at /proc and below in our mount namespace, without their IDs.
fn proc_mounts() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| m == "/proc" || m.starts_with("/proc/"))
        })
        .map(|l| l.split(' ').skip(3).collect::<Vec<_>>().join(" "))
        .collect()
}

/// A process to enter, killed (with everything under it) and reaped on drop.
struct Target {
    child: Child,
    /// The process whose namespaces to enter.
    pid: u32,
}

impl Target {
    /// Run `command` (which prints `ready` once set up) and wait for the
    /// line. With `forked`, the target is the command's child (unshare -f).
    fn start(mut command: Command, forked: bool) -> Target {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the target");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the target did not start");
        let pid = if forked {
            let children =
                std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
                    .unwrap();
            children.split_whitespace().next().unwrap().parse().unwrap()
        } else {
            child.id()
        };
        Target { child, pid }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // SIGKILL: box unshare -f blocks SIGTERM, as util-linux's; the
        // targets use --kill-child, so the forked command dies with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `box unshare -u`, hostname `inner`, then sleep: a UTS namespace to enter.
fn uts_target() -> Target {
    let mut command = Command::new(BOX);
    command.args([
        "unshare",
        "-u",
        "sh",
        "-c",
        "hostname inner && echo ready && exec sleep 30",
    ]);
    Target::start(command, false)
}

/// A process that is PID 1 of new PID, mount (with its own /proc) and UTS
/// namespaces.
fn pid_target() -> Target {
    let mut command = Command::new(BOX);
    command.args([
        "unshare",
        "-fpu",
        "--mount-proc",
        "--kill-child",
        "sh",
        "-c",
        "hostname inner && echo ready && exec sleep 30",
    ]);
    Target::start(command, true)
}

fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim().chars().next()
}

#[test]
#[ignore = "needs root"]
fn unshare_uts_keeps_the_hostname_inside() {
    if !need_root("unshare_uts_keeps_the_hostname_inside") {
        return;
    }
    let before = hostname();
    side_by_side(
        "unshare_uts_keeps_the_hostname_inside",
        "unshare",
        &["-u", "sh", "-c", "hostname x; hostname"],
        |how, r| {
            assert_eq!((r.code(), r.stdout.as_str()), (0, "x\n"), "{how}: {r:?}");
            assert_eq!(hostname(), before, "{how} changed the host's hostname");
        },
    );
}

#[test]
#[ignore = "needs root"]
fn unshare_mount_keeps_mounts_inside() {
    if !need_root("unshare_mount_keeps_mounts_inside") {
        return;
    }
    let dir = TempDir::new("mnt");
    let script = format!(
        "mount -t tmpfs none {0} && grep -c ' {0} ' /proc/self/mountinfo",
        dir.path().display()
    );
    for propagation in [&["--propagation", "private"][..], &[]] {
        let mut args = vec!["-m"];
        args.extend_from_slice(propagation);
        args.extend(["sh", "-c", &script]);
        side_by_side(
            "unshare_mount_keeps_mounts_inside",
            "unshare",
            &args,
            |how, r| {
                assert_eq!((r.code(), r.stdout.as_str()), (0, "1\n"), "{how}: {r:?}");
                assert!(
                    !is_mount_point(dir.path()),
                    "{how}: the tmpfs shows outside"
                );
            },
        );
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_fork_pid_mount_proc_is_pid_1() {
    if !need_root("unshare_fork_pid_mount_proc_is_pid_1") {
        return;
    }
    let before = proc_mounts();
    side_by_side(
        "unshare_fork_pid_mount_proc_is_pid_1",
        "unshare",
        &[
            "-fp",
            "--mount-proc",
            "sh",
            "-c",
            "echo $$; cat /proc/1/comm",
        ],
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "1\nsh\n"),
                "{how}: {r:?}"
            );
        },
    );
    // Only /proc is looked at: other tests on the machine may mount
    // elsewhere meanwhile.
    assert_eq!(
        proc_mounts(),
        before,
        "unshare --mount-proc changed the host's /proc"
    );
}

#[test]
#[ignore = "needs root"]
fn unshare_default_command_is_the_shell() {
    if !need_root("unshare_default_command_is_the_shell") {
        return;
    }
    let links = Links::new();
    let mut commands = box_commands(&links, "unshare", &["-u"]);
    if let Some(tool) = util_linux("unshare_default_command_is_the_shell", "unshare") {
        let mut command = Command::new(tool);
        command.arg("-u");
        commands.push(("util-linux".into(), command));
    }
    for (how, mut command) in commands {
        let mut child = command
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hostname shell; hostname; exit 3\n")
            .unwrap();
        let r = wait_with_timeout(child, Duration::from_secs(30));
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (3, "shell\n"),
            "{how}: {r:?}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn exit_statuses_pass_through() {
    if !need_root("exit_statuses_pass_through") {
        return;
    }
    let test = "exit_statuses_pass_through";
    side_by_side(test, "unshare", &["-u", "sh", "-c", "exit 42"], |how, r| {
        assert_eq!(r.status.code(), Some(42), "{how}: {r:?}");
    });
    side_by_side(
        test,
        "unshare",
        &["-uf", "sh", "-c", "exit 42"],
        |how, r| {
            assert_eq!(r.status.code(), Some(42), "{how}: {r:?}");
        },
    );
    // A child killed by a signal: unshare dies by the same signal.
    side_by_side(
        test,
        "unshare",
        &["-f", "sh", "-c", "kill -TERM $$"],
        |how, r| {
            assert_eq!(r.status.signal(), Some(15), "{how}: {r:?}");
        },
    );
    // util-linux 2.38 exits 1 here ("sigprocmask unblock failed"): box only.
    let links = Links::new();
    for (how, command) in box_commands(&links, "unshare", &["-f", "sh", "-c", "kill -KILL $$"]) {
        let r = run(command);
        assert_eq!(r.status.signal(), Some(9), "{how}: {r:?}");
    }
    // Commands that cannot run: util-linux's 127 and 126.
    side_by_side(test, "unshare", &["-u", "/nonexistent/cmd"], |how, r| {
        assert_eq!(r.code(), 127, "{how}: {r:?}");
    });
    side_by_side(test, "unshare", &["-u", "/etc/passwd"], |how, r| {
        assert_eq!(r.code(), 126, "{how}: {r:?}");
    });
}

#[test]
#[ignore = "needs root"]
fn unshare_fork_ignores_sigterm_while_waiting() {
    if !need_root("unshare_fork_ignores_sigterm_while_waiting") {
        return;
    }
    let links = Links::new();
    let mut commands = box_commands(&links, "unshare", &[]);
    if let Some(tool) = util_linux("unshare_fork_ignores_sigterm_while_waiting", "unshare") {
        commands.push(("util-linux".into(), Command::new(tool)));
    }
    for (how, mut command) in commands {
        let mut child = command
            .args(["-f", "sh", "-c", "echo ready; sleep 0.5; exit 7"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let r = wait_with_timeout(child, Duration::from_secs(30));
        assert_eq!(r.status.code(), Some(7), "{how}: {r:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_forward_signals_passes_sigterm_on() {
    if !need_root("unshare_forward_signals_passes_sigterm_on") {
        return;
    }
    // util-linux 2.38 has no --forward-signals: box only.
    let links = Links::new();
    let script = "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done";
    for (how, mut command) in box_commands(
        &links,
        "unshare",
        &["--forward-signals", "sh", "-c", script],
    ) {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let r = wait_with_timeout(child, Duration::from_secs(30));
        assert_eq!(r.status.code(), Some(3), "{how}: {r:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_kill_child_takes_the_command_down() {
    if !need_root("unshare_kill_child_takes_the_command_down") {
        return;
    }
    let links = Links::new();
    let mut commands = box_commands(&links, "unshare", &[]);
    if let Some(tool) = util_linux("unshare_kill_child_takes_the_command_down", "unshare") {
        commands.push(("util-linux".into(), Command::new(tool)));
    }
    for (how, mut command) in commands {
        command.args([
            "-fp",
            "--kill-child",
            "sh",
            "-c",
            "echo ready; exec sleep 30",
        ]);
        let mut target = Target::start(command, true);
        let inner = target.pid;
        target.child.kill().unwrap();
        target.child.wait().unwrap();
        let start = Instant::now();
        while matches!(state(inner), Some(s) if s != 'Z') {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{how}: the command outlived unshare"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_time_namespace_offsets_children() {
    if !need_root("unshare_time_namespace_offsets_children") {
        return;
    }
    if !Path::new("/proc/self/ns/time").exists() {
        skip(
            "unshare_time_namespace_offsets_children",
            "this kernel has no time namespaces (CONFIG_TIME_NS)",
        );
        return;
    }
    side_by_side(
        "unshare_time_namespace_offsets_children",
        "unshare",
        &[
            "-Tf",
            "--boottime",
            "1000000",
            "sh",
            "-c",
            "cut -d. -f1 /proc/uptime",
        ],
        |how, r| {
            let uptime: u64 = r.stdout.trim().parse().unwrap_or(0);
            assert!(uptime >= 1_000_000, "{how}: {r:?}");
        },
    );
}

/// `program ARGS…` as user and group nobody (65534), without groups.
fn as_nobody(program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(program)
        .args(args);
    command
}

/// Whether nobody may create user namespaces here and run box; if not,
/// a skip line says why.
fn nobody_can_use_user_namespaces(test: &str) -> bool {
    for (file, off) in [
        ("/proc/sys/user/max_user_namespaces", "0"),
        ("/proc/sys/kernel/unprivileged_userns_clone", "0"),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
        ),
    ] {
        if std::fs::read_to_string(file).is_ok_and(|v| v.trim() == off) {
            skip(
                test,
                &format!("unprivileged user namespaces are off here ({file} = {off})"),
            );
            return false;
        }
    }
    let probe = run(as_nobody(Path::new(BOX), &["--version"]));
    if probe.code() != 0 {
        skip(
            test,
            &format!(
                "nobody cannot run {BOX} through setpriv (needs setpriv, and box readable by all): {probe:?}"
            ),
        );
        return false;
    }
    true
}

#[test]
#[ignore = "needs root"]
fn unshare_map_root_user_unprivileged() {
    let test = "unshare_map_root_user_unprivileged";
    if !need_root(test) {
        return;
    }
    if !nobody_can_use_user_namespaces(test) {
        return;
    }
    let links = Links::new();
    let ours = [
        (
            "box unshare",
            run(as_nobody(Path::new(BOX), &["unshare", "-r", "id", "-u"])),
        ),
        (
            "unshare (symlink)",
            run(as_nobody(&links.path("unshare"), &["-r", "id", "-u"])),
        ),
    ];
    for (how, r) in &ours {
        assert_eq!((r.code(), r.stdout.as_str()), (0, "0\n"), "{how}: {r:?}");
    }
    if let Some(tool) = util_linux(test, "unshare") {
        let theirs = run(as_nobody(&tool, &["-r", "id", "-u"]));
        assert_eq!(
            (theirs.code(), theirs.stdout.as_str()),
            (0, "0\n"),
            "util-linux: {theirs:?}"
        );
    }
    // Without -r the user needs CAP_SYS_ADMIN: one line that says so.
    let r = run(as_nobody(Path::new(BOX), &["unshare", "-u", "true"]));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(one_error_line(&r).contains("CAP_SYS_ADMIN"), "{r:?}");
}

#[test]
#[ignore = "needs root"]
fn nsenter_joins_the_uts_namespace() {
    if !need_root("nsenter_joins_the_uts_namespace") {
        return;
    }
    let target = uts_target();
    let pid = target.pid.to_string();
    for args in [
        &["-t", &pid, "-u", "hostname"][..],
        &["-t", &pid, "-a", "hostname"],
    ] {
        side_by_side(
            "nsenter_joins_the_uts_namespace",
            "nsenter",
            args,
            |how, r| {
                assert_eq!(
                    (r.code(), r.stdout.as_str()),
                    (0, "inner\n"),
                    "{how}: {r:?}"
                );
            },
        );
    }
}

#[test]
#[ignore = "needs root"]
fn nsenter_all_enters_pid_and_mount_namespaces() {
    if !need_root("nsenter_all_enters_pid_and_mount_namespaces") {
        return;
    }
    let target = pid_target();
    let pid = target.pid.to_string();
    let script = "hostname; cat /proc/1/comm; test $$ -gt 1 && echo forked";
    for args in [
        &["-t", &pid, "-a", "sh", "-c", script][..],
        &["-t", &pid, "-p", "-m", "-u", "sh", "-c", script],
    ] {
        side_by_side(
            "nsenter_all_enters_pid_and_mount_namespaces",
            "nsenter",
            args,
            |how, r| {
                assert_eq!(
                    (r.code(), r.stdout.as_str()),
                    (0, "inner\nsleep\nforked\n"),
                    "{how}: {r:?}"
                );
            },
        );
    }
    // Exit statuses through the fork nsenter makes for a PID namespace.
    let test = "nsenter_all_enters_pid_and_mount_namespaces";
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-p", "sh", "-c", "exit 42"],
        |how, r| {
            assert_eq!(r.status.code(), Some(42), "{how}: {r:?}");
        },
    );
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-p", "sh", "-c", "kill -TERM $$"],
        |how, r| {
            assert_eq!(r.status.signal(), Some(15), "{how}: {r:?}");
        },
    );
}

#[test]
#[ignore = "needs root"]
fn nsenter_works_with_stdin_closed() {
    // The pidfd then gets the lowest free number; box reopens 0-2 on
    // /dev/null first, and never takes descriptor 0 for "none"
    // (util-linux#4412).
    if !need_root("nsenter_works_with_stdin_closed") {
        return;
    }
    let target = uts_target();
    let links = Links::new();
    for program in [
        BOX.to_string() + " nsenter",
        links.path("nsenter").display().to_string(),
    ] {
        let script = format!("exec 0<&-; exec {program} -t {} -u hostname", target.pid);
        let mut command = Command::new("sh");
        command.args(["-c", &script]);
        let r = run(command);
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (0, "inner\n"),
            "{program}: {r:?}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn nsenter_errors_are_one_line() {
    let test = "nsenter_errors_are_one_line";
    if !need_root(test) {
        return;
    }
    let expect = |needle: &'static str| {
        move |how: &str, r: &Run| {
            assert_eq!(r.code(), 1, "{how}: {r:?}");
            if how != "util-linux" {
                assert!(one_error_line(r).contains(needle), "{how}: {r:?}");
            }
        }
    };
    side_by_side(
        test,
        "nsenter",
        &["-t", NO_SUCH_PID, "-u", "true"],
        expect("no such process"),
    );
    side_by_side(
        test,
        "nsenter",
        &["--uts=/proc/self/ns/net", "true"],
        expect("/proc/self/ns/net is not a uts namespace"),
    );
    side_by_side(
        test,
        "nsenter",
        &["--bogus", "true"],
        expect("unknown option --bogus"),
    );
    side_by_side(
        test,
        "unshare",
        &["--bogus", "true"],
        expect("unknown option --bogus"),
    );

    // An exited process not yet reaped (a zombie).
    let mut zombie = Command::new("true").spawn().unwrap();
    let start = Instant::now();
    while state(zombie.id()) != Some('Z') {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "true did not exit"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = zombie.id().to_string();
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-u", "true"],
        expect("has exited"),
    );
    zombie.wait().unwrap();
}

#[test]
#[ignore = "needs root"]
fn nsenter_enters_a_user_namespace() {
    let test = "nsenter_enters_a_user_namespace";
    if !need_root(test) {
        return;
    }
    let script = "hostname inner && echo ready && exec sleep 30";
    // Root entering a container's user namespace: uid 0 inside after.
    let mut command = Command::new(BOX);
    command.args(["unshare", "-ru", "sh", "-c", script]);
    let target = Target::start(command, false);
    let pid = target.pid.to_string();
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-U", "-u", "sh", "-c", "hostname; id -u"],
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "inner\n0\n"),
                "{how}: {r:?}"
            );
        },
    );
    // Our own user namespace cannot be entered again.
    let me = std::process::id().to_string();
    side_by_side(test, "nsenter", &["-t", &me, "-U", "true"], |how, r| {
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        if how != "util-linux" {
            assert!(
                one_error_line(r).contains("our own user namespace"),
                "{how}: {r:?}"
            );
        }
    });
    drop(target);

    // An unprivileged user entering its own `unshare -r` namespace.
    if !nobody_can_use_user_namespaces(test) {
        return;
    }
    let target = Target::start(
        as_nobody(Path::new(BOX), &["unshare", "-ru", "sh", "-c", script]),
        false,
    );
    let user = format!("--user=/proc/{}/ns/user", target.pid);
    let uts = format!("--uts=/proc/{}/ns/uts", target.pid);
    let pid = target.pid.to_string();
    // By files, UTS listed first: it can only be joined after the user
    // namespace, which box does in its second pass, as util-linux.
    let by_files = ["--preserve-credentials", &uts, &user, "hostname"];
    let links = Links::new();
    let mut runs = vec![
        (
            "box nsenter",
            as_nobody(Path::new(BOX), &[&["nsenter"][..], &by_files].concat()),
        ),
        (
            "nsenter (symlink)",
            as_nobody(&links.path("nsenter"), &by_files),
        ),
    ];
    if let Some(tool) = util_linux(test, "nsenter") {
        runs.push(("util-linux", as_nobody(&tool, &by_files)));
    }
    for (how, command) in runs {
        let r = run(command);
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (0, "inner\n"),
            "{how}: {r:?}"
        );
    }
    // Through the pidfd, with the default credentials (uid 0 inside) and a
    // setgroups that says "deny" there: util-linux 2.38 fails on setgroups
    // here (util-linux#3553); box goes on.
    let r = run(as_nobody(
        Path::new(BOX),
        &[
            "nsenter",
            "-t",
            &pid,
            "-U",
            "-u",
            "sh",
            "-c",
            "hostname; id -u",
        ],
    ));
    assert_eq!((r.code(), r.stdout.as_str()), (0, "inner\n0\n"), "{r:?}");
}

#[test]
#[ignore = "needs root"]
fn unshare_keeps_namespaces_in_files() {
    // util-linux's persistent namespaces: `--NAME=FILE` binds the new
    // namespace onto FILE, where it outlives its processes; util-linux's
    // nsenter then joins it from the file. All in a mount namespace of the
    // test's own (util-linux's unshare -m), so nothing reaches the host's.
    let test = "unshare_keeps_namespaces_in_files";
    if !need_root(test) || util_linux(test, "nsenter").is_none() {
        return;
    }
    let dir = TempDir::new("persist");
    let script = r#"
        mount -t tmpfs t "$D" && mkdir "$D/m" && touch "$D/uts" "$D/net" "$D/mnt" "$D/pid" || exit 9
        "$BOX" unshare --uts="$D/uts" --net="$D/net" hostname kept || exit 10
        echo "uts $(nsenter --uts="$D/uts" hostname)"
        echo "net $(nsenter --net="$D/net" cat /proc/net/dev | wc -l)"
        "$BOX" unshare --mount="$D/mnt" mount -t tmpfs inside "$D/m" || exit 11
        echo "mnt $(nsenter --mount="$D/mnt" grep -c " $D/m " /proc/self/mountinfo)"
        echo "here $(grep -c " $D/m " /proc/self/mountinfo)"
        "$BOX" unshare -f --pid="$D/pid" true || exit 12
        echo "pid $(grep -c " $D/pid " /proc/self/mountinfo)"
        "$BOX" unshare --uts="$D/missing" true
        echo "missing $?"
        "$BOX" unshare --pid="$D/pid" true
        echo "pid without -f $?"
    "#;
    // On one CPU: the kernel binds a mount namespace's file only from an
    // older namespace, and Linux 6.18 numbers namespaces from per-CPU
    // batches, so one made on the other CPU after this test's own can
    // count as older (util-linux's unshare fails the same way there).
    let r = run({
        let mut c = Command::new("taskset");
        c.args(["-c", "0", "unshare", "-m", "sh", "-c", script])
            .env("BOX", BOX)
            .env("D", dir.path());
        c
    });
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "uts kept",
            // A new network namespace has only lo: two header lines and it.
            "net 3",
            "mnt 1",
            "here 0",
            // The PID namespace for unshare's children, bound once -f's
            // child made it exist.
            "pid 1",
            "missing 1",
            "pid without -f 1",
        ],
        "{r:?}"
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stderr.contains("FILE must exist"), "{r:?}");
    assert!(r.stderr.contains("add -f"), "{r:?}");
}

#[test]
#[ignore = "needs root"]
fn nsenter_takes_values_attached_to_short_options() {
    let test = "nsenter_takes_values_attached_to_short_options";
    if !need_root(test) {
        return;
    }
    let target = uts_target();
    let mnt = format!("-m/proc/{}/ns/mnt", target.pid);
    let uts = format!("-u/proc/{}/ns/uts", target.pid);
    side_by_side(test, "nsenter", &[&mnt, &uts, "hostname"], |how, r| {
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (0, "inner\n"),
            "{how}: {r:?}"
        );
    });
    let pid = target.pid.to_string();
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-u", "-r/", "-w/tmp", "pwd"],
        |how, r| {
            assert_eq!((r.code(), r.stdout.as_str()), (0, "/tmp\n"), "{how}: {r:?}");
        },
    );
}

#[test]
#[ignore = "needs root"]
fn long_options_may_be_shortened_where_unambiguous() {
    let test = "long_options_may_be_shortened_where_unambiguous";
    if !need_root(test) {
        return;
    }
    side_by_side(
        test,
        "unshare",
        &[
            "--ut",
            "--prop=private",
            "--mount",
            "sh",
            "-c",
            "hostname x; hostname",
        ],
        |how, r| {
            assert_eq!((r.code(), r.stdout.as_str()), (0, "x\n"), "{how}: {r:?}");
        },
    );
    side_by_side(test, "unshare", &["--map-root", "id", "-u"], |how, r| {
        assert_eq!((r.code(), r.stdout.as_str()), (0, "0\n"), "{how}: {r:?}");
    });
    let target = uts_target();
    let pid = target.pid.to_string();
    side_by_side(
        test,
        "nsenter",
        &["--targ", &pid, "--ut", "hostname"],
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "inner\n"),
                "{how}: {r:?}"
            );
        },
    );
    // Ambiguous: refused, the candidates named.
    for (applet, args, names) in [
        (
            "unshare",
            &["--m", "true"][..],
            "--mount, --mount-proc, --mount-binfmt, --map-root-user",
        ),
        (
            "nsenter",
            &["-t", &pid, "--p", "true"],
            "--pid, --preserve-credentials",
        ),
    ] {
        side_by_side(test, applet, args, |how, r| {
            assert_eq!(r.code(), 1, "{how}: {r:?}");
            if how != "util-linux" {
                let line = one_error_line(r);
                assert!(
                    line.contains("ambiguous") && line.contains(names),
                    "{how}: {r:?}"
                );
            }
        });
    }
}

#[test]
#[ignore = "needs root"]
fn scripts_without_a_shebang_run_through_sh_in_the_applets_only() {
    let test = "scripts_without_a_shebang_run_through_sh_in_the_applets_only";
    if !need_root(test) {
        return;
    }
    let dir = TempDir::new("script");
    let script = dir.path().join("no-shebang");
    std::fs::write(&script, "echo from-sh \"$1\"\n").unwrap();
    chmod(&script, 0o755);
    let script = script.to_str().unwrap();
    side_by_side(test, "unshare", &["-u", script, "word"], |how, r| {
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (0, "from-sh word\n"),
            "{how}: {r:?}"
        );
    });
    let target = uts_target();
    let pid = target.pid.to_string();
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-u", script, "word"],
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "from-sh word\n"),
                "{how}: {r:?}"
            );
        },
    );
    // box run and box exec run the command as given, as Docker: 126 and
    // a line that says why.
    if !have_busybox(test) {
        return;
    }
    let rootfs = busybox_rootfs("no-shebang");
    std::fs::write(rootfs.path().join("bin/no-shebang"), "echo from-sh\n").unwrap();
    chmod(&rootfs.path().join("bin/no-shebang"), 0o755);
    let r = run_box([
        "run",
        "--rootfs",
        rootfs.path().to_str().unwrap(),
        "--",
        "/bin/no-shebang",
    ]);
    assert_eq!(r.code(), 126, "{r:?}");
    assert!(one_error_line(&r).contains("#!"), "{r:?}");
}

#[test]
#[ignore = "needs root"]
fn nsenter_follow_takes_the_ids_as_the_user_namespace_entered_sees_them() {
    // nobody's `unshare -r`: its uid 0 inside is 65534 outside. `follow`
    // must read the target's owner once inside (0), not as the host sees
    // it (65534, which has no mapping there: setresgid fails).
    let test = "nsenter_follow_takes_the_ids_as_the_user_namespace_entered_sees_them";
    if !need_root(test) || !nobody_can_use_user_namespaces(test) {
        return;
    }
    let script = "echo ready && exec sleep 30";
    let target = Target::start(
        as_nobody(Path::new(BOX), &["unshare", "-r", "sh", "-c", script]),
        false,
    );
    let pid = target.pid.to_string();
    // util-linux ≥ 2.39 has follow; 2.38 does not: box's own, both ways.
    let args = [
        "-t",
        &pid,
        "-U",
        "-S",
        "follow",
        "-G",
        "follow",
        "sh",
        "-c",
        "id -u; id -g",
    ];
    let links = Links::new();
    for (how, command) in box_commands(&links, "nsenter", &args) {
        let r = run(command);
        assert_eq!((r.code(), r.stdout.as_str()), (0, "0\n0\n"), "{how}: {r:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn nsenter_all_enters_our_own_mount_namespace_again() {
    // util-linux's -a enters every namespace but our own user namespace,
    // even those we are in: entering the mount namespace again puts the
    // working directory at its root.
    let test = "nsenter_all_enters_our_own_mount_namespace_again";
    if !need_root(test) {
        return;
    }
    let target = uts_target();
    let pid = target.pid.to_string();
    let dir = TempDir::new("cwd");
    side_by_side_with(
        test,
        "nsenter",
        &["-t", &pid, "-a", "sh", "-c", "hostname; pwd"],
        |c| {
            c.current_dir(dir.path());
        },
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "inner\n/\n"),
                "{how}: {r:?}"
            );
        },
    );
}

#[test]
#[ignore = "needs root"]
fn unshare_sets_the_ids_and_nsenter_the_directory_inside() {
    // unshare -S, -G (util-linux 2.38): the command's ids, set last;
    // nsenter -W: a working directory looked up in the namespaces
    // entered. -Z, SELinux's context, is refused where util-linux without
    // SELinux goes on.
    let test = "unshare_sets_the_ids_and_nsenter_the_directory_inside";
    if !need_root(test) {
        return;
    }
    side_by_side(
        test,
        "unshare",
        &[
            "-u",
            "-S",
            "1",
            "-G",
            "2",
            "sh",
            "-c",
            "id -u; id -g; id -G",
        ],
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "1\n2\n2\n"),
                "{how}: {r:?}"
            );
        },
    );
    let target = uts_target();
    let pid = target.pid.to_string();
    side_by_side(
        test,
        "nsenter",
        &["-t", &pid, "-m", "-W", "/proc", "pwd"],
        |how, r| {
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, "/proc\n"),
                "{how}: {r:?}"
            );
        },
    );
    let links = Links::new();
    for (how, command) in box_commands(&links, "nsenter", &["-t", &pid, "-u", "-Z", "true"]) {
        let r = run(command);
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        assert!(one_error_line(&r).contains("SELinux"), "{how}: {r:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn setgroups_and_keep_caps() {
    // util-linux 2.38's --setgroups and --keep-caps: setgroups(2) denied
    // in the new user namespace; its capabilities kept across the exec of
    // a command that is not root there (ambient).
    let test = "setgroups_and_keep_caps";
    if !need_root(test) {
        return;
    }
    side_by_side(
        test,
        "unshare",
        &["-U", "--setgroups", "deny", "cat", "/proc/self/setgroups"],
        |how, r| {
            assert_eq!((r.code(), r.stdout.as_str()), (0, "deny\n"), "{how}: {r:?}");
        },
    );
    let ambient = "grep -c 'CapAmb:.*[1-9a-f]' /proc/self/status";
    for (keep, count) in [(&["--keep-caps"][..], "1\n"), (&[], "0\n")] {
        let args = [&["-U"][..], keep, &["sh", "-c", ambient]].concat();
        side_by_side(test, "unshare", &args, |how, r| {
            assert_eq!(r.stdout, count, "{how} {args:?}: {r:?}");
        });
    }
    // nsenter's --keep-caps (util-linux 2.40, newer than the 2.38 compared
    // with): the same, entering a user namespace.
    let mut command = Command::new(BOX);
    command.args([
        "unshare",
        "-U",
        "-r",
        "sh",
        "-c",
        "echo ready && exec sleep 30",
    ]);
    let target = Target::start(command, false);
    let pid = target.pid.to_string();
    let links = Links::new();
    for (keep, count) in [(&["--keep-caps"][..], "1\n"), (&[], "0\n")] {
        let enter = ["-t", &pid, "-U", "--preserve-credentials"];
        let args = [&enter[..], keep, &["sh", "-c", ambient]].concat();
        for (how, command) in box_commands(&links, "nsenter", &args) {
            let r = run(command);
            assert_eq!(r.stdout, count, "{how} {args:?}: {r:?}");
        }
    }
    for args in [
        &["--setgroups", "deny", "true"][..],
        &["-U", "--setgroups", "maybe", "true"],
        &["-r", "--setgroups", "allow", "true"],
    ] {
        for (how, command) in box_commands(&links, "unshare", args) {
            let r = run(command);
            assert_eq!(r.code(), 1, "{how} {args:?}: {r:?}");
            one_error_line(&r);
        }
    }
}

#[test]
#[ignore = "needs root"]
fn nsenter_target_by_pid_and_pidfd_inode() {
    // util-linux 2.41's -t PID:INODE: the target named by its pidfd's
    // inode too (pidfs, Linux 6.9), which no later process with the same
    // PID gets: another inode is refused.
    let test = "nsenter_target_by_pid_and_pidfd_inode";
    if !need_root(test) {
        return;
    }
    let target = uts_target();
    // SAFETY: pidfd_open of the test's own child, which is alive.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, target.pid as libc::c_int, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::fs::MetadataExt;
    // SAFETY: a descriptor just returned, owned here alone.
    let pidfd = unsafe { std::fs::File::from_raw_fd(fd as libc::c_int) };
    let inode = pidfd.metadata().unwrap().ino();
    // SAFETY: statfs is plain data, for which all zeroes is a value.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs of a descriptor we own into a struct we own.
    let statfs = unsafe { libc::fstatfs(pidfd.as_raw_fd(), &mut fs) };
    assert_eq!(statfs, 0);
    const PID_FS_MAGIC: i64 = 0x5049_4446;
    if fs.f_type as i64 != PID_FS_MAGIC {
        skip(test, "pidfds are not on pidfs (Linux 6.9)");
        return;
    }
    let links = Links::new();
    let right = format!("{}:{inode}", target.pid);
    for (how, command) in box_commands(&links, "nsenter", &["-t", &right, "-u", "hostname"]) {
        let r = run(command);
        assert_eq!(
            (r.code(), r.stdout.as_str()),
            (0, "inner\n"),
            "{how}: {r:?}"
        );
    }
    let wrong = format!("{}:{}", target.pid, inode + 1);
    for (how, command) in box_commands(&links, "nsenter", &["-t", &wrong, "-u", "true"]) {
        let r = run(command);
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        assert!(
            one_error_line(&r).contains("another process"),
            "{how}: {r:?}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_maps_the_user_and_group_given() {
    // util-linux 2.38's --map-user and --map-group, by number or by name
    // (/etc/passwd, /etc/group), each alone or both.
    let test = "unshare_maps_the_user_and_group_given";
    if !need_root(test) {
        return;
    }
    let maps = "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g";
    for args in [
        &["--map-user=1000", "--map-group=nogroup"][..],
        &["--map-user", "nobody"],
        &["--map-group=5"],
        &["-r", "--map-user=7"],
    ] {
        let args = [args, &["sh", "-c", maps]].concat();
        side_by_side(test, "unshare", &args, |how, r| {
            assert_eq!(r.code(), 0, "{how} {args:?}: {r:?}");
        });
    }
    let links = Links::new();
    for (how, command) in box_commands(&links, "unshare", &["--map-user=no-such-user", "true"]) {
        let r = run(command);
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        assert!(one_error_line(&r).contains("no such user"), "{how}: {r:?}");
    }
}

/// A script that runs `"$@"` with its own /etc, an overlay of the host's
/// whose /etc/subuid and /etc/subgid give root and nobody ranges, in a
/// mount namespace of its own (so the host's /etc is never touched).
/// Its first word is a scratch directory.
const WITH_SUBIDS: &str = r#"set -e
d=$1; shift
mount -t tmpfs scratch "$d"; mkdir "$d/up" "$d/work"
mount -t overlay etc -o lowerdir=/etc,upperdir="$d/up",workdir="$d/work" /etc
printf 'root:100000:65536\nnobody:300000:1000\n' > /etc/subuid
printf 'root:200000:65536\nnobody:400000:1000\n' > /etc/subgid
exec "$@""#;

/// `program ARGS…` (as nobody with `nobody`) where /etc/subuid and
/// /etc/subgid say [`WITH_SUBIDS`]'s.
fn with_subids(scratch: &TempDir, program: &Path, args: &[&str], nobody: bool) -> Command {
    let mut command = Command::new(BOX);
    command
        .args(["unshare", "-m", "sh", "-c", WITH_SUBIDS, "sh"])
        .arg(scratch.path());
    if nobody {
        command.args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]);
    }
    command.arg(program).args(args);
    command
}

#[test]
#[ignore = "needs root"]
fn unshare_maps_ranges_of_ids() {
    // util-linux 2.38's --map-users, --map-groups and --map-auto, side by
    // side, as root (2.38 runs newuidmap even then; box writes the map) and
    // as nobody through newuidmap and newgidmap; then what came later:
    // INNER:OUTER:COUNT (2.39), all (2.40), subids and --map-subids (2.41),
    // several ranges (2.40).
    let test = "unshare_maps_ranges_of_ids";
    if !need_root(test) {
        return;
    }
    let maps = ["cat", "/proc/self/uid_map", "/proc/self/gid_map"];
    let scratch = TempDir::new("subids");
    let links = Links::new();
    let tool = util_linux(test, "unshare");
    let have_newuidmap = Path::new("/usr/bin/newuidmap").exists();
    for (args, nobody, want) in [
        (
            &["--map-users=100000,0,65536", "--map-groups=200000,0,65536"][..],
            false,
            "0 100000 65536\n0 200000 65536\n",
        ),
        (
            &["-r", "--map-auto"],
            false,
            "0 0 1\n1 100000 65535\n0 0 1\n1 200000 65535\n",
        ),
        (
            &["--map-auto", "--map-root-user"],
            true,
            "0 65534 1\n1 300000 999\n0 65534 1\n1 400000 999\n",
        ),
        (
            &["--map-users=auto", "-c"],
            true,
            "65534 65534 1\n0 300000 1000\n65534 65534 1\n",
        ),
    ] {
        if nobody && !have_newuidmap {
            skip(
                test,
                "newuidmap is not installed: the unprivileged half is skipped",
            );
            continue;
        }
        let args = [args, &maps[..]].concat();
        let mut ours = vec![(
            "box unshare".to_string(),
            with_subids(
                &scratch,
                Path::new(BOX),
                &[&["unshare"][..], &args].concat(),
                nobody,
            ),
        )];
        ours.push((
            "unshare (symlink)".to_string(),
            with_subids(&scratch, &links.path("unshare"), &args, nobody),
        ));
        if let Some(tool) = &tool {
            ours.push((
                "util-linux".to_string(),
                with_subids(&scratch, tool, &args, nobody),
            ));
        }
        for (how, command) in ours {
            let r = run(command);
            let got: String = r
                .stdout
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
                .collect();
            assert_eq!((r.code(), got.as_str()), (0, want), "{how} {args:?}: {r:?}");
        }
    }
    // Later releases: box only.
    for (args, want) in [
        (
            &["--map-users=0:100000:65536", "--map-groups=0:200000:65536"][..],
            "0 100000 65536\n0 200000 65536\n",
        ),
        (
            &["--map-subids"],
            "100000 100000 65536\n200000 200000 65536\n",
        ),
        (
            &[
                "--map-users=0:100000:10",
                "--map-users=10:100010:5",
                "--map-groups=subids",
            ],
            "0 100000 10\n10 100010 5\n200000 200000 65536\n",
        ),
        (
            &["--map-users=all", "--map-groups=all"],
            "0 0 4294967295\n0 0 4294967295\n",
        ),
    ] {
        let args = [&["unshare"][..], args, &maps[..]].concat();
        let r = run(with_subids(&scratch, Path::new(BOX), &args, false));
        let got: String = r
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
            .collect();
        assert_eq!((r.code(), got.as_str()), (0, want), "{args:?}: {r:?}");
    }
    // Without a line for the user: one line that says which file.
    let r = run(as_nobody(
        Path::new(BOX),
        &["unshare", "--map-auto", "true"],
    ));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(one_error_line(&r).contains("/etc/subuid"), "{r:?}");
    // A range newuidmap does not allow: its own message, status 1.
    if have_newuidmap {
        let r = run(with_subids(
            &scratch,
            Path::new(BOX),
            &["unshare", "--map-users=0:100000:10", "true"],
            true,
        ));
        assert_eq!(r.code(), 1, "{r:?}");
        assert!(r.stderr.contains("newuidmap"), "{r:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_owner_gives_the_user_namespace_away() {
    // util-linux 2.42's --owner: root makes a user namespace that nobody
    // owns, maps nobody to 0 in it, and nobody can then enter it.
    let test = "unshare_owner_gives_the_user_namespace_away";
    if !need_root(test) {
        return;
    }
    if !nobody_can_use_user_namespaces(test) {
        return;
    }
    let start = |owner: bool| {
        let mut command = Command::new(BOX);
        command.arg("unshare");
        if owner {
            command.arg("--owner=65534:65534");
        }
        command.args([
            "--map-users=0:65534:1",
            "--map-groups=0:65534:1",
            "sh",
            "-c",
            "echo ready && exec sleep 30",
        ]);
        Target::start(command, false)
    };
    let target = start(true);
    let pid = target.pid.to_string();
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(
        map.split_whitespace().collect::<Vec<_>>(),
        ["0", "65534", "1"]
    );
    let r = run(as_nobody(
        Path::new(BOX),
        &["nsenter", "-t", &pid, "-U", "id", "-u"],
    ));
    assert_eq!((r.code(), r.stdout.as_str()), (0, "0\n"), "{r:?}");
    drop(target);
    // Owned by root, the same namespace is out of nobody's reach.
    let target = start(false);
    let pid = target.pid.to_string();
    let r = run(as_nobody(
        Path::new(BOX),
        &["nsenter", "-t", &pid, "-U", "id", "-u"],
    ));
    assert_eq!(r.code(), 1, "{r:?}");
    let links = Links::new();
    for (how, command) in box_commands(&links, "unshare", &["--owner=1", "true"]) {
        let r = run(command);
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        assert!(one_error_line(&r).contains("UID:GID"), "{how}: {r:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_clear_env_and_whitelist_env() {
    // --clear-env and --whitelist-env, in util-linux's development tree
    // (no release has them yet): what the command's environment holds.
    let test = "unshare_clear_env_and_whitelist_env";
    if !need_root(test) {
        return;
    }
    let links = Links::new();
    for (args, want) in [
        (&["--clear-env"][..], ""),
        (&["--whitelist-env=B,PATH"], "B=2\nPATH=/usr/bin:/bin\n"),
        (
            &["--whitelist-env", "A", "--whitelist-env=C,NONE"],
            "A=1\nC=3\n",
        ),
        (&[], "A=1\nB=2\nC=3\nPATH=/usr/bin:/bin\n"),
    ] {
        let args = [args, &["-u", "/usr/bin/env"]].concat();
        for (how, mut command) in box_commands(&links, "unshare", &args) {
            command
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("A", "1")
                .env("B", "2")
                .env("C", "3");
            let r = run(command);
            assert_eq!(
                (r.code(), r.stdout.as_str()),
                (0, want),
                "{how} {args:?}: {r:?}"
            );
        }
    }
}

#[test]
#[ignore = "needs root"]
fn nsenter_user_parent_env_and_join_cgroup() {
    // util-linux 2.40's --user-parent, -e and -c.
    let test = "nsenter_user_parent_env_and_join_cgroup";
    if !need_root(test) {
        return;
    }
    let links = Links::new();
    // A user namespace in a user namespace: --user-parent enters the
    // outer one, -U the inner one.
    let mut command = Command::new(BOX);
    command.args([
        "unshare",
        "-r",
        "--",
        BOX,
        "unshare",
        "--map-user=200",
        "--map-group=200",
        "sh",
        "-c",
        "echo ready && exec sleep 30",
    ]);
    command.env("MARK", "nested target");
    let target = Target::start(command, false);
    let pid = target.pid.to_string();
    let inner = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    for (how, command) in box_commands(
        &links,
        "nsenter",
        &[
            "-t",
            &pid,
            "--user-parent",
            "readlink",
            "/proc/self/ns/user",
        ],
    ) {
        let r = run(command);
        assert_eq!(r.code(), 0, "{how}: {r:?}");
        let outer = r.stdout.trim();
        let host = std::fs::read_link("/proc/self/ns/user").unwrap();
        assert_ne!(outer, inner.to_str().unwrap(), "{how}: {r:?}");
        assert_ne!(outer, host.to_str().unwrap(), "{how}: {r:?}");
        // The one whose child the target's is: seen from inside it, the
        // target's map is the inner one, 200 for its 0.
        let r = run({
            let mut c = Command::new(BOX);
            c.args(["nsenter", "-t", &pid, "--user-parent", "cat"])
                .arg(format!("/proc/{pid}/uid_map"));
            c
        });
        assert_eq!(
            r.stdout.split_whitespace().collect::<Vec<_>>(),
            ["200", "0", "1"],
            "{how}: {r:?}"
        );
    }
    // -e: the target's environment, not ours.
    for (how, mut command) in box_commands(&links, "nsenter", &["-t", &pid, "-e", "env"]) {
        command.env("MARK", "ours");
        let r = run(command);
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let want: String = environ
            .split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .map(|e| String::from_utf8_lossy(e).into_owned() + "\n")
            .collect();
        assert_eq!((r.code(), &r.stdout), (0, &want), "{how}: {r:?}");
        assert!(r.stdout.contains("MARK=nested target\n"), "{how}: {r:?}");
    }
    // --user-parent of a process in our own user namespace: its parent
    // is above us, out of reach.
    let me = std::process::id().to_string();
    for (how, command) in box_commands(&links, "nsenter", &["-t", &me, "--user-parent", "true"]) {
        let r = run(command);
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        assert!(one_error_line(&r).contains("NS_GET_USERNS"), "{how}: {r:?}");
    }
    drop(target);

    // -c: the target's cgroup v2 group.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let v2 = mounts
        .lines()
        .find(|l| l.split(' ').nth(2) == Some("cgroup2"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("a cgroup2 mount: --join-cgroup joins only cgroup v2 groups");
    let group = Path::new(v2).join(format!("box-test-join-{}", std::process::id()));
    std::fs::create_dir(&group).unwrap();
    let target = uts_target();
    std::fs::write(group.join("cgroup.procs"), target.pid.to_string()).unwrap();
    let pid = target.pid.to_string();
    let name = group.file_name().unwrap().to_str().unwrap();
    for (how, command) in box_commands(
        &links,
        "nsenter",
        &["-t", &pid, "-c", "-u", "cat", "/proc/self/cgroup"],
    ) {
        let r = run(command);
        assert_eq!(r.code(), 0, "{how}: {r:?}");
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with("0::"))
            .unwrap_or("");
        assert!(line.ends_with(&format!("/{name}")), "{how}: {r:?}");
    }
    drop(target);
    // Empty once the target and the commands are gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::remove_dir(&group).is_err() {
        assert!(Instant::now() < deadline, "{} stays busy", group.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root"]
fn unshare_load_interp_registers_in_its_own_binfmt_misc() {
    // util-linux 2.41's --mount-binfmt and -l: an interpreter registered
    // in the new user namespace's binfmt_misc (Linux 6.7) runs the files
    // it matches there, and the host's binfmt_misc never sees the rule.
    let test = "unshare_load_interp_registers_in_its_own_binfmt_misc";
    if !need_root(test) {
        return;
    }
    let dir = TempDir::new("binfmt");
    let file = dir.path().join("hello.boxtest");
    std::fs::write(&file, "hello\n").unwrap();
    chmod(&file, 0o755);
    let mount = TempDir::new("binfmt-mount");
    let binfmt = format!("--mount-binfmt={}", mount.path().display());
    let rule = ":boxtest:E::boxtest::/bin/cat:";
    let script = format!(
        "{} && cat {}/boxtest",
        file.display(),
        mount.path().display()
    );
    let links = Links::new();
    for (how, command) in box_commands(
        &links,
        "unshare",
        &["-r", &binfmt, "-l", rule, "sh", "-c", &script],
    ) {
        let r = run(command);
        assert_eq!(r.code(), 0, "{how}: {r:?}");
        assert!(
            r.stdout
                .starts_with("hello\nenabled\ninterpreter /bin/cat\n"),
            "{how}: {r:?}"
        );
    }
    assert!(!Path::new("/proc/sys/fs/binfmt_misc/boxtest").exists());
    assert!(!is_mount_point(mount.path()), "the mount stayed inside");
    // A bad rule: the kernel's EINVAL, with the rule's form.
    for (how, command) in box_commands(&links, "unshare", &["-r", &binfmt, "-l", ":bad", "true"]) {
        let r = run(command);
        assert_eq!(r.code(), 1, "{how}: {r:?}");
        assert!(one_error_line(&r).contains(":NAME:TYPE:"), "{how}: {r:?}");
    }
}
