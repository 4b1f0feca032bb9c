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
    oci_with(root, args, &[])
}

/// [`oci`] with more in its environment.
fn oci_with(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let child = Command::new(BOX)
        .arg("oci")
        .arg("--root")
        .arg(root)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn box oci");
    wait_with_timeout(child, Duration::from_secs(30))
}

/// `create` of `bundle` as `id` is refused: status 125, one line naming
/// `expected`, no state left (a create accepted after all is deleted
/// before the assertions fail).
fn assert_create_refused(root: &Path, bundle: &Path, id: &str, expected: &str, tag: &str) {
    let (code, log) = create(root, bundle, id, &bundle.join("log"));
    if code == 0 {
        oci(root, &["delete", "--force", id]);
    }
    assert_eq!(code, 125, "{tag}: {log}");
    assert!(log.contains(expected), "{tag}: {log}");
    assert_eq!(log.lines().count(), 1, "one line: {log}");
    assert!(!root.join(id).exists(), "{tag}: state left");
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
        let words: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        edit_file(
            &dir.path().join("config.json"),
            &[
                (
                    r#""args": ["sh"]"#,
                    &format!(r#""args": [{}]"#, words.join(", ")),
                ),
                (
                    r#""path": "rootfs""#,
                    &format!("\"path\": {:?}", rootfs.path().to_str().unwrap()),
                ),
                (r#""linux": {"#, &format!("\"linux\": {{{linux_extra}")),
            ],
        );
        Bundle { dir, rootfs }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Its config.json edited ([`edit_file`]): the text written.
    fn edit_config(&self, edits: &[(&str, &str)]) -> String {
        edit_file(&self.path().join("config.json"), edits)
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

    let pid = create_ok(root.path(), &bundle, &id);
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
    // exec before start, as runc allows: into the set-up container.
    let run = oci(root.path(), &["exec", &id, "cat", "/proc/1/cmdline"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "created");

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
    // pause freezes through the container's cgroup v2 group, or where its
    // groups are v1 (a hybrid host) its v1 freezer group.
    let run = oci(root.path(), &["pause", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "paused");
    let run = oci(root.path(), &["exec", &id, "true"]);
    assert!(run.stderr.contains("container not running"), "{run:?}");
    let run = oci(root.path(), &["resume", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
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

/// The directories of the group at `path` (absolute from each
/// hierarchy's root, relative from this process's own group there) in
/// every hierarchy box-oci makes groups in on this host: the v1 ones of
/// cpu, cpuset, memory, pids, devices and freezer, or cgroup2's where
/// /sys/fs/cgroup is cgroup2.
fn group_dirs(path: &str) -> Vec<PathBuf> {
    let top = Path::new("/sys/fs/cgroup");
    let under = |mount: &Path, controller: Option<&str>| {
        let base = match path.starts_with('/') {
            true => String::new(),
            false => own_cgroup(controller),
        };
        let full = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        mount.join(full.trim_start_matches('/'))
    };
    if top.join("cgroup.controllers").exists() {
        return vec![under(top, None)];
    }
    let mut dirs: Vec<PathBuf> = ["cpu", "cpuset", "memory", "pids", "devices", "freezer"]
        .iter()
        .filter_map(|c| Some((c, std::fs::canonicalize(top.join(c)).ok()?)))
        .filter(|(_, m)| m.join("cgroup.procs").exists())
        .map(|(c, m)| under(&m, Some(c)))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Whether the container's groups are v1 ones (this hybrid host).
fn v1_groups() -> bool {
    !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Box's own group in the v1 hierarchy of `controller` (`None`: cgroup2).
fn own_cgroup(controller: Option<&str>) -> String {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    text.lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (id, names, path) = (parts.next()?, parts.next()?, parts.next()?);
            let ours = match controller {
                None => id == "0" && names.is_empty(),
                Some(c) => names.split(',').any(|n| n == c),
            };
            ours.then(|| path.to_string())
        })
        .unwrap_or_else(|| "/".into())
}

/// `linux.cgroupsPath` is honoured: absolute from each hierarchy's root
/// (missing parents made), with the limits written there; ps, pause,
/// resume, kill --all and delete use it; delete removes the group and
/// leaves its parents empty. A relative path is under box-oci's own
/// group, made without limits too (and paused). A `..` path is refused
/// and makes nothing.
#[test]
#[ignore = "needs root"]
fn cgroups_path_is_honoured() {
    let test = "cgroups_path_is_honoured";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let root = TempDir::new("oci-root");
    let top = format!("boxtest-{}-{}", std::process::id(), random_suffix());
    let path = format!("/{top}/c1");
    let id = format!("box-oci-cgpath-{}", std::process::id());
    let bundle = Bundle::new(
        "oci-cgpath",
        &["sh", "-c", "sleep 100 & exec sleep 101"],
        &format!(
            r#""cgroupsPath": "{path}", "resources": {{"pids": {{"limit": 32}}, "memory": {{"limit": 67108864}}}}, "#
        ),
    );
    let pid = create_ok(root.path(), &bundle, &id);
    let dirs = group_dirs(&path);
    assert!(!dirs.is_empty());
    for dir in &dirs {
        assert!(dir.is_dir(), "{} missing", dir.display());
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    }
    // The init's own view names the path, in each of those hierarchies.
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let named = cgroup.lines().filter(|l| l.ends_with(&format!(":{path}")));
    assert_eq!(named.count(), dirs.len(), "{cgroup}");
    let read = |file: &str| -> String {
        let dir = dirs.iter().find(|d| d.join(file).exists()).expect(file);
        std::fs::read_to_string(dir.join(file))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(read("pids.max"), "32");
    let memory = if v1_groups() {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    assert_eq!(read(memory), "67108864");

    let run = oci(root.path(), &["start", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    // ps: the init and its background sleep, from the group.
    let start = Instant::now();
    let pids = loop {
        let run = oci(root.path(), &["ps", "--format", "json", &id]);
        assert_eq!(run.code(), 0, "{run:?}");
        let pids: Vec<i32> = run
            .stdout
            .trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .filter_map(|p| p.parse().ok())
            .collect();
        if pids.len() == 2 || start.elapsed() > Duration::from_secs(10) {
            break pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&pid));
    let run = oci(root.path(), &["pause", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "paused");
    if v1_groups() {
        assert_eq!(read("freezer.state"), "FROZEN");
    } else {
        assert_eq!(read("cgroup.freeze"), "1");
    }
    let run = oci(root.path(), &["resume", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "running");
    let run = oci(root.path(), &["kill", "--all", &id, "KILL"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 128 + 9);
    let other = pids.iter().find(|&&p| p != pid).copied().unwrap();
    let start = Instant::now();
    while Path::new(&format!("/proc/{other}")).exists() {
        // The background sleep: reparented to us, reaped here.
        // SAFETY: waitpid on one PID, no status wanted.
        unsafe { libc::waitpid(other, std::ptr::null_mut(), libc::WNOHANG) };
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "kill --all left {other}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    for dir in &dirs {
        assert!(!dir.exists(), "{} left", dir.display());
        // Its parent, made by create, stays as runc leaves it: empty.
        let parent = dir.parent().unwrap();
        std::fs::remove_dir(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    assert_eq!(cgroup_dirs_with_prefix(&top), Vec::<PathBuf>::new());

    // Relative: under box-oci's own group; no limits, a group all the same.
    let rel = format!("{top}-rel/c2");
    let id = format!("box-oci-cgrel-{}", std::process::id());
    let bundle = Bundle::new(
        "oci-cgrel",
        &["sleep", "100"],
        &format!(r#""cgroupsPath": "{rel}", "#),
    );
    // Without a cgroup namespace (rooted in a cgroup2 group, on this
    // hybrid host the unified one): the groups engines look for.
    bundle.edit_config(&[(r#", {"type": "cgroup"}"#, "")]);
    let pid = create_and_start(root.path(), &bundle, &id);
    let controller = if v1_groups() { Some("freezer") } else { None };
    let own = own_cgroup(controller);
    let want = format!("{}/{rel}", own.trim_end_matches('/'));
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cgroup.lines().any(|l| l.ends_with(&format!(":{want}"))),
        "{want} in {cgroup}"
    );
    let run = oci(root.path(), &["pause", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "paused");
    let run = oci(root.path(), &["resume", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(status_of(root.path(), &id), "running");
    let dirs = group_dirs(&rel);
    assert!(dirs.iter().all(|d| d.is_dir()), "{dirs:?}");
    let run = oci(root.path(), &["delete", "--force", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 128 + 9);
    for dir in &dirs {
        assert!(!dir.exists(), "{} left", dir.display());
        std::fs::remove_dir(dir.parent().unwrap()).unwrap();
    }
    assert_eq!(cgroup_dirs_with_prefix(&top), Vec::<PathBuf>::new());

    // `..` is refused by its key path, before anything is made.
    let bundle = Bundle::new(
        "oci-cgdots",
        &["true"],
        &format!(r#""cgroupsPath": "/{top}/../escaped", "#),
    );
    let id = format!("box-oci-cgdots-{}", std::process::id());
    assert_create_refused(
        root.path(),
        bundle.path(),
        &id,
        "config.json: linux.cgroupsPath: a `..` component",
        "dots",
    );
    assert_eq!(cgroup_dirs_with_prefix(&top), Vec::<PathBuf>::new());
    assert_eq!(cgroup_dirs_with_prefix("escaped"), Vec::<PathBuf>::new());
}

/// Some randomness for names other runs must not share.
fn random_suffix() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::from(t.subsec_nanos()) ^ (std::process::id() as u64) << 32
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
            "grep Seccomp: /proc/self/status; hostname; cat /proc/sys/net/ipv4/ping_group_range; \
             stat -L -c %d:%i /proc/self/fd/0 /dev/null; exit 3",
        ],
        r#""sysctl": {"net.ipv4.ping_group_range": "0 0"}, "#,
    );
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let pid = create_ok(root.path(), &bundle, &id);
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
    // create's stdin, the host's /dev/null (conmon's without -i): the
    // container's own in its place, which root inside may chmod without
    // harm to the host (device:inode of stdin, then of its /dev/null).
    let host_null = {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata("/dev/null").unwrap();
        format!("{}:{}", m.dev(), m.ino())
    };
    let nulls: Vec<&str> = output
        .lines()
        .filter(|l| l.split(':').count() == 2 && l.split(':').all(|n| n.parse::<u64>().is_ok()))
        .collect();
    assert_eq!(nulls.len(), 2, "{output}");
    assert_eq!(nulls[0], nulls[1], "{output}");
    assert_ne!(nulls[0], host_null, "{output}");
    // Running: delete refuses without --force; stopped: it deletes.
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!root.path().join(&id).exists());
}

/// config.json's `mounts` are made in the order listed, binds and tmpfs
/// alike (podman's `--read-only` binds /run/.containerenv and puts a tmpfs
/// on /run): a bind under a tmpfs listed before it stays visible, one
/// listed before the tmpfs is covered by it. On a read-only root (the
/// default config's) the mount points the image lacks are made before
/// the root is made read-only, as runc does: /proc, /sys, /dev, /run,
/// /var/tmp and /etc/hosts here. They stay in the rootfs afterwards (as
/// runc's do); a mount point made inside a tmpfs does not.
#[test]
#[ignore = "needs root"]
fn mounts_in_config_order_on_a_read_only_root_lacking_their_points() {
    let test = "mounts_in_config_order_on_a_read_only_root";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-mounts-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let script = "cat /run/late /etc/hosts /data/file; \
        test -e /run/early && echo early visible; \
        touch /var/tmp/x /run/y && echo tmpfs writable; \
        touch /z 2>/dev/null || echo root read-only; \
        test -e /data/sub || echo sub covered";
    let bundle = Bundle::new(test, &["sh", "-c", script], "");
    let host = TempDir::new("oci-mounts-src");
    for (name, text) in [
        ("early", "early\n"),
        ("late", "late\n"),
        ("hosts", "127.0.0.1 box\n"),
    ] {
        std::fs::write(host.path().join(name), text).unwrap();
    }
    std::fs::create_dir(host.path().join("data")).unwrap();
    std::fs::write(host.path().join("data/file"), "data\n").unwrap();
    let src = |name: &str| host.path().join(name).to_str().unwrap().to_string();
    let bind = |source: String, destination: &str| {
        format!(
            r#"{{"destination": "{destination}", "type": "bind", "source": "{source}", "options": ["rbind", "ro"]}}, "#
        )
    };
    let tmpfs = |destination: &str| {
        format!(
            r#"{{"destination": "{destination}", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]}}, "#
        )
    };
    let mounts = [
        bind(src("early"), "/run/early"),
        tmpfs("/run"),
        bind(src("late"), "/run/late"),
        tmpfs("/var/tmp"),
        bind(src("hosts"), "/etc/hosts"),
        tmpfs("/data/sub"),
        bind(src("data"), "/data"),
    ]
    .concat();
    let text = bundle.edit_config(&[(r#""mounts": ["#, &format!(r#""mounts": [{mounts}"#))]);
    assert!(text.contains(r#""readonly": true"#), "{text}");
    let rootfs = bundle.rootfs.path();
    for missing in ["proc", "sys", "dev"] {
        std::fs::remove_dir(rootfs.join(missing)).unwrap();
    }
    let pid = create_ok(root.path(), &bundle, &id);
    let run = oci(root.path(), &["start", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 0);
    let output = std::fs::read_to_string(bundle.path().join("log")).unwrap();
    // /data/sub was listed before /data, which covers it.
    assert_eq!(
        output,
        "late\n127.0.0.1 box\ndata\ntmpfs writable\nroot read-only\nsub covered\n"
    );
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    for made in ["proc", "sys", "dev", "run", "var/tmp", "data/sub"] {
        assert!(rootfs.join(made).is_dir(), "{made}");
    }
    for made in ["run/early", "etc/hosts"] {
        let meta = std::fs::metadata(rootfs.join(made)).unwrap();
        assert!(meta.is_file() && meta.len() == 0, "{made}");
    }
    assert!(!rootfs.join("run/late").exists(), "made in the tmpfs");
    assert!(!rootfs.join("z").exists());
}

/// `tmpcopyup` over a directory of the image that is not empty (podman's
/// `--read-only` and `--tmpfs` ask for it): the tmpfs starts with a copy
/// of it, each entry with its mode and owner, the root with the covered
/// directory's; a symbolic link is copied as a link, never followed (its
/// target, a host path, is neither read nor reached); writes in the
/// container stay in the tmpfs, the image is unchanged. A tree deeper
/// than box copies, or a file under the mount point, fails `create` with
/// one line, status 125 and nothing left.
#[test]
#[ignore = "needs root"]
fn tmpcopyup_copies_the_covered_directory() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, chown, symlink};
    let test = "tmpcopyup_copies_the_covered_directory";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-copyup-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let script = "cd /data && stat -c '%a %u:%g %n' . f sub sub/g; cat f sub/g; \
        readlink shadow; cat shadow 2>/dev/null || echo not followed; \
        test -p pipe && echo fifo; test -d sub/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14 && echo deep; \
        echo changed > f && echo new > new && mkdir sub/d && echo written";
    let bundle = Bundle::new(test, &["sh", "/script"], "");
    std::fs::write(bundle.rootfs.path().join("script"), script).unwrap();
    let host = TempDir::new("oci-copyup-host");
    let secret = host.path().join("shadow");
    std::fs::write(&secret, "secret\n").unwrap();
    let data = bundle.rootfs.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("f"), "image file\n").unwrap();
    std::fs::write(data.join("sub/g"), "sub file\n").unwrap();
    // 16 levels of directories below the mount: as deep as box copies.
    let deep: PathBuf = (0..15).map(|i| format!("d{i}")).collect();
    std::fs::create_dir_all(data.join("sub").join(&deep)).unwrap();
    symlink(&secret, data.join("shadow")).unwrap();
    let pipe = std::ffi::CString::new(data.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(pipe.as_ptr(), 0o600) }, 0);
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chown(data.join("f"), Some(1000), Some(1000)).unwrap();
    mode(&data.join("f"), 0o640);
    chown(data.join("sub"), Some(1000), Some(3)).unwrap();
    mode(&data.join("sub"), 0o2750);
    chown(&data, Some(1000), Some(1000)).unwrap();
    mode(&data, 0o751);
    let mount = |destination: &str| {
        format!(
            r#"{{"destination": "{destination}", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "tmpcopyup"]}}, "#
        )
    };
    let config = bundle.path().join("config.json");
    // The owner of the copies runs the script: root in the container has
    // no CAP_DAC_OVERRIDE.
    let original = std::fs::read_to_string(&config).unwrap().replacen(
        r#""user": {"uid": 0, "gid": 0}"#,
        r#""user": {"uid": 1000, "gid": 1000}"#,
        1,
    );
    let with_mount = |destination: &str| {
        let text = original.replacen(
            r#""mounts": ["#,
            &format!(r#""mounts": [{}"#, mount(destination)),
            1,
        );
        std::fs::write(&config, text).unwrap();
    };
    with_mount("/data");
    let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
    assert_eq!(code, 0, "{log}");
    let pid: i32 = std::fs::read_to_string(bundle.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    let run = oci(root.path(), &["start", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    let status = reap(pid);
    let output = std::fs::read_to_string(bundle.path().join("log")).unwrap();
    assert_eq!(status, 0, "{output}");
    let want = format!(
        "751 1000:1000 .\n640 1000:1000 f\n2750 1000:3 sub\n644 0:0 sub/g\n\
         image file\nsub file\n{}\nnot followed\nfifo\ndeep\nwritten\n",
        secret.display()
    );
    assert_eq!(output, want);
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    // The image and the host file as they were.
    assert_eq!(
        std::fs::read_to_string(data.join("f")).unwrap(),
        "image file\n"
    );
    let meta = std::fs::metadata(data.join("f")).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o640, 1000, 1000)
    );
    assert!(!data.join("new").exists() && !data.join("sub/d").exists());
    assert_eq!(std::fs::read_link(data.join("shadow")).unwrap(), secret);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret\n");
    let left = mounts_mentioning(&[bundle.rootfs.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");

    // Refused at create: a file under the mount point, and a 17th level
    // of directories below it.
    with_mount("/data/f");
    assert_create_refused(
        root.path(),
        bundle.path(),
        &id,
        "tmpcopyup: open the covered directory: openat(/data/f): Not a directory",
        "file",
    );
    std::fs::create_dir(data.join("sub").join(&deep).join("d15")).unwrap();
    with_mount("/data");
    assert_create_refused(
        root.path(),
        bundle.path(),
        &id,
        "/data/sub/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15: more than 16 levels",
        "deep",
    );
    let left = mounts_mentioning(&[bundle.rootfs.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
}

/// podman's `--pid=host`: no pid namespace in config.json, so the
/// container's /proc shows the host's processes, and /proc/PID/root is the
/// host's root while box-oci's child, with every capability, makes the
/// mount points. An image whose /etc links there (PID a host process: a
/// `sleep` of the test's) with a bind onto /etc/hosts, as podman always
/// asks, is refused: create fails with the reason and leaves nothing,
/// nothing is made in the host directory the link names, nothing is
/// mounted on the host.
#[test]
#[ignore = "needs root"]
fn a_host_pid_namespace_gives_the_image_no_way_to_the_host() {
    let test = "a_host_pid_namespace_gives_the_image_no_way_to_the_host";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    let id = format!("box-oci-magic-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let bundle = Bundle::new(test, &["true"], "");
    let host = TempDir::new("oci-magic-host");
    let sources = TempDir::new("oci-magic-src");
    let hosts = sources.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 box\n").unwrap();
    let mut sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
    let etc = bundle.rootfs.path().join("etc");
    std::fs::remove_dir_all(&etc).unwrap();
    let link = format!("/proc/{}/root{}", sleeper.id(), host.path().display());
    std::os::unix::fs::symlink(link, &etc).unwrap();
    let mount = format!(
        r#"{{"destination": "/etc/hosts", "type": "bind", "source": "{}", "options": ["rbind", "ro"]}}, "#,
        hosts.display()
    );
    let text = bundle.edit_config(&[
        (r#"{"type": "pid"}, "#, ""),
        (r#""mounts": ["#, &format!(r#""mounts": [{mount}"#)),
    ]);
    assert!(!text.contains(r#""pid""#), "{text}");
    let before = host_mounts();
    assert_create_refused(root.path(), bundle.path(), &id, "magic link", test);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 0);
    assert_same_mounts(&before, test);
}

/// delete --force ends a created container that never started, and a
/// paused one, and leaves nothing; the init the engine reaps was killed.
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
    let pid = create_ok(root.path(), &bundle, &id);
    let run = oci(root.path(), &["delete", &id]);
    assert_ne!(run.code(), 0, "a created container is not deleted unforced");
    let run = oci(root.path(), &["delete", "--force", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid), 128 + 9);
    assert!(!root.path().join(&id).exists());
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    let output = std::fs::read_to_string(bundle.path().join("log")).unwrap();
    assert!(!output.contains("never"), "{output}");

    // A paused one too: thawed after SIGKILL, which a frozen v1 task
    // otherwise never acts on.
    let bundle = Bundle::new(
        "oci-force-paused",
        &["sleep", "100"],
        r#""resources": {"pids": {"limit": 16}}, "#,
    );
    let init = create_and_start(root.path(), &bundle, &id);
    let run = oci(root.path(), &["pause", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    let run = oci(root.path(), &["delete", "--force", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(init), 128 + 9);
    assert!(!root.path().join(&id).exists());
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
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
        assert_create_refused(root.path(), bundle.path(), &id, path, tag);
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

/// What a podman test runs with: podman's storage and state in a
/// directory of its own (nothing shared with other podman users of the
/// machine), box-oci as its runtime, the cgroupfs manager and a file for
/// events (no systemd here), a busybox rootfs and a container name.
struct Podman {
    dir: TempDir,
    rootfs: TempDir,
    runtime: PathBuf,
    name: String,
}

/// The options of every container run here: no network, and limits the
/// container may keep (this machine's default nofile limit, 1048576, is
/// beyond what it may raise to without CAP_SYS_RESOURCE).
const PODMAN_COMMON: [&str; 6] = [
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

impl Podman {
    /// The fixture of test `tag`, if it can run: root, busybox and podman
    /// present (else a loud skip).
    fn new(test: &str, tag: &str) -> Option<Podman> {
        if !need_root(test) || !have_busybox(test) || !have_podman(test) {
            return None;
        }
        let dir = TempDir::new(tag);
        let rootfs = busybox_rootfs(&format!("{tag}-rootfs"));
        // podman calls the runtime by its path: box dispatches on the name.
        let runtime = dir.path().join("box-oci");
        std::os::unix::fs::symlink(BOX, &runtime).unwrap();
        let name = format!("box-{tag}-{}", std::process::id());
        Some(Podman {
            dir,
            rootfs,
            runtime,
            name,
        })
    }

    fn rootfs_arg(&self) -> &str {
        self.rootfs.path().to_str().unwrap()
    }

    /// podman `args`.
    fn run(&self, args: &[&str]) -> Run {
        self.run_in(Path::new("."), args)
    }

    /// podman `args` run in directory `cwd`, which conmon inherits.
    fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let child = Command::new("podman")
            .args(self.options())
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn podman");
        wait_with_timeout(child, Duration::from_secs(60))
    }

    /// `podman run` with `head` (its options before the common ones), then
    /// the rootfs and `command`.
    fn run_container(&self, head: &[&str], command: &[&str]) -> Run {
        let mut args = vec!["run"];
        args.extend(head);
        args.extend(PODMAN_COMMON);
        args.extend(["--rootfs", self.rootfs_arg()]);
        args.extend(command);
        self.run(&args)
    }

    /// podman's global options.
    fn options(&self) -> Vec<String> {
        let d = self.dir.path().display();
        vec![
            format!("--root={d}/storage"),
            format!("--runroot={d}/run"),
            format!("--tmpdir={d}/tmp"),
            format!("--runtime={}", self.runtime.display()),
            "--cgroup-manager=cgroupfs".into(),
            "--events-backend=file".into(),
        ]
    }
}

/// A shell command `line` run by `script`, which gives it a terminal.
fn under_script(line: &str) -> Run {
    let child = Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    wait_with_timeout(child, Duration::from_secs(60))
}

/// podman drives box-oci unchanged: a command's exit status, podman's
/// default seccomp profile in force, a detached container exec'd into
/// (with a terminal too), stopped and removed, and nothing of box-oci's
/// left behind.
#[test]
#[ignore = "needs root"]
fn podman_runs_containers_with_box_oci() {
    let Some(podman) = Podman::new("podman_runs_containers_with_box_oci", "oci-podman") else {
        return;
    };
    let name = podman.name.as_str();

    let run = podman.run_container(
        &["--rm", "--name", name],
        &["sh", "-c", "grep Seccomp: /proc/self/status; exit 3"],
    );
    assert_eq!(run.code(), 3, "{run:?}");
    assert!(run.stdout.contains("Seccomp:\t2"), "{run:?}");

    // Another user: its id, its groups, no capabilities.
    let run = podman.run_container(
        &[
            "--rm",
            "--name",
            name,
            "--user",
            "1000",
            "--group-add",
            "44",
        ],
        &["sh", "-c", "id -u; id -G; grep CapEff: /proc/self/status"],
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("1000"), "{run:?}");
    assert!(
        lines.next().unwrap().split(' ').any(|g| g == "44"),
        "{run:?}"
    );
    assert_eq!(lines.next(), Some("CapEff:\t0000000000000000"), "{run:?}");

    let run = podman.run_container(&["-d", "--name", name], &["sleep", "100"]);
    assert_eq!(run.code(), 0, "{run:?}");
    let id = run.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{run:?}");
    let run = podman.run(&["ps", "--format", "{{.ID}} {{.Status}}"]);
    assert!(
        run.stdout.contains(&id[..12]) && run.stdout.contains("Up"),
        "{run:?}"
    );
    assert!(Path::new("/run/box-oci").join(&id).exists());
    // The group podman named (cgroupsPath, its cgroupfs manager's), in
    // each hierarchy box uses.
    let groups = group_dirs(&format!("/libpod_parent/libpod-{id}"));
    for dir in &groups {
        assert!(dir.is_dir(), "{} missing", dir.display());
    }
    // exec: the exit status comes back, under the container's profile.
    let run = podman.run(&["exec", name, "sh", "-c", "exit 3"]);
    assert_eq!(run.code(), 3, "{run:?}");
    let run = podman.run(&["exec", name, "grep", "Seccomp:", "/proc/self/status"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("Seccomp:\t2"), "{run:?}");
    // exec -t: the pty's master through the console socket.
    let options = podman.options().join(" ");
    let run = under_script(&format!(
        "podman {options} exec -t {name} sh -c 'tty; exit 3'"
    ));
    assert_eq!(run.code(), 3, "{run:?}");
    assert!(run.stdout.contains("/dev/pts/"), "{run:?}");
    // sleep, PID 1 of its namespace, ignores SIGTERM: podman ends it with
    // SIGKILL after the grace time.
    let run = podman.run(&["stop", "-t", "2", name]);
    assert_eq!(run.code(), 0, "{run:?}");
    let run = podman.run(&["rm", name]);
    assert_eq!(run.code(), 0, "{run:?}");

    assert!(!Path::new("/run/box-oci").join(&id).exists(), "state left");
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    for dir in &groups {
        assert!(!dir.exists(), "{} left", dir.display());
    }
    let left = mounts_mentioning(&[podman.rootfs.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
    assert_nothing_running(name, podman.rootfs.path());
}

/// podman's tmpcopyup over directories of the image that are not empty:
/// `--read-only` puts tmpfs on /tmp, /run and /var/tmp over an image
/// whose /run holds lock/ (as Debian's does), and `--tmpfs /data` (with
/// tmpcopyup, podman's default) goes over one holding a file. The
/// container sees the image's entries and writes into the tmpfs; the
/// image is unchanged and nothing is left.
#[test]
#[ignore = "needs root"]
fn podman_tmpcopyup_over_image_directories() {
    let test = "podman_tmpcopyup_over_image_directories";
    let Some(podman) = Podman::new(test, "oci-podman-copyup") else {
        return;
    };
    let rootfs = podman.rootfs.path();
    std::fs::create_dir_all(rootfs.join("run/lock")).unwrap();
    std::fs::create_dir_all(rootfs.join("data")).unwrap();
    std::fs::write(rootfs.join("data/f"), "image\n").unwrap();
    let name = podman.name.as_str();
    let run = podman.run_container(
        &["--rm", "--name", name, "--read-only", "--tmpfs", "/data"],
        &[
            "sh",
            "-c",
            "test -d /run/lock && echo lock; cat /data/f; \
             touch /run/lock/x /data/x && echo written",
        ],
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "lock\nimage\nwritten\n", "{run:?}");
    assert!(!rootfs.join("run/lock/x").exists());
    assert!(!rootfs.join("data/x").exists());
    assert_eq!(
        std::fs::read_to_string(rootfs.join("data/f")).unwrap(),
        "image\n"
    );
    let left = mounts_mentioning(&[rootfs]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
    assert_nothing_running(name, rootfs);
}

/// podman's limits and restrictions hold under box-oci as under runc:
/// - `--memory`: a command that goes beyond it is killed by the kernel's
///   OOM killer (status 137) and podman sees it (State.OOMKilled), through
///   the oom_control event conmon registers in the container's v1 memory
///   group (found from its init's /proc/PID/cgroup);
/// - `--pids-limit`: the group's pids.max, and a fork beyond it fails;
/// - `--read-only`: / refuses writes (EROFS), the tmpfs podman puts on
///   /tmp, /run and /var/tmp (tmpcopyup) take writes and the covered
///   directory's mode;
/// - `--cap-drop all`: no capability in any set;
///
/// and nothing is left: state, groups, mounts, processes.
#[test]
#[ignore = "needs root"]
fn podman_limits_and_restrictions_with_box_oci() {
    // The image lacks the mount points of podman's --read-only (/run,
    // /var/tmp, /etc/hosts, /etc/hostname): box makes them before it makes
    // the rootfs read-only, as runc does.
    let test = "podman_limits_and_restrictions_with_box_oci";
    let Some(podman) = Podman::new(test, "oci-podman-limits") else {
        return;
    };
    let name = podman.name.as_str();
    let rootfs = &podman.rootfs;
    let cidfile = podman.dir.path().join("cid");
    let cidfile_arg = cidfile.to_str().unwrap();
    let mut ids = Vec::new();
    // `podman run --rm` of `options` and `command`: its outcome, and the
    // container's id kept for the checks at the end.
    let mut run_rm = |options: &[&str], command: &str| {
        let _ = std::fs::remove_file(&cidfile);
        let mut head = vec!["--rm", "--name", name, "--cidfile", cidfile_arg];
        head.extend(options);
        let run = podman.run_container(&head, &["sh", "-c", command]);
        ids.push(std::fs::read_to_string(&cidfile).unwrap_or_default());
        run
    };

    // --read-only first: podman's later runs (not read-only) leave their
    // /run/.containerenv mount point in this rootfs's /run, which
    // tmpcopyup would copy.
    let run = run_rm(
        &["--read-only"],
        "touch /x; echo root=$?; touch /tmp/x /run/x /var/tmp/x && echo tmpfs=ok; \
         stat -c '%a %n' /run /var/tmp; grep -c ' /run tmpfs ' /proc/mounts",
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("root=1"), "{run:?}");
    assert!(run.stderr.contains("Read-only file system"), "{run:?}");
    assert!(run.stdout.contains("tmpfs=ok"), "{run:?}");
    assert!(
        run.stdout.contains("755 /run\n755 /var/tmp\n1\n"),
        "{run:?}"
    );
    assert!(!rootfs.path().join("x").exists());
    assert!(!rootfs.path().join("run/x").exists());

    let run = run_rm(&["--cap-drop", "all"], "grep Cap /proc/self/status");
    assert_eq!(run.code(), 0, "{run:?}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let line = format!("{set}:\t0000000000000000");
        assert!(run.stdout.contains(&line), "{set}: {run:?}");
    }

    // --pids-limit: the group says 5; the container's sleep, the exec'd
    // shell and three more: the sixth fork fails.
    let started = podman.run_container(
        &["-d", "--name", name, "--pids-limit", "5"],
        &["sleep", "100"],
    );
    assert_eq!(started.code(), 0, "{started:?}");
    let id = started.stdout.trim().to_string();
    ids.push(id.clone());
    let groups = group_dirs(&format!("/libpod_parent/libpod-{id}"));
    let pids = groups
        .iter()
        .find(|g| g.join("pids.max").exists())
        .expect("a pids group");
    assert_eq!(
        std::fs::read_to_string(pids.join("pids.max"))
            .unwrap()
            .trim(),
        "5"
    );
    let bomb = "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo forked";
    let run = podman.run(&["exec", name, "sh", "-c", bomb]);
    assert_ne!(run.code(), 0, "{run:?}");
    assert!(run.stderr.contains("can't fork"), "{run:?}");
    let current = std::fs::read_to_string(pids.join("pids.current")).unwrap();
    assert!(current.trim().parse::<u32>().unwrap() <= 5, "{current}");
    let run = podman.run(&["rm", "-f", "-t", "0", name]);
    assert_eq!(run.code(), 0, "{run:?}");
    for dir in &groups {
        assert!(!dir.exists(), "{} left", dir.display());
    }

    // --memory: podman 4.3 reads conmon's "oom" file in the container's
    // directory (StaticDir), and conmon writes it in its working
    // directory, podman's: start is run there.
    let mut args = vec!["create", "--name", name, "--memory", "32m"];
    args.extend(PODMAN_COMMON);
    args.extend(["--rootfs", podman.rootfs_arg(), "sh", "-c"]);
    args.push("x=$(head -c 64m /dev/zero | tr '\\0' a); echo survived");
    let created = podman.run(&args);
    assert_eq!(created.code(), 0, "{created:?}");
    ids.push(created.stdout.trim().to_string());
    let inspect = |format: &str| {
        let run = podman.run(&["inspect", "--format", format, name]);
        assert_eq!(run.code(), 0, "{run:?}");
        run.stdout.trim().to_string()
    };
    let static_dir = PathBuf::from(inspect("{{.StaticDir}}"));
    let run = podman.run_in(&static_dir, &["start", "--attach", name]);
    assert_eq!(run.code(), 137, "{run:?}");
    assert!(!run.stdout.contains("survived"), "{run:?}");
    assert_eq!(
        inspect("{{.State.OOMKilled}} {{.State.ExitCode}}"),
        "true 137"
    );
    let run = podman.run(&["rm", name]);
    assert_eq!(run.code(), 0, "{run:?}");

    for id in &ids {
        assert_eq!(id.len(), 64, "{ids:?}");
        assert!(!Path::new("/run/box-oci").join(id).exists(), "state left");
        assert_eq!(cgroup_dirs_with_prefix(id), Vec::<PathBuf>::new());
        assert_eq!(
            cgroup_dirs_with_prefix(&format!("libpod-{id}")),
            Vec::<PathBuf>::new()
        );
    }
    let left = mounts_mentioning(&[rootfs.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
    assert_nothing_running(name, rootfs.path());
}

/// No process of container `marker` (its command line, or its root under
/// `rootfs`) is left, within 10 s. The other tests made this process a
/// subreaper: the engines' daemons (conmon, the containerd shim), which
/// daemonize, become our children when their parents exit, and zombies
/// at their end. Those (and only those) are reaped here, as an engine's
/// own parent would.
fn assert_nothing_running(marker: &str, rootfs: &Path) {
    let me = std::process::id() as i32;
    let start = Instant::now();
    let left = loop {
        for p in all_processes() {
            let engine = p.comm == "conmon" || p.comm.starts_with("containerd-shim");
            if p.ppid == me && p.state == 'Z' && engine {
                // SAFETY: waitpid on one PID, no status wanted.
                unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
        }
        let left = leftover_processes(marker, Some(rootfs));
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

// --- exec ---

/// A runtime-spec process object: `args`, PATH, the default
/// capabilities, and `extra` members (each ending with a comma).
fn process_json(args: &[&str], extra: &str) -> String {
    let words: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!(
        r#"{{{extra}"args": [{}], "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/",
        "user": {{"uid": 0, "gid": 0}},
        "capabilities": {{"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}},
        "noNewPrivileges": true}}"#,
        words.join(", ")
    )
}

/// `PROGRAM oci exec --detach --pid-file` (PROGRAM a box) of `process`
/// (a file), its output in
/// `log`: the process keeps create's descriptors, so no pipes. The
/// process's PID.
fn exec_detached(program: &Path, root: &Path, id: &str, process: &Path, log: &Path) -> i32 {
    let pid_file = process.with_extension("pid");
    let out = File::create(log).unwrap();
    let status = Command::new(program)
        .args(["oci", "--root"])
        .arg(root)
        .args(["exec", "--detach", "--pid-file"])
        .arg(&pid_file)
        .arg("--process")
        .arg(process)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .expect("spawn box oci exec");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{text}");
    std::fs::read_to_string(&pid_file).unwrap().parse().unwrap()
}

/// A created and started container of `bundle`; its init's PID.
fn create_and_start(root: &Path, bundle: &Bundle, id: &str) -> i32 {
    let pid = create_ok(root, bundle, id);
    let run = oci(root, &["start", id]);
    assert_eq!(run.code(), 0, "{run:?}");
    pid
}

/// `create` of `bundle` as `id`, its output in the bundle's `log`,
/// accepted: the init's PID (from the pid file).
fn create_ok(root: &Path, bundle: &Bundle, id: &str) -> i32 {
    let (code, log) = create(root, bundle.path(), id, &bundle.path().join("log"));
    assert_eq!(code, 0, "{log}");
    std::fs::read_to_string(bundle.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap()
}

fn status_line(pid: i32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or("")
        .to_string()
}

/// A seccomp profile that refuses mkdir: exec must apply the container's.
const NO_MKDIR: &str = r#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}, "#;

/// exec as podman and containerd use it: the process joins the
/// container's namespaces, cgroups, root and seccomp profile; its status
/// comes back (128+N for a signal) or, detached, it is left to the caller
/// with its PID in the pid file; the command-line form takes --env,
/// --cwd and --user; a stopped or unknown container is refused with the
/// words engines match.
#[test]
#[ignore = "needs root"]
fn exec_joins_the_container() {
    let test = "exec_joins_the_container";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-exec-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let extra = format!(r#""resources": {{"pids": {{"limit": 32}}}}, {NO_MKDIR}"#);
    let bundle = Bundle::new("oci-exec", &["sleep", "100"], &extra);
    let host_only = bundle.path().join("host-only");
    std::fs::write(&host_only, "host").unwrap();
    std::fs::write(bundle.rootfs.path().join("etc/marker"), "inside\n").unwrap();
    let init = create_and_start(root.path(), &bundle, &id);

    let process = bundle.path().join("process.json");
    let script = format!(
        "grep Seccomp: /proc/self/status; mkdir /dev/shm/x || echo no-mkdir; cat /etc/marker; \
         test -e {} || echo no-host; cat /proc/1/cmdline; echo; exit 3",
        host_only.display()
    );
    std::fs::write(&process, process_json(&["sh", "-c", &script], "")).unwrap();
    let run = oci(
        root.path(),
        &["exec", "--process", process.to_str().unwrap(), &id],
    );
    assert_eq!(run.code(), 3, "{run:?}");
    for line in ["Seccomp:\t2", "no-mkdir", "inside", "no-host", "sleep"] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    assert!(run.stderr.contains("Operation not permitted"), "{run:?}");

    // Killed by a signal: 128+N. The command-line form.
    let run = oci(root.path(), &["exec", &id, "sh", "-c", "kill -9 $$"]);
    assert_eq!(run.code(), 128 + 9, "{run:?}");
    let run = oci(
        root.path(),
        &[
            "exec",
            "--env",
            "FOO=bar",
            "--cwd",
            "/etc",
            "--user",
            "1000:1000",
            &id,
            "sh",
            "-c",
            "echo $FOO; pwd; id -u; grep CapEff: /proc/self/status",
        ],
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(
        run.stdout, "bar\n/etc\n1000\nCapEff:\t0000000000000000\n",
        "{run:?}"
    );
    let run = oci(root.path(), &["exec", &id, "no-such-command"]);
    assert_eq!(run.code(), 127, "{run:?}");

    // Detached: left to us (the subreaper), in the init's namespaces and
    // cgroups, under the container's filter.
    let sleeper = bundle.path().join("sleeper.json");
    std::fs::write(&sleeper, process_json(&["sleep", "60"], "")).unwrap();
    let log = bundle.path().join("exec.log");
    let pid = exec_detached(Path::new(BOX), root.path(), &id, &sleeper, &log);
    assert_eq!(
        status_line(pid, "PPid:"),
        format!("PPid:\t{}", std::process::id())
    );
    assert_eq!(status_line(pid, "Seccomp:"), "Seccomp:\t2");
    for ns in ["pid", "mnt", "net", "ipc", "uts", "cgroup"] {
        let theirs = std::fs::read_link(format!("/proc/{init}/ns/{ns}")).unwrap();
        let its = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        assert_eq!(theirs, its, "{ns}");
    }
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap(),
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
    );
    let run = oci(root.path(), &["ps", "--format", "json", &id]);
    assert!(run.stdout.contains(&pid.to_string()), "{run:?}");
    // SAFETY: kill(2) on the PID of our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(reap(pid), 128 + 9);

    let run = oci(root.path(), &["kill", &id, "KILL"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(init), 128 + 9);
    let run = oci(root.path(), &["exec", &id, "true"]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(run.stderr.contains("container not running"), "{run:?}");
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    let run = oci(root.path(), &["exec", &id, "true"]);
    assert!(run.stderr.contains("does not exist"), "{run:?}");
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
}

/// What a container could try against exec, each refused:
/// - a descriptor of the caller's (here fd 7, not close-on-exec) never
///   reaches the process;
/// - a working directory through a symlink planted in the rootfs stays
///   inside it (`..` stops at its root), and one through a /proc magic
///   link (/proc/self/fd/N, /proc/self/cwd: the way runc's CVE-2024-21626
///   left the container) is refused;
/// - a command that executes /proc/self/exe runs box's sealed copy, never
///   the host's file.
#[test]
#[ignore = "needs root"]
fn exec_escapes_stay_inside() {
    let test = "exec_escapes_stay_inside";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let id = format!("box-oci-escape-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let bundle = Bundle::new("oci-escape", &["sleep", "100"], "");
    let rootfs = bundle.rootfs.path();
    std::fs::write(rootfs.join("marker"), "").unwrap();
    std::os::unix::fs::symlink("../../../../../../..", rootfs.join("tmp/up")).unwrap();
    std::os::unix::fs::symlink("/proc/self/fd/7", rootfs.join("tmp/fd")).unwrap();
    std::os::unix::fs::symlink("/proc/self/cwd", rootfs.join("tmp/cwd")).unwrap();
    // A dynamically linked box needs its libraries to run inside.
    add_box_libraries(rootfs);
    let init = create_and_start(root.path(), &bundle, &id);

    // The caller's fd 7, open across exec, on a host directory.
    let host_dir = File::open(bundle.path()).unwrap();
    let mut command = Command::new(BOX);
    command
        .args(["oci", "--root"])
        .arg(root.path())
        .args(["exec", &id, "ls", "/proc/self/fd"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let raw = std::os::fd::AsRawFd::as_raw_fd(&host_dir);
    // SAFETY: dup2 in the child before exec, on descriptors it owns.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let run = wait_with_timeout(command.spawn().unwrap(), Duration::from_secs(30));
    assert_eq!(run.code(), 0, "{run:?}");
    // ls's own directory descriptor is 3.
    let fds: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "{run:?}");

    let run = oci(
        root.path(),
        &[
            "exec",
            "--cwd",
            "/tmp/up",
            &id,
            "sh",
            "-c",
            "pwd; ls /marker",
        ],
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "/\n/marker\n", "{run:?}");
    for magic in ["/tmp/fd", "/tmp/cwd", "/proc/self/fd/7", "/proc/1/cwd"] {
        let run = oci(root.path(), &["exec", "--cwd", magic, &id, "pwd"]);
        assert_eq!(run.code(), 125, "{magic}: {run:?}");
        assert!(
            run.stderr.contains("enter the process's working directory"),
            "{magic}: {run:?}"
        );
    }

    // /proc/self/exe as the command: box's sealed copy, which says it
    // has no applet of that name.
    let run = oci(root.path(), &["exec", &id, "/proc/self/exe"]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(run.stderr.contains("unknown applet exe"), "{run:?}");

    let run = oci(root.path(), &["delete", "--force", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(init), 128 + 9);
}

const EXE_PROBE_C: &str = include_str!("hardening/exe_probe.c");

/// A bundle whose rootfs is writable and holds tests/hardening's probe
/// at /bin/exe_probe and a link /bin/box-init to /proc/self/exe.
fn probe_bundle(test: &str, args: &[&str]) -> Option<Bundle> {
    let bundle = Bundle::new(test, args, "");
    bundle.edit_config(&[(r#""readonly": true"#, r#""readonly": false"#)]);
    let bin = bundle.rootfs.path().join("bin");
    compile_static_c(test, EXE_PROBE_C, &bin.join("exe_probe"))?;
    add_box_libraries(bundle.rootfs.path());
    std::os::unix::fs::symlink("/proc/self/exe", bin.join("box-init")).unwrap();
    Some(bundle)
}

/// A started container of a [`probe_bundle`] running `sleep`, for
/// `test`: its bundle, --root, id and init.
fn probe_container(test: &str, tag: &str) -> Option<(Bundle, TempDir, String, i32)> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    become_subreaper();
    let bundle = probe_bundle(test, &["sleep", "100"])?;
    let id = format!("box-oci-{tag}-{}", std::process::id());
    let root = TempDir::new("oci-root");
    let init = create_and_start(root.path(), &bundle, &id);
    Some((bundle, root, id, init))
}

/// Kill the container, reap `ours` (processes exec left to us: the init
/// ends once every process of its PID namespace is reaped) and the init,
/// and delete it.
fn end_container(root: &Path, id: &str, init: i32, ours: &[i32]) {
    let run = oci(root, &["kill", id, "KILL"]);
    assert_eq!(run.code(), 0, "{run:?}");
    for &pid in ours {
        reap(pid);
    }
    assert_eq!(reap(init), 128 + 9);
    let run = oci(root, &["delete", id]);
    assert_eq!(run.code(), 0, "{run:?}");
}

/// A process of the container that spins on the next PIDs, seizes each
/// new process with ptrace, reads its /proc/PID/environ and opens its
/// /proc/PID/exe (tests/hardening's probe) reaches none of exec's
/// processes before they execute their command: each is born
/// non-dumpable and under the container's filter. The caller's
/// environment (a secret in box-oci's) is never read, box's executable
/// never opened.
#[test]
#[ignore = "needs root"]
fn exec_process_is_unreachable_before_its_command() {
    let test = "exec_process_is_unreachable_before_its_command";
    let Some((bundle, root, id, init)) = probe_container(test, "spin") else {
        return;
    };
    let (dev, ino) = dev_ino(Path::new(BOX));
    let secret = format!("BOX-OCI-SECRET-{}", std::process::id());
    let spin = bundle.path().join("spin.json");
    let probe =
        format!("/bin/exe_probe spin /tmp/spin.log /tmp/spin.stop 120 {dev} {ino} {secret}");
    let probe: Vec<&str> = probe.split(' ').collect();
    std::fs::write(&spin, process_json(&probe, "")).unwrap();
    let out = bundle.path().join("spin.out");
    let spinner = exec_detached(Path::new(BOX), root.path(), &id, &spin, &out);
    let log = bundle.rootfs.path().join("tmp/spin.log");
    wait_for_text(&log, "ready");
    let grep = bundle.path().join("grep.json");
    let command = ["grep", "Seccomp:", "/proc/self/status"];
    std::fs::write(&grep, process_json(&command, "")).unwrap();
    let grep = grep.to_str().unwrap();
    for _ in 0..20 {
        let run = oci_with(
            root.path(),
            &["exec", "--process", grep, &id],
            &[("BOX_TEST_SECRET", &secret)],
        );
        assert_eq!(run.code(), 0, "{run:?}");
        assert!(run.stdout.contains("Seccomp:\t2"), "{run:?}");
    }
    std::fs::write(bundle.rootfs.path().join("tmp/spin.stop"), "").unwrap();
    let text = log_when_done(&log, Duration::from_secs(10));
    let attached = text.lines().filter(|l| l.starts_with("ATTACH")).count();
    eprintln!("hardening: {test}: {attached} commands seized after their exec");
    for line in text.lines() {
        assert!(
            !line.starts_with("SKIPPED")
                && !line.starts_with("ENVIRON")
                && !line.contains("box=1")
                && !line.contains("seccomp=0"),
            "an exec process was reached before its command: {line}\n{text}"
        );
    }
    end_container(root.path(), &id, init, &[spinner]);
}

/// exec never hands the host's box file to the container (CVE-2019-5736,
/// runc's): its process executes the container's link to /proc/self/exe
/// as box-init, which stays; the probe opens its /proc/PID/exe and tries
/// to write into it, also once it has ended. What it reaches is box's
/// sealed copy; the host's file (here a copy of the build) is unchanged.
#[test]
#[ignore = "needs root"]
fn exec_never_hands_the_host_box_to_the_container() {
    let test = "exec_never_hands_the_host_box_to_the_container";
    let Some((bundle, root, id, init)) = probe_container(test, "grab") else {
        return;
    };
    let host_dir = TempDir::new("oci-host-box");
    let host_box = host_dir.path().join("box");
    std::fs::copy(BOX, &host_box).unwrap();
    let content = std::fs::read(&host_box).unwrap();
    let (dev, ino) = dev_ino(&host_box);

    let held = bundle.path().join("held.json");
    let box_init = ["/bin/box-init", "--subreaper", "--", "sleep", "1000"];
    std::fs::write(&held, process_json(&box_init, "")).unwrap();
    let out = bundle.path().join("held.out");
    let held_pid = exec_detached(&host_box, root.path(), &id, &held, &out);
    let grab = bundle.path().join("grab.json");
    let probe = ["/bin/exe_probe", "grab", "/tmp/grab.log", "5", &dev, &ino];
    std::fs::write(&grab, process_json(&probe, "")).unwrap();
    let run = oci(
        root.path(),
        &["exec", "--process", grab.to_str().unwrap(), &id],
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let log = bundle.rootfs.path().join("tmp/grab.log");
    wait_for_text(&log, "open_write");
    // End box-init: nothing executes its file any more.
    // SAFETY: kill(2) on the PID of our own child.
    unsafe { libc::kill(held_pid, libc::SIGKILL) };
    assert_eq!(reap(held_pid), 128 + 9);
    let text = log_when_done(&log, Duration::from_secs(15));
    let grabbed = text
        .lines()
        .find(|l| l.starts_with("grab "))
        .unwrap_or("(no grab line)");
    eprintln!("hardening: {test}: {grabbed}");
    assert!(!text.lines().any(|l| l == "write OK"), "{text}");
    assert!(
        grabbed.contains(" host=0 ") && grabbed.contains("/memfd:"),
        "{text}"
    );
    let now = std::fs::read(&host_box).unwrap();
    assert!(now == content, "the host's box changed");
    end_container(root.path(), &id, init, &[]);
}

/// `linux.namespaces[].path` joins a namespace instead of making one, as
/// a CRI pod's containers join their sandbox's: here a network namespace
/// of `ip netns add`. The init is in it, with the network sysctls of
/// config.json set there (not on the host); a path of the wrong type, a
/// mount namespace's path, and sysctls for a joined namespace that is the
/// host's are refused by key path in one line.
#[test]
#[ignore = "needs root"]
fn namespace_paths_are_joined() {
    let test = "namespace_paths_are_joined";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let netns = format!("box-oci-{}", std::process::id());
    let added = Command::new("ip").args(["netns", "add", &netns]).status();
    if !added.is_ok_and(|s| s.success()) {
        panic!("{test}: ip netns add {netns} failed (iproute2 needed)");
    }
    let netns_path = format!("/run/netns/{netns}");
    let ran = std::panic::catch_unwind(|| {
        let root = TempDir::new("oci-root");
        let with_namespaces = |tag: &str, replacement: &str| {
            let bundle = Bundle::new(tag, &["sleep", "100"], "");
            bundle.edit_config(&[(r#"{"type": "network"}"#, replacement)]);
            bundle
        };

        let id = format!("box-oci-netns-{}", std::process::id());
        let joined = format!(r#"{{"type": "network", "path": "{netns_path}"}}"#);
        let bundle = with_namespaces("oci-netns", &joined);
        // A network setting, written in the joined namespace (not the
        // host's): a CRI pod's sandbox's sysctls.
        bundle.edit_config(&[(
            r#""linux": {"#,
            r#""linux": {"sysctl": {"net.ipv4.ip_forward": "1"}, "#,
        )]);
        let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        let pid = create_ok(root.path(), &bundle, &id);
        assert!(
            oci(root.path(), &["state", &id])
                .stdout
                .contains(&format!("\"pid\":{pid}"))
        );
        let inside = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&netns_path).unwrap());
        assert_eq!(inside.to_str().unwrap(), format!("net:[{ino}]"));
        let forward = Command::new("ip")
            .args([
                "netns",
                "exec",
                &netns,
                "cat",
                "/proc/sys/net/ipv4/ip_forward",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&forward.stdout).trim(), "1");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
            host_forward
        );
        // The other namespaces listed are made: its own UTS namespace.
        let host_uts = std::fs::read_link("/proc/self/ns/uts").unwrap();
        assert_ne!(
            std::fs::read_link(format!("/proc/{pid}/ns/uts")).unwrap(),
            host_uts
        );
        let run = oci(root.path(), &["delete", "--force", &id]);
        assert_eq!(run.code(), 0, "{run:?}");
        assert_eq!(reap(pid), 128 + 9);
        assert!(!root.path().join(&id).exists());

        for (tag, gone, replacement, expected) in [
            (
                "oci-netns-type",
                r#", {"type": "uts"}"#,
                format!(r#"{{"type": "network"}}, {{"type": "uts", "path": "{netns_path}"}}"#),
                "not a UTS namespace (NS_GET_NSTYPE says net)",
            ),
            (
                "oci-netns-mount",
                r#", {"type": "mount"}"#,
                r#"{"type": "network"}, {"type": "mount", "path": "/proc/1/ns/mnt"}"#.to_string(),
                "linux.namespaces[2].path: a mount namespace cannot be joined",
            ),
        ] {
            // The spec's own entry of that type gives way to the path.
            let bundle = Bundle::new(tag, &["true"], "");
            bundle.edit_config(&[(gone, ""), (r#"{"type": "network"}"#, &replacement)]);
            let id = format!("box-{tag}-{}", std::process::id());
            assert_create_refused(root.path(), bundle.path(), &id, expected, tag);
        }
        // A network setting in a joined namespace that is the host's
        // (box-oci's own) would be the whole host's: refused.
        let bundle = with_namespaces(
            "oci-netns-host",
            r#"{"type": "network", "path": "/proc/self/ns/net"}"#,
        );
        bundle.edit_config(&[(
            r#""linux": {"#,
            r#""linux": {"sysctl": {"net.ipv4.ip_forward": "1"}, "#,
        )]);
        let id = format!("box-oci-netns-host-{}", std::process::id());
        assert_create_refused(
            root.path(),
            bundle.path(),
            &id,
            "linux.sysctl.net.ipv4.ip_forward: the network namespace joined at /proc/self/ns/net is the host's",
            "host",
        );
    });
    let _ = Command::new("ip")
        .args(["netns", "delete", &netns])
        .status();
    if let Err(panic) = ran {
        std::panic::resume_unwind(panic);
    }
}

// --- containerd ---

/// A private containerd: its own config (the CRI plugin off), socket,
/// root and state under a temporary directory; stopped when dropped.
struct Containerd {
    dir: TempDir,
    daemon: Option<std::process::Child>,
}

impl Containerd {
    /// Start one, or fail the test loudly when containerd is not
    /// installed (.ci/run installs it).
    fn start(test: &str) -> Containerd {
        for program in ["containerd", "ctr", "containerd-shim-runc-v2"] {
            let found = std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
            });
            assert!(
                found,
                "{test}: needs {program} (apt-get install containerd; .ci/run installs it)"
            );
        }
        let dir = TempDir::new("oci-containerd");
        let d = dir.path().display();
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = File::create(dir.path().join("daemon.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let daemon = Containerd {
            dir,
            daemon: Some(daemon),
        };
        let start = Instant::now();
        while daemon.ctr(&["version"]).code() != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "containerd did not start: {}",
                std::fs::read_to_string(daemon.dir.path().join("daemon.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// `ctr --address SOCKET ARGS…`.
    fn ctr(&self, args: &[&str]) -> Run {
        let child = Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ctr");
        wait_with_timeout(child, Duration::from_secs(60))
    }

    /// `ctr run` with box-oci as the shim's runc, its root (--root of
    /// box-oci) and the I/O fifos under the daemon's directory, the
    /// rootfs not managed by containerd.
    fn run_args<'a>(&'a self, runtime: &'a str, rootfs: &'a str) -> Vec<String> {
        let d = self.dir.path().display();
        [
            "--runtime",
            "io.containerd.runc.v2",
            "--runc-binary",
            runtime,
            "--runc-root",
            &format!("{d}/runc"),
            "--fifo-dir",
            &format!("{d}/fifo"),
            "--rootfs",
            rootfs,
        ]
        .map(String::from)
        .to_vec()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            // SAFETY: kill(2) on the PID of our own child.
            unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
            let _ = daemon.wait();
        }
    }
}

/// containerd's shim drives box-oci unchanged (`ctr run --runc-binary`):
/// a command's exit status; a terminal (`-t`, under `script`); a
/// detached task (a memory limit, so it has cgroups, and containerd's
/// seccomp profile) exec'd into, listed, paused and resumed, paused
/// again and killed with `kill -a`, and deleted; and nothing left behind: mounts, cgroups, box-oci's
/// state, processes.
#[test]
#[ignore = "needs root"]
fn containerd_runs_containers_with_box_oci() {
    let test = "containerd_runs_containers_with_box_oci";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    // The shims' sockets: containerd 1.6 puts them there, whatever its
    // config says.
    let shim_sockets = || -> Vec<PathBuf> {
        std::fs::read_dir("/run/containerd/s")
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let sockets_before = shim_sockets();
    let daemon = Containerd::start(test);
    let rootfs = busybox_rootfs("oci-containerd-rootfs");
    // The shim calls the runtime by its path: box dispatches on the name.
    let runtime = daemon.dir.path().join("box-oci");
    std::os::unix::fs::symlink(BOX, &runtime).unwrap();
    let runtime_arg = runtime.to_str().unwrap();
    let run_args = daemon.run_args(runtime_arg, rootfs.path().to_str().unwrap());
    let run = |extra: &[&str], id: &str, command: &[&str]| {
        let mut args: Vec<&str> = vec!["run"];
        args.extend(extra);
        args.extend(run_args.iter().map(String::as_str));
        args.push(id);
        args.extend(command);
        daemon.ctr(&args)
    };
    let id = format!("box-oci-ctr-{}", std::process::id());

    let done = run(
        &["--rm"],
        &id,
        &["sh", "-c", "grep Seccomp: /proc/self/status; exit 4"],
    );
    assert_eq!(done.code(), 4, "{done:?}");
    assert!(done.stdout.contains("Seccomp:\t2"), "{done:?}");

    // -t: a pty from box-oci's console socket, ctr's terminal under script.
    let mut line = format!("ctr --address {} run --rm -t", daemon.socket().display());
    for arg in &run_args {
        line.push(' ');
        line.push_str(arg);
    }
    line.push_str(&format!(" {id} sh -c 'tty; exit 5'"));
    let tty = under_script(&line);
    assert_eq!(tty.code(), 5, "{tty:?}");
    assert!(tty.stdout.contains("/dev/pts/"), "{tty:?}");

    let started = run(
        &["-d", "--memory-limit", "67108864", "--seccomp"],
        &id,
        &["sleep", "100"],
    );
    assert_eq!(started.code(), 0, "{started:?}");
    // The group ctr named (cgroupsPath /NAMESPACE/ID), in each hierarchy
    // box uses, with the limit.
    let groups = group_dirs(&format!("/default/{id}"));
    for dir in &groups {
        assert!(dir.is_dir(), "{} missing", dir.display());
    }
    let limit = if v1_groups() {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    let limited = groups.iter().find(|d| d.join(limit).exists()).unwrap();
    assert_eq!(
        std::fs::read_to_string(limited.join(limit)).unwrap().trim(),
        "67108864"
    );
    // Its I/O fifos in the daemon's directory too (ctr's default is
    // /run/containerd/fifo).
    let fifos = daemon.dir.path().join("fifo");
    let fifos = fifos.to_str().unwrap();
    let exec = daemon.ctr(&[
        "task",
        "exec",
        "--fifo-dir",
        fifos,
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status; exit 6",
    ]);
    assert_eq!(exec.code(), 6, "{exec:?}");
    assert!(exec.stdout.contains("Seccomp:\t2"), "{exec:?}");
    let exec = daemon.ctr(&[
        "task",
        "exec",
        "-d",
        "--fifo-dir",
        fifos,
        "--exec-id",
        "e2",
        &id,
        "sleep",
        "100",
    ]);
    assert_eq!(exec.code(), 0, "{exec:?}");
    let ps = daemon.ctr(&["task", "ps", &id]);
    assert_eq!(ps.code(), 0, "{ps:?}");
    // The init and the exec'd sleep, both in the container's groups.
    assert_eq!(ps.stdout.lines().count(), 3, "{ps:?}");

    let pause = daemon.ctr(&["task", "pause", &id]);
    assert_eq!(pause.code(), 0, "{pause:?}");
    let ls = daemon.ctr(&["task", "ls"]);
    assert!(ls.stdout.contains("PAUSED"), "{ls:?}");
    let resume = daemon.ctr(&["task", "resume", &id]);
    assert_eq!(resume.code(), 0, "{resume:?}");
    let ls = daemon.ctr(&["task", "ls"]);
    assert!(ls.stdout.contains("RUNNING"), "{ls:?}");
    // Paused again: kill -a SIGKILL still ends it (a frozen v1 task dies
    // only once thawed).
    let pause = daemon.ctr(&["task", "pause", &id]);
    assert_eq!(pause.code(), 0, "{pause:?}");

    let kill = daemon.ctr(&["task", "kill", "-a", "-s", "SIGKILL", &id]);
    assert_eq!(kill.code(), 0, "{kill:?}");
    let start = Instant::now();
    while !daemon.ctr(&["task", "ls"]).stdout.contains("STOPPED") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the task never stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let delete = daemon.ctr(&["task", "delete", &id]);
    assert_eq!(delete.code(), 0, "{delete:?}");
    let rm = daemon.ctr(&["container", "rm", &id]);
    assert_eq!(rm.code(), 0, "{rm:?}");

    // Nothing left: box-oci's state, cgroups, mounts, the shims.
    let states: Vec<_> = std::fs::read_dir(daemon.dir.path().join("runc/default"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(states.is_empty(), "state left: {states:?}");
    assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
    for dir in &groups {
        assert!(!dir.exists(), "{} left", dir.display());
    }
    let left = mounts_mentioning(&[rootfs.path(), daemon.dir.path()]);
    assert!(left.is_empty(), "mounts left: {left:#?}");
    assert_nothing_running(&id, rootfs.path());
    let mut new_sockets = shim_sockets();
    new_sockets.retain(|s| !sockets_before.contains(s));
    assert!(new_sockets.is_empty(), "shim sockets left: {new_sockets:?}");
}

// --- hooks ---

/// A hook (the host's sh) that writes its standard input to `file`.
fn saving_hook(file: &Path, extra: &str) -> String {
    format!(
        r#"{{"path": "/bin/sh", "args": ["sh", "-c", "cat > {}{extra}"]}}"#,
        file.display()
    )
}

/// config.json's hooks of the runtime's namespaces run with the state on
/// their standard input: prestart and createRuntime in create (status
/// created), poststart after start (running), poststop in delete
/// (stopped). A failing or timed-out create hook fails create, which
/// leaves nothing; hooks inside the container are refused by name.
#[test]
#[ignore = "needs root"]
fn hooks_run_with_the_state() {
    let test = "hooks_run_with_the_state";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    become_subreaper();
    let root = TempDir::new("oci-root");
    let out = TempDir::new("oci-hooks-out");
    let o = out.path();
    let hooks = format!(
        r#""hooks": {{"prestart": [{}], "createRuntime": [{}], "poststart": [{}], "poststop": [{}]}}, "#,
        saving_hook(&o.join("prestart"), ""),
        saving_hook(&o.join("createRuntime"), ""),
        saving_hook(&o.join("poststart"), ""),
        saving_hook(&o.join("poststop"), ""),
    );
    let with_hooks = |tag: &str, hooks: &str| {
        let bundle = Bundle::new(tag, &["sleep", "100"], "");
        bundle.edit_config(&[("{", &format!("{{{hooks}"))]);
        bundle
    };
    let id = format!("box-oci-hooks-{}", std::process::id());
    let bundle = with_hooks("oci-hooks", &hooks);
    let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
    assert_eq!(code, 0, "{log}");
    let pid = std::fs::read_to_string(bundle.path().join("pid")).unwrap();
    for stage in ["prestart", "createRuntime"] {
        let state = std::fs::read_to_string(o.join(stage)).unwrap();
        assert!(state.contains(r#""status":"created""#), "{stage}: {state}");
        assert!(
            state.contains(&format!(r#""pid":{pid},"#)),
            "{stage}: {state}"
        );
        assert!(
            state.contains(&format!(r#""id":"{id}""#)),
            "{stage}: {state}"
        );
    }
    assert!(!o.join("poststart").exists());
    let run = oci(root.path(), &["start", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    let state = std::fs::read_to_string(o.join("poststart")).unwrap();
    assert!(state.contains(r#""status":"running""#), "{state}");
    let run = oci(root.path(), &["kill", &id, "KILL"]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(reap(pid.parse().unwrap()), 128 + 9);
    let run = oci(root.path(), &["delete", &id]);
    assert_eq!(run.code(), 0, "{run:?}");
    let state = std::fs::read_to_string(o.join("poststop")).unwrap();
    assert!(state.contains(r#""status":"stopped""#), "{state}");
    assert!(!root.path().join(&id).exists());

    // A create hook that fails, or outlives its timeout: create fails,
    // naming it, and leaves nothing.
    let failing = [
        (
            "fail",
            format!(r#""hooks": {{"createRuntime": [{}]}}, "#, saving_hook(&o.join("x"), "; exit 3")),
            "hooks.createRuntime[0]: /bin/sh: exited with status 3",
        ),
        (
            "slow",
            r#""hooks": {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}, "#
                .to_string(),
            "hooks.prestart[0]: /bin/sleep: timed out after 1 s",
        ),
        (
            "inside",
            r#""hooks": {"startContainer": [{"path": "/bin/true"}]}, "#.to_string(),
            "hooks.startContainer: not supported",
        ),
    ];
    for (tag, hooks, said) in failing {
        let bundle = with_hooks(&format!("oci-hooks-{tag}"), &hooks);
        let id = format!("box-oci-hooks-{tag}-{}", std::process::id());
        let (code, log) = create(root.path(), bundle.path(), &id, &bundle.path().join("log"));
        assert_eq!(code, 125, "{tag}: {log}");
        assert!(log.contains(said), "{tag}: {log}");
        assert!(!root.path().join(&id).exists(), "{tag}: state left");
        assert!(!bundle.path().join("pid").exists(), "{tag}: pid file");
        assert_eq!(cgroup_dirs_with_prefix(&id), Vec::<PathBuf>::new());
        let mut left = leftover_processes(&id, Some(bundle.rootfs.path()));
        left.retain(|p| p.state != 'Z');
        assert!(left.is_empty(), "{tag}: processes left: {left:?}");
    }
}
