//! Where a path sits in the mount tree, asked of the kernel rather than read
//! from mountinfo: the mount that holds it and whether it is that mount's
//! root (statx(2), Linux 5.8+, with an st_dev fallback), and whether one
//! directory is at or under another (walking `..` by descriptor, so mounts
//! are crossed the way the kernel's own path walk crosses them).

use core::ffi::CStr;

use rustix::fs::{AtFlags, CWD, Mode, OFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno;

/// A path's mount, as far as the kernel tells.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Placement {
    /// ID of the mount holding the path (mountinfo's first field), from
    /// STATX_MNT_ID; `None` before Linux 5.8.
    pub mount_id: Option<u32>,
    /// Whether the path is the root of a mount, i.e. a mount point; `None`
    /// when the kernel cannot say (before 5.8, for a bind mount within one
    /// filesystem, where st_dev does not change).
    pub is_mount_point: Option<bool>,
}

/// statx(2) of `path` (symlinks followed, as mount(2) and pivot_root(2) do).
pub fn placement(path: &CStr) -> Result<Placement, Errno> {
    let st = match rustix::fs::statx(CWD, path, AtFlags::empty(), StatxFlags::MNT_ID) {
        Ok(st) => st,
        Err(Errno::NOSYS) => {
            // Before 4.11: no statx at all.
            rustix::fs::stat(path)?;
            return Ok(Placement {
                mount_id: None,
                is_mount_point: mount_point_by_device(path),
            });
        }
        Err(e) => return Err(e),
    };
    let mount_id = if st.stx_mask & StatxFlags::MNT_ID.bits() != 0 {
        u32::try_from(st.stx_mnt_id).ok()
    } else {
        None
    };
    let is_mount_point = if st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) {
        Some(st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
    } else {
        mount_point_by_device(path)
    };
    Ok(Placement {
        mount_id,
        is_mount_point,
    })
}

/// The old test: a directory on another device than its parent is a mount
/// point, and so is a directory that is its own parent (the root). Same
/// device says nothing (a bind mount within one filesystem).
fn mount_point_by_device(path: &CStr) -> Option<bool> {
    let dir = super::fs::open_dir(path).ok()?;
    let st = rustix::fs::fstat(&dir).ok()?;
    let parent = rustix::fs::statat(&dir, c"..", AtFlags::empty()).ok()?;
    if st.st_dev != parent.st_dev || st.st_ino == parent.st_ino {
        return Some(true);
    }
    None
}

/// Whether directory `path` is `ancestor` or below it: `..` is followed
/// from `path` up to the process's root, looking for `ancestor`'s device
/// and inode on the way.
pub fn is_at_or_under(path: &CStr, ancestor: &CStr) -> Result<bool, Errno> {
    let target = rustix::fs::stat(ancestor)?;
    let mut dir = super::fs::open_dir(path)?;
    let mut here = rustix::fs::fstat(&dir)?;
    // A path has at most PATH_MAX / 2 components; stop there whatever happens.
    for _ in 0..2048 {
        if (here.st_dev, here.st_ino) == (target.st_dev, target.st_ino) {
            return Ok(true);
        }
        let parent = rustix::fs::openat(
            &dir,
            c"..",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let above = rustix::fs::fstat(&parent)?;
        if (above.st_dev, above.st_ino) == (here.st_dev, here.st_ino) {
            // `..` of the root is the root.
            return Ok(false);
        }
        dir = parent;
        here = above;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_a_mount_point_and_proc_is_one() {
        let root = placement(c"/").unwrap();
        assert_eq!(root.is_mount_point, Some(true));
        assert!(root.mount_id.is_some());
        assert_eq!(placement(c"/proc").unwrap().is_mount_point, Some(true));
        assert_eq!(
            placement(c"/proc/self").unwrap().is_mount_point,
            Some(false)
        );
        assert_eq!(placement(c"/no/such/path"), Err(Errno::NOENT));
    }

    #[test]
    fn under_follows_dot_dot_across_mounts() {
        assert_eq!(is_at_or_under(c"/proc/self", c"/proc"), Ok(true));
        assert_eq!(is_at_or_under(c"/proc", c"/proc"), Ok(true));
        assert_eq!(is_at_or_under(c"/proc", c"/"), Ok(true));
        assert_eq!(is_at_or_under(c"/", c"/proc"), Ok(false));
        assert_eq!(is_at_or_under(c"/dev", c"/proc"), Ok(false));
    }
}
