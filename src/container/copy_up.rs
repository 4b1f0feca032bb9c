//! OCI `tmpcopyup` (box-oci only): a tmpfs mounted over a directory of the
//! image starts with a copy of that directory, as runc and crun make it
//! (podman asks for it on /tmp, /run and /var/tmp with `--read-only`, and
//! on every `--tmpfs`). The child copies after the root switch, from a
//! descriptor of the covered directory opened before the tmpfs went over
//! it (src/container/rootfs.rs `mount_tmpfs`) into the tmpfs's root.
//!
//! The image is not trusted. Every name is opened relative to its
//! directory's descriptor and never followed (O_NOFOLLOW, with
//! O_DIRECTORY for a directory; AT_SYMLINK_NOFOLLOW): a symbolic link is
//! copied as a link, its target read as text and never resolved, so
//! nothing outside the covered directory is read and nothing outside the
//! tmpfs is written. Nothing allocates (the child runs between clone and
//! exec): a getdents buffer per directory level, one for a link's target,
//! and at most [`MAX_DEPTH`] levels of directories, a deeper one refused
//! by path.
//!
//! Copied, each with its owner and mode bits: directories, regular files
//! (sendfile), symbolic links, and fifos, sockets and device nodes
//! (mknod; a device node does not open there, the tmpfs being nodev, and
//! in a user namespace the kernel refuses to make one, which fails the
//! start, named). Not copied: timestamps, extended attributes (file
//! capabilities, ACLs, security labels), hard links (each name gets a
//! copy of its own).

use crate::packed::Packed;
use core::ffi::CStr;
use core::mem::MaybeUninit;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, RawDir, Stat, Uid};
use rustix::io::Errno;

use crate::config::CopyUp;
use crate::error::{Error, Result, SUBJECT_MAX};
use crate::text::Bytes;

/// Levels of directories copied below the mount's own: a deeper one
/// fails the start (each level holds two descriptors and a getdents
/// buffer on the stack).
pub const MAX_DEPTH: usize = 16;

const STEP: Packed = packed!("tmpcopyup: copy into the tmpfs");

/// A directory opened to be read and to hold the *at calls.
const DIR: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// A call of the walk that failed, and why; "" for a directory deeper
/// than [`MAX_DEPTH`]. Made into an [`Error`] once, with the path, by
/// [`copy`].
type Failed = (&'static str, Errno);
type Walk = core::result::Result<(), Failed>;

/// The path of the entry being copied, inside the container: for the
/// messages only, cut at what an error shows.
struct Here {
    buf: [u8; SUBJECT_MAX + 1],
    len: usize,
}

impl Here {
    /// Append `/name`; the length before, to go back to.
    fn enter(&mut self, name: &[u8]) -> usize {
        let before = self.len;
        for &b in b"/".iter().chain(name) {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        before
    }
}

/// Copy the content of `covered` (a directory opened for reading) into
/// `tmpfs` (the root of the tmpfs mounted over it at `target`); the root
/// takes the covered directory's owner, and its mode with
/// [`CopyUp::ContentAndMode`]. A failure names the entry. Out of line:
/// its path buffer is not part of `mount_tmpfs`'s frame.
#[inline(never)]
pub fn copy(covered: &OwnedFd, tmpfs: &OwnedFd, how: CopyUp, target: &[u8]) -> Result<()> {
    let mut here = Here {
        buf: [0; SUBJECT_MAX + 1],
        len: 0,
    };
    let _ = here.enter(target.strip_prefix(b"/").unwrap_or(target));
    let walked = copy_root(covered, tmpfs, how == CopyUp::ContentAndMode, &mut here);
    let path = &here.buf[..here.len];
    match walked {
        Ok(()) => Ok(()),
        Err(("", _)) => Err(crate::bad!(
            "tmpcopyup: copy into the tmpfs: {}: more than {} levels of directories below the mount",
            Bytes(path),
            MAX_DEPTH
        )),
        Err((call, e)) => Err(Error::sys(STEP, call, path, e)),
    }
}

/// [`copy`] from the tmpfs's root down, the path of a failure left in
/// `here`.
fn copy_root(covered: &OwnedFd, tmpfs: &OwnedFd, mode: bool, here: &mut Here) -> Walk {
    let top = rustix::fs::openat(tmpfs, c".", DIR, Mode::empty()).map_err(|e| ("openat", e))?;
    let from = rustix::fs::fstat(covered).map_err(|e| ("fstat", e))?;
    // The root reached after the mount is the tmpfs's, never the covered
    // directory itself (which would then be written to): a fresh tmpfs
    // has a device number of its own.
    let to = rustix::fs::fstat(&top).map_err(|e| ("fstat", e))?;
    if to.st_dev == from.st_dev {
        return Err(("fstat", Errno::XDEV));
    }
    copy_dir(covered, &top, here, 0)?;
    own(&top, c"", &from, mode)
}

/// Copy every entry of directory `from` into directory `to`, `depth`
/// levels below the mount.
fn copy_dir(from: &OwnedFd, to: &OwnedFd, here: &mut Here, depth: usize) -> Walk {
    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(from, &mut buf);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|e| ("getdents64", e))?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let back = here.enter(name.to_bytes());
        copy_entry(from, to, name, here, depth)?;
        here.len = back;
    }
    Ok(())
}

/// Copy the entry `name` of `from` into `to`, not following it, then give
/// the copy the entry's owner and mode.
fn copy_entry(from: &OwnedFd, to: &OwnedFd, name: &CStr, here: &mut Here, depth: usize) -> Walk {
    let st =
        rustix::fs::statat(from, name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| ("fstatat", e))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    let open = |dir, flags| {
        rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600)).map_err(|e| ("openat", e))
    };
    match kind {
        FileType::Directory => {
            if depth == MAX_DEPTH {
                return Err(("", Errno::LOOP));
            }
            let source = open(from, DIR)?;
            rustix::fs::mkdirat(to, name, Mode::from_raw_mode(0o700))
                .map_err(|e| ("mkdirat", e))?;
            copy_dir(&source, &open(to, DIR)?, here, depth + 1)?;
        }
        FileType::RegularFile => {
            // Non-blocking: a fifo put in its place since cannot hold the
            // start.
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
            let source = open(from, flags | OFlags::CLOEXEC)?;
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
            let copy = open(to, flags | OFlags::CLOEXEC)?;
            while rustix::fs::sendfile(&copy, &source, None, 1 << 30)
                .map_err(|e| ("sendfile", e))?
                > 0
            {}
        }
        FileType::Symlink => copy_link(from, to, name)?,
        _ => rustix::fs::mknodat(to, name, kind, Mode::empty(), st.st_rdev)
            .map_err(|e| ("mknodat", e))?,
    }
    own(to, name, &st, kind != FileType::Symlink)
}

/// A symbolic link as a link: its target read as text (never followed)
/// and written into a new link. Out of line: its buffer is not part of
/// every directory level's frame.
#[inline(never)]
fn copy_link(from: &OwnedFd, to: &OwnedFd, name: &CStr) -> Walk {
    // A link's target is shorter than PATH_MAX (4096): the buffer's last
    // byte stays the NUL that ends it.
    let mut target = [0u8; 4096];
    rustix::fs::readlinkat_raw(from, name, &mut target[..4095]).map_err(|e| ("readlinkat", e))?;
    let target = CStr::from_bytes_until_nul(&target).unwrap_or(c"");
    rustix::fs::symlinkat(target, to, name).map_err(|e| ("symlinkat", e))
}

/// Give `name` in `dir` (`dir` itself for "") the owner of `st`, and its
/// mode bits with `mode`: owner first, since chown clears a file's
/// set-user-ID and set-group-ID bits.
fn own(dir: &OwnedFd, name: &CStr, st: &Stat, mode: bool) -> Walk {
    let flags = if name.is_empty() {
        AtFlags::EMPTY_PATH
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    let owner = (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid));
    rustix::fs::chownat(dir, name, Some(owner.0), Some(owner.1), flags)
        .map_err(|e| ("fchownat", e))?;
    if mode {
        // The entry was made here, by this walk, and is not a link: the
        // path names it.
        let path = if name.is_empty() { c"." } else { name };
        let bits = Mode::from_raw_mode(st.st_mode & 0o7777);
        rustix::fs::chmodat(dir, path, bits, AtFlags::empty()).map_err(|e| ("fchmodat", e))?;
    }
    Ok(())
}
