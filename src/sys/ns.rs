//! Which namespaces a process is in: the symbolic links under
//! /proc/PID/ns, whose targets read `TYPE:[INODE]` (namespaces(7)). Two
//! processes are in the same namespace of a type when the inodes match.
//! Also how to join them (nsenter): setns by namespace file, or all at once
//! through a pidfd of the process (Linux 5.8+).

use core::ffi::CStr;

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};

use crate::text::CPath;

/// What /proc/PID/ns/NAME says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NsLink {
    /// The namespace's inode number.
    Inode(u64),
    /// No such file: this kernel lacks the namespace type (time came in
    /// 5.6, cgroup in 4.6, pid_for_children in 4.12) or was built without it.
    NotInKernel,
    /// The link could not be read: EACCES or EPERM without ptrace access to
    /// the process (a non-dumpable process, another user's), ENOENT for a
    /// process that has exited but not been reaped.
    Unreadable(Errno),
}

/// The inode numbers of the initial namespaces, the host's, fixed by the
/// kernel (PROC_*_INIT_INO, include/linux/proc_ns.h) and the same on every
/// boot; mnt and net have none (their initial inodes are allocated).
pub const INITIAL_INODES: &[(&str, u64)] = &[
    ("ipc", 0xEFFF_FFFF),
    ("uts", 0xEFFF_FFFE),
    ("user", 0xEFFF_FFFD),
    ("pid", 0xEFFF_FFFC),
    ("cgroup", 0xEFFF_FFFB),
    ("time", 0xEFFF_FFFA),
];

/// The inode of the initial namespace of type `kind`, where it is fixed.
pub fn initial_inode(kind: &str) -> Option<u64> {
    INITIAL_INODES
        .iter()
        .find(|&&(name, _)| name == kind)
        .map(|&(_, inode)| inode)
}

/// `/proc/self/ns/NAME` or `/proc/PID/ns/NAME`.
pub fn link_path(pid: Option<u32>, name: &str) -> CPath {
    // "/proc/" + ten digits + "/ns/" + a short name always fit in PATH_MAX.
    let mut path = CPath::proc(pid, b"/ns/");
    let _ = path.push(name.as_bytes());
    path
}

/// Read /proc/PID/ns/NAME (`pid` `None` for the caller) and check its
/// target names `kind` (`pid` for `pid_for_children`).
pub fn read_link(pid: Option<u32>, name: &str, kind: &str) -> NsLink {
    let path = link_path(pid, name);
    let mut target = [0u8; 64];
    match rustix::fs::readlinkat_raw(CWD, path.as_cstr(), &mut target[..]) {
        Ok(len) => match parse_target(&target[..len], kind) {
            Some(inode) => NsLink::Inode(inode),
            None => NsLink::Unreadable(Errno::INVAL),
        },
        // The directory lists every type the kernel has, even for an exited
        // process whose links no longer resolve: tell the two apart.
        Err(Errno::NOENT) => {
            match rustix::fs::statat(CWD, path.as_cstr(), AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => NsLink::NotInKernel,
                _ => NsLink::Unreadable(Errno::NOENT),
            }
        }
        Err(e) => NsLink::Unreadable(e),
    }
}

/// The inode of a link target `KIND:[INODE]`, if it has that form.
pub fn parse_target(target: &[u8], kind: &str) -> Option<u64> {
    let inode = target
        .strip_prefix(kind.as_bytes())?
        .strip_prefix(b":[")?
        .strip_suffix(b"]")?;
    crate::text::parse_u64(inode)
}

// Joining namespaces (nsenter): by namespace file, or all at once through a
// pidfd of the target process.

/// `pidfd_open(pid, 0)` (Linux 5.3+): a descriptor naming process `pid` for
/// as long as it is open, so a PID recycled meanwhile cannot be mistaken for
/// it. The descriptor is close-on-exec. ESRCH: no such process; ENOSYS: an
/// older kernel. It may be descriptor 0 when stdin was closed: callers hold
/// it as an `OwnedFd`, never as a number where 0 could mean "none".
pub fn open_process(pid: u32) -> Result<OwnedFd, Errno> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or(Errno::SRCH)?;
    rustix::process::pidfd_open(pid, PidfdFlags::empty())
}

/// Whether the process behind `pidfd` has exited (a zombie counts): a pidfd
/// polls readable from then on (pidfd_open(2)). Asks without waiting.
pub fn has_exited(pidfd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::from_borrowed_fd(pidfd, PollFlags::IN)];
    let now = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&now)), Ok(n) if n > 0)
        && fds[0].revents().contains(PollFlags::IN)
}

/// Open a namespace file (`/proc/PID/ns/NAME`, or a bind mount of one) for
/// [`join_file`]. Close-on-exec, so the command does not inherit it.
pub fn open_file(path: &CStr) -> Result<OwnedFd, Errno> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
}

/// An ioctl_ns(2) request that takes no argument and answers in the
/// ioctl's return value: NS_GET_NSTYPE (a type), NS_GET_USERNS (a new
/// descriptor).
struct Request<const OPCODE: u32>;

// SAFETY: the ioctl_ns(2) requests used here take no argument and read or
// write no memory of ours: the kernel only returns a number as the ioctl's
// result, which `output_from_ptr` passes on.
unsafe impl<const OPCODE: u32> rustix::ioctl::Ioctl for Request<OPCODE> {
    type Output = i32;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> rustix::ioctl::Opcode {
        OPCODE as rustix::ioctl::Opcode
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        core::ptr::null_mut()
    }

    unsafe fn output_from_ptr(
        out: rustix::ioctl::IoctlOutput,
        _: *mut core::ffi::c_void,
    ) -> rustix::io::Result<i32> {
        Ok(out)
    }
}

/// The type (a CLONE_NEW* flag) of the namespace behind `fd`:
/// `ioctl(fd, NS_GET_NSTYPE)` (Linux 4.11+). ENOTTY or EINVAL for a file
/// that is not a namespace, and for any file on kernels before 4.11.
pub fn file_type(fd: BorrowedFd<'_>) -> Result<u32, Errno> {
    // SAFETY: `fd` is a live descriptor borrowed for the call, and the
    // request neither reads nor writes through a pointer (see the impl).
    let kind =
        unsafe { rustix::ioctl::ioctl(fd, Request::<{ linux_raw_sys::ioctl::NS_GET_NSTYPE }>) }?;
    Ok(kind as u32)
}

/// The user namespace that owns the namespace behind `fd`; for a user
/// namespace, its parent: `ioctl(fd, NS_GET_USERNS)` (Linux 4.9+). EPERM
/// when that namespace is outside ours (an ancestor of our own).
pub fn owner(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    // SAFETY: `fd` is a live descriptor borrowed for the call, and the
    // request neither reads nor writes through a pointer (see the impl).
    let raw =
        unsafe { rustix::ioctl::ioctl(fd, Request::<{ linux_raw_sys::ioctl::NS_GET_USERNS }>) }?;
    // SAFETY: the kernel just opened this descriptor for us; nothing else
    // owns it.
    Ok(unsafe { <OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(raw) })
}

/// `setns(fd, nstype)`: join the namespace behind `fd`, a file from
/// [`open_file`]. `nstype` (one CLONE_NEW* flag) makes the kernel check the
/// file's type: EINVAL when it is another type, or not a namespace at all.
/// A PID namespace is only where later children go; every other type,
/// time included, applies to the caller at once (setns(2)).
pub fn join_file(fd: BorrowedFd<'_>, nstype: u32) -> Result<(), Errno> {
    use linux_raw_sys::general as k;
    use rustix::thread::LinkNameSpaceType as T;
    let kind = match nstype {
        k::CLONE_NEWUSER => T::User,
        k::CLONE_NEWCGROUP => T::ControlGroup,
        k::CLONE_NEWIPC => T::InterProcessCommunication,
        k::CLONE_NEWUTS => T::HostNameAndNISDomainName,
        k::CLONE_NEWNET => T::Network,
        k::CLONE_NEWPID => T::ProcessID,
        k::CLONE_NEWNS => T::Mount,
        k::CLONE_NEWTIME => T::Time,
        _ => return Err(Errno::INVAL),
    };
    rustix::thread::move_into_link_name_space(fd, Some(kind))
}

/// `setns(pidfd, flags)` (Linux 5.8+): join the namespaces in `flags`
/// (CLONE_NEW* bits) of the process behind `pidfd`, all or none, in one
/// call; the kernel enters the user namespace first, so the others are
/// joined with the capabilities it gives. Kernels before 5.8 answer EINVAL
/// (a pidfd is not a namespace file); ESRCH when the process has exited.
pub fn join_process(pidfd: BorrowedFd<'_>, flags: u32) -> Result<(), Errno> {
    rustix::thread::move_into_thread_name_spaces(
        pidfd,
        rustix::thread::ThreadNameSpaceType::from_bits_retain(flags),
    )
}

/// SIOCGSKNS from <linux/sockios.h> (not in linux-raw-sys).
const SIOCGSKNS: u32 = 0x894C;

/// The network namespace of socket `socket` (a descriptor number the
/// caller was given, such as nsenter's `-N FD`), as a namespace file:
/// `ioctl(socket, SIOCGSKNS)` (Linux 4.9+), close-on-exec. EBADF when no
/// such descriptor is open, ENOTTY or EINVAL when it is not a socket.
pub fn of_socket(socket: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: SIOCGSKNS takes no argument and touches no memory of ours; on
    // a number that is no open descriptor the kernel answers EBADF, so the
    // raw number needs no ownership. The result, when not -1, is a new
    // descriptor the kernel made for us alone.
    let fd = super::check(unsafe { libc::ioctl(socket, SIOCGSKNS as _) } as core::ffi::c_long)?;
    // SAFETY: as above: `fd` is ours and open.
    Ok(unsafe { rustix::fd::FromRawFd::from_raw_fd(fd as core::ffi::c_int) })
}

/// `(st_dev, st_ino)` of an open namespace file: two files name the same
/// namespace when these match (namespaces(7)).
pub fn identity(fd: BorrowedFd<'_>) -> Result<(u64, u64), Errno> {
    let st = rustix::fs::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

/// Write the uid and gid maps of the user namespace of process `pid`
/// (`None`: our own), each file in one write as the kernel requires
/// (user_namespaces(7)): uid_map; then, with `deny_setgroups`, "deny" in
/// setgroups, which an unprivileged gid_map needs first (since 3.19; a
/// kernel without the file has no such rule); then gid_map.
pub fn write_id_maps(
    pid: Option<Pid>,
    uid_map: &[u8],
    gid_map: &[u8],
    deny_setgroups: bool,
) -> crate::error::Result<()> {
    use crate::error::Context;
    let write = |file: &[u8], content: &[u8]| -> crate::error::Result<()> {
        let mut path = CPath::proc(pid.map(|pid| pid.as_raw_nonzero().get() as u32), b"/");
        path.push(file);
        let step = packed!("map the user namespace");
        let fd = rustix::fs::open(
            path.as_cstr(),
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .at(step, "open", path.as_bytes())?;
        rustix::io::write(&fd, content)
            .at(step, "write", path.as_bytes())
            .map_err(|e| match e.errno() {
                Some(errno @ Errno::PERM) => e.hint(userns_hint(errno)),
                _ => e,
            })?;
        Ok(())
    };
    write(b"uid_map", uid_map)?;
    if deny_setgroups {
        match write(b"setgroups", b"deny") {
            Err(e) if e.errno() == Some(Errno::NOENT) => {}
            other => other?,
        }
    }
    write(b"gid_map", gid_map)
}

/// Why the kernel refused a user namespace (or its uid_map), naming the
/// sysctl that says no when one does.
pub fn userns_hint(errno: Errno) -> crate::packed::Packed {
    let unprivileged = !rustix::process::geteuid().is_root();
    if unprivileged && super::fs::file_holds(c"/proc/sys/kernel/unprivileged_userns_clone", b"0") {
        return packed!(
            "unprivileged user namespaces are off: sysctl kernel.unprivileged_userns_clone=0 (set it to 1)"
        );
    }
    if super::fs::file_holds(c"/proc/sys/user/max_user_namespaces", b"0") {
        return packed!("user namespaces are off: sysctl user.max_user_namespaces=0 (raise it)");
    }
    if unprivileged
        && super::fs::file_holds(
            c"/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            b"1",
        )
    {
        return packed!(
            "AppArmor restricts unprivileged user namespaces: sysctl kernel.apparmor_restrict_unprivileged_userns=1 (set it to 0, or give the program an AppArmor profile that allows userns)"
        );
    }
    match errno {
        Errno::NOSPC | Errno::USERS => {
            packed!(
                "the limit on user namespaces was reached: sysctl user.max_user_namespaces, or nesting deeper than 32"
            )
        }
        _ => {
            packed!(
                "the kernel refused a user namespace: not allowed from inside a chroot, or forbidden by a seccomp filter; see also sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces, kernel.apparmor_restrict_unprivileged_userns"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_type_and_inode() {
        assert_eq!(parse_target(b"uts:[4026531838]", "uts"), Some(4026531838));
        assert_eq!(parse_target(b"pid:[4026531836]", "pid"), Some(4026531836));
        assert_eq!(parse_target(b"pid:[4026531836]", "uts"), None);
        assert_eq!(parse_target(b"uts:4026531838", "uts"), None);
        assert_eq!(parse_target(b"uts:[]", "uts"), None);
    }

    #[test]
    fn namespace_files_and_pidfds() {
        let uts = open_file(c"/proc/self/ns/uts").unwrap();
        let again = open_file(c"/proc/thread-self/ns/uts").unwrap();
        let net = open_file(c"/proc/self/ns/net").unwrap();
        use rustix::fd::AsFd;
        assert_eq!(
            file_type(uts.as_fd()),
            Ok(linux_raw_sys::general::CLONE_NEWUTS)
        );
        assert_eq!(
            file_type(net.as_fd()),
            Ok(linux_raw_sys::general::CLONE_NEWNET)
        );
        assert_eq!(identity(uts.as_fd()), identity(again.as_fd()));
        assert_ne!(identity(uts.as_fd()), identity(net.as_fd()));
        // Not a namespace file: the ioctl is refused, and so is setns.
        let null = open_file(c"/dev/null").unwrap();
        assert!(file_type(null.as_fd()).is_err());
        assert_eq!(
            join_file(null.as_fd(), linux_raw_sys::general::CLONE_NEWUTS),
            Err(Errno::INVAL)
        );
        let me = rustix::process::getpid().as_raw_nonzero().get() as u32;
        match open_process(me) {
            Ok(pidfd) => assert!(!has_exited(pidfd.as_fd())),
            Err(e) => assert_eq!(e, Errno::NOSYS, "pidfd_open"),
        }
        assert_eq!(open_process(0).err(), Some(Errno::SRCH));
    }

    #[test]
    fn own_links_read() {
        assert_eq!(link_path(Some(42), "uts").as_bytes(), b"/proc/42/ns/uts");
        assert!(matches!(read_link(None, "uts", "uts"), NsLink::Inode(_)));
        assert!(matches!(
            read_link(None, "pid_for_children", "pid"),
            NsLink::Inode(_)
        ));
        assert_eq!(read_link(None, "no_such_type", "x"), NsLink::NotInKernel);
    }
}
