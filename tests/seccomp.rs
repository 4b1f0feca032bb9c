//! The default seccomp filter (src/seccomp.rs), on the host, as root, with a
//! busybox rootfs: a static C probe inside calls each refused syscall with
//! harmless arguments and prints the errno it got; ordinary programs and
//! box-init still work; `--seccomp unconfined` turns the filter off.

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
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long ret) {
    printf("%s %d\n", name, ret < 0 ? errno : 0);
    fflush(stdout);
}
#define TRY(name, ...) do { errno = 0; report(name, syscall(__VA_ARGS__)); } while (0)

int main(int argc, char **argv) {
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
