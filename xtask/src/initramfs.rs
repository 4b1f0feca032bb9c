//! `cargo xtask initramfs --board B [--test] [--size] [-o PATH]`: the
//! board's initramfs, a gzipped newc cpio written here (no cpio binary),
//! holding
//!
//! - rootfs-skel/ as it is (a file named `.keep` only keeps its directory in
//!   git and is left out), with modes as git records them (0755 or 0644,
//!   whatever the umask) and the ones it cannot from `MODES`;
//! - the device nodes of `DEVICES`;
//! - /bin/box (the board's musl build: release, or with `--size` the
//!   size-tuned one) and the links of `BOX_LINKS`;
//! - the board's extra files, and /etc/box/watchdog from its `[watchdog]`;
//! - with `--test`, the guest suite (see guest.rs);
//! - the board's kernel modules (`[modules]`, see modules.rs) under
//!   /lib/modules/VERSION with their modules.dep, and /etc/box/modules.
//!
//! The modules are a second gzipped cpio archive after the first (the
//! kernel unpacks one after the other): they are the kernel's size, not
//! box's, and the size budget is about box's part.
//!
//! The same inputs give the same bytes: see cpio.rs, and the gzip header
//! has mtime 0 and no file name.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::{Compression, GzBuilder};

use crate::board::{self, Board};
use crate::build::{self, Profile};
use crate::cli::Args;
use crate::cpio::Archive;
use crate::{elf, guest, host, modules};

/// The budget of a board's (non-test) image, gzipped.
pub const SIZE_BUDGET: u64 = 1024 * 1024;

/// Modes git cannot record (it keeps only 0644/0755 for files and nothing
/// for directories).
const MODES: &[(&str, u32)] = &[
    // Anyone may create files; only their owner may remove them.
    ("/tmp", 0o1777),
    // root's home is root's alone.
    ("/root", 0o700),
];

/// Device nodes in the image. The kernel opens /dev/console for init's
/// stdin/out/err before anything is mounted (Debian kernels create it
/// themselves; others may not); /dev/null is there for the same early
/// moment. box-init then mounts devtmpfs over /dev.
const DEVICES: &[(&str, u32, u32, u32)] = &[
    // (path, mode, major, minor) from Documentation/admin-guide/devices.txt
    ("/dev/console", 0o600, 5, 1),
    ("/dev/null", 0o666, 1, 3),
];

/// box's names (DESIGN.md section 1). /init is what the kernel runs from an
/// initramfs; its basename `init` makes box act as box-init.
const BOX_LINKS: &[(&str, &str)] = &[
    ("/bin/box-init", "box"),
    ("/bin/unshare", "box"),
    ("/bin/nsenter", "box"),
    ("/bin/pivot_root", "box"),
    ("/bin/switch_root", "box"),
    ("/init", "/bin/box"),
];

pub fn main(mut args: Args) -> Result<()> {
    let board = args
        .value(&["--board", "-b"])?
        .with_context(|| format!("--board is needed (boards: {})", board::names().join(", ")))?;
    let test = args.flag(&["--test"]);
    let profile = if args.flag(&["--size"]) {
        Profile::Size
    } else {
        Profile::Release
    };
    let output = args.value(&["--output", "-o"])?.map(PathBuf::from);
    args.finish()?;
    let board = board::load(&board)?;
    create(&board, test, profile, output)?;
    Ok(())
}

/// Build box with `profile`, pack the image and write it (by default to
/// target/initramfs/BOARD[-size][-test].cpio.gz, so that the images of
/// both builds can be kept side by side); returns its path.
pub fn create(
    board: &Board,
    test: bool,
    profile: Profile,
    output: Option<PathBuf>,
) -> Result<PathBuf> {
    let box_binary = build::build(board.target, profile)?;
    let mut archive = assemble(board, &box_binary)?;
    if test {
        guest::add_suite(&mut archive, board)?;
    }
    let mut bytes = gzip(&archive.write())?;
    let box_part = bytes.len() as u64;
    if let Some(packed) = modules::pack(board)? {
        bytes.extend(gzip(&modules_archive(&packed)?.write())?);
    }
    let output = output.unwrap_or_else(|| {
        let size = if profile == Profile::Size {
            "-size"
        } else {
            ""
        };
        let test = if test { "-test" } else { "" };
        host::target_dir()
            .join("initramfs")
            .join(format!("{}{size}{test}.cpio.gz", board.name))
    });
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
    let size = bytes.len() as u64;
    let modules = if size > box_part {
        format!(
            ", {:.1} KiB of it kernel modules",
            (size - box_part) as f64 / 1024.0
        )
    } else {
        String::new()
    };
    eprintln!(
        "xtask: initramfs {}: {size} bytes gzipped ({:.1} KiB{modules}), box {}{}",
        host::shown(&output),
        size as f64 / 1024.0,
        profile.name(),
        if test { ", with the guest suite" } else { "" }
    );
    if !test && box_part > SIZE_BUDGET {
        bail!(
            "the image is {box_part} bytes without its modules, over its budget of {SIZE_BUDGET} (1 MiB)"
        );
    }
    Ok(output)
}

/// The second archive: the modules, their modules.dep, /etc/box/modules.
fn modules_archive(packed: &modules::Packed) -> Result<Archive> {
    let mut archive = Archive::default();
    let dir = format!("/lib/modules/{}", packed.release);
    for (path, bytes) in &packed.files {
        archive.file(&format!("{dir}/{path}"), 0o644, bytes.clone())?;
    }
    archive.file(
        &format!("{dir}/modules.dep"),
        0o644,
        packed.dep.clone().into_bytes(),
    )?;
    let mut list =
        String::from("# Loaded by box-init at boot, each after its dependencies (modules.dep).\n");
    for name in &packed.load {
        list.push_str(name);
        list.push('\n');
    }
    archive.file("/etc/box/modules", 0o644, list.into_bytes())?;
    Ok(archive)
}

/// The board's image without the guest suite.
pub fn assemble(board: &Board, box_binary: &Path) -> Result<Archive> {
    let mut archive = Archive::default();
    let skeleton = host::workspace().join("rootfs-skel");
    add_tree(&mut archive, &skeleton, "/")?;
    for &(path, mode) in MODES {
        archive.directory(path, mode)?;
    }
    for &(path, mode, major, minor) in DEVICES {
        archive.char_device(path, mode, major, minor)?;
    }
    let binary =
        std::fs::read(box_binary).with_context(|| format!("reading {}", box_binary.display()))?;
    elf::check_static(&binary, board.target)
        .with_context(|| format!("{} cannot be /bin/box", host::shown(box_binary)))?;
    archive.file("/bin/box", 0o755, binary)?;
    for &(link, target) in BOX_LINKS {
        archive.symlink(link, target)?;
    }
    if let Some(seconds) = board.watchdog.as_ref().and_then(|w| w.timeout) {
        archive.file(
            "/etc/box/watchdog",
            0o644,
            format!("{seconds}\n").into_bytes(),
        )?;
    }
    for file in &board.files {
        let data = std::fs::read(&file.source)
            .with_context(|| format!("board {}: reading {}", board.name, file.source.display()))?;
        let mode = match file.mode {
            Some(mode) => mode,
            None => permissions(&file.source)?,
        };
        archive.file(&file.path, mode, data)?;
    }
    Ok(archive)
}

/// Add the tree at `source` under `destination` in the archive: directories,
/// regular files and symlinks (see `permissions` for their modes).
pub fn add_tree(archive: &mut Archive, source: &Path, destination: &str) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(source)
        .with_context(|| format!("reading {}", source.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("{}: file name is not UTF-8", entry.path().display());
        };
        if name == ".keep" {
            continue;
        }
        let path = entry.path();
        let inside = format!("{}/{name}", destination.trim_end_matches('/'));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&path)?;
            let target = target
                .to_str()
                .with_context(|| format!("{}: link target is not UTF-8", path.display()))?;
            archive.symlink(&inside, target)?;
        } else if kind.is_dir() {
            archive.directory(&inside, permissions(&path)?)?;
            add_tree(archive, &path, &inside)?;
        } else if kind.is_file() {
            let data =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            archive.file(&inside, permissions(&path)?, data)?;
        } else {
            bail!(
                "{}: only directories, files and symlinks can be packed",
                path.display()
            );
        }
    }
    Ok(())
}

/// The mode a file gets in the image, as git sees it: 0755 for directories
/// and executables, 0644 for other files, whatever the umask of the checkout.
fn permissions(path: &Path) -> Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    let metadata =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let executable = metadata.permissions().mode() & 0o111 != 0;
    Ok(if metadata.is_dir() || executable {
        0o755
    } else {
        0o644
    })
}

/// gzip with a fixed header: mtime 0, no file name, best compression.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(3) // Unix, whatever the host.
        .write(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::{Kind, parse};

    fn fake_board() -> Board {
        board::load("qemu-x86_64").unwrap()
    }

    /// A stand-in for the box binary: a static x86_64 ELF header.
    fn fake_box(dir: &Path) -> PathBuf {
        let mut bytes = vec![0u8; 64];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        bytes[0x12..0x14].copy_from_slice(&62u16.to_le_bytes());
        let path = dir.join("box");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn image_holds_the_skeleton_box_and_links() {
        let dir = scratch("image");
        let archive = assemble(&fake_board(), &fake_box(&dir)).unwrap();
        for directory in [
            "dev", "proc", "sys", "run", "tmp", "etc", "root", "srv", "etc/box",
        ] {
            assert_eq!(
                archive.get(directory).map(|e| &e.kind),
                Some(&Kind::Directory),
                "{directory}"
            );
        }
        assert_eq!(archive.get("tmp").unwrap().mode, 0o1777);
        assert_eq!(
            archive.get("init").unwrap().kind,
            Kind::Symlink("/bin/box".into())
        );
        assert_eq!(
            archive.get("dev/console").unwrap().kind,
            Kind::CharDevice { major: 5, minor: 1 }
        );
        assert_eq!(archive.get("bin/box").unwrap().mode, 0o755);
        let entries = parse(&archive.write()).unwrap();
        assert!(entries.iter().all(|e| !e.name.ends_with(".keep")));
        assert!(entries.iter().any(|e| e.name == "etc/box/10-hello.box"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn same_inputs_same_gzip_bytes() {
        let dir = scratch("determinism");
        let first = gzip(&assemble(&fake_board(), &fake_box(&dir)).unwrap().write()).unwrap();
        let second = gzip(&assemble(&fake_board(), &fake_box(&dir)).unwrap().write()).unwrap();
        assert_eq!(first, second);
        // gzip header: magic, deflate, no flags (no name), mtime 0.
        assert_eq!(&first[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_dynamic_box_is_refused() {
        let dir = scratch("dynamic");
        let path = dir.join("box");
        std::fs::write(&path, b"#!/bin/sh\n").unwrap();
        let error = format!("{:#}", assemble(&fake_board(), &path).unwrap_err());
        assert!(error.contains("cannot be /bin/box"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn board_files_are_added_with_their_modes() {
        let dir = scratch("files");
        let motd = dir.join("motd");
        std::fs::write(&motd, b"hello\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&motd, std::fs::Permissions::from_mode(0o664)).unwrap();
        let mut board = fake_board();
        board.files = vec![
            board::ExtraFile {
                source: motd.clone(),
                path: "/etc/motd".into(),
                mode: Some(0o600),
            },
            board::ExtraFile {
                source: motd,
                path: "/etc/deep/er/motd".into(),
                mode: None,
            },
        ];
        let archive = assemble(&board, &fake_box(&dir)).unwrap();
        let motd = archive.get("etc/motd").unwrap();
        assert_eq!(motd.mode, 0o600);
        assert_eq!(motd.kind, Kind::File(b"hello\n".to_vec()));
        assert_eq!(archive.get("etc/deep/er").unwrap().kind, Kind::Directory);
        assert_eq!(archive.get("etc/deep/er/motd").unwrap().mode, 0o644);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
