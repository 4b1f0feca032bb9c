//! cgroups: a group per container under a `box` parent, with its limits
//! written before the container's first instruction, and removed (with
//! anything still in it) when the container ends.
//!
//! - cgroup v2 when the kernel offers the needed controllers there: the
//!   group is `<mount>/<box's own cgroup>/box/NAME`, and the container is
//!   placed atomically by clone3 with CLONE_INTO_CGROUP (5.7+); where that
//!   fails (ENOSYS, EOPNOTSUPP for a "domain invalid" group, EBUSY, EACCES,
//!   or an older kernel's E2BIG/EINVAL) the child writes its own PID into
//!   cgroup.procs before anything else.
//! - cgroup v1 otherwise (hybrid hosts): one group per controller hierarchy
//!   (`memory`, `pids`, `cpu`, `cpuset`), joined the same way.
//!
//! A container gets a cgroup when it has a limit, a cgroup namespace, or
//! devices to be held to (`--device`, `--cap-add mknod`: src/devices.rs);
//! without any, box makes none (nothing to account, nothing to clean).
//!
//! Every group box makes gets the device rules of src/devices.rs: on v1 in
//! the `devices` hierarchy (where the kernel has one), on v2 as a device
//! program attached to the group.

use core::ffi::CStr;
use core::fmt::{self, Write};
use core::mem::MaybeUninit;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::bad;
use crate::config::RunConfig;
use crate::devices::{DEFAULT_RULES, Rules};
use crate::error::{Context, Error, Result};
use crate::sys::bpf;
use crate::text::{Bytes, CPath, Text};

use linux_raw_sys::general as k;

/// Controllers box uses, in the order they are enabled.
pub const CONTROLLERS: &[&str] = &["cpu", "cpuset", "memory", "pids"];

/// At boot (box-init as PID 1, cgroup2 mounted at /sys/fs/cgroup): enable
/// the controllers the kernel has for the root's children and for box/, the
/// parent of every container's group.
pub fn prepare_board(log: &mut dyn FnMut(fmt::Arguments<'_>)) {
    let mut available = [0u8; 256];
    let Ok(n) = read_file(c"/sys/fs/cgroup/cgroup.controllers", &mut available) else {
        log(format_args!(
            "cgroup2: /sys/fs/cgroup/cgroup.controllers is missing: no limits for containers"
        ));
        return;
    };
    let available = &available[..n];
    let _ = rustix::fs::mkdir(c"/sys/fs/cgroup/box", Mode::from_raw_mode(0o755));
    for dir in [c"/sys/fs/cgroup", c"/sys/fs/cgroup/box"] {
        if let Err(e) = enable_controllers(dir, available, CONTROLLERS) {
            log(format_args!("cgroup2: {e}"));
        }
    }
}

/// Write `+name` for each of `wanted` that `available` lists into
/// DIR/cgroup.subtree_control (one write each: one refused controller does
/// not stop the others).
fn enable_controllers(dir: &CStr, available: &[u8], wanted: &[&str]) -> Result<()> {
    let control = join(dir.to_bytes(), b"cgroup.subtree_control")?;
    let mut first_error = None;
    for name in wanted {
        if !has_word(available, name.as_bytes()) {
            continue;
        }
        let mut word = Text::<16>::new();
        let _ = write!(word, "+{name}");
        if let Err(e) = write_file(control.as_cstr(), word.as_bytes()) {
            first_error.get_or_insert(Error::sys(
                "enable a cgroup controller",
                "write",
                control.as_bytes(),
                e,
            ));
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn has_word(list: &[u8], word: &[u8]) -> bool {
    list.split(|b| b.is_ascii_whitespace()).any(|w| w == word)
}

/// Read a small file into `buf`; the number of bytes read.
pub fn read_file(path: &CStr, buf: &mut [u8]) -> core::result::Result<usize, Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(&fd, &mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Write `bytes` to a control file in one write (the kernel parses each
/// write on its own).
pub fn write_file(path: &CStr, bytes: &[u8]) -> core::result::Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, bytes).map(drop)
}

fn join(dir: &[u8], name: &[u8]) -> Result<CPath> {
    CPath::from_parts(&[dir, b"/", name])
        .ok_or_else(|| bad!("cgroup path too long: {}/{}", Bytes(dir), Bytes(name)))
}

/// The value of `key` in a flat-keyed file (`oom_kill 3`, `populated 0`).
fn keyed_value(text: &[u8], key: &[u8]) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(b" ")?;
        crate::text::parse_u64(rest.trim_ascii())
    })
}

/// What the limits of a container need.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Controller {
    Cpu,
    Cpuset,
    Memory,
    Pids,
    /// cgroup v1 only: v2 has device programs instead of a controller.
    Devices,
}

impl Controller {
    fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Devices => "devices",
        }
    }

    /// The option that needs it, for messages.
    fn option(self) -> &'static str {
        match self {
            Controller::Cpu => "--cpu",
            Controller::Cpuset => "--cpuset",
            Controller::Memory => "--memory",
            Controller::Pids => "--pids",
            Controller::Devices => "--device",
        }
    }

    fn config(self) -> &'static str {
        match self {
            Controller::Cpu => "CONFIG_CGROUP_SCHED and CONFIG_CFS_BANDWIDTH",
            Controller::Cpuset => "CONFIG_CPUSETS",
            Controller::Memory => "CONFIG_MEMCG",
            Controller::Pids => "CONFIG_CGROUP_PIDS",
            Controller::Devices => "CONFIG_CGROUP_DEVICE",
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

fn needed(config: &RunConfig) -> heapless::Vec<Controller, 4> {
    let mut v = heapless::Vec::new();
    if config.cpu.is_some() {
        let _ = v.push(Controller::Cpu);
    }
    if config.cpuset.is_some() {
        let _ = v.push(Controller::Cpuset);
    }
    if config.memory.is_some() {
        let _ = v.push(Controller::Memory);
    }
    if config.pids.is_some() {
        let _ = v.push(Controller::Pids);
    }
    v
}

/// The cgroup mounts and box's own place in them, from /proc/self.
struct Hierarchies {
    /// cgroup2 mount point, if any.
    v2: Option<CPath>,
    /// (controller, mount point) for cgroup v1 hierarchies.
    v1: heapless::Vec<(Controller, CPath), 5>,
}

impl Hierarchies {
    fn find() -> Hierarchies {
        let mut found = Hierarchies {
            v2: None,
            v1: heapless::Vec::new(),
        };
        let Ok(mut reader) = crate::mountinfo::MountinfoReader::open(None) else {
            return found;
        };
        while let Some(entry) = reader.next_entry() {
            let Ok(entry) = entry else { continue };
            let Some(point) = entry.mount_point.to_cpath() else {
                continue;
            };
            if entry.fstype.is(b"cgroup2") && found.v2.is_none() {
                found.v2 = Some(point);
            } else if entry.fstype.is(b"cgroup") {
                // The controllers of a v1 hierarchy are among its
                // superblock options (`rw,memory`).
                for c in [
                    Controller::Cpu,
                    Controller::Cpuset,
                    Controller::Memory,
                    Controller::Pids,
                    Controller::Devices,
                ] {
                    let has = entry
                        .super_options
                        .split(|&b| b == b',')
                        .any(|o| o == c.name().as_bytes());
                    if has && !found.v1.iter().any(|(have, _)| *have == c) {
                        let _ = found.v1.push((c, point));
                    }
                }
            }
        }
        found
    }

    fn v1_mount(&self, c: Controller) -> Option<&CPath> {
        self.v1.iter().find(|(have, _)| *have == c).map(|(_, p)| p)
    }
}

/// box's own cgroup path in the v2 hierarchy (`0::PATH`), or in the v1
/// hierarchy holding `controller` (`N:a,b:PATH`).
fn own_cgroup(controller: Option<Controller>) -> CPath {
    let mut buf = [0u8; 2048];
    let n = read_file(c"/proc/self/cgroup", &mut buf).unwrap_or(0);
    for line in buf[..n].split(|&b| b == b'\n') {
        let mut parts = line.splitn(3, |&b| b == b':');
        let (Some(id), Some(names), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let matches = match controller {
            None => id == b"0" && names.is_empty(),
            Some(c) => names
                .split(|&b| b == b',')
                .any(|n| n == c.name().as_bytes()),
        };
        if matches {
            return CPath::from_bytes(path).unwrap_or_default();
        }
    }
    CPath::from_bytes(b"/").unwrap_or_default()
}

/// One group directory of a container.
struct Group {
    dir: CPath,
    /// DIR/cgroup.procs, which the child writes when it must join itself.
    procs: CPath,
    /// The group has the memory controller (v2's one group; on v1 the
    /// memory hierarchy's), where an OOM kill is counted.
    memory: bool,
}

/// A container's cgroup(s). Removed, with anything left inside, on drop.
pub struct ContainerCgroup {
    v2: bool,
    /// One per v1 hierarchy (the four limits' and devices), or v2's one.
    groups: heapless::Vec<Group, 5>,
    /// The v2 group, for CLONE_INTO_CGROUP.
    fd: Option<OwnedFd>,
    memory: Option<u64>,
}

impl ContainerCgroup {
    /// Create the container's group(s) under `box/` and write its limits.
    /// `None` when the container has no limit and no cgroup namespace.
    pub fn create(config: &RunConfig, name: &[u8]) -> Result<Option<ContainerCgroup>> {
        if !wanted(config) {
            return Ok(None);
        }
        let needed = needed(config);
        let host_devices = crate::devices::resolve(config)?;
        let devices = DeviceRules {
            rules: Rules::new(config, &host_devices),
            required: crate::devices::need_cgroup(config),
            asked_by: crate::devices::asked_by(config),
        };
        if let Some(cpuset) = &config.cpuset {
            check_cpus_exist(cpuset.as_bytes())?;
        }
        let found = Hierarchies::find();
        sweep_every_hierarchy(&found);
        let v2_available = found.v2.as_ref().map(|mount| {
            let mut buf = [0u8; 256];
            let n = join(mount.as_bytes(), b"cgroup.controllers")
                .ok()
                .and_then(|p| read_file(p.as_cstr(), &mut buf).ok())
                .unwrap_or(0);
            Text::<256>::from_bytes_lossy(&buf[..n])
        });
        let v2_has_all = v2_available.as_ref().is_some_and(|avail| {
            needed
                .iter()
                .all(|c| has_word(avail.as_bytes(), c.name().as_bytes()))
        });
        let v1_has_all =
            !found.v1.is_empty() && needed.iter().all(|c| found.v1_mount(*c).is_some());
        // A container that has a cgroup only for its device rules, where
        // cgroup2 is not mounted: a group in the v1 devices hierarchy.
        let v1_devices_only = needed.is_empty()
            && !config.namespaces.has(k::CLONE_NEWCGROUP)
            && found.v1_mount(Controller::Devices).is_some();

        let mut cgroup = ContainerCgroup {
            v2: false,
            groups: heapless::Vec::new(),
            fd: None,
            memory: config.memory,
        };
        if let (Some(mount), Some(avail), true) = (
            &found.v2,
            &v2_available,
            v2_has_all || (needed.is_empty() && found.v2.is_some()),
        ) {
            cgroup.v2 = true;
            cgroup.create_v2(mount, avail.as_bytes(), &needed, name, config, &devices)?;
        } else if (v1_has_all && !needed.is_empty()) || v1_devices_only {
            cgroup.create_v1(&found, &needed, name, config, &devices)?;
        } else {
            let missing = needed
                .iter()
                .find(|c| {
                    !v2_available
                        .as_ref()
                        .is_some_and(|a| has_word(a.as_bytes(), c.name().as_bytes()))
                        && found.v1_mount(**c).is_none()
                })
                .copied();
            return Err(match missing {
                Some(c) => bad!(
                    "{}: the kernel offers no {} controller: neither cgroup v2 (cgroup.controllers) nor a v1 hierarchy has it (kernel option {})",
                    c.option(),
                    c.name(),
                    c.config()
                ),
                None if needed.is_empty() && config.namespaces.has(k::CLONE_NEWCGROUP) => {
                    bad!("--ns cgroup: no cgroup2 hierarchy is mounted")
                }
                None if needed.is_empty() => no_device_cgroup(devices.asked_by),
                None => bad!(
                    "the limits need controllers split between cgroup v1 and v2 on this host; box uses one version per container"
                ),
            });
        }
        Ok(Some(cgroup))
    }

    fn create_v2(
        &mut self,
        mount: &CPath,
        available: &[u8],
        needed: &[Controller],
        name: &[u8],
        config: &RunConfig,
        devices: &DeviceRules,
    ) -> Result<()> {
        let own = own_cgroup(None);
        let own_dir = CPath::from_parts(&[mount.as_bytes(), own.as_bytes()])
            .ok_or_else(|| bad!("cgroup path too long"))?;
        let parent = join(trim_slash(own_dir.as_bytes()), b"box")?;
        let names: heapless::Vec<&str, 4> = needed.iter().map(|c| c.name()).collect();
        // The parent's subtree_control must offer the controllers to box/.
        // Only the root may do that while it has processes of its own (the
        // "no internal processes" rule): elsewhere the tree must be
        // delegated with the controllers already enabled.
        if !needed.is_empty() {
            let mut current = [0u8; 256];
            let control = join(trim_slash(own_dir.as_bytes()), b"cgroup.subtree_control")?;
            let n = read_file(control.as_cstr(), &mut current).unwrap_or(0);
            let missing = names.iter().any(|c| !has_word(&current[..n], c.as_bytes()));
            if missing {
                enable_controllers(own_dir.as_cstr(), available, &names).map_err(|e| match e.errno() {
                    Some(Errno::BUSY) => bad!(
                        "cgroup v2: cannot enable {} for {}: processes live in that cgroup (no internal processes rule); run box from a cgroup delegated to it with the controllers enabled, or as root from the root cgroup",
                        names.join_display(),
                        own
                    ),
                    Some(Errno::ACCESS | Errno::PERM) => bad!(
                        "cgroup v2: the cgroup {own} is not delegated to this user: cannot enable {} there",
                        names.join_display()
                    ),
                    _ => e,
                })?;
            }
        }
        make_dir(&parent)?;
        if !needed.is_empty() {
            enable_controllers(parent.as_cstr(), available, &names)?;
        }
        let dir = join(parent.as_bytes(), name)?;
        self.make_group(dir, true)?;
        let dir = self.groups[0].dir;
        if let Some(bytes) = config.memory {
            self.limit(&dir, b"memory.max", format_args!("{bytes}"))?;
            // No swap: the limit is the memory the container may use, and
            // an allocation past it meets the OOM killer, not the disk.
            let swap = join(dir.as_bytes(), b"memory.swap.max")?;
            if rustix::fs::access(swap.as_cstr(), rustix::fs::Access::EXISTS).is_ok() {
                self.limit(&dir, b"memory.swap.max", format_args!("0"))?;
            }
        }
        if let Some(pids) = config.pids {
            self.limit(&dir, b"pids.max", format_args!("{pids}"))?;
        }
        if let Some((quota, period)) = config.cpu {
            self.limit(&dir, b"cpu.max", format_args!("{quota} {period}"))?;
        }
        if let Some(cpus) = &config.cpuset {
            self.limit(&dir, b"cpuset.cpus", format_args!("{cpus}"))?;
        }
        let fd = rustix::fs::open(
            dir.as_cstr(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .at("open the container's cgroup", "open", dir.as_bytes())?;
        // The device rules, before any process is in the group. A kernel
        // that has no device programs, or refuses them to box, leaves a
        // container with limits with the walls that need no cgroup (no
        // CAP_MKNOD, nodev); one that asked for devices does not run.
        if let Err(e) = attach_device_program(fd.as_fd(), devices, &dir)
            && devices.required
        {
            return Err(e);
        }
        self.fd = Some(fd);
        Ok(())
    }

    fn create_v1(
        &mut self,
        found: &Hierarchies,
        needed: &[Controller],
        name: &[u8],
        config: &RunConfig,
        devices: &DeviceRules,
    ) -> Result<()> {
        // The devices hierarchy with the limits' ones, where the kernel has
        // it; a container that asked for devices needs it.
        let mut hierarchies: heapless::Vec<Controller, 5> = needed.iter().copied().collect();
        if found.v1_mount(Controller::Devices).is_some() {
            let _ = hierarchies.push(Controller::Devices);
        } else if devices.required {
            return Err(no_device_cgroup(devices.asked_by));
        }
        for &c in &hierarchies {
            let Some(mount) = found.v1_mount(c) else {
                continue;
            };
            // Controllers sharing a hierarchy (cpu,cpuacct) share a group.
            if self
                .groups
                .iter()
                .any(|g| g.dir.as_bytes().starts_with(mount.as_bytes()))
            {
                continue;
            }
            let own = own_cgroup(Some(c));
            let base = CPath::from_parts(&[mount.as_bytes(), own.as_bytes()])
                .ok_or_else(|| bad!("cgroup path too long"))?;
            let parent = join(trim_slash(base.as_bytes()), b"box")?;
            make_dir(&parent)?;
            if c == Controller::Cpuset {
                // v1 cpusets start empty: a group without CPUs or memory
                // nodes accepts no task. Inherit the parent's.
                inherit_cpuset(&base, &parent)?;
            }
            let dir = join(parent.as_bytes(), name)?;
            let memory = found
                .v1_mount(Controller::Memory)
                .is_some_and(|m| m.as_bytes() == mount.as_bytes());
            self.make_group(dir, memory)?;
            if c == Controller::Cpuset {
                inherit_cpuset(&parent, &dir)?;
            }
        }
        for &c in needed {
            let Some(group) = self.group_for(found, c) else {
                continue;
            };
            let dir = group.dir;
            match c {
                Controller::Memory => {
                    let bytes = config.memory.unwrap_or(0);
                    self.limit(&dir, b"memory.limit_in_bytes", format_args!("{bytes}"))?;
                    // memory+swap at the same value: no swap (see v2).
                    let memsw = join(dir.as_bytes(), b"memory.memsw.limit_in_bytes")?;
                    if rustix::fs::access(memsw.as_cstr(), rustix::fs::Access::EXISTS).is_ok() {
                        self.limit(
                            &dir,
                            b"memory.memsw.limit_in_bytes",
                            format_args!("{bytes}"),
                        )?;
                    }
                }
                Controller::Pids => self.limit(
                    &dir,
                    b"pids.max",
                    format_args!("{}", config.pids.unwrap_or(0)),
                )?,
                Controller::Cpu => {
                    let (quota, period) = config.cpu.unwrap_or((0, 0));
                    // The period first: a quota is checked against it.
                    self.limit(&dir, b"cpu.cfs_period_us", format_args!("{period}"))?;
                    self.limit(&dir, b"cpu.cfs_quota_us", format_args!("{quota}"))?;
                }
                Controller::Cpuset => {
                    let cpus = config.cpuset.unwrap_or_default();
                    self.limit(&dir, b"cpuset.cpus", format_args!("{cpus}"))?;
                }
                Controller::Devices => {}
            }
        }
        if let Some(group) = self.group_for(found, Controller::Devices) {
            write_v1_device_rules(&group.dir, devices)?;
        }
        Ok(())
    }

    fn group_for(&self, found: &Hierarchies, c: Controller) -> Option<&Group> {
        let mount = found.v1_mount(c)?;
        self.groups
            .iter()
            .find(|g| g.dir.as_bytes().starts_with(mount.as_bytes()))
    }

    /// mkdir the group; a stale empty one of the same name (from a box that
    /// was killed) is replaced, a busy one means the name is in use.
    fn make_group(&mut self, dir: CPath, memory: bool) -> Result<()> {
        match rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755)) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                if rustix::fs::rmdir(dir.as_cstr()).is_err() {
                    return Err(bad!(
                        "a container with this name is running: its cgroup {dir} is busy"
                    ));
                }
                rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755)).at(
                    "create the container's cgroup",
                    "mkdir",
                    dir.as_bytes(),
                )?;
            }
            Err(e) => {
                return Err(Error::sys(
                    "create the container's cgroup",
                    "mkdir",
                    dir.as_bytes(),
                    e,
                )
                .hint(if matches!(e, Errno::ACCESS | Errno::PERM | Errno::ROFS) {
                    "the cgroup tree is not delegated to this user"
                } else {
                    ""
                }));
            }
        }
        let procs = join(dir.as_bytes(), b"cgroup.procs")?;
        // The vector holds one group per hierarchy, at most four.
        let _ = self.groups.push(Group { dir, procs, memory });
        Ok(())
    }

    fn limit(&self, dir: &CPath, file: &[u8], value: fmt::Arguments<'_>) -> Result<()> {
        let path = join(dir.as_bytes(), file)?;
        let mut text = Text::<64>::new();
        let _ = text.write_fmt(value);
        write_file(path.as_cstr(), text.as_bytes()).map_err(|e| {
            let err = Error::sys("set a cgroup limit", "write", path.as_bytes(), e);
            match e {
                Errno::NOENT => err.hint("the controller is not enabled for this cgroup"),
                Errno::INVAL => err.hint("the kernel refused the value"),
                _ => err,
            }
        })
    }

    /// The v2 group for CLONE_INTO_CGROUP (none on v1).
    pub fn clone_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|fd| fd.as_fd())
    }

    /// Move the calling process into every group of the container: the
    /// child's own step when clone3 could not place it. No allocation.
    pub fn join_self(&self) -> core::result::Result<(), (Errno, &CPath)> {
        for g in &self.groups {
            write_file(g.procs.as_cstr(), b"0").map_err(|e| (e, &g.procs))?;
        }
        Ok(())
    }

    /// Whether the kernel's OOM killer ran in the container's group.
    pub fn oom_killed(&self) -> bool {
        let Some(_) = self.memory else { return false };
        let mut buf = [0u8; 1024];
        for g in self.groups.iter().filter(|g| g.memory) {
            let file: &[u8] = if self.v2 {
                b"memory.events"
            } else {
                b"memory.oom_control"
            };
            let Ok(path) = join(g.dir.as_bytes(), file) else {
                continue;
            };
            let n = read_file(path.as_cstr(), &mut buf).unwrap_or(0);
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
            empty_and_remove(&g.dir, self.v2);
        }
    }
}

/// A container's device rules (src/devices.rs), and whether it asked for
/// them (then a failure to set them is an error, not a lesser container).
struct DeviceRules {
    rules: Rules,
    required: bool,
    /// `--device`, `--cap-add mknod` or `--cap-add sys_admin`, for messages.
    asked_by: &'static str,
}

impl DeviceRules {
    fn step(&self) -> &'static str {
        match self.asked_by {
            "--device" => "set the device rules of --device",
            "--cap-add sys_admin" => "set the device rules of --cap-add sys_admin",
            _ => "set the device rules of --cap-add mknod",
        }
    }
}

fn no_device_cgroup(asked_by: &str) -> Error {
    bad!(
        "{asked_by} needs a device cgroup: no cgroup v1 devices hierarchy is mounted (CONFIG_CGROUP_DEVICE), and cgroup2 is not mounted or holds none of the limits (box uses one version per container)"
    )
}

/// cgroup v1: refuse every device (`a` into devices.deny), then allow each
/// rule (one devices.allow line per write: the kernel parses a write as one
/// rule). Before any process is in the group.
fn write_v1_device_rules(dir: &CPath, devices: &DeviceRules) -> Result<()> {
    let deny = join(dir.as_bytes(), b"devices.deny")?;
    let allow = join(dir.as_bytes(), b"devices.allow")?;
    let written = (|| -> core::result::Result<(), (&CPath, Errno)> {
        write_file(deny.as_cstr(), b"a").map_err(|e| (&deny, e))?;
        let fd = rustix::fs::open(
            allow.as_cstr(),
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| (&allow, e))?;
        for rule in devices.rules.list() {
            match rustix::io::write(&fd, rule.v1_line().as_bytes()) {
                Ok(_) => {}
                // The group above refuses this default device to box
                // itself (box running in a container of its own): the
                // container cannot have more than box has.
                Err(Errno::PERM) if DEFAULT_RULES.contains(rule) => {}
                Err(e) => return Err((&allow, e)),
            }
        }
        Ok(())
    })();
    written.map_err(|(path, e)| {
        let error = Error::sys(devices.step(), "write", path.as_bytes(), e);
        if e == Errno::PERM {
            error.hint("the cgroup box runs in does not allow it this device")
        } else {
            error
        }
    })
}

/// cgroup v2: load the device program for the rules and attach it to the
/// container's group, open at `group`.
fn attach_device_program(group: BorrowedFd<'_>, devices: &DeviceRules, dir: &CPath) -> Result<()> {
    let program = devices.rules.program();
    let attached =
        bpf::load_device_program(program.instructions(), PROGRAM_LICENSE, b"box_devices")
            .map_err(|e| ("bpf(BPF_PROG_LOAD)", e))
            .and_then(|loaded| {
                bpf::attach_device_program(group, loaded.as_fd())
                    .map_err(|e| ("bpf(BPF_PROG_ATTACH)", e))
            });
    attached.map_err(|(call, e)| bpf_hint(Error::sys(devices.step(), call, dir.as_bytes(), e)))
}

fn bpf_hint(e: Error) -> Error {
    let hint = match e.errno() {
        Some(Errno::PERM) => {
            "device programs need root (CAP_BPF or CAP_SYS_ADMIN) and no seccomp filter refusing bpf"
        }
        Some(Errno::INVAL) => "the kernel has no cgroup device programs (CONFIG_CGROUP_BPF)",
        Some(Errno::NOSYS) => "the kernel has no bpf(2) (CONFIG_BPF_SYSCALL)",
        _ => return e,
    };
    e.hint(hint)
}

/// The license the kernel is told for the device program (it only decides
/// which kernel helpers a program may call; this one calls none): box's.
const PROGRAM_LICENSE: &CStr = c"MIT OR Apache-2.0";

fn trim_slash(p: &[u8]) -> &[u8] {
    p.strip_suffix(b"/").unwrap_or(p)
}

fn make_dir(dir: &CPath) -> Result<()> {
    match rustix::fs::mkdir(dir.as_cstr(), Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(
            Error::sys("create the box cgroup", "mkdir", dir.as_bytes(), e).hint(
                if matches!(e, Errno::ACCESS | Errno::PERM | Errno::ROFS) {
                    "the cgroup tree is not delegated to this user"
                } else {
                    ""
                },
            ),
        ),
    }
}

/// Copy cpuset.cpus and cpuset.mems from `from` to `to` (cgroup v1).
fn inherit_cpuset(from: &CPath, to: &CPath) -> Result<()> {
    for file in [&b"cpuset.cpus"[..], b"cpuset.mems"] {
        let src = join(trim_slash(from.as_bytes()), file)?;
        let dst = join(to.as_bytes(), file)?;
        let mut buf = [0u8; 256];
        let n = read_file(dst.as_cstr(), &mut buf).unwrap_or(0);
        if !buf[..n].trim_ascii().is_empty() {
            continue;
        }
        let n = read_file(src.as_cstr(), &mut buf).at(
            "set up the cpuset cgroup",
            "read",
            src.as_bytes(),
        )?;
        write_file(dst.as_cstr(), buf[..n].trim_ascii()).at(
            "set up the cpuset cgroup",
            "write",
            dst.as_bytes(),
        )?;
    }
    Ok(())
}

/// `--cpuset` must name CPUs the machine has online.
fn check_cpus_exist(list: &[u8]) -> Result<()> {
    let mut online = [0u8; 256];
    let n = read_file(c"/sys/devices/system/cpu/online", &mut online).unwrap_or(0);
    let online = online[..n].trim_ascii();
    if online.is_empty() {
        return Ok(());
    }
    for range in list.split(|&b| b == b',') {
        let (lo, hi) =
            split_range(range).ok_or_else(|| bad!("--cpuset {}: bad CPU list", Bytes(list)))?;
        for cpu in lo..=hi {
            let present = online
                .split(|&b| b == b',')
                .filter_map(split_range)
                .any(|(a, b)| (a..=b).contains(&cpu));
            if !present {
                return Err(bad!(
                    "--cpuset {}: CPU {cpu} is not online here (online: {})",
                    Bytes(list),
                    Bytes(online)
                ));
            }
        }
    }
    Ok(())
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

/// [`sweep_stale`] in the `box/` parent of every hierarchy box makes
/// groups in: the v2 tree and each v1 hierarchy of its controllers,
/// whichever of them this run uses (a killed run with `--pids` leaves a
/// group that a later run with `--memory` alone would never look at).
fn sweep_every_hierarchy(found: &Hierarchies) {
    let mut swept: heapless::Vec<&CPath, 5> = heapless::Vec::new();
    let v1 = found.v1.iter().map(|(c, mount)| (Some(*c), mount));
    for (controller, mount) in found.v2.iter().map(|m| (None, m)).chain(v1) {
        // Controllers sharing a hierarchy (cpu,cpuacct) share a parent.
        if swept.iter().any(|m| m.as_bytes() == mount.as_bytes()) {
            continue;
        }
        let _ = swept.push(mount);
        let own = own_cgroup(controller);
        let parent = CPath::from_parts(&[
            trim_slash(mount.as_bytes()),
            trim_slash(own.as_bytes()),
            b"/box",
        ]);
        if let Some(parent) = parent {
            sweep_stale(&parent);
        }
    }
}

/// Remove every group under `parent` that is empty and older than a
/// minute: what a `box run` killed with SIGKILL left behind (its container
/// died with it, so the group is empty). Young ones may belong to a run
/// that is still setting up.
fn sweep_stale(parent: &CPath) {
    let Ok(dir) = rustix::fs::open(
        parent.as_cstr(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime).tv_sec;
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name();
        if entry.file_type() != rustix::fs::FileType::Directory || name == c"." || name == c".." {
            continue;
        }
        let old = rustix::fs::statat(&dir, name, rustix::fs::AtFlags::empty())
            .is_ok_and(|st| now - st.st_mtime > 60);
        if old {
            // rmdir fails (EBUSY) unless the group is empty.
            let _ = rustix::fs::unlinkat(&dir, name, rustix::fs::AtFlags::REMOVEDIR);
        }
    }
}

/// Kill every process left in the group, wait for it to empty, remove it.
fn empty_and_remove(dir: &CPath, v2: bool) {
    if rustix::fs::rmdir(dir.as_cstr()).is_ok() {
        return;
    }
    // cgroup.kill (5.14+) kills the whole group at once; elsewhere kill what
    // cgroup.procs lists (v2 freezes first so nothing forks meanwhile).
    let kill = join(dir.as_bytes(), b"cgroup.kill").ok();
    let killed_at_once = v2 && kill.is_some_and(|k| write_file(k.as_cstr(), b"1").is_ok());
    let freeze = join(dir.as_bytes(), b"cgroup.freeze")
        .ok()
        .filter(|_| v2 && !killed_at_once);
    if let Some(f) = &freeze {
        let _ = write_file(f.as_cstr(), b"1");
    }
    for attempt in 0..2000u32 {
        if !killed_at_once {
            signal_listed(dir, rustix::process::Signal::KILL.as_raw());
        }
        if attempt == 1 {
            if let Some(f) = &freeze {
                let _ = write_file(f.as_cstr(), b"0");
            }
        }
        match rustix::fs::rmdir(dir.as_cstr()) {
            Ok(()) | Err(Errno::NOENT) => return,
            Err(_) => {
                let pause = rustix::time::Timespec {
                    tv_sec: 0,
                    tv_nsec: 1_000_000,
                };
                let _ = rustix::thread::nanosleep(&pause);
            }
        }
    }
}

/// Send `signal` to every process DIR/cgroup.procs lists (the group's own
/// members, not its children's), as many as 8 KiB of it holds. A process
/// may leave or a new one fork meanwhile: callers that need the group
/// empty repeat it.
pub fn signal_listed(dir: &CPath, signal: i32) {
    let Ok(procs) = join(dir.as_bytes(), b"cgroup.procs") else {
        return;
    };
    let mut buf = [0u8; 8192];
    let n = read_file(procs.as_cstr(), &mut buf).unwrap_or(0);
    // Only whole lines: when the list fills the buffer its last line is cut,
    // and a cut PID is another process's.
    let whole = buf[..n]
        .split_inclusive(|&b| b == b'\n')
        .filter_map(|line| line.strip_suffix(b"\n"));
    for line in whole {
        if let Some(pid) =
            crate::text::parse_u32(line).and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = crate::sys::process::send_signal(pid, None, signal);
        }
    }
}

/// `a, b, c` for a list of names in messages.
trait JoinDisplay {
    fn join_display(&self) -> Text<64>;
}

impl JoinDisplay for heapless::Vec<&str, 4> {
    fn join_display(&self) -> Text<64> {
        let mut t = Text::new();
        for (i, n) in self.iter().enumerate() {
            if i > 0 {
                t.push(b", ");
            }
            t.push(n.as_bytes());
        }
        t
    }
}

/// Memory in use (bytes) and number of tasks of container `name`'s group
/// (`pid` is its init), for `box ps`: v2 memory.current / pids.current, v1
/// memory.usage_in_bytes / pids.current. `None` where the container has no
/// group of its own for that controller.
pub fn usage(pid: rustix::process::Pid, name: &[u8]) -> (Option<u64>, Option<u64>) {
    let mut path = CPath::from_bytes(b"/proc/").unwrap_or_default();
    let _ = path.push_u64(pid.as_raw_nonzero().get() as u64);
    let _ = path.push(b"/cgroup");
    let mut buf = [0u8; 2048];
    let n = read_file(path.as_cstr(), &mut buf).unwrap_or(0);
    let found = Hierarchies::find();
    let mut memory = None;
    let mut pids = None;
    let read_number = |dir: &[u8], rel: &[u8], file: &[u8]| -> Option<u64> {
        let p = CPath::from_parts(&[trim_slash(dir), rel, b"/", file])?;
        let mut b = [0u8; 64];
        let n = read_file(p.as_cstr(), &mut b).ok()?;
        crate::text::parse_u64(b[..n].trim_ascii())
    };
    for line in buf[..n].split(|&b| b == b'\n') {
        let mut parts = line.splitn(3, |&b| b == b':');
        let (Some(id), Some(names), Some(rel)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let rel = trim_slash(rel);
        // Only a group box made for this container: …/box/NAME.
        let ours = rel
            .strip_suffix(name)
            .is_some_and(|head| head.ends_with(b"/box/"));
        if !ours {
            continue;
        }
        if id == b"0" && names.is_empty() {
            if let Some(mount) = &found.v2 {
                memory = memory.or_else(|| read_number(mount.as_bytes(), rel, b"memory.current"));
                pids = pids.or_else(|| read_number(mount.as_bytes(), rel, b"pids.current"));
            }
            continue;
        }
        for name in names.split(|&b| b == b',') {
            let c = match name {
                b"memory" => Controller::Memory,
                b"pids" => Controller::Pids,
                _ => continue,
            };
            let Some(mount) = found.v1_mount(c) else {
                continue;
            };
            match c {
                Controller::Memory => {
                    memory = memory
                        .or_else(|| read_number(mount.as_bytes(), rel, b"memory.usage_in_bytes"))
                }
                _ => pids = pids.or_else(|| read_number(mount.as_bytes(), rel, b"pids.current")),
            }
        }
    }
    (memory, pids)
}

/// For a line of /proc/PID/cgroup, the cgroup.procs file of that group
/// (v2 `0::PATH`, or a v1 hierarchy holding one of box's controllers).
pub fn procs_file_for(line: &[u8]) -> Option<CPath> {
    let mut parts = line.splitn(3, |&b| b == b':');
    let (id, names, rel) = (parts.next()?, parts.next()?, parts.next()?);
    let found = Hierarchies::find();
    let mount = if id == b"0" && names.is_empty() {
        found.v2?
    } else {
        let controller = names.split(|&b| b == b',').find_map(|n| match n {
            b"cpu" => Some(Controller::Cpu),
            b"cpuset" => Some(Controller::Cpuset),
            b"memory" => Some(Controller::Memory),
            b"pids" => Some(Controller::Pids),
            // `box exec` joins it too: the device rules hold for what it runs.
            b"devices" => Some(Controller::Devices),
            _ => None,
        })?;
        *found.v1_mount(controller)?
    };
    CPath::from_parts(&[
        trim_slash(mount.as_bytes()),
        trim_slash(rel),
        b"/cgroup.procs",
    ])
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

    #[test]
    fn cpu_ranges() {
        assert_eq!(split_range(b"0-3"), Some((0, 3)));
        assert_eq!(split_range(b"5"), Some((5, 5)));
        assert_eq!(split_range(b"x"), None);
    }
}
