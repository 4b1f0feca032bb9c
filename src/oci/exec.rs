//! `box-oci exec`: another process in a created or running container, as
//! podman (conmon) and the containerd shim ask runc for one. The process is
//! a runtime-spec `process` object (`--process FILE`), or the container's
//! own from its bundle with the command, `--cwd`, `--env`, `--user` and
//! `--tty` of the command line (runc's two forms).
//!
//! It is `box exec` (src/applet/exec.rs) with the OCI process's settings:
//! box-oci, already running from box's sealed copy (src/sys/exe.rs), makes
//! itself non-dumpable first; opens what it needs on the host (the init's
//! pidfd and root, the files that join its groups, the pid file's
//! directory, the console socket); enters the init's namespaces through
//! the pidfd and its root, and the working directory resolved inside that
//! root (openat2 RESOLVE_IN_ROOT, no magic links: a symlink planted by the
//! container cannot lead out); takes the container's seccomp filter (the
//! program create compiled, kept in the state directory, or box's own);
//! then clones the process, which joins the cgroups, closes every
//! inherited descriptor at exec, takes the process's limits, identity and
//! capabilities, and executes the command.
//!
//! With `--detach` box-oci exits once the command runs (after writing
//! `--pid-file`): the process is left to the caller, a subreaper, as
//! create leaves the init. Without it box-oci waits, forwards signals and
//! exits with the command's status (128+N when killed by signal N).

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;

use crate::bad;
use crate::container::child;
use crate::container::enter as box_exec;
use crate::container::tty::{ChildStdio, Relay};
use crate::error::{Context, Error, Result};
use crate::oci::config::Config;
use crate::oci::runtime::{self, Root, Status};
use crate::oci::seccomp::Program;
use crate::sys::entry::Args;
use crate::sys::exec::CStrArray;
use crate::sys::{exec, process, signal};
use crate::text::{Bytes, CPath};

use linux_raw_sys::general as k;

/// Largest process.json read.
const PROCESS_MAX: usize = 64 * 1024;

/// Most `--env` entries on the command line.
pub const MAX_CLI_ENV: usize = 32;

/// Most hierarchies whose group the process joins.
const MAX_CGROUPS: usize = 16;
// Written as a number in a message (an argument costs code).
const _: () = assert!(MAX_CGROUPS == 16 && MAX_CLI_ENV == 32);

/// What `exec` is given besides the container's id.
pub struct ExecOptions<'a> {
    /// `--process FILE`.
    pub process: Option<&'a [u8]>,
    pub detach: bool,
    pub pid_file: Option<&'a [u8]>,
    pub tty: bool,
    pub console_socket: Option<&'a [u8]>,
    pub cwd: Option<&'a [u8]>,
    pub env: heapless::Vec<&'a [u8], MAX_CLI_ENV>,
    /// `--user UID[:GID]`.
    pub user: Option<(u32, u32)>,
    /// CMD [ARG…], without `--process`.
    pub command: Args,
}

/// `exec`: run the process in container `id`; its exit status without
/// `--detach`, 0 with it once the command runs.
pub fn exec(root: Root<'_>, id: &[u8], options: &ExecOptions<'_>) -> Result<u8> {
    // Before anything of the container is touched: nothing in it may
    // trace box-oci or read its memory and descriptors (src/applet/exec.rs).
    box_exec::make_undumpable()?;
    let (status, recorded) = runtime::existing_status(root, id)?;
    let recorded = match (status, recorded) {
        (Status::Created | Status::Running, Some(r)) => r,
        (status, _) => {
            return Err(bad!(
                "cannot exec in container {}: container not running (it is {})",
                Bytes(id),
                status.name()
            ));
        }
    };
    let mut config = runtime::empty_config();
    read_process(root, id, options, &mut config)?;
    let process = config
        .process
        .as_ref()
        .ok_or_else(|| bad!("exec: no process"))?;
    if config.list(process.args).next().is_none() {
        return Err(bad!(
            "exec: no command: give --process FILE, or CMD after ID"
        ));
    }
    let caps = runtime::kept_capabilities(process)?;
    let mut limits = heapless::Vec::new();
    runtime::rlimits_of(process, &mut limits)?;

    // The container's seccomp program, as create compiled it.
    let mut program = Program::new();
    // One byte more than the largest program: read_whole refuses a file
    // that fills its buffer.
    let mut saved = [0u8; crate::oci::seccomp::MAX_INSTRUCTIONS * 8 + 1];
    let seccomp_path = root.file(id, runtime::SECCOMP)?;
    let n = runtime::read_file(
        &seccomp_path,
        packed!("read the container's seccomp program"),
        &mut saved,
    )
    .map_err(|e| {
        e.hint(packed!(
            "the container was created by another box-oci: recreate it"
        ))
    })?;
    let oci_seccomp = n > 0;
    if oci_seccomp {
        program
            .read_bytes(&saved[..n])
            .ok_or_else(|| bad!("{}: not a seccomp program", seccomp_path))?;
    }

    // The init, pinned by a pidfd, checked to be the recorded one.
    let pid = recorded.pid().ok_or_else(|| bad!("bad PID in the state"))?;
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
    if !recorded.alive() {
        return Err(bad!(
            "cannot exec in container {}: container not running",
            Bytes(id)
        ));
    }
    let raw_pid = recorded.pid;
    let flags = box_exec::differing_namespaces(raw_pid);
    let container_root = box_exec::open_proc_dir(raw_pid, b"/root")?;
    let mut setgroups = [0u8; 16];
    let setgroups_path = box_exec::proc_file(raw_pid, b"/setgroups");
    let m = crate::sys::fs::read_into(setgroups_path.as_cstr(), &mut setgroups).unwrap_or(0);
    let setgroups_denied = setgroups[..m].starts_with(b"deny");
    if !process.additional_gids.is_empty() && flags & k::CLONE_NEWUSER != 0 {
        return Err(bad!(
            "process.json: user.additionalGids: not supported with a user namespace"
        ));
    }

    // Host side, before joining: the cgroups (joined by the child), the
    // pid file's directory, the console socket, the OOM score.
    let mut cgroups: heapless::Vec<OwnedFd, MAX_CGROUPS> = heapless::Vec::new();
    box_exec::for_each_other_cgroup(pid, |procs| {
        let fd = rustix::fs::open(
            procs.as_cstr(),
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .at(
            packed!("join the container's cgroup"),
            "open",
            procs.as_bytes(),
        )?;
        cgroups
            .push(fd)
            .map_err(|_| bad!("join the container's cgroups: more than 16"))
    })?;
    let pid_file = options.pid_file.map(PidFile::open).transpose()?;
    let terminal = process.terminal || options.tty;
    let socket = match options.console_socket {
        Some(path) if terminal => Some(runtime::connect_console(path)?),
        Some(_) => {
            return Err(bad!(
                "--console-socket given but the process has no terminal (process.terminal, --tty)"
            ));
        }
        None if terminal && options.detach => {
            return Err(bad!(
                "a terminal with --detach needs --console-socket to send it to"
            ));
        }
        None => None,
    };
    if let Some(adj) = process.oom_score_adj {
        runtime::set_oom_score_adj(None, adj)?;
    }

    // Into the container: its namespaces, root and working directory.
    box_exec::join_namespaces(pid, pidfd.as_ref(), flags)?;
    box_exec::enter_root(&container_root)?;
    enter_cwd(&container_root, config.str(process.cwd))?;

    signal::block_signals(&crate::container::watched_signals());
    let (relay, stdio) = match socket {
        Some(socket) => (None, runtime::console(process, socket)),
        None if terminal => Relay::prepare(true)?,
        None => (
            None,
            ChildStdio::as_given(crate::container::tty::null_mask()?),
        ),
    };
    let mut stdio = Some(stdio);
    let mut argv = CStrArray::new();
    c_array(&config, process.args, &mut argv).map_err(|_| bad!("process.args: too many"))?;
    let mut envp = CStrArray::new();
    c_array(&config, process.env, &mut envp).map_err(|_| bad!("process.env: too many"))?;
    let search_path = config
        .list(process.env)
        .find_map(|e| e.strip_prefix(b"PATH="))
        .unwrap_or(crate::container::plan::DEFAULT_PATH);
    let program_name = config.c_list(process.args).next().unwrap_or(c"");
    let keep = rustix::thread::CapabilitySet::from_bits_retain(caps);
    let umask = process.umask.unwrap_or(0o022);
    let (uid, gid) = (process.uid, process.gid);
    let groups = &process.additional_gids;
    let (report_read, report_write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).at(
        packed!("create the report pipe"),
        "pipe2",
        b"",
    )?;

    // The filter from here on, so that the child has it from its first
    // instruction (src/applet/exec.rs, `seal`).
    rustix::thread::set_no_new_privs(true).at(
        packed!("set no_new_privs"),
        "prctl(PR_SET_NO_NEW_PRIVS)",
        b"",
    )?;
    if oci_seccomp {
        crate::sys::seccomp::set_filter(program.instructions()).at(
            packed!("install the container's seccomp profile"),
            "seccomp",
            b"",
        )?;
    } else {
        // box's own, built as create built it: for the capabilities the
        // process holds (all of them in a user namespace).
        let held = if flags & k::CLONE_NEWUSER != 0 {
            keep
        } else {
            rustix::thread::capabilities(None).map_or(keep, |own| keep & own.permitted)
        };
        let filter = crate::seccomp::for_capabilities(held)
            .ok_or_else(|| bad!("no seccomp filter for this architecture"))?;
        crate::seccomp::install(&filter).at(
            packed!("install the seccomp filter"),
            "seccomp",
            b"",
        )?;
    }

    let detach = options.detach;
    let mut channel = Some((report_read, report_write));
    let spawned = runtime::spawn(&mut || {
        let Some((read, write)) = channel.take() else {
            exec::exit_now(crate::error::EXIT_BOX)
        };
        drop(read);
        let entered = enter(
            write.as_fd(),
            detach,
            &cgroups,
            umask,
            &limits,
            (uid, gid, setgroups_denied, keep, groups),
        )
        .and_then(|()| match stdio.take() {
            Some(stdio) => child::connect_stdio(&stdio),
            None => Ok(()),
        });
        let error = match entered {
            Ok(()) => {
                signal::reset_signals();
                box_exec::exec_command(program_name, argv.argv(), envp.envp(), search_path)
            }
            Err(e) => e,
        };
        child::send_report(write.as_fd(), &error);
        exec::exit_now(error.code)
    })
    .map_err(|(call, e)| Error::sys(packed!("start the process"), call, b"", e))?;
    let (report_read, report_write) = channel.take().ok_or_else(|| bad!("report pipe lost"))?;
    drop(report_write);
    drop(stdio.take());
    drop(cgroups);
    let child_pid = spawned.process()?;
    let started = crate::container::Container {
        pid: child_pid,
        pidfd: spawned.pidfd,
        cgroup: None,
    };
    let report =
        child::Report::read(report_read.as_fd()).unwrap_or_else(|_| child::Report::empty());
    if !report.is_empty() {
        let _ = process::reap(child_pid);
        return Err(report.error("the process"));
    }
    if let Some(file) = &pid_file {
        if let Err(e) = file.write(spawned.pid as u32) {
            crate::container::abandon(&started);
            return Err(e);
        }
    }
    if detach {
        return Ok(0);
    }
    match relay {
        Some(relay) => relay.run(&started),
        None => Ok(crate::container::wait(&started)),
    }
}

/// A config's list of strings as a NULL-ended array: exec's argv and envp,
/// a hook's (src/oci/hooks.rs). Filled in place (it is 2 KiB), by one copy
/// of the loop.
pub(super) fn c_array<'a>(
    config: &'a Config,
    list: crate::oci::config::List,
    out: &mut CStrArray<'a, { crate::oci::config::MAX_ARGS + 1 }>,
) -> core::result::Result<(), exec::Full> {
    // process.env's room is process.args'.
    const { assert!(crate::oci::config::MAX_OCI_ENV == crate::oci::config::MAX_ARGS) };
    for string in config.c_list(list) {
        out.push(string)?;
    }
    Ok(())
}

/// The process to run: `--process FILE`, else the container's own from its
/// bundle's config.json with the command line's.
fn read_process(
    root: Root<'_>,
    id: &[u8],
    options: &ExecOptions<'_>,
    config: &mut Config,
) -> Result<()> {
    let mut document = [0u8; PROCESS_MAX];
    if let Some(path) = options.process {
        if !options.command.is_empty()
            || options.cwd.is_some()
            || !options.env.is_empty()
            || options.user.is_some()
        {
            return Err(bad!(
                "--process: give the command, --cwd, --env and --user in the process file"
            ));
        }
        let path = CPath::from_bytes(path).ok_or_else(|| bad!("--process: path too long"))?;
        let n = runtime::read_file(&path, packed!("read the process"), &mut document)?;
        return config.parse_process(&document[..n]);
    }
    if options.command.is_empty() {
        return Err(bad!(
            "exec: no command: give --process FILE, or CMD after ID"
        ));
    }
    let mut big = [0u8; runtime::CONFIG_MAX];
    let step = packed!("read the container's config");
    load_bundle_config(root, id, (step, PROCESS_MAX), &mut big, config)?;
    let too_long = || bad!("exec: the command line's strings do not fit");
    // The command line's strings in the pool first, then the process
    // changed where it is.
    let words = (0..options.command.len()).map(|i| options.command.bytes(i));
    let args = config
        .add_list(Default::default(), words)
        .ok_or_else(too_long)?;
    let env = config.process.as_ref().map(|p| p.env).unwrap_or_default();
    let env = config
        .add_list(env, options.env.iter().copied())
        .ok_or_else(too_long)?;
    let cwd = match options.cwd {
        Some(cwd) => Some(config.add_string(cwd).ok_or_else(too_long)?),
        None => None,
    };
    let process = config.process.get_or_insert_with(Default::default);
    process.args = args;
    process.env = env;
    if let Some(cwd) = cwd {
        process.cwd = cwd;
    }
    if let Some((uid, gid)) = options.user {
        process.uid = uid;
        process.gid = gid;
        process.additional_gids.clear();
        // Another user keeps no capability (box's rule).
        if uid != 0 {
            process.capabilities = None;
        }
    }
    process.terminal |= options.tty;
    Ok(())
}

/// Read the config.json of the container's bundle (named by its state,
/// read first into the first `state_max` bytes of `document`) into
/// `document`, and parse it into `config`; `step` names the read.
pub(super) fn load_bundle_config(
    root: Root<'_>,
    id: &[u8],
    (step, state_max): (crate::packed::Packed, usize),
    document: &mut [u8],
    config: &mut Config,
) -> Result<()> {
    let path = bundle_config(root, id, &mut document[..state_max])?;
    runtime::load_config(&path, step, document, config)
}

/// The bundle's config.json, from the container's state.
fn bundle_config(root: Root<'_>, id: &[u8], buf: &mut [u8]) -> Result<CPath> {
    let path = root.file(id, b"state.json")?;
    let n = runtime::read_file(&path, packed!("read the container's state"), buf)?;
    let mut bundle = [0u8; crate::text::PATH_MAX];
    config_of_state(&buf[..n], &mut bundle).ok_or_else(|| runtime::not_state(&path))
}

/// The config.json of the bundle a state names (its "bundle" member).
fn config_of_state(state: &[u8], bundle: &mut [u8]) -> Option<CPath> {
    let mut json = crate::oci::json::Parser::new(state);
    json.begin_object().ok()?;
    while let Some(key) = json.next_key().ok()? {
        if key.is("bundle") {
            let bundle = json.string().ok()?.decode(bundle).ok()?;
            return CPath::from_parts(&[bundle, b"/config.json"]);
        }
        json.skip_value().ok()?;
    }
    None
}

/// Enter the process's working directory, resolved inside the container's
/// root whatever its symlinks say: `..` stops at the root, an absolute link
/// starts from it, and a magic link (/proc/self/fd/N, /proc/PID/cwd), the
/// way to a directory outside, is refused (openat2 RESOLVE_IN_ROOT |
/// RESOLVE_NO_MAGICLINKS, Linux 5.6). Before 5.6: chdir in the chroot, and
/// a result outside it refused.
fn enter_cwd(root: &OwnedFd, cwd: &[u8]) -> Result<()> {
    let step = packed!("enter the process's working directory");
    let cwd = if cwd.is_empty() { &b"/"[..] } else { cwd };
    if !cwd.starts_with(b"/") {
        return Err(bad!("process.cwd {}: not an absolute path", Bytes(cwd)));
    }
    let path = CPath::from_bytes(cwd).ok_or_else(|| bad!("process.cwd: path too long"))?;
    match rustix::fs::openat2(
        root,
        path.as_cstr(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(dir) => rustix::process::fchdir(&dir).at(step, "fchdir", cwd),
        Err(Errno::NOSYS) => {
            rustix::process::chdir(path.as_cstr()).at(step, "chdir", cwd)?;
            let mut buf = [0u8; crate::text::PATH_MAX];
            let now = crate::sys::fs::getcwd(&mut buf).at(step, "getcwd", cwd)?;
            if !now.starts_with(b"/") {
                return Err(bad!(
                    "process.cwd {}: leads out of the container",
                    Bytes(cwd)
                ));
            }
            Ok(())
        }
        Err(e) => Err(Error::sys(step, "openat2", cwd, e).hint(packed!(
            "it must be a directory inside the container's root, reached without /proc magic links"
        ))),
    }
}

/// In the child: the cgroups, a session, descriptors closed at exec, the
/// umask, limits, identity and capabilities.
fn enter(
    report: rustix::fd::BorrowedFd<'_>,
    detach: bool,
    cgroups: &[OwnedFd],
    umask: u32,
    limits: &[crate::config::Rlimit],
    (uid, gid, setgroups_denied, keep, groups): (
        u32,
        u32,
        bool,
        rustix::thread::CapabilitySet,
        &[u32],
    ),
) -> Result<()> {
    // A detached process outlives box-oci; a waited one dies with it.
    if !detach {
        child::die_with_parent(report)?;
    }
    for procs in cgroups {
        rustix::io::write(procs, b"0").at(
            packed!("join the container's cgroup"),
            "write",
            b"its cgroup.procs (v2) or tasks (v1)",
        )?;
    }
    rustix::process::setsid().at(packed!("start a new session"), "setsid", b"")?;
    crate::sys::fd::cloexec_from(3).at(
        packed!("close inherited descriptors"),
        "close_range",
        b"3..",
    )?;
    rustix::process::umask(Mode::from_raw_mode(umask));
    for limit in limits {
        let value = rustix::process::Rlimit {
            current: limit.soft,
            maximum: limit.hard,
        };
        rustix::process::setrlimit(limit.resource, value).at(
            packed!("set process.rlimits"),
            "setrlimit",
            b"",
        )?;
    }
    child::drop_privileges_to(uid, gid, setgroups_denied, keep, groups)?;
    if !detach {
        child::die_with_parent(report)?;
    }
    Ok(())
}

/// `--pid-file`, its directory opened on the host before box-oci enters
/// the container, written there afterwards (whole or not at all).
struct PidFile {
    dir: OwnedFd,
    name: CPath,
}

impl PidFile {
    fn open(path: &[u8]) -> Result<PidFile> {
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(0) => (&b"/"[..], &path[1..]),
            Some(at) => (&path[..at], &path[at + 1..]),
            None => (&b"."[..], path),
        };
        let too_long = || bad!("--pid-file: path too long");
        let dir_path = CPath::from_bytes(dir).ok_or_else(too_long)?;
        let dir = crate::sys::fs::open_dir(dir_path.as_cstr()).at(
            packed!("open the pid file's directory"),
            "open",
            dir_path.as_bytes(),
        )?;
        Ok(PidFile {
            dir,
            name: CPath::from_bytes(name).ok_or_else(too_long)?,
        })
    }

    fn write(&self, pid: u32) -> Result<()> {
        let mut digits = [0u8; 20];
        let text = crate::text::decimal(u64::from(pid), &mut digits);
        runtime::write_file_at(self.dir.as_fd(), &self.name, text)
    }
}
