//! cgroup2 on a board: box-init mounts it at /sys/fs/cgroup and enables the
//! controllers for box/, the parent of every container's group (which
//! src/cgroup/ then makes and removes).

use core::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::Mode;

use super::log::Log;
use super::{BootMount, NOSUID_NODEV_NOEXEC, mount_at_boot};
use crate::cgroup::{CONTROLLERS, enable_controllers};
use crate::log;

/// cgroup v2, where each container gets box/NAME. Mounted later than the
/// rest ([`mount`]): the first cgroup2 mount waits for an RCU grace
/// period, some 10 ms, and a first container without limits need not wait.
const CGROUP2_MOUNT: BootMount = BootMount {
    target: c"/sys/fs/cgroup",
    fstype: c"cgroup2",
    flags: NOSUID_NODEV_NOEXEC,
    data: None,
};

/// Mount cgroup2 at /sys/fs/cgroup, once: before the first container that
/// needs a cgroup, before /etc/box/rc, or after the first containers have
/// started, whichever comes first.
pub fn mount(log: &mut Log) {
    static MOUNTED: AtomicBool = AtomicBool::new(false);
    if MOUNTED.swap(true, Ordering::Relaxed) {
        return;
    }
    if let Err(e) = mount_at_boot(&CGROUP2_MOUNT) {
        super::mount_failed(log, CGROUP2_MOUNT.target, e);
    }
}

/// Enable the controllers the kernel has for the root's children and for
/// box/ (made here).
pub fn prepare(log: &mut Log) {
    let mut available = [0u8; 256];
    let Ok(n) = crate::sys::fs::read_into(c"/sys/fs/cgroup/cgroup.controllers", &mut available)
    else {
        log!(
            log,
            "cgroup2: /sys/fs/cgroup/cgroup.controllers is missing: no limits for containers"
        );
        return;
    };
    let available = &available[..n];
    let _ = rustix::fs::mkdir(c"/sys/fs/cgroup/box", Mode::from_raw_mode(0o755));
    for dir in [c"/sys/fs/cgroup", c"/sys/fs/cgroup/box"] {
        if let Err(e) = enable_controllers(dir, available, CONTROLLERS) {
            log!(log, "cgroup2: {e}");
        }
    }
}
