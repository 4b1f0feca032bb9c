//! A running container's groups, found from /proc/PID/cgroup: its usage
//! for `box ps`, the groups `box exec` and the OCI runtime join or signal.

use super::discovery::Hierarchies;
use super::{Controller, trim_slash};
use crate::sys::fs::read_into;
use crate::text::CPath;

/// Memory in use (bytes) and number of tasks of container `name`'s group
/// (`pid` is its init), for `box ps`: v2 memory.current / pids.current, v1
/// memory.usage_in_bytes / pids.current. `None` where the container has no
/// group of its own for that controller.
pub fn usage(pid: rustix::process::Pid, name: &[u8]) -> (Option<u64>, Option<u64>) {
    let path = CPath::proc(Some(pid.as_raw_nonzero().get() as u32), b"/cgroup");
    let mut buf = [0u8; 2048];
    let n = read_into(path.as_cstr(), &mut buf).unwrap_or(0);
    let found = Hierarchies::find();
    let mut memory = None;
    let mut pids = None;
    let read_number = |dir: &[u8], rel: &[u8], file: &[u8]| -> Option<u64> {
        let p = CPath::from_parts(&[trim_slash(dir), rel, b"/", file])?;
        let mut b = [0u8; 64];
        let n = read_into(p.as_cstr(), &mut b).ok()?;
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
        for c in names.split(|&b| b == b',').filter_map(Controller::named) {
            let Some(mount) = found.v1_mount(c) else {
                continue;
            };
            match c {
                Controller::Memory => {
                    memory = memory
                        .or_else(|| read_number(mount.as_bytes(), rel, b"memory.usage_in_bytes"))
                }
                Controller::Pids => {
                    pids = pids.or_else(|| read_number(mount.as_bytes(), rel, b"pids.current"))
                }
                _ => {}
            }
        }
    }
    (memory, pids)
}

/// For a line of /proc/PID/cgroup, the file a process writes "0" into to
/// join that group: v2 `0::PATH`'s cgroup.procs, or the `tasks` of a v1
/// hierarchy holding one of box's controllers (`devices` included: `box
/// exec` joins it too, so that the device rules hold for what it runs;
/// `freezer` too, box-oci's pause). On v1 `tasks` moves only the writing
/// thread, which skips the kernel's threadgroup lock and the RCU grace
/// period its write side waits for (milliseconds on a busy host, see
/// `make_group` in src/cgroup/mod.rs); box's processes have one thread.
pub fn procs_file_for(line: &[u8]) -> Option<CPath> {
    let mut parts = line.splitn(3, |&b| b == b':');
    let (id, names, rel) = (parts.next()?, parts.next()?, parts.next()?);
    let found = Hierarchies::find();
    let (mount, file) = if id == b"0" && names.is_empty() {
        (found.v2?, &b"/cgroup.procs"[..])
    } else {
        let controller = names.split(|&b| b == b',').find_map(Controller::named)?;
        (*found.v1_mount(controller)?, &b"/tasks"[..])
    };
    CPath::from_parts(&[trim_slash(mount.as_bytes()), trim_slash(rel), file])
}
