//! The OCI runtime's lifecycle (`box-oci create`, `start`, `state`,
//! `kill`, `delete`): a bundle's config.json mapped onto box's own
//! container ([`crate::container::launch`] in its `Created` mode), and
//! what each container keeps under `--root`:
//!
//! ```text
//!   ROOT/ID/exec.fifo    exists from create to start: "created" is
//!                        exactly that (crun's scheme)
//!   ROOT/ID/init         "PID STARTTIME" of the container's init
//!   ROOT/ID/cgroup       the container's group directories, one a line
//!                        ("2 DIR" cgroup v2, "1 DIR" v1), for every
//!                        later command that uses them
//!   ROOT/ID/state.json   the state's fixed members (pid, bundle, rootfs,
//!                        created, owner, annotations)
//! ```
//!
//! No box process stays with a container: `create` returns once the init
//! is set up and blocked on the fifo, and the engine that called it (a
//! subreaper: conmon, the containerd shim) inherits and reaps it.

use crate::packed::Packed;
use core::fmt::Write;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

use crate::bad;
use crate::config::{Bind, CopyUp, IdRange, NsSet, Propagation, RunConfig};
use crate::container::plan::{self, Command, Created, Plan};
use crate::container::tty::ChildStdio;
use crate::container::{self, Mode as LaunchMode};
use crate::error::{Context, Error, Result};
use crate::oci::config::Config;
use crate::oci::json::{SliceSink, Writer, word_index};
use crate::sys::entry::Args;
use crate::sys::fs::read_whole;
use crate::text::{Bytes, CPath, Text};

use linux_raw_sys::general as k;

/// The runtime-spec version box-oci reports in `state`.
pub const OCI_VERSION: &str = "1.2.0";

/// Longest container id: a directory name under `--root` and a cgroup
/// name (engines use 64 hex digits).
pub const ID_MAX: usize = 128;

/// Largest config.json read.
pub const CONFIG_MAX: usize = 256 * 1024;

/// Most `maskedPaths` and `readonlyPaths` entries box applies (each).
pub const MAX_EXTRA_PATHS: usize = 32;

// The limits some messages write as numbers (an argument costs code).
const _: () = assert!(
    ID_MAX == 128
        && crate::text::PATH_MAX == 255
        && plan::MAX_ARGS == 32
        && crate::config::ENV_ENTRY_MAX == 255
        && crate::config::MAX_ENV == 32
        && crate::container::child::MAX_GROUPS == 32
        && crate::config::MAX_ID_RANGES == 4
        && MAX_EXTRA_PATHS == 32
        && crate::config::MAX_BINDS == 16
);

const FIFO: &[u8] = b"exec.fifo";
const INIT: &[u8] = b"init";
const CGROUP: &[u8] = b"cgroup";
const STATE: &[u8] = b"state.json";
/// The seccomp program create installed (raw `sock_filter`s), for exec;
/// empty where box's own filter applies.
pub(super) const SECCOMP: &[u8] = b"seccomp";
/// Exists where config.json has poststart or poststop hooks (src/oci/hooks.rs).
pub(super) const HOOKS: &[u8] = b"hooks";

/// Where box-oci keeps its containers (`--root`).
#[derive(Clone, Copy)]
pub struct Root<'a>(pub &'a [u8]);

/// What `create` is given besides the bundle's config.json.
pub struct CreateOptions<'a> {
    pub bundle: &'a [u8],
    pub pid_file: Option<&'a [u8]>,
    pub console_socket: Option<&'a [u8]>,
    pub no_pivot: bool,
}

/// A container id: letters, digits, `_`, `-`, `.` (not `.` or `..`), as
/// runc accepts; it becomes a directory and a cgroup name.
pub fn check_id(id: &[u8]) -> Result<()> {
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    if id.is_empty() || id.len() > ID_MAX || !id.iter().all(allowed) || id == b"." || id == b".." {
        return Err(bad!(
            "invalid container id \"{}\": 1 to 128 letters, digits, '_', '-', '.'",
            Bytes(id)
        ));
    }
    Ok(())
}

impl Root<'_> {
    /// `ROOT/ID`.
    fn dir(&self, id: &[u8]) -> Result<CPath> {
        self.path(id, b"", b"")
    }

    /// `ROOT/ID/NAME`.
    pub(super) fn file(&self, id: &[u8], name: &[u8]) -> Result<CPath> {
        self.path(id, b"/", name)
    }

    /// `ROOT/ID`, then `slash` and `name` (both empty for the directory):
    /// one copy of the check and the join for [`Root::dir`] and
    /// [`Root::file`].
    fn path(&self, id: &[u8], slash: &[u8], name: &[u8]) -> Result<CPath> {
        check_id(id)?;
        CPath::from_parts(&[self.0, b"/", id, slash, name])
            .ok_or_else(|| bad!("--root: path too long"))
    }

    /// Write `ROOT/ID/NAME` (whole or not at all).
    fn write(&self, id: &[u8], name: &[u8], bytes: &[u8]) -> Result<()> {
        write_file(&self.file(id, name)?, bytes)
    }

    /// The container's directory, or "does not exist" (the words engines
    /// match on).
    pub(super) fn existing(&self, id: &[u8]) -> Result<CPath> {
        let dir = self.dir(id)?;
        match rustix::fs::access(dir.as_cstr(), rustix::fs::Access::EXISTS) {
            Ok(()) => Ok(dir),
            Err(Errno::NOENT) => Err(bad!("container {} does not exist", Bytes(id))),
            Err(e) => Err(Error::sys(
                packed!("find the container"),
                "access",
                dir.as_bytes(),
                e,
            )),
        }
    }
}

/// `create`: set the container up from its bundle and leave its init
/// blocked before exec; record it; write the pid file. On failure nothing
/// is left: no process, cgroup or state.
pub fn create(root: Root<'_>, id: &[u8], options: &CreateOptions<'_>, args: &Args) -> Result<()> {
    let dir = root.dir(id)?;
    make_root(root)?;
    match rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o700)) {
        Ok(()) => {}
        Err(Errno::EXIST) => return Err(bad!("container {} already exists", Bytes(id))),
        Err(e) => {
            return Err(Error::sys(
                packed!("create the container's state"),
                "mkdir",
                dir.as_bytes(),
                e,
            ));
        }
    }
    let result = create_in(root, id, options, args);
    if result.is_err() {
        remove_state(root, id);
    }
    result
}

/// `--root`, made when missing (0700: the states name PIDs and bundles),
/// its missing parents too, as runc makes them (the containerd shim passes
/// /run/containerd/runc/NAMESPACE).
fn make_root(root: Root<'_>) -> Result<()> {
    let ends = root
        .0
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'/' && i > 0);
    for end in ends.map(|(i, _)| i).chain([root.0.len()]) {
        let path =
            CPath::from_bytes(&root.0[..end]).ok_or_else(|| bad!("--root: path too long"))?;
        match rustix::fs::mkdir(path.as_cstr(), Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(Error::sys(
                    packed!("create --root"),
                    "mkdir",
                    path.as_bytes(),
                    e,
                ));
            }
        }
    }
    Ok(())
}

/// The bundle's absolute path: its config.json and a relative root.path
/// are read from it, and the state records it.
fn absolute(path: &[u8]) -> Result<CPath> {
    let mut buf = [0u8; 4096];
    let joined = if path.starts_with(b"/") {
        CPath::from_bytes(path)
    } else {
        let cwd = crate::sys::fs::getcwd(&mut buf).at(packed!("find the bundle"), "getcwd", b"")?;
        match path {
            b"" | b"." => CPath::from_bytes(cwd),
            _ => CPath::from_parts(&[cwd, b"/", path]),
        }
    };
    joined.ok_or_else(bundle_too_long)
}

/// A bundle path longer than [`crate::text::PATH_MAX`].
fn bundle_too_long() -> Error {
    bad!("--bundle: path too long")
}

/// [`create`]'s steps, in the state directory it made.
#[inline(never)]
fn create_in(root: Root<'_>, id: &[u8], options: &CreateOptions<'_>, args: &Args) -> Result<()> {
    let bundle = absolute(options.bundle)?;
    let mut document = [0u8; CONFIG_MAX];
    let config_path =
        CPath::from_parts(&[bundle.as_bytes(), b"/config.json"]).ok_or_else(bundle_too_long)?;
    let mut config = empty_config();
    load_config(
        &config_path,
        packed!("read the bundle's config"),
        &mut document,
        &mut config,
    )?;

    // The seccomp profile, compiled for this architecture. Without one
    // (ctr sends none), box's own default filter applies.
    let mut program = crate::oci::seccomp::Program::new();
    let oci_seccomp = config.linux.seccomp.is_some();
    if let Some(profile) = config.linux.seccomp.as_mut() {
        let arch = crate::oci::seccomp::NATIVE.ok_or_else(|| {
            bad!("config.json: linux.seccomp: no syscall table for this architecture")
        })?;
        if profile.flags != 0 {
            return Err(bad!("config.json: linux.seccomp.flags: not supported"));
        }
        crate::oci::seccomp::compile(profile, &arch, &mut program)?;
    }

    let mut mapped = Mapped::new();
    map(
        &config,
        bundle.as_bytes(),
        id,
        options.no_pivot,
        &mut mapped,
    )?;
    mapped.run.seccomp = !oci_seccomp;
    // For exec: the same program, or nothing for box's own filter.
    let mut saved = [0u8; crate::oci::seccomp::MAX_INSTRUCTIONS * 8];
    let n = if oci_seccomp {
        program.to_bytes(&mut saved)
    } else {
        0
    };
    root.write(id, SECCOMP, &saved[..n])?;
    let process = config
        .process
        .as_ref()
        .ok_or_else(|| bad!("config.json: process: create needs one"))?;

    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let mut plan = Plan::new(&mapped.run, Command::Words(&mapped.words), args, pid)?;
    plan.groups = &process.additional_gids;
    plan.masked = &mapped.masked;
    plan.read_only = &mapped.read_only;
    if oci_seccomp {
        plan.seccomp_program = Some(program.instructions());
    }

    // The terminal: the engine's console socket receives the pty's master.
    let stdio = if process.terminal {
        let path = options
            .console_socket
            .ok_or_else(|| bad!("config.json: process.terminal: true needs --console-socket"))?;
        console(process, connect_console(path)?)
    } else {
        if options.console_socket.is_some() {
            return Err(bad!(
                "--console-socket given but config.json's process.terminal is false"
            ));
        }
        // The engine's descriptors, but the host's /dev/null (conmon's
        // stdin without -i): the container's own in its place, as runc.
        ChildStdio::as_given(crate::container::tty::null_mask()?)
    };

    // The exec fifo, opened read-write for the init to hold: a read end
    // that has a writer (itself) blocks until `start` writes.
    let fifo_path = root.file(id, FIFO)?;
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fifo_path.as_cstr(),
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .at(
        packed!("create the exec fifo"),
        "mknod",
        fifo_path.as_bytes(),
    )?;
    let fifo = rustix::fs::open(
        fifo_path.as_cstr(),
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(packed!("open the exec fifo"), "open", fifo_path.as_bytes())?;
    plan.created = Some(Created {
        exec_fifo: fifo.as_fd(),
        cgroup_path: mapped.cgroup_path.as_bytes(),
    });

    // The command's umask is the config's (0022 unless it says).
    let umask = process.umask.unwrap_or(0o022);
    let own_umask = rustix::process::umask(Mode::from_raw_mode(umask));
    let launched = container::launch(&plan, LaunchMode::Created(stdio));
    rustix::process::umask(own_umask);
    let life = launched?;
    let init = life.container.pid;
    let raw_init = init.as_raw_nonzero().get() as u32;
    // The groups, for the later commands: at most six lines of a path each.
    let mut groups = Text::<2048>::new();
    for (dir, v2) in life.container.cgroup.iter().flat_map(|c| c.dirs()) {
        let _ = writeln!(groups, "{} {dir}", if v2 { 2 } else { 1 });
    }
    let recorded = apply_sysctls(&config, raw_init).and_then(|()| {
        let rootfs = mapped.run.rootfs.as_ref().unwrap_or(&bundle);
        let paths = (&bundle, rootfs);
        record(root, id, init, paths, &config, groups.as_bytes(), options)
    });
    if let Err(e) = recorded {
        container::abandon(&life.container);
        drop(life);
        return Err(e);
    }
    life.leave();
    Ok(())
}

/// An empty [`Config`], out of line: its initialisation is long, and
/// create, exec and the later hooks each need one.
#[inline(never)]
pub(super) fn empty_config() -> Config {
    Config::new()
}

/// Read the config.json at `path` (`step` names the read in an error)
/// into `document`, and parse it into `config`.
#[inline(never)]
pub(super) fn load_config(
    path: &CPath,
    step: Packed,
    document: &mut [u8],
    config: &mut Config,
) -> Result<()> {
    let n = read_file(path, step, document)?;
    config.parse(&document[..n])
}

/// Read the file at `path` whole into `buf` (`step` names the read in an
/// error); its length.
#[inline(never)]
pub(super) fn read_file(path: &CPath, step: Packed, buf: &mut [u8]) -> Result<usize> {
    read_whole(path.as_cstr(), buf).at(step, "read", path.as_bytes())
}

/// [`crate::sys::clone::spawn`] for box-oci's children (exec's process, a
/// hook), with SIGCHLD and in box-oci's namespaces: one copy of it, the
/// child's part by `dyn`.
#[inline(never)]
pub(super) fn spawn(
    child: &mut dyn FnMut() -> core::convert::Infallible,
) -> core::result::Result<crate::sys::clone::Spawned, (&'static str, Errno)> {
    let exit_signal = rustix::process::Signal::CHILD.as_raw() as u64;
    crate::sys::clone::spawn(0, None, exit_signal, child)
}

/// A config.json in box's own terms.
struct Mapped {
    run: RunConfig,
    words: heapless::Vec<CPath, { plan::MAX_ARGS }>,
    masked: heapless::Vec<CPath, MAX_EXTRA_PATHS>,
    read_only: heapless::Vec<CPath, MAX_EXTRA_PATHS>,
    /// `linux.cgroupsPath` made canonical, or `box/ID` without one.
    cgroup_path: CPath,
}

impl Mapped {
    fn new() -> Self {
        Self {
            run: RunConfig::default(),
            words: heapless::Vec::new(),
            masked: heapless::Vec::new(),
            read_only: heapless::Vec::new(),
            cgroup_path: CPath::default(),
        }
    }
}

/// A string of the config as a path, or refused by its key path.
fn path_of(bytes: &[u8], key: core::fmt::Arguments<'_>) -> Result<CPath> {
    CPath::from_bytes(bytes).ok_or_else(|| bad!("config.json: {}: longer than 255 bytes", key))
}

/// The filesystems box mounts itself in every container, where the
/// runtime-spec's default config puts them: such a mount is honoured by
/// box's own (DESIGN.md section 2; README "Security").
///
/// Their destinations; the type of each is the word of
/// [`OWN_MOUNT_TYPES`] that [`OWN_MOUNT_TYPE`] gives at the same index.
const OWN_MOUNTS: &str = "/proc /sys /dev /dev/pts /dev/mqueue /dev/shm /sys/fs/cgroup";
const OWN_MOUNT_TYPES: &str = "proc sysfs tmpfs devpts mqueue cgroup";
const OWN_MOUNT_TYPE: [u8; 7] = [0, 1, 2, 3, 4, 2, 5];

/// Device rules box's own device cgroup already grants (the default
/// devices every container has): an allow rule among these, or one that
/// grants only mknod, asks for nothing box does not give. (major, minor),
/// [`ANY_MINOR`] for every minor.
const DEFAULT_DEVICES: &[(u8, u8)] = &[
    (1, 3),
    (1, 5),
    (1, 7),
    (1, 8),
    (1, 9),
    (5, 0),
    (5, 1),
    (5, 2),
    (136, ANY_MINOR),
];

/// A [`DEFAULT_DEVICES`] minor that stands for all of them.
const ANY_MINOR: u8 = u8::MAX;

/// RLIMIT_* by their number.
const RESOURCES: &[rustix::process::Resource] = {
    use rustix::process::Resource as R;
    &[
        R::Cpu,
        R::Fsize,
        R::Data,
        R::Stack,
        R::Core,
        R::Rss,
        R::Nproc,
        R::Nofile,
        R::Memlock,
        R::As,
        R::Locks,
        R::Sigpending,
        R::Msgqueue,
        R::Nice,
        R::Rtprio,
        R::Rttime,
    ]
};

/// The capabilities a config's process keeps: its bounding set. Root
/// keeps the bounding set in every set, another user none (box's rule):
/// ambient capabilities root holds anyway after exec, another user never
/// gets them.
pub(super) fn kept_capabilities(process: &crate::oci::config::Process) -> Result<u64> {
    let caps = process.capabilities.unwrap_or_default();
    if caps.ambient & !caps.bounding != 0 || (caps.ambient != 0 && process.uid != 0) {
        return Err(bad!(
            "config.json: process.capabilities.ambient: not supported"
        ));
    }
    Ok(caps.bounding)
}

/// A config's `process.rlimits` in box's terms, into `out`.
pub(super) fn rlimits_of(
    process: &crate::oci::config::Process,
    out: &mut heapless::Vec<crate::config::Rlimit, { crate::config::MAX_RLIMITS }>,
) -> Result<()> {
    for (i, limit) in process.rlimits.iter().enumerate() {
        let resource = RESOURCES
            .get(usize::from(limit.resource))
            .copied()
            .ok_or_else(|| bad!("config.json: process.rlimits[{}]: not supported", i))?;
        let value = |n: u64| (n != u64::MAX).then_some(n);
        let _ = out.push(crate::config::Rlimit {
            resource,
            soft: value(limit.soft),
            hard: value(limit.hard),
        });
    }
    Ok(())
}

/// Write `process.oomScoreAdj` for process `pid` (box-oci itself: None).
pub(super) fn set_oom_score_adj(pid: Option<u32>, adj: i32) -> Result<()> {
    let path = CPath::proc(pid, b"/oom_score_adj");
    let mut value = Text::<16>::new();
    let _ = write!(value, "{adj}");
    crate::sys::fs::write_control(path.as_cstr(), value.as_bytes()).map_err(|e| {
        Error::sys(
            packed!("set process.oomScoreAdj"),
            "write",
            path.as_bytes(),
            e,
        )
    })
}

/// The container's status and record, or "does not exist".
pub(super) fn existing_status(root: Root<'_>, id: &[u8]) -> Result<(Status, Option<Recorded>)> {
    root.existing(id)?;
    status(root, id)
}

/// The CLONE_NEW* flags of the namespaces config.json lists.
fn flags_of(config: &Config) -> u32 {
    config.linux.namespaces.iter().fold(0, |f, ns| f | ns.flag)
}

/// Map `config` onto box's container; what box cannot do is refused by
/// its key path.
#[inline(never)]
fn map(config: &Config, bundle: &[u8], id: &[u8], no_pivot: bool, out: &mut Mapped) -> Result<()> {
    let run = &mut out.run;
    run.no_pivot = no_pivot;
    run.name = Some(Text::from_bytes_lossy(id));

    // root.path is relative to the bundle unless absolute.
    let root = config.str(config.root_path);
    if root.is_empty() {
        return Err(bad!("config.json: root.path: create needs one"));
    }
    run.rootfs = Some(if root.starts_with(b"/") {
        path_of(root, format_args!("root.path"))?
    } else {
        CPath::from_parts(&[bundle, b"/", root])
            .ok_or_else(|| bad!("config.json: root.path: too long with the bundle's path"))?
    });
    run.read_only = config.root_readonly;
    if let Some(h) = config.hostname {
        run.hostname = Some(
            Text::try_from_bytes(config.str(h))
                .ok_or_else(|| bad!("config.json: hostname: longer than 64 bytes"))?,
        );
    }
    if config.domainname.is_some_and(|d| !config.str(d).is_empty()) {
        return Err(bad!("config.json: domainname: not supported"));
    }
    crate::oci::hooks::check(config)?;

    let process = config
        .process
        .as_ref()
        .ok_or_else(|| bad!("config.json: process: create needs one"))?;
    for (i, arg) in config.list(process.args).enumerate() {
        let word = path_of(arg, format_args!("process.args[{i}]"))?;
        out.words
            .push(word)
            .map_err(|_| bad!("config.json: process.args: more than 32 words"))?;
    }
    for (i, entry) in config.list(process.env).enumerate() {
        let text = Text::try_from_bytes(entry)
            .ok_or_else(|| bad!("config.json: process.env[{}]: longer than 255 bytes", i))?;
        run.env
            .push(text)
            .map_err(|_| bad!("config.json: process.env: more than 32 entries"))?;
    }
    let cwd = config.str(process.cwd);
    if !cwd.is_empty() {
        run.workdir = Some(path_of(cwd, format_args!("process.cwd"))?);
    }
    run.user = Some((process.uid, process.gid));
    if process.additional_gids.len() > crate::container::child::MAX_GROUPS {
        return Err(bad!(
            "config.json: process.user.additionalGids: more than 32"
        ));
    }
    if !process.additional_gids.is_empty() && flags_of(config) & k::CLONE_NEWUSER != 0 {
        // The maps' own setgroups rule (user_namespaces(7)) is box run's.
        return Err(bad!(
            "config.json: process.user.additionalGids: not supported with a user namespace"
        ));
    }
    let caps = kept_capabilities(process)?;
    run.cap_add = caps;
    run.cap_drop = !caps;
    rlimits_of(process, &mut run.rlimits)?;

    // Namespaces: exactly those listed, made, or joined by `path` (a CRI
    // pod's containers share its sandbox's network, IPC, UTS and PID
    // namespaces so) as box run's `--ns TYPE=PATH` joins them. box builds
    // the container's filesystem in a mount namespace of its own.
    let mut flags = 0;
    for (i, ns) in config.linux.namespaces.iter().enumerate() {
        let Some(path) = ns.path else {
            flags |= ns.flag;
            continue;
        };
        if ns.flag == k::CLONE_NEWNS {
            return Err(bad!(
                "config.json: linux.namespaces[{}].path: {}",
                i,
                crate::config::MOUNT_NOT_JOINED
            ));
        }
        let path = path_of(config.str(path), format_args!("linux.namespaces[{i}].path"))?;
        if !path.as_bytes().starts_with(b"/") {
            return Err(bad!(
                "config.json: linux.namespaces[{}].path: not an absolute path",
                i
            ));
        }
        let kind = crate::config::namespace_of(ns.flag)
            .ok_or_else(|| bad!("config.json: linux.namespaces[{}].type: not supported", i))?;
        let join = crate::config::Join {
            kind,
            path,
            given: crate::options::Given::Key("linux.namespaces[].path"),
        };
        // One per type (config.rs refused a type given twice).
        let _ = run.joins.push(join);
    }
    if flags & k::CLONE_NEWNS == 0 {
        return Err(bad!(
            "config.json: linux.namespaces: box needs a mount namespace (type mount)"
        ));
    }
    run.namespaces = NsSet(flags);
    let ranges = |maps: &[crate::oci::config::IdMap], key: &str| {
        let mut out: heapless::Vec<IdRange, { crate::config::MAX_ID_RANGES }> =
            heapless::Vec::new();
        for m in maps {
            out.push(IdRange {
                inside: m.container,
                outside: m.host,
                count: m.size,
            })
            .map_err(|_| bad!("config.json: linux.{}: more than 4 ranges", key))?;
        }
        Ok::<_, Error>(out)
    };
    run.uid_map = ranges(&config.linux.uid_mappings, "uidMappings")?;
    run.gid_map = ranges(&config.linux.gid_mappings, "gidMappings")?;
    if flags & k::CLONE_NEWUSER == 0 && !(run.uid_map.is_empty() && run.gid_map.is_empty()) {
        return Err(bad!(
            "config.json: linux.uidMappings: given without a user namespace"
        ));
    }
    if let Some(p) = config.linux.rootfs_propagation {
        run.propagation = match p as u32 & !(linux_raw_sys::general::MS_REC) {
            x if x == linux_raw_sys::general::MS_PRIVATE => Propagation::Private,
            x if x == linux_raw_sys::general::MS_SLAVE => Propagation::Slave,
            x if x == linux_raw_sys::general::MS_SHARED => Propagation::Shared,
            _ => Propagation::Unbindable,
        };
    }

    map_mounts(config, bundle, run)?;
    map_resources(config, run)?;
    out.cgroup_path = match config.linux.cgroups_path {
        Some(path) => crate::cgroup::check_path(config.str(path))
            .map_err(|why| bad!("config.json: linux.cgroupsPath: {}", why))?,
        None => {
            CPath::from_parts(&[b"box/", id]).ok_or_else(|| bad!("config.json: id too long"))?
        }
    };

    for &(key, _) in &config.linux.sysctl {
        let key = config.str(key);
        match sysctl_namespace(key) {
            Some((flag, _)) if flags & flag != 0 => {}
            Some((flag, name)) => {
                // A joined namespace (a CRI pod's sandbox's) is as good as
                // one of the container's own, unless it is the host's.
                let joined = run.joins.iter().find(|j| j.kind.flag == flag);
                let Some(joined) = joined else {
                    return Err(bad!(
                        "config.json: linux.sysctl.{}: needs a {} namespace of the container's own or joined (linux.namespaces)",
                        Bytes(key),
                        name
                    ));
                };
                if is_hosts_namespace(&joined.path, flag)? {
                    return Err(bad!(
                        "config.json: linux.sysctl.{}: the {} namespace joined at {} is the host's (box-oci's own): its settings are the whole host's",
                        Bytes(key),
                        name,
                        joined.path
                    ));
                }
            }
            None => {
                return Err(bad!(
                    "config.json: linux.sysctl.{}: not supported (only the network and IPC namespaces' own settings are)",
                    Bytes(key)
                ));
            }
        }
    }
    if !config.linux.devices.is_empty() {
        return Err(bad!("config.json: linux.devices: not supported"));
    }
    extra_paths(
        config,
        config.linux.masked_paths,
        "maskedPaths",
        &mut out.masked,
    )?;
    extra_paths(
        config,
        config.linux.readonly_paths,
        "readonlyPaths",
        &mut out.read_only,
    )
}

/// `linux.maskedPaths` or `linux.readonlyPaths` (`key`) as paths.
fn extra_paths(
    config: &Config,
    list: crate::oci::config::List,
    key: &str,
    out: &mut heapless::Vec<CPath, MAX_EXTRA_PATHS>,
) -> Result<()> {
    for (i, path) in config.list(list).enumerate() {
        let path = path_of(path, format_args!("linux.{key}[{i}]"))?;
        out.push(path)
            .map_err(|_| bad!("config.json: linux.{}: more than 32", key))?;
    }
    Ok(())
}

fn map_mounts(config: &Config, bundle: &[u8], run: &mut RunConfig) -> Result<()> {
    use linux_raw_sys::general::{MS_BIND, MS_PRIVATE, MS_RDONLY, MS_REC};
    for (i, m) in config.mounts.iter().enumerate() {
        let kind = config.str(m.kind);
        let destination = config.str(m.destination);
        let propagation = m.propagation as u32 & !MS_REC;
        if propagation != 0 && propagation != MS_PRIVATE {
            return Err(bad!(
                "config.json: mounts[{}].options: propagation other than private not supported",
                i
            ));
        }
        if m.flags as u32 & MS_BIND != 0 {
            let source = config.str(m.source);
            let source = if source.starts_with(b"/") {
                path_of(source, format_args!("mounts[{i}].source"))?
            } else {
                CPath::from_parts(&[bundle, b"/", source])
                    .ok_or_else(|| bad!("config.json: mounts[{}].source: too long", i))?
            };
            let bind = Bind {
                source,
                target: path_of(destination, format_args!("mounts[{i}].destination"))?,
                read_only: m.flags as u32 & MS_RDONLY != 0,
            };
            run.binds
                .push(bind)
                .map_err(|_| bad!("config.json: mounts: more than 16 binds"))?;
            continue;
        }
        let own = OWN_MOUNT_TYPE.get(word_index(OWN_MOUNTS, destination));
        if own.is_some_and(|&t| usize::from(t) == word_index(OWN_MOUNT_TYPES, kind)) {
            continue;
        }
        if kind == b"tmpfs" {
            let data = config.str(m.data);
            let mut value = Text::<512>::new();
            let _ = write!(value, "{}", Bytes(destination));
            // box's --tmpfs takes size= and mode=; the rest of the data
            // (uid=, nr_inodes=) is refused by its parser, named.
            let mut sep = b":";
            let mut mode_given = false;
            for option in data.split(|&b| b == b',').filter(|o| !o.is_empty()) {
                if !(option.starts_with(b"size=") || option.starts_with(b"mode=")) {
                    return Err(bad!(
                        "config.json: mounts[{}].options: {} not supported on a tmpfs",
                        i,
                        Bytes(option)
                    ));
                }
                value.push(sep);
                value.push(option);
                sep = b",";
                mode_given |= option[0] == b'm';
            }
            apply_run_option(run, "tmpfs", value.as_bytes())
                .map_err(|e| bad!("config.json: mounts[{}]: {}", i, e))?;
            // tmpcopyup is for a tmpfs: runc, too, passes over it
            // elsewhere. The copy is the child's (src/container/copy_up.rs).
            if let (true, Some(tmpfs)) = (m.copy_up, run.tmpfs.last_mut()) {
                tmpfs.copy_up = if mode_given {
                    CopyUp::Content
                } else {
                    CopyUp::ContentAndMode
                };
            }
            continue;
        }
        return Err(bad!(
            "config.json: mounts[{}]: a {} mount on {} is not supported",
            i,
            Bytes(kind),
            Bytes(destination)
        ));
    }
    Ok(())
}

/// The namespace whose own setting sysctl `key` is (its CLONE_NEW* flag
/// and name), or `None` for a setting of the whole host, which a
/// container must not change (sysctl(8) names; as runc accepts them).
fn sysctl_namespace(key: &[u8]) -> Option<(u32, &'static str)> {
    const IPC: &str = "kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall \
         kernel.shmmax kernel.shmmni kernel.shm_rmid_forced";
    if key.contains(&b'/') || key.windows(2).any(|w| w == b"..") {
        None
    } else if key.starts_with(b"net.") {
        Some((k::CLONE_NEWNET, "network"))
    } else if key.starts_with(b"fs.mqueue.") || word_index(IPC, key) != usize::MAX {
        Some((k::CLONE_NEWIPC, "IPC"))
    } else {
        None
    }
}

/// Whether the namespace file at `path` (of type `flag`) is the one
/// box-oci itself runs in (the host's): the same inode as
/// /proc/self/ns/TYPE.
fn is_hosts_namespace(path: &CPath, flag: u32) -> Result<bool> {
    let step = packed!("check a joined namespace");
    let ns = if flag == k::CLONE_NEWNET {
        "net"
    } else {
        "ipc"
    };
    let own = crate::sys::ns::link_path(None, ns);
    let theirs = rustix::fs::stat(path.as_cstr()).at(step, "stat", path.as_bytes())?;
    let ours = rustix::fs::stat(own.as_cstr()).at(step, "stat", own.as_bytes())?;
    Ok(theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino)
}

/// Write config.json's sysctls, each in the namespace it belongs to:
/// create joins the init's network or IPC namespace, where /proc/sys/net
/// and the IPC settings are that namespace's own (proc(5)), and writes
/// them there. create exits next; the container's own /proc/sys stays
/// read-only to it.
fn apply_sysctls(config: &Config, init: u32) -> Result<()> {
    let step = packed!("apply linux.sysctl");
    for &(key, value) in &config.linux.sysctl {
        let key = config.str(key);
        let Some((flag, _)) = sysctl_namespace(key) else {
            continue;
        };
        let ns = if flag == k::CLONE_NEWNET {
            "net"
        } else {
            "ipc"
        };
        let link = crate::sys::ns::link_path(Some(init), ns);
        let fd = crate::sys::ns::open_file(link.as_cstr()).at(step, "open", link.as_bytes())?;
        crate::sys::ns::join_file(fd.as_fd(), flag).at(step, "setns", link.as_bytes())?;
        // net.ipv4.ping_group_range: /proc/sys/net/ipv4/ping_group_range.
        let mut file = [0u8; crate::text::PATH_MAX];
        let prefix = b"/proc/sys/";
        let end = prefix.len() + key.len();
        if end > file.len() {
            return Err(bad!("config.json: linux.sysctl.{}: too long", Bytes(key)));
        }
        file[..prefix.len()].copy_from_slice(prefix);
        for (to, &b) in file[prefix.len()..end].iter_mut().zip(key) {
            *to = if b == b'.' { b'/' } else { b };
        }
        let path = CPath::from_bytes(&file[..end]).unwrap_or_default();
        crate::sys::fs::write_control(path.as_cstr(), config.str(value))
            .map_err(|e| Error::sys(step, "write", path.as_bytes(), e))?;
    }
    Ok(())
}

/// Apply one of box run's options (src/config.rs) to `run`, so that its
/// checks are the same as on box's command line.
fn apply_run_option(run: &mut RunConfig, long: &'static str, value: &[u8]) -> Result<()> {
    let option = crate::config::RUN_OPTIONS
        .iter()
        .find(|o| o.form.long == long)
        .ok_or_else(|| bad!("no --{} option", long))?;
    match option.action {
        crate::config::Apply::Config(apply) => apply(run, value, crate::options::Given::Long(long)),
        _ => Err(bad!("--{}: not a container setting", long)),
    }
}

fn map_resources(config: &Config, run: &mut RunConfig) -> Result<()> {
    let r = &config.linux.resources;
    if let Some(limit) = r.memory_limit.filter(|&n| n > 0) {
        run.memory = Some(limit as u64);
    }
    if r.memory_reservation.is_some_and(|n| n > 0) {
        return Err(bad!(
            "config.json: linux.resources.memory.reservation: not supported"
        ));
    }
    if let Some(limit) = r.pids_limit.filter(|&n| n > 0) {
        run.pids = Some(limit as u64);
    }
    // 1024 is the kernel's default weight: asking for it asks nothing.
    if r.cpu_shares.is_some_and(|s| s != 0 && s != 1024) {
        return Err(bad!(
            "config.json: linux.resources.cpu.shares: not supported"
        ));
    }
    if let Some(quota) = r.cpu_quota.filter(|&q| q > 0) {
        let period = r.cpu_period.filter(|&p| p > 0).unwrap_or(100_000);
        run.cpu = Some((quota as u64, period));
    }
    if let Some(cpus) = r.cpus.map(|c| config.str(c)).filter(|c| !c.is_empty()) {
        apply_run_option(run, "cpuset", cpus)
            .map_err(|e| bad!("config.json: linux.resources.cpu.cpus: {}", e))?;
    }
    if r.mems.is_some_and(|m| !config.str(m).is_empty()) {
        return Err(bad!("config.json: linux.resources.cpu.mems: not supported"));
    }
    for (i, rule) in r.devices.iter().enumerate() {
        const MKNOD: u8 = 4;
        let covered = !rule.allow
            || rule.access & !MKNOD == 0
            || (rule.kind == b'c'
                && DEFAULT_DEVICES.iter().any(|&(major, minor)| {
                    rule.major == Some(i64::from(major))
                        && (minor == ANY_MINOR || rule.minor == Some(i64::from(minor)))
                }));
        if !covered {
            return Err(bad!(
                "config.json: linux.resources.devices[{}]: a device beyond the default ones (box run --device gives one)",
                i
            ));
        }
    }
    Ok(())
}

/// Write `bytes` to a new file at `path` (replacing one), through a
/// temporary name, so that a reader sees all of it or nothing.
pub(super) fn write_file(path: &CPath, bytes: &[u8]) -> Result<()> {
    write_file_at(rustix::fs::CWD, path, bytes)
}

/// [`write_file`] with `path` relative to the directory `dir`.
pub(super) fn write_file_at(
    dir: rustix::fd::BorrowedFd<'_>,
    path: &CPath,
    bytes: &[u8],
) -> Result<()> {
    let step = packed!("write the container's state");
    let tmp = CPath::from_parts(&[path.as_bytes(), b".tmp"])
        .ok_or_else(|| bad!("{}: path too long", path))?;
    let fd = rustix::fs::openat(
        dir,
        tmp.as_cstr(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o600),
    )
    .at(step, "open", tmp.as_bytes())?;
    crate::out::try_write_all(&fd, bytes).at(step, "write", tmp.as_bytes())?;
    drop(fd);
    rustix::fs::renameat(dir, tmp.as_cstr(), dir, path.as_cstr()).at(
        step,
        "rename",
        path.as_bytes(),
    )
}

/// A pty for `process` (its consoleSize), whose master goes to the
/// engine's console `socket`.
pub(super) fn console(process: &crate::oci::config::Process, socket: OwnedFd) -> ChildStdio {
    ChildStdio::Pty {
        socket,
        size: process
            .console_size
            .map(|(height, width)| rustix::termios::Winsize {
                ws_row: height as u16,
                ws_col: width as u16,
                ws_xpixel: 0,
                ws_ypixel: 0,
            }),
    }
}

/// Connect to the engine's console socket (a Unix stream socket): the
/// container's init sends its pty's master there.
pub(super) fn connect_console(path: &[u8]) -> Result<OwnedFd> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let step = packed!("connect to the console socket");
    let addr = SocketAddrUnix::new(path).at(step, "socket", path)?;
    let socket = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .at(step, "socket", path)?;
    rustix::net::connect(&socket, &addr).at(step, "connect", path)?;
    Ok(socket)
}

/// Record a created container: its init, its cgroups, the state's fixed
/// members, then the pid file (last: engines read it as "created").
fn record(
    root: Root<'_>,
    id: &[u8],
    init: Pid,
    (bundle, rootfs): (&CPath, &CPath),
    config: &Config,
    groups: &[u8],
    options: &CreateOptions<'_>,
) -> Result<()> {
    let pid = init.as_raw_nonzero().get() as u32;
    if let Some(adj) = config.process.as_ref().and_then(|p| p.oom_score_adj) {
        set_oom_score_adj(Some(pid), adj)?;
    }
    let start = proc_stat(pid)
        .map(|s| s.start)
        .ok_or_else(|| bad!("the container's init ended during create"))?;
    let mut line = Text::<64>::new();
    let mut digits = [0u8; 20];
    line.push(crate::text::decimal(u64::from(pid), &mut digits));
    line.push(b" ");
    line.push(crate::text::decimal(start, &mut digits));
    line.push(b"\n");
    root.write(id, INIT, line.as_bytes())?;

    root.write(id, CGROUP, groups)?;

    let mut buf = [0u8; 16 * 1024];
    let mut json = Writer::new(SliceSink::new(&mut buf));
    json.begin_object();
    json.key(b"pid").u64(u64::from(pid));
    json.key(b"bundle").string(bundle.as_bytes());
    json.key(b"rootfs").string(rootfs.as_bytes());
    json.key(b"created").string(rfc3339_now().as_bytes());
    json.key(b"owner").string(b"");
    json.key(b"annotations").begin_object();
    for &(key, value) in &config.annotations {
        json.key(config.str(key)).string(config.str(value));
    }
    json.end_object();
    json.end_object();
    let (sink, complete) = json.finish();
    if !complete {
        return Err(bad!(
            "config.json: annotations: more than 16 KiB in the state"
        ));
    }
    root.write(id, STATE, sink.written())?;
    if crate::oci::hooks::later(config) {
        root.write(id, HOOKS, b"")?;
    }
    use crate::oci::config::HookStage;
    crate::oci::hooks::run(
        root,
        id,
        config,
        &[HookStage::Prestart, HookStage::CreateRuntime],
    )?;

    if let Some(pid_file) = options.pid_file {
        let path = CPath::from_bytes(pid_file).ok_or_else(|| bad!("--pid-file: path too long"))?;
        let mut digits = [0u8; 20];
        write_file(&path, crate::text::decimal(u64::from(pid), &mut digits))?;
    }
    Ok(())
}

/// Now as RFC 3339 in UTC, with nanoseconds (as runc's `created`).
pub fn rfc3339_now() -> Text<40> {
    let now = crate::sys::timing::clock_gettime(rustix::time::ClockId::Realtime);
    let mut out = Text::new();
    let secs = now.tv_sec.max(0) as u64;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        now.tv_nsec
    );
    out
}

/// What /proc/PID/stat says of a process: its state letter and start
/// time (clock ticks since boot, which tells a reused PID apart).
struct ProcStat {
    state: u8,
    start: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let path = CPath::proc(Some(pid), b"/stat");
    let mut buf = [0u8; 1024];
    let n = read_whole(path.as_cstr(), &mut buf).ok()?;
    // The name (field 2) may hold spaces and ')': the fields after it
    // start after the last ')'.
    let end = buf[..n].iter().rposition(|&b| b == b')')?;
    let mut fields = buf[end + 1..n]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?;
    // Field 22 (starttime) is the 20th after the name.
    let start = crate::text::parse_u64(fields.nth(18)?)?;
    Some(ProcStat { state, start })
}

/// A container as its state directory tells.
pub(super) struct Recorded {
    pub pid: u32,
    start: u64,
}

impl Recorded {
    fn read(root: Root<'_>, id: &[u8]) -> Result<Option<Recorded>> {
        let path = root.file(id, INIT)?;
        let mut buf = [0u8; 64];
        let n = match read_whole(path.as_cstr(), &mut buf) {
            Ok(n) => n,
            // Being created, or a create that failed half-way.
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => {
                return Err(Error::sys(
                    packed!("read the container's state"),
                    "read",
                    path.as_bytes(),
                    e,
                ));
            }
        };
        let mut words = buf[..n].split(|&b| b == b' ' || b == b'\n');
        let pid = words.next().and_then(crate::text::parse_u32);
        let start = words.next().and_then(crate::text::parse_u64);
        match (pid, start) {
            (Some(pid), Some(start)) => Ok(Some(Recorded { pid, start })),
            _ => Err(not_state(&path)),
        }
    }

    /// The init still runs: the same process (its start time), not a
    /// zombie waiting for the engine to reap it.
    pub fn alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|s| s.start == self.start && s.state != b'Z')
    }

    pub fn pid(&self) -> Option<Pid> {
        Pid::from_raw(self.pid as i32)
    }
}

/// A state file box-oci cannot read as its own (one copy of the error for
/// [`Recorded::read`] and exec's bundle_config).
#[inline(never)]
pub(super) fn not_state(path: &CPath) -> Error {
    bad!("{}: not box-oci's state", path)
}

/// A container's status, as the runtime-spec names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

pub(super) fn status(root: Root<'_>, id: &[u8]) -> Result<(Status, Option<Recorded>)> {
    let Some(recorded) = Recorded::read(root, id)? else {
        return Ok((Status::Creating, None));
    };
    if !recorded.alive() {
        return Ok((Status::Stopped, Some(recorded)));
    }
    let fifo = root.file(id, FIFO)?;
    let created = rustix::fs::access(fifo.as_cstr(), rustix::fs::Access::EXISTS).is_ok();
    let status = if created {
        Status::Created
    } else if frozen(root, id) {
        Status::Paused
    } else {
        Status::Running
    };
    Ok((status, Some(recorded)))
}

/// `start`: release the init blocked on the exec fifo, then remove the
/// fifo (the container is "running" from then on).
pub fn start(root: Root<'_>, id: &[u8]) -> Result<()> {
    let (status, _) = existing_status(root, id)?;
    if status != Status::Created {
        return Err(bad!(
            "cannot start container {}: it is {}, not created",
            Bytes(id),
            status.name()
        ));
    }
    let fifo = root.file(id, FIFO)?;
    // Non-blocking: with no reader (the init died) open fails with ENXIO
    // instead of waiting for one.
    let fd = rustix::fs::open(
        fifo.as_cstr(),
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(packed!("start the container"), "open", fifo.as_bytes())
    .map_err(|e| e.hint(packed!("the container's init has ended")))?;
    rustix::io::write(&fd, b"0").at(packed!("start the container"), "write", fifo.as_bytes())?;
    drop(fd);
    rustix::fs::unlink(fifo.as_cstr()).at(
        packed!("start the container"),
        "unlink",
        fifo.as_bytes(),
    )?;
    crate::oci::hooks::run_later(root, id, crate::oci::config::HookStage::Poststart);
    Ok(())
}

/// `state`: the runtime-spec state of the container on standard output.
pub fn state(root: Root<'_>, id: &[u8]) -> Result<()> {
    root.existing(id)?;
    let mut buf = [0u8; STATE_MAX];
    let n = render_state(root, id, &mut buf)?;
    let mut out = crate::out::Writer::new(crate::sys::fd::stdout());
    out.bytes(&buf[..n]);
    out.bytes(b"\n");
    Ok(())
}

/// Largest state JSON: the recorded members (16 KiB at most) and the rest.
pub(super) const STATE_MAX: usize = 17 * 1024;

/// The runtime-spec state of the container into `buf` (what `state`
/// prints and hooks read on their standard input); its length.
pub(super) fn render_state(root: Root<'_>, id: &[u8], buf: &mut [u8]) -> Result<usize> {
    let (status, _) = status(root, id)?;
    let mut fixed = [0u8; 16 * 1024];
    let path = root.file(id, STATE)?;
    let n = match read_whole(path.as_cstr(), &mut fixed) {
        Ok(n) => n,
        Err(Errno::NOENT) => 0,
        Err(e) => {
            return Err(Error::sys(
                packed!("read the container's state"),
                "read",
                path.as_bytes(),
                e,
            ));
        }
    };
    let mut json = Writer::new(SliceSink::new(buf));
    json.begin_object();
    json.key(b"ociVersion").string(OCI_VERSION.as_bytes());
    json.key(b"id").string(id);
    json.key(b"status").string(status.name().as_bytes());
    let (mut sink, _) = json.finish();
    // The recorded members follow ("pid", "bundle", …), without the
    // object's opening brace.
    match fixed[..n].strip_prefix(b"{") {
        Some(rest) if rest.len() > 1 => sink.bytes(b",") && sink.bytes(rest),
        _ => sink.bytes(b"\"pid\":0,\"bundle\":\"\",\"annotations\":{}}"),
    };
    Ok(sink.written().len())
}

/// `kill`: send `signal` to the init, or with `all` to every process of
/// the container's cgroups.
pub fn kill(root: Root<'_>, id: &[u8], signal: i32, all: bool) -> Result<()> {
    let (status, recorded) = existing_status(root, id)?;
    let running = matches!(status, Status::Created | Status::Running | Status::Paused);
    let Some((recorded, pid)) = recorded
        .filter(|_| running)
        .and_then(|r| r.pid().map(|pid| (r, pid)))
    else {
        return Err(bad!("cannot signal {}: container not running", Bytes(id)));
    };
    if all {
        signal_cgroups(root, id, signal);
    }
    // A pidfd pins the process: checked alive with it held, the signal
    // cannot reach a process that reused the PID.
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
    let sent = if recorded.alive() {
        crate::sys::process::send_signal(pid, pidfd.as_ref().map(|f| f.as_fd()), signal)
    } else {
        // With --all the group's signal may have ended the init already.
        Err(Errno::SRCH)
    };
    if signal == rustix::process::Signal::KILL.as_raw() {
        thaw_to_die(root, id, status);
    }
    match sent {
        Ok(()) => Ok(()),
        Err(Errno::SRCH) if all => Ok(()),
        Err(Errno::SRCH) => Err(bad!(
            "cannot signal {}: container not running: no such process",
            Bytes(id)
        )),
        Err(e) => Err(Error::sys(packed!("signal the container"), "kill", id, e)),
    }
}

/// Each group directory of the container, from its record (create's
/// groups, at its cgroupsPath), and whether it is a v2 one. `each` by
/// `dyn`: one copy of the walk, not one per caller.
#[inline(never)]
fn for_each_cgroup(root: Root<'_>, id: &[u8], each: &mut dyn FnMut(&CPath, bool)) {
    let Ok(path) = root.file(id, CGROUP) else {
        return;
    };
    let mut buf = [0u8; 4096];
    let Ok(n) = read_whole(path.as_cstr(), &mut buf) else {
        return;
    };
    for line in buf[..n].split(|&b| b == b'\n') {
        let (v2, dir) = match line {
            [b'2', b' ', dir @ ..] => (true, dir),
            [b'1', b' ', dir @ ..] => (false, dir),
            _ => continue,
        };
        if let Some(dir) = CPath::from_bytes(dir) {
            each(&dir, v2);
        }
    }
}

/// `ps`: the host PIDs of the container's processes (those of its
/// cgroups, or its init alone where it has none), as a JSON array with
/// `json` (what containerd reads), else one per line.
pub fn ps(root: Root<'_>, id: &[u8], json: bool) -> Result<()> {
    let (status, recorded) = existing_status(root, id)?;
    let mut pids: heapless::Vec<u32, 1024> = heapless::Vec::new();
    for_each_cgroup(root, id, &mut |dir, _| {
        let Some(procs) = CPath::from_parts(&[dir.as_bytes(), b"/cgroup.procs"]) else {
            return;
        };
        let mut buf = [0u8; 8192];
        let Ok(n) = read_whole(procs.as_cstr(), &mut buf) else {
            return;
        };
        for pid in buf[..n]
            .split(|&b| b == b'\n')
            .filter_map(crate::text::parse_u32)
        {
            if !pids.contains(&pid) {
                let _ = pids.push(pid);
            }
        }
    });
    if let Some(r) = recorded.filter(|_| status != Status::Stopped)
        && !pids.contains(&r.pid)
    {
        let _ = pids.push(r.pid);
    }
    pids.sort_unstable();
    let mut out = crate::out::Writer::new(crate::sys::fd::stdout());
    if json {
        let mut w = Writer::new(&mut out);
        w.begin_array();
        for &pid in &pids {
            w.u64(u64::from(pid));
        }
        w.end_array();
        out.bytes(b"\n");
    } else {
        let _ = writeln!(out, "PID");
        for pid in &pids {
            let _ = writeln!(out, "{pid}");
        }
    }
    Ok(())
}

/// `pause` (`frozen`) or `resume`: freeze or thaw every process of the
/// container: through its cgroup v2 group's cgroup.freeze, or its v1
/// freezer group's freezer.state (create makes a group in every v1
/// hierarchy box uses, freezer's too). A host with neither (no cgroup2,
/// no v1 freezer hierarchy) refuses it.
pub fn freeze(root: Root<'_>, id: &[u8], frozen: bool) -> Result<()> {
    let (status, _) = existing_status(root, id)?;
    let wanted = if frozen {
        Status::Running
    } else {
        Status::Paused
    };
    if status != wanted {
        return Err(bad!(
            "container {} is {}, not {}",
            Bytes(id),
            status.name(),
            wanted.name()
        ));
    }
    match set_frozen(root, id, frozen)? {
        true => Ok(()),
        false => Err(bad!(
            "container {}: no group to freeze (neither a cgroup v2 group nor a v1 freezer hierarchy)",
            Bytes(id)
        )),
    }
}

/// The control file that freezes a group (v2: cgroup.freeze, v1:
/// freezer.state), and what to write to it.
fn freezer_file(dir: &CPath, v2: bool, frozen: bool) -> Option<(CPath, &'static [u8])> {
    let (name, value): (&[u8], &[u8]) = match (v2, frozen) {
        (true, true) => (b"/cgroup.freeze", b"1"),
        (true, false) => (b"/cgroup.freeze", b"0"),
        (false, true) => (b"/freezer.state", b"FROZEN"),
        (false, false) => (b"/freezer.state", b"THAWED"),
    };
    Some((CPath::from_parts(&[dir.as_bytes(), name])?, value))
}

/// Freeze or thaw the container's groups; whether it has one to. A v1
/// freezer is waited for (FREEZING until every task is frozen).
fn set_frozen(root: Root<'_>, id: &[u8], frozen: bool) -> Result<bool> {
    let mut done = false;
    let mut failed = None;
    for_each_cgroup(root, id, &mut |dir, v2| {
        let Some((file, value)) = freezer_file(dir, v2, frozen) else {
            return;
        };
        match crate::sys::fs::write_control(file.as_cstr(), value) {
            Ok(()) => done = true,
            Err(Errno::NOENT) => return,
            Err(e) => {
                failed = Some(Error::sys(
                    packed!("freeze the container"),
                    "write",
                    file.as_bytes(),
                    e,
                ));
                return;
            }
        }
        for _ in 0..100 {
            let mut buf = [0u8; 16];
            let n = read_whole(file.as_cstr(), &mut buf).unwrap_or(0);
            if v2 || !buf[..n].starts_with(b"FREEZING") {
                break;
            }
            nap();
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// Sleep 10 ms, waiting for a process or a freezer.
fn nap() {
    let _ = rustix::thread::nanosleep(&rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 10_000_000,
    });
}

/// Whether the container's groups are frozen (or freezing).
fn frozen(root: Root<'_>, id: &[u8]) -> bool {
    let mut frozen = false;
    for_each_cgroup(root, id, &mut |dir, v2| {
        let Some((file, _)) = freezer_file(dir, v2, true) else {
            return;
        };
        let mut buf = [0u8; 16];
        let n = read_whole(file.as_cstr(), &mut buf).unwrap_or(0);
        if buf[..n].starts_with(b"1") || buf[..n].starts_with(b"FR") {
            frozen = true;
        }
    });
    frozen
}

/// A paused container thawed after SIGKILL: a task in a frozen v1 group
/// does not die until thawed.
fn thaw_to_die(root: Root<'_>, id: &[u8], status: Status) {
    if status == Status::Paused {
        let _ = set_frozen(root, id, false);
    }
}

/// Send `signal` to every process listed in the container's cgroups.
fn signal_cgroups(root: Root<'_>, id: &[u8], signal: i32) {
    for_each_cgroup(root, id, &mut |dir, _| {
        crate::cgroup::signal_listed(dir, signal)
    });
}

/// `delete`: remove a stopped container's cgroups and state; `force`
/// kills a running one first (SIGKILL).
pub fn delete(root: Root<'_>, id: &[u8], force: bool) -> Result<()> {
    let (status, recorded) = existing_status(root, id)?;
    if matches!(status, Status::Created | Status::Running | Status::Paused) {
        if !force {
            return Err(bad!(
                "cannot delete container {}: it is {} (stop it first, or delete --force)",
                Bytes(id),
                status.name()
            ));
        }
        signal_cgroups(root, id, rustix::process::Signal::KILL.as_raw());
        if let Some(r) = &recorded {
            if let Some(pid) = r.pid() {
                let _ = crate::sys::process::send_signal(
                    pid,
                    None,
                    rustix::process::Signal::KILL.as_raw(),
                );
            }
            thaw_to_die(root, id, status);
            // The engine reaps it; it is gone (or a zombie) soon after
            // SIGKILL.
            for _ in 0..500 {
                if !r.alive() {
                    break;
                }
                nap();
            }
            if r.alive() {
                return Err(bad!("container {} did not end after SIGKILL", Bytes(id)));
            }
        }
    }
    remove_cgroups(root, id)?;
    crate::oci::hooks::run_later(root, id, crate::oci::config::HookStage::Poststop);
    remove_state(root, id);
    Ok(())
}

/// Remove the container's groups, killing what is left in them (a
/// process the init left behind).
fn remove_cgroups(root: Root<'_>, id: &[u8]) -> Result<()> {
    let mut failed = None;
    for_each_cgroup(root, id, &mut |dir, v2| {
        if let Err(e) = crate::cgroup::empty_and_remove(dir, v2) {
            failed.get_or_insert(e);
        }
    });
    failed.map_or(Ok(()), Err)
}

/// Remove `ROOT/ID` and what box-oci put in it.
fn remove_state(root: Root<'_>, id: &[u8]) {
    for name in [FIFO, INIT, CGROUP, STATE, SECCOMP, HOOKS] {
        if let Ok(path) = root.file(id, name) {
            let _ = rustix::fs::unlink(path.as_cstr());
        }
    }
    if let Ok(dir) = root.dir(id) {
        let _ = rustix::fs::rmdir(dir.as_cstr());
    }
}

/// `list`: the containers under `--root`, one line each (id, pid,
/// status, bundle), as `runc list`'s table.
pub fn list(root: Root<'_>) -> Result<()> {
    use core::mem::MaybeUninit;
    let path = CPath::from_bytes(root.0).ok_or_else(|| bad!("--root: path too long"))?;
    crate::outln!("ID\tPID\tSTATUS");
    let dir = match rustix::fs::open(
        path.as_cstr(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(dir) => dir,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => {
            return Err(Error::sys(
                packed!("list the containers"),
                "open",
                root.0,
                e,
            ));
        }
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        let id = entry.file_name().to_bytes();
        if check_id(id).is_err() {
            continue;
        }
        let Ok((status, recorded)) = status(root, id) else {
            continue;
        };
        let pid = recorded
            .filter(|_| status != Status::Stopped)
            .map_or(0, |r| r.pid);
        crate::outln!("{}\t{pid}\t{}", Bytes(id), status.name());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(fixture: &str) -> (Box<Config>, Result<Box<Mapped>>) {
        let path = format!("{}/tests/oci/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let document = std::fs::read(path).unwrap();
        let mut config = Box::new(Config::new());
        config.parse(&document).unwrap();
        let mut out = Box::new(Mapped::new());
        let result = map(&config, b"/bundle", b"abc", false, &mut out).map(|()| out);
        (config, result)
    }

    /// What podman and containerd send by default maps onto box's
    /// container whole: nothing in it is refused.
    #[test]
    fn the_engines_default_configs_map() {
        let (_, podman) = mapped("podman-default.json");
        let podman = podman.unwrap();
        assert_eq!(podman.run.pids, Some(2048));
        assert_eq!(podman.words.len(), 1);
        assert!(podman.run.namespaces.has(k::CLONE_NEWNET));
        assert!(!podman.run.namespaces.has(k::CLONE_NEWUSER));
        // /etc/hosts, /etc/hostname, /run/.containerenv and /dev/shm.
        assert_eq!(podman.run.binds.len(), 4);
        assert!(
            podman
                .masked
                .iter()
                .any(|p| p.as_bytes() == b"/sys/dev/block")
        );
        assert_eq!(podman.run.rlimits.len(), 2);

        let (_, containerd) = mapped("containerd-default.json");
        let containerd = containerd.unwrap();
        // /run is a tmpfs of its own; /dev/shm is box's.
        assert_eq!(containerd.run.tmpfs.len(), 1);
        assert_eq!(containerd.run.tmpfs[0].target.as_bytes(), b"/run");
        assert!(containerd.run.seccomp, "no profile: box's own filter");

        let (_, runc) = mapped("runc-spec.json");
        let runc = runc.unwrap();
        assert_eq!(runc.run.rootfs.unwrap().as_bytes(), b"/bundle/rootfs");
        assert!(runc.run.read_only);
    }

    /// Hooks that would run inside the container are refused by their
    /// key, never skipped; those of the runtime's namespaces are kept.
    #[test]
    fn hooks_inside_the_container_are_refused() {
        let (config, hooks) = mapped("podman-userns-hooks.json");
        assert!(hooks.is_ok(), "prestart, createRuntime");
        assert_eq!(config.hooks.len(), 2);
        let path = format!("{}/tests/oci/runc-spec.json", env!("CARGO_MANIFEST_DIR"));
        let document = std::fs::read_to_string(path).unwrap();
        for stage in ["createContainer", "startContainer"] {
            let with = document.replacen(
                '{',
                &format!(r#"{{"hooks": {{"{stage}": [{{"path": "/bin/true"}}]}}, "#),
                1,
            );
            let mut config = Box::new(Config::new());
            config.parse(with.as_bytes()).unwrap();
            let mut out = Box::new(Mapped::new());
            let e = map(&config, b"/bundle", b"abc", false, &mut out).unwrap_err();
            let want = format!("config.json: hooks.{stage}: not supported");
            assert!(e.to_string().contains(&want), "{e}");
        }
    }

    /// Only the settings of the container's own namespaces, and no path
    /// out of /proc/sys.
    #[test]
    fn sysctls_of_namespaces_only() {
        assert_eq!(
            sysctl_namespace(b"net.ipv4.ping_group_range").map(|n| n.0),
            Some(k::CLONE_NEWNET)
        );
        assert_eq!(
            sysctl_namespace(b"kernel.shmmax").map(|n| n.0),
            Some(k::CLONE_NEWIPC)
        );
        assert_eq!(
            sysctl_namespace(b"fs.mqueue.msg_max").map(|n| n.0),
            Some(k::CLONE_NEWIPC)
        );
        for host in [
            &b"kernel.panic"[..],
            b"vm.overcommit_memory",
            b"kernel.shmmax2",
            b"net/../../kernel/panic",
            b"net.ipv4....kernel",
        ] {
            assert_eq!(
                sysctl_namespace(host),
                None,
                "{:?}",
                Bytes(host).to_string()
            );
        }
    }

    /// runc-spec.json with each (from, to) replacement made, mapped.
    fn mapped_edited(edits: &[(&str, &str)]) -> Result<Box<Mapped>> {
        let path = format!("{}/tests/oci/runc-spec.json", env!("CARGO_MANIFEST_DIR"));
        let mut document = std::fs::read_to_string(path).unwrap();
        for (from, to) in edits {
            assert!(document.contains(from), "{from}");
            document = document.replacen(from, to, 1);
        }
        let mut config = Box::new(Config::new());
        config.parse(document.as_bytes()).unwrap();
        let mut out = Box::new(Mapped::new());
        map(&config, b"/bundle", b"abc", false, &mut out).map(|()| out)
    }

    fn refusal(result: Result<Box<Mapped>>) -> String {
        match result {
            Ok(_) => panic!("not refused"),
            Err(e) => e.to_string(),
        }
    }

    /// tmpcopyup: carried to the child on the tmpfs (which copies the
    /// covered directory, src/container/copy_up.rs), with the covered
    /// directory's mode for the root unless the mount gives one (mode=
    /// 1777 stands until the copy); passed over on a bind, as runc does.
    /// What is under the mount point is not looked at here: a directory
    /// with entries is taken, and a file fails the child, named.
    #[test]
    fn copy_up_is_carried_to_the_tmpfs() {
        let mount = |dst: &str, options: &str| {
            format!(
                r#"{{"destination": "{dst}", "type": "tmpfs", "source": "tmpfs", "options": [{options}"nosuid", "tmpcopyup"]}}, "#
            )
        };
        let plain = r#"{"destination": "/plain", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}, "#;
        let bind = r#"{"destination": "/b", "type": "bind", "source": "/x", "options": ["rbind", "tmpcopyup"]}, "#;
        let mounts = format!(
            "{}{}{plain}{bind}",
            mount("/tmp", ""),
            mount("/srv", r#""size=1m", "mode=700", "#)
        );
        let out = mapped_edited(&[(r#""mounts": ["#, &format!(r#""mounts": [{mounts}"#))]).unwrap();
        let tmpfs: Vec<_> = out
            .run
            .tmpfs
            .iter()
            .map(|t| (t.target.to_string(), t.options.to_string(), t.copy_up))
            .collect();
        let want = [
            ("/tmp", "mode=1777", CopyUp::ContentAndMode),
            ("/srv", "size=1m,mode=700", CopyUp::Content),
            ("/plain", "mode=1777", CopyUp::No),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|&(a, b, c)| (a.to_string(), b.to_string(), c))
            .collect();
        assert_eq!(tmpfs, want);
        assert_eq!(out.run.binds.len(), 1);
    }

    /// A tmpfs option other than size= and mode= is refused, named, wherever
    /// it is among them.
    #[test]
    fn tmpfs_options_beyond_size_and_mode_are_refused() {
        let mount = r#"{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "uid=5", "mode=700"]}, "#;
        let mounts = format!(r#""mounts": [{mount}"#);
        let e = refusal(mapped_edited(&[(r#""mounts": ["#, &mounts)]));
        assert!(
            e.contains("config.json: mounts[0].options: uid=5 not supported on a tmpfs"),
            "{e}"
        );
    }

    const NAMESPACES: &str = r#""namespaces": ["#;

    #[test]
    fn cgroups_path() {
        let (_, podman) = mapped("podman-default.json");
        let podman = podman.unwrap();
        assert!(
            podman
                .cgroup_path
                .as_bytes()
                .starts_with(b"/libpod_parent/libpod-")
        );
        // None given: box/ID under box-oci's own group, as before.
        assert_eq!(
            mapped_edited(&[]).unwrap().cgroup_path.as_bytes(),
            b"box/abc"
        );
        let given = |path: &str| {
            let with = format!(r#""cgroupsPath": "{path}", {NAMESPACES}"#);
            mapped_edited(&[(NAMESPACES, &with)]).map(|m| m.cgroup_path.as_bytes().to_vec())
        };
        assert_eq!(given("/default//c1/").unwrap(), b"/default/c1");
        assert_eq!(given("rel/c1").unwrap(), b"rel/c1");
        for (path, why) in [
            ("/a/../b", "linux.cgroupsPath: a `..` component"),
            ("", "linux.cgroupsPath: empty"),
            ("/", "linux.cgroupsPath: names no group"),
        ] {
            let e = match given(path) {
                Ok(_) => panic!("{path}: not refused"),
                Err(e) => e.to_string(),
            };
            assert!(e.contains(&format!("config.json: {why}")), "{path}: {e}");
        }
    }

    /// A network setting needs a network namespace of the container's
    /// own, or a joined one that is not the host's.
    #[test]
    fn sysctls_of_joined_namespaces() {
        let sysctl = format!(r#""sysctl": {{"net.ipv4.ip_forward": "1"}}, {NAMESPACES}"#);
        assert!(mapped_edited(&[(NAMESPACES, &sysctl)]).is_ok());
        let hosts = r#""type": "network", "path": "/proc/self/ns/net""#;
        let e = refusal(mapped_edited(&[
            (NAMESPACES, &sysctl),
            (r#""type": "network""#, hosts),
        ]));
        assert!(
            e.contains("linux.sysctl.net.ipv4.ip_forward: the network namespace joined at /proc/self/ns/net is the host's"),
            "{e}"
        );
        let none = r#""type": "cgroup""#;
        let e = refusal(mapped_edited(&[
            (NAMESPACES, &sysctl),
            (r#""type": "network""#, none),
        ]));
        assert!(
            e.contains("needs a network namespace of the container's own or joined"),
            "{e}"
        );
    }

    #[test]
    fn ids_stay_in_their_directory() {
        for good in [&b"abc"[..], b"a.b-c_d", &[b'f'; ID_MAX]] {
            assert!(check_id(good).is_ok());
        }
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"a/b",
            b"../x",
            b"a b",
            &[b'f'; ID_MAX + 1],
        ] {
            assert!(check_id(bad).is_err(), "{}", Bytes(bad));
        }
    }

    #[test]
    fn created_is_rfc3339() {
        let t = rfc3339_now();
        let t = t.as_bytes();
        assert_eq!(t.len(), 30, "{}", Bytes(t));
        assert_eq!(
            (t[4], t[7], t[10], t[13], t[16], t[19], t[29]),
            (b'-', b'-', b'T', b':', b':', b'.', b'Z')
        );
        assert!(t.starts_with(b"20"));
    }
}
