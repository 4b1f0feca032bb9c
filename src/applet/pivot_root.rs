//! `pivot_root NEW_ROOT PUT_OLD`: make the mount at NEW_ROOT the root of
//! the mount namespace and move the old root to PUT_OLD (pivot_root(2)), as
//! util-linux's pivot_root(8). A thin wrapper, except for errors: the kernel
//! answers EINVAL or EBUSY for half a dozen unrelated mistakes, so box looks
//! for the likely one and names it.

use core::ffi::CStr;

use rustix::io::Errno;

use super::util_linux;
use crate::args::CommandLine;
use crate::error::{Error, Result};
use crate::mountinfo::{MountEntry, MountinfoReader};
use crate::options::{Command, Opt, Usage};
use crate::outln;
use crate::sys::entry::Args;
use crate::sys::mount_point;
use crate::text::Text;

pub fn main(args: Args) -> u8 {
    // util-linux's status: 1 on failure (126 or 127 for a command that
    // could not be executed), not box's 125, so scripts keep working.
    util_linux::finish(&PIVOT_ROOT, run(args))
}

/// What pivot_root's options do.
#[derive(Clone, Copy, Debug)]
pub enum PivotRootOption {
    Version,
}

pub const PIVOT_ROOT: Command<PivotRootOption> = Command {
    usage: Usage {
        name: "pivot_root",
        synopsis: &["NEW_ROOT PUT_OLD"],
        about: packed!(
            "Makes the mount at NEW_ROOT the root and moves the old root to PUT_OLD,\n\
                which must be at or under NEW_ROOT (pivot_root(2))."
        ),
        notes: packed!("Exit status (util-linux's): 0, or 1 if pivot_root failed."),
    },
    options: &[Opt::flag(
        "version",
        packed!("print the version and exit"),
        PivotRootOption::Version,
    )
    .short(b'V')],
};

fn run(args: Args) -> Result<u8> {
    let mut line = CommandLine::new(args, &PIVOT_ROOT);
    if let Some(found) = line.next()? {
        match found.action {
            PivotRootOption::Version => {
                outln!("pivot_root (box {})", env!("CARGO_PKG_VERSION"));
                return Ok(0);
            }
        }
    }
    let rest = line.rest();
    let (Some(new_root), Some(put_old), None) = (rest.get(0), rest.get(1), rest.get(2)) else {
        return Err(PIVOT_ROOT.usage.error());
    };
    rustix::process::pivot_root(new_root, put_old).map_err(|errno| {
        // Raw: the message shows its subject as `Bytes` does.
        let mut both = Text::<512>::new();
        both.push(new_root.to_bytes());
        both.push(b", ");
        both.push(put_old.to_bytes());
        Error::sys(packed!(""), "pivot_root", both.as_bytes(), errno)
            .hint(likely_cause(new_root, put_old, errno))
    })?;
    Ok(0)
}

/// Why pivot_root(2) failed, as far as box can tell.
fn likely_cause(new_root: &CStr, put_old: &CStr, errno: Errno) -> crate::packed::Packed {
    match errno {
        Errno::INVAL | Errno::BUSY => {}
        Errno::NOTDIR => return packed!("NEW_ROOT and PUT_OLD must be directories"),
        Errno::PERM => {
            return packed!("needs CAP_SYS_ADMIN in the mount namespace's user namespace");
        }
        _ => return packed!(""),
    }
    // The causes pivot_root(2) lists for EINVAL (and EBUSY, which the
    // kernel returns first when NEW_ROOT or PUT_OLD is on the current root's
    // mount), the most common first; the first that holds is named.
    let new = mount_point::placement(new_root).ok();
    let root = mount_point::placement(c"/").ok();
    if new.and_then(|p| p.is_mount_point) == Some(false) {
        return packed!("NEW_ROOT is not a mount point: bind-mount it onto itself first");
    }
    if mount_point::is_at_or_under(put_old, new_root) == Ok(false) {
        return packed!("PUT_OLD is not at or under NEW_ROOT");
    }
    // Before the shared checks: an initramfs root is often shared, and
    // making it private would not help.
    let root_mount = root.and_then(|p| p.mount_id);
    if root_mount.and_then(find_mount).is_some_and(|m| m.rootfs) {
        return packed!(
            "the current root is the initramfs (rootfs), which cannot be moved: \
                use switch_root"
        );
    }
    let old_mount = mount_point::placement(put_old)
        .ok()
        .and_then(|p| p.mount_id);
    if old_mount.and_then(find_mount).is_some_and(|m| m.shared) {
        return packed!(
            "PUT_OLD is on a shared mount: make it private first, \
                e.g. box mount --make-rprivate NEW_ROOT"
        );
    }
    let new_mount = new.and_then(|p| p.mount_id);
    if new_mount.and_then(parent_of).is_some_and(|m| m.shared) {
        return packed!(
            "the mount NEW_ROOT is on is shared: make it private first, \
                e.g. box mount --make-rprivate /"
        );
    }
    if root_mount.and_then(parent_of).is_some_and(|m| m.shared) {
        return packed!("the current root's parent mount is shared");
    }
    if root.and_then(|p| p.is_mount_point) == Some(false) {
        return packed!("the current root is not a mount point (a chroot?)");
    }
    if errno == Errno::BUSY {
        return packed!("NEW_ROOT or PUT_OLD is on the current root's mount");
    }
    packed!("see pivot_root(2) for the causes of EINVAL")
}

/// What the checks need of one mount.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct MountFacts {
    parent_id: u32,
    shared: bool,
    /// The kernel's initial root filesystem (initramfs).
    rootfs: bool,
}

impl MountFacts {
    fn of(entry: &MountEntry<'_>) -> Self {
        Self {
            parent_id: entry.parent_id,
            shared: entry.propagation.shared.is_some(),
            rootfs: entry.fstype.is(b"rootfs"),
        }
    }
}

/// The mount with ID `mount_id` in box's own mount table.
fn find_mount(mount_id: u32) -> Option<MountFacts> {
    let mut reader = MountinfoReader::open(None).ok()?;
    while let Some(entry) = reader.next_entry() {
        if let Ok(entry) = entry
            && entry.mount_id == mount_id
        {
            return Some(MountFacts::of(&entry));
        }
    }
    None
}

/// The parent of mount `mount_id`, if it is in sight (the root's parent
/// often is not).
fn parent_of(mount_id: u32) -> Option<MountFacts> {
    let mount = find_mount(mount_id)?;
    if mount.parent_id == mount_id {
        return None;
    }
    find_mount(mount.parent_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_mount_is_found_and_other_errors_have_plain_hints() {
        let root = mount_point::placement(c"/").unwrap().mount_id.unwrap();
        let facts = find_mount(root).unwrap();
        assert!(!facts.rootfs);
        assert!(find_mount(u32::MAX).is_none());
        assert_eq!(
            likely_cause(c"/", c"/", Errno::NOTDIR),
            packed!("NEW_ROOT and PUT_OLD must be directories")
        );
        assert_eq!(likely_cause(c"/", c"/", Errno::NOENT), packed!(""));
    }

    #[test]
    fn a_plain_directory_is_not_a_mount_point() {
        assert_eq!(
            likely_cause(c"/proc/self", c"/proc/self", Errno::INVAL),
            packed!("NEW_ROOT is not a mount point: bind-mount it onto itself first")
        );
        assert_eq!(
            likely_cause(c"/proc", c"/dev", Errno::BUSY),
            packed!("PUT_OLD is not at or under NEW_ROOT")
        );
    }
}
