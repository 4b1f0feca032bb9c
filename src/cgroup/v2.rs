//! cgroup v2: one group for the container, under a `box/` group that box's
//! own group offers the controllers to (delegation); the limits in v2's
//! file names; the device rules as a device program attached to the group.

use core::ffi::CStr;
use core::fmt::Write;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;

use super::discovery::{OwnCgroups, delegation_refused, must_delegate};
use super::{
    ContainerCgroup, Controller, DeviceRules, Limit, Value, has_word, join, limit, make_parents,
    trim_slash,
};
use crate::error::{Context, Error, Result};
use crate::sys::bpf;
use crate::sys::fs::{open_dir, read_into, write_control};
use crate::text::{CPath, Text};

/// Make the container's group at `path` (absolute from the root of the
/// cgroup2 tree at `mount`, relative from box's own group there), its
/// missing parents too, with the `needed` controllers (of those cgroup2
/// offers: `available`) enabled down to it.
pub(super) fn make_group(
    cgroup: &mut ContainerCgroup,
    mount: &CPath,
    own: &OwnCgroups,
    available: &[u8],
    needed: &[Controller],
    path: &CPath,
) -> Result<()> {
    let names: heapless::Vec<&str, 4> = needed.iter().map(|c| c.name()).collect();
    // Each parent's subtree_control must offer the controllers to the
    // group below it. Only the root may do that while it has processes of
    // its own (the "no internal processes" rule): elsewhere the tree must
    // be delegated with the controllers already enabled.
    let dir = make_parents(mount, &own.path(None), path, &mut |parent, _, _| {
        if needed.is_empty() {
            return Ok(());
        }
        let mut current = [0u8; 256];
        let control = join(trim_slash(parent), b"cgroup.subtree_control")?;
        let n = read_into(control.as_cstr(), &mut current).unwrap_or(0);
        if !must_delegate(&current[..n], &names) {
            return Ok(());
        }
        let parent = CPath::from_bytes(parent).ok_or_else(super::too_long)?;
        enable_controllers(parent.as_cstr(), available, &names)
            .map_err(|e| delegation_refused(e, &names, &parent))
    })?;
    cgroup.make_group(dir, true)
}

/// Write `+name` for each of `wanted` that `available` lists into
/// DIR/cgroup.subtree_control (one write each: one refused controller does
/// not stop the others).
pub fn enable_controllers(dir: &CStr, available: &[u8], wanted: &[&str]) -> Result<()> {
    let control = join(dir.to_bytes(), b"cgroup.subtree_control")?;
    let mut first_error = None;
    for name in wanted {
        if !has_word(available, name.as_bytes()) {
            continue;
        }
        let mut word = Text::<16>::new();
        let _ = write!(word, "+{name}");
        if let Err(e) = write_control(control.as_cstr(), word.as_bytes()) {
            first_error.get_or_insert(Error::sys(
                packed!("enable a cgroup controller"),
                "write",
                control.as_bytes(),
                e,
            ));
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The limits in v2's files.
pub(super) const LIMITS: &[Limit] = &[
    limit(Controller::Memory, b"memory.max", Value::Memory),
    // No swap: the limit is the memory the container may use, and an
    // allocation past it meets the OOM killer, not the disk.
    Limit {
        if_present: true,
        ..limit(Controller::Memory, b"memory.swap.max", Value::NoSwap)
    },
    limit(Controller::Pids, b"pids.max", Value::Pids),
    limit(Controller::Cpu, b"cpu.max", Value::CpuMax),
    limit(Controller::Cpuset, b"cpuset.cpus", Value::Cpus),
];

/// Open the group at `dir` (for CLONE_INTO_CGROUP) and attach the device
/// program of the rules to it, before any process is in it. A kernel that
/// has no device programs, or refuses them to box, leaves a container
/// with limits with the walls that need no cgroup (no CAP_MKNOD, nodev);
/// one that asked for devices does not run.
pub(super) fn device_rules(dir: &CPath, devices: &DeviceRules) -> Result<OwnedFd> {
    let fd = open_dir(dir.as_cstr()).at(
        packed!("open the container's cgroup"),
        "open",
        dir.as_bytes(),
    )?;
    if let Err(e) = attach_device_program(fd.as_fd(), devices, dir)
        && devices.required
    {
        return Err(e);
    }
    Ok(fd)
}

fn attach_device_program(group: BorrowedFd<'_>, devices: &DeviceRules, dir: &CPath) -> Result<()> {
    let program = devices.rules.program();
    let attached =
        bpf::load_device_program(program.instructions(), PROGRAM_LICENSE, b"box_devices")
            .map_err(|e| ("bpf(BPF_PROG_LOAD)", e))
            .and_then(|loaded| {
                bpf::attach_device_program(group, loaded.as_fd())
                    .map_err(|e| ("bpf(BPF_PROG_ATTACH)", e))
            });
    attached
        .map_err(|(call, e)| bpf_hint(Error::sys_named(devices.step(), call, dir.as_bytes(), e)))
}

fn bpf_hint(e: Error) -> Error {
    let hint = match e.errno() {
        Some(Errno::PERM) => {
            packed!(
                "device programs need root (CAP_BPF or CAP_SYS_ADMIN) and no seccomp filter refusing bpf"
            )
        }
        Some(Errno::INVAL) => {
            packed!("the kernel has no cgroup device programs (CONFIG_CGROUP_BPF)")
        }
        Some(Errno::NOSYS) => packed!("the kernel has no bpf(2) (CONFIG_BPF_SYSCALL)"),
        _ => return e,
    };
    e.hint(hint)
}

/// The license the kernel is told for the device program (it only decides
/// which kernel helpers a program may call; this one calls none): box's.
const PROGRAM_LICENSE: &CStr = c"MIT OR Apache-2.0";
