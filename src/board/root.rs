//! The handover from the initramfs to the real root: `box.switch_root=` or
//! the kernel's `root=`.
//!
//! 1. Wait for the device node (devtmpfs creates it once the driver has
//!    probed the disk), at most `box.rootwait=S`/`rootwait=S` seconds, for
//!    ever with a bare `rootwait`, 10 s otherwise.
//! 2. Find its filesystem: `rootfstype=`, or the superblock's magic number.
//! 3. Mount it on /newroot, read-only with `ro`, read-write otherwise (there
//!    is no fstab after it to remount it); a device that refuses writes is
//!    mounted read-only, as the kernel does.
//! 4. Check that the new root has its init (`box.init=`, `init=`,
//!    /sbin/init), resolving its links inside the new root.
//! 5. switch_root: move /dev, /proc, /sys and /run there, free the
//!    initramfs, make it the root and exec its init as PID 1.
//!
//! Every failure is one line on the console and a boot fault (mod.rs).

use core::ffi::CStr;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::MountFlags;

use crate::board::cmdline::RootWait;
use crate::board::control::Waits;
use crate::board::{Cmdline, Log};
use crate::log;
use crate::sys::entry::Args;
use crate::sys::exec::CStrArray;
use crate::sys::signal::{self, SigSet};
use crate::text::{CPath, Text};

/// Where the real root is mounted before the switch.
const MOUNT_POINT: &CStr = c"/newroot";
/// How often the device node is looked for while waiting.
const POLL_MS: u64 = 50;

/// Whether "/" is the initramfs (ramfs or tmpfs), where a handover makes
/// sense. A box-init started by a handover sees the real root there, and
/// the root=/box.switch_root= that brought it is already done.
pub fn on_initramfs() -> bool {
    rustix::fs::statfs(c"/").is_ok_and(|fs| {
        let magic = fs.f_type as u32;
        magic == linux_raw_sys::general::RAMFS_MAGIC || magic == linux_raw_sys::general::TMPFS_MAGIC
    })
}

/// Why a handover failed: what failed (and on what), why, and the fix.
struct Fault {
    what: &'static str,
    on: Option<Text<64>>,
    why: Why,
    hint: &'static str,
}

/// box's Error carries its path inline, as everywhere: one value, on the
/// stack, never allocated.
#[allow(clippy::large_enum_variant)]
enum Why {
    Nothing,
    Errno(Errno),
    Error(crate::error::Error),
}

const fn fault(what: &'static str, why: Why, hint: &'static str) -> Fault {
    Fault {
        what,
        on: None,
        why,
        hint,
    }
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.what)?;
        if let Some(on) = &self.on {
            f.write_str(" ")?;
            core::fmt::Display::fmt(on, f)?;
        }
        match &self.why {
            Why::Nothing => {}
            Why::Errno(e) => {
                f.write_str(": ")?;
                core::fmt::Display::fmt(&crate::error::ErrnoText(*e), f)?;
            }
            Why::Error(e) => {
                f.write_str(": ")?;
                core::fmt::Display::fmt(e, f)?;
            }
        }
        f.write_str(self.hint)
    }
}

/// Switch to the root the command line asks for. Returns only when that
/// fails, after its one line in the log.
pub fn hand_over(log: &mut Log, cmdline: &Cmdline, waits: &mut Waits, args: Args) {
    let Some((key, target)) = cmdline.root_request() else {
        return;
    };
    let Err(fault) = switch(log, cmdline, waits, args, key, &target);
    log!(log, "{key}={target}: {fault}");
}

fn switch(
    log: &mut Log,
    cmdline: &Cmdline,
    waits: &mut Waits,
    args: Args,
    key: &str,
    target: &CPath,
) -> Result<core::convert::Infallible, Fault> {
    let bytes = target.as_bytes();
    let new_root = if bytes.starts_with(b"/dev/") {
        mount_device(log, cmdline, waits, key, target)?
    } else if key == "box.switch_root" && bytes.starts_with(b"/") {
        // A directory must be a mount point of its own to be moved over /.
        if !crate::board::is_mount_point(target.as_cstr()) {
            rustix::mount::mount_bind_recursive(target.as_cstr(), target.as_cstr())
                .map_err(|e| fault("bind", Why::Errno(e), ""))?;
        }
        *target
    } else {
        return Err(fault(
            "box-init finds the root by its /dev path only",
            Why::Nothing,
            " (root=/dev/mmcblk0p2)",
        ));
    };
    let init = cmdline.new_init();
    crate::sys::switch_root::check_init(new_root.as_cstr(), init.as_cstr()).map_err(|e| Fault {
        on: Some(Text::from_bytes_lossy(init.as_bytes())),
        ..fault(
            "no init",
            Why::Errno(e),
            " (init= or box.init= names another)",
        )
    })?;
    log!(log, "switching to the root at {new_root}: {init}");
    let argv = CStrArray::<2>::of([init.as_cstr()]).unwrap_or_default();
    // The new init starts with no signal blocked (the mask survives
    // execve); box-init blocks them again if the switch fails.
    let mask = signal::set_signal_mask(&SigSet::empty());
    let result = crate::sys::switch_root::switch_into(
        new_root.as_cstr(),
        None,
        init.as_cstr(),
        argv.argv(),
        args.envp(),
    );
    signal::set_signal_mask(&mask);
    result.map_err(|e| fault("switch_root", Why::Error(e), ""))
}

/// Steps 1 to 3 for a block device: the mount point.
fn mount_device(
    log: &mut Log,
    cmdline: &Cmdline,
    waits: &mut Waits,
    key: &str,
    device: &CPath,
) -> Result<CPath, Fault> {
    let file = wait_for(device.as_cstr(), cmdline.root_wait(), waits).map_err(|e| match e {
        Errno::NOENT => fault(
            "no such device",
            Why::Nothing,
            " (its driver in /etc/box/modules? box.rootwait=S waits longer)",
        ),
        e => fault("open", Why::Errno(e), ""),
    })?;
    let fstype = match cmdline.rootfstype() {
        Some(name) => name,
        None => {
            let found = detect_fstype(&mut |offset, buf| {
                rustix::io::pread(&file, buf, offset).unwrap_or(0)
            })
            .ok_or(fault(
                "no filesystem box-init knows",
                Why::Nothing,
                " (ext2/3/4, squashfs, f2fs, erofs, btrfs, xfs, vfat: rootfstype= names another)",
            ))?;
            CPath::from_bytes(found.to_bytes()).unwrap_or_default()
        }
    };
    drop(file);
    let _ = rustix::fs::mkdir(MOUNT_POINT, Mode::from_raw_mode(0o755));
    let data = cmdline.rootflags();
    let mount = |flags: MountFlags| {
        rustix::mount::mount(
            device.as_cstr(),
            MOUNT_POINT,
            fstype.as_cstr(),
            flags,
            data.as_ref().map(CPath::as_cstr),
        )
    };
    let read_only = cmdline.read_only();
    let mut result = mount(if read_only {
        MountFlags::RDONLY
    } else {
        MountFlags::empty()
    });
    if !read_only && matches!(result, Err(Errno::ACCESS | Errno::ROFS)) {
        log!(log, "{key}={device}: it refuses writes: mounted read-only");
        result = mount(MountFlags::RDONLY);
    }
    result.map_err(|e| Fault {
        on: Some(Text::from_bytes_lossy(fstype.as_bytes())),
        ..fault(
            "mount as",
            Why::Errno(e),
            if e == Errno::NODEV {
                " (no such filesystem in the kernel: its module in /etc/box/modules?)"
            } else {
                ""
            },
        )
    })?;
    Ok(CPath::from_bytes(MOUNT_POINT.to_bytes()).unwrap_or_default())
}

/// Open the block device once its node exists, feeding the watchdog while
/// waiting. NOENT when it never came.
fn wait_for(
    device: &CStr,
    wait: RootWait,
    waits: &mut Waits,
) -> Result<rustix::fd::OwnedFd, Errno> {
    let deadline = match wait {
        RootWait::Seconds(s) => {
            Some(crate::board::log::monotonic_ns() + u64::from(s) * 1_000_000_000)
        }
        RootWait::Forever => None,
    };
    loop {
        match rustix::fs::open(device, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(file) => {
                let st = rustix::fs::fstat(&file)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::BlockDevice {
                    return Err(Errno::NOTBLK);
                }
                return Ok(file);
            }
            // ENXIO: the node is there, its disk not yet.
            Err(Errno::NOENT | Errno::NXIO) => {}
            Err(e) => return Err(e),
        }
        if deadline.is_some_and(|d| crate::board::log::monotonic_ns() >= d) {
            return Err(Errno::NOENT);
        }
        let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
            tv_sec: 0,
            tv_nsec: (POLL_MS * 1_000_000) as _,
        });
        waits.watchdog.feed();
    }
}

/// A filesystem's signature: `bytes` at `offset` of the device.
struct Magic {
    offset: u64,
    bytes: &'static [u8],
    fstype: &'static CStr,
}

/// Superblock magic numbers, from each filesystem's on-disk format.
const MAGICS: &[Magic] = &[
    // ext2/3/4: s_magic 0xEF53 (little-endian) at 56 into the superblock,
    // which starts at 1024. The ext4 driver mounts all three (a kernel with
    // only an ext2 or ext3 driver needs rootfstype=).
    Magic {
        offset: 1024 + 56,
        bytes: &[0x53, 0xef],
        fstype: c"ext4",
    },
    Magic {
        offset: 0,
        bytes: b"hsqs",
        fstype: c"squashfs",
    },
    // F2FS_SUPER_MAGIC 0xF2F52010 at 1024.
    Magic {
        offset: 1024,
        bytes: &[0x10, 0x20, 0xf5, 0xf2],
        fstype: c"f2fs",
    },
    // EROFS_SUPER_MAGIC_V1 0xE0F5E1E2 at 1024.
    Magic {
        offset: 1024,
        bytes: &[0xe2, 0xe1, 0xf5, 0xe0],
        fstype: c"erofs",
    },
    // The btrfs superblock is at 64 KiB, its magic 64 bytes into it.
    Magic {
        offset: 0x10040,
        bytes: b"_BHRfS_M",
        fstype: c"btrfs",
    },
    Magic {
        offset: 0,
        bytes: b"XFSB",
        fstype: c"xfs",
    },
    // FAT: the file system type label of the boot sector (FAT32, FAT12/16).
    Magic {
        offset: 82,
        bytes: b"FAT32   ",
        fstype: c"vfat",
    },
    Magic {
        offset: 54,
        bytes: b"FAT1",
        fstype: c"vfat",
    },
];

/// The filesystem on a device, from its superblock; `read_at(offset,
/// buf)` reads the device and returns how many bytes it read.
pub fn detect_fstype(read_at: &mut dyn FnMut(u64, &mut [u8]) -> usize) -> Option<&'static CStr> {
    let mut buf = [0u8; 8];
    MAGICS.iter().find_map(|magic| {
        let want = magic.bytes.len();
        (read_at(magic.offset, &mut buf[..want]) == want && &buf[..want] == magic.bytes)
            .then_some(magic.fstype)
    })
}

/// For the tests: `detect_fstype` over bytes in memory.
#[cfg(test)]
fn detect_in(image: &[u8]) -> Option<&'static CStr> {
    detect_fstype(&mut |offset, buf| {
        let start = (offset as usize).min(image.len());
        let n = buf.len().min(image.len() - start);
        buf[..n].copy_from_slice(&image[start..start + n]);
        n
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_with(at: usize, bytes: &[u8]) -> Vec<u8> {
        let mut image = vec![0u8; 0x11000];
        image[at..at + bytes.len()].copy_from_slice(bytes);
        image
    }

    fn ext(compat: u32, incompat: u32) -> Vec<u8> {
        let mut image = image_with(1024 + 56, &[0x53, 0xef]);
        image[1024 + 92..1024 + 96].copy_from_slice(&compat.to_le_bytes());
        image[1024 + 96..1024 + 100].copy_from_slice(&incompat.to_le_bytes());
        image
    }

    #[test]
    fn ext_of_any_features() {
        // mke2fs -t ext4 (extents, 64bit, flex_bg…), -t ext3, -t ext2.
        for (compat, incompat) in [(0x3c, 0x2c2), (0x3c, 0x2), (0x38, 0x2)] {
            assert_eq!(detect_in(&ext(compat, incompat)), Some(c"ext4"));
        }
    }

    #[test]
    fn other_filesystems() {
        assert_eq!(detect_in(&image_with(0, b"hsqs")), Some(c"squashfs"));
        assert_eq!(
            detect_in(&image_with(1024, &[0x10, 0x20, 0xf5, 0xf2])),
            Some(c"f2fs")
        );
        assert_eq!(detect_in(&image_with(0x10040, b"_BHRfS_M")), Some(c"btrfs"));
        assert_eq!(detect_in(&image_with(82, b"FAT32   ")), Some(c"vfat"));
        assert_eq!(detect_in(&image_with(54, b"FAT16   ")), Some(c"vfat"));
        assert_eq!(detect_in(&image_with(0, b"XFSB")), Some(c"xfs"));
    }

    #[test]
    fn nothing_known_or_too_short() {
        assert_eq!(detect_in(&vec![0u8; 0x11000]), None);
        assert_eq!(detect_in(b"hsq"), None);
        assert_eq!(detect_in(&[]), None);
    }
}
