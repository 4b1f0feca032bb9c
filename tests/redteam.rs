//! Red-team attempts from root inside a default container (`box run`,
//! `box run -d` + `box exec`, `box run --init`), beyond tests/hardening.rs:
//! the caller's terminal, the mount API on /proc and /sys, clone3 and
//! setns, SysV IPC, cgroupfs and devpts, the size of /dev and /dev/shm,
//! what `box exec` reads of the container's init (a chrooted init with a
//! forged /proc/1/status got out: box exec reads the host's procfs since),
//! box-init under forged signals, a host directory handed as a standard
//! descriptor (the other that got out: refused since), keyrings and the
//! kernel's riskier calls and helpers, links planted by a previous run of
//! the rootfs, and the size of a detached container's log. A static C
//! probe inside prints one `WHAT RESULT` line per attempt, RESULT being
//! `OK` or the errno's name.

mod common;

use common::*;
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mount.h>
#include <linux/sched.h>

static void report(const char *what, long ret) {
    if (ret >= 0) printf("%s OK\n", what);
    else printf("%s %s\n", what, strerrorname_np(errno));
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *cmd = argv[1];
    char name[64];
    if (!strcmp(cmd, "tty")) {
        static char text[] = "echo INJECTED\n";
        for (int fd = 0; fd < 3; fd++) {
            snprintf(name, sizeof name, "tiocsti_%d", fd);
            long r = 0;
            for (char *c = text; *c && r == 0; c++) r = ioctl(fd, TIOCSTI, c);
            report(name, r);
            char sub = 6; /* TIOCLINUX: shift state, harmless */
            snprintf(name, sizeof name, "tioclinux_%d", fd);
            report(name, ioctl(fd, TIOCLINUX, &sub));
        }
        int t = open("/dev/tty", O_RDWR);
        report("dev_tty", t);
        report("dev_console", open("/dev/console", O_RDWR));
        report("tiocsctty_0", ioctl(0, TIOCSCTTY, 1));
        /* The kernel's console output redirected to this terminal. */
        report("tioccons_0", ioctl(0, TIOCCONS));
    } else if (!strcmp(cmd, "mountapi")) {
        report("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/proc/sys", 0));
        report("open_tree_clone", syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE));
        report("fspick", syscall(SYS_fspick, AT_FDCWD, "/proc/sys", 0));
        struct mount_attr attr = { .attr_clr = MOUNT_ATTR_RDONLY };
        report("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/proc/sys", 0, &attr, sizeof attr));
        report("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/proc", AT_FDCWD, "/mnt", 0));
        report("fsopen_proc", syscall(SYS_fsopen, "proc", 0));
        report("fsopen_sysfs", syscall(SYS_fsopen, "sysfs", 0));
        report("fsopen_cgroup2", syscall(SYS_fsopen, "cgroup2", 0));
        report("fsmount", syscall(SYS_fsmount, -1, 0, 0));
        report("proc_sys_write", open("/proc/sys/kernel/hostname", O_WRONLY));
        report("proc_attr_write", open("/proc/self/attr/current", O_WRONLY));
    } else if (!strcmp(cmd, "clone3")) {
        struct clone_args a; memset(&a, 0, sizeof a);
        a.flags = CLONE_NEWUSER; a.exit_signal = SIGCHLD;
        long r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0) _exit(0);
        report("clone3_newuser", r);
        memset(&a, 0, sizeof a); a.exit_signal = SIGCHLD;
        r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0) _exit(0);
        report("clone3_plain", r);
        int fd = open("/proc/1/ns/mnt", O_RDONLY);
        report("setns_mnt", syscall(SYS_setns, fd, 0));
        int pfd = syscall(SYS_pidfd_open, 1, 0);
        report("setns_pidfd", syscall(SYS_setns, pfd, CLONE_NEWNS));
    } else if (!strcmp(cmd, "ipc")) {
        int key = 0x0b0c5e11;
        report("shmget", shmget(key, 4096, IPC_CREAT | 0666));
        report("msgget", msgget(key, IPC_CREAT | 0666));
        report("semget", semget(key, 1, IPC_CREAT | 0666));
        /* Host segments by id: the IPC namespace hides them. */
        struct shm_info info;
        int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
        printf("shm_max_index %d used %d\n", max, info.used_ids);
    } else if (!strcmp(cmd, "cgroup")) {
        report("cgroup_procs", open("/sys/fs/cgroup/cgroup.procs", O_WRONLY));
        DIR *d = opendir("/sys/fs/cgroup"); int n = 0;
        if (d) { while (readdir(d)) n++; closedir(d); }
        printf("cgroup_entries %d\n", n);
    } else if (!strcmp(cmd, "devpts")) {
        DIR *d = opendir("/dev/pts"); 
        if (d) { struct dirent *e; while ((e = readdir(d))) printf("pts_entry %s\n", e->d_name); closedir(d); }
        report("host_pts_0", open("/dev/pts/0", O_RDWR));
    } else if (!strcmp(cmd, "fill")) {
        /* argv[2]: a file on a tmpfs; how much it takes. */
        static char buf[65536];
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        long total = 0, n;
        while ((n = write(fd, buf, sizeof buf)) > 0) total += n;
        printf("filled %s %ld %s\n", argv[2], total, strerrorname_np(errno));
    } else if (!strcmp(cmd, "clone_parent")) {
        /* A sibling: a child of whoever is our parent. */
        long r = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0L, 0L, 0L, 0L);
        if (r == 0) { if (argc < 3) sleep(3); _exit(7); }
        report("clone_parent", r);
        return 0;
    } else if (!strcmp(cmd, "comm")) {
        prctl(PR_SET_NAME, "x\nSeccomp:\t0\n)");
        pause();
    } else if (!strcmp(cmd, "sigstorm")) {
        /* Forged signals at PID 1 (box-init), then exit 3. */
        union sigval v = {0};
        for (int i = 0; i < 20000; i++) {
            sigqueue(1, SIGCHLD, v);
            if (i % 100 == 0) kill(1, SIGCHLD);
        }
        report("sigkill_1", kill(1, SIGKILL));
        report("sigstop_1", kill(1, SIGSTOP));
        for (int i = 0; i < 200; i++) if (fork() == 0) _exit(0);
        return 3;
    } else if (!strcmp(cmd, "fds")) {
        /* On stderr: device and inode of 0, 1 and /dev/null. */
        const char *paths[] = {"/proc/self/fd/0", "/proc/self/fd/1", "/dev/null"};
        for (int i = 0; i < 3; i++) {
            struct stat st;
            if (stat(paths[i], &st) == 0)
                fprintf(stderr, "%lu:%lu\n", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
        }
    } else if (!strcmp(cmd, "status")) {
        FILE *f = fopen("/proc/self/status", "r"); char line[256];
        while (fgets(line, sizeof line, f)) if (!strncmp(line, "Seccomp:", 8) || !strncmp(line, "CapEff", 6) || !strncmp(line, "NoNewPrivs", 10)) fputs(line, stdout);
    } else if (!strcmp(cmd, "kernel")) {
        /* Keyrings: the caller's session keyring, a key added, one asked for. */
        report("keyctl_session", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* SESSION */, 0L));
        report("keyctl_user", syscall(SYS_keyctl, 0, -4 /* USER */, 0L));
        report("keyctl_join", syscall(SYS_keyctl, 1 /* JOIN_SESSION_KEYRING */, 0L));
        report("add_key", syscall(SYS_add_key, "user", "box-rt", "x", 1L, -3L));
        report("request_key", syscall(SYS_request_key, "user", "box-rt-host", 0L, 0L));
        static char zero[256];
        report("io_uring_setup", syscall(SYS_io_uring_setup, 1L, zero));
        report("bpf", syscall(SYS_bpf, 0 /* MAP_CREATE */, zero, 72L));
        report("perf_event_open", syscall(SYS_perf_event_open, zero, 0L, -1L, -1L, 0L));
        report("userfaultfd", syscall(SYS_userfaultfd, 0L));
        report("kexec_load", syscall(SYS_kexec_load, 0L, 0L, 0L, 0L));
        report("kexec_file_load", syscall(SYS_kexec_file_load, -1L, -1L, 0L, "", 0L));
        report("personality_exec", syscall(SYS_personality, 0x0400000L /* READ_IMPLIES_EXEC */));
        report("personality_norandom", syscall(SYS_personality, 0x0040000L /* ADDR_NO_RANDOMIZE */));
#ifdef __x86_64__
        report("iopl", syscall(SYS_iopl, 3L));
        report("ioperm", syscall(SYS_ioperm, 0x80L, 1L, 1L));
#endif
        /* Shocker's guessed handle: inode 2, the root of an ext4 or xfs. */
        struct { unsigned bytes; int type; unsigned char h[8]; } fh = { 8, 1, {2, 0, 0, 0, 0, 0, 0, 0} };
        report("open_by_handle_at", syscall(SYS_open_by_handle_at, open("/", O_RDONLY), &fh, O_RDONLY));
        /* Host code run by the kernel: helpers, binfmt_misc, release_agent. */
        report("core_pattern", open("/proc/sys/kernel/core_pattern", O_WRONLY));
        report("modprobe", open("/proc/sys/kernel/modprobe", O_WRONLY));
        report("uevent_helper", open("/sys/kernel/uevent_helper", O_WRONLY));
        report("binfmt_register", open("/proc/sys/fs/binfmt_misc/register", O_WRONLY));
        mkdir("/tmp/m", 0755);
        report("mount_binfmt_misc", syscall(SYS_mount, "b", "/tmp/m", "binfmt_misc", 0L, 0L));
        report("mount_cgroup_v1", syscall(SYS_mount, "c", "/tmp/m", "cgroup", 0L, "rdma,release_agent=/x"));
        report("mount_debugfs", syscall(SYS_mount, "d", "/tmp/m", "debugfs", 0L, 0L));
        report("mount_tracefs", syscall(SYS_mount, "t", "/tmp/m", "tracefs", 0L, 0L));
        report("kcore", open("/proc/kcore", O_RDONLY));
        const char *dirs[] = {"/sys/firmware", "/sys/kernel/debug", "/sys/kernel/tracing", "/sys/kernel/security"};
        for (int i = 0; i < 4; i++) {
            DIR *d = opendir(dirs[i]); int n = 0;
            if (d) { while (readdir(d)) n++; closedir(d); }
            printf("entries %s %d\n", dirs[i], n);
        }
        /* The first address in /proc/kallsyms. */
        FILE *f = fopen("/proc/kallsyms", "r"); char line[256] = "";
        if (f && fgets(line, sizeof line, f)) { line[16] = 0; printf("kallsyms %s\n", line); }
    } else if (!strcmp(cmd, "caps")) {
        /* What the command holds, without /proc (a forged root has none). */
        struct { unsigned version; int pid; } head = { 0x20080522, 0 };
        struct { unsigned eff, perm, inh; } data[2];
        syscall(SYS_capget, &head, data);
        printf("capeff %08x%08x\n", data[1].eff, data[0].eff);
        printf("seccomp %d\n", prctl(PR_GET_SECCOMP));
        printf("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        report("mount_tmpfs", syscall(SYS_mount, "t", "/tmp", "tmpfs", 0L, 0L));
    } else return 2;
    return 0;
}
"#;

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    let root = busybox_rootfs(test);
    compile_static_c(test, PROBE_C, &root.path().join("bin/probe"))?;
    Some(root)
}

fn rootfs(root: &TempDir) -> &str {
    root.path().to_str().unwrap()
}

/// `box run --rootfs ROOT /bin/probe ARGS…`.
fn probe(root: &TempDir, args: &[&str]) -> Run {
    let mut all = vec!["run", "--rootfs", rootfs(root), "/bin/probe"];
    all.extend_from_slice(args);
    run_box(&all)
}

/// Assert the probe's result for each WHAT is `want`.
fn expect(run: &Run, want: &[(&str, &str)]) {
    for (what, result) in want {
        let got = result_of(run, what);
        eprintln!("redteam: {what} -> {got}");
        assert_eq!(got, *result, "{what}\n{run:?}");
    }
}

/// box ARGS with stdin a pipe closed at once (not /dev/null, which box
/// replaces with the container's own).
fn run_box_piped(args: &[&str]) -> Run {
    let mut child = Command::new(BOX)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    wait_with_timeout(child, Duration::from_secs(30))
}

fn name(tag: &str) -> String {
    format!("rt-{tag}-{}", std::process::id())
}

#[test]
#[ignore = "needs root"]
fn terminal_injection_never_reaches_the_caller() {
    let test = "terminal_injection_never_reaches_the_caller";
    let Some(root) = setup(test) else {
        return;
    };
    if Command::new("script").arg("-V").output().is_err() {
        return skip(test, "needs script(1) (util-linux) for a terminal");
    }
    let sweep = ContainerSweep::new(&name("tty"));
    run_detached(&sweep.prefix, rootfs(&root), &["sleep", "60"]);
    let r = rootfs(&root);
    // TIOCSTI on 0, 1, 2 and /dev/tty: were any the caller's terminal, the
    // text would be the next line the caller's shell reads.
    for (args, tty) in [
        (format!("run --rootfs {r}"), false),
        (format!("run -t --rootfs {r}"), true),
        (format!("exec {}", sweep.prefix), false),
        (format!("exec -t {}", sweep.prefix), true),
    ] {
        let line = format!("{BOX} {args} /bin/probe tty; read -t 1 x; echo \"after:[$x]\"");
        let run = run_command(Command::new("script").args(["-qec", &line, "/dev/null"]));
        eprintln!("redteam: box {args}: {run:?}");
        assert!(run.stdout.contains("after:[]\r"), "box {args}\n{run:?}");
        let run = Run {
            stdout: run.stdout.replace('\r', ""),
            ..run
        };
        // With -t, TIOCSTI reaches the container's own pty only (the
        // caller read nothing), and TIOCCONS wants CAP_SYS_ADMIN.
        if tty {
            expect(&run, &[("tioccons_0", "EPERM")]);
        } else {
            expect(
                &run,
                &[
                    ("tiocsti_0", "ENOTTY"),
                    ("tiocsti_1", "ENOTTY"),
                    ("tiocsti_2", "ENOTTY"),
                    ("tioclinux_0", "ENOTTY"),
                    ("dev_tty", "ENXIO"),
                    ("tiocsctty_0", "ENOTTY"),
                    ("tioccons_0", "ENOTTY"),
                ],
            );
        }
    }
}

#[test]
#[ignore = "needs root"]
fn mount_api_cannot_reopen_proc_sys_or_cgroupfs() {
    let test = "mount_api_cannot_reopen_proc_sys_or_cgroupfs";
    let Some(root) = setup(test) else {
        return;
    };
    let run = probe(&root, &["mountapi"]);
    let mut want: Vec<(&str, &str)> = [
        "open_tree",
        "open_tree_clone",
        "fspick",
        "mount_setattr",
        "move_mount",
        "fsopen_proc",
        "fsopen_sysfs",
        "fsopen_cgroup2",
        "fsmount",
    ]
    .iter()
    .map(|w| (*w, "EPERM"))
    .collect();
    want.push(("proc_sys_write", "EROFS"));
    expect(&run, &want);
}

#[test]
#[ignore = "needs root"]
fn clone3_and_setns_make_no_namespace() {
    let test = "clone3_and_setns_make_no_namespace";
    let Some(root) = setup(test) else {
        return;
    };
    let run = probe(&root, &["clone3"]);
    expect(
        &run,
        &[
            ("clone3_newuser", "ENOSYS"),
            ("clone3_plain", "ENOSYS"),
            ("setns_mnt", "EPERM"),
            ("setns_pidfd", "EPERM"),
        ],
    );
}

#[test]
#[ignore = "needs root"]
fn sysv_ipc_stays_in_the_container() {
    let test = "sysv_ipc_stays_in_the_container";
    let Some(root) = setup(test) else {
        return;
    };
    let sweep = ContainerSweep::new(&name("ipc"));
    let script = "/bin/probe ipc > /tmp/ipc; sleep 60";
    run_detached(&sweep.prefix, rootfs(&root), &["sh", "-c", script]);
    let start = Instant::now();
    let inside = loop {
        let run = run_box(["exec", &sweep.prefix, "cat", "/tmp/ipc"]);
        if run.stdout.contains("shm_max_index") || start.elapsed() > Duration::from_secs(10) {
            break run;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Made, and alone there: none of the host's segments is visible.
    expect(
        &inside,
        &[("shmget", "OK"), ("msgget", "OK"), ("semget", "OK")],
    );
    assert!(inside.stdout.contains("used 1\n"), "{inside:?}");
    let key = format!(" {} ", 0x0b0c5e11);
    let on_host = || {
        ["shm", "msg", "sem"].iter().any(|t| {
            std::fs::read_to_string(format!("/proc/sysvipc/{t}"))
                .unwrap_or_default()
                .contains(&key)
        })
    };
    assert!(!on_host(), "the container's IPC objects are the host's");
    assert_eq!(run_box(["stop", "-t", "0", &sweep.prefix]).code(), 0);
    assert!(!on_host(), "the container's IPC objects outlived it");
}

#[test]
#[ignore = "needs root"]
fn no_cgroupfs_and_a_devpts_of_its_own() {
    let test = "no_cgroupfs_and_a_devpts_of_its_own";
    let Some(root) = setup(test) else {
        return;
    };
    let run = probe(&root, &["cgroup"]);
    expect(&run, &[("cgroup_procs", "ENOENT"), ("cgroup_entries", "2")]);
    let run = probe(&root, &["devpts"]);
    expect(&run, &[("host_pts_0", "ENOENT")]);
    let entries: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("pts_entry "))
        .collect();
    assert_eq!(entries, [".", "..", "ptmx"], "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn dev_and_dev_shm_are_bounded() {
    let test = "dev_and_dev_shm_are_bounded";
    let Some(root) = setup(test) else {
        return;
    };
    for (path, most) in [("/dev/fill", 64 << 10), ("/dev/shm/fill", 64 << 20)] {
        let run = probe(&root, &["fill", path]);
        let line = format!("filled {path} ");
        let (bytes, errno) = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&line)?.split_once(' '))
            .unwrap_or_else(|| panic!("{run:?}"));
        eprintln!("redteam: {path}: {bytes} bytes, then {errno}");
        assert_eq!(errno, "ENOSPC", "{run:?}");
        assert!(bytes.parse::<u64>().unwrap() <= most, "{run:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn exec_is_not_fooled_by_the_init_or_a_sibling() {
    let test = "exec_is_not_fooled_by_the_init_or_a_sibling";
    let Some(root) = setup(test) else {
        return;
    };
    let sweep = ContainerSweep::new(&name("exec"));
    // The init names itself "x\nSeccomp:\t0\n)": box exec reads its
    // /proc/1/status for the filter, and box ps its stat.
    run_detached(&sweep.prefix, rootfs(&root), &["/bin/probe", "comm"]);
    std::thread::sleep(Duration::from_millis(100));
    let run = run_box(["exec", &sweep.prefix, "/bin/probe", "status"]);
    assert!(run.stdout.contains("Seccomp:\t2\n"), "{run:?}");
    assert!(run.stdout.contains("NoNewPrivs:\t1\n"), "{run:?}");
    let ps = run_box(["ps"]);
    assert!(
        ps.stdout
            .lines()
            .any(|l| l.starts_with(&sweep.prefix) && l.contains("running")),
        "{ps:?}"
    );
    // A sibling made with CLONE_PARENT is a child of box exec that exits
    // first with 7: box exec still reports its command's 5.
    let start = Instant::now();
    let script = "/bin/probe clone_parent fast; sleep 1; exit 5";
    let run = run_box(["exec", &sweep.prefix, "sh", "-c", script]);
    assert_eq!(run.code(), 5, "{run:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
#[ignore = "needs root"]
fn box_init_survives_forged_signals() {
    let test = "box_init_survives_forged_signals";
    let Some(root) = setup(test) else {
        return;
    };
    add_box_libraries(root.path());
    // 20000 SIGCHLD queued at box-init, SIGKILL and SIGSTOP from inside
    // (ignored: it is PID 1 there), 200 children left to it; it still
    // reports the command's status.
    let run = run_box([
        "run",
        "--init",
        "--rootfs",
        rootfs(&root),
        "/bin/probe",
        "sigstorm",
    ]);
    assert_eq!(run.code(), 3, "{run:?}");
}

/// Run box ARGS with `fd` (0 or 1) on the directory `dir`.
fn with_directory_on(fd: u32, dir: &std::path::Path, args: &[&str]) -> Run {
    let mut command = Command::new(BOX);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let dir = File::open(dir).unwrap();
    if fd == 0 {
        command.stdin(dir);
    } else {
        command.stdout(dir);
    }
    wait_with_timeout(command.spawn().unwrap(), Duration::from_secs(30))
}

/// The hole: `box run … < /some/dir` gave the command a descriptor of a
/// host directory, and `cd /proc/self/fd/0/..` took it out of its root.
#[test]
#[ignore = "needs root"]
fn a_host_directory_as_stdin_or_stdout_is_refused() {
    let test = "a_host_directory_as_stdin_or_stdout_is_refused";
    let Some(root) = setup(test) else {
        return;
    };
    let host = TempDir::new(test);
    std::fs::create_dir(host.path().join("dir")).unwrap();
    std::fs::write(host.path().join("secret"), "host-only\n").unwrap();
    let sweep = ContainerSweep::new(&name("dir"));
    run_detached(&sweep.prefix, rootfs(&root), &["sleep", "60"]);
    for (fd, what) in [(0, "stdin"), (1, "stdout")] {
        let script = format!("cat /proc/self/fd/{fd}/../secret >&2; echo ran >&2");
        for box_args in [
            vec!["run", "--rootfs", rootfs(&root)],
            vec!["exec", &sweep.prefix],
        ] {
            let mut args = box_args.clone();
            args.extend(["sh", "-c", &script]);
            let run = with_directory_on(fd, &host.path().join("dir"), &args);
            eprintln!(
                "redteam: {what} on a directory, box {}: {run:?}",
                box_args[0]
            );
            assert!(!run.stderr.contains("host-only"), "escaped\n{run:?}");
            assert_eq!(run.code(), 125, "{run:?}");
            assert!(
                one_error_line(&run).contains("stdin, stdout or stderr is a directory"),
                "{run:?}"
            );
        }
    }
}

/// The second hole: a detached container's stdin was the host's /dev/null,
/// which root inside could `chmod 000 /proc/self/fd/0` for the whole host.
/// It is now a pipe that reads as end of file. (Checked by device and
/// inode, not by chmod, so that a regression does not break the host.) The
/// foreground's /dev/null: the test after this one.
#[test]
#[ignore = "needs root"]
fn a_detached_container_never_holds_the_hosts_dev_null() {
    use std::os::unix::fs::MetadataExt;
    let test = "a_detached_container_never_holds_the_hosts_dev_null";
    let Some(root) = setup(test) else {
        return;
    };
    let host = std::fs::metadata("/dev/null").unwrap();
    let host = format!("{}:{}", host.dev(), host.ino());
    let sweep = ContainerSweep::new(&name("null"));
    let script = "/bin/probe fds 2>&1; cat; echo read-eof; sleep 60";
    run_detached(&sweep.prefix, rootfs(&root), &["sh", "-c", script]);
    let start = Instant::now();
    let logs = loop {
        let logs = run_box(["logs", &sweep.prefix]);
        if logs.stdout.contains("read-eof") || start.elapsed() > Duration::from_secs(10) {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seen: Vec<&str> = logs.stdout.lines().filter(|l| l.contains(':')).collect();
    eprintln!("redteam: box run -d: host /dev/null {host}, stdin, stdout, /dev/null {seen:?}");
    assert!(logs.stdout.contains("read-eof"), "{logs:?}");
    assert_eq!(seen.len(), 3, "{logs:?}");
    assert_ne!(seen[0], host, "{logs:?}");
}

/// The third hole: the host's /dev/null as box's stdin or stdout (`box run
/// … < /dev/null > /dev/null`, the usual way to run something unattended)
/// was handed in as it is, and root inside could `chmod 000
/// /proc/self/fd/0` for the whole host. The command now gets the
/// container's own /dev/null in its place, under box run and box exec.
/// (Checked by device and inode, not by chmod, so that a regression does
/// not break the host.)
#[test]
#[ignore = "needs root"]
fn the_hosts_dev_null_is_never_handed_in() {
    use std::os::unix::fs::MetadataExt;
    let test = "the_hosts_dev_null_is_never_handed_in";
    let Some(root) = setup(test) else {
        return;
    };
    let host = std::fs::metadata("/dev/null").unwrap();
    let host = format!("{}:{}", host.dev(), host.ino());
    let sweep = ContainerSweep::new(&name("devnull"));
    run_detached(&sweep.prefix, rootfs(&root), &["sleep", "60"]);
    for box_args in [
        vec!["run", "--rootfs", rootfs(&root)],
        vec!["exec", &sweep.prefix],
    ] {
        let mut command = Command::new(BOX);
        command.args(&box_args).args(["/bin/probe", "fds"]);
        let run = wait_with_timeout(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
            Duration::from_secs(30),
        );
        // stdin, stdout and /dev/null, each as device:inode.
        let seen: Vec<&str> = run.stderr.lines().filter(|l| l.contains(':')).collect();
        eprintln!(
            "redteam: box {} < /dev/null > /dev/null: host {host}, inside {seen:?}",
            box_args[0]
        );
        assert_eq!(run.code(), 0, "{run:?}");
        assert_eq!(seen.len(), 3, "{run:?}");
        assert!(!seen.contains(&host.as_str()), "{run:?}");
        // The container's own, on both.
        assert_eq!(seen[0], seen[2], "{run:?}");
        assert_eq!(seen[1], seen[2], "{run:?}");
    }
    // A container that made its /dev/null a link (here to its stdout, a
    // descriptor of box exec's child while it is being set up): box exec
    // refuses that stdin, one line, 125, and follows no link.
    let plant = "rm /dev/null && ln -s /proc/self/fd/1 /dev/null";
    let run = run_box(["exec", &sweep.prefix, "sh", "-c", plant]);
    assert_eq!(run.code(), 0, "{run:?}");
    // run_box's stdin is the host's /dev/null.
    let run = run_box(["exec", &sweep.prefix, "/bin/probe", "fds"]);
    assert_refused(&run, "the container's /dev/null", "a link as /dev/null");
}

/// The container's init chroots into a directory of its own that holds a
/// forged /proc/1/status (no seccomp filter, every capability): box exec
/// enters the init's root and must not take its identity from a file
/// there. The command gets the container's filter and capabilities.
#[test]
#[ignore = "needs root"]
fn exec_takes_no_identity_from_a_forged_proc() {
    let test = "exec_takes_no_identity_from_a_forged_proc";
    let Some(root) = setup(test) else {
        return;
    };
    let sweep = ContainerSweep::new(&name("chroot"));
    let script = "mkdir -p /fake/proc/1 /fake/bin /fake/tmp && cp /bin/probe /bin/busybox /fake/bin/ \
        && printf 'Name:\\tx\\nUid:\\t0\\t0\\t0\\t0\\nGid:\\t0\\t0\\t0\\t0\\nCapBnd:\\t000001ffffffffff\\nSeccomp:\\t0\\n' > /fake/proc/1/status \
        && echo allow > /fake/proc/1/setgroups && exec chroot /fake /bin/busybox sleep 60";
    run_detached(&sweep.prefix, rootfs(&root), &["sh", "-c", script]);
    let start = Instant::now();
    while !root.path().join("fake/proc/1/setgroups").exists()
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    // Stdin a pipe: the forged root has no /dev/null to put in place of
    // the host's.
    let run = run_box_piped(&["exec", &sweep.prefix, "/bin/probe", "caps"]);
    eprintln!("redteam: box exec into a chrooted init: {run:?}");
    assert_eq!(run.code(), 0, "{run:?}");
    expect(
        &run,
        &[
            ("seccomp", "2"),
            ("no_new_privs", "1"),
            ("mount_tmpfs", "EPERM"),
        ],
    );
    let eff = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("capeff "))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(u64::MAX);
    assert_eq!(eff & (1 << 21), 0, "CAP_SYS_ADMIN in the command\n{run:?}");
}

/// Keyrings, the calls that reach the kernel's most exposed code, handles
/// (shocker's guess), the helpers the kernel runs as host root
/// (core_pattern, modprobe, uevent_helper, binfmt_misc, a cgroup v1
/// release_agent: CVE-2022-0492), debugfs and /proc/kcore, /proc/kallsyms'
/// addresses: each refused, read-only, empty or zero in a default
/// container.
#[test]
#[ignore = "needs root"]
fn kernel_interfaces_that_reach_the_host_are_closed() {
    let test = "kernel_interfaces_that_reach_the_host_are_closed";
    let Some(root) = setup(test) else {
        return;
    };
    let run = probe(&root, &["kernel"]);
    eprintln!("redteam: {run:?}");
    let mut want: Vec<(&str, &str)> = [
        "keyctl_session",
        "keyctl_user",
        "keyctl_join",
        "add_key",
        "request_key",
        "io_uring_setup",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "kexec_load",
        "kexec_file_load",
        "personality_exec",
        "personality_norandom",
        "open_by_handle_at",
        "mount_binfmt_misc",
        "mount_cgroup_v1",
        "mount_debugfs",
        "mount_tracefs",
    ]
    .iter()
    .map(|w| (*w, "EPERM"))
    .collect();
    if cfg!(target_arch = "x86_64") {
        want.extend([("iopl", "EPERM"), ("ioperm", "EPERM")]);
    }
    want.push(("core_pattern", "EROFS"));
    expect(&run, &want);
    // Missing where the kernel lacks them (CONFIG_MODULES,
    // CONFIG_UEVENT_HELPER, binfmt_misc not mounted, CONFIG_PROC_KCORE);
    // /dev/null where masked.
    for (what, allowed) in [
        ("modprobe", &["EROFS", "ENOENT"][..]),
        ("uevent_helper", &["EROFS", "ENOENT"]),
        ("binfmt_register", &["EROFS", "ENOENT"]),
        ("kcore", &["OK", "ENOENT"]),
    ] {
        let got = result_of(&run, what);
        assert!(allowed.contains(&got), "{what}: {got}\n{run:?}");
    }
    for dir in [
        "/sys/firmware",
        "/sys/kernel/debug",
        "/sys/kernel/tracing",
        "/sys/kernel/security",
    ] {
        let got = result_of(&run, &format!("entries {dir}"));
        assert!(["0", "2"].contains(&got), "{dir}: {got} entries\n{run:?}");
    }
    // Addresses only where the host shows them to every user (without
    // CAP_SYSLOG: kptr_restrict 0 and perf_event_paranoid at most 1).
    let sysctl = |name: &str| {
        let text = std::fs::read_to_string(format!("/proc/sys/kernel/{name}"));
        text.ok().and_then(|t| t.trim().parse::<i32>().ok())
    };
    if sysctl("kptr_restrict") != Some(0) || sysctl("perf_event_paranoid") > Some(1) {
        assert_eq!(result_of(&run, "kallsyms"), "0000000000000000", "{run:?}");
    }
}

/// The result the probe printed for `what`.
fn result_of<'r>(run: &'r Run, what: &str) -> &'r str {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(what)?.strip_prefix(' '))
        .unwrap_or("(no result)")
}

/// Links a previous run of the same rootfs planted (runc's CVE-2021-30465
/// class): /mnt, /opt, /srv and /var lead to a host directory by an
/// absolute path, by `/../../..` and by `../../..` from the image's top,
/// and /proc to it too. The next runs' mount points below them (`--bind`
/// of a directory and of a file, `--tmpfs`, with `--read-only`,
/// from a spec file, with `--no-pivot`; /dev a link, with a `--device`) resolve inside the
/// rootfs or are refused: nothing is made in the host directory, nothing
/// is mounted on the host.
#[test]
#[ignore = "needs root"]
fn links_planted_by_a_previous_run_stay_in_the_rootfs() {
    let test = "links_planted_by_a_previous_run_stay_in_the_rootfs";
    let Some(root) = setup(test) else {
        return;
    };
    let host = TempDir::new("rt-planted-host");
    let h = host.path().to_str().unwrap();
    let sources = TempDir::new("rt-planted-src");
    let file = sources.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let src = sources.path().to_str().unwrap();
    let f = file.to_str().unwrap();
    // The previous run, from inside.
    let plant = format!(
        "rm -rf /mnt /opt /srv /var && ln -s {h} /mnt && ln -s /../../../..{h} /opt \\
         && ln -s ../../../../..{h} /srv && ln -s /mnt/deeper /var"
    );
    let run = run_box(["run", "--rootfs", rootfs(&root), "sh", "-c", &plant]);
    assert_eq!(run.code(), 0, "{run:?}");
    let spec = sources.path().join("planted.box");
    std::fs::write(
        &spec,
        format!(
            "rootfs {}\nbind {src}:/opt/spec\ntmpfs /srv/spec\nread-only\n",
            rootfs(&root)
        ),
    )
    .unwrap();
    let before = host_mounts();
    let r = rootfs(&root);
    let dir_bind = format!("{src}:/mnt/sub/dir");
    let file_bind = format!("{f}:/srv/f");
    let ro_bind = format!("{src}:/var/ro:ro");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--bind", &dir_bind],
        vec!["--bind", &file_bind],
        vec!["--tmpfs", "/opt/t"],
        vec!["--tmpfs", "/mnt"],
        vec!["--read-only", "--bind", &ro_bind, "--tmpfs", "/srv/t"],
        vec!["--no-pivot", "--bind", &dir_bind, "--tmpfs", "/var/t"],
    ];
    let host_empty = || std::fs::read_dir(host.path()).unwrap().next().is_none();
    // First with the links dangling inside the rootfs (refused: the
    // directory they name is not there), then with it made in the rootfs
    // (the mounts land there).
    let inside = root.path().join(h.trim_start_matches('/'));
    for (round, want) in [(1, 125), (2, 0)] {
        let spec = spec.to_str().unwrap();
        let mut all: Vec<Vec<&str>> = cases.clone();
        all.push(vec!["--file", spec]);
        for case in &all {
            let mut args = vec!["run"];
            if case[0] != "--file" {
                args.extend(["--rootfs", r]);
            }
            args.extend_from_slice(case);
            args.extend(["--", "true"]);
            let run = run_box(&args);
            eprintln!(
                "redteam: round {round}: {case:?} -> {}: {}",
                run.code(),
                run.stderr.trim()
            );
            assert_eq!(run.code(), want, "{case:?}: {run:?}");
            assert!(host_empty(), "{case:?}: made on the host");
            assert_same_mounts(&before, test);
        }
        std::fs::create_dir_all(inside.join("deeper")).unwrap();
    }
    assert!(inside.join("sub/dir").is_dir() && inside.join("f").is_file());
    // /proc itself a link to the host directory: refused; /dev: made in
    // the rootfs.
    std::fs::remove_dir(root.path().join("dev")).unwrap();
    std::os::unix::fs::symlink(h, root.path().join("dev")).unwrap();
    let run = run_box_piped(&[
        "run",
        "--rootfs",
        r,
        "--device",
        "/dev/null:/dev/rt-null",
        "true",
    ]);
    eprintln!(
        "redteam: /dev a link -> {}: {}",
        run.code(),
        run.stderr.trim()
    );
    assert_eq!(run.code(), 0, "{run:?}");
    std::fs::remove_dir(root.path().join("proc")).unwrap();
    std::os::unix::fs::symlink(h, root.path().join("proc")).unwrap();
    let run = run_box(["run", "--rootfs", r, "true"]);
    eprintln!(
        "redteam: /proc a link -> {}: {}",
        run.code(),
        run.stderr.trim()
    );
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(host_empty(), "/dev or /proc mounted on the host");
    assert_same_mounts(&before, test);
    assert_eq!(std::fs::read_dir(sources.path()).unwrap().count(), 2);
}

/// A detached container writes 24 MiB as fast as it can: its log (in
/// /run/box, often a tmpfs: the host's RAM) stays within two files of
/// 1 MiB (`log` and `log.1`), and `box logs` ends with the last line.
#[test]
#[ignore = "needs root"]
fn a_detached_containers_log_is_bounded() {
    let test = "a_detached_containers_log_is_bounded";
    let Some(root) = setup(test) else {
        return;
    };
    let sweep = ContainerSweep::new(&name("log"));
    let script = "head -c 25165824 /dev/zero | tr '\\0' x; echo; echo last-line";
    let start = Instant::now();
    run_detached(&sweep.prefix, rootfs(&root), &["sh", "-c", script]);
    let dir = std::path::Path::new("/run/box").join(&sweep.prefix);
    let size = |f: &str| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len());
    let mut most = 0;
    loop {
        most = most.max(size("log") + size("log.1"));
        let ps = run_box(["ps"]);
        let done = ps
            .stdout
            .lines()
            .any(|l| l.starts_with(&sweep.prefix) && l.contains("exited"));
        if done || start.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    most = most.max(size("log") + size("log.1"));
    eprintln!(
        "redteam: 24 MiB written in {:?}: log {} + log.1 {} bytes, most seen {most}",
        start.elapsed(),
        size("log"),
        size("log.1")
    );
    assert!(most <= 2 << 20, "the log grew to {most} bytes");
    let logs = run_box(["logs", &sweep.prefix]);
    assert!(
        logs.stdout.ends_with("last-line\n"),
        "{}",
        logs.stdout.len()
    );
}
