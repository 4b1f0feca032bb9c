//! Landlock (Linux 5.13+, landlock(7)): confining what a container may
//! execute to the files beneath its own root.
//!
//! box handles two access rights in one ruleset and allows both beneath the
//! container's root, then restricts the process before it executes the
//! command; everything the container becomes or starts stays restricted:
//! - EXECUTE: a file outside the root cannot be executed, whatever path
//!   reaches it. The kernel checks the file it opens for execve, and for a
//!   script's interpreter and an ELF's loader, by walking up from the file
//!   itself: /proc/self/exe, /proc/PID/fd/N and every other magic link
//!   that names a host file end outside the root and are refused.
//! - REFER: a ruleset that does not handle it refuses every rename or link
//!   into another directory; handled and allowed beneath the root, those
//!   work as before. It is ABI 2 (Linux 5.19): box uses Landlock only from
//!   there.
//!
//! Nothing else is handled: reads and writes of every file are the
//! kernel's usual checks. Two effects come with any Landlock domain: its
//! processes cannot ptrace, or read the /proc files guarded like ptrace
//! (exe, environ, mem, fd), of any process outside the domain; and they
//! cannot mount or unmount (box confines only containers without
//! CAP_SYS_ADMIN and without a user namespace, which cannot anyway).

use core::ffi::c_long;

use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::io::Errno;

use linux_raw_sys::general::{
    __NR_landlock_add_rule, __NR_landlock_create_ruleset, __NR_landlock_restrict_self,
};
use linux_raw_sys::landlock::{
    LANDLOCK_ACCESS_FS_EXECUTE, LANDLOCK_ACCESS_FS_REFER, LANDLOCK_CREATE_RULESET_VERSION,
    landlock_path_beneath_attr, landlock_rule_type, landlock_ruleset_attr,
};

use super::check;

/// The first ABI with the REFER right.
pub const ABI_REFER: u32 = 2;

/// The rights box handles and allows beneath the root.
const RIGHTS: u64 = (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_REFER) as u64;

/// The Landlock ABI version this kernel offers; 0 when it has none (not
/// built in, or not enabled at boot: `lsm=`).
pub fn abi() -> u32 {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION, a null attribute and a
    // size of 0, landlock_create_ruleset(2) only returns the version; it
    // reads and writes no memory of ours.
    let ret = unsafe {
        libc::syscall(
            __NR_landlock_create_ruleset as c_long,
            core::ptr::null::<landlock_ruleset_attr>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(ret).unwrap_or(0)
}

/// Restrict this process, and all it executes or starts, to executing
/// files beneath `root` (a directory, O_PATH will do). Needs no_new_privs,
/// or CAP_SYS_ADMIN. On failure, the syscall that failed and its errno.
pub fn confine_exec_beneath(root: BorrowedFd<'_>) -> Result<(), (&'static str, Errno)> {
    // Only the first field: the size of ABI 1's struct, which every kernel
    // with Landlock reads.
    let attr = landlock_ruleset_attr {
        handled_access_fs: RIGHTS,
        handled_access_net: 0,
        scoped: 0,
    };
    // SAFETY: `attr` is a valid landlock_ruleset_attr, of which the kernel
    // reads the first `size` bytes (8: handled_access_fs) during the call.
    let ruleset = check(unsafe {
        libc::syscall(
            __NR_landlock_create_ruleset as c_long,
            &raw const attr,
            core::mem::size_of::<u64>(),
            0 as c_long,
        )
    })
    .map_err(|e| ("landlock_create_ruleset", e))?;
    // SAFETY: landlock_create_ruleset returned a new descriptor (close-on-exec),
    // which nothing else owns.
    let ruleset = unsafe { OwnedFd::from_raw_fd(ruleset as i32) };
    let beneath = landlock_path_beneath_attr {
        allowed_access: RIGHTS,
        parent_fd: root.as_raw_fd(),
    };
    // SAFETY: `beneath` is a valid landlock_path_beneath_attr (packed, as the
    // kernel's), read by the kernel during the call; `ruleset` and `root`
    // are open descriptors.
    check(unsafe {
        libc::syscall(
            __NR_landlock_add_rule as c_long,
            ruleset.as_raw_fd() as c_long,
            landlock_rule_type::LANDLOCK_RULE_PATH_BENEATH as c_long,
            &raw const beneath,
            0 as c_long,
        )
    })
    .map_err(|e| ("landlock_add_rule", e))?;
    // SAFETY: restricts the calling thread (box is single-threaded here)
    // with the ruleset; no memory is passed.
    check(unsafe {
        libc::syscall(
            __NR_landlock_restrict_self as c_long,
            ruleset.as_raw_fd() as c_long,
            0 as c_long,
        )
    })
    .map_err(|e| ("landlock_restrict_self", e))?;
    Ok(())
}
