/*
 * The bench's stand-in for an OCI runtime under an engine (cargo xtask
 * bench, "Under an engine"): the engine runs this program where it would
 * run the runtime; it runs the real runtime RUNTIME with the same
 * arguments as its child, waits for it, appends one line to LOG and exits
 * as the runtime did. The line:
 *
 *   CHILDREN SELF ARG...
 *
 * CHILDREN is getrusage(RUSAGE_CHILDREN)'s ru_maxrss: the largest peak
 * resident set (KiB) of the runtime's process and of every process the
 * runtime itself waited for (a runtime's helpers; not the container's
 * process, which outlives the runtime and is reaped by the engine's
 * shim). SELF is this program's own peak (VmHWM: its own memory's; not
 * getrusage's RUSAGE_SELF, which starts from the engine's peak, as engines
 * spawn with vfork semantics), which the child's figure starts from (the
 * child is a fork of it until its exec): the least CHILDREN can be.
 * ARG... are the runtime's arguments, to tell create, start, state,
 * kill and delete apart.
 *
 * RUNTIME and LOG are compiled in (-DRUNTIME="..." -DLOG="..."): an engine
 * passes its runtime neither an environment nor a file of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RUNTIME
#error "compile with -DRUNTIME=\"/path/of/the/runtime\""
#endif
#ifndef LOG
#error "compile with -DLOG=\"/path/of/the/log\""
#endif

/* VmHWM of this process, KiB, or -1. */
static long own_peak(void)
{
	char text[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = 0;
	char *line = strstr(text, "VmHWM:");
	return line ? strtol(line + 6, NULL, 10) : -1;
}

int main(int argc, char **argv)
{
	(void)argc;
	argv[0] = RUNTIME;
	pid_t pid = fork();
	if (pid < 0) {
		perror("rss: fork");
		return 125;
	}
	if (pid == 0) {
		execv(RUNTIME, argv);
		perror("rss: exec " RUNTIME);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("rss: waitpid");
			return 125;
		}
	}
	struct rusage children;
	getrusage(RUSAGE_CHILDREN, &children);

	/* One write of the whole line: O_APPEND keeps the lines of runtimes
	 * running at once apart. */
	char line[4096];
	int n = snprintf(line, sizeof line, "%ld %ld", children.ru_maxrss, own_peak());
	for (char **arg = argv + 1; *arg && n < (int)sizeof line - 2; arg++)
		n += snprintf(line + n, sizeof line - n - 1, " %s", *arg);
	if (n > (int)sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	int fd = open(LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, n) != n)
		perror("rss: " LOG);
	if (fd >= 0)
		close(fd);

	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		kill(getpid(), WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}
