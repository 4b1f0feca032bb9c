//! The default seccomp filter (src/seccomp.rs), on the host, as root, with a
//! busybox rootfs: a static C probe inside calls each refused syscall with
//! harmless arguments and prints the errno it got; ordinary programs and
//! box-init still work; `--seccomp unconfined` turns the filter off; a
//! capability given with `--cap-add` opens its syscalls (in `box exec` too);
//! numbers newer than box get ENOSYS from the filter itself.

mod common;

use common::*;
use std::collections::BTreeMap;

/// Calls each syscall raw (libc wrappers may not exist or may retry
/// differently) and prints `NAME ERRNO`, 0 for success. Arguments are
/// chosen so that nothing happens even when the call gets through: a bad
/// reboot magic, NULL times (EFAULT), missing files, level-0 iopl.
/// `probe x32` and `probe i386` make one getpid through the other ABIs.
const PROBE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long ret) {
    printf("%s %d\n", name, ret < 0 ? errno : 0);
    fflush(stdout);
}
#define TRY(name, ...) do { errno = 0; report(name, syscall(__VA_ARGS__)); } while (0)

/* `probe answer NR…`: who answers each syscall NR. The probe adds a filter
 * of its own that hands these numbers to a supervisor (itself), which
 * answers EXDEV, and calls each NR in a child. A number box's filter
 * answers itself (ERRNO outranks USER_NOTIF, whatever the order of the
 * filters) comes back with box's errno and never reaches the supervisor;
 * a number box lets through comes back EXDEV. Prints `answer_NR ERRNO`. */
static void answer(int count, char **numbers) {
    struct sock_filter insns[64];
    if (count > 60) exit(2);
    /* 0: load the number; 1..count: one comparison each, jumping to the
     * USER_NOTIF return on a match; then return ALLOW, return USER_NOTIF. */
    insns[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                            offsetof(struct seccomp_data, nr));
    for (int i = 1; i <= count; i++)
        insns[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                (unsigned)atol(numbers[i - 1]),
                                                count + 1 - i, 0);
    insns[count + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    insns[count + 2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
    struct sock_fprog prog = { (unsigned short)(count + 3), insns };
    int listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                           SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener < 0) { perror("seccomp"); exit(1); }
    for (int i = 0; i < count; i++) {
        long nr = atol(numbers[i]);
        pid_t child = fork();
        if (child == 0) {
            errno = 0;
            long r = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
            _exit(r < 0 ? errno : 0);
        }
        int pidfd = syscall(SYS_pidfd_open, child, 0);
        struct pollfd fds[2] = { { listener, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
        if (poll(fds, 2, 10000) > 0 && (fds[0].revents & POLLIN)) {
            struct seccomp_notif req;
            memset(&req, 0, sizeof req);
            if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
                struct seccomp_notif_resp resp;
                memset(&resp, 0, sizeof resp);
                resp.id = req.id;
                resp.error = -EXDEV;
                ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
            }
        }
        int status = 0;
        waitpid(child, &status, 0);
        close(pidfd);
        printf("answer_%ld %d\n", nr,
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "answer") == 0) {
        answer(argc - 2, argv + 2);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "x32") == 0) {
#ifdef __x86_64__
        long r = syscall(0x40000000L | SYS_getpid);
        printf("x32 %ld %d\n", r, r < 0 ? errno : 0);
#endif
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "i386") == 0) {
#ifdef __x86_64__
        long r;
        /* getpid is 20 in the i386 table. */
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
        printf("i386 %ld\n", r);
#endif
        return 0;
    }
    TRY("init_module", SYS_init_module, NULL, 0UL, "");
    TRY("finit_module", SYS_finit_module, -1, "", 0);
    TRY("delete_module", SYS_delete_module, "box-no-such-module", O_NONBLOCK);
    TRY("kexec_load", SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
    {
        /* A real handle for "/" (name_to_handle_at is allowed), opened. */
        struct { struct file_handle h; unsigned char bytes[128]; } fh;
        int mount_id;
        fh.h.handle_bytes = 128;
        errno = 0;
        report("name_to_handle_at",
               syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mount_id, 0));
        int root = open("/", O_RDONLY | O_DIRECTORY);
        TRY("open_by_handle_at", SYS_open_by_handle_at, root, &fh.h, O_RDONLY);
    }
    /* KEYCTL_GET_KEYRING_ID of the session keyring, not creating it. */
    TRY("keyctl", SYS_keyctl, 0, -3, 0);
    TRY("add_key", SYS_add_key, "user", "box-test", "x", 1, -3);
    TRY("request_key", SYS_request_key, "user", "box-no-such-key", NULL, 0);
    TRY("bpf", SYS_bpf, -1, NULL, 0);
    TRY("perf_event_open", SYS_perf_event_open, NULL, 0, -1, -1, 0UL);
    /* UFFD_USER_MODE_ONLY | O_CLOEXEC, which the kernel allows anyone. */
    TRY("userfaultfd", SYS_userfaultfd, 1 | O_CLOEXEC);
    TRY("io_uring_setup", SYS_io_uring_setup, 1, NULL);
    TRY("reboot", SYS_reboot, 0, 0, 0, NULL);
    TRY("swapon", SYS_swapon, "/box-no-such-swap", 0);
    TRY("swapoff", SYS_swapoff, "/box-no-such-swap");
    TRY("acct", SYS_acct, NULL);
    TRY("quotactl", SYS_quotactl, 0, NULL, 0, NULL);
    TRY("clock_settime", SYS_clock_settime, 0, NULL);
    TRY("settimeofday", SYS_settimeofday, NULL, NULL);
    TRY("adjtimex", SYS_adjtimex, NULL);
    /* SYSLOG_ACTION_SIZE_BUFFER. */
    TRY("syslog", SYS_syslog, 10, NULL, 0);
    TRY("mount", SYS_mount, "none", "/tmp", "tmpfs", 0UL, NULL);
    TRY("setns", SYS_setns, -1, 0);
#ifdef __x86_64__
    /* Level 0 only lowers the level: the kernel allows anyone. */
    TRY("iopl", SYS_iopl, 0);
    TRY("ioperm", SYS_ioperm, 0UL, 0UL, 0);
#endif
    TRY("clone3", SYS_clone3, NULL, 0UL);
    TRY("personality_query", SYS_personality, 0xffffffffUL);
    TRY("personality_no_aslr", SYS_personality, 0x0040000UL);
    TRY("personality_linux", SYS_personality, 0UL);
    {
        /* clone with CLONE_NEWUSER | SIGCHLD; a child exits at once. */
        errno = 0;
        long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | 17), 0L, 0L, 0L, 0L);
        if (pid == 0) _exit(0);
        report("clone_newuser", pid);
        pid_t child = fork();
        if (child == 0) _exit(0);
        report("fork", child);
    }
    TRY("unshare_files", SYS_unshare, CLONE_FILES);
    /* Last: it leaves this process in a namespace without mappings. */
    TRY("unshare_user", SYS_unshare, CLONE_NEWUSER);
    return 0;
}
"#;

const EPERM: i32 = libc::EPERM;

/// A busybox rootfs with the probe at /bin/probe.
fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    let root = busybox_rootfs(test);
    compile_static_c(test, PROBE, &root.path().join("bin/probe"))?;
    Some(root)
}

fn rootfs(root: &TempDir) -> &str {
    root.path().to_str().unwrap()
}

/// Run the probe; its `NAME ERRNO` lines.
fn probe(root: &TempDir, extra: &[&str]) -> BTreeMap<String, i32> {
    let mut args = vec!["run", "--rootfs", rootfs(root)];
    args.extend_from_slice(extra);
    args.push("/bin/probe");
    let run = run_box(&args);
    assert_eq!(run.code(), 0, "{run:?}");
    run.stdout
        .lines()
        .map(|line| {
            let (name, errno) = line.split_once(' ').expect("NAME ERRNO");
            (name.to_string(), errno.parse().expect("errno"))
        })
        .collect()
}

/// The syscalls the filter refuses with EPERM that the probe calls.
fn refused() -> Vec<&'static str> {
    let mut names = vec![
        "init_module",
        "finit_module",
        "delete_module",
        "kexec_load",
        "open_by_handle_at",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "reboot",
        "swapon",
        "swapoff",
        "acct",
        "quotactl",
        "clock_settime",
        "settimeofday",
        "adjtimex",
        "syslog",
        "mount",
        "setns",
        "personality_no_aslr",
        "clone_newuser",
        "unshare_user",
    ];
    if cfg!(target_arch = "x86_64") {
        names.extend(["iopl", "ioperm"]);
    }
    names
}

#[test]
#[ignore = "needs root"]
fn refused_syscalls_get_eperm() {
    let Some(root) = setup("refused_syscalls_get_eperm") else {
        return;
    };
    let got = probe(&root, &[]);
    for name in refused() {
        assert_eq!(got.get(name), Some(&EPERM), "{name}: {got:?}");
    }
    // What stays allowed: clone3 answers ENOSYS (so callers fall back to
    // clone), plain fork, unshare without namespaces, Linux personalities.
    assert_eq!(got.get("clone3"), Some(&libc::ENOSYS), "{got:?}");
    for name in [
        "fork",
        "unshare_files",
        "personality_query",
        "personality_linux",
    ] {
        assert_eq!(got.get(name), Some(&0), "{name}: {got:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn unconfined_reaches_the_kernel() {
    let Some(root) = setup("unconfined_reaches_the_kernel") else {
        return;
    };
    let got = probe(&root, &["--seccomp", "unconfined"]);
    // Without the filter these get the kernel's own answers. (Those behind
    // a capability the container lacks — init_module, reboot, swapon, acct,
    // mount, syslog… — get EPERM either way: the filter is the second wall.)
    let expected = [
        // The NULL time is read before any permission check.
        ("clock_settime", libc::EFAULT),
        ("adjtimex", libc::EFAULT),
        // Not a descriptor.
        ("setns", libc::EBADF),
        // The kernel lets anyone turn off address randomisation.
        ("personality_no_aslr", 0),
    ];
    for (name, errno) in expected {
        assert_eq!(got.get(name), Some(&errno), "{name}: {got:?}");
    }
    // Refused by the filter only, whatever the kernel then says (ENOSYS
    // where it lacks the feature, EFAULT/EINVAL for the bad arguments, or
    // success).
    let mut differ = vec!["perf_event_open", "userfaultfd"];
    if cfg!(target_arch = "x86_64") {
        differ.push("iopl");
    }
    for name in differ {
        let errno = got.get(name).copied();
        assert!(errno.is_some() && errno != Some(EPERM), "{name}: {got:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn status_shows_the_filter() {
    let Some(root) = setup("status_shows_the_filter") else {
        return;
    };
    let script = "grep '^Seccomp:' /proc/self/status";
    let run = run_box(["run", "--rootfs", rootfs(&root), "sh", "-c", script]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "Seccomp:\t2\n", "{run:?}");
    let run = run_box([
        "run",
        "--rootfs",
        rootfs(&root),
        "--seccomp",
        "unconfined",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "Seccomp:\t0\n", "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn ordinary_programs_work_under_the_filter() {
    let Some(root) = setup("ordinary_programs_work_under_the_filter") else {
        return;
    };
    // A pipeline, a subshell, a background job and its wait: fork, exec,
    // pipes, signals and wait, besides what each applet needs.
    let script = "ls / > /tmp/ls && ps -o pid,comm | grep -c ps && date +%Y | grep -q 2 \
                  && (echo sub) && sleep 0.1 & wait $!; cat /tmp/ls | wc -l; id -u; \
                  echo x > /tmp/f && rm /tmp/f && echo done";
    let run = run_box(["run", "--rootfs", rootfs(&root), "sh", "-c", script]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    assert!(run.stdout.ends_with("0\ndone\n"), "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn box_init_runs_under_the_filter() {
    let Some(root) = setup("box_init_runs_under_the_filter") else {
        return;
    };
    // box-init starts the command with clone3, which the filter answers
    // ENOSYS: it must fall back to clone and still reap and forward.
    add_box_libraries(root.path());
    let script = "grep '^Seccomp:' /proc/1/status /proc/self/status; \
                  (sleep 0.1 &); sleep 0.3; ps -o stat | grep -c '^Z'; exit 3";
    let run = run_box([
        "run",
        "--rootfs",
        rootfs(&root),
        "--init",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(run.code(), 3, "{run:?}");
    assert_eq!(
        run.stdout, "/proc/1/status:Seccomp:\t2\n/proc/self/status:Seccomp:\t2\n0\n",
        "{run:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn other_abis_are_killed() {
    let test = "other_abis_are_killed";
    if !cfg!(target_arch = "x86_64") {
        skip(test, "x32 and i386 exist only on x86_64");
        return;
    }
    let Some(root) = setup(test) else {
        return;
    };
    let r = rootfs(&root);
    // x32: the filter kills whether or not the kernel has the ABI.
    let run = run_box(["run", "--rootfs", r, "/bin/probe", "x32"]);
    assert_eq!(run.code(), 128 + libc::SIGSYS, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    // i386 through int 0x80, where the kernel has IA32 emulation.
    let free = run_box([
        "run",
        "--rootfs",
        r,
        "--seccomp",
        "unconfined",
        "/bin/probe",
        "i386",
    ]);
    if free.code() != 0 {
        skip(test, "i386 part: no IA32 emulation in this kernel");
        return;
    }
    assert_eq!(free.stdout, "i386 1\n", "getpid as PID 1: {free:?}");
    let run = run_box(["run", "--rootfs", r, "/bin/probe", "i386"]);
    assert_eq!(run.code(), 128 + libc::SIGSYS, "{run:?}");
}

#[test]
#[ignore = "needs root"]
fn spec_file_key_and_bad_values() {
    let Some(root) = setup("spec_file_key_and_bad_values") else {
        return;
    };
    let spec = root.path().join("unconfined.box");
    std::fs::write(
        &spec,
        format!(
            "rootfs {}\nseccomp unconfined\ncmd grep ^Seccomp: /proc/self/status\n",
            rootfs(&root)
        ),
    )
    .unwrap();
    let run = run_box(["run", "--file", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "Seccomp:\t0\n", "{run:?}");

    let run = run_box(["run", "--rootfs", rootfs(&root), "--seccomp", "off", "true"]);
    assert_eq!(run.code(), 125, "{run:?}");
    let line = one_error_line(&run);
    assert!(
        line.contains("--seccomp off: use default or unconfined"),
        "{line}"
    );

    std::fs::write(
        &spec,
        format!("rootfs {}\nseccomp none\ncmd true\n", rootfs(&root)),
    )
    .unwrap();
    let run = run_box(["run", "--file", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(
        one_error_line(&run).contains("unconfined.box:2: seccomp none"),
        "{run:?}"
    );
}

/// `--cap-add sys_admin` alone makes `mount` work inside (and the mount
/// stays in the container); it opens the calls of its row in
/// src/seccomp.rs and no other.
#[test]
#[ignore = "needs root"]
fn sys_admin_opens_mount_and_only_its_calls() {
    let test = "sys_admin_opens_mount_and_only_its_calls";
    let Some(root) = setup(test) else {
        return;
    };
    let r = rootfs(&root);
    let before = host_mounts();
    let script = "mount -t tmpfs box-test /mnt && grep -c ' /mnt tmpfs ' /proc/self/mounts";
    let admin = run_box([
        "run",
        "--rootfs",
        r,
        "--cap-add",
        "sys_admin",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(admin.code(), 0, "{admin:?}");
    assert_eq!(admin.stdout, "1\n", "{admin:?}");
    // busybox's words for EPERM from mount(2).
    let default = run_box(["run", "--rootfs", r, "sh", "-c", script]);
    assert_ne!(default.code(), 0, "{default:?}");
    assert!(
        default.stderr.contains("permission denied (are you root?)"),
        "{default:?}"
    );
    assert_same_mounts(&before, "after a mount inside a container");

    let got = probe(&root, &["--cap-add", "sys_admin"]);
    // Opened: the kernel answers (the tmpfs on the container's /tmp, a
    // user namespace, bad arguments).
    let opened = [
        ("mount", 0),
        ("clone_newuser", 0),
        ("unshare_user", 0),
        ("setns", libc::EBADF),
        ("clone3", libc::EINVAL),
        ("swapon", libc::ENOENT),
        ("swapoff", libc::ENOENT),
    ];
    for (name, errno) in opened {
        assert_eq!(got.get(name), Some(&errno), "{name}: {got:?}");
    }
    for name in ["bpf", "perf_event_open", "quotactl"] {
        let errno = got.get(name).copied();
        assert!(errno.is_some() && errno != Some(EPERM), "{name}: {got:?}");
    }
    // Not sys_admin's: refused by the filter, where the kernel would have
    // let them through (keyctl, userfaultfd, iopl, personality) or
    // answered EFAULT for their NULL argument (io_uring, the clock).
    let mut refused = vec![
        "keyctl",
        "add_key",
        "userfaultfd",
        "io_uring_setup",
        "clock_settime",
        "adjtimex",
        "personality_no_aslr",
        "kexec_load",
        "init_module",
        "reboot",
        "acct",
        "open_by_handle_at",
    ];
    if cfg!(target_arch = "x86_64") {
        refused.extend(["iopl", "ioperm"]);
    }
    for name in refused {
        assert_eq!(got.get(name), Some(&EPERM), "{name}: {got:?}");
    }
}

/// `--cap-add sys_time` lets `date -s` past the filter to the kernel. The
/// date is past what the kernel accepts (2232), so the kernel answers
/// EINVAL before its own capability check and the host's clock is never
/// changed; without sys_time the filter answers EPERM first.
#[test]
#[ignore = "needs root"]
fn sys_time_lets_the_clock_calls_reach_the_kernel() {
    let test = "sys_time_lets_the_clock_calls_reach_the_kernel";
    let Some(root) = setup(test) else {
        return;
    };
    let r = rootfs(&root);
    let script = "date -s '2300-01-01 00:00'";
    // busybox's date says so and exits 0 all the same.
    let default = run_box(["run", "--rootfs", r, "sh", "-c", script]);
    assert!(
        default
            .stderr
            .contains("can't set date: Operation not permitted"),
        "{default:?}"
    );
    let time = run_box([
        "run",
        "--rootfs",
        r,
        "--cap-add",
        "sys_time",
        "sh",
        "-c",
        script,
    ]);
    assert!(
        time.stderr.contains("can't set date: Invalid argument"),
        "{time:?}"
    );

    // The NULL time is read before any permission check; settimeofday
    // with neither time nor zone changes nothing.
    let got = probe(&root, &["--cap-add", "sys_time"]);
    let expected = [
        ("clock_settime", libc::EFAULT),
        ("adjtimex", libc::EFAULT),
        ("settimeofday", 0),
        ("mount", EPERM),
        ("keyctl", EPERM),
    ];
    for (name, errno) in expected {
        assert_eq!(got.get(name), Some(&errno), "{name}: {got:?}");
    }
}

/// A syscall number newer than box (above the highest it knows, or in the
/// room x86_64 keeps for its own calls) is answered ENOSYS by the filter
/// itself: the probe's own filter below box's never sees it. A known number
/// and every number without box's filter reach it.
#[test]
#[ignore = "needs root"]
fn numbers_newer_than_box_get_enosys_from_the_filter() {
    let test = "numbers_newer_than_box_get_enosys_from_the_filter";
    let Some(root) = setup(test) else {
        return;
    };
    let r = rootfs(&root);
    let known = libc::SYS_getppid.to_string();
    let mut newer = vec!["470", "1000"];
    if cfg!(target_arch = "x86_64") {
        newer.push("337");
    }
    let answers = |extra: &[&str]| {
        let mut args = vec!["run", "--rootfs", r];
        args.extend_from_slice(extra);
        args.extend(["/bin/probe", "answer", &known]);
        args.extend(&newer);
        let run = run_box(&args);
        assert_eq!(run.code(), 0, "{run:?}");
        run.stdout
    };
    let expect = |known: i32, newer_errno: i32| {
        let mut lines = format!("answer_{} {known}\n", libc::SYS_getppid);
        for nr in &newer {
            lines += &format!("answer_{nr} {newer_errno}\n");
        }
        lines
    };
    assert_eq!(answers(&[]), expect(libc::EXDEV, libc::ENOSYS));
    assert_eq!(
        answers(&["--cap-add", "all"]),
        expect(libc::EXDEV, libc::ENOSYS)
    );
    assert_eq!(
        answers(&["--seccomp", "unconfined"]),
        expect(libc::EXDEV, libc::EXDEV)
    );
}

/// `box exec` installs the filter built for the container's capabilities:
/// in a `--cap-add sys_admin` container it can mount, and what sys_admin
/// does not open stays refused.
#[test]
#[ignore = "needs root"]
fn exec_filter_follows_the_containers_capabilities() {
    let test = "exec_filter_follows_the_containers_capabilities";
    let Some(root) = setup(test) else {
        return;
    };
    let name = format!("s-exec-{}", std::process::id());
    let _sweep = ContainerSweep::new(&name);
    run_detached(
        &name,
        rootfs(&root),
        &[
            "--cap-add",
            "sys_admin",
            "sh",
            "-c",
            "while :; do sleep 1; done",
        ],
    );
    let start = std::time::Instant::now();
    while run_box(["exec", &name, "true"]).code() != 0 {
        assert!(start.elapsed().as_secs() < 10, "the container never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let script = "mount -t tmpfs box-test /mnt && grep -c ' /mnt tmpfs ' /proc/self/mounts; \
                  grep ^Seccomp: /proc/self/status";
    let exec = run_box(["exec", &name, "--", "sh", "-c", script]);
    assert_eq!(exec.code(), 0, "{exec:?}");
    assert_eq!(exec.stdout, "1\nSeccomp:\t2\n", "{exec:?}");
    let exec = run_box(["exec", &name, "--", "/bin/probe"]);
    assert_eq!(exec.code(), 0, "{exec:?}");
    let got: BTreeMap<&str, i32> = exec
        .stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, e)| (n, e.parse().unwrap()))
        .collect();
    let expected = [
        ("setns", libc::EBADF),
        ("clone3", libc::EINVAL),
        ("keyctl", EPERM),
        ("userfaultfd", EPERM),
        ("clock_settime", EPERM),
    ];
    for (what, errno) in expected {
        assert_eq!(got.get(what), Some(&errno), "{what}: {exec:?}");
    }
    assert_eq!(run_box(["stop", "-t", "0", &name]).code(), 0);
}
