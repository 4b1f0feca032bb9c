//! Removing groups: a container's at its end (whatever is left in it
//! killed first), and the stale ones a killed `box run` left behind.

use core::mem::MaybeUninit;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::discovery::{Hierarchies, OwnCgroups};
use super::{Controller, box_parent, join};
use crate::bad;
use crate::error::{Error, Result};
use crate::sys::fs::{read_into, write_control};
use crate::text::CPath;

/// [`sweep_stale`] in the `box/` parent of every hierarchy box makes
/// groups in: the v2 tree and each v1 hierarchy of its controllers,
/// whichever of them this run uses (a killed run with `--pids` leaves a
/// group that a later run with `--memory` alone would never look at).
pub(super) fn sweep_every_hierarchy(found: &Hierarchies, own: &OwnCgroups) {
    if let Some(mount) = &found.v2 {
        sweep_under(mount, own, None);
    }
    for (i, (c, mount)) in found.v1.iter().enumerate() {
        // Controllers sharing a hierarchy (cpu,cpuacct) share a parent.
        let seen = found.v2.iter().chain(found.v1[..i].iter().map(|(_, m)| m));
        if !seen.into_iter().any(|m| m.as_bytes() == mount.as_bytes()) {
            sweep_under(mount, own, Some(*c));
        }
    }
}

/// [`sweep_stale`] in box's parent group of the hierarchy at `mount`.
fn sweep_under(mount: &CPath, own: &OwnCgroups, controller: Option<Controller>) {
    if let Some(parent) = box_parent(mount, &own.path(controller)) {
        sweep_stale(&parent);
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
    let now = crate::sys::timing::clock_gettime(rustix::time::ClockId::Realtime).tv_sec;
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

/// Kill every process left in the group at `dir` (a `v2` one or a v1
/// one), wait for it to empty, remove it. A group already gone is fine.
pub fn empty_and_remove(dir: &CPath, v2: bool) -> Result<()> {
    // cgroup.kill (5.14+) kills the whole group at once; elsewhere kill what
    // cgroup.procs lists (v2 freezes first so nothing forks meanwhile).
    // Both only once the first rmdir found the group busy; then each
    // attempt after a pause of 1 ms, 2000 of them.
    let mut killed_at_once = false;
    let mut freeze = None;
    for attempt in 0..=2000u32 {
        match rustix::fs::rmdir(dir.as_cstr()) {
            Ok(()) | Err(Errno::NOENT) => return Ok(()),
            Err(Errno::BUSY) => {}
            Err(e) => {
                return Err(Error::sys(
                    packed!("remove the container's cgroup"),
                    "rmdir",
                    dir.as_bytes(),
                    e,
                ));
            }
        }
        if attempt == 0 {
            let kill = join(dir.as_bytes(), b"cgroup.kill").ok();
            killed_at_once = v2 && kill.is_some_and(|k| write_control(k.as_cstr(), b"1").is_ok());
            freeze = join(dir.as_bytes(), b"cgroup.freeze")
                .ok()
                .filter(|_| v2 && !killed_at_once);
            if let Some(f) = &freeze {
                let _ = write_control(f.as_cstr(), b"1");
            }
        } else {
            let pause = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            };
            let _ = rustix::thread::nanosleep(&pause);
            if attempt == 2000 {
                break;
            }
        }
        if !killed_at_once {
            signal_listed(dir, rustix::process::Signal::KILL.as_raw());
        }
        if attempt == 1 {
            if let Some(f) = &freeze {
                let _ = write_control(f.as_cstr(), b"0");
            }
        }
    }
    Err(bad!("{}: still busy after SIGKILL", dir))
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
    let n = read_into(procs.as_cstr(), &mut buf).unwrap_or(0);
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
