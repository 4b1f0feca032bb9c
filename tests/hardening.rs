//! The reliability suite of the hardening issue, part 1 and 2 (part 3, the
//! load runs, is tests/load.rs):
//!
//! 1. Escape attempts from a default container (`box run --rootfs R …`),
//!    made by a static C probe inside; each must be refused. The probe
//!    prints one `WHAT RESULT` line per attempt, RESULT being `OK` or the
//!    errno's name, and the tests print what they saw as `hardening: …`
//!    lines (visible with `--nocapture`).
//! 2. Fault injection: `box run` killed with SIGKILL at random moments, and
//!    `box run` with /run/box read-only or full; nothing may be left on the
//!    host but what the next box command documents to clean.
//!
//! Which layer refuses what, on the 6.18 test VM (see
//! `capabilities_alone_refuse_without_seccomp` for the checks made with the
//! filter off):
//! - the PID namespace: host PIDs (kill, pidfd_open, ptrace: ESRCH);
//! - the dropped capabilities: mount (CAP_SYS_ADMIN), open_by_handle_at
//!   (CAP_DAC_READ_SEARCH), sethostname (CAP_SYS_ADMIN), ptrace of another
//!   user's process (CAP_SYS_PTRACE): EPERM with or without the filter;
//! - read-only mounts: /sys and /proc/sys (EROFS);
//! - pivot_root + detaching the old root: no path to a host-only file;
//! - the seccomp filter only: init_module and finit_module give EPERM
//!   because of it (without it this kernel, built without module support,
//!   answers ENOSYS; a kernel with modules would answer EPERM for the
//!   missing CAP_SYS_MODULE), and a nested user namespace (unshare
//!   CLONE_NEWUSER, which would give the container every capability over a
//!   namespace of its own and let it mount tmpfs there) is refused only by
//!   the filter. These two checks fail until src/seccomp.rs is in.

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The escape probe, run inside the container as `probe WHAT ARGS…`.
const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* One line per attempt: `WHAT OK` when the call succeeded, else
   `WHAT ERRNAME` (EPERM, ENOENT, ...). */
static void report(const char *what, long ret) {
    if (ret >= 0) printf("%s OK\n", what);
    else printf("%s %s\n", what, strerrorname_np(errno));
    fflush(stdout);
}

static int open_report(const char *what, const char *path, int flags) {
    int fd = open(path, flags);
    report(what, fd);
    return fd;
}

static int hexval(char c) {
    return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
}

/* A file_handle with room for its bytes (f_handle is a flexible array). */
struct handle {
    union {
        struct file_handle h;
        struct { unsigned int n; int type; unsigned char bytes[128]; };
    };
};

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "pid")) {
        /* argv[2]: a PID of the host. */
        pid_t pid = atoi(argv[2]);
        report("kill", kill(pid, 0));
        report("pidfd_open", syscall(SYS_pidfd_open, pid, 0));
        report("ptrace_attach", ptrace(PTRACE_ATTACH, pid, 0, 0));
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        open_report("proc_status", path, O_RDONLY);
    } else if (!strcmp(cmd, "mount")) {
        report("mount_tmpfs", mount("t", "/mnt", "tmpfs", 0, NULL));
        report("mount_bind", mount("/", "/mnt", NULL, MS_BIND, NULL));
        report("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
        report("umount_proc", umount2("/proc", MNT_DETACH));
        /* A nested user namespace gives every capability back inside it. */
        pid_t child = fork();
        if (child == 0) {
            if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
                report("unshare_user", -1);
                _exit(0);
            }
            report("unshare_user", 0);
            report("mount_in_userns", mount("t", "/mnt", "tmpfs", 0, NULL));
            _exit(0);
        }
        waitpid(child, NULL, 0);
    } else if (!strcmp(cmd, "module")) {
        /* argv[2]: any file (not a module: it could never load). */
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        static char image[4096];
        ssize_t n = read(fd, image, sizeof image);
        report("init_module", syscall(SYS_init_module, image, n > 0 ? n : 0, ""));
        report("finit_module", syscall(SYS_finit_module, fd, "", 0));
        report("delete_module", syscall(SYS_delete_module, "box-no-such-module", O_NONBLOCK));
    } else if (!strcmp(cmd, "handle")) {
        /* On the host: the handle of argv[2], as TYPE HEX. */
        struct handle fh;
        int mount_id;
        fh.h.handle_bytes = 128;
        if (name_to_handle_at(AT_FDCWD, argv[2], &fh.h, &mount_id, 0) != 0) {
            report("name_to_handle_at", -1);
            return 1;
        }
        printf("%d ", fh.h.handle_type);
        for (unsigned i = 0; i < fh.h.handle_bytes; i++) printf("%02x", fh.bytes[i]);
        printf("\n");
    } else if (!strcmp(cmd, "shocker")) {
        /* argv[2] TYPE, argv[3] HEX: a handle of a host directory outside
           the container; argv[4]: a path under it. The mount descriptor is
           the container's own "/", on the same filesystem. */
        struct handle fh;
        size_t len = strlen(argv[3]) / 2;
        fh.h.handle_type = atoi(argv[2]);
        fh.h.handle_bytes = len;
        for (size_t i = 0; i < len && i < sizeof fh.bytes; i++)
            fh.bytes[i] = hexval(argv[3][2 * i]) * 16 + hexval(argv[3][2 * i + 1]);
        int root = open("/", O_RDONLY | O_DIRECTORY);
        int fd = syscall(SYS_open_by_handle_at, root, &fh.h, O_RDONLY | O_DIRECTORY);
        report("open_by_handle_at", fd);
        if (fd >= 0) {
            struct stat st;
            if (fstatat(fd, argv[4], &st, 0) == 0) puts("ESCAPED");
        }
    } else if (!strcmp(cmd, "write")) {
        /* argv[2]: a path opened for writing (nothing is written). */
        int fd = open_report(argv[2], argv[2], O_WRONLY | O_APPEND);
        if (fd >= 0) {
            struct stat st;
            fstat(fd, &st);
            if (S_ISCHR(st.st_mode))
                printf("device %s %u:%u\n", argv[2], major(st.st_rdev), minor(st.st_rdev));
        }
    } else if (!strcmp(cmd, "read")) {
        /* argv[2]: a path to read; how many bytes came. */
        int fd = open_report(argv[2], argv[2], O_RDONLY);
        if (fd >= 0) {
            static char buf[65536];
            ssize_t n = read(fd, buf, sizeof buf);
            printf("bytes %s %zd\n", argv[2], n);
        }
    } else if (!strcmp(cmd, "hostname")) {
        report("sethostname", sethostname(argv[2], strlen(argv[2])));
        struct utsname u;
        uname(&u);
        printf("nodename %s\n", u.nodename);
    } else if (!strcmp(cmd, "oldroot")) {
        /* argv[2]: a file that exists only on the host. */
        char path[4096];
        struct stat st;
        report("stat", stat(argv[2], &st));
        snprintf(path, sizeof path, "/proc/1/root%s", argv[2]);
        report("proc_1_root", open(path, O_RDONLY));
        snprintf(path, sizeof path, "/proc/self/root/../../../..%s", argv[2]);
        report("proc_self_root_dotdot", open(path, O_RDONLY));
        snprintf(path, sizeof path, "/proc/1/cwd/../../../..%s", argv[2]);
        report("proc_1_cwd_dotdot", open(path, O_RDONLY));
        mkdir("/tmp/jail", 0755);
        /* The classic chroot escape: the cwd left outside the new root. */
        pid_t child = fork();
        if (child == 0) {
            if (chroot("/tmp/jail") != 0) { report("chroot_escape", -1); _exit(0); }
            for (int i = 0; i < 256; i++) chdir("..");
            chroot(".");
            report("chroot_escape", stat(argv[2], &st));
            _exit(0);
        }
        waitpid(child, NULL, 0);
        /* The fchdir variant: a descriptor of the old root kept open. */
        child = fork();
        if (child == 0) {
            int old = open("/", O_RDONLY | O_DIRECTORY);
            if (chroot("/tmp/jail") != 0) { report("fchdir_escape", -1); _exit(0); }
            fchdir(old);
            for (int i = 0; i < 256; i++) chdir("..");
            chroot(".");
            report("fchdir_escape", stat(argv[2], &st));
            _exit(0);
        }
        waitpid(child, NULL, 0);
    } else if (!strcmp(cmd, "ptrace")) {
        /* A process of another user inside the container, then one of our
           own (the control: ptrace as such is allowed). Each execs sleep,
           so it is dumpable again after its setuid. */
        const char *who[2] = {"ptrace_other_user", "ptrace_same_user"};
        for (int k = 0; k < 2; k++) {
            pid_t child = fork();
            if (child == 0) {
                if (k == 0 && (setgid(1000) != 0 || setuid(1000) != 0)) _exit(1);
                execl("/bin/sleep", "sleep", "5", (char *)NULL);
                _exit(1);
            }
            usleep(200000);
            long r = ptrace(PTRACE_ATTACH, child, 0, 0);
            report(who[k], r);
            if (r == 0) { waitpid(child, NULL, __WALL); ptrace(PTRACE_DETACH, child, 0, 0); }
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
    } else {
        return 2;
    }
    return 0;
}
"#;

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    Some(busybox_rootfs(test))
}

/// A busybox rootfs with the probe at /bin/probe.
fn setup_with_probe(test: &str) -> Option<TempDir> {
    let root = setup(test)?;
    compile_static_c(test, PROBE_C, &root.path().join("bin/probe"))?;
    Some(root)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `box run --rootfs ROOT EXTRA… sh -c SCRIPT`.
fn in_container(root: &TempDir, extra: &[&str], script: &str) -> Run {
    let mut args = vec!["run", "--rootfs", path_str(root.path())];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["sh", "-c", script]);
    run_box(&args)
}

/// The result the probe printed for WHAT (`OK` or an errno name).
fn result<'a>(run: &'a Run, what: &str) -> &'a str {
    run.stdout
        .lines()
        .find_map(|l| {
            let mut w = l.split(' ');
            (w.next() == Some(what)).then(|| w.next().unwrap_or(""))
        })
        .unwrap_or("(no result)")
}

/// Assert the probe's result for WHAT is one of `refused`, and say what it
/// was (the report lists them).
fn expect(test: &str, run: &Run, what: &str, refused: &[&str]) {
    let got = result(run, what);
    eprintln!("hardening: {test}: {what} -> {got}");
    assert!(
        refused.contains(&got),
        "{test}: {what} gave {got}, expected one of {refused:?}\n{run:?}"
    );
}

/// A `sleep` on the host, killed when the test ends.
fn host_sleep() -> KillOnDrop {
    KillOnDrop(
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep"),
    )
}

#[test]
#[ignore = "needs root"]
fn host_pids_are_invisible() {
    let test = "host_pids_are_invisible";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let sleep = host_sleep();
    let pid = sleep.0.id();
    let run = in_container(
        &root,
        &[],
        &format!(
            "ls /proc | grep -x {pid} && echo LISTED; kill -0 {pid} 2>/dev/null && echo SIGNALLED; probe pid {pid}"
        ),
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("LISTED"), "{pid} in /proc: {run:?}");
    assert!(!run.stdout.contains("SIGNALLED"), "kill -0 {pid}: {run:?}");
    expect(test, &run, "kill", &["ESRCH"]);
    expect(test, &run, "pidfd_open", &["ESRCH"]);
    expect(test, &run, "ptrace_attach", &["ESRCH"]);
    expect(test, &run, "proc_status", &["ENOENT"]);
}

#[test]
#[ignore = "needs root"]
fn cannot_mount() {
    let test = "cannot_mount";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let before = mounts_mentioning(&[root.path()]);
    let run = in_container(
        &root,
        &[],
        "mount -t tmpfs t /mnt 2>/dev/null && echo MOUNTED; probe mount",
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("MOUNTED"), "{run:?}");
    for what in ["mount_tmpfs", "mount_bind", "fsopen", "umount_proc"] {
        expect(test, &run, what, &["EPERM"]);
    }
    // Refused by the seccomp filter only (without it: OK, and a tmpfs is
    // mounted in the nested namespace).
    expect(test, &run, "unshare_user", &["EPERM"]);
    assert_eq!(mounts_mentioning(&[root.path()]), before);
}

#[test]
#[ignore = "needs root"]
fn cannot_load_a_module() {
    let test = "cannot_load_a_module";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let run = in_container(&root, &[], "probe module /bin/busybox");
    assert_eq!(run.code(), 0, "{run:?}");
    // EPERM from the seccomp filter on this kernel (no module support:
    // ENOSYS without the filter); from the missing CAP_SYS_MODULE elsewhere.
    for what in ["init_module", "finit_module", "delete_module"] {
        expect(test, &run, what, &["EPERM"]);
    }
}

/// The "shocker" attack: open_by_handle_at with a handle of a host
/// directory, relative to the container's own root on the same filesystem,
/// opens the directory outside the container. The test hands the container
/// a real handle (made on the host) and, where the host's root is ext4 on
/// the same device, the handle an attacker guesses without
/// name_to_handle_at: inode 2 (the root directory), generation 0.
#[test]
#[ignore = "needs root"]
fn shocker_open_by_handle_at_is_refused() {
    let test = "shocker_open_by_handle_at_is_refused";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let probe = root.path().join("bin/probe");
    let host_only = TempDir::new("shocker-host-only");
    std::fs::write(host_only.path().join("MARKER"), "host\n").unwrap();
    let dev = |p: &Path| std::fs::metadata(p).unwrap().dev();
    if dev(host_only.path()) != dev(root.path()) {
        skip(test, "the temp dir spans filesystems");
        return;
    }
    let handle = Command::new(&probe)
        .args(["handle", path_str(host_only.path())])
        .output()
        .unwrap();
    let handle = String::from_utf8_lossy(&handle.stdout).trim().to_string();
    let Some((ty, hex)) = handle.split_once(' ') else {
        skip(
            test,
            &format!("no file handles on this filesystem: {handle}"),
        );
        return;
    };
    let mut attempts = vec![(ty.to_string(), hex.to_string(), "MARKER".to_string())];
    // The guessed handle of the filesystem's root: ext4's FILEID_INO32_GEN
    // (type 1), inode 2, generation 0, little-endian.
    let ext4_root = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.len() > 4 && f[4] == "/" && l.contains(" - ext4 ")
        });
    if ext4_root && dev(Path::new("/")) == dev(root.path()) {
        let rel = host_only.path().join("MARKER");
        let rel = path_str(&rel).trim_start_matches('/').to_string();
        attempts.push(("1".into(), "0200000000000000".into(), rel));
    }
    for (ty, hex, marker) in &attempts {
        // On the host (root, every capability), the handle opens the
        // directory: the attack is real.
        let control = Command::new(&probe)
            .args(["shocker", ty, hex, marker])
            .current_dir("/")
            .output()
            .unwrap();
        let control = String::from_utf8_lossy(&control.stdout).to_string();
        assert!(
            control.contains("open_by_handle_at OK") && control.contains("ESCAPED"),
            "the handle {ty} {hex} does not open {marker}'s directory on the host: {control}"
        );
        let run = in_container(&root, &[], &format!("probe shocker {ty} {hex} {marker}"));
        assert_eq!(run.code(), 0, "{run:?}");
        assert!(!run.stdout.contains("ESCAPED"), "{run:?}");
        eprintln!("hardening: {test}: handle {ty} {hex}");
        expect(test, &run, "open_by_handle_at", &["EPERM"]);
    }
}

/// /proc/sysrq-trigger is masked (where the kernel has it: this VM's has
/// no CONFIG_MAGIC_SYSRQ), /sys and /proc/sys are read-only.
#[test]
#[ignore = "needs root"]
fn sysrq_trigger_sys_and_proc_sys_are_not_writable() {
    let test = "sysrq_trigger_sys_and_proc_sys_are_not_writable";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    // A file of /sys/kernel the host may write (nothing is written: the
    // probe only opens it).
    let sys_file = ["rcu_expedited", "rcu_normal", "profiling", "uevent_helper"]
        .iter()
        .map(|f| format!("/sys/kernel/{f}"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.mode() & 0o200 != 0))
        .unwrap_or_else(|| "/sys/kernel/uevent_helper".into());
    let sysrq_on_host = Path::new("/proc/sysrq-trigger").exists();
    let run = in_container(
        &root,
        &[],
        &format!(
            "echo 1 > {sys_file} 2>/dev/null && echo WROTE; probe write {sys_file}; probe write /proc/sys/kernel/hostname; probe write /proc/sysrq-trigger"
        ),
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("WROTE"), "{run:?}");
    expect(test, &run, &sys_file, &["EROFS"]);
    expect(test, &run, "/proc/sys/kernel/hostname", &["EROFS"]);
    eprintln!("hardening: {test}: /proc/sysrq-trigger on the host: {sysrq_on_host}");
    if sysrq_on_host {
        // Masked by /dev/null: a write goes nowhere.
        if result(&run, "/proc/sysrq-trigger") == "OK" {
            assert!(
                run.stdout.contains("device /proc/sysrq-trigger 1:3"),
                "/proc/sysrq-trigger is writable and not /dev/null: {run:?}"
            );
            eprintln!("hardening: {test}: /proc/sysrq-trigger -> masked (/dev/null)");
        } else {
            expect(
                test,
                &run,
                "/proc/sysrq-trigger",
                &["EACCES", "EROFS", "EPERM", "ENOENT"],
            );
        }
    } else {
        expect(test, &run, "/proc/sysrq-trigger", &["ENOENT"]);
    }
}

/// /proc/kcore (absent on this VM's kernel: no CONFIG_PROC_KCORE) and the
/// other masked files read nothing where the host has them.
#[test]
#[ignore = "needs root"]
fn kcore_and_other_masked_files_read_nothing() {
    let test = "kcore_and_other_masked_files_read_nothing";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let files = ["/proc/kcore", "/proc/keys", "/proc/timer_list"];
    let script: Vec<String> = files.iter().map(|f| format!("probe read {f}")).collect();
    let run = in_container(&root, &[], &script.join("; "));
    assert_eq!(run.code(), 0, "{run:?}");
    let mut checked = 0;
    for f in files {
        let on_host = Path::new(f).exists();
        eprintln!("hardening: {test}: {f} on the host: {on_host}");
        match result(&run, f) {
            "OK" => assert!(
                run.stdout.contains(&format!("bytes {f} 0\n")),
                "{f} is readable inside: {run:?}"
            ),
            "ENOENT" if !on_host => {}
            other => panic!("{f}: {other}: {run:?}"),
        }
        if on_host {
            checked += 1;
        }
        eprintln!("hardening: {test}: {f} -> {}", result(&run, f));
    }
    assert!(checked > 0, "none of {files:?} exists on this host");
}

#[test]
#[ignore = "needs root"]
fn hostname_change_stays_inside() {
    let test = "hostname_change_stays_inside";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let host = || {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .to_string()
    };
    let before = host();
    let run = in_container(
        &root,
        &["--hostname", "inside"],
        "hostname escaped 2>/dev/null; probe hostname escaped",
    );
    assert_eq!(run.code(), 0, "{run:?}");
    // CAP_SYS_ADMIN is dropped, so even the container's own hostname is
    // fixed (EPERM); were it allowed, only the UTS namespace would change.
    expect(test, &run, "sethostname", &["EPERM", "OK"]);
    if result(&run, "sethostname") == "EPERM" {
        assert!(run.stdout.contains("nodename inside\n"), "{run:?}");
    }
    assert_eq!(host(), before, "the host's hostname changed");
}

fn old_root_unreachable(test: &str, extra: &[&str]) {
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let host_only = TempDir::new("old-root-host-only");
    let marker = host_only.path().join("MARKER");
    std::fs::write(&marker, "host\n").unwrap();
    let m = path_str(&marker);
    let run = in_container(
        &root,
        extra,
        &format!("cat {m} /proc/1/root{m} 2>/dev/null && echo VISIBLE; probe oldroot {m}"),
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("VISIBLE"), "{run:?}");
    for what in [
        "stat",
        "proc_1_root",
        "proc_self_root_dotdot",
        "proc_1_cwd_dotdot",
        "chroot_escape",
        "fchdir_escape",
    ] {
        expect(test, &run, what, &["ENOENT"]);
    }
}

#[test]
#[ignore = "needs root"]
fn old_root_is_unreachable() {
    old_root_unreachable("old_root_is_unreachable", &[]);
}

#[test]
#[ignore = "needs root"]
fn old_root_is_unreachable_without_pivot() {
    old_root_unreachable("old_root_is_unreachable_without_pivot", &["--no-pivot"]);
}

/// No host process can be traced (none is visible: ESRCH), and inside the
/// container root cannot trace another user's process (CAP_SYS_PTRACE is
/// dropped: EPERM). Tracing one's own processes stays allowed (strace, gdb):
/// printed as the control, not asserted (a policy may refuse it).
#[test]
#[ignore = "needs root"]
fn ptrace_is_confined() {
    let test = "ptrace_is_confined";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let sleep = host_sleep();
    let run = in_container(
        &root,
        &[],
        &format!("probe pid {}; probe ptrace", sleep.0.id()),
    );
    assert_eq!(run.code(), 0, "{run:?}");
    expect(test, &run, "ptrace_attach", &["ESRCH"]);
    expect(test, &run, "ptrace_other_user", &["EPERM"]);
    eprintln!(
        "hardening: {test}: ptrace_same_user (control) -> {}",
        result(&run, "ptrace_same_user")
    );
}

/// `--map-root` run by uid 65534: the container's root is nobody on the
/// host. A root-owned host file bound in cannot be written, read-only or
/// not; a file of the caller's bound read-only cannot either (EROFS); the
/// same file bound read-write can (the control).
#[test]
#[ignore = "needs root"]
fn map_root_cannot_write_root_owned_host_files() {
    let test = "map_root_cannot_write_root_owned_host_files";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let host = TempDir::new("map-root-files");
    chmod(host.path(), 0o755);
    let files = [
        ("root-ro", 0, ":ro"),
        ("root-rw", 0, ""),
        ("own-ro", 65534, ":ro"),
        ("own-rw", 65534, ""),
    ];
    let mut args: Vec<String> = vec![
        "run".into(),
        "--rootfs".into(),
        path_str(root.path()).into(),
        "--map-root".into(),
    ];
    for (f, uid, mode) in files {
        let p = host.path().join(f);
        std::fs::write(&p, "original\n").unwrap();
        chmod(&p, 0o644);
        std::os::unix::fs::chown(&p, Some(uid), Some(uid)).unwrap();
        // The mount point: the caller cannot create it in a root-owned rootfs.
        std::fs::write(root.path().join(f), "").unwrap();
        args.push("--bind".into());
        args.push(format!("{}:/{f}{mode}", p.display()));
    }
    args.extend(["sh".into(), "-c".into()]);
    args.push(
        "echo x >> /root-rw 2>/dev/null && echo WROTE; chmod 666 /root-rw 2>/dev/null && echo CHMOD; \
         for f in root-ro root-rw own-ro own-rw; do probe write /$f; done"
            .into(),
    );
    let Some(run) = run_box_as_nobody(test, &args) else {
        return;
    };
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("WROTE"), "{run:?}");
    assert!(!run.stdout.contains("CHMOD"), "{run:?}");
    expect(test, &run, "/root-ro", &["EACCES", "EROFS"]);
    expect(test, &run, "/root-rw", &["EACCES"]);
    expect(test, &run, "/own-ro", &["EROFS"]);
    eprintln!(
        "hardening: {test}: /own-rw (control) -> {}",
        result(&run, "/own-rw")
    );
    assert_eq!(result(&run, "/own-rw"), "OK", "the control: {run:?}");
    for (f, uid, _) in files {
        let p = host.path().join(f);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "original\n", "{f}");
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (uid, 0o644), "{f}");
    }
}

/// With `--seccomp unconfined`, what the capabilities, namespaces and
/// read-only mounts refuse on their own (the filter is the second wall, not
/// the only one). What only the filter refuses is printed, not asserted.
#[test]
#[ignore = "needs root"]
fn capabilities_alone_refuse_without_seccomp() {
    let test = "capabilities_alone_refuse_without_seccomp";
    let Some(root) = setup_with_probe(test) else {
        return;
    };
    let probe = root.path().join("bin/probe");
    let sleep = host_sleep();
    let host_only = TempDir::new("unconfined-host-only");
    std::fs::write(host_only.path().join("MARKER"), "host\n").unwrap();
    let marker = host_only.path().join("MARKER");
    let handle = Command::new(&probe)
        .args(["handle", path_str(host_only.path())])
        .output()
        .unwrap();
    let handle = String::from_utf8_lossy(&handle.stdout).trim().to_string();
    let run = in_container(
        &root,
        &["--seccomp", "unconfined"],
        &format!(
            "probe pid {pid}; probe mount; probe module /bin/busybox; probe shocker {handle} MARKER; \
             probe write /proc/sys/kernel/hostname; probe hostname x; probe oldroot {m}; probe ptrace",
            pid = sleep.0.id(),
            m = path_str(&marker),
        ),
    );
    if run.code() == 125 && run.stderr.contains("--seccomp") {
        skip(
            test,
            &format!("box has no --seccomp yet: {}", run.stderr.trim()),
        );
        return;
    }
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("ESCAPED"), "{run:?}");
    let test = "unconfined";
    expect(test, &run, "kill", &["ESRCH"]);
    expect(test, &run, "ptrace_attach", &["ESRCH"]);
    for what in ["mount_tmpfs", "mount_bind", "fsopen", "umount_proc"] {
        expect(test, &run, what, &["EPERM"]);
    }
    expect(test, &run, "open_by_handle_at", &["EPERM"]);
    expect(test, &run, "/proc/sys/kernel/hostname", &["EROFS"]);
    expect(test, &run, "sethostname", &["EPERM"]);
    expect(test, &run, "proc_1_root", &["ENOENT"]);
    expect(test, &run, "chroot_escape", &["ENOENT"]);
    expect(test, &run, "ptrace_other_user", &["EPERM"]);
    for what in [
        "init_module",
        "finit_module",
        "unshare_user",
        "mount_in_userns",
    ] {
        eprintln!(
            "hardening: {test}: {what} -> {} (refused only by the filter)",
            result(&run, what)
        );
    }
}

// --- box's own executable, and the `box exec` child ---

/// The attacker of tests/hardening/exe_probe.c, built into a rootfs that
/// can also run box itself (a test build is dynamically linked), with
/// /bin/box-init a link to /proc/self/exe: whichever box process executes
/// it runs its own executable as box-init, which stays (as a container's
/// init) for the probe to look at. /bin/held is a script run by the same
/// link (`#!/bin/box-init /bin/sh`: box-init runs `sh /bin/held`), and
/// /bin/self a `#!/proc/self/exe` script.
const EXE_PROBE_C: &str = include_str!("hardening/exe_probe.c");

fn setup_with_exe_probe(test: &str) -> Option<TempDir> {
    let root = setup(test)?;
    compile_static_c(test, EXE_PROBE_C, &root.path().join("bin/exe_probe"))?;
    add_box_libraries(root.path());
    let bin = root.path().join("bin");
    std::os::unix::fs::symlink("/proc/self/exe", bin.join("box-init")).unwrap();
    std::fs::write(bin.join("held"), "#!/bin/box-init /bin/sh\nsleep 1000\n").unwrap();
    std::fs::write(bin.join("self"), "#!/proc/self/exe\n").unwrap();
    chmod(&bin.join("held"), 0o755);
    chmod(&bin.join("self"), 0o755);
    Some(root)
}

/// In a container box confines (src/sys/landlock.rs) nothing outside its
/// root can be executed, however it is reached: here a host executable
/// handed in as standard input and run through /proc/self/fd/0 (box's own
/// file through /proc/self/exe: run_never_hands_the_host_box_to_a_container).
/// What the container does with its
/// own files is unchanged: executing from its rootfs, a tmpfs and a bind
/// mount; renaming and linking files and directories across directories
/// (Landlock's REFER right, refused by any ruleset that does not allow it);
/// writing to /dev/stdout when that is a host file.
#[test]
#[ignore = "needs root"]
fn confined_container_executes_only_its_own_files() {
    let test = "confined_container_executes_only_its_own_files";
    let Some(root) = setup(test) else {
        return;
    };
    if landlock_abi() < 2 {
        eprintln!("{test}: SKIPPED: the kernel has no Landlock ABI 2; box uses its sealed copy");
        return;
    }
    let outside = TempDir::new("confined-outside");
    let host_exe = outside.path().join("tool");
    std::fs::copy(BUSYBOX, &host_exe).unwrap();
    let bound = TempDir::new("confined-bound");
    std::fs::copy(BUSYBOX, bound.path().join("busybox")).unwrap();
    let out = outside.path().join("out");
    let bind = format!("{}:/mnt", path_str(bound.path()));
    let script = "\
        /proc/self/fd/0 echo escaped; echo fd0=$?; \
        cp /bin/busybox /tmp/echo && /tmp/echo tmpfs-exec; \
        /mnt/busybox echo bind-exec; \
        mkdir -p /tmp/a/d /tmp/b; echo x > /tmp/a/f; \
        mv /tmp/a/f /tmp/b/f && ln /tmp/b/f /tmp/a/g && mv /tmp/a/d /tmp/b/d && echo refer-ok; \
        echo via-dev-stdout >> /dev/stdout";
    let run = Command::new(BOX)
        .args(["run", "--rootfs", path_str(root.path()), "--tmpfs", "/tmp"])
        .args(["--bind", &bind, "sh", "-c", script])
        .stdin(std::fs::File::open(&host_exe).unwrap())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = std::fs::read_to_string(&out).unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!("hardening: {test}: {stdout:?} {stderr:?}");
    assert_eq!(run.status.code(), Some(0), "{stdout} {stderr}");
    assert!(
        !stdout.contains("escaped"),
        "a host file was executed: {stdout}"
    );
    assert!(stdout.contains("fd0=126"), "{stdout} {stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    for line in ["tmpfs-exec", "bind-exec", "refer-ok", "via-dev-stdout"] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line}: {stdout} {stderr}"
        );
    }
}

/// A copy of box for a test to run as "the host's box", so that an attack
/// that works overwrites the copy, not the build; with its device, inode
/// and content.
struct HostBox {
    _dir: TempDir,
    path: std::path::PathBuf,
    dev: u64,
    ino: u64,
    content: Vec<u8>,
}

impl HostBox {
    fn copy(tag: &str) -> HostBox {
        let dir = TempDir::new(tag);
        let path = dir.path().join("box");
        std::fs::copy(BOX, &path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let content = std::fs::read(&path).unwrap();
        HostBox {
            _dir: dir,
            path,
            dev: meta.dev(),
            ino: meta.ino(),
            content,
        }
    }

    /// The build itself (for the tests that only look).
    fn build() -> (u64, u64) {
        let meta = std::fs::metadata(BOX).unwrap();
        (meta.dev(), meta.ino())
    }

    fn unchanged(&self) -> bool {
        std::fs::read(&self.path).is_ok_and(|now| now == self.content)
    }
}

/// Run `program` (a box) with `args` and an extra environment entry.
fn run_program(program: &Path, args: &[&str], env: (&str, &str)) -> Run {
    let child = Command::new(program)
        .args(args)
        .env(env.0, env.1)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn box");
    wait_with_timeout(child, Duration::from_secs(60))
}

/// The log a probe writes at `inside` (a path in the container), once it
/// says `done`.
fn probe_log(root: &TempDir, inside: &str, limit: Duration) -> String {
    log_when_done(&root.path().join(inside.trim_start_matches('/')), limit)
}

/// A detached container of the test's box running `sleep`, with the
/// spinning attacker started in it; then `box exec` into it 20 times, each
/// command printing its Seccomp line, with a secret in box exec's
/// environment. The outputs of the commands and the attacker's log.
fn exec_under_attack(test: &str, root: &TempDir, init: bool) -> (Vec<Run>, String) {
    under_attack(test, root, init, false)
}

/// [`exec_under_attack`], or with `join` the 20 commands started by `box
/// run --ns pid=/proc/INIT/ns/pid` instead: new containers that join the
/// attacker's PID namespace.
fn under_attack(test: &str, root: &TempDir, init: bool, join: bool) -> (Vec<Run>, String) {
    let name = format!("hx-{test}-{}-{}", init as u8, std::process::id());
    let _sweep = ContainerSweep::new(&name);
    let r = path_str(root.path());
    let mut args = vec!["run", "-d", "--name", &name, "--rootfs", r];
    if init {
        args.push("--init");
    }
    args.extend_from_slice(&["sleep", "1000"]);
    let started = run_box(&args);
    assert_eq!(started.code(), 0, "{started:?}");
    let (dev, ino) = HostBox::build();
    let (dev, ino) = (dev.to_string(), ino.to_string());
    let secret = format!("BOX-TEST-SECRET-{}", std::process::id());
    let spin = run_box([
        "exec",
        &name,
        "--",
        "/bin/exe_probe",
        "spin",
        "/tmp/spin.log",
        "/tmp/spin.stop",
        "120",
        &dev,
        &ino,
        &secret,
    ]);
    assert_eq!(spin.code(), 0, "{spin:?}");
    let log = root.path().join("tmp/spin.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.starts_with("ready")) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the probe did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let init_pid = std::fs::read_to_string(Path::new("/run/box").join(&name).join("pid")).unwrap();
    let pid_ns = format!("pid=/proc/{}/ns/pid", init_pid.trim());
    let command = ["--", "grep", "Seccomp:", "/proc/self/status"];
    let mut args = vec!["exec", name.as_str()];
    if join {
        args = vec!["run", "--rootfs", r, "--ns", &pid_ns];
    }
    args.extend_from_slice(&command);
    let runs: Vec<Run> = (0..20)
        .map(|_| run_program(Path::new(BOX), &args, ("BOX_TEST_SECRET", &secret)))
        .collect();
    std::fs::write(root.path().join("tmp/spin.stop"), "").unwrap();
    let text = probe_log(root, "/tmp/spin.log", Duration::from_secs(10));
    let _ = run_box(["stop", "-t", "0", &name]);
    (runs, text)
}

/// A process of the container that spins on ns_last_pid + 1 and seizes
/// every new process with ptrace (PTRACE_SEIZE, then PTRACE_INTERRUPT) gets
/// none of `box exec`'s children before they execute their command: each
/// is born non-dumpable (ptrace needs CAP_SYS_PTRACE then) and with the
/// container's filter already installed (nothing left to skip). Before the
/// fix it seized about half of them between their capset and their
/// seccomp(2), or before their execve, and could have made seccomp(2) a
/// no-op (it tries); it may still seize the commands afterwards, which is
/// allowed (strace in a container). With and without --init.
#[test]
#[ignore = "needs root"]
fn exec_child_cannot_be_seized_before_its_command() {
    let test = "exec_child_cannot_be_seized_before_its_command";
    let Some(root) = setup_with_exe_probe(test) else {
        return;
    };
    for init in [false, true] {
        let (runs, log) = exec_under_attack(test, &root, init);
        for run in &runs {
            assert_eq!(run.code(), 0, "{run:?}");
            assert!(
                run.stdout.contains("Seccomp:\t2"),
                "a command ran without the filter (--init {init}): {run:?}\n{log}"
            );
        }
        let attached: Vec<&str> = log.lines().filter(|l| l.starts_with("ATTACH")).collect();
        eprintln!(
            "hardening: {test} (--init {init}): {} commands seized after their exec",
            attached.len()
        );
        for line in log.lines() {
            assert!(
                !line.starts_with("SKIPPED")
                    && !line.contains("box=1")
                    && !line.contains("seccomp=0"),
                "a box exec child was reached before its command (--init {init}): {line}\n{log}"
            );
        }
    }
}

/// The same attacker, in a PID namespace that `box run --ns pid=PATH`
/// joins: each new container's first process is born there, holding
/// box's credentials until it drops them, and after the drop its
/// capabilities are the attacker's own, which ptrace(2) then no longer
/// refuses. It gets none of them before their command: box makes the
/// child non-dumpable before the clone, and it stays so until execve.
#[test]
#[ignore = "needs root"]
fn joined_pid_namespace_cannot_seize_before_the_command() {
    let test = "joined_pid_namespace_cannot_seize_before_the_command";
    let Some(root) = setup_with_exe_probe(test) else {
        return;
    };
    let (runs, log) = under_attack(test, &root, false, true);
    for run in &runs {
        assert_eq!(run.code(), 0, "{run:?}");
        assert!(
            run.stdout.contains("Seccomp:\t2"),
            "a command ran without the filter: {run:?}\n{log}"
        );
    }
    for line in log.lines() {
        assert!(
            !line.starts_with("SKIPPED")
                && !line.starts_with("ENVIRON")
                && !line.contains("box=1")
                && !line.contains("seccomp=0"),
            "a joining container's child was reached before its command: {line}\n{log}"
        );
    }
}

/// The same attacker reads /proc/PID/environ and opens /proc/PID/exe of
/// every new process: it never reads the caller's environment (a secret put
/// in box exec's) or opens box's executable through a `box exec` child
/// (before the fix: both, for most of them, until their execve).
#[test]
#[ignore = "needs root"]
fn exec_child_environ_and_exe_are_closed() {
    let test = "exec_child_environ_and_exe_are_closed";
    let Some(root) = setup_with_exe_probe(test) else {
        return;
    };
    for init in [false, true] {
        let (runs, log) = exec_under_attack(test, &root, init);
        assert!(runs.iter().all(|r| r.code() == 0), "{runs:?}");
        for line in log.lines() {
            let environ = line.starts_with("ENVIRON");
            let exe = line.starts_with("EXE") && line.contains("box=1");
            assert!(
                !environ && !exe,
                "a box exec child was read (--init {init}): {line}\n{log}"
            );
        }
    }
}

/// What the probe's `grab` found: the `grab …` line, and every line.
fn grab_result(log: &str) -> (&str, Vec<&str>) {
    let lines: Vec<&str> = log.lines().collect();
    let grab = lines
        .iter()
        .find(|l| l.starts_with("grab "))
        .copied()
        .unwrap_or("(no grab line)");
    (grab, lines)
}

/// Assert the probe reached box (argv[0] /bin/box-init was there to grab),
/// and that what it reached is not the host's file and took no write.
fn assert_not_host_box(what: &str, log: &str) {
    let (grab, lines) = grab_result(log);
    eprintln!("hardening: {what}: {grab}");
    assert!(
        !lines.contains(&"write OK"),
        "{what}: the container wrote into box's executable: {log}"
    );
    assert!(
        grab.contains(" host=0 ") && grab.contains("/memfd:"),
        "{what}: the container reached the host's box: {log}"
    );
}

/// `box run` never lets a container reach the host's box file, whichever
/// way the container makes box's process execute /proc/self/exe:
/// - in a container box confines with Landlock (the default one, where the
///   kernel has Landlock ABI 2): `box run -- /proc/self/exe`, a
///   `#!/proc/self/exe` script and a script whose interpreter is a link to
///   /proc/self/exe are refused (126, permission denied): box's file is
///   outside the container's root;
/// - in one it does not (`--cap-add sys_admin`, `--init`), or without
///   Landlock: `box run -- /proc/self/exe` and a `#!/proc/self/exe` script
///   run box inside ("unknown applet exe"): its sealed copy;
/// - there, a script whose interpreter is a link to /proc/self/exe named
///   box-init, run as the container's command (foreground, detached, and
///   as the child of box-init under --init), and the link run directly
///   with `--subreaper -- sleep`: box-init stays, and the probe, entering
///   through `box exec`, opens its /proc/PID/exe and tries to write into it
///   (O_PATH, then /proc/self/fd for writing).
///
/// What it opens is box's sealed copy (another device and inode than the
/// host's file), which takes no write; the host's file is unchanged.
/// Before the fix it was the host's file in all but the --init case.
#[test]
#[ignore = "needs root"]
fn run_never_hands_the_host_box_to_a_container() {
    let test = "run_never_hands_the_host_box_to_a_container";
    let Some(root) = setup_with_exe_probe(test) else {
        return;
    };
    let host = HostBox::copy("host-box-run");
    let r = path_str(root.path()).to_string();
    let (dev, ino) = (host.dev.to_string(), host.ino.to_string());
    let no_env = ("BOX_TEST", "1");

    let confined = landlock_abi() >= 2;
    for command in ["/proc/self/exe", "/bin/self", "/bin/held"] {
        let run = run_program(&host.path, &["run", "--rootfs", &r, command], no_env);
        if confined {
            assert_eq!(run.code(), 126, "{command}: {run:?}");
            assert!(
                run.stderr.contains("Permission denied")
                    && run.stderr.contains("outside the container's root"),
                "{command}: {run:?}"
            );
        } else if command != "/bin/held" {
            assert_eq!(run.code(), 125, "{command}: {run:?}");
            assert!(
                run.stderr.contains("unknown applet exe"),
                "{command}: {run:?}"
            );
        }
    }
    for command in ["/proc/self/exe", "/bin/self"] {
        let run = run_program(
            &host.path,
            &["run", "--cap-add", "sys_admin", "--rootfs", &r, command],
            no_env,
        );
        assert_eq!(run.code(), 125, "{command}: {run:?}");
        assert!(
            run.stderr.contains("unknown applet exe"),
            "{command}: {run:?}"
        );
    }

    let prefix = format!("hr-{}-", std::process::id());
    let _sweep = ContainerSweep::new(&prefix);
    let held = ["/bin/held"];
    let subreaper = ["/bin/box-init", "--subreaper", "--", "sleep", "1000"];
    // Containers box does not confine, so that box-init is reached.
    let cases: [(&str, &[&str], &[&str]); 4] = [
        ("foreground", &["--cap-add", "sys_admin"], &held),
        ("detached", &["-d", "--cap-add", "sys_admin"], &held),
        ("link", &["-d", "--cap-add", "sys_admin"], &subreaper),
        ("init", &["-d", "--init"], &subreaper),
    ];
    for (k, (what, options, command)) in cases.iter().enumerate() {
        let name = format!("{prefix}{k}");
        let mut args = vec!["run", "--name", &name, "--rootfs", &r];
        args.extend_from_slice(options);
        args.extend_from_slice(command);
        let foreground = (!options.contains(&"-d")).then(|| {
            KillOnDrop(
                Command::new(&host.path)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        });
        if foreground.is_none() {
            let started = run_program(&host.path, &args, no_env);
            assert_eq!(started.code(), 0, "{what}: {started:?}");
        }
        let log = format!("/tmp/grab-{k}.log");
        let start = Instant::now();
        loop {
            let grab = run_box([
                "exec",
                &name,
                "--",
                "/bin/exe_probe",
                "grab",
                &log,
                "1",
                &dev,
                &ino,
            ]);
            if grab.code() == 0 {
                break;
            }
            // The foreground container may not be registered yet.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{what}: {grab:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = probe_log(&root, &log, Duration::from_secs(10));
        assert_not_host_box(&format!("{test}: {what}"), &text);
        let _ = run_box(["stop", "-t", "0", &name]);
        drop(foreground);
    }
    assert!(host.unchanged(), "the host's box was changed");
}

/// `box exec` (into a container with and without --init) never lets the
/// container reach the host's box file: its child executes the container's
/// link to /proc/self/exe as box-init, which stays; the probe opens its
/// /proc/PID/exe, and once that `box exec` has ended, so that nothing
/// executes the file (ETXTBSY no longer stops a write), reopens it for
/// writing through /proc/self/fd and writes. What it reaches is box's
/// sealed copy, which takes no write; the host's file is unchanged. Before
/// the fix this overwrote the host's box (here a copy of it).
#[test]
#[ignore = "needs root"]
fn exec_never_hands_the_host_box_to_a_container() {
    let test = "exec_never_hands_the_host_box_to_a_container";
    let Some(root) = setup_with_exe_probe(test) else {
        return;
    };
    let host = HostBox::copy("host-box-exec");
    let r = path_str(root.path()).to_string();
    let (dev, ino) = (host.dev.to_string(), host.ino.to_string());
    for init in [false, true] {
        let name = format!("hx-exec-{}-{}", init as u8, std::process::id());
        let _sweep = ContainerSweep::new(&name);
        let mut args = vec!["run", "-d", "--name", &name, "--rootfs", &r];
        if init {
            args.push("--init");
        }
        args.extend_from_slice(&["sleep", "1000"]);
        let started = run_box(&args);
        assert_eq!(started.code(), 0, "{started:?}");
        let mut exec = KillOnDrop(
            Command::new(&host.path)
                .args(["exec", &name, "--", "/bin/box-init", "--subreaper", "--"])
                .args(["sleep", "1000"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let log = format!("/tmp/grab-exec-{}.log", init as u8);
        let grab = run_box([
            "exec",
            &name,
            "--",
            "/bin/exe_probe",
            "grab",
            &log,
            "10",
            &dev,
            &ino,
        ]);
        assert_eq!(grab.code(), 0, "{grab:?}");
        let grab_file = root.path().join(log.trim_start_matches('/'));
        let start = Instant::now();
        while !std::fs::read_to_string(&grab_file).is_ok_and(|l| l.contains("open_write")) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the probe grabbed nothing"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // box exec forwards SIGTERM: box-init and its sleep end, and so
        // does box exec.
        // SAFETY: kill(2) on the PID of a child this test spawned.
        unsafe { libc::kill(exec.0.id() as i32, libc::SIGTERM) };
        let _ = exec.0.wait();
        let text = probe_log(&root, &log, Duration::from_secs(15));
        assert_not_host_box(&format!("{test} (--init {init})"), &text);
        let _ = run_box(["stop", "-t", "0", &name]);
    }
    assert!(host.unchanged(), "the host's box was overwritten");
}

// --- Fault injection ---

/// A small xorshift generator: the seed is printed, and BOX_FAULT_SEED
/// replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// SIGKILL to `box run` at 200 random moments of a run with limits (so a
/// cgroup is made), a bind, a tmpfs and a name (so state is written), 20
/// names in turn (so later runs take over what earlier ones left). After
/// each kill: no process of the run may survive it (the container dies with
/// box) and no host mount may mention the rootfs. What box documents as
/// left for later (with `--rm`, the state of a run killed before it could
/// remove it, under /run/box until `box ps` or the next run of the name; an
/// empty cgroup until the next run of the name) is counted and printed;
/// after `box ps` and one more run of each name nothing may be left.
#[test]
#[ignore = "needs root"]
fn sigkill_at_random_moments_leaves_nothing() {
    let test = "sigkill_at_random_moments_leaves_nothing";
    let Some(root) = setup(test) else { return };
    let data = TempDir::new("fault-data");
    std::fs::write(data.path().join("file"), "data\n").unwrap();
    let prefix = format!("hf-{}-", std::process::id());
    let _sweep = ContainerSweep::new(&prefix);
    let names: Vec<String> = (0..20).map(|k| format!("{prefix}{k}")).collect();
    let r = path_str(root.path()).to_string();
    let bind = format!("{}:/data:ro", data.path().display());
    let ours = [root.path(), data.path()];
    let mounts_before = mounts_mentioning(&ours);
    let args = |name: &str, script: &str| -> Vec<String> {
        [
            "run",
            "--rm",
            "--rootfs",
            &r,
            "--name",
            name,
            "--pids",
            "32",
            "--memory",
            "64M",
            "--tmpfs",
            "/scratch:size=1M",
            "--bind",
            &bind,
            "sh",
            "-c",
            script,
            name,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // `; exit 0` keeps sh from exec'ing sleep, so the container's PID 1
    // keeps the name in its command line.
    let script = "test -r /data/file && sleep 0.02; exit 0";

    // How long a whole run takes (the median of 5: other tests may load
    // the machine meanwhile): the kills fall anywhere in it.
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let run = run_box(args(&names[0], script));
            assert_eq!(run.code(), 0, "{run:?}");
            start.elapsed()
        })
        .collect();
    times.sort();
    let typical = times[2];
    let span = typical.as_micros() as u64 + 1;
    let seed = std::env::var("BOX_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    eprintln!("hardening: {test}: a run takes {typical:?}; seed {seed}");

    let mut killed = 0;
    let mut finished = 0;
    let mut state_left = 0;
    let mut cgroup_left = 0;
    let mut slowest_death = Duration::ZERO;
    let mut problems = Vec::new();
    let started = Instant::now();
    for i in 0..200 {
        let name = &names[i % names.len()];
        let delay = Duration::from_micros(rng.next() % span);
        let mut child = Command::new(BOX)
            .args(args(name, script))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(status) => {
                finished += 1;
                if !status.success() {
                    let mut err = String::new();
                    use std::io::Read;
                    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                    problems.push(format!(
                        "run {i} ({name}) failed unkilled: {status:?} {err}"
                    ));
                }
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                killed += 1;
            }
        }
        let left = wait_no_leftover_processes(&prefix, Some(root.path()), Duration::from_secs(2));
        if !left.is_empty() {
            problems.push(format!(
                "kill {i} after {delay:?}: processes alive 2 s later: {left:#?}"
            ));
            for p in &left {
                // SAFETY: kill(2) on a process of this test's runs.
                unsafe { libc::kill(p.pid, libc::SIGKILL) };
            }
        }
        if Path::new("/run/box").join(name).exists() {
            state_left += 1;
        }
        let groups = cgroup_dirs_named_exactly(name);
        if !groups.is_empty() {
            cgroup_left += 1;
        }
        // The container's tasks leave its group as they finish dying (the
        // parent-death signal is asynchronous): wait for that, 2 s at most.
        let since_kill = Instant::now();
        for g in &groups {
            loop {
                let procs = std::fs::read_to_string(g.join("cgroup.procs")).unwrap_or_default();
                if procs.trim().is_empty() {
                    break;
                }
                if since_kill.elapsed() > Duration::from_secs(2) {
                    let detail: Vec<String> = procs
                        .split_whitespace()
                        .map(|pid| {
                            let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                                .unwrap_or_default();
                            let keep = |l: &&str| {
                                ["Name:", "State:", "PPid:"]
                                    .iter()
                                    .any(|k| l.starts_with(k))
                            };
                            format!(
                                "{pid} {:?}",
                                status.lines().filter(keep).collect::<Vec<_>>()
                            )
                        })
                        .collect();
                    problems.push(format!(
                        "kill {i} after {delay:?}: tasks left in {} 2 s later: {detail:?}",
                        g.display()
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        slowest_death = slowest_death.max(since_kill.elapsed());
        let mounts = mounts_mentioning(&ours);
        if mounts != mounts_before {
            problems.push(format!(
                "kill {i} after {delay:?}: host mounts: {mounts:#?}"
            ));
        }
    }
    let elapsed = started.elapsed();
    let state_before_cleanup = state_dirs_with_prefix(&prefix);
    let cgroups_before_cleanup = cgroup_dirs_with_prefix(&prefix);
    eprintln!(
        "hardening: {test}: 200 runs in {elapsed:?}: {killed} killed, {finished} done before the kill; \
         right after a kill, state dir left {state_left} times, cgroup dir left {cgroup_left} times; \
         the slowest group took {slowest_death:?} to empty"
    );
    eprintln!(
        "hardening: {test}: before cleanup: state {state_before_cleanup:?}, cgroups {cgroups_before_cleanup:#?}"
    );

    // The documented cleanup: `box ps` removes the state of dead `--rm`
    // containers, the next run of a name replaces its empty cgroup.
    let ps = run_box(["ps"]);
    assert_eq!(ps.code(), 0, "{ps:?}");
    let state_after_ps = state_dirs_with_prefix(&prefix);
    for name in &names {
        let run = run_box(args(name, "true"));
        if run.code() != 0 {
            problems.push(format!("the run after the kills, {name}: {run:?}"));
        }
    }
    let state_after = state_dirs_with_prefix(&prefix);
    let cgroups_after = cgroup_dirs_with_prefix(&prefix);
    let procs_after = leftover_processes(&prefix, Some(root.path()));
    eprintln!(
        "hardening: {test}: after box ps: state {state_after_ps:?}; after one more run of each name: state {state_after:?}, cgroups {cgroups_after:?}, processes {}",
        procs_after.len()
    );
    assert!(
        problems.is_empty(),
        "seed {seed}: {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        state_after_ps.is_empty(),
        "seed {seed}: box ps left state of dead containers: {state_after_ps:?}"
    );
    assert!(
        state_after.is_empty() && cgroups_after.is_empty() && procs_after.is_empty(),
        "seed {seed}: left after cleanup: state {state_after:?}, cgroups {cgroups_after:#?}, processes {procs_after:#?}"
    );
    assert_eq!(mounts_mentioning(&ours), mounts_before, "seed {seed}");
}

/// `box run --name` (foreground and `-d`) with /run read-only or full, in a
/// private mount namespace of the test (util-linux unshare; a tmpfs over
/// /run there, the host's /run untouched): exit 125, one line naming
/// /run/box and the errno, and nothing left: no state in that /run, no
/// cgroup, no process. "no free block" means no data can be written though
/// inodes remain: a state file can be created but not filled.
#[test]
#[ignore = "needs root"]
fn full_or_read_only_run_fails_with_one_line_and_leaves_nothing() {
    let test = "full_or_read_only_run_fails_with_one_line_and_leaves_nothing";
    let Some(root) = setup(test) else { return };
    let unshare = "/usr/bin/unshare";
    if !Path::new(unshare).exists() {
        skip(test, "needs util-linux unshare at /usr/bin/unshare");
        return;
    }
    let prefix = format!("hfull-{}-", std::process::id());
    let _sweep = ContainerSweep::new(&prefix);
    let tmpfs = "mount -t tmpfs -o size=64k,mode=755 box-test-run /run";
    // The smallest inode limit the kernel accepts is the number in use:
    // then no inode is free (tmpfs counts one more than its two
    // directories on 6.18, so the number is found, not assumed).
    let used = "u=1; until mount -o remount,nr_inodes=$u /run 2>/dev/null; do u=$((u + 1)); done";
    let cases: &[(&str, String, &str)] = &[
        (
            "read-only /run",
            format!("{tmpfs} && mount -o remount,ro /run"),
            "Read-only file system",
        ),
        (
            "read-only /run/box",
            format!("{tmpfs} && mkdir -m 700 /run/box && mount -o remount,ro /run"),
            "Read-only file system",
        ),
        (
            "no free inode",
            format!(
                "{tmpfs} && mkdir -m 700 /run/box && {used} && mount -o remount,nr_inodes=$u /run"
            ),
            "No space left on device",
        ),
        (
            "one free inode",
            format!(
                "{tmpfs} && mkdir -m 700 /run/box && {used} && mount -o remount,nr_inodes=$((u + 1)) /run"
            ),
            "No space left on device",
        ),
        (
            "no free block",
            format!(
                "{tmpfs} && mkdir -m 700 /run/box && mount -o remount,size=4k /run && \
                 {{ dd if=/dev/zero of=/run/fill bs=1k count=64 2>/dev/null || true; }}"
            ),
            "No space left on device",
        ),
    ];
    let mut problems = Vec::new();
    for (k, (what, prepare, errno)) in cases.iter().enumerate() {
        for detach in [false, true] {
            let name = format!("{prefix}{k}{}", if detach { "d" } else { "" });
            let d = if detach { "-d" } else { "" };
            let script = format!(
                "set -e; {prepare}; set +e; \
                 \"$0\" run {d} --rootfs \"$1\" --name \"$2\" --pids 32 sh -c 'sleep 0.3; exit 0' \"$2\" >/dev/null; \
                 echo \"rc=$?\"; sleep 0.1; echo \"left: $(ls -A /run/box 2>/dev/null | tr '\\n' ' ')\""
            );
            let run = run_command(Command::new(unshare).args([
                "-m",
                "sh",
                "-c",
                &script,
                BOX,
                path_str(root.path()),
                &name,
            ]));
            let label = format!("{what}{}", if detach { " (-d)" } else { "" });
            let rc = run
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("rc="))
                .unwrap_or("?");
            let left = run
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("left:"))
                .unwrap_or("?")
                .trim()
                .to_string();
            let lines: Vec<&str> = run.stderr.lines().collect();
            eprintln!("hardening: {test}: {label}: exit {rc}, stderr {lines:?}, left [{left}]");
            if rc != "125" {
                let hint = if rc == "0" {
                    "; box ran without complete state: the state files could be created but \
                     not filled, box did not notice, and `box ps` lists the running container \
                     as gone (and removes its state, freeing the name)"
                } else {
                    ""
                };
                problems.push(format!("{label}: exit {rc}, not 125{hint}: {run:?}"));
            } else if lines.len() != 1
                || !lines[0].starts_with("box")
                || !lines[0].contains("/run/box")
                || !lines[0].contains(errno)
            {
                problems.push(format!(
                    "{label}: not one line naming /run/box and {errno}: {run:?}"
                ));
            }
            if !left.is_empty() {
                problems.push(format!("{label}: left in /run/box: {left}"));
            }
            // (State under /run/box: the one unshare's tmpfs held, `left`.)
            let gone = left_behind(&name, root.path(), Duration::from_secs(2));
            problems.extend(gone.iter().map(|l| format!("{label}: {l}")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Run box with `args`, then `true`, and say how it went: its exit code
/// and its one error line (empty on success).
fn run_true(args: &[&str]) -> (i32, String) {
    let mut all = args.to_vec();
    all.push("true");
    let run = run_box(&all);
    let line = if run.code() == 0 {
        String::new()
    } else {
        one_error_line(&run).to_string()
    };
    (run.code(), line)
}

/// The names in a host directory, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An image whose /mnt is a link to `/proc/PID/root/HOSTDIR`, PID a host
/// process (pid 1 on the test VM; here a `sleep` of the test's, which any
/// root can reach whatever the sandbox): with the host's PID namespace
/// (`--ns` without pid, podman's `--pid=host`) that is the host's root,
/// seen from box's child while it still has every capability. Mount
/// points below /mnt (`--tmpfs`, a directory and a file `--bind`, with
/// and without pivot_root) are refused with exit 125 and the reason:
/// nothing is created in the host directory, nothing mounted on the host.
#[test]
#[ignore = "needs root"]
fn mount_points_do_not_follow_proc_root_links_to_the_host() {
    let test = "mount_points_do_not_follow_proc_root_links_to_the_host";
    let Some(root) = setup(test) else { return };
    let host = TempDir::new("magic-host");
    let sources = TempDir::new("magic-sources");
    let file = sources.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let sleeper = host_sleep();
    let link = format!("/proc/{}/root{}", sleeper.0.id(), path_str(host.path()));
    std::fs::remove_dir(root.path().join("mnt")).unwrap();
    std::os::unix::fs::symlink(&link, root.path().join("mnt")).unwrap();
    // The link leads to the host directory, from the host.
    assert!(std::fs::metadata(root.path().join("mnt")).unwrap().is_dir());
    let before = host_mounts();
    let dir_bind = format!("{}:/mnt/b/c", path_str(sources.path()));
    let file_bind = format!("{}:/mnt/f", path_str(&file));
    let r = path_str(root.path());
    let cases: [&[&str]; 4] = [
        &["--tmpfs", "/mnt/t/u"],
        &["--tmpfs", "/mnt"],
        &["--bind", &dir_bind],
        &["--bind", &file_bind],
    ];
    for case in cases {
        for extra in [&[][..], &["--no-pivot"][..]] {
            let mut args = vec!["run", "--rootfs", r, "--ns", "mount,uts"];
            args.extend_from_slice(case);
            args.extend_from_slice(extra);
            args.push("true");
            let run = run_box(&args);
            let line = assert_refused(&run, "magic link", &format!("{args:?}"));
            eprintln!("hardening: {test}: {case:?} {extra:?} -> {line}");
            assert_eq!(names_in(host.path()), Vec::<String>::new(), "{args:?}");
            assert_same_mounts(&before, test);
        }
    }
    assert_eq!(names_in(sources.path()), ["file"]);
}

/// An image whose /data is a link to `/proc/self/fd/N`, N each of the
/// descriptors box's child may hold while it builds the container (the
/// detached trees of the binds, among them): a mount point below /data
/// never lands in a host tree. Whatever N names, box refuses (or N is not
/// open), and the bind sources stay as they were.
#[test]
#[ignore = "needs root"]
fn mount_points_do_not_follow_fd_links_into_host_trees() {
    let test = "mount_points_do_not_follow_fd_links_into_host_trees";
    let Some(root) = setup(test) else { return };
    let sources = [TempDir::new("fd-one"), TempDir::new("fd-two")];
    let file = sources[0].path().join("file");
    std::fs::write(&file, "x").unwrap();
    let before = host_mounts();
    let r = path_str(root.path());
    let first = format!("{}:/x", path_str(sources[0].path()));
    let second = format!("{}:/data/y", path_str(sources[1].path()));
    let file_bind = format!("{}:/data/f", path_str(&file));
    let mut refused = 0;
    for n in 3..=12 {
        let data = root.path().join("data");
        let _ = std::fs::remove_file(&data);
        std::os::unix::fs::symlink(format!("/proc/self/fd/{n}"), &data).unwrap();
        let cases: [&[&str]; 3] = [
            &["--bind", &first, "--bind", &second],
            &["--bind", &first, "--tmpfs", "/data/z"],
            &["--bind", &first, "--bind", &file_bind],
        ];
        for case in cases {
            for ns in [&[][..], &["--ns", "mount,uts"][..]] {
                let mut args = vec!["run", "--rootfs", r];
                args.extend_from_slice(ns);
                args.extend_from_slice(case);
                let (code, line) = run_true(&args);
                assert_eq!(code, 125, "{args:?}: {line}");
                if line.contains("magic link") {
                    refused += 1;
                } else {
                    assert!(line.contains("No such file"), "{args:?}: {line}");
                }
                assert_eq!(names_in(sources[0].path()), ["file"], "{args:?}");
                assert_eq!(
                    names_in(sources[1].path()),
                    Vec::<String>::new(),
                    "{args:?}"
                );
                assert_same_mounts(&before, test);
            }
        }
    }
    eprintln!("hardening: {test}: refused as magic links: {refused}");
    assert!(refused > 0, "no N named a descriptor box holds");
}

/// Ordinary links in the image still lead mount points, inside the
/// container's root: `/var/run -> /run` (absolute, resolved in the new
/// root) and `/var/lock -> ../run` (relative), for a `--tmpfs` and for
/// binds below them, with and without pivot_root.
#[test]
#[ignore = "needs root"]
fn mount_points_follow_ordinary_links_in_the_image() {
    let test = "mount_points_follow_ordinary_links_in_the_image";
    let Some(root) = setup(test) else { return };
    std::fs::create_dir_all(root.path().join("var")).unwrap();
    std::fs::create_dir_all(root.path().join("run")).unwrap();
    std::os::unix::fs::symlink("/run", root.path().join("var/run")).unwrap();
    std::os::unix::fs::symlink("../run", root.path().join("var/lock")).unwrap();
    let sources = TempDir::new("plain-links");
    std::fs::write(sources.path().join("marker"), "DIR\n").unwrap();
    let file = sources.path().join("file");
    std::fs::write(&file, "FILE\n").unwrap();
    let dir_bind = format!("{}:/var/run/d", path_str(sources.path()));
    let file_bind = format!("{}:/var/lock/f:ro", path_str(&file));
    for extra in [&[][..], &["--no-pivot"][..], &["--ns", "mount,uts"][..]] {
        let mut args = vec![
            "--tmpfs", "/var/run", "--bind", &dir_bind, "--bind", &file_bind,
        ];
        args.extend_from_slice(extra);
        let run = in_container(
            &root,
            &args,
            "cat /run/d/marker /run/f; grep -c ' /run tmpfs\\| /run .* - tmpfs ' /proc/self/mountinfo",
        );
        assert_eq!(run.code(), 0, "{extra:?}: {run:?}");
        assert_eq!(run.stdout, "DIR\nFILE\n1\n", "{extra:?}: {run:?}");
    }
    // Nothing was made in the image: all of it went into the tmpfs.
    assert_eq!(names_in(&root.path().join("run")), Vec::<String>::new());
}
