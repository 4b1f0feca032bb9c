//! What a container is made of: `RunConfig`, filled from `box run` options
//! and from spec files through one table of keys ([`RUN_OPTIONS`]), so the
//! command line and a `.box` file accept exactly the same things.
//!
//! Every value is copied into fixed-capacity storage; the limits below are
//! documented in the README and reported by name when exceeded.

use crate::bad;
use crate::error::{Error, Result};
use crate::options::{Command, Given, Opt, Usage};
use crate::text::{Bytes, CPath, PATH_MAX, Text, parse_u32, parse_u64};

/// Most `--bind` entries per container.
pub const MAX_BINDS: usize = 16;
/// Most `--tmpfs` entries per container.
pub const MAX_TMPFS: usize = 8;
/// Most `--env` entries per container (besides PATH, HOME, TERM, HOSTNAME).
pub const MAX_ENV: usize = 32;
/// Longest `K=V` environment entry, in bytes.
pub const ENV_ENTRY_MAX: usize = 255;
/// Longest container name (it becomes a directory and a cgroup name).
pub const NAME_MAX: usize = 63;
/// Longest hostname (the kernel's limit, HOST_NAME_MAX).
pub const HOSTNAME_MAX: usize = 64;
/// Longest tmpfs option string (`size=…,mode=…`).
pub const TMPFS_OPTS_MAX: usize = 63;
/// Longest `--cpuset` list.
pub const CPUSET_MAX: usize = 63;
/// Most `--device` entries per container.
pub const MAX_DEVICES: usize = 8;

/// One namespace type: its `--ns` name, clone flag and /proc/PID/ns file.
#[derive(Clone, Copy, Debug)]
pub struct Namespace {
    pub name: &'static str,
    pub flag: u32,
    /// File under /proc/PID/ns.
    pub proc_name: &'static str,
    /// The kernel option that provides it, for "your kernel lacks …" errors.
    pub config: &'static str,
}

use linux_raw_sys::general as k;

/// The namespace types box knows, in the order setns must join them
/// (user first, so the others are joined with its capabilities; mount last
/// but for time and pid, which only affect children).
pub const NAMESPACES: &[Namespace] = &[
    Namespace {
        name: "user",
        flag: k::CLONE_NEWUSER,
        proc_name: "user",
        config: "CONFIG_USER_NS",
    },
    Namespace {
        name: "cgroup",
        flag: k::CLONE_NEWCGROUP,
        proc_name: "cgroup",
        config: "CONFIG_CGROUPS",
    },
    Namespace {
        name: "ipc",
        flag: k::CLONE_NEWIPC,
        proc_name: "ipc",
        config: "CONFIG_IPC_NS",
    },
    Namespace {
        name: "uts",
        flag: k::CLONE_NEWUTS,
        proc_name: "uts",
        config: "CONFIG_UTS_NS",
    },
    Namespace {
        name: "net",
        flag: k::CLONE_NEWNET,
        proc_name: "net",
        config: "CONFIG_NET_NS",
    },
    Namespace {
        name: "pid",
        flag: k::CLONE_NEWPID,
        proc_name: "pid",
        config: "CONFIG_PID_NS",
    },
    Namespace {
        name: "mount",
        flag: k::CLONE_NEWNS,
        proc_name: "mnt",
        config: "CONFIG_NAMESPACES",
    },
    Namespace {
        name: "time",
        flag: k::CLONE_NEWTIME,
        proc_name: "time",
        config: "CONFIG_TIME_NS",
    },
];

/// The first namespace type in `flags` that this kernel lacks: each type it
/// was built with shows as a /proc/self/ns file.
pub fn missing_namespace(flags: u32) -> Option<&'static Namespace> {
    NAMESPACES
        .iter()
        .filter(|ns| flags & ns.flag != 0)
        .find(|ns| {
            CPath::from_parts(&[b"/proc/self/ns/", ns.proc_name.as_bytes()]).is_some_and(|path| {
                rustix::fs::access(path.as_cstr(), rustix::fs::Access::EXISTS)
                    == Err(rustix::io::Errno::NOENT)
            })
        })
}

/// The namespace type of a CLONE_NEW* flag.
pub fn namespace_of(flag: u32) -> Option<&'static Namespace> {
    NAMESPACES.iter().find(|ns| ns.flag == flag)
}

/// Why `--ns mount=PATH` (and an OCI mount namespace's `path`) is refused.
pub const MOUNT_NOT_JOINED: &str =
    "a mount namespace cannot be joined (box builds the container's root in one of its own)";

/// Most namespaces joined by path: one per type but mount.
pub const MAX_JOINS: usize = 7;

/// `--ns TYPE=PATH`: an existing namespace the container joins instead of
/// making one of that type. The path is opened by box, before anything is
/// made (src/container/plan.rs).
#[derive(Clone, Copy, Debug)]
pub struct Join {
    pub kind: &'static Namespace,
    /// A namespace file on the host: /proc/PID/ns/TYPE, or a bind mount of
    /// one (/run/netns/NAME).
    pub path: CPath,
    /// The option or key that gave it, for messages.
    pub given: Given,
}

/// A set of namespace clone flags.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NsSet(pub u32);

impl NsSet {
    pub const DEFAULT: NsSet =
        NsSet(k::CLONE_NEWNS | k::CLONE_NEWUTS | k::CLONE_NEWIPC | k::CLONE_NEWPID);

    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }
}

/// Propagation of the container's root mount (`--propagation`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Propagation {
    Private,
    Slave,
    Shared,
    Unbindable,
}

impl Propagation {
    pub fn parse(word: &[u8]) -> Option<Self> {
        Some(match word {
            b"private" => Self::Private,
            b"slave" => Self::Slave,
            b"shared" => Self::Shared,
            b"unbindable" => Self::Unbindable,
            _ => return None,
        })
    }
}

/// `--bind SRC:DST[:ro|:rw]`.
#[derive(Clone, Copy, Debug)]
pub struct Bind {
    pub source: CPath,
    /// Absolute path inside the container.
    pub target: CPath,
    pub read_only: bool,
}

/// `--tmpfs DST[:size=N,mode=M]`.
#[derive(Clone, Copy, Debug)]
pub struct Tmpfs {
    pub target: CPath,
    /// Mount data for tmpfs (`size=…,mode=…`), validated.
    pub options: Text<TMPFS_OPTS_MAX>,
    /// How many binds were given before it: binds and tmpfs are mounted
    /// in the order given, a later one over an earlier one.
    pub after_binds: u8,
    /// OCI `tmpcopyup` (box-oci only).
    #[cfg(feature = "oci")]
    pub copy_up: CopyUp,
}

/// What a tmpfs takes from the directory it covers (OCI `tmpcopyup`,
/// src/container/copy_up.rs).
#[cfg(feature = "oci")]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CopyUp {
    /// Nothing: it starts empty (box's `--tmpfs`).
    No,
    /// A copy of the directory's content; the root keeps the mode the
    /// mount gave.
    Content,
    /// The content, and the directory's mode on the root (the mount gave
    /// none, as runc does).
    ContentAndMode,
}

/// `--device HOST[:INSIDE][:rwm]`: a host device node handed to the
/// container.
#[derive(Clone, Copy, Debug)]
pub struct Device {
    /// The node on the host (absolute; symlinks such as
    /// /dev/serial/by-id/… are followed).
    pub host: CPath,
    /// Where it appears inside: under /dev, the only mount of the container
    /// where device nodes open (every other one is nodev).
    pub inside: CPath,
    /// What the container may do with it, in the device cgroup's bits:
    /// [`DEVICE_MKNOD`], [`DEVICE_READ`], [`DEVICE_WRITE`].
    pub access: u8,
}

/// `m`: create a node of the device (mknod).
pub const DEVICE_MKNOD: u8 = 1;
/// `r`: open it for reading.
pub const DEVICE_READ: u8 = 2;
/// `w`: open it for writing.
pub const DEVICE_WRITE: u8 = 4;

/// `restart` in spec files (box-init).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Restart {
    No,
    OnFailure,
    Always,
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub rootfs: Option<CPath>,
    pub name: Option<Text<NAME_MAX>>,
    pub hostname: Option<Text<HOSTNAME_MAX>>,
    /// The namespaces made for the container (clone flags); those joined
    /// are in `joins` instead.
    pub namespaces: NsSet,
    /// `--ns TYPE=PATH`: namespaces joined, in the order `--ns` gave them.
    pub joins: heapless::Vec<Join, MAX_JOINS>,
    pub propagation: Propagation,
    pub binds: heapless::Vec<Bind, MAX_BINDS>,
    pub tmpfs: heapless::Vec<Tmpfs, MAX_TMPFS>,
    pub read_only: bool,
    pub memory: Option<u64>,
    pub pids: Option<u64>,
    /// (quota, period) in microseconds.
    pub cpu: Option<(u64, u64)>,
    pub cpuset: Option<Text<CPUSET_MAX>>,
    pub env: heapless::Vec<Text<ENV_ENTRY_MAX>, MAX_ENV>,
    pub workdir: Option<CPath>,
    pub user: Option<(u32, u32)>,
    pub map_root: bool,
    pub init: bool,
    pub detach: bool,
    /// `--rm`: remove a named container's state (and log) when it ends,
    /// instead of keeping it until `box rm`.
    pub rm: bool,
    /// `-t`: a pty of the container's own, relayed to the caller's terminal
    /// (src/container/tty.rs).
    pub tty: bool,
    /// Use move-and-chroot even where pivot_root would work (`--no-pivot`).
    pub no_pivot: bool,
    /// Install box's default seccomp filter (src/seccomp.rs); off with
    /// `--seccomp unconfined`.
    pub seccomp: bool,
    pub restart: Restart,
    /// `--cap-add` / `--cap-drop`: capability bits added to / removed from
    /// the default set.
    pub cap_add: u64,
    pub cap_drop: u64,
    /// `--rlimit NAME=SOFT[:HARD]`.
    pub rlimits: heapless::Vec<Rlimit, MAX_RLIMITS>,
    /// `--uidmap` / `--gidmap` ranges (root callers; implies a user
    /// namespace).
    pub uid_map: heapless::Vec<IdRange, MAX_ID_RANGES>,
    pub gid_map: heapless::Vec<IdRange, MAX_ID_RANGES>,
    /// `--device` entries, in order.
    pub devices: heapless::Vec<Device, MAX_DEVICES>,
}

/// Most `--rlimit` entries.
pub const MAX_RLIMITS: usize = 16;
/// Most ranges in `--uidmap` or `--gidmap`.
pub const MAX_ID_RANGES: usize = 4;

/// `--rlimit NAME=SOFT[:HARD]`; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: rustix::process::Resource,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// One line of a uid or gid map: `count` ids from `inside` map to
/// `outside` on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl Default for RunConfig {
    /// Out of line: its fields were set at each caller.
    #[inline(never)]
    fn default() -> Self {
        Self {
            rootfs: None,
            name: None,
            hostname: None,
            namespaces: NsSet::DEFAULT,
            joins: heapless::Vec::new(),
            propagation: Propagation::Private,
            binds: heapless::Vec::new(),
            tmpfs: heapless::Vec::new(),
            read_only: false,
            memory: None,
            pids: None,
            cpu: None,
            cpuset: None,
            env: heapless::Vec::new(),
            workdir: None,
            user: None,
            map_root: false,
            init: false,
            detach: false,
            rm: false,
            tty: false,
            no_pivot: false,
            seccomp: true,
            restart: Restart::No,
            cap_add: 0,
            cap_drop: 0,
            rlimits: heapless::Vec::new(),
            uid_map: heapless::Vec::new(),
            gid_map: heapless::Vec::new(),
            devices: heapless::Vec::new(),
        }
    }
}

impl RunConfig {
    /// Whether a host path (the rootfs, a bind source, a namespace file)
    /// is still relative.
    pub fn has_relative_host_paths(&self) -> bool {
        let relative = |p: &CPath| !p.as_bytes().starts_with(b"/");
        self.rootfs.as_ref().is_some_and(relative)
            || self.binds.iter().any(|b| relative(&b.source))
            || self.joins.iter().any(|j| relative(&j.path))
    }

    /// The namespace of type `flag` joined by path, if one is.
    pub fn joined(&self, flag: u32) -> Option<&Join> {
        self.joins.iter().find(|j| j.kind.flag == flag)
    }

    /// Whether the container runs in a user namespace, made by box or
    /// joined: its capabilities then count only there.
    pub fn user_namespace(&self) -> bool {
        self.namespaces.has(k::CLONE_NEWUSER) || self.joined(k::CLONE_NEWUSER).is_some()
    }

    /// Make the host paths absolute against `base`, an absolute directory:
    /// the caller's working directory, or a spec file's own directory. The
    /// container process changes into the rootfs before it opens bind
    /// sources, so a relative source would be looked up inside the image,
    /// where a link such as `src -> /etc` would hand it the host's /etc
    /// (the host's root is still its root then). Absolute paths are left as
    /// they are, so calling this again changes nothing.
    /// `given` names the options in messages as the caller's user wrote
    /// them: [`Given::Long`] on the command line, [`Given::Key`] in a spec.
    pub fn anchor_host_paths(
        &mut self,
        base: &[u8],
        given: fn(&'static str) -> Given,
    ) -> Result<()> {
        if let Some(rootfs) = &mut self.rootfs {
            *rootfs = anchored(given("rootfs"), base, rootfs)?;
        }
        for bind in &mut self.binds {
            bind.source = anchored(given("bind"), base, &bind.source)?;
        }
        for join in &mut self.joins {
            join.path = anchored(given("ns"), base, &join.path)?;
        }
        Ok(())
    }
}

/// `path` joined to the absolute directory `base` unless it is absolute
/// already; leading `./` are dropped, so messages show the path plainly.
pub fn anchored(given: Given, base: &[u8], path: &CPath) -> Result<CPath> {
    let mut rest = path.as_bytes();
    if rest.starts_with(b"/") {
        return Ok(*path);
    }
    while let Some(after) = rest.strip_prefix(b"./") {
        rest = after;
        while let Some(after) = rest.strip_prefix(b"/") {
            rest = after;
        }
    }
    if rest == b"." {
        rest = b"";
    }
    let base = base.strip_suffix(b"/").unwrap_or(base);
    let joined = if rest.is_empty() {
        CPath::from_parts(&[if base.is_empty() { b"/" } else { base }])
    } else {
        CPath::from_parts(&[base, b"/", rest])
    };
    joined.ok_or_else(|| {
        bad!(
            "{} {}: longer than {} bytes once made absolute ({}/{})",
            given,
            path,
            PATH_MAX,
            Bytes(base),
            Bytes(rest)
        )
    })
}

/// What box run does with one of its options.
#[derive(Clone, Copy, Debug)]
pub enum Apply {
    /// Set, or add to, the container's configuration. [`Given`] names the
    /// option in messages as the user wrote it (`--memory`, `memory`).
    Config(fn(&mut RunConfig, &[u8], Given) -> Result<()>),
    /// `--file SPEC`: the spec file the configuration starts from
    /// (src/applet/run.rs).
    File,
    /// `cmd` in a spec file: the rest of the line is the command
    /// (src/spec.rs).
    Command,
}

/// An option of box run, or a key of spec files.
pub type RunOption = Opt<Apply>;

#[cfg(any(test, fuzzing))]
impl RunOption {
    /// Apply `value` to `config` as the command line does (for tests and
    /// checks: box run and the spec reader match on the action).
    pub fn apply_to(&self, config: &mut RunConfig, value: &[u8]) -> Result<()> {
        match self.action {
            Apply::Config(apply) => apply(config, value, Given::Long(self.form.long)),
            Apply::File | Apply::Command => Ok(()),
        }
    }
}

/// The options of `box run` (DESIGN.md section 2), which are also the keys
/// of spec files (DESIGN.md section 3), but for `--detach` and `--file`;
/// `restart` and `cmd` are keys only.
pub const RUN_OPTIONS: &[RunOption] = {
    use Apply::Config;
    &[
        Opt::value(
            "rootfs",
            "DIR",
            packed!("root of the container"),
            Config(set_rootfs),
        )
        .key(),
        Opt::value(
            "name",
            "NAME",
            packed!("container name (default box-PID)"),
            Config(set_name),
        )
        .key(),
        Opt::value(
            "hostname",
            "NAME",
            packed!("hostname inside (default: the name)"),
            Config(set_hostname),
        )
        .key(),
        Opt::value(
            "ns",
            "LIST",
            packed!("namespaces to make; TYPE=PATH joins one"),
            Config(set_ns),
        )
        .key(),
        Opt::flag(
            "net",
            packed!("a network namespace, with lo up"),
            Config(set_net),
        )
        .key(),
        Opt::value(
            "propagation",
            "MODE",
            packed!("private, slave, shared or unbindable"),
            Config(set_propagation),
        )
        .key(),
        Opt::value(
            "bind",
            "SRC:DST[:ro]",
            packed!("bind mount from the host"),
            Config(add_bind),
        )
        .key()
        .repeat(),
        Opt::value(
            "tmpfs",
            "DST[:size=N]",
            packed!("tmpfs inside"),
            Config(add_tmpfs),
        )
        .key()
        .repeat(),
        Opt::flag(
            "read-only",
            packed!("read-only rootfs"),
            Config(set_read_only),
        )
        .key(),
        Opt::value(
            "memory",
            "N",
            packed!("memory limit in bytes (K, M, G)"),
            Config(set_memory),
        )
        .key(),
        Opt::value("pids", "N", packed!("process limit"), Config(set_pids)).key(),
        Opt::value(
            "cpu",
            "Q/P",
            packed!("CPU quota/period in microseconds"),
            Config(set_cpu),
        )
        .key(),
        Opt::value(
            "cpuset",
            "LIST",
            packed!("CPUs allowed, e.g. 0-1"),
            Config(set_cpuset),
        )
        .key(),
        Opt::value("env", "K=V", packed!("environment"), Config(add_env))
            .key()
            .repeat(),
        Opt::value(
            "workdir",
            "DIR",
            packed!("working directory inside"),
            Config(set_workdir),
        )
        .key(),
        Opt::value(
            "user",
            "UID[:GID]",
            packed!("identity inside (numeric)"),
            Config(set_user),
        )
        .key(),
        Opt::flag(
            "map-root",
            packed!("user namespace, caller is root inside"),
            Config(set_map_root),
        )
        .key(),
        Opt::flag(
            "init",
            packed!("box-init as PID 1, CMD its child"),
            Config(set_init),
        )
        .key(),
        Opt::flag(
            "detach",
            packed!("run in the background"),
            Config(set_detach),
        )
        .short(b'd'),
        Opt::flag(
            "rm",
            packed!("remove its state and log when it ends"),
            Config(set_rm),
        )
        .key(),
        Opt::flag(
            "tty",
            packed!("a pty inside, relayed to this terminal"),
            Config(set_tty),
        )
        .short(b't')
        .key(),
        Opt::flag(
            "no-pivot",
            packed!("move-and-chroot instead of pivot_root"),
            Config(set_no_pivot),
        )
        .key(),
        Opt::value(
            "seccomp",
            "MODE",
            packed!("default, or unconfined: no syscall filter"),
            Config(set_seccomp),
        )
        .key(),
        Opt::value(
            "cap-add",
            "CAP[,CAP]",
            packed!("capabilities beyond the default set (or all)"),
            Config(add_caps),
        )
        .key()
        .repeat(),
        Opt::value(
            "cap-drop",
            "CAP[,CAP]",
            packed!("capabilities to remove (or all)"),
            Config(drop_caps),
        )
        .key()
        .repeat(),
        Opt::value(
            "rlimit",
            "RES=SOFT[:HARD]",
            packed!("resource limit, e.g. nofile=1024"),
            Config(add_rlimit),
        )
        .key()
        .repeat(),
        Opt::value(
            "uidmap",
            "IN:OUT:COUNT",
            packed!("user namespace uid range (root callers)"),
            Config(add_uid_range),
        )
        .key()
        .repeat(),
        Opt::value(
            "gidmap",
            "IN:OUT:COUNT",
            packed!("user namespace gid range (root callers)"),
            Config(add_gid_range),
        )
        .key()
        .repeat(),
        Opt::value(
            "device",
            "HOST[:INSIDE][:rwm]",
            packed!("hand a host device node to the container"),
            Config(add_device),
        )
        .key()
        .repeat(),
        Opt::flag(
            "debug-timing",
            packed!("print µs per setup step on standard error"),
            Config(debug_timing),
        ),
        Opt::value(
            "file",
            "SPEC",
            packed!("start from a spec file; options override it"),
            Apply::File,
        ),
        Opt::value(
            "restart",
            "no|on-failure|always",
            packed!("what box-init does when it ends (default no)"),
            Config(set_restart),
        )
        .key_only(),
        Opt::value(
            "cmd",
            "PROGRAM [ARG…]",
            packed!("what to run, the rest of the line"),
            Apply::Command,
        )
        .key_only(),
    ]
};

/// `box run`: its help and options.
pub const RUN: Command<Apply> = Command {
    usage: Usage {
        name: "box run",
        synopsis: &[
            "[OPTIONS] --rootfs DIR [--] CMD [ARG…]",
            "--file SPEC [OPTIONS] [-- CMD [ARG…]]",
        ],
        about: packed!("Runs CMD in new mount, UTS, IPC and PID namespaces, with DIR as its root."),
        notes: packed!(
            "Exit status: CMD's own; 128+N if killed by signal N; 125 if box failed,\n\
                126 if CMD cannot be executed, 127 if it was not found."
        ),
    },
    options: RUN_OPTIONS,
};

/// The option or key `name`, for tests and checks.
#[cfg(any(test, fuzzing))]
pub fn find_option(name: &[u8]) -> Option<&'static RunOption> {
    RUN_OPTIONS.iter().find(|o| o.form.long.as_bytes() == name)
}

/// Value of a flag in a spec file: empty (the key alone) means on.
#[inline(never)]
pub fn parse_flag(value: &[u8]) -> Option<bool> {
    match value {
        b"" | b"true" | b"yes" | b"on" | b"1" => Some(true),
        b"false" | b"no" | b"off" | b"0" => Some(false),
        _ => None,
    }
}

fn flag(given: &Given, value: &[u8]) -> Result<bool> {
    parse_flag(value).ok_or_else(|| bad!("{}: '{}' is not true or false", given, Bytes(value)))
}

fn path(given: &Given, value: &[u8]) -> Result<CPath> {
    if value.is_empty() {
        return Err(bad!("{}: empty path", given));
    }
    CPath::from_bytes(value).ok_or_else(|| {
        if value.contains(&0) {
            bad!("{}: path contains a NUL byte", given)
        } else {
            bad!(
                "{}: path longer than {} bytes: {}",
                given,
                PATH_MAX,
                Bytes(value)
            )
        }
    })
}

/// `{given} {value}: {why}`, the message of most refused values: one copy
/// for all of them.
#[inline(never)]
fn refuse(given: &Given, value: &[u8], why: &str) -> Error {
    bad!("{} {}: {}", given, Bytes(value), why)
}

/// `{given}: at most {n} {what}`, for a list that is full: one copy.
#[inline(never)]
fn at_most(given: &Given, n: usize, what: &str) -> Error {
    bad!("{}: at most {} {}", given, n, what)
}

fn absolute(given: &Given, value: &[u8]) -> Result<CPath> {
    if !value.starts_with(b"/") {
        return Err(refuse(
            given,
            value,
            "must be an absolute path inside the container",
        ));
    }
    path(given, value)
}

fn set_rootfs(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.rootfs = Some(path(&given, v)?);
    Ok(())
}

/// Names become directories (/run/box/NAME) and cgroups: a conservative set.
pub fn valid_name(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= NAME_MAX
        && v[0].is_ascii_alphanumeric()
        && v.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn set_name(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    if !valid_name(v) {
        return Err(bad!(
            "{} {}: use 1 to {} letters, digits, '_', '.' or '-', starting with a letter or digit",
            given,
            Bytes(v),
            NAME_MAX
        ));
    }
    c.name = Text::try_from_bytes(v);
    Ok(())
}

fn set_hostname(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= HOSTNAME_MAX
        && v.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !ok {
        return Err(bad!(
            "{} {}: use 1 to {} letters, digits, '-', '.' or '_'",
            given,
            Bytes(v),
            HOSTNAME_MAX
        ));
    }
    c.hostname = Text::try_from_bytes(v);
    Ok(())
}

/// `--ns LIST`: each word a type to make (`net`) or one to join
/// (`net=/run/netns/web`). Types named alone are exactly the namespaces
/// made, mount among them; a list of joins only keeps the namespaces made
/// otherwise (the default set) but for the types joined.
fn set_ns(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let mut made = 0;
    let mut named_alone = false;
    let mut joins = heapless::Vec::<Join, MAX_JOINS>::new();
    for word in v.split(|&b| b == b',') {
        let (name, file) = match word.iter().position(|&b| b == b'=') {
            Some(i) => (&word[..i], Some(&word[i + 1..])),
            None => (word, None),
        };
        let Some(kind) = NAMESPACES.iter().find(|n| n.name.as_bytes() == name) else {
            return Err(bad!(
                "{}: unknown namespace '{}' (known: mount,uts,ipc,pid,net,user,cgroup,time, alone or as TYPE=PATH)",
                given,
                Bytes(name)
            ));
        };
        let Some(file) = file else {
            named_alone = true;
            made |= kind.flag;
            continue;
        };
        if kind.flag == k::CLONE_NEWNS {
            return Err(bad!("{} {}: {}", given, Bytes(word), MOUNT_NOT_JOINED));
        }
        if joins.iter().any(|j| j.kind.flag == kind.flag) {
            return Err(bad!("{} {}: {} joined twice", given, Bytes(v), kind.name));
        }
        let join = Join {
            kind,
            path: path(&given, file)?,
            given,
        };
        let _ = joins.push(join);
    }
    if let Some(both) = joins.iter().find(|j| made & j.kind.flag != 0) {
        return Err(bad!(
            "{} {}: {} is both made and joined",
            given,
            Bytes(v),
            both.kind.name
        ));
    }
    let set = if named_alone {
        NsSet(made)
    } else {
        NsSet(joins.iter().fold(NsSet::DEFAULT.0, |f, j| f & !j.kind.flag))
    };
    if !set.has(k::CLONE_NEWNS) {
        return Err(refuse(
            &given,
            v,
            "the list must include mount (box changes the root, which needs a mount namespace of its own)",
        ));
    }
    // --map-root needs its user namespace whatever the list says.
    c.namespaces = if c.map_root || !c.uid_map.is_empty() || !c.gid_map.is_empty() {
        NsSet(set.0 | k::CLONE_NEWUSER)
    } else {
        set
    };
    c.joins = joins;
    Ok(())
}

fn set_net(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    if flag(&given, v)? {
        c.namespaces.0 |= k::CLONE_NEWNET;
    } else {
        c.namespaces.0 &= !k::CLONE_NEWNET;
    }
    Ok(())
}

fn set_propagation(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.propagation = Propagation::parse(v)
        .ok_or_else(|| refuse(&given, v, "use private, slave, shared or unbindable"))?;
    Ok(())
}

fn add_bind(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let mut parts = v.splitn(3, |&b| b == b':');
    let (src, dst) = match (parts.next(), parts.next()) {
        (Some(s), Some(d)) if !s.is_empty() && !d.is_empty() => (s, d),
        _ => return Err(refuse(&given, v, "use SRC:DST[:ro]")),
    };
    let read_only = match parts.next() {
        None | Some(b"rw") => false,
        Some(b"ro") => true,
        Some(other) => {
            return Err(bad!(
                "{} {}: unknown mode '{}' (use ro or rw)",
                given,
                Bytes(v),
                Bytes(other)
            ));
        }
    };
    if names_the_root(dst) {
        return Err(refuse(
            &given,
            v,
            "the target is the container's root, which a bind cannot replace (give the source as --rootfs, or bind below /)",
        ));
    }
    let bind = Bind {
        source: path(&given, src)?,
        target: absolute(&given, dst)?,
        read_only,
    };
    c.binds
        .push(bind)
        .map_err(|_| at_most(&given, MAX_BINDS, "binds per container"))
}

/// Whether an absolute path inside the container names its root: `/`,
/// `//`, `/.`, `/a/..` (counted by its words, as the kernel would walk
/// them). A mount there was accepted and then did nothing: the command's
/// root is the rootfs, under whatever is mounted over it.
pub fn names_the_root(target: &[u8]) -> bool {
    if !target.starts_with(b"/") {
        return false;
    }
    let mut depth = 0usize;
    for word in target.split(|&b| b == b'/') {
        match word {
            b"" | b"." => {}
            b".." => depth = depth.saturating_sub(1),
            _ => depth += 1,
        }
    }
    depth == 0
}

/// A tmpfs size: digits with an optional k/m/g suffix (tmpfs's own syntax),
/// or a percentage of RAM. Not 0, which tmpfs reads as unlimited, and not
/// past 64 bits, which the kernel's memparse wraps around (to 0 among
/// other values) without a word. No leading 0 either: memparse reads the
/// number as C does, so `0100k` would be 64 KiB (octal), not 100.
fn valid_tmpfs_size(s: &[u8]) -> bool {
    if s.starts_with(b"0") {
        return false;
    }
    match s.strip_suffix(b"%") {
        Some(percent) => parse_u64(percent).is_some_and(|n| n > 0),
        None => parse_size(s).is_some_and(|n| n > 0),
    }
}

/// A tmpfs mode: octal, at most 07777 (tmpfs silently drops higher bits).
fn valid_tmpfs_mode(s: &[u8]) -> bool {
    let digit = |mode: u32, &d: &u8| match d {
        b'0'..=b'7' => Some(mode * 8 + u32::from(d - b'0')).filter(|&m| m <= 0o7777),
        _ => None,
    };
    !s.is_empty() && s.iter().try_fold(0, digit).is_some()
}

fn add_tmpfs(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let (dst, opts) = match v.iter().position(|&b| b == b':') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if names_the_root(dst) {
        return Err(refuse(
            &given,
            v,
            "the target is the container's root, which a tmpfs cannot replace (mount it on a directory below /)",
        ));
    }
    let target = absolute(&given, dst)?;
    let mut options = Text::<TMPFS_OPTS_MAX>::new();
    let mut has_mode = false;
    for opt in opts.split(|&b| b == b',').filter(|o| !o.is_empty()) {
        let ok = match opt.split_at(opt.iter().position(|&b| b == b'=').unwrap_or(opt.len())) {
            // `val` is "=…", or empty for a bare `size` (no index: it would panic).
            (b"size", val) => val.get(1..).is_some_and(valid_tmpfs_size),
            (b"mode", val) => {
                has_mode = true;
                val.get(1..).is_some_and(valid_tmpfs_mode)
            }
            _ => false,
        };
        if !ok {
            return Err(bad!(
                "{} {}: bad option '{}' (use size=N[k|m|g] or mode=OCTAL)",
                given,
                Bytes(v),
                Bytes(opt)
            ));
        }
        if !options.is_empty() {
            options.push(b",");
        }
        options.push(opt);
    }
    if !has_mode {
        if !options.is_empty() {
            options.push(b",");
        }
        options.push(b"mode=1777");
    }
    if options.overflowed() {
        return Err(refuse(&given, v, "options too long"));
    }
    c.tmpfs
        .push(Tmpfs {
            target,
            options,
            after_binds: c.binds.len() as u8,
            #[cfg(feature = "oci")]
            copy_up: CopyUp::No,
        })
        .map_err(|_| at_most(&given, MAX_TMPFS, "tmpfs mounts per container"))
}

fn set_read_only(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.read_only = flag(&given, v)?;
    Ok(())
}

/// A size in bytes with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(s: &[u8]) -> Option<u64> {
    let (digits, shift) = match s.last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    parse_u64(digits)?.checked_mul(1u64 << shift)
}

fn set_memory(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    match parse_size(v) {
        // Below a page the kernel cannot even start the process.
        Some(n) if n >= 4096 => {
            c.memory = Some(n);
            Ok(())
        }
        Some(_) => Err(refuse(
            &given,
            v,
            "too small (at least 4K; a container needs memory to start)",
        )),
        None => Err(refuse(
            &given,
            v,
            "use a number of bytes with an optional K, M or G suffix",
        )),
    }
}

fn set_pids(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    match parse_u64(v) {
        Some(n) if n >= 1 => {
            c.pids = Some(n);
            Ok(())
        }
        _ => Err(refuse(&given, v, "use a whole number of at least 1")),
    }
}

fn set_cpu(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let parsed = v
        .iter()
        .position(|&b| b == b'/')
        .and_then(|slash| Some((parse_u64(&v[..slash])?, parse_u64(&v[slash + 1..])?)));
    match parsed {
        // The kernel's bounds for cpu.max / cfs_quota_us: period 1 ms to 1 s,
        // quota at least 1 ms.
        Some((q, p)) if (1000..=1_000_000).contains(&p) && q >= 1000 => {
            c.cpu = Some((q, p));
            Ok(())
        }
        Some(_) => Err(refuse(
            &given,
            v,
            "the period must be 1000 to 1000000 µs and the quota at least 1000 µs",
        )),
        None => Err(refuse(
            &given,
            v,
            "use QUOTA/PERIOD in microseconds, e.g. 50000/100000 for half a CPU",
        )),
    }
}

/// Check a CPU list (`0-1,3`) and return the highest CPU in it.
pub fn parse_cpu_list(v: &[u8]) -> Option<u32> {
    let mut highest = None;
    for range in v.split(|&b| b == b',') {
        let (lo, hi) = match range.iter().position(|&b| b == b'-') {
            Some(d) => (parse_u32(&range[..d])?, parse_u32(&range[d + 1..])?),
            None => {
                let n = parse_u32(range)?;
                (n, n)
            }
        };
        if lo > hi {
            return None;
        }
        highest = Some(highest.map_or(hi, |h: u32| h.max(hi)));
    }
    highest
}

fn set_cpuset(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    if parse_cpu_list(v).is_none() {
        return Err(refuse(&given, v, "use a CPU list such as 0, 0-1 or 0,2-3"));
    }
    if v.len() > CPUSET_MAX {
        return Err(bad!(
            "{} {}: longer than {} bytes (use ranges: 0-7 rather than 0,1,…,7)",
            given,
            Bytes(v),
            CPUSET_MAX
        ));
    }
    c.cpuset = Text::try_from_bytes(v);
    Ok(())
}

fn add_env(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let eq = v.iter().position(|&b| b == b'=');
    if eq.is_none_or(|i| i == 0) || v.contains(&0) {
        return Err(refuse(&given, v, "use KEY=VALUE"));
    }
    let entry = Text::try_from_bytes(v)
        .ok_or_else(|| bad!("{}: entry longer than {} bytes", given, ENV_ENTRY_MAX))?;
    // A later entry for the same key replaces the earlier one.
    let key = &v[..=eq.unwrap_or(0)];
    if let Some(old) = c.env.iter_mut().find(|e| e.as_bytes().starts_with(key)) {
        *old = entry;
        return Ok(());
    }
    c.env
        .push(entry)
        .map_err(|_| at_most(&given, MAX_ENV, "entries per container"))
}

fn set_workdir(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.workdir = Some(absolute(&given, v)?);
    Ok(())
}

fn set_user(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let (u, g) = match v.iter().position(|&b| b == b':') {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let uid = parse_u32(u);
    let gid = match g {
        Some(g) => parse_u32(g),
        None => uid,
    };
    match (uid, gid) {
        (Some(uid), Some(gid)) if uid != u32::MAX && gid != u32::MAX => {
            c.user = Some((uid, gid));
            Ok(())
        }
        _ => Err(refuse(
            &given,
            v,
            "use numeric UID[:GID] (names are not looked up)",
        )),
    }
}

fn set_map_root(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.map_root = flag(&given, v)?;
    if c.map_root {
        c.namespaces.0 |= k::CLONE_NEWUSER;
    }
    Ok(())
}

fn set_init(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.init = flag(&given, v)?;
    Ok(())
}

fn set_detach(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.detach = flag(&given, v)?;
    Ok(())
}

fn set_rm(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.rm = flag(&given, v)?;
    Ok(())
}

fn set_tty(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.tty = flag(&given, v)?;
    Ok(())
}

/// `--debug-timing`: a switch of this command line, not a key of spec
/// files (a service's timing is no part of what it is). Read before
/// anything else, the sealed re-exec included (src/applet/run.rs's
/// `debug_timing_asked`, which src/lib.rs calls): here it is only accepted.
fn debug_timing(_: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    flag(&given, v).map(drop)
}

fn set_no_pivot(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.no_pivot = flag(&given, v)?;
    Ok(())
}

/// A comma list of capability names (or `all`) as bits.
fn capability_list(given: &Given, v: &[u8]) -> Result<u64> {
    let mut bits = 0;
    for word in v.split(|&b| b == b',') {
        if word.eq_ignore_ascii_case(b"all") {
            bits |= crate::sys::caps::all().bits();
            continue;
        }
        match crate::sys::caps::by_name(word) {
            Some(cap) => bits |= cap.bits(),
            None => {
                return Err(bad!(
                    "{} {}: unknown capability '{}' (names as in capabilities(7), e.g. net_admin)",
                    given,
                    Bytes(v),
                    Bytes(word)
                ));
            }
        }
    }
    Ok(bits)
}

fn add_caps(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let bits = capability_list(&given, v)?;
    c.cap_add |= bits;
    c.cap_drop &= !bits;
    Ok(())
}

fn drop_caps(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let bits = capability_list(&given, v)?;
    c.cap_drop |= bits;
    c.cap_add &= !bits;
    Ok(())
}

/// The resources `--rlimit` knows, by the name setrlimit(2) gives them.
const RLIMITS: &[(&str, rustix::process::Resource)] = {
    use rustix::process::Resource as R;
    &[
        ("cpu", R::Cpu),
        ("fsize", R::Fsize),
        ("data", R::Data),
        ("stack", R::Stack),
        ("core", R::Core),
        ("rss", R::Rss),
        ("nproc", R::Nproc),
        ("nofile", R::Nofile),
        ("memlock", R::Memlock),
        ("as", R::As),
        ("locks", R::Locks),
        ("sigpending", R::Sigpending),
        ("msgqueue", R::Msgqueue),
        ("nice", R::Nice),
        ("rtprio", R::Rtprio),
        ("rttime", R::Rttime),
    ]
};

/// The name `--rlimit` takes for `resource` (for writing specs back in
/// the spec parser's tests).
#[cfg(test)]
pub fn rlimit_name(resource: rustix::process::Resource) -> &'static str {
    RLIMITS
        .iter()
        .find(|(_, r)| *r == resource)
        .map_or("?", |(n, _)| n)
}

fn rlimit_value(v: &[u8]) -> Option<Option<u64>> {
    if v == b"unlimited" || v == b"infinity" {
        return Some(None);
    }
    parse_u64(v).filter(|&n| n != u64::MAX).map(Some)
}

fn add_rlimit(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let usage = || {
        refuse(
            &given,
            v,
            "use NAME=SOFT[:HARD], NAME one of cpu fsize data stack core rss nproc nofile memlock as locks sigpending msgqueue nice rtprio rttime, values numbers or unlimited",
        )
    };
    let eq = v.iter().position(|&b| b == b'=').ok_or_else(usage)?;
    let name = &v[..eq];
    let name = name
        .strip_prefix(b"RLIMIT_")
        .or_else(|| name.strip_prefix(b"rlimit_"))
        .unwrap_or(name);
    let &(_, resource) = RLIMITS
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .ok_or_else(usage)?;
    let values = &v[eq + 1..];
    let (soft, hard) = match values.iter().position(|&b| b == b':') {
        Some(i) => (&values[..i], &values[i + 1..]),
        None => (values, values),
    };
    let (soft, hard) = (
        rlimit_value(soft).ok_or_else(usage)?,
        rlimit_value(hard).ok_or_else(usage)?,
    );
    let above = match (soft, hard) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(s), Some(h)) => s > h,
    };
    if above {
        return Err(refuse(&given, v, "the soft limit is above the hard one"));
    }
    let limit = Rlimit {
        resource,
        soft,
        hard,
    };
    if let Some(old) = c.rlimits.iter_mut().find(|r| r.resource == resource) {
        *old = limit;
        return Ok(());
    }
    c.rlimits
        .push(limit)
        .map_err(|_| at_most(&given, MAX_RLIMITS, "entries"))
}

/// `INSIDE:OUTSIDE:COUNT`, checked against the ranges `taken` already.
fn id_range(given: &Given, v: &[u8], taken: &[IdRange]) -> Result<IdRange> {
    let mut parts = v.split(|&b| b == b':');
    let (a, b, n) = (parts.next(), parts.next(), parts.next());
    let range = match (
        a.and_then(parse_u32),
        b.and_then(parse_u32),
        n.and_then(parse_u32),
        parts.next(),
    ) {
        (Some(inside), Some(outside), Some(count), None) if count > 0 => IdRange {
            inside,
            outside,
            count,
        },
        _ => {
            return Err(refuse(
                given,
                v,
                "use INSIDE:OUTSIDE:COUNT, e.g. 0:100000:65536",
            ));
        }
    };
    let fits = |start: u32| u64::from(start) + u64::from(range.count) <= u64::from(u32::MAX);
    if !fits(range.inside) || !fits(range.outside) {
        return Err(refuse(given, v, "the range passes 4294967295"));
    }
    // The kernel refuses a whole map if two of its ranges share an id,
    // inside or outside (mappings_overlap in kernel/user_namespace.c).
    if let Some(other) = taken.iter().find(|r| share_an_id(r, &range)) {
        return Err(bad!(
            "{} {}: overlaps {}:{}:{} (ranges must not share an id inside or outside)",
            given,
            Bytes(v),
            other.inside,
            other.outside,
            other.count
        ));
    }
    Ok(range)
}

fn share_an_id(a: &IdRange, b: &IdRange) -> bool {
    let meet = |a_start: u32, b_start: u32| {
        let (a_start, b_start) = (u64::from(a_start), u64::from(b_start));
        a_start < b_start + u64::from(b.count) && b_start < a_start + u64::from(a.count)
    };
    meet(a.inside, b.inside) || meet(a.outside, b.outside)
}

fn add_uid_range(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let range = id_range(&given, v, &c.uid_map)?;
    c.uid_map
        .push(range)
        .map_err(|_| at_most(&given, MAX_ID_RANGES, "ranges"))?;
    c.namespaces.0 |= k::CLONE_NEWUSER;
    Ok(())
}

fn add_gid_range(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let range = id_range(&given, v, &c.gid_map)?;
    c.gid_map
        .push(range)
        .map_err(|_| at_most(&given, MAX_ID_RANGES, "ranges"))?;
    c.namespaces.0 |= k::CLONE_NEWUSER;
    Ok(())
}

/// `restart no|on-failure|always` in a spec file: what box-init does when
/// the container exits.
fn set_restart(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.restart = match v {
        b"no" => Restart::No,
        b"on-failure" => Restart::OnFailure,
        b"always" => Restart::Always,
        _ => {
            return Err(refuse(&given, v, "use no, on-failure or always"));
        }
    };
    Ok(())
}

/// The device cgroup's letters (`rwm`, any order, each once) as bits.
pub fn device_access(letters: &[u8]) -> Option<u8> {
    let mut bits = 0;
    for &letter in letters {
        let bit = match letter {
            b'r' => DEVICE_READ,
            b'w' => DEVICE_WRITE,
            b'm' => DEVICE_MKNOD,
            _ => return None,
        };
        if bits & bit != 0 {
            return None;
        }
        bits |= bit;
    }
    (bits != 0).then_some(bits)
}

/// Where a device node may be made inside: under /dev, in plain
/// components (no `.`, `..` or empty ones), and not in /dev/pts, /dev/shm
/// or /dev/mqueue, which are filesystems of their own that hold no nodes.
pub fn valid_device_path(path: &[u8]) -> bool {
    let Some(rest) = path.strip_prefix(b"/dev/") else {
        return false;
    };
    let first = rest.split(|&b| b == b'/').next().unwrap_or(b"");
    !matches!(first, b"pts" | b"shm" | b"mqueue")
        && rest
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

fn add_device(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    let mut parts = v.splitn(3, |&b| b == b':');
    let host = parts.next().unwrap_or(b"");
    // The second part is INSIDE when it is a path, else the permissions.
    let (inside, letters) = match (parts.next(), parts.next()) {
        (None, _) => (host, None),
        (Some(second), None) if second.starts_with(b"/") => (second, None),
        (Some(second), None) => (host, Some(second)),
        (Some(second), Some(third)) => (second, Some(third)),
    };
    let access = match letters {
        None => DEVICE_READ | DEVICE_WRITE | DEVICE_MKNOD,
        Some(letters) => device_access(letters).unwrap_or(0),
    };
    if !host.starts_with(b"/") || access == 0 || !valid_device_path(inside) {
        return Err(refuse(
            &given,
            v,
            "use HOST[:INSIDE][:PERMISSIONS]: HOST absolute, INSIDE under /dev but not in pts, shm or mqueue (by default HOST's own path), PERMISSIONS of r, w, m",
        ));
    }
    let device = Device {
        host: path(&given, host)?,
        inside: path(&given, inside)?,
        access,
    };
    if c.devices.iter().any(|d| d.inside.as_bytes() == inside) {
        return Err(bad!(
            "{} {}: another device is already at {}",
            given,
            Bytes(v),
            Bytes(inside)
        ));
    }
    c.devices
        .push(device)
        .map_err(|_| at_most(&given, MAX_DEVICES, "devices per container"))
}

/// `--seccomp default|unconfined` (src/seccomp.rs).
fn set_seccomp(c: &mut RunConfig, v: &[u8], given: Given) -> Result<()> {
    c.seccomp = match v {
        b"default" => true,
        b"unconfined" => false,
        _ => {
            return Err(refuse(&given, v, "use default or unconfined"));
        }
    };
    Ok(())
}

/// The model of this table that the fuzz target `options` checks against;
/// the tests below run it on stable too, with pseudo-random values.
#[cfg(test)]
#[path = "../fuzz/checks/options.rs"]
mod option_checks;

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(c: &mut RunConfig, key: &str, v: &str) -> Result<()> {
        find_option(key.as_bytes())
            .unwrap()
            .apply_to(c, v.as_bytes())
    }

    /// `--ns`: types alone are the namespaces made; TYPE=PATH joins one,
    /// and a list of joins only keeps the default set but for their types.
    #[test]
    fn namespaces_made_and_joined() {
        let joined = |c: &RunConfig| -> Vec<(&str, Vec<u8>)> {
            c.joins
                .iter()
                .map(|j| (j.kind.name, j.path.as_bytes().to_vec()))
                .collect()
        };
        let mut c = RunConfig::default();
        apply(&mut c, "ns", "net=/run/netns/web").unwrap();
        assert_eq!(c.namespaces, NsSet::DEFAULT);
        assert_eq!(joined(&c), [("net", b"/run/netns/web".to_vec())]);
        apply(&mut c, "ns", "uts=/proc/9/ns/uts,pid=/proc/9/ns/pid").unwrap();
        assert_eq!(c.namespaces, NsSet(k::CLONE_NEWNS | k::CLONE_NEWIPC));
        assert_eq!(joined(&c).len(), 2, "a later --ns replaces the joins");
        apply(&mut c, "ns", "mount,user=u,net=a=b").unwrap();
        assert_eq!(c.namespaces, NsSet(k::CLONE_NEWNS));
        assert_eq!(
            joined(&c),
            [("user", b"u".to_vec()), ("net", b"a=b".to_vec())]
        );
        assert!(c.has_relative_host_paths());
        c.anchor_host_paths(b"/etc/box", Given::Key).unwrap();
        assert_eq!(c.joins[0].path.as_bytes(), b"/etc/box/u");
        apply(&mut c, "ns", "mount,uts").unwrap();
        assert!(c.joins.is_empty());

        for (bad, why) in [
            ("mount=/proc/1/ns/mnt", "a mount namespace cannot be joined"),
            ("net=/a,net=/b", "net joined twice"),
            ("mount,net,net=/a", "net is both made and joined"),
            ("uts,net=/a", "must include mount"),
            ("net=", "empty path"),
            ("nets=/a", "unknown namespace 'nets'"),
        ] {
            let e = apply(&mut RunConfig::default(), "ns", bad).unwrap_err();
            let text = format!("{e}");
            assert!(text.contains(why), "--ns {bad}: {text}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"32M"), Some(32 << 20));
        assert_eq!(parse_size(b"1g"), Some(1 << 30));
        assert_eq!(parse_size(b"4096"), Some(4096));
        assert_eq!(parse_size(b"12Q"), None);
        assert_eq!(parse_size(b"M"), None);
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"99999999999999999999G"), None);
        assert_eq!(parse_size(b"17179869184G"), None);
    }

    #[test]
    fn bad_limits_are_refused() {
        let mut c = RunConfig::default();
        assert!(apply(&mut c, "memory", "12Q").is_err());
        assert!(apply(&mut c, "memory", "0").is_err());
        assert!(apply(&mut c, "pids", "-1").is_err());
        assert!(apply(&mut c, "pids", "0").is_err());
        assert!(apply(&mut c, "cpu", "5").is_err());
        assert!(apply(&mut c, "cpu", "50000/100").is_err());
        assert!(apply(&mut c, "cpuset", "3-1").is_err());
        assert!(apply(&mut c, "cpuset", "a").is_err());
        apply(&mut c, "memory", "32M").unwrap();
        apply(&mut c, "cpu", "20000/100000").unwrap();
        apply(&mut c, "cpuset", "0,2-3").unwrap();
        assert_eq!(c.memory, Some(32 << 20));
        assert_eq!(c.cpu, Some((20000, 100000)));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list(b"0"), Some(0));
        assert_eq!(parse_cpu_list(b"0-1,5"), Some(5));
        assert_eq!(parse_cpu_list(b"0,"), None);
        assert_eq!(parse_cpu_list(b""), None);
    }

    #[test]
    fn binds() {
        let mut c = RunConfig::default();
        apply(&mut c, "bind", "/var/log/web:/var/log:rw").unwrap();
        apply(&mut c, "bind", "/etc/resolv.conf:/etc/resolv.conf:ro").unwrap();
        assert!(c.binds[1].read_only && !c.binds[0].read_only);
        assert!(apply(&mut c, "bind", "/a").is_err());
        assert!(apply(&mut c, "bind", "/a:rel").is_err());
        assert!(apply(&mut c, "bind", "/a:/b:rx").is_err());
        for root in ["/", "//", "/.", "/./", "/a/..", "/..", "/a/../.."] {
            let e = apply(&mut c, "bind", &format!("/a:{root}")).unwrap_err();
            assert!(
                e.to_string().contains("the target is the container's root"),
                "{e}"
            );
            assert!(apply(&mut c, "tmpfs", root).is_err(), "{root}");
        }
        assert!(!names_the_root(b"/a/../b") && !names_the_root(b"/.a") && !names_the_root(b"a"));
        for _ in 2..MAX_BINDS {
            apply(&mut c, "bind", "/a:/b").unwrap();
        }
        assert!(apply(&mut c, "bind", "/a:/b").is_err());
    }

    #[test]
    fn host_paths_are_anchored_once() {
        let at = |base: &str, p: &str| {
            let p = CPath::from_bytes(p.as_bytes()).unwrap();
            String::from_utf8(
                anchored(Given::Long("bind"), base.as_bytes(), &p)
                    .unwrap()
                    .as_bytes()
                    .to_vec(),
            )
            .unwrap()
        };
        assert_eq!(at("/home/u", "src"), "/home/u/src");
        assert_eq!(at("/home/u/", "./src"), "/home/u/src");
        assert_eq!(at("/home/u", ".//./src/."), "/home/u/src/.");
        assert_eq!(at("/home/u", "../x"), "/home/u/../x");
        assert_eq!(at("/home/u", "."), "/home/u");
        assert_eq!(at("/", "src"), "/src");
        assert_eq!(at("/", "."), "/");
        assert_eq!(at("/home/u", "/etc"), "/etc");
        let mut c = RunConfig::default();
        apply(&mut c, "rootfs", "img").unwrap();
        apply(&mut c, "bind", "src:/data:ro").unwrap();
        apply(&mut c, "bind", "/abs:/abs").unwrap();
        assert!(c.has_relative_host_paths());
        c.anchor_host_paths(b"/w", Given::Long).unwrap();
        c.anchor_host_paths(b"/elsewhere", Given::Key).unwrap();
        assert!(!c.has_relative_host_paths());
        assert_eq!(c.rootfs.unwrap().as_bytes(), b"/w/img");
        assert_eq!(c.binds[0].source.as_bytes(), b"/w/src");
        assert_eq!(c.binds[1].source.as_bytes(), b"/abs");
        let long = "d".repeat(PATH_MAX - 2);
        let p = CPath::from_bytes(long.as_bytes()).unwrap();
        let e = anchored(Given::Long("bind"), b"/w", &p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("longer than 255 bytes once made absolute"),
            "{e}"
        );
    }

    #[test]
    fn tmpfs_options() {
        let mut c = RunConfig::default();
        apply(&mut c, "tmpfs", "/tmp:size=16M").unwrap();
        assert_eq!(c.tmpfs[0].options.as_bytes(), b"size=16M,mode=1777");
        apply(&mut c, "tmpfs", "/run").unwrap();
        assert_eq!(c.tmpfs[1].options.as_bytes(), b"mode=1777");
        apply(&mut c, "tmpfs", "/x:mode=0700").unwrap();
        assert_eq!(c.tmpfs[2].options.as_bytes(), b"mode=0700");
        assert!(apply(&mut c, "tmpfs", "/tmp:size=lots").is_err());
        assert!(apply(&mut c, "tmpfs", "/tmp:size").is_err());
        assert!(apply(&mut c, "tmpfs", "/tmp:uid=0").is_err());
        assert!(apply(&mut c, "tmpfs", "tmp").is_err());
    }

    #[test]
    fn tmpfs_sizes_fit_in_64_bits_and_modes_in_07777() {
        let mut c = RunConfig::default();
        // 2^54 KiB is 2^64 bytes: wrapped to 0, which tmpfs reads as no limit.
        assert!(apply(&mut c, "tmpfs", "/t:size=18014398509481984k").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:size=17179869184G").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:size=99999999999999999999").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:size=0").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:size=0%").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:size=%").is_err());
        // The kernel reads 0100k as octal: 64 KiB.
        assert!(apply(&mut c, "tmpfs", "/t:size=0100k").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:size=010%").is_err());
        apply(&mut c, "tmpfs", "/t:size=17179869183G").unwrap();
        apply(&mut c, "tmpfs", "/t:size=50%").unwrap();
        // tmpfs keeps mode & 07777: 010000 would be a mode-0 directory.
        assert!(apply(&mut c, "tmpfs", "/t:mode=10000").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:mode=").is_err());
        assert!(apply(&mut c, "tmpfs", "/t:mode=8").is_err());
        apply(&mut c, "tmpfs", "/t:mode=0007777").unwrap();
        assert_eq!(c.tmpfs.len(), 3);
    }

    #[test]
    fn id_map_ranges_must_not_share_an_id() {
        let mut c = RunConfig::default();
        apply(&mut c, "uidmap", "0:100000:1000").unwrap();
        // Inside 999 is taken, then outside 100999: the kernel would refuse
        // the whole map when box writes it.
        let e = apply(&mut c, "uidmap", "999:200000:10").unwrap_err();
        assert!(e.to_string().contains("overlaps 0:100000:1000"), "{e}");
        assert!(apply(&mut c, "uidmap", "5000:100999:1").is_err());
        // Ranges that only touch are fine, and the gid map is another map.
        apply(&mut c, "uidmap", "1000:101000:1").unwrap();
        apply(&mut c, "gidmap", "0:100000:1000").unwrap();
        assert_eq!((c.uid_map.len(), c.gid_map.len()), (2, 1));
        // The last id, 4294967294, can be mapped; 4294967295 is "no id".
        apply(&mut c, "gidmap", "4294967294:4294967294:1").unwrap();
        assert!(apply(&mut c, "gidmap", "4294967295:5:1").is_err());
    }

    #[test]
    fn namespaces() {
        let mut c = RunConfig::default();
        apply(&mut c, "ns", "mount,pid,net").unwrap();
        assert!(c.namespaces.has(k::CLONE_NEWNET) && !c.namespaces.has(k::CLONE_NEWUTS));
        assert!(apply(&mut c, "ns", "uts,pid").is_err());
        assert!(apply(&mut c, "ns", "mount,bogus").is_err());
        assert!(apply(&mut c, "ns", "").is_err());
    }

    #[test]
    fn env_and_user() {
        let mut c = RunConfig::default();
        apply(&mut c, "env", "A=1").unwrap();
        apply(&mut c, "env", "A=2").unwrap();
        apply(&mut c, "env", "AB=3").unwrap();
        assert_eq!(c.env.len(), 2);
        assert_eq!(c.env[0].as_bytes(), b"A=2");
        assert!(apply(&mut c, "env", "=1").is_err());
        assert!(apply(&mut c, "env", "A").is_err());
        apply(&mut c, "user", "1000").unwrap();
        assert_eq!(c.user, Some((1000, 1000)));
        apply(&mut c, "user", "1000:5").unwrap();
        assert_eq!(c.user, Some((1000, 5)));
        assert!(apply(&mut c, "user", "nobody").is_err());
        assert!(apply(&mut c, "user", "1:").is_err());
    }

    #[test]
    fn devices() {
        let mut c = RunConfig::default();
        apply(&mut c, "device", "/dev/ttyS1").unwrap();
        apply(&mut c, "device", "/dev/i2c-1:/dev/i2c-0:rw").unwrap();
        apply(&mut c, "device", "/dev/gpiochip0:r").unwrap();
        apply(&mut c, "device", "/srv/node:/dev/bus/usb/001/002:mrw").unwrap();
        let got: Vec<(&[u8], &[u8], u8)> = c
            .devices
            .iter()
            .map(|d| (d.host.as_bytes(), d.inside.as_bytes(), d.access))
            .collect();
        assert_eq!(
            got,
            [
                (&b"/dev/ttyS1"[..], &b"/dev/ttyS1"[..], 7),
                (b"/dev/i2c-1", b"/dev/i2c-0", DEVICE_READ | DEVICE_WRITE),
                (b"/dev/gpiochip0", b"/dev/gpiochip0", DEVICE_READ),
                (b"/srv/node", b"/dev/bus/usb/001/002", 7),
            ]
        );
        for bad in [
            "ttyS1",
            "/dev/ttyS1:rx",
            "/dev/ttyS1:rr",
            "/dev/ttyS1:",
            "/dev/ttyS1:/tmp/x",
            "/dev/ttyS1:/dev/../etc/x",
            "/dev/ttyS1:/dev/pts/9",
            "/dev/ttyS1:/dev/shm/x",
            "/dev/ttyS1:/dev/",
            "/srv/node",
            "/dev/ttyS1:/dev/x:r:w",
            // Taken by the first entry.
            "/dev/ttyS2:/dev/ttyS1",
        ] {
            assert!(apply(&mut c, "device", bad).is_err(), "{bad}");
        }
        for i in c.devices.len()..MAX_DEVICES {
            apply(&mut c, "device", &format!("/dev/x:/dev/x{i}")).unwrap();
        }
        assert!(apply(&mut c, "device", "/dev/x:/dev/y").is_err());
    }

    #[test]
    fn names() {
        assert!(valid_name(b"web-1.a_b"));
        assert!(!valid_name(b"-web"));
        assert!(!valid_name(b"a/b"));
        assert!(!valid_name(b".."));
        assert!(!valid_name(&[b'a'; NAME_MAX + 1]));
    }

    /// Inputs the fuzz target `options` found refused by the model but
    /// accepted by box: `--ns` with a join (`uts=PATH`), which the model
    /// did not know.
    #[test]
    fn fuzz_findings_stay_fixed() {
        let crash: &[u8] = b"\x9c0-\x06/v9ar/log:o\xff\xff\xff-\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffunt,uts,I$,?\xeb\x04\x00\x03mount,uts=i$c*\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00,\x00\x00net,n'";
        option_checks::check_input(crash);
        let ns = find_option(b"ns").unwrap();
        for value in [
            &b"mount,uts=i$c*"[..],
            b"net=/run/netns/a,uts=/proc/1/ns/uts",
            b"mount,uts,net=/x",
            b"mount=/x",
            b"net=/a,net=/b",
            b"net,net=/a",
            b"uts=",
            b"pid=/proc/1/ns/pid,user=/proc/1/ns/user,ipc=a,cgroup=b,time=c,net=d,uts=e",
        ] {
            let mut config = RunConfig::default();
            option_checks::apply_and_check(&mut config, ns, value);
        }
    }

    // ---- property tests: fuzz/checks/options.rs on pseudo-random values ----

    use crate::test_rng::Rng;

    /// Valid values of each option, which the mutations start from: random
    /// bytes alone would almost never get past the first check.
    fn seeds(name: &str) -> &'static [&'static str] {
        match name {
            "rootfs" => &["/srv/rootfs", "rootfs"],
            "workdir" => &["/", "/srv/app"],
            "name" => &["web-1", "a.b_c"],
            "hostname" => &["box", "web.local"],
            "ns" => &["mount,uts,ipc,pid", "mount,net,user,cgroup,time"],
            "net" | "read-only" | "map-root" | "init" | "detach" | "rm" | "tty" | "no-pivot"
            | "debug-timing" => &["", "true", "off", "1"],
            "propagation" => &["private", "slave", "shared", "unbindable"],
            "bind" => &["/var/log/web:/var/log:rw", "/etc/a:/etc/a:ro", "src:/b"],
            "tmpfs" => &["/tmp:size=16M,mode=1777", "/run", "/x:mode=0700,size=50%"],
            "memory" => &["32M", "4096", "1g"],
            "pids" => &["64", "1"],
            "cpu" => &["50000/100000", "1000/1000", "2000000/1000000"],
            "cpuset" => &["0", "0-1,3", "2-3,5-7"],
            "env" => &["A=1", "PATH=/bin:/usr/bin", "K=", "X=y=z"],
            "user" => &["1000", "1000:100", "0:0"],
            "seccomp" => &["default", "unconfined"],
            "cap-add" | "cap-drop" => &["net_admin", "CAP_SYS_ADMIN,chown", "all"],
            "rlimit" => &[
                "nofile=1024:4096",
                "RLIMIT_CORE=0:unlimited",
                "nproc=infinity",
            ],
            "uidmap" | "gidmap" => &["0:100000:65536", "0:1000:1", "1000:101000:10", "7:7:7"],
            "restart" => &["no", "on-failure", "always"],
            "device" => &[
                "/dev/ttyS1",
                "/dev/i2c-1:/dev/i2c-0:rw",
                "/dev/gpiochip0:r",
                "/dev/sda:/dev/disk/a:rwm",
            ],
            other => panic!("--{other} has no seed values here: add some"),
        }
    }

    /// What the mutations put in: numbers at the bounds the options check,
    /// words they know (or nearly), separators and odd bytes.
    const PIECES: &[&str] = &[
        "0",
        "1",
        "7",
        "999",
        "1000",
        "4095",
        "4096",
        "65536",
        "1000000",
        "1000001",
        "0100",
        "07777",
        "10000",
        "4294967294",
        "4294967295",
        "4294967296",
        "17179869184",
        "18014398509481984",
        "18446744073709551615",
        "18446744073709551616",
        "k",
        "M",
        "g",
        "%",
        "T",
        "net_admin",
        "cap_chown",
        "ALL",
        "nofile",
        "rlimit_cpu",
        "unlimited",
        "infinity",
        "mount",
        "user",
        "mnt",
        "ro",
        "rw",
        "rwm",
        "/dev/",
        "/dev/pts/",
        "..",
        "size=",
        "mode=",
        "true",
        "no",
        ":",
        ",",
        "-",
        "/",
        "=",
        "/a",
        "",
        " ",
        "\0",
        "\n",
        "\u{e9}",
        "\u{ff}",
    ];

    /// A seed of `name` with up to four mutations: a piece put in, taken
    /// out, replaced or repeated (up to past the length limits).
    fn random_value(rng: &mut Rng, name: &str) -> Vec<u8> {
        let mut v = rng.pick(seeds(name)).as_bytes().to_vec();
        for _ in 0..rng.below(5) {
            let at = rng.below(v.len() + 1);
            let end = (at + 1 + rng.below(4)).min(v.len());
            let piece = rng.pick(PIECES).as_bytes();
            match rng.below(6) {
                0 | 1 => drop(v.splice(at..at, piece.iter().copied())),
                2 => drop(v.splice(at..end, piece.iter().copied())),
                3 => drop(v.drain(at..end)),
                4 => v.insert(at, rng.next() as u8),
                _ => {
                    let copies = piece.repeat(1 + rng.below(300));
                    drop(v.splice(at..at, copies));
                }
            }
        }
        v
    }

    #[test]
    fn random_values_are_accepted_exactly_as_the_model_says() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let options: Vec<&RunOption> = option_checks::config_options().collect();
        let mut accepted = vec![0; options.len()];
        let mut refused = vec![0; options.len()];
        // Several options on one configuration, drawn from a few, to reach
        // the limits and the replacing or refusing of a repeated key.
        for _ in 0..3000 {
            let mut config = RunConfig::default();
            let few: Vec<usize> = (0..1 + rng.below(3))
                .map(|_| rng.below(options.len()))
                .collect();
            for _ in 0..1 + rng.below(20) {
                let i = *rng.pick(&few);
                let value = random_value(&mut rng, options[i].form.long);
                match option_checks::apply_and_check(&mut config, options[i], &value) {
                    true => accepted[i] += 1,
                    false => refused[i] += 1,
                }
            }
        }
        // Both outcomes were reached for each option, or the check proved little.
        for (i, option) in options.iter().enumerate() {
            assert!(
                accepted[i] > 20 && refused[i] > 20,
                "--{}: {} accepted, {} refused",
                option.form.long,
                accepted[i],
                refused[i]
            );
        }
    }

    #[test]
    fn random_bytes_in_the_fuzz_input_format_are_checked() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for _ in 0..2000 {
            let len = rng.below(80);
            let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Keys and values from the table now and then, in a series.
            if rng.below(2) == 0 {
                input.insert(0, 0x80);
                for _ in 0..rng.below(6) {
                    let byte = rng.next() as u8 | 1;
                    input.push(0);
                    input.push(byte);
                    let name = option_checks::option_for(byte).form.long;
                    input.extend(random_value(&mut rng, name));
                }
            }
            option_checks::check_input(&input);
        }
    }
}
