/*
 * floor: the least a container runtime can do to run one command, as bare
 * syscalls. `cargo xtask bench` times box run and its peers against it, so
 * the ratio says what box costs on top of what the kernel itself costs.
 *
 *   floor [-n] [-H] [-c DIR [-w FILE=VALUE]...]... ROOTFS CMD [ARG...]
 *
 * Same work as `box run --rootfs ROOTFS CMD`: clone into new mount, UTS, IPC
 * and PID namespaces; in the child, make every mount private, bind the rootfs
 * onto itself, pivot_root(".", ".") and detach the old root, mount a fresh
 * /proc, exec CMD; the parent waits and exits with CMD's status (128+N when
 * killed by signal N, 125 when a step failed, naming it).
 *
 *   -n      also a new network namespace, with loopback up (box run --net)
 *   -H      also the rest of what box run does by default, as bare
 *           syscalls: a read-only /sys, a small /dev (tmpfs, devpts, shm,
 *           mqueue, six nodes, five links), masked and read-only parts of
 *           /proc and /sys, the hostname, capabilities cut to box's default
 *           set, no_new_privs, a seccomp filter of box's shape (a denylist
 *           of 48 numbers searched as a binary tree, 69 instructions),
 *           descriptors above 2 closed.
 *           What box run costs beyond this row is box's own overhead.
 *   -c DIR  a cgroup to run CMD in: created, written to (each -w FILE=VALUE
 *           after it), joined, removed after CMD ends (box run --memory,
 *           --pids). A cgroup2 directory is entered by clone3 itself
 *           (CLONE_INTO_CGROUP); a v1 one by the child writing to its
 *           cgroup.procs, which is all a v1 host allows.
 *
 * Built by the bench with `musl-gcc -O2 -static` (or `gcc -O2 -static`).
 * Nothing here is box's code: it is the yardstick.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* clone3 is 435 on every architecture (the unified syscall table). */
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#define CGROUP2_MAGIC 0x63677270

/* From the kernel's uapi headers, which musl-gcc does not see:
 * <linux/capability.h>, <linux/filter.h>, <linux/seccomp.h>,
 * <linux/audit.h>. */
#define CAPABILITY_VERSION_3 0x20080522
struct capability_header {
	uint32_t version;
	int pid;
};
struct capability_data {
	uint32_t effective, permitted, inheritable;
};
enum {
	CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_FOWNER = 3, CAP_FSETID = 4,
	CAP_KILL = 5, CAP_SETGID = 6, CAP_SETUID = 7, CAP_SETPCAP = 8,
	CAP_NET_BIND_SERVICE = 10, CAP_SYS_CHROOT = 18, CAP_MKNOD = 27,
	CAP_AUDIT_WRITE = 29, CAP_SETFCAP = 31,
};
struct bpf_instruction {
	uint16_t code;
	uint8_t jump_true, jump_false;
	uint32_t k;
};
struct bpf_program {
	unsigned short length;
	struct bpf_instruction *filter;
};
#define BPF_LOAD_WORD_ABS 0x20 /* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JUMP_EQUAL 0x15    /* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_JUMP_GE 0x35       /* BPF_JMP | BPF_JGE | BPF_K */
#define BPF_RETURN 0x06	       /* BPF_RET | BPF_K */
#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#define SECCOMP_RET_ERRNO 0x00050000U
#define SECCOMP_RET_ALLOW 0x7fff0000U
#define SECCOMP_DATA_NR 0   /* offsetof(struct seccomp_data, nr) */
#define SECCOMP_DATA_ARCH 4 /* offsetof(struct seccomp_data, arch) */
#if defined(__x86_64__)
#define FLOOR_AUDIT_ARCH 0xc000003eU
#elif defined(__aarch64__)
#define FLOOR_AUDIT_ARCH 0xc00000b7U
#endif

/* struct clone_args up to CLONE_ARGS_SIZE_VER2 (the cgroup field). */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
		stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define MAX_CGROUPS 4
#define MAX_WRITES 4

struct cgroup {
	const char *dir;
	const char *writes[MAX_WRITES]; /* "FILE=VALUE" */
	int write_count;
	int is_v2;
};

static struct cgroup cgroups[MAX_CGROUPS];
static int cgroup_count;

/* One line naming the step and the path, then exit 125 (as box does). */
static void fail(const char *step, const char *path)
{
	fprintf(stderr, "floor: %s %s: %s\n", step, path, strerror(errno));
	_exit(125);
}

static void usage(void)
{
	fputs("usage: floor [-n] [-H] [-c DIR [-w FILE=VALUE]...]... ROOTFS CMD [ARG...]\n",
	      stderr);
	exit(2);
}

static void write_file(const char *dir, const char *file, const char *value)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open", path);
	if (write(fd, value, strlen(value)) < 0)
		fail("write", path);
	close(fd);
}

/* Create each cgroup and write its limits, before the clone: the command
 * must never run unlimited. */
static void prepare_cgroups(void)
{
	for (int i = 0; i < cgroup_count; i++) {
		struct cgroup *group = &cgroups[i];
		if (mkdir(group->dir, 0755) < 0 && errno != EEXIST)
			fail("mkdir", group->dir);
		struct statfs fs;
		if (statfs(group->dir, &fs) < 0)
			fail("statfs", group->dir);
		group->is_v2 = fs.f_type == CGROUP2_MAGIC;
		for (int w = 0; w < group->write_count; w++) {
			char file[256];
			const char *equals = strchr(group->writes[w], '=');
			size_t length = equals - group->writes[w];
			if (length >= sizeof file)
				usage();
			memcpy(file, group->writes[w], length);
			file[length] = 0;
			write_file(group->dir, file, equals + 1);
		}
	}
}

/* `ip link set lo up`: a new network namespace starts with lo down. */
static void loopback_up(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		fail("socket", "AF_INET");
	struct ifreq request;
	memset(&request, 0, sizeof request);
	strcpy(request.ifr_name, "lo");
	if (ioctl(sock, SIOCGIFFLAGS, &request) < 0)
		fail("SIOCGIFFLAGS", "lo");
	request.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &request) < 0)
		fail("SIOCSIFFLAGS", "lo");
	close(sock);
}

/* -H: box run's default mounts after the root switch (its
 * src/container/rootfs.rs tables, same flags and options). */
static void box_mounts(void)
{
	static const struct {
		const char *source, *target, *type;
		unsigned long flags;
		const char *data;
	} mounts[] = {
		{"sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
		{"tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=64k"},
		{"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "newinstance,ptmxmode=0666,mode=0620"},
		{"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		 "mode=1777,size=65536k"},
		{"mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	};
	static const struct {
		const char *path;
		unsigned int major, minor;
	} nodes[] = {{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
		     {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
	static const char *const links[][2] = {
		{"pts/ptmx", "/dev/ptmx"}, {"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"}};
	static const char *const masked[] = {
		"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sysrq-trigger",
		"/proc/acpi", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"};
	static const char *const read_only[] = {"/proc/bus", "/proc/fs", "/proc/irq",
						"/proc/sys"};

	for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
		mkdir(mounts[i].target, 0755);
		if (mount(mounts[i].source, mounts[i].target, mounts[i].type,
			  mounts[i].flags, mounts[i].data) < 0)
			fail("mount", mounts[i].target);
	}
	mode_t mask = umask(0);
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
		if (mknod(nodes[i].path, S_IFCHR | 0666,
			  makedev(nodes[i].major, nodes[i].minor)) < 0)
			fail("mknod", nodes[i].path);
	umask(mask);
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			fail("symlink", links[i][1]);
	/* Files under /dev/null, directories under an empty read-only tmpfs;
	 * what this kernel lacks is skipped. */
	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
		struct stat st;
		if (stat(masked[i], &st) < 0)
			continue;
		int failed = S_ISDIR(st.st_mode)
				     ? mount("tmpfs", masked[i], "tmpfs",
					     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
				     : mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
		if (failed < 0)
			fail("mask", masked[i]);
	}
	for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++) {
		if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			fail("bind", read_only[i]);
		if (mount(NULL, read_only[i], NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			fail("remount read-only", read_only[i]);
	}
	if (sethostname("floor", 5) < 0)
		fail("sethostname", "floor");
}

enum { DENIED = 48, LEAF = 4 };

/* Instructions of the search over n numbers. */
static size_t search_length(size_t n)
{
	return n <= LEAF ? n : 1 + search_length(n / 2) + search_length(n - n / 2);
}

/* Emit the search over the numbers lo..hi-1 (the i-th being 1000 + i) at
 * *n; `end` is where the allow return follows, EPERM after it. */
static void search(struct bpf_instruction *program, size_t *n, size_t end,
		   size_t lo, size_t hi)
{
	if (hi - lo <= LEAF) {
		for (size_t i = lo; i < hi; i++) {
			size_t at = *n;
			uint8_t deny = (uint8_t)(end + 1 - at - 1);
			uint8_t otherwise = i + 1 == hi ? (uint8_t)(end - at - 1) : 0;
			program[(*n)++] = (struct bpf_instruction){
				BPF_JUMP_EQUAL, deny, otherwise, (uint32_t)(1000 + i)};
		}
		return;
	}
	size_t mid = lo + (hi - lo) / 2;
	program[(*n)++] = (struct bpf_instruction){
		BPF_JUMP_GE, (uint8_t)search_length(mid - lo), 0, (uint32_t)(1000 + mid)};
	search(program, n, end, lo, mid);
	search(program, n, end, mid, hi);
}

/* -H: box's default capability set, no_new_privs, a seccomp denylist as
 * long as box's, descriptors closed. */
static void box_restrictions(void)
{
	const uint64_t keep =
		1ULL << CAP_CHOWN | 1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_FOWNER |
		1ULL << CAP_FSETID | 1ULL << CAP_KILL | 1ULL << CAP_SETGID |
		1ULL << CAP_SETUID | 1ULL << CAP_SETPCAP | 1ULL << CAP_NET_BIND_SERVICE |
		1ULL << CAP_SYS_CHROOT | 1ULL << CAP_MKNOD | 1ULL << CAP_AUDIT_WRITE |
		1ULL << CAP_SETFCAP;
	for (int cap = 0; cap < 64; cap++) {
		if (keep >> cap & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			fail("PR_CAPBSET_DROP", "bounding set");
		}
	}
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		fail("setgroups", "none");
	struct capability_header header = {CAPABILITY_VERSION_3, 0};
	struct capability_data data[2] = {
		{(uint32_t)keep, (uint32_t)keep, 0},
		{(uint32_t)(keep >> 32), (uint32_t)(keep >> 32), 0}};
	if (syscall(SYS_capset, &header, data) < 0)
		fail("capset", "default set");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("PR_SET_NO_NEW_PRIVS", "1");

#ifdef FLOOR_AUDIT_ARCH
	/* Check the architecture, then search a sorted list of numbers and
	 * refuse a match with EPERM. As many numbers as box denies, searched
	 * as box searches them (halving on JGE down to 4, then JEQ each): the
	 * kernel runs the filter for every syscall number when it is
	 * installed, and every path through a balanced tree is about as long.
	 * The numbers themselves (1000 up) match no syscall. */
	struct bpf_instruction program[4 + 2 * DENIED + 2];
	size_t n = 0;
	program[n++] = (struct bpf_instruction){BPF_LOAD_WORD_ABS, 0, 0, SECCOMP_DATA_ARCH};
	program[n++] = (struct bpf_instruction){BPF_JUMP_EQUAL, 1, 0, FLOOR_AUDIT_ARCH};
	program[n++] = (struct bpf_instruction){BPF_RETURN, 0, 0, SECCOMP_RET_KILL_PROCESS};
	program[n++] = (struct bpf_instruction){BPF_LOAD_WORD_ABS, 0, 0, SECCOMP_DATA_NR};
	size_t end = n + search_length(DENIED);
	search(program, &n, end, 0, DENIED);
	program[n++] = (struct bpf_instruction){BPF_RETURN, 0, 0, SECCOMP_RET_ALLOW};
	program[n++] = (struct bpf_instruction){BPF_RETURN, 0, 0, SECCOMP_RET_ERRNO | EPERM};
	struct bpf_program fprog = {(unsigned short)n, program};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		fail("seccomp", "filter");
#endif
#ifdef SYS_close_range
	syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
#endif
}

/* The container process: from the clone to the exec. */
static void child(const char *rootfs, char **command, int net, int like_box)
{
	/* v1 groups: join them before anything else runs (cgroup2 was
	 * entered by clone3). */
	for (int i = 0; i < cgroup_count; i++)
		if (!cgroups[i].is_v2)
			write_file(cgroups[i].dir, "cgroup.procs", "0");
	/* Nothing mounted from here on may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("make-rprivate", "/");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail("bind", rootfs);
	if (chdir(rootfs) < 0)
		fail("chdir", rootfs);
	/* Stack the old root on top of the new one, then detach it: nothing
	 * of the host stays in this mount namespace (pivot_root(2)). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail("pivot_root", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		fail("umount2", "old root");
	if (chdir("/") < 0)
		fail("chdir", "/");
	/* A /proc of the new PID namespace. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		fail("mount", "/proc");
	if (net)
		loopback_up();
	if (like_box) {
		box_mounts();
		box_restrictions();
	}
	execv(command[0], command);
	fail("execv", command[0]);
}

int main(int argc, char **argv)
{
	int net = 0, like_box = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-n")) {
			net = 1;
		} else if (!strcmp(argv[i], "-H")) {
			like_box = 1;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			if (cgroup_count == MAX_CGROUPS)
				usage();
			cgroups[cgroup_count++].dir = argv[++i];
		} else if (!strcmp(argv[i], "-w") && i + 1 < argc &&
			   cgroup_count > 0 && strchr(argv[i + 1], '=')) {
			struct cgroup *group = &cgroups[cgroup_count - 1];
			if (group->write_count == MAX_WRITES)
				usage();
			group->writes[group->write_count++] = argv[++i];
		} else {
			usage();
		}
	}
	if (argc - i < 2)
		usage();
	const char *rootfs = argv[i];
	char **command = &argv[i + 1];

	prepare_cgroups();
	struct clone_args_v2 args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;
	if (net)
		args.flags |= CLONE_NEWNET;
	args.exit_signal = SIGCHLD;
	for (int g = 0; g < cgroup_count; g++) {
		if (!cgroups[g].is_v2)
			continue;
		int fd = open(cgroups[g].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fail("open", cgroups[g].dir);
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = fd;
	}
	/* clone3 without a stack behaves like fork; the child only makes
	 * syscalls until execve. */
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0)
		fail("clone3", "namespaces");
	if (pid == 0)
		child(rootfs, command, net, like_box);

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid", "child");
	for (int g = 0; g < cgroup_count; g++)
		if (rmdir(cgroups[g].dir) < 0)
			fail("rmdir", cgroups[g].dir);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
