//! cgroup v1: a group in each hierarchy of a needed controller, and in
//! the devices hierarchy where the kernel has one; the limits in v1's file
//! names; the device rules as devices.deny and devices.allow lines.

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::discovery::{Hierarchies, OwnCgroups};
use super::{
    ContainerCgroup, Controller, DeviceRules, Limit, Value, join, limit, make_parents,
    no_device_cgroup, trim_slash,
};
use crate::devices::DEFAULT_RULES;
use crate::error::{Context, Error, Result};
use crate::sys::fs::{read_into, write_control};
use crate::text::CPath;

/// Make the container's group at `path` (absolute from each hierarchy's
/// root, relative from box's own group there), its missing parents too,
/// in each hierarchy it needs: those of `needed` and the devices one, or
/// with `every` (an OCI container's) every one of [`Controller::ALL`] the
/// host has (freezer too: pause).
pub(super) fn make_groups(
    cgroup: &mut ContainerCgroup,
    found: &Hierarchies,
    own: &OwnCgroups,
    needed: &[Controller],
    path: &CPath,
    every: bool,
    devices: &DeviceRules,
) -> Result<()> {
    // The devices hierarchy with the limits' ones, where the kernel has
    // it; a container that asked for devices needs it.
    if found.v1_mount(Controller::Devices).is_none() && devices.required {
        return Err(no_device_cgroup(devices.asked_by()));
    }
    // In the order of Controller::ALL, which `needed` keeps too.
    for c in Controller::ALL {
        let wanted = every || c == Controller::Devices || needed.contains(&c);
        let Some(mount) = found.v1_mount(c).filter(|_| wanted) else {
            continue;
        };
        // Controllers sharing a hierarchy (cpu,cpuacct) share a group.
        if cgroup
            .groups
            .iter()
            .any(|g| g.dir.as_bytes().starts_with(mount.as_bytes()))
        {
            continue;
        }
        // v1 cpusets start empty: a group without CPUs or memory nodes
        // accepts no task. Each parent made inherits its parent's.
        let dir = make_parents(
            mount,
            &own.path(Some(c)),
            path,
            &mut |parent, child, group| {
                if c != Controller::Cpuset || group {
                    return Ok(());
                }
                inherit_cpuset(parent, child)
            },
        )?;
        let memory = found
            .v1_mount(Controller::Memory)
            .is_some_and(|m| m.as_bytes() == mount.as_bytes());
        cgroup.make_group(dir, memory)?;
        if c == Controller::Cpuset {
            let end = dir.as_bytes().iter().rposition(|&b| b == b'/');
            inherit_cpuset(&dir.as_bytes()[..end.unwrap_or(0)], &dir)?;
        }
    }
    Ok(())
}

/// The limits in v1's files, in the order of [`super::CONTROLLERS`].
pub(super) const LIMITS: &[Limit] = &[
    // The period first: a quota is checked against it.
    limit(Controller::Cpu, b"cpu.cfs_period_us", Value::Period),
    limit(Controller::Cpu, b"cpu.cfs_quota_us", Value::Quota),
    limit(Controller::Cpuset, b"cpuset.cpus", Value::Cpus),
    limit(Controller::Memory, b"memory.limit_in_bytes", Value::Memory),
    // memory+swap at the same value: no swap (see v2).
    Limit {
        if_present: true,
        ..limit(
            Controller::Memory,
            b"memory.memsw.limit_in_bytes",
            Value::Memory,
        )
    },
    limit(Controller::Pids, b"pids.max", Value::Pids),
];

/// Refuse every device (`a` into devices.deny), then allow each rule (one
/// devices.allow line per write: the kernel parses a write as one rule).
/// Before any process is in the group at `dir`.
pub(super) fn device_rules(dir: &CPath, devices: &DeviceRules) -> Result<()> {
    let deny = join(dir.as_bytes(), b"devices.deny")?;
    let allow = join(dir.as_bytes(), b"devices.allow")?;
    let written = (|| -> core::result::Result<(), (&CPath, Errno)> {
        write_control(deny.as_cstr(), b"a").map_err(|e| (&deny, e))?;
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
        let error = Error::sys_named(devices.step(), "write", path.as_bytes(), e);
        if e == Errno::PERM {
            error.hint(packed!(
                "the cgroup box runs in does not allow it this device"
            ))
        } else {
            error
        }
    })
}

/// Copy cpuset.cpus and cpuset.mems from `from` to `to` where `to` has
/// none yet.
fn inherit_cpuset(from: &[u8], to: &CPath) -> Result<()> {
    for file in [&b"cpuset.cpus"[..], b"cpuset.mems"] {
        let src = join(trim_slash(from), file)?;
        let dst = join(to.as_bytes(), file)?;
        let mut buf = [0u8; 256];
        let n = read_into(dst.as_cstr(), &mut buf).unwrap_or(0);
        if !buf[..n].trim_ascii().is_empty() {
            continue;
        }
        let n = read_into(src.as_cstr(), &mut buf).at(
            packed!("set up the cpuset cgroup"),
            "read",
            src.as_bytes(),
        )?;
        write_control(dst.as_cstr(), buf[..n].trim_ascii()).at(
            packed!("set up the cpuset cgroup"),
            "write",
            dst.as_bytes(),
        )?;
    }
    Ok(())
}
