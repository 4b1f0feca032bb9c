//! Capabilities: the default set a container keeps, and dropping the rest.

use rustix::io::Errno;
use rustix::thread::{CapabilitySet, CapabilitySets};

/// What a container keeps: Docker's default set without NET_RAW and MKNOD
/// (podman dropped both from its own, and AUDIT_WRITE). Enough to run as root in
/// its own files, not enough to touch the kernel (no SYS_ADMIN, SYS_MODULE,
/// SYS_PTRACE, NET_ADMIN, SYS_TIME, …).
///
/// MKNOD is out because a container without limits has no device cgroup:
/// with it, root inside could make a node for the board's disk in its
/// /dev and open it. Without it, the nodes box makes are the only ones
/// that open (every other mount of the container is nodev; see
/// src/devices.rs). `--cap-add mknod` gives it back, and with it the
/// container gets a device cgroup.
pub const DEFAULT: CapabilitySet = CapabilitySet::CHOWN
    .union(CapabilitySet::DAC_OVERRIDE)
    .union(CapabilitySet::FOWNER)
    .union(CapabilitySet::FSETID)
    .union(CapabilitySet::KILL)
    .union(CapabilitySet::SETGID)
    .union(CapabilitySet::SETUID)
    .union(CapabilitySet::SETPCAP)
    .union(CapabilitySet::NET_BIND_SERVICE)
    .union(CapabilitySet::SYS_CHROOT)
    .union(CapabilitySet::AUDIT_WRITE)
    .union(CapabilitySet::SETFCAP);

/// Remove every capability outside `keep` from the bounding set, so no
/// later execve of a file with capabilities can regain it. Needs
/// CAP_SETPCAP, so it runs before the identity change. Stops at the first
/// number the kernel does not know (EINVAL), so newer kernels' extra
/// capabilities are dropped too.
pub fn drop_bounding(keep: CapabilitySet) -> Result<(), Errno> {
    for cap in 0..64u32 {
        let bit = CapabilitySet::from_bits_retain(1 << cap);
        if keep.contains(bit) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(bit) {
            Ok(()) => {}
            Err(Errno::INVAL) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Set effective and permitted to `keep` (inheritable and ambient empty, so
/// nothing passes to programs by inheritance).
pub fn set(keep: CapabilitySet) -> Result<(), Errno> {
    rustix::thread::clear_ambient_capability_set()?;
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: keep,
            permitted: keep,
            inheritable: CapabilitySet::empty(),
        },
    )
}

/// `--keep-caps` of unshare and nsenter: every permitted capability made
/// inheritable and ambient, so that it survives the execve of a program
/// run as a user other than root (capabilities(7): without that, exec as a
/// non-root user empties the permitted set). Capabilities this kernel does
/// not know end the loop (EINVAL).
pub fn permitted_to_ambient() -> Result<(), Errno> {
    let mut sets = rustix::thread::capabilities(None)?;
    sets.inheritable = sets.permitted;
    rustix::thread::set_capabilities(None, sets)?;
    for cap in 0..64 {
        let bit = CapabilitySet::from_bits_retain(1 << cap);
        if sets.permitted.contains(bit) {
            match rustix::thread::configure_capability_in_ambient_set(bit, true) {
                Ok(()) => {}
                Err(Errno::INVAL) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Capability names as `--cap-add`/`--cap-drop` take them (capabilities(7),
/// without the `CAP_` prefix), by number.
pub const NAMES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// Every capability box knows (`--cap-add all`).
pub fn all() -> CapabilitySet {
    CapabilitySet::from_bits_retain((1u64 << NAMES.len()) - 1)
}

/// A capability by name: `net_admin`, `NET_ADMIN` or `CAP_NET_ADMIN`.
pub fn by_name(word: &[u8]) -> Option<CapabilitySet> {
    let word = word
        .strip_prefix(b"CAP_")
        .or_else(|| word.strip_prefix(b"cap_"))
        .unwrap_or(word);
    NAMES
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(word))
        .map(|i| CapabilitySet::from_bits_retain(1 << i))
}
