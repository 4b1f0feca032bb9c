//! cgroups: a group per container under a `box` parent, with its limits
//! written before the container's first instruction, and removed (with
//! anything still in it) when the container ends.
//!
//! - cgroup v2 when the kernel offers the needed controllers there
//!   ([`v2`]): the group is `<mount>/<box's own cgroup>/box/NAME`, and the
//!   container is placed atomically by clone3 with CLONE_INTO_CGROUP
//!   (5.7+); where that fails (ENOSYS, EOPNOTSUPP for a "domain invalid"
//!   group, EBUSY, EACCES, or an older kernel's E2BIG/EINVAL) the child
//!   writes its own PID into cgroup.procs before anything else.
//! - cgroup v1 otherwise (hybrid hosts, [`v1`]): one group per controller
//!   hierarchy (`memory`, `pids`, `cpu`, `cpuset`, `devices`), which the
//!   child joins by writing into each group's `tasks` (see `make_group`).
//!
//! Which one is [`discovery`]'s decision; the group's life (create, limits,
//! device rules, join, OOM count, removal) is written once here, each
//! version giving its files. Removal and the sweep of stale groups are in
//! [`cleanup`], the look-ups `box ps`, `box exec` and the OCI runtime make
//! in a running container's groups in [`lookup`]. The board's own set-up
//! at boot is in src/board/cgroup.rs.
//!
//! A container gets a cgroup when it has a limit, a cgroup namespace, or
//! devices to be held to (`--device`, `--cap-add mknod`: src/devices.rs);
//! without any, box makes none (nothing to account, nothing to clean).
//! An OCI container always gets one, where its config.json's
//! `linux.cgroupsPath` says ([`Place::Path`], [`check_path`]).
//!
//! Every group box makes gets the device rules of src/devices.rs: on v1 in
//! the `devices` hierarchy (where the kernel has one), on v2 as a device
//! program attached to the group.

mod cleanup;
mod discovery;
mod lookup;
mod v1;
mod v2;

use crate::packed::Packed;
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::Mode;
use rustix::io::Errno;

use crate::bad;
use crate::config::RunConfig;
use crate::devices::Rules;
use crate::error::{Error, Result};
use crate::sys::fs::{read_into, write_control};
use crate::text::{Bytes, CPath, Text};

use discovery::{Hierarchies, OwnCgroups};

pub use cleanup::empty_and_remove;
#[cfg(feature = "oci")]
pub use cleanup::signal_listed;
pub use lookup::{procs_file_for, usage};
pub use v2::enable_controllers;

use linux_raw_sys::general as k;

/// Controllers box uses, in the order they are enabled.
pub const CONTROLLERS: &[&str] = &["cpu", "cpuset", "memory", "pids"];

/// What the limits of a container need.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Controller {
    Cpu,
    Cpuset,
    Memory,
    Pids,
    /// cgroup v1 only: v2 has device programs instead of a controller.
    Devices,
    /// cgroup v1 only (v2 has cgroup.freeze): box-oci's pause and resume.
    Freezer,
}

impl Controller {
    const ALL: [Controller; 6] = [
        Controller::Cpu,
        Controller::Cpuset,
        Controller::Memory,
        Controller::Pids,
        Controller::Devices,
        Controller::Freezer,
    ];

    fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Devices => "devices",
            Controller::Freezer => "freezer",
        }
    }

    /// The controller of a v1 hierarchy's name.
    fn named(name: &[u8]) -> Option<Controller> {
        Controller::ALL
            .into_iter()
            .find(|c| c.name().as_bytes() == name)
    }

    /// The option that needs it, for messages.
    fn option(self) -> &'static str {
        match self {
            Controller::Cpu => "--cpu",
            Controller::Cpuset => "--cpuset",
            Controller::Memory => "--memory",
            Controller::Pids => "--pids",
            Controller::Devices => "--device",
            Controller::Freezer => "box-oci pause",
        }
    }

    fn config(self) -> &'static str {
        match self {
            Controller::Cpu => "CONFIG_CGROUP_SCHED and CONFIG_CFS_BANDWIDTH",
            Controller::Cpuset => "CONFIG_CPUSETS",
            Controller::Memory => "CONFIG_MEMCG",
            Controller::Pids => "CONFIG_CGROUP_PIDS",
            Controller::Devices => "CONFIG_CGROUP_DEVICE",
            Controller::Freezer => "CONFIG_CGROUP_FREEZER",
        }
    }
}

/// Whether a container of `config` gets a cgroup of its own: it has
/// limits, a cgroup namespace (rooted at that cgroup), or needs device
/// rules.
pub fn wanted(config: &RunConfig) -> bool {
    !needed(config).is_empty()
        || config.namespaces.has(k::CLONE_NEWCGROUP)
        || crate::devices::need_cgroup(config)
}

/// Where a container's group goes in each hierarchy box uses.
#[derive(Clone, Copy, Debug)]
pub enum Place<'a> {
    /// `box/NAME` under box's own group, made only where the container
    /// wants one ([`wanted`]).
    Box(&'a [u8]),
    /// An OCI container's `linux.cgroupsPath`, as [`check_path`] gave it:
    /// absolute from each hierarchy's root (a cgroup namespace's root
    /// inside one), relative from box's own group. Made with or without
    /// limits, missing parents too; in every v1 hierarchy of
    /// [`Controller::ALL`] the host has, where it goes to v1.
    Path(&'a [u8]),
}

/// Longest `linux.cgroupsPath` box takes: the group's directory, with the
/// mount point before it, must fit a path of [`crate::text::PATH_MAX`].
#[cfg(feature = "oci")]
pub const PATH_MAX: usize = 192;

/// An OCI `linux.cgroupsPath` made canonical (empty and `.` components
/// dropped, no trailing `/`), or why it is refused: empty, `/` alone, a
/// `..` component (it would leave the tree it names), a NUL byte, too
/// long, or systemd's `slice:prefix:name` form (box is its own cgroup
/// manager: the engines' cgroupfs one).
#[cfg(feature = "oci")]
pub fn check_path(given: &[u8]) -> core::result::Result<CPath, &'static str> {
    if given.is_empty() {
        return Err("empty");
    }
    if given.contains(&0) {
        return Err("a NUL byte");
    }
    if given.len() > PATH_MAX {
        return Err("longer than 192 bytes");
    }
    if !given.starts_with(b"/") && given.contains(&b':') {
        return Err(
            "systemd's slice:prefix:name form is not supported (box manages its cgroups as the engines' cgroupfs manager)",
        );
    }
    let mut path = CPath::default();
    if given.starts_with(b"/") {
        path.push(b"/").ok_or("longer than 192 bytes")?;
    }
    let mut first = true;
    for part in given.split(|&b| b == b'/') {
        match part {
            b"" | b"." => continue,
            b".." => return Err("a `..` component"),
            _ => {}
        }
        if !first {
            path.push(b"/").ok_or("longer than 192 bytes")?;
        }
        path.push(part).ok_or("longer than 192 bytes")?;
        first = false;
    }
    if first {
        return Err("names no group (the hierarchy's root)");
    }
    Ok(path)
}

/// The directory of the group at `path` (canonical) in the hierarchy
/// mounted at `mount`, where box itself is in `own`: an absolute path
/// from the mount's root, a relative one from `own`.
fn resolve(mount: &[u8], own: &[u8], path: &[u8]) -> Option<CPath> {
    let mount = trim_slash(mount);
    if path.starts_with(b"/") {
        CPath::from_parts(&[mount, path])
    } else {
        CPath::from_parts(&[mount, trim_slash(own), b"/", path])
    }
}

/// The directory of the group at `path` in the hierarchy mounted at
/// `mount` ([`resolve`]), and the length of its start that its missing
/// parents are made below ([`make_parents`]): the mount's root for an
/// absolute path, box's own group (`own`) for a relative one.
fn locate(mount: &CPath, own: &CPath, path: &CPath) -> Result<(CPath, usize)> {
    let mount_dir = trim_slash(mount.as_bytes());
    let too_long = || bad!("cgroup path too long: {}{}", mount, path);
    let own_dir = CPath::from_parts(&[mount_dir, own.as_bytes()]).ok_or_else(too_long)?;
    let dir = resolve(mount.as_bytes(), own.as_bytes(), path.as_bytes()).ok_or_else(too_long)?;
    // Either is the start of `dir` (without a trailing slash).
    let base = if path.as_bytes().starts_with(b"/") {
        mount_dir
    } else {
        own_dir.as_bytes()
    };
    Ok((dir, trim_slash(base).len()))
}

fn too_long() -> Error {
    bad!("cgroup path too long")
}

/// What [`make_parents`] does to each parent it made, and to the group's
/// own: `prepare(parent, child, child_is_the_group)`.
type Prepare<'a> = dyn FnMut(&[u8], &CPath, bool) -> Result<()> + 'a;

/// Make the missing parents of the group at `path` (canonical) in the
/// hierarchy mounted at `mount`, where box itself is in `own` ([`locate`]),
/// below the mount, or box's own group in it: each after
/// `prepare(parent, child, false)` of the one above it (v1's cpuset
/// inheritance, v2's controllers), then `prepare(parent, dir, true)` of
/// the group's own parent. Returns the group's directory, left to
/// [`ContainerCgroup::make_group`].
fn make_parents(
    mount: &CPath,
    own: &CPath,
    path: &CPath,
    prepare: &mut Prepare<'_>,
) -> Result<CPath> {
    let (dir, base) = locate(mount, own, path)?;
    let bytes = dir.as_bytes();
    let base = bytes.get(..base).unwrap_or_default();
    let rest = bytes.get(base.len()..).unwrap_or_default();
    // The ends of each component below `base`; the last is the group.
    let ends = rest
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'/' && i > 0)
        .map(|(i, _)| base.len() + i);
    let mut parent = base;
    for end in ends {
        let here = CPath::from_bytes(&bytes[..end]).ok_or_else(too_long)?;
        make_dir(&here)?;
        prepare(parent, &here, false)?;
        parent = &bytes[..end];
    }
    let parent = CPath::from_bytes(parent).ok_or_else(too_long)?;
    prepare(parent.as_bytes(), &dir, true)?;
    Ok(dir)
}

/// The controllers the limits of `config` need, in [`CONTROLLERS`] order.
fn needed(config: &RunConfig) -> heapless::Vec<Controller, 4> {
    let limits = [
        (config.cpu.is_some(), Controller::Cpu),
        (config.cpuset.is_some(), Controller::Cpuset),
        (config.memory.is_some(), Controller::Memory),
        (config.pids.is_some(), Controller::Pids),
    ];
    limits
        .into_iter()
        .filter_map(|(set, c)| set.then_some(c))
        .collect()
}

/// The cgroup version a container's groups are in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Version {
    V1,
    V2,
}

/// One limit file: FILE of the group of `controller`, written with the
/// value of the config that `value` names, where the config has one.
#[derive(Debug)]
struct Limit {
    controller: Controller,
    file: &'static [u8],
    value: Value,
    /// Written only where the kernel has the file (swap accounting).
    if_present: bool,
}

/// Which of the config's limits a limit file gets.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// --memory in bytes.
    Memory,
    /// `0`, with --memory: no swap.
    NoSwap,
    /// --pids.
    Pids,
    /// --cpu's quota, its period, or both (`QUOTA PERIOD`: cpu.max).
    Quota,
    Period,
    CpuMax,
    /// --cpuset's list.
    Cpus,
}

impl Value {
    /// The text written, `None` where the config has no such limit. One
    /// function for every limit (a table, not a function per version
    /// building each value).
    #[inline(never)]
    fn text(self, config: &RunConfig) -> Option<Text<64>> {
        let (quota, period) = config.cpu.unzip();
        let (n, then) = match self {
            Value::Memory => (config.memory?, None),
            Value::NoSwap => (config.memory.and(Some(0))?, None),
            Value::Pids => (config.pids?, None),
            Value::Quota => (quota?, None),
            Value::Period => (period?, None),
            Value::CpuMax => (quota?, period),
            Value::Cpus => {
                return config
                    .cpuset
                    .as_ref()
                    .map(|c| Text::from_bytes_lossy(c.as_bytes()));
            }
        };
        let mut text = Text::new();
        let mut digits = [0u8; 20];
        text.push(crate::text::decimal(n, &mut digits));
        if let Some(m) = then {
            text.push(b" ");
            text.push(crate::text::decimal(m, &mut digits));
        }
        Some(text)
    }
}

const fn limit(controller: Controller, file: &'static [u8], value: Value) -> Limit {
    Limit {
        controller,
        file,
        value,
        if_present: false,
    }
}

impl Version {
    /// The limit files, in the order they are written (those of the
    /// limits a config has).
    fn limits(self) -> &'static [Limit] {
        match self {
            Version::V1 => v1::LIMITS,
            Version::V2 => v2::LIMITS,
        }
    }

    /// The flat-keyed file that counts the OOM killer's kills (`oom_kill N`).
    fn oom_events(self) -> &'static [u8] {
        match self {
            Version::V1 => b"memory.oom_control",
            Version::V2 => b"memory.events",
        }
    }
}

/// One group directory of a container.
struct Group {
    dir: CPath,
    /// DIR/cgroup.procs (v1: DIR/tasks), which the child writes when it
    /// must join itself.
    procs: CPath,
    /// The group has the memory controller (v2's one group; on v1 the
    /// memory hierarchy's), where an OOM kill is counted.
    memory: bool,
}

/// A container's cgroup(s). Removed, with anything left inside, on drop.
pub struct ContainerCgroup {
    version: Version,
    /// One per v1 hierarchy (the four limits', devices, and for an OCI
    /// container freezer), or v2's one.
    groups: heapless::Vec<Group, 6>,
    /// The v2 group, for CLONE_INTO_CGROUP.
    fd: Option<OwnedFd>,
    memory: Option<u64>,
}

impl ContainerCgroup {
    /// Create the container's group(s) at `place` and write its limits
    /// and device rules (for the host's `--device` nodes `host_devices`,
    /// which the plan has read already). `None` when a [`Place::Box`]
    /// container wants no cgroup ([`wanted`]). On failure the groups made
    /// are removed (their parents stay, as after the container's end).
    pub fn create(
        config: &RunConfig,
        place: Place<'_>,
        host_devices: &[crate::devices::HostDevice],
    ) -> Result<Option<ContainerCgroup>> {
        let (path, always) = match place {
            Place::Box(_) if !wanted(config) => return Ok(None),
            Place::Box(name) => (join(b"box", name)?, false),
            Place::Path(path) => (CPath::from_bytes(path).ok_or_else(too_long)?, true),
        };
        let needed = needed(config);
        let devices = DeviceRules {
            rules: Rules::new(config, host_devices),
            required: crate::devices::need_cgroup(config),
            step: crate::devices::rules_step(config),
        };
        if let Some(cpuset) = &config.cpuset {
            check_cpus_exist(cpuset.as_bytes())?;
        }
        let found = Hierarchies::find();
        let own = OwnCgroups::read();
        cleanup::sweep_every_hierarchy(&found, &own);
        let v2_controllers = found.v2_controllers();
        let version = discovery::decide(
            &found,
            v2_controllers.as_ref().map(Text::as_bytes),
            &needed,
            config.namespaces.has(k::CLONE_NEWCGROUP),
            always,
        )
        .map_err(|refusal| refusal.error(devices.asked_by()))?;
        let mut cgroup = ContainerCgroup {
            version,
            groups: heapless::Vec::new(),
            fd: None,
            memory: config.memory,
        };
        // decide() gives V2 only where cgroup2 is mounted and its
        // controllers were read: every other case is v1's.
        match (version, &found.v2, &v2_controllers) {
            (Version::V2, Some(mount), Some(available)) => v2::make_group(
                &mut cgroup,
                mount,
                &own,
                available.as_bytes(),
                &needed,
                &path,
            )?,
            _ => v1::make_groups(&mut cgroup, &found, &own, &needed, &path, always, &devices)?,
        }
        for limit in version.limits() {
            if let Some(value) = limit.value.text(config)
                && let Some(group) = cgroup.group_for(&found, limit.controller)
            {
                write_limit(&group.dir, limit, value.as_bytes())?;
            }
        }
        match version {
            Version::V2 => cgroup.fd = Some(v2::device_rules(&cgroup.groups[0].dir, &devices)?),
            Version::V1 => {
                if let Some(group) = cgroup.group_for(&found, Controller::Devices) {
                    v1::device_rules(&group.dir, &devices)?;
                }
            }
        }
        Ok(Some(cgroup))
    }

    /// The group that holds `c`: v2's one, or the one in c's v1 hierarchy.
    fn group_for(&self, found: &Hierarchies, c: Controller) -> Option<&Group> {
        match self.version {
            Version::V2 => self.groups.first(),
            Version::V1 => {
                let mount = found.v1_mount(c)?;
                self.groups
                    .iter()
                    .find(|g| g.dir.as_bytes().starts_with(mount.as_bytes()))
            }
        }
    }

    /// mkdir the group; a stale empty one of the same name (from a box that
    /// was killed) is replaced, a busy one means the name (or the OCI
    /// cgroupsPath) is in use.
    fn make_group(&mut self, dir: CPath, memory: bool) -> Result<()> {
        const STEP: Packed = packed!("create the container's cgroup");
        match rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755)) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                if rustix::fs::rmdir(dir.as_cstr()).is_err() {
                    return Err(bad!(
                        "the cgroup {} is in use: a container with this name (or cgroupsPath) is running",
                        dir
                    ));
                }
                rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755))
                    .map_err(|e| mkdir_error(STEP, &dir, e))?;
            }
            Err(e) => return Err(mkdir_error(STEP, &dir, e)),
        }
        // On v1 the child joins by `tasks`, as its one thread ("0"): a
        // thread moving itself skips the kernel's global lock
        // (cgroup_threadgroup_rwsem), whose write side, taken for any
        // write to cgroup.procs, waits for an RCU grace period first when
        // no other write came just before: on this 2-CPU host (Linux 6.18)
        // 6 ms against 0.15 ms, a box run with limits about 2x one without.
        let file = match self.version {
            Version::V1 => &b"tasks"[..],
            Version::V2 => b"cgroup.procs",
        };
        let procs = join(dir.as_bytes(), file)?;
        // The vector holds one group per hierarchy, at most five.
        let _ = self.groups.push(Group { dir, procs, memory });
        Ok(())
    }

    /// Each group's directory, and whether it is a cgroup v2 one: what an
    /// OCI `create` records for the later commands.
    #[cfg(feature = "oci")]
    pub fn dirs(&self) -> impl Iterator<Item = (&CPath, bool)> {
        let v2 = self.version == Version::V2;
        self.groups.iter().map(move |g| (&g.dir, v2))
    }

    /// The v2 group for CLONE_INTO_CGROUP (none on v1).
    pub fn clone_fd(&self) -> Option<BorrowedFd<'_>> {
        use rustix::fd::AsFd;
        self.fd.as_ref().map(|fd| fd.as_fd())
    }

    /// Move the calling process into every group of the container: the
    /// child's own step when clone3 could not place it. No allocation.
    pub fn join_self(&self) -> core::result::Result<(), (Errno, &CPath)> {
        for g in &self.groups {
            write_control(g.procs.as_cstr(), b"0").map_err(|e| (e, &g.procs))?;
        }
        Ok(())
    }

    /// Whether the kernel's OOM killer ran in the container's group.
    pub fn oom_killed(&self) -> bool {
        let Some(_) = self.memory else { return false };
        let mut buf = [0u8; 1024];
        for g in self.groups.iter().filter(|g| g.memory) {
            let Ok(path) = join(g.dir.as_bytes(), self.version.oom_events()) else {
                continue;
            };
            let n = read_into(path.as_cstr(), &mut buf).unwrap_or(0);
            if keyed_value(&buf[..n], b"oom_kill").is_some_and(|v| v > 0) {
                return true;
            }
        }
        false
    }

    /// The memory limit, for the OOM message.
    pub fn memory_limit(&self) -> Option<u64> {
        self.memory
    }
}

impl Drop for ContainerCgroup {
    /// Kill what is left in the groups and remove them.
    fn drop(&mut self) {
        for g in self.groups.iter().rev() {
            let _ = empty_and_remove(&g.dir, self.version == Version::V2);
        }
    }
}

/// Write one limit into the group at `dir`.
fn write_limit(dir: &CPath, limit: &Limit, value: &[u8]) -> Result<()> {
    let path = join(dir.as_bytes(), limit.file)?;
    if limit.if_present && rustix::fs::access(path.as_cstr(), rustix::fs::Access::EXISTS).is_err() {
        return Ok(());
    }
    write_control(path.as_cstr(), value).map_err(|e| {
        let err = Error::sys(packed!("set a cgroup limit"), "write", path.as_bytes(), e);
        match e {
            Errno::NOENT => err.hint(packed!("the controller is not enabled for this cgroup")),
            Errno::INVAL => err.hint(packed!("the kernel refused the value")),
            _ => err,
        }
    })
}

/// A container's device rules (src/devices.rs), and whether it asked for
/// them (then a failure to set them is an error, not a lesser container).
struct DeviceRules {
    rules: Rules,
    required: bool,
    /// `set the device rules of OPTION`, the option that asks for them
    /// (`--device`, `--cap-add mknod` or `--cap-add sys_admin`), for
    /// messages.
    step: &'static str,
}

impl DeviceRules {
    fn step(&self) -> &'static str {
        self.step
    }

    /// The option that asks for the rules.
    fn asked_by(&self) -> &'static str {
        crate::devices::option_of_step(self.step)
    }
}

fn no_device_cgroup(asked_by: &str) -> Error {
    bad!(
        "{} needs a device cgroup: no cgroup v1 devices hierarchy is mounted (CONFIG_CGROUP_DEVICE), and cgroup2 is not mounted or holds none of the limits (box uses one version per container)",
        asked_by
    )
}

fn has_word(list: &[u8], word: &[u8]) -> bool {
    list.split(|b| b.is_ascii_whitespace()).any(|w| w == word)
}

fn join(dir: &[u8], name: &[u8]) -> Result<CPath> {
    CPath::from_parts(&[dir, b"/", name])
        .ok_or_else(|| bad!("cgroup path too long: {}/{}", Bytes(dir), Bytes(name)))
}

fn trim_slash(p: &[u8]) -> &[u8] {
    p.strip_suffix(b"/").unwrap_or(p)
}

/// `<mount><own>/box`: box's parent group in a hierarchy mounted at
/// `mount`, where box itself is in `own`.
fn box_parent(mount: &CPath, own: &CPath) -> Option<CPath> {
    CPath::from_parts(&[
        trim_slash(mount.as_bytes()),
        trim_slash(own.as_bytes()),
        b"/box",
    ])
}

/// mkdir box's parent group; one already there is fine.
fn make_dir(dir: &CPath) -> Result<()> {
    match rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(mkdir_error(packed!("create the box cgroup"), dir, e)),
    }
}

fn mkdir_error(step: Packed, dir: &CPath, e: Errno) -> Error {
    Error::sys(step, "mkdir", dir.as_bytes(), e).hint(
        if matches!(e, Errno::ACCESS | Errno::PERM | Errno::ROFS) {
            packed!("the cgroup tree is not delegated to this user")
        } else {
            packed!("")
        },
    )
}

/// The value of `key` in a flat-keyed file (`oom_kill 3`, `populated 0`).
fn keyed_value(text: &[u8], key: &[u8]) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(b" ")?;
        crate::text::parse_u64(rest.trim_ascii())
    })
}

/// `--cpuset` must name CPUs the machine has online.
fn check_cpus_exist(list: &[u8]) -> Result<()> {
    let mut online = [0u8; 256];
    let n = read_into(c"/sys/devices/system/cpu/online", &mut online).unwrap_or(0);
    let online = online[..n].trim_ascii();
    if online.is_empty() {
        return Ok(());
    }
    for range in list.split(is_comma) {
        let (lo, hi) =
            split_range(range).ok_or_else(|| bad!("--cpuset {}: bad CPU list", Bytes(list)))?;
        // Each CPU of lo-hi (none where hi < lo), counted in u64: a plain
        // range, which costs less code than lo..=hi.
        for cpu in u64::from(lo)..u64::from(hi) + 1 {
            let present = online
                .split(is_comma)
                .filter_map(split_range)
                .any(|(a, b)| u64::from(a) <= cpu && cpu <= u64::from(b));
            if !present {
                return Err(bad!(
                    "--cpuset {}: CPU {} is not online here (online: {})",
                    Bytes(list),
                    cpu,
                    Bytes(online)
                ));
            }
        }
    }
    Ok(())
}

/// One function for both lists' splits: one copy of the splitting code.
fn is_comma(b: &u8) -> bool {
    *b == b','
}

fn split_range(range: &[u8]) -> Option<(u32, u32)> {
    match range.iter().position(|&b| b == b'-') {
        Some(d) => Some((
            crate::text::parse_u32(&range[..d])?,
            crate::text::parse_u32(&range[d + 1..])?,
        )),
        None => {
            let n = crate::text::parse_u32(range)?;
            Some((n, n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_files() {
        let events = b"low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(keyed_value(events, b"oom_kill"), Some(1));
        assert_eq!(keyed_value(events, b"oom"), Some(1));
        assert_eq!(
            keyed_value(b"oom_kill_disable 0\nunder_oom 0\n", b"oom_kill"),
            None
        );
    }

    /// What engines send is taken as given; what would leave the named
    /// tree, or name nothing, is refused.
    #[cfg(feature = "oci")]
    #[test]
    fn oci_cgroup_paths() {
        let ok = |given: &[u8]| check_path(given).map(|p| p.as_bytes().to_vec());
        let id = "0123456789abcdef".repeat(4);
        for engine in [
            format!("/libpod_parent/libpod-{id}"),
            format!("/default/{id}"),
            format!("/kubepods/besteffort/pod6e7a1c34-5b2f-4d7e-9a61-3f0c2b8d9e11/{id}"),
            "box/c1".to_string(),
        ] {
            assert_eq!(ok(engine.as_bytes()).unwrap(), engine.as_bytes());
        }
        // Made canonical: no empty or `.` component, no trailing slash.
        assert_eq!(ok(b"//a/./b//").unwrap(), b"/a/b");
        assert_eq!(ok(b"./a/").unwrap(), b"a");
        assert_eq!(ok(b"a..b/c.").unwrap(), b"a..b/c.");
        let long = [b'a'; PATH_MAX + 1];
        for (bad, why) in [
            (&b""[..], "empty"),
            (b"/", "names no group"),
            (b"/./", "names no group"),
            (b"/a/../../etc", "`..`"),
            (b"..", "`..`"),
            (b"a/..", "`..`"),
            (b"/a\0b", "NUL"),
            (&long[..], "longer than 192"),
            (b"machine.slice:libpod:abc", "systemd"),
        ] {
            let got = check_path(bad).unwrap_err();
            assert!(got.contains(why), "{:?}: {got}", Bytes(bad).to_string());
        }
        // A colon is only systemd's form in a relative path.
        assert!(check_path(b"/a:b").is_ok());
    }

    #[test]
    fn group_directories() {
        let r = |mount: &[u8], own: &[u8], path: &[u8]| {
            resolve(mount, own, path).unwrap().as_bytes().to_vec()
        };
        let own = b"/process_api/7fcc";
        // Absolute: from the hierarchy's root, wherever box itself is.
        assert_eq!(
            r(b"/sys/fs/cgroup/memory", own, b"/default/c1"),
            b"/sys/fs/cgroup/memory/default/c1"
        );
        assert_eq!(
            r(b"/sys/fs/cgroup/", b"/", b"/libpod_parent/libpod-x"),
            b"/sys/fs/cgroup/libpod_parent/libpod-x"
        );
        // Relative: from box's own group.
        assert_eq!(
            r(b"/sys/fs/cgroup/memory", own, b"box/c1"),
            b"/sys/fs/cgroup/memory/process_api/7fcc/box/c1"
        );
        assert_eq!(r(b"/sys/fs/cgroup", b"/", b"x/y"), b"/sys/fs/cgroup/x/y");
        assert_eq!(r(b"/sys/fs/cgroup", b"/a/", b"x"), b"/sys/fs/cgroup/a/x");
        assert!(resolve(&[b'm'; 200], own, &[b'p'; 100]).is_none());
    }

    #[test]
    fn cpu_ranges() {
        assert_eq!(split_range(b"0-3"), Some((0, 3)));
        assert_eq!(split_range(b"5"), Some((5, 5)));
        assert_eq!(split_range(b"x"), None);
    }

    fn limited() -> RunConfig {
        RunConfig {
            memory: Some(64 << 20),
            pids: Some(32),
            cpu: Some((50_000, 100_000)),
            cpuset: Text::try_from_bytes(b"0"),
            ..RunConfig::default()
        }
    }

    #[test]
    fn controllers_wanted() {
        use Controller::*;
        let plain = RunConfig::default();
        assert!(needed(&plain).is_empty());
        assert!(!wanted(&plain), "no limit, no cgroup namespace, no devices");
        let all = limited();
        assert_eq!(needed(&all).as_slice(), [Cpu, Cpuset, Memory, Pids]);
        assert!(wanted(&all));
        let memory = RunConfig {
            memory: Some(1 << 20),
            ..RunConfig::default()
        };
        assert_eq!(needed(&memory).as_slice(), [Memory]);
        // A cgroup namespace is rooted at the container's own group.
        let mut ns = RunConfig::default();
        ns.namespaces = crate::config::NsSet(ns.namespaces.0 | k::CLONE_NEWCGROUP);
        assert!(needed(&ns).is_empty() && wanted(&ns));
        // mknod kept outside a user namespace: device rules need a group.
        let mknod = RunConfig {
            cap_add: 1 << 27,
            ..RunConfig::default()
        };
        assert!(needed(&mknod).is_empty() && wanted(&mknod));
    }

    /// The files written for `config`'s limits, and their values.
    fn files(version: Version, config: &RunConfig) -> Vec<(Controller, String, String, bool)> {
        version
            .limits()
            .iter()
            .filter_map(|l| {
                let value = l.value.text(config)?;
                Some((
                    l.controller,
                    String::from_utf8_lossy(l.file).into_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    l.if_present,
                ))
            })
            .collect()
    }

    #[test]
    fn limit_files_of_each_version() {
        use Controller::*;
        let config = limited();
        let s = |x: &str| x.to_string();
        assert_eq!(
            files(Version::V2, &config),
            [
                (Memory, s("memory.max"), s("67108864"), false),
                // No swap: the limit is all the container may use.
                (Memory, s("memory.swap.max"), s("0"), true),
                (Pids, s("pids.max"), s("32"), false),
                (Cpu, s("cpu.max"), s("50000 100000"), false),
                (Cpuset, s("cpuset.cpus"), s("0"), false),
            ]
        );
        assert_eq!(
            files(Version::V1, &config),
            [
                // The period first: a quota is checked against it.
                (Cpu, s("cpu.cfs_period_us"), s("100000"), false),
                (Cpu, s("cpu.cfs_quota_us"), s("50000"), false),
                (Cpuset, s("cpuset.cpus"), s("0"), false),
                (Memory, s("memory.limit_in_bytes"), s("67108864"), false),
                (
                    Memory,
                    s("memory.memsw.limit_in_bytes"),
                    s("67108864"),
                    true
                ),
                (Pids, s("pids.max"), s("32"), false),
            ]
        );
        assert!(files(Version::V1, &RunConfig::default()).is_empty());
        assert!(files(Version::V2, &RunConfig::default()).is_empty());
    }
}
