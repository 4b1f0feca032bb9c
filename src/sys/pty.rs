//! Pseudoterminals for `-t/--tty`: a pty of the container's own devpts
//! instance, made the command's controlling terminal (its master goes back
//! to box over a Unix socket, SCM_RIGHTS), and the caller's terminal's
//! settings.
//!
//! See pty(7), ioctl_tty(2) and devpts in the kernel's
//! Documentation/filesystems/devpts.rst.

use core::ffi::{c_int, c_long};

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{Getter, Opcode, Setter};
use rustix::pty::OpenptFlags;

use super::check;
use crate::text::CPath;

/// The multiplexer of the devpts instance mounted on /dev/pts, resolved in
/// the caller's root and mount namespace: in a container, its private
/// instance (mounted `newinstance`), never the host's. Not /dev/ptmx, which
/// is only a link to it that a container may have replaced.
pub const CONTAINER_PTMX: &core::ffi::CStr = c"/dev/pts/ptmx";

/// Device number of every ptmx node (Documentation/admin-guide/devices.txt:
/// 5:2 is /dev/ptmx): a master opened through it is that inode.
const PTMX_MAJOR: u32 = 5;
const PTMX_MINOR: u32 = 2;

const TIOCGPTN: Opcode = linux_raw_sys::ioctl::TIOCGPTN as Opcode;
const TCGETS: Opcode = linux_raw_sys::ioctl::TCGETS as Opcode;
const TCSETS: Opcode = linux_raw_sys::ioctl::TCSETS as Opcode;

/// A terminal's settings, as TCGETS and TCSETS carry them (the kernel's
/// struct termios: no speeds to convert, unlike termios2).
pub type Termios = linux_raw_sys::general::termios;

/// tcgetattr(3): TCGETS.
pub fn termios(fd: BorrowedFd<'_>) -> Result<Termios, Errno> {
    // SAFETY: TCGETS writes one struct termios into the value Getter
    // provides.
    unsafe { rustix::ioctl::ioctl(fd, Getter::<TCGETS, Termios>::new()) }
}

/// tcsetattr(3) with TCSANOW: TCSETS.
pub fn set_termios(fd: BorrowedFd<'_>, termios: &Termios) -> Result<(), Errno> {
    // SAFETY: TCSETS reads one struct termios from the pointer, which
    // `termios` keeps valid for the call.
    unsafe { rustix::ioctl::ioctl(fd, Setter::<TCSETS, Termios>::new(*termios)) }
}

/// `termios` in raw mode, as cfmakeraw(3) makes it: no input or output
/// processing, no echo, no line editing, no signals from keys, 8-bit
/// characters, reads that return each byte.
pub fn raw(mut termios: Termios) -> Termios {
    use linux_raw_sys::general as k;
    termios.c_iflag &=
        !(k::IGNBRK | k::BRKINT | k::PARMRK | k::ISTRIP | k::INLCR | k::IGNCR | k::ICRNL | k::IXON);
    termios.c_oflag &= !k::OPOST;
    termios.c_lflag &= !(k::ECHO | k::ECHONL | k::ICANON | k::ISIG | k::IEXTEN);
    termios.c_cflag &= !(k::CSIZE | k::PARENB);
    termios.c_cflag |= k::CS8;
    termios.c_cc[k::VMIN as usize] = 1;
    termios.c_cc[k::VTIME as usize] = 0;
    termios
}

/// Open a new master on `ptmx` and unlock its slave (unlockpt(3)).
pub fn open_master(ptmx: &core::ffi::CStr) -> Result<OwnedFd, Errno> {
    let master = rustix::fs::open(
        ptmx,
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::pty::unlockpt(&master)?;
    Ok(master)
}

/// Open the slave of `master`: TIOCGPTPEER (Linux 4.13+), which opens it
/// through the master's own devpts mount whatever the paths say; before
/// it, /dev/pts/N by the number TIOCGPTN gives. Not made the controlling
/// terminal here (O_NOCTTY): see [`make_controlling`].
pub fn open_slave(master: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    match rustix::pty::ioctl_tiocgptpeer(master, flags) {
        Err(Errno::INVAL | Errno::NOTTY) => {}
        other => return other,
    }
    // SAFETY: TIOCGPTN writes one unsigned int, the pty's number, into the
    // value Getter provides.
    let number: u32 = unsafe { rustix::ioctl::ioctl(master, Getter::<TIOCGPTN, u32>::new())? };
    let mut path = CPath::from_bytes(b"/dev/pts/").unwrap_or_default();
    path.push_u64(u64::from(number)).ok_or(Errno::NAMETOOLONG)?;
    rustix::fs::open(
        path.as_cstr(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// TIOCSCTTY: make `slave` the controlling terminal of the calling process,
/// which must lead a session that has none (setsid(2) first).
pub fn make_controlling(slave: BorrowedFd<'_>) -> Result<(), Errno> {
    rustix::process::ioctl_tiocsctty(slave)
}

/// Whether `fd` is a pty master (a ptmx inode, char device 5:2).
pub fn is_master(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::CharacterDevice
            && rustix::fs::major(st.st_rdev) == PTMX_MAJOR
            && rustix::fs::minor(st.st_rdev) == PTMX_MINOR
    })
}

/// Whether `fd` refers to a terminal (TCGETS succeeds).
pub fn is_terminal(fd: impl AsFd) -> bool {
    rustix::termios::isatty(fd)
}

/// SCM_RIGHTS ancillary data (unix(7)) with room for two descriptors: the
/// layout of CMSG_SPACE(2 * sizeof(int)), the header then the numbers.
/// One is sent; room for a second lets the receiver see (and close) an
/// extra one instead of the kernel leaving it unseen in the padding.
#[repr(C)]
struct FdMessage {
    header: libc::cmsghdr,
    fds: [c_int; 2],
}

const FD_MESSAGE_HEADER: usize = core::mem::size_of::<libc::cmsghdr>();

/// A msghdr for one byte of data in `byte` and the ancillary data in
/// `control`.
fn fd_msghdr(byte: &mut [u8; 1], iov: &mut libc::iovec, control: &mut FdMessage) -> libc::msghdr {
    iov.iov_base = byte.as_mut_ptr().cast();
    iov.iov_len = 1;
    // SAFETY: all-zero is a valid msghdr (integers, null pointers, and on
    // musl padding fields that must be zero).
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (control as *mut FdMessage).cast();
    msg.msg_controllen = core::mem::size_of::<FdMessage>() as _;
    msg
}

/// sendmsg(2): one byte, and `fd` as SCM_RIGHTS, on the Unix socket
/// `socket` (a stream socket carries ancillary data only with some data).
/// rustix's ancillary-buffer API would do, at three times the code; musl's
/// wrapper copies the message to clear padding that a zeroed msghdr has
/// clear already: the bare syscall, then.
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> Result<(), Errno> {
    let (mut byte, mut iov) = (
        [b't'],
        libc::iovec {
            iov_base: core::ptr::null_mut(),
            iov_len: 0,
        },
    );
    // SAFETY: all-zero is a valid cmsghdr (integers).
    let mut control: FdMessage = unsafe { core::mem::zeroed() };
    control.header.cmsg_len = (FD_MESSAGE_HEADER + core::mem::size_of::<c_int>()) as _;
    control.header.cmsg_level = libc::SOL_SOCKET;
    control.header.cmsg_type = libc::SCM_RIGHTS;
    control.fds[0] = fd.as_raw_fd();
    let mut msg = fd_msghdr(&mut byte, &mut iov, &mut control);
    // One descriptor: the header's length says so, not the buffer's.
    msg.msg_controllen = control.header.cmsg_len as _;
    // SAFETY: `msg` points at `iov`, `byte` and `control`, all live for the
    // call; the kernel only reads them.
    check(unsafe {
        libc::syscall(
            libc::SYS_sendmsg,
            socket.as_raw_fd() as c_long,
            &raw const msg,
            libc::MSG_NOSIGNAL as c_long,
        )
    })
    .map(drop)
}

/// recvmsg(2) of what [`send_fd`] sent: the descriptor (close-on-exec), or
/// `None` when the peer closed its end without sending one. A second
/// descriptor that came along is closed (beyond two the kernel closes them
/// itself, MSG_CTRUNC).
pub fn receive_fd(socket: BorrowedFd<'_>) -> Result<Option<OwnedFd>, Errno> {
    let (mut byte, mut iov) = (
        [0u8],
        libc::iovec {
            iov_base: core::ptr::null_mut(),
            iov_len: 0,
        },
    );
    // SAFETY: all-zero is a valid cmsghdr (integers).
    let mut control: FdMessage = unsafe { core::mem::zeroed() };
    let mut msg = fd_msghdr(&mut byte, &mut iov, &mut control);
    loop {
        // SAFETY: `msg` points at `iov`, `byte` and `control`, all live and
        // writable for the call, with their sizes.
        let received = unsafe {
            libc::syscall(
                libc::SYS_recvmsg,
                socket.as_raw_fd() as c_long,
                &raw mut msg,
                libc::MSG_CMSG_CLOEXEC as c_long,
            )
        };
        match check(received) {
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    let header = &control.header;
    if (msg.msg_controllen as usize) < FD_MESSAGE_HEADER
        || header.cmsg_level != libc::SOL_SOCKET
        || header.cmsg_type != libc::SCM_RIGHTS
    {
        return Ok(None);
    }
    let count = (header.cmsg_len as usize).saturating_sub(FD_MESSAGE_HEADER)
        / core::mem::size_of::<c_int>();
    let mut first = None;
    for &fd in &control.fds[..count.min(2)] {
        // SAFETY: the kernel installed this descriptor for this process,
        // and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // The first is the one sent; another is dropped, which closes it.
        if first.is_none() {
            first = Some(fd);
        }
    }
    Ok(first)
}
