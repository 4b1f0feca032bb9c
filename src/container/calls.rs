//! The calls that build a container's filesystem (src/container/rootfs.rs),
//! behind a trait: [`Kernel`] makes them, and in unit tests a recorder
//! writes them down instead, so that the order of the steps can be checked
//! without root or a kernel. `rootfs::build` is generic over it and box
//! has the one instance, [`Kernel`], a type without data whose methods are
//! the syscalls themselves: nothing is added to `box run`.

use core::ffi::CStr;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

#[cfg(feature = "oci")]
use crate::config::CopyUp;
#[cfg(feature = "oci")]
use crate::container::copy_up;
use crate::container::plan::Plan;
use crate::error::Result;
use crate::sys::mount::{self as m, Create};

/// What a call returns: its errno on failure.
type Sys<T> = core::result::Result<T, Errno>;

/// What `rootfs::build` asks of the kernel, one method per call (and one
/// for the host mounts that move-and-chroot detaches, a walk of the mount
/// table with its own tests). Paths are relative to the working directory
/// where they do not start with `/`, as for the syscalls.
pub trait Calls {
    /// A descriptor: an `O_PATH` directory, or a detached mount tree.
    type Fd;

    /// mount(2) with MS_REC and a propagation type.
    fn change_propagation(&mut self, path: &CStr, flags: MountPropagationFlags) -> Sys<()>;
    /// mount(2) MS_BIND, with MS_REC when `recursive`.
    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Sys<()>;
    /// mount(2) of a fresh filesystem of type `fs` at `at` (its source
    /// named as its type).
    fn mount(&mut self, fs: &CStr, at: &CStr, flags: MountFlags, data: Option<&CStr>) -> Sys<()>;
    /// mount(2) MS_MOVE.
    fn move_mount(&mut self, from: &CStr, to: &CStr) -> Sys<()>;
    /// umount2(2).
    fn unmount(&mut self, target: &CStr, flags: UnmountFlags) -> Sys<()>;
    /// nodev (and read-only) on the mount at `path` ([`m::make_nodev`]).
    fn set_nodev(&mut self, path: &CStr, recursive: bool, read_only: bool) -> Sys<()>;
    /// nodev on the tree at `path`, read-only below its top mount
    /// ([`m::make_nodev_read_only_below`]).
    fn set_nodev_read_only_below(&mut self, path: &CStr) -> Sys<()>;
    /// Read-only on the mount at `path` ([`m::make_read_only`]).
    fn set_read_only(&mut self, path: &CStr, recursive: bool) -> Sys<()>;
    /// open_tree(2): a detached copy of the tree at `source`.
    fn clone_tree(&mut self, source: &CStr) -> Sys<Self::Fd>;
    /// nodev (and read-only) on a detached tree ([`m::tree_nodev`]).
    fn tree_nodev(&mut self, tree: &Self::Fd, read_only: bool) -> Sys<()>;
    /// move_mount(2) of a detached tree onto the mount point `target`.
    fn attach_tree(&mut self, tree: &Self::Fd, target: &Self::Fd) -> Sys<()>;
    /// The directory or file to mount on at `path`, made where missing,
    /// reached without /proc magic links ([`m::open_mount_point`]).
    fn mount_point(&mut self, path: &CStr, create: Create) -> Sys<Self::Fd>;
    /// mount(2) of a fresh filesystem of type `fs` on the mount point
    /// `dir` ([`m::mount_on`]).
    fn mount_on(
        &mut self,
        fs: &CStr,
        dir: &Self::Fd,
        flags: MountFlags,
        data: Option<&CStr>,
    ) -> Sys<()>;
    /// openat(2) of directory `dir` itself ("."), for reading: taken
    /// before a tmpfs covers it, it keeps reaching what the tmpfs hides.
    #[cfg(feature = "oci")]
    fn open_covered(&mut self, dir: &Self::Fd) -> Sys<Self::Fd>;
    /// Copy the directory `covered` into the tmpfs whose root is `tmpfs`,
    /// mounted over it at `target` ([`copy_up::copy`]).
    #[cfg(feature = "oci")]
    fn copy_up(
        &mut self,
        covered: &Self::Fd,
        tmpfs: &Self::Fd,
        how: CopyUp,
        target: &CStr,
    ) -> Result<()>;
    /// open(2) of a directory, `O_PATH`.
    fn open_dir(&mut self, path: &CStr) -> Sys<Self::Fd>;
    /// openat(2) of the directory `name` in `dir`, `O_PATH`, not following
    /// a symbolic link.
    fn open_dir_at(&mut self, dir: &Self::Fd, name: &CStr) -> Sys<Self::Fd>;
    /// mkdirat(2).
    fn mkdir_at(&mut self, dir: &Self::Fd, name: &CStr, mode: Mode) -> Sys<()>;
    fn fchdir(&mut self, dir: &Self::Fd) -> Sys<()>;
    fn chdir(&mut self, path: &CStr) -> Sys<()>;
    fn chroot(&mut self, path: &CStr) -> Sys<()>;
    fn pivot_root(&mut self, new_root: &CStr, put_old: &CStr) -> Sys<()>;
    /// The type of the file at `path` (stat(2)).
    fn file_type(&mut self, path: &CStr) -> Sys<FileType>;
    /// The type of the file `fd` names (fstat(2)).
    fn fd_type(&mut self, fd: &Self::Fd) -> Sys<FileType>;
    fn umask(&mut self, mask: Mode) -> Mode;
    /// mknodat(2) at `path` (its mode taken whole: the caller clears the
    /// umask).
    fn mknod(&mut self, path: &CStr, kind: FileType, mode: u32, major: u32, minor: u32) -> Sys<()>;
    /// chown(2) of `path` itself, a symbolic link not followed.
    fn chown(&mut self, path: &CStr, uid: u32, gid: u32) -> Sys<()>;
    fn symlink(&mut self, target: &CStr, link: &CStr) -> Sys<()>;
    /// Whether "/" is the initramfs, which pivot_root cannot move.
    fn root_is_initramfs(&mut self) -> bool;
    /// Detach every mount of the namespace outside the new root ("."), "/"
    /// still naming the old one (`rootfs::detach_host_mounts`).
    fn detach_host_mounts(&mut self, plan: &Plan) -> Result<()>;
}

/// The kernel: each call made, as box does.
pub struct Kernel;

/// How [`Kernel`] opens directories: a handle for fchdir and the *at
/// calls, closed at exec.
const PATH_DIR: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

fn file_type(st: rustix::fs::Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

impl Calls for Kernel {
    type Fd = OwnedFd;

    fn change_propagation(&mut self, path: &CStr, flags: MountPropagationFlags) -> Sys<()> {
        rustix::mount::mount_change(path, flags)
    }

    fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Sys<()> {
        if recursive {
            rustix::mount::mount_bind_recursive(source, target)
        } else {
            rustix::mount::mount_bind(source, target)
        }
    }

    fn mount(&mut self, fs: &CStr, at: &CStr, flags: MountFlags, data: Option<&CStr>) -> Sys<()> {
        rustix::mount::mount(fs, at, fs, flags, data)
    }

    fn move_mount(&mut self, from: &CStr, to: &CStr) -> Sys<()> {
        rustix::mount::mount_move(from, to)
    }

    fn unmount(&mut self, target: &CStr, flags: UnmountFlags) -> Sys<()> {
        rustix::mount::unmount(target, flags)
    }

    fn set_nodev(&mut self, path: &CStr, recursive: bool, read_only: bool) -> Sys<()> {
        m::make_nodev(path, recursive, read_only)
    }

    fn set_nodev_read_only_below(&mut self, path: &CStr) -> Sys<()> {
        m::make_nodev_read_only_below(path)
    }

    fn set_read_only(&mut self, path: &CStr, recursive: bool) -> Sys<()> {
        m::make_read_only(path, recursive)
    }

    fn clone_tree(&mut self, source: &CStr) -> Sys<OwnedFd> {
        m::clone_tree(source)
    }

    fn tree_nodev(&mut self, tree: &OwnedFd, read_only: bool) -> Sys<()> {
        m::tree_nodev(tree.as_fd(), read_only)
    }

    fn attach_tree(&mut self, tree: &OwnedFd, target: &OwnedFd) -> Sys<()> {
        m::attach_tree(tree.as_fd(), target.as_fd())
    }

    fn mount_point(&mut self, path: &CStr, create: Create) -> Sys<OwnedFd> {
        m::open_mount_point(path, create)
    }

    fn mount_on(
        &mut self,
        fs: &CStr,
        dir: &OwnedFd,
        flags: MountFlags,
        data: Option<&CStr>,
    ) -> Sys<()> {
        m::mount_on(fs, dir.as_fd(), flags, data)
    }

    #[cfg(feature = "oci")]
    fn open_covered(&mut self, dir: &OwnedFd) -> Sys<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat(dir, c".", flags, Mode::empty())
    }

    #[cfg(feature = "oci")]
    fn copy_up(
        &mut self,
        covered: &OwnedFd,
        tmpfs: &OwnedFd,
        how: CopyUp,
        target: &CStr,
    ) -> Result<()> {
        copy_up::copy(covered, tmpfs, how, target.to_bytes())
    }

    fn open_dir(&mut self, path: &CStr) -> Sys<OwnedFd> {
        rustix::fs::open(path, PATH_DIR, Mode::empty())
    }

    fn open_dir_at(&mut self, dir: &OwnedFd, name: &CStr) -> Sys<OwnedFd> {
        rustix::fs::openat(dir, name, PATH_DIR | OFlags::NOFOLLOW, Mode::empty())
    }

    fn mkdir_at(&mut self, dir: &OwnedFd, name: &CStr, mode: Mode) -> Sys<()> {
        rustix::fs::mkdirat(dir, name, mode)
    }

    fn fchdir(&mut self, dir: &OwnedFd) -> Sys<()> {
        rustix::process::fchdir(dir)
    }

    fn chdir(&mut self, path: &CStr) -> Sys<()> {
        rustix::process::chdir(path)
    }

    fn chroot(&mut self, path: &CStr) -> Sys<()> {
        rustix::process::chroot(path)
    }

    fn pivot_root(&mut self, new_root: &CStr, put_old: &CStr) -> Sys<()> {
        rustix::process::pivot_root(new_root, put_old)
    }

    fn file_type(&mut self, path: &CStr) -> Sys<FileType> {
        rustix::fs::stat(path).map(file_type)
    }

    fn fd_type(&mut self, fd: &OwnedFd) -> Sys<FileType> {
        rustix::fs::fstat(fd).map(file_type)
    }

    fn umask(&mut self, mask: Mode) -> Mode {
        rustix::process::umask(mask)
    }

    fn mknod(&mut self, path: &CStr, kind: FileType, mode: u32, major: u32, minor: u32) -> Sys<()> {
        let dev = rustix::fs::makedev(major, minor);
        rustix::fs::mknodat(rustix::fs::CWD, path, kind, Mode::from_raw_mode(mode), dev)
    }

    fn chown(&mut self, path: &CStr, uid: u32, gid: u32) -> Sys<()> {
        rustix::fs::chownat(
            rustix::fs::CWD,
            path,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
    }

    fn symlink(&mut self, target: &CStr, link: &CStr) -> Sys<()> {
        rustix::fs::symlink(target, link)
    }

    fn root_is_initramfs(&mut self) -> bool {
        crate::mountinfo::root_is_initramfs()
    }

    fn detach_host_mounts(&mut self, plan: &Plan) -> Result<()> {
        super::rootfs::detach_host_mounts(plan)
    }
}

/// A record of the calls instead of the calls, for the unit tests of the
/// order of the steps. Every call succeeds; directories and missing paths
/// are what the test says.
#[cfg(test)]
pub mod record {
    use super::*;

    /// One call.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Step {
        /// What was done: `mount` (a fresh filesystem), `bind`,
        /// `propagation`, `move`, `umount`, `nodev`, `read-only`,
        /// `open_tree`, `tree nodev`, `attach`, `mount point`, `open`,
        /// `mkdir`, `fchdir`, `chdir`, `chroot`, `pivot_root`, `mknod`,
        /// `chown`, `symlink` or `detach host mounts`.
        pub call: &'static str,
        /// The path acted on: a mount's target, the directory of fchdir.
        pub path: String,
        /// A bind's or a move's source, a mount's filesystem type, the tree
        /// attached, a link's target, pivot_root's put_old; `below` for a
        /// `nodev` read-only below the top mount only; `failed` for a
        /// `tree nodev` that failed.
        pub from: String,
        /// A fresh mount's flags.
        pub flags: MountFlags,
        /// Read-only asked (`nodev`, `tree nodev`); a bind's MS_REC.
        pub read_only: bool,
        pub recursive: bool,
        /// The propagation asked for.
        pub propagation: MountPropagationFlags,
    }

    #[derive(Default)]
    pub struct Recorder {
        pub steps: Vec<Step>,
        /// Paths that are directories; any other path is a regular file.
        pub dirs: Vec<&'static str>,
        /// Paths that do not exist.
        pub missing: Vec<&'static str>,
        /// Whether nodev on a tree not yet attached fails (recorded with
        /// `from` "failed"), as where the kernel refuses it.
        pub detached_nodev_fails: bool,
    }

    fn text(path: &CStr) -> String {
        path.to_string_lossy().into_owned()
    }

    impl Recorder {
        fn push(&mut self, call: &'static str, path: &str, from: &str) -> &mut Step {
            self.steps.push(Step {
                call,
                path: path.into(),
                from: from.into(),
                flags: MountFlags::empty(),
                read_only: false,
                recursive: false,
                propagation: MountPropagationFlags::empty(),
            });
            self.steps.last_mut().unwrap()
        }

        fn kind(&self, path: &str) -> Sys<FileType> {
            if self.missing.contains(&path) {
                Err(Errno::NOENT)
            } else if self.dirs.contains(&path) {
                Ok(FileType::Directory)
            } else {
                Ok(FileType::RegularFile)
            }
        }
    }

    impl Calls for Recorder {
        /// The path the descriptor was opened at.
        type Fd = String;

        fn change_propagation(&mut self, path: &CStr, flags: MountPropagationFlags) -> Sys<()> {
            self.push("propagation", &text(path), "").propagation = flags;
            Ok(())
        }

        fn bind(&mut self, source: &CStr, target: &CStr, recursive: bool) -> Sys<()> {
            self.push("bind", &text(target), &text(source)).recursive = recursive;
            Ok(())
        }

        fn mount(
            &mut self,
            fstype: &CStr,
            target: &CStr,
            flags: MountFlags,
            _: Option<&CStr>,
        ) -> Sys<()> {
            self.push("mount", &text(target), &text(fstype)).flags = flags;
            Ok(())
        }

        fn move_mount(&mut self, from: &CStr, to: &CStr) -> Sys<()> {
            self.push("move", &text(to), &text(from));
            Ok(())
        }

        fn unmount(&mut self, target: &CStr, flags: UnmountFlags) -> Sys<()> {
            let detach = flags.contains(UnmountFlags::DETACH);
            self.push("umount", &text(target), "").recursive = detach;
            Ok(())
        }

        fn set_nodev(&mut self, path: &CStr, recursive: bool, read_only: bool) -> Sys<()> {
            let step = self.push("nodev", &text(path), "");
            (step.recursive, step.read_only) = (recursive, read_only);
            Ok(())
        }

        /// Recorded as a recursive read-only `nodev` from "below".
        fn set_nodev_read_only_below(&mut self, path: &CStr) -> Sys<()> {
            let step = self.push("nodev", &text(path), "below");
            (step.recursive, step.read_only) = (true, true);
            Ok(())
        }

        fn set_read_only(&mut self, path: &CStr, recursive: bool) -> Sys<()> {
            let step = self.push("read-only", &text(path), "");
            (step.recursive, step.read_only) = (recursive, true);
            Ok(())
        }

        fn clone_tree(&mut self, source: &CStr) -> Sys<String> {
            self.push("open_tree", &text(source), "");
            Ok(text(source))
        }

        fn tree_nodev(&mut self, tree: &String, read_only: bool) -> Sys<()> {
            let attached = self
                .steps
                .iter()
                .any(|s| s.call == "attach" && s.from == *tree);
            let fails = self.detached_nodev_fails && !attached;
            let step = self.push("tree nodev", tree, if fails { "failed" } else { "" });
            step.read_only = read_only;
            if fails { Err(Errno::INVAL) } else { Ok(()) }
        }

        fn attach_tree(&mut self, tree: &String, target: &String) -> Sys<()> {
            self.push("attach", target, tree);
            Ok(())
        }

        fn mount_point(&mut self, path: &CStr, _: Create) -> Sys<String> {
            self.push("mount point", &text(path), "");
            Ok(text(path))
        }

        /// Recorded as a `mount` at the mount point's path.
        fn mount_on(
            &mut self,
            fstype: &CStr,
            dir: &String,
            flags: MountFlags,
            _: Option<&CStr>,
        ) -> Sys<()> {
            self.push("mount", dir, &text(fstype)).flags = flags;
            Ok(())
        }

        /// Recorded as an `open covered` of the mount point's path.
        #[cfg(feature = "oci")]
        fn open_covered(&mut self, dir: &String) -> Sys<String> {
            self.push("open covered", dir, "");
            Ok(dir.clone())
        }

        /// Recorded as a `copy up` into the tmpfs at the mount point's
        /// path, from the directory covered (`Content` or
        /// `ContentAndMode`).
        #[cfg(feature = "oci")]
        fn copy_up(
            &mut self,
            covered: &String,
            tmpfs: &String,
            how: CopyUp,
            _: &CStr,
        ) -> Result<()> {
            self.push("copy up", tmpfs, &format!("{covered} {how:?}"));
            Ok(())
        }

        fn open_dir(&mut self, path: &CStr) -> Sys<String> {
            self.kind(&text(path))?;
            self.push("open", &text(path), "");
            Ok(text(path))
        }

        fn open_dir_at(&mut self, dir: &String, name: &CStr) -> Sys<String> {
            let path = format!("{dir}/{}", text(name));
            self.kind(&path)?;
            self.push("open", &path, "");
            Ok(path)
        }

        fn mkdir_at(&mut self, dir: &String, name: &CStr, _: Mode) -> Sys<()> {
            let path = format!("{dir}/{}", text(name));
            self.push("mkdir", &path, "");
            Ok(())
        }

        fn fchdir(&mut self, dir: &String) -> Sys<()> {
            self.push("fchdir", dir, "");
            Ok(())
        }

        fn chdir(&mut self, path: &CStr) -> Sys<()> {
            self.push("chdir", &text(path), "");
            Ok(())
        }

        fn chroot(&mut self, path: &CStr) -> Sys<()> {
            self.push("chroot", &text(path), "");
            Ok(())
        }

        fn pivot_root(&mut self, new_root: &CStr, put_old: &CStr) -> Sys<()> {
            self.push("pivot_root", &text(new_root), &text(put_old));
            Ok(())
        }

        fn file_type(&mut self, path: &CStr) -> Sys<FileType> {
            self.kind(&text(path))
        }

        fn fd_type(&mut self, fd: &String) -> Sys<FileType> {
            self.kind(fd)
        }

        fn umask(&mut self, _: Mode) -> Mode {
            Mode::empty()
        }

        fn mknod(&mut self, path: &CStr, _: FileType, _: u32, major: u32, minor: u32) -> Sys<()> {
            self.push("mknod", &text(path), &format!("{major}:{minor}"));
            Ok(())
        }

        fn chown(&mut self, path: &CStr, uid: u32, gid: u32) -> Sys<()> {
            self.push("chown", &text(path), &format!("{uid}:{gid}"));
            Ok(())
        }

        fn symlink(&mut self, target: &CStr, link: &CStr) -> Sys<()> {
            self.push("symlink", &text(link), &text(target));
            Ok(())
        }

        fn root_is_initramfs(&mut self) -> bool {
            false
        }

        fn detach_host_mounts(&mut self, _: &Plan) -> Result<()> {
            self.push("detach host mounts", "/", "");
            Ok(())
        }
    }
}
