//! The namespace toolkit on the host, as root: `box mounts` against
//! /proc/self/mountinfo and findmnt, the shared-subtree experiment across
//! two mount namespaces, `box mount --make-*`, `box ns`, `pivot_root`, and
//! what each says about bad input.
//!
//! Every mount is a tmpfs under a scratch directory of the test's own, and
//! is gone when the test ends: each test checks /proc/self/mountinfo shows
//! nothing under its directory before and after.

mod common;

use common::*;
use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Tests that mount or change propagation run one at a time: peer group
/// numbers and whole-table comparisons must not see another test's mounts
/// come and go.
static MOUNTING: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    MOUNTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a program is on PATH (util-linux's findmnt, unshare, mount).
fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn have_util_linux(test: &str, programs: &[&str]) -> bool {
    for program in programs {
        if !have(program) {
            skip(
                test,
                &format!("needs util-linux's {program} (apt-get install util-linux mount)"),
            );
            return false;
        }
    }
    true
}

/// One line of /proc/self/mountinfo, as the test reads it (independently
/// of box's parser): the mount point decoded, the optional fields as
/// written.
#[derive(Debug, Clone)]
struct Line {
    target: String,
    optional: Vec<String>,
}

fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn mountinfo(path: &str) -> Vec<Line> {
    let text = std::fs::read_to_string(path).expect("read mountinfo");
    text.lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let dash = fields.iter().position(|f| *f == "-").expect("separator");
            Line {
                target: unescape(fields[4]),
                optional: fields[6..dash].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// The propagation column box should show for `line`.
fn expected_column(line: &Line) -> String {
    if line.optional.is_empty() {
        "private".into()
    } else {
        line.optional.join(",")
    }
}

/// findmnt's PROPAGATION words for box's column (`shared:2,master:1` is
/// `shared,slave`).
fn findmnt_words(column: &str) -> String {
    let words: Vec<&str> = column.split(',').collect();
    let mut out = String::from(if words.iter().any(|w| w.starts_with("shared:")) {
        "shared"
    } else {
        "private"
    });
    if words.iter().any(|w| w.starts_with("master:")) {
        out.push_str(",slave");
    }
    if words.contains(&"unbindable") {
        out.push_str(",unbindable");
    }
    out
}

/// `box mounts [PID]` as (target, propagation) rows. The targets the tests
/// care about have no spaces: the first word is the target, the last the
/// propagation.
fn box_mounts(pid: Option<u32>) -> Vec<(String, String)> {
    let mut args = vec!["mounts".to_string()];
    args.extend(pid.map(|p| p.to_string()));
    let run = run_box(&args);
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with("TARGET") && header.ends_with("PROPAGATION"),
        "{run:?}"
    );
    lines
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[0].to_string(), words.last().unwrap().to_string())
        })
        .collect()
}

/// The propagation box shows for `target` (which must appear once).
fn column_of(rows: &[(String, String)], target: &Path) -> String {
    let target = target.to_str().unwrap();
    let found: Vec<_> = rows.iter().filter(|(t, _)| t == target).collect();
    assert_eq!(found.len(), 1, "{target} in {rows:#?}");
    found[0].1.clone()
}

/// A scratch directory for mounts. Dropping it detaches whatever is still
/// mounted below it (a failed test's leftovers), then removes it.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let scratch = Scratch {
            dir: TempDir::new(tag),
        };
        assert!(scratch.mounts_left().is_empty(), "mounts before the test");
        scratch
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Mount points under the directory in the test's own namespace.
    fn mounts_left(&self) -> Vec<String> {
        let root = self.dir.path().to_str().unwrap().to_string();
        let below = format!("{root}/");
        mountinfo("/proc/self/mountinfo")
            .into_iter()
            .filter(|l| l.target == root || l.target.starts_with(&below))
            .map(|l| l.target)
            .collect()
    }

    /// A tmpfs at `sub` (created), with `propagation` flags applied after.
    fn tmpfs(&self, sub: &str, propagation: libc::c_ulong) -> PathBuf {
        let path = self.path(sub);
        std::fs::create_dir_all(&path).unwrap();
        let target = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: all pointers are to NUL-terminated strings that outlive
        // the call.
        let ret = unsafe {
            libc::mount(
                c"box-test".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                c"size=64k".as_ptr().cast(),
            )
        };
        assert_eq!(
            ret,
            0,
            "mount tmpfs on {path:?}: {}",
            std::io::Error::last_os_error()
        );
        if propagation != 0 {
            change(&path, propagation);
        }
        path
    }

    /// A bind mount of `source` at `sub`.
    fn bind(&self, source: &Path, sub: &str) -> PathBuf {
        let path = self.path(sub);
        std::fs::create_dir_all(&path).unwrap();
        let from = CString::new(source.to_str().unwrap()).unwrap();
        let to = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: as in `tmpfs`.
        let ret = unsafe {
            libc::mount(
                from.as_ptr(),
                to.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        assert_eq!(
            ret,
            0,
            "bind {source:?} to {path:?}: {}",
            std::io::Error::last_os_error()
        );
        path
    }

    /// Detach every mount below the directory, deepest (latest) first,
    /// until none is left.
    fn unmount_all(&self) {
        for _ in 0..8 {
            let left = self.mounts_left();
            if left.is_empty() {
                return;
            }
            for target in left.iter().rev() {
                let target = CString::new(target.as_str()).unwrap();
                // SAFETY: a NUL-terminated path that outlives the call.
                unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }

    /// Unmount everything and check nothing is left behind.
    fn finish(self) {
        self.unmount_all();
        assert_eq!(
            self.mounts_left(),
            Vec::<String>::new(),
            "mounts left behind"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.unmount_all();
    }
}

/// mount(2) propagation change, done by the test itself.
fn change(path: &Path, flags: libc::c_ulong) {
    let target = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: as in `Scratch::tmpfs`.
    let ret = unsafe {
        libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    assert_eq!(
        ret,
        0,
        "propagation of {path:?}: {}",
        std::io::Error::last_os_error()
    );
}

/// The peer group number in `shared:N` (or `master:N` with `tag`).
fn group(column: &str, tag: &str) -> u32 {
    column
        .split(',')
        .find_map(|w| w.strip_prefix(tag))
        .unwrap_or_else(|| panic!("no {tag} in {column}"))
        .parse()
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn mounts_matches_mountinfo_and_findmnt() {
    let test = "mounts_matches_mountinfo_and_findmnt";
    if !need_root(test) {
        return;
    }
    let _one = one_at_a_time();
    let scratch = Scratch::new("mounts");
    // One mount of each kind of propagation.
    let shared = scratch.tmpfs("shared", libc::MS_SHARED);
    let private = scratch.tmpfs("private", libc::MS_PRIVATE);
    let unbindable = scratch.tmpfs("unbindable", libc::MS_UNBINDABLE);
    let slave = scratch.bind(&shared, "slave");
    change(&slave, libc::MS_SLAVE);
    let shared_slave = scratch.bind(&shared, "shared-slave");
    change(&shared_slave, libc::MS_SLAVE);
    change(&shared_slave, libc::MS_SHARED);

    let rows = box_mounts(None);
    let n = group(&column_of(&rows, &shared), "shared:");
    assert_eq!(column_of(&rows, &private), "private");
    assert_eq!(column_of(&rows, &unbindable), "unbindable");
    assert_eq!(column_of(&rows, &slave), format!("master:{n}"));
    let both = column_of(&rows, &shared_slave);
    assert_eq!(
        both,
        format!("shared:{},master:{n}", group(&both, "shared:"))
    );
    assert_ne!(group(&both, "shared:"), n);

    // Every mount whose target is unique, against the test's own reading
    // of mountinfo (other mounts may come and go on a busy machine).
    let lines = mountinfo("/proc/self/mountinfo");
    let unique = |target: &str| lines.iter().filter(|l| l.target == target).count() == 1;
    let mut compared = 0;
    for line in lines
        .iter()
        .filter(|l| !l.target.contains(' ') && unique(&l.target))
    {
        let shown: Vec<_> = rows.iter().filter(|(t, _)| *t == line.target).collect();
        if shown.len() == 1 {
            assert_eq!(shown[0].1, expected_column(line), "{line:?}");
            compared += 1;
        }
    }
    assert!(compared >= 5, "compared only {compared} mounts");

    if have_util_linux(test, &["findmnt"]) {
        let out = Command::new("findmnt")
            .args(["-r", "-n", "-o", "TARGET,PROPAGATION"])
            .output()
            .expect("findmnt");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let findmnt: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(t, p)| (t.replace("\\x20", " "), p.to_string()))
            .collect();
        let mut compared = 0;
        for (target, column) in &rows {
            let theirs: Vec<_> = findmnt.iter().filter(|(t, _)| t == target).collect();
            let ours = rows.iter().filter(|(t, _)| t == target).count();
            if theirs.len() == 1 && ours == 1 {
                assert_eq!(findmnt_words(column), theirs[0].1, "{target}");
                compared += 1;
            }
        }
        assert!(
            compared >= 5,
            "compared only {compared} mounts with findmnt"
        );
    }
    scratch.finish();
}

#[test]
#[ignore = "needs root"]
fn a_shared_peer_group_crosses_mount_namespaces() {
    let test = "a_shared_peer_group_crosses_mount_namespaces";
    if !need_root(test) || !have_util_linux(test, &["unshare", "mount"]) {
        return;
    }
    let _one = one_at_a_time();
    let scratch = Scratch::new("seed");
    let shared = scratch.tmpfs("shared", libc::MS_SHARED);
    let private = scratch.tmpfs("private", libc::MS_PRIVATE);
    let seen = shared.join("seen");
    let unseen = private.join("unseen");
    std::fs::create_dir(&seen).unwrap();
    std::fs::create_dir(&unseen).unwrap();

    // A new mount namespace whose copies keep their propagation: the copy
    // of `shared` joins its peer group, the copy of `private` stays private.
    // Inside, a tmpfs on each; then it waits for a line on stdin.
    let script = format!(
        "mount -t tmpfs inside {seen} && mount -t tmpfs inside {unseen} && echo ready && read line",
        seen = seen.display(),
        unseen = unseen.display()
    );
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "unchanged", "sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    if ready.trim() != "ready" {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "the namespace did not get ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // unshare execs sh: the child's PID is the shell's, in the new namespace.
    let inside_pid = child.id();

    let host = box_mounts(None);
    let inside = box_mounts(Some(inside_pid));
    let in_host = |p: &Path| host.iter().any(|(t, _)| t == p.to_str().unwrap());
    let release = |mut child: std::process::Child| {
        let _ = child.stdin.take().unwrap().write_all(b"\n");
        let _ = child.wait();
    };
    // Collect the facts first, release the namespace, then assert.
    let facts = (
        in_host(&seen),
        in_host(&unseen),
        column_of(&host, &shared),
        column_of(&inside, &shared),
        column_of(&inside, &seen),
        column_of(&inside, &unseen),
        column_of(&inside, &private),
    );
    let host_seen = facts.0.then(|| column_of(&host, &seen));
    release(child);
    let (
        seen_in_host,
        unseen_in_host,
        host_shared,
        inside_shared,
        inside_seen,
        inside_unseen,
        inside_private,
    ) = facts;

    assert!(
        seen_in_host,
        "the mount under the shared peer group did not propagate"
    );
    assert!(
        !unseen_in_host,
        "the mount under the private mount propagated"
    );
    // The same peer group on both sides, and the propagated mount forms a
    // peer group of its own, again the same on both sides.
    assert!(host_shared.starts_with("shared:"), "{host_shared}");
    assert_eq!(host_shared, inside_shared);
    assert!(inside_seen.starts_with("shared:"), "{inside_seen}");
    assert_eq!(host_seen.as_deref(), Some(inside_seen.as_str()));
    assert_eq!(inside_private, "private");
    assert_eq!(inside_unseen, "private");
    scratch.finish();
}

#[test]
#[ignore = "needs root"]
fn make_private_and_shared_change_what_mounts_shows() {
    let test = "make_private_and_shared_change_what_mounts_shows";
    if !need_root(test) {
        return;
    }
    let _one = one_at_a_time();
    let scratch = Scratch::new("make");
    let top = scratch.tmpfs("top", 0);
    let sub = scratch.tmpfs("top/sub", 0);
    let make = |args: &[&str]| {
        let mut all = vec!["mount"];
        all.extend_from_slice(args);
        let run = run_box(&all);
        assert_eq!(run.code(), 0, "box {all:?}: {run:?}");
        assert!(run.stderr.is_empty(), "{run:?}");
    };
    let top_str = top.to_str().unwrap();
    let show = |p: &Path| column_of(&box_mounts(None), p);

    make(&["--make-private", "-R", top_str]);
    assert_eq!(
        (show(&top), show(&sub)),
        ("private".into(), "private".into())
    );

    make(&["--make-shared", top_str]);
    assert!(show(&top).starts_with("shared:"), "{}", show(&top));
    assert_eq!(show(&sub), "private", "not recursive without -R");

    make(&["--make-private", top_str]);
    assert_eq!(show(&top), "private");

    make(&["--make-rshared", top_str]);
    assert!(show(&top).starts_with("shared:") && show(&sub).starts_with("shared:"));
    assert_ne!(show(&top), show(&sub), "two peer groups");

    make(&["-R", "--make-private", top_str]);
    assert_eq!(
        (show(&top), show(&sub)),
        ("private".into(), "private".into())
    );

    make(&["--make-unbindable", top_str]);
    assert_eq!(show(&top), "unbindable");
    make(&["--make-private", top_str]);

    // Several changes apply in order: a slave that is also shared.
    make(&["--make-shared", top_str]);
    let peer = scratch.bind(&top, "peer");
    let master = group(&show(&top), "shared:");
    assert_eq!(show(&peer), format!("shared:{master}"));
    make(&["--make-slave", "--make-shared", peer.to_str().unwrap()]);
    let both = show(&peer);
    assert_eq!(
        both,
        format!("shared:{},master:{master}", group(&both, "shared:"))
    );

    scratch.finish();
}

/// The inode of /proc/PID/ns/NAME as the test reads it.
fn ns_inode(pid: u32, name: &str) -> String {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{name}")).unwrap();
    let link = link.to_str().unwrap().to_string();
    link.split_once(":[")
        .unwrap()
        .1
        .trim_end_matches(']')
        .to_string()
}

/// `box ns [PID]` as (type, inode, host) rows.
fn box_ns(pid: Option<u32>) -> Vec<(String, String, String)> {
    let mut args = vec!["ns".to_string()];
    args.extend(pid.map(|p| p.to_string()));
    let run = run_box(&args);
    assert_eq!(run.code(), 0, "{run:?}");
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines
            .next()
            .map(|h| h.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["TYPE", "INODE", "HOST"]),
        "{run:?}"
    );
    lines
        .map(|l| {
            // TYPE and INODE are single words; HOST may be several.
            let (kind, rest) = l.split_once(' ').unwrap();
            let (inode, host) = rest.trim_start().split_once(' ').unwrap();
            (kind.to_string(), inode.to_string(), host.trim().to_string())
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn ns_shows_what_a_process_is_isolated_from() {
    let test = "ns_shows_what_a_process_is_isolated_from";
    if !need_root(test) || !have_util_linux(test, &["unshare"]) {
        return;
    }
    let me = std::process::id();
    let mine = box_ns(Some(me));
    let types: Vec<&str> = mine.iter().map(|(t, ..)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "cgroup",
            "ipc",
            "mnt",
            "net",
            "pid",
            "pid_for_children",
            "time",
            "time_for_children",
            "user",
            "uts"
        ]
    );
    for (kind, inode, _) in &mine {
        if Path::new(&format!("/proc/{me}/ns/{kind}")).exists() {
            assert_eq!(*inode, ns_inode(me, kind), "{kind}");
        }
    }
    // Without an argument: box's own, the same as the test's.
    let own = box_ns(None);
    assert_eq!(
        own.iter().map(|(t, i, _)| (t, i)).collect::<Vec<_>>(),
        mine.iter().map(|(t, i, _)| (t, i)).collect::<Vec<_>>()
    );

    let mut sleeper = Command::new("unshare")
        .args(["-u", "sleep", "30"])
        .spawn()
        .expect("unshare -u sleep");
    let pid = sleeper.id();
    // Until unshare has called unshare(2) and exec'd, the process is still
    // in the test's UTS namespace.
    let start = Instant::now();
    while ns_inode(pid, "uts") == ns_inode(me, "uts")
        || !std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "unshare -u never took effect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let theirs = box_ns(Some(pid));
    let _ = sleeper.kill();
    let _ = sleeper.wait();

    let row = |rows: &[(String, String, String)], kind: &str| {
        rows.iter().find(|(t, ..)| t == kind).unwrap().clone()
    };
    let (_, my_uts, my_host) = row(&mine, "uts");
    if my_host == "unknown" {
        skip(
            test,
            "the host's namespaces (PID 1, kthreadd) are unreadable here",
        );
        return;
    }
    assert_eq!(my_host, "shared", "{mine:?}");
    let (_, their_uts, their_host) = row(&theirs, "uts");
    assert_ne!(their_uts, my_uts);
    assert_eq!(their_host, "isolated", "{theirs:?}");
    for kind in ["mnt", "net", "ipc", "pid", "user"] {
        assert_eq!(row(&theirs, kind), row(&mine, kind), "{kind}");
    }
}

#[test]
#[ignore = "needs root"]
fn bad_input_is_one_clear_line() {
    // `box ns NAME` reads /run/box, which only root may.
    if !need_root("bad_input_is_one_clear_line") {
        return;
    }
    let cases: &[(&[&str], &str)] = &[
        (&["mounts", "abc"], "abc: not a PID"),
        (&["mounts", "0"], "0: not a PID"),
        (&["mounts", "2147483647"], "no process with PID 2147483647"),
        (&["mounts", "1", "2"], "usage: box mounts [PID]"),
        (&["mounts", "--bogus"], "unknown option --bogus"),
        (&["ns", "web"], "no container named web"),
        (&["ns", "2147483647"], "no process with PID 2147483647"),
        (&["mount", "--make-shared"], "usage: box mount"),
        (&["mount", "/tmp"], "usage: box mount"),
        (
            &["mount", "--make-bogus", "/tmp"],
            "unknown option --make-bogus",
        ),
        (
            &["mount", "--make-private", "/no/such/dir"],
            "No such file or directory",
        ),
        (&["pivot_root", "/"], "usage: pivot_root NEW_ROOT PUT_OLD"),
    ];
    for (args, expected) in cases {
        let run = run_box(*args);
        // pivot_root exits as util-linux's: 1.
        let status = if args[0] == "pivot_root" { 1 } else { 125 };
        assert_eq!(run.code(), status, "box {args:?}: {run:?}");
        let line = one_error_line(&run);
        assert!(line.contains(expected), "box {args:?}: {line}");
    }
}

#[test]
#[ignore = "needs root"]
fn mounts_and_ns_of_an_exited_process() {
    if !need_root("mounts_and_ns_of_an_exited_process") {
        return;
    }
    // A child that has exited but is not reaped: its /proc entry stays,
    // its mount namespace is gone.
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    let start = Instant::now();
    while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .contains(") Z ")
    {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(5));
    }
    let mounts = run_box(["mounts", &pid.to_string()]);
    let ns = run_box(["ns", &pid.to_string()]);
    let _ = child.wait();
    for run in [&mounts, &ns] {
        assert_eq!(run.code(), 125, "{run:?}");
        assert!(
            one_error_line(run).contains(&format!("process {pid} has exited")),
            "{run:?}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn make_private_on_a_plain_directory_says_not_a_mount_point() {
    if !need_root("make_private_on_a_plain_directory_says_not_a_mount_point") {
        return;
    }
    let dir = TempDir::new("plain");
    let path = dir.path().to_str().unwrap();
    let run = run_box(["mount", "--make-private", path]);
    assert_eq!(run.code(), 125, "{run:?}");
    let line = one_error_line(&run);
    assert!(line.contains(path), "{line}");
    assert!(
        line.contains("Invalid argument (not a mount point)"),
        "{line}"
    );
    assert!(line.contains("--make-private"), "{line}");
}

#[test]
#[ignore = "needs root"]
fn pivot_root_names_the_likely_cause_and_works() {
    let test = "pivot_root_names_the_likely_cause_and_works";
    if !need_root(test) || !have_util_linux(test, &["unshare", "mount"]) {
        return;
    }
    let _one = one_at_a_time();
    let scratch = Scratch::new("pivot");
    let new_root = scratch.path("new");
    let other = scratch.path("other");
    std::fs::create_dir_all(new_root.join("old")).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let (new_root, other) = (new_root.to_str().unwrap(), other.to_str().unwrap());
    // Each case in a private mount namespace of its own: a pivot that
    // succeeds changes only that namespace's root.
    let in_namespace = |script: &str| {
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script])
            .env("BOX", BOX)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare");
        wait_with_timeout(child, Duration::from_secs(30))
    };

    let run = in_namespace(&format!("exec $BOX pivot_root {new_root} {new_root}/old"));
    assert_eq!(run.code(), 1, "{run:?}");
    assert!(
        one_error_line(&run).contains("NEW_ROOT is not a mount point"),
        "{run:?}"
    );

    let run = in_namespace(&format!(
        "mount -t tmpfs t {new_root} && mkdir {new_root}/old && exec $BOX pivot_root {new_root} {other}"
    ));
    assert_eq!(run.code(), 1, "{run:?}");
    assert!(
        one_error_line(&run).contains("PUT_OLD is not at or under NEW_ROOT"),
        "{run:?}"
    );

    let run = in_namespace(&format!(
        "mount -t tmpfs t {new_root} && mkdir {new_root}/old && mount --make-shared {new_root} \
         && exec $BOX pivot_root {new_root} {new_root}/old"
    ));
    assert_eq!(run.code(), 1, "{run:?}");
    assert!(
        one_error_line(&run).contains("PUT_OLD is on a shared mount"),
        "{run:?}"
    );

    // After the pivot the shell's root is the new tmpfs, the old root under
    // /old; `[` is a shell builtin, so it still runs.
    let run = in_namespace(&format!(
        "mount -t tmpfs t {new_root} && mkdir {new_root}/old && $BOX pivot_root {new_root} {new_root}/old \
         && [ -d /old/proc ] && [ ! -d /proc/self ] && echo pivoted"
    ));
    assert_eq!((run.code(), run.stdout.trim()), (0, "pivoted"), "{run:?}");
    scratch.finish();
}

// ---- Containers by name: every command that takes a NAME reaches every
// running container. ----

/// Stops the container NAME on drop (`box stop`), for names a prefix sweep
/// cannot match safely (digits, box's default `box-PID`).
struct StopOnDrop(String);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = run_box(["stop", "-t", "0", &self.0]);
    }
}

/// The init of container NAME, from its state.
fn init_of(name: &str) -> u32 {
    let text = std::fs::read_to_string(format!("/run/box/{name}/pid")).unwrap();
    text.trim().parse().unwrap()
}

/// Every command that takes a NAME, on container `name` (running):
/// ps lists it, exec enters it, ns shows its init's namespaces, kill and
/// stop reach it (logs where it keeps one).
fn reach_by_name(name: &str, detached: bool) {
    let ps = run_box(["ps"]);
    assert!(
        ps.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name)),
        "ps: {ps:?}"
    );
    let exec = run_box(["exec", name, "--", "hostname"]);
    assert_eq!(
        (exec.code(), exec.stdout.trim()),
        (0, name),
        "exec {name}: {exec:?}"
    );
    let init = init_of(name);
    let ns = run_box(["ns", name]);
    assert_eq!(ns.code(), 0, "ns {name}: {ns:?}");
    let pid_row = ns
        .stdout
        .lines()
        .find(|l| l.starts_with("pid "))
        .unwrap_or("");
    assert!(
        pid_row.contains(&ns_inode(init, "pid")),
        "ns {name} shows another process: {ns:?}"
    );
    if detached {
        let logs = run_box(["logs", name]);
        assert_eq!(logs.code(), 0, "logs {name}: {logs:?}");
    }
    let kill = run_box(["kill", name, "CONT"]);
    assert_eq!(kill.code(), 0, "kill {name}: {kill:?}");
    let stop = run_box(["stop", name, "--time", "0"]);
    assert_eq!(stop.code(), 0, "stop {name}: {stop:?}");
}

#[test]
#[ignore = "needs root"]
fn every_name_command_reaches_every_running_container() {
    let test = "every_name_command_reaches_every_running_container";
    if !need_root(test) || !have_busybox(test) {
        return;
    }
    let rootfs = busybox_rootfs("names");
    let root = rootfs.path().to_str().unwrap();
    let prefix = "tk-names-";
    let _sweep = ContainerSweep::new(prefix);
    // A name of digits: the test's own PID, which `box ns` must not take
    // for this process; the longest name; dots, dashes and underscores.
    let digits = std::process::id().to_string();
    let _digits = StopOnDrop(digits.clone());
    let longest = format!("{prefix}{}", "x".repeat(63 - prefix.len()));
    for name in [
        format!("{prefix}web"),
        format!("{prefix}a.b_c-d"),
        longest,
        digits,
    ] {
        let r = run_box([
            "run", "-d", "--name", &name, "--rootfs", root, "--", "sleep", "60",
        ]);
        assert_eq!((r.code(), r.stdout.trim()), (0, name.as_str()), "{r:?}");
        reach_by_name(&name, true);
    }
    // Detached without a name: box's `box-PID`.
    let r = run_box(["run", "-d", "--rootfs", root, "--", "sleep", "60"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let default = r.stdout.trim().to_string();
    let _default = StopOnDrop(default.clone());
    assert!(default.starts_with("box-"), "{r:?}");
    reach_by_name(&default, true);
    // Named in the foreground.
    let name = format!("{prefix}fg");
    let mut foreground = KillOnDrop(
        Command::new(BOX)
            .args([
                "run", "--name", &name, "--rootfs", root, "--", "sleep", "60",
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !Path::new(&format!("/run/box/{name}/pid")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name} never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    reach_by_name(&name, false);
    let _ = foreground.0.wait();
}

/// pivot_root and switch_root fail with util-linux's status 1 (scripts
/// test for it), one line on standard error, and answer -V and --version
/// as util-linux's do.
#[test]
fn pivot_root_and_switch_root_exit_1_and_answer_version() {
    for args in [
        &["pivot_root", "/"][..],
        &["pivot_root", "--bogus"],
        &["switch_root", "/"],
        // Not PID 1: refused before anything is touched.
        &["switch_root", "/", "/sbin/init"],
    ] {
        let run = run_box(args);
        assert_eq!(run.code(), 1, "box {args:?}: {run:?}");
        one_error_line(&run);
    }
    for applet in ["pivot_root", "switch_root"] {
        for version in ["-V", "--version", "--vers"] {
            let run = run_box([applet, version]);
            assert_eq!(run.code(), 0, "{applet} {version}: {run:?}");
            assert!(
                run.stdout.starts_with(&format!("{applet} (box ")),
                "{applet} {version}: {run:?}"
            );
        }
    }
}
