//! Shared helpers for the host integration tests: run the real binary with a
//! timeout, build a busybox rootfs, snapshot the host's mounts, and skip a
//! test loudly when the machine lacks what it needs.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BOX: &str = env!("CARGO_BIN_EXE_box");

/// Where Debian's busybox-static puts its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Say on the real stderr (not the captured one) that a test was skipped
/// and why, so a skip is never a silent pass.
pub fn skip(test: &str, why: &str) {
    let line = format!("SKIPPED {test}: {why}\n");
    // SAFETY: writing a buffer we own to fd 2.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

/// Tests that need root (namespaces, mounts) call this first, and are
/// marked `#[ignore = "needs root"]`: a plain `cargo test` leaves them out,
/// `cargo xtask test` runs them with `--include-ignored` and fails on any
/// SKIPPED line, so a root-only test never counts as a pass unrun.
pub fn need_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip(test, "needs root (namespaces and mounts)");
        return false;
    }
    true
}

pub fn have_busybox(test: &str) -> bool {
    if is_static_binary(Path::new(BUSYBOX)) {
        return true;
    }
    skip(
        test,
        "needs a static busybox at /bin/busybox (apt-get install busybox-static)",
    );
    false
}

fn is_static_binary(path: &Path) -> bool {
    // A static ELF has no PT_INTERP; a cheap check is the absence of the
    // interpreter path string in the file.
    match std::fs::read(path) {
        Ok(bytes) => {
            !bytes.windows(10).any(|w| w == b"/lib64/ld-")
                && !bytes.windows(8).any(|w| w == b"/lib/ld-")
        }
        Err(_) => false,
    }
}

/// The output of one run.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .code()
            .unwrap_or_else(|| 128 + self.status.signal().unwrap_or(0))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// Wait for `child` at most `limit`, killing it past that.
pub fn wait_with_timeout(mut child: Child, limit: Duration) -> Run {
    let start = Instant::now();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let status = child.wait().expect("wait");
            panic!("timed out after {limit:?} (killed: {status:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Run box with `args`, stdin from /dev/null, 30 s at most.
pub fn run_box<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(BOX);
    command.args(args);
    run_command(&mut command)
}

/// Run `command` (box, or a link to it) with stdin from /dev/null and its
/// output captured, 30 s at most.
pub fn run_command(command: &mut Command) -> Run {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn box");
    wait_with_timeout(child, Duration::from_secs(30))
}

/// `box run -d --name NAME --rootfs ROOTFS ARGS…`, which must start the
/// container (exit 0); its output is returned for what else a test checks.
pub fn run_detached(name: &str, rootfs: &str, args: &[&str]) -> Run {
    let mut all = vec!["run", "-d", "--name", name, "--rootfs", rootfs];
    all.extend_from_slice(args);
    let run = run_box(&all);
    assert_eq!(run.code(), 0, "{run:?}");
    run
}

/// Spawn box with `args`, its output piped, and wait for the first line
/// it prints, which must be `ready` (the command inside is set up): for a
/// test that then signals box. The rest of the output stays to be read.
pub fn spawn_until_ready(args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(BOX)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    (child, out)
}

/// Run box with `args` as nobody (uid and gid 65534, no supplementary
/// groups), as an unprivileged caller would; `None`, the test skipped,
/// where unprivileged user namespaces are disabled.
pub fn run_box_as_nobody<I, S>(test: &str, args: I) -> Option<Run>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(BOX);
    cmd.args(args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setgroups(0, std::ptr::null());
            Ok(())
        });
    }
    cmd.uid(65534).gid(65534);
    let run = run_command(&mut cmd);
    if run.code() == 125 && run.stderr.contains("user namespaces are disabled") {
        skip(
            test,
            "unprivileged user namespaces are disabled on this machine",
        );
        return None;
    }
    Some(run)
}

/// A scratch directory under the system temp dir, removed on drop (after
/// unmounting anything a failed test may have left there).
pub struct TempDir(pub PathBuf);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("box-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A rootfs with a static busybox and a link for each of its applets, plus
/// the directories a container expects. World-readable so an unprivileged
/// caller can use it too.
pub fn busybox_rootfs(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    let root = dir.path();
    for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "mnt"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).expect("copy busybox");
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for name in String::from_utf8_lossy(&list.stdout).lines() {
        if name != "busybox" {
            let _ = symlink("busybox", root.join("bin").join(name));
        }
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/not-executable"), "#!/bin/sh\necho hi\n").unwrap();
    chmod(root, 0o755);
    chmod(&root.join("tmp"), 0o1777);
    dir
}

pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The host's mount table, without the per-mount IDs that a remount may
/// change: enough to see a mount appear or disappear.
pub fn host_mounts() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.split(' ').skip(3).collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// Assert the host's mounts are as they were.
pub fn assert_same_mounts(before: &[String], what: &str) {
    let after = host_mounts();
    let added: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    let removed: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "{what}: host mounts changed\n added: {added:#?}\n removed: {removed:#?}"
    );
}

/// The one line box printed on stderr, checked to be a single `box…: …` line.
pub fn one_error_line(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {run:?}");
    assert!(
        lines[0].starts_with("box") && lines[0].contains(": "),
        "not a box error line: {run:?}"
    );
    lines[0]
}

/// A refusal: exit status 125 and one error line that contains
/// `expected`, which is returned; `what` names the case in a failure.
pub fn assert_refused<'r>(run: &'r Run, expected: &str, what: &str) -> &'r str {
    assert_eq!(run.code(), 125, "{what}: {run:?}");
    let line = one_error_line(run);
    assert!(line.contains(expected), "{what}: {line}");
    line
}

/// Edit the text file at `path` (a bundle's config.json) in place: each
/// `(from, to)` in turn, its first `from` replaced with `to`, where `from`
/// must be (an edit that finds nothing would leave the test testing
/// something else). Returns the text written.
pub fn edit_file(path: &Path, edits: &[(&str, &str)]) -> String {
    let mut text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "{from} not in {}: {text}",
            path.display()
        );
        text = text.replacen(from, to, 1);
    }
    std::fs::write(path, &text).unwrap();
    text
}

/// Compile a C helper statically with the host's gcc into `out`, or say
/// why not (None).
pub fn compile_static_c(test: &str, source: &str, out: &Path) -> Option<()> {
    let src = out.with_extension("c");
    std::fs::File::create(&src)
        .and_then(|mut f| f.write_all(source.as_bytes()))
        .expect("write C source");
    match Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(out)
        .arg(&src)
        .output()
    {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => {
            skip(
                test,
                &format!("gcc -static failed: {}", String::from_utf8_lossy(&o.stderr)),
            );
            None
        }
        Err(e) => {
            skip(
                test,
                &format!("needs gcc with static libc (libc6-dev): {e}"),
            );
            None
        }
    }
}

/// Copy box's own shared libraries (and loader) into `root`, so a
/// dynamically linked test build of box can run inside a container
/// (`--init` executes box there; release builds are static and need none).
pub fn add_box_libraries(root: &Path) {
    let out = Command::new("ldd").arg(BOX).output().expect("ldd");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        if let Some(path) = path {
            let dest = root.join(path.strip_prefix("/").unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

// --- Leftover checks, shared by tests/hardening.rs and tests/load.rs ---

/// Every directory under /sys/fs/cgroup whose name starts with `prefix`
/// (a container's group is `box/NAME` under box's own cgroup, in each
/// hierarchy that has a limit).
pub fn cgroup_dirs_with_prefix(prefix: &str) -> Vec<PathBuf> {
    cgroup_dirs_where(|name| name.to_string_lossy().starts_with(prefix))
}

/// Every directory named exactly `name` under /sys/fs/cgroup.
pub fn cgroup_dirs_named_exactly(name: &str) -> Vec<PathBuf> {
    cgroup_dirs_where(|found| found == name)
}

/// Every directory under /sys/fs/cgroup whose name passes `keep`, sorted.
fn cgroup_dirs_where(keep: impl Fn(&OsStr) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if keep(&e.file_name()) {
                    found.push(e.path());
                }
                stack.push(e.path());
            }
        }
    }
    found.sort();
    found
}

/// What the container `name` left behind, one line each: processes of it
/// (by `name`, or with their root in `rootfs`) still there after waiting
/// up to `wait`, its state under /run/box, cgroup directories named
/// `name`. Empty when it left nothing.
pub fn left_behind(name: &str, rootfs: &Path, wait: Duration) -> Vec<String> {
    let mut left = Vec::new();
    let procs = wait_no_leftover_processes(name, Some(rootfs), wait);
    if !procs.is_empty() {
        left.push(format!("processes left: {procs:#?}"));
    }
    if Path::new("/run/box").join(name).exists() {
        left.push(format!("state left: /run/box/{name}"));
    }
    let cgroups = cgroup_dirs_named_exactly(name);
    if !cgroups.is_empty() {
        left.push(format!("cgroups left: {cgroups:?}"));
    }
    left
}

/// [`left_behind`] is empty: the container `name` left nothing.
pub fn assert_nothing_left(name: &str, rootfs: &Path) {
    let left = left_behind(name, rootfs, Duration::from_secs(2));
    assert!(left.is_empty(), "{name}: {}", left.join("\n"));
}

/// Names under /run/box that start with `prefix`.
pub fn state_dirs_with_prefix(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/run/box")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The host's mountinfo lines that mention any of `paths` (other tests
/// mount and unmount their own things meanwhile: only ours count).
pub fn mounts_mentioning(paths: &[&Path]) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    text.lines()
        .filter(|l| paths.iter().any(|p| l.contains(p.to_str().unwrap())))
        .map(str::to_string)
        .collect()
}

/// One process of /proc.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub state: char,
    pub comm: String,
    pub cmdline: String,
}

/// Every process of the host, as far as /proc lets us read it.
pub fn all_processes() -> Vec<ProcInfo> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut rest = stat[close + 2..].split(' ');
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.push(ProcInfo {
            pid,
            ppid,
            state,
            comm,
            cmdline,
        });
    }
    out
}

/// Processes left over by the runs of a test: those whose command line
/// holds `marker` (box with `--name MARKER…`, the container's command with
/// MARKER as an argument) or whose root is `root` (a container's process
/// still in the host's mount namespace), and zombies among their children
/// and this test process's.
pub fn leftover_processes(marker: &str, root: Option<&Path>) -> Vec<ProcInfo> {
    let me = std::process::id() as i32;
    let procs = all_processes();
    let mut ours: Vec<ProcInfo> = procs
        .iter()
        .filter(|p| p.pid != me)
        .filter(|p| {
            p.cmdline.contains(marker)
                || root.is_some_and(|r| {
                    std::fs::read_link(format!("/proc/{}/root", p.pid))
                        .is_ok_and(|l| l.starts_with(r))
                })
        })
        .cloned()
        .collect();
    let parents: Vec<i32> = ours.iter().map(|p| p.pid).chain([me]).collect();
    for p in &procs {
        if p.state == 'Z' && parents.contains(&p.ppid) && !ours.iter().any(|o| o.pid == p.pid) {
            ours.push(p.clone());
        }
    }
    ours
}

/// Wait up to `limit` for `leftover_processes` to be empty; what is left.
pub fn wait_no_leftover_processes(
    marker: &str,
    root: Option<&Path>,
    limit: Duration,
) -> Vec<ProcInfo> {
    let start = Instant::now();
    loop {
        let left = leftover_processes(marker, root);
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Removes, on drop, whatever containers named `PREFIX…` left on the host
/// (their state stays until `box rm`, and a test may fail midway): `box
/// stop` for running ones, SIGKILL (by PID)
/// for processes whose command line holds the prefix and for the tasks of
/// its cgroups, then the cgroup and state directories.
pub struct ContainerSweep {
    pub prefix: String,
}

impl ContainerSweep {
    pub fn new(prefix: &str) -> ContainerSweep {
        ContainerSweep {
            prefix: prefix.to_string(),
        }
    }
}

impl Drop for ContainerSweep {
    fn drop(&mut self) {
        for name in state_dirs_with_prefix(&self.prefix) {
            let _ = Command::new(BOX)
                .args(["stop", "-t", "0", &name])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let me = std::process::id() as i32;
        for p in all_processes() {
            if p.pid != me && p.cmdline.contains(&self.prefix) {
                // SAFETY: kill(2) on a PID of a process this test started.
                unsafe { libc::kill(p.pid, libc::SIGKILL) };
            }
        }
        let dirs = cgroup_dirs_with_prefix(&self.prefix);
        for d in &dirs {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            for pid in procs
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                // SAFETY: kill(2) on a task of a container this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        // Deepest first: a group's children go before it. A group is busy
        // until its killed tasks have finished dying.
        for _ in 0..100 {
            let mut dirs = cgroup_dirs_with_prefix(&self.prefix);
            if dirs.is_empty() {
                break;
            }
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in dirs {
                let _ = std::fs::remove_dir(&d);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for name in state_dirs_with_prefix(&self.prefix) {
            let _ = std::fs::remove_dir_all(Path::new("/run/box").join(name));
        }
    }
}

/// A host process killed (and reaped) on drop.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The text of the log a probe writes at `path`, once it says `done` (or
/// `limit` has passed).
pub fn log_when_done(path: &Path, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l == "done") || start.elapsed() > limit {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait until the file at `path` holds `needle` (10 s at most).
pub fn wait_for_text(path: &Path, needle: &str) {
    let start = Instant::now();
    while !std::fs::read_to_string(path).is_ok_and(|l| l.contains(needle)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never held {needle:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A file's device and inode, as the probes take them.
pub fn dev_ino(path: &Path) -> (String, String) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.dev().to_string(), meta.ino().to_string())
}

/// The Landlock ABI version of this kernel, 0 without Landlock
/// (landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)):
/// from 2 on, box confines a default container with it instead of running
/// from a sealed copy (src/sys/landlock.rs).
pub fn landlock_abi() -> i64 {
    // SAFETY: with the VERSION flag, a null attribute and size 0 the call
    // only returns the version; no memory is read or written.
    unsafe { libc::syscall(444, std::ptr::null::<u8>(), 0usize, 1u32) as i64 }
}
