//! Disk images with a real root filesystem for a board's `[disk]`: what
//! box-init hands over to with `box.switch_root=` (or `root=`).
//!
//! The root holds what the initramfs holds (rootfs-skel/, box and its
//! links, the board's files), /sbin/init as a link to box, and for the
//! guest suite its runner and the disk's own specs (guest.rs). It is built
//! without mounting anything or a loop device: the tree is written to a
//! directory and `mke2fs -t ext4 -d DIR` (e2fsprogs) makes the filesystem
//! from it, owned as the files are (root's, when xtask runs as root, as the
//! guest suite does). Device nodes are left out: the real root gets the
//! initramfs's devtmpfs at /dev.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::board::Board;
use crate::cpio::{Archive, Kind};
use crate::{guest, host, initramfs};

/// Debian's package with mke2fs and e2fsck.
const E2FSPROGS: &[&str] = &["e2fsprogs"];

/// The root tree of a board's disk: the initramfs's contents (without its
/// device nodes), /sbin/init, and with `test` the guest suite.
pub fn root(board: &Board, box_binary: &Path, test: bool) -> Result<Archive> {
    let mut archive = initramfs::assemble(board, box_binary)?;
    // A real root's init is /sbin/init (the kernel's and switch_root's
    // default); /init is the initramfs's.
    archive.remove("/init");
    archive.symlink("/sbin/init", "/bin/box")?;
    let nodes: Vec<String> = archive
        .entries()
        .filter(|(_, entry)| matches!(entry.kind, Kind::CharDevice { .. }))
        .map(|(path, _)| path.to_owned())
        .collect();
    for node in nodes {
        archive.remove(&node);
    }
    if test {
        guest::add_disk_suite(&mut archive, board)?;
    }
    Ok(archive)
}

/// Write `archive` as an ext4 image of the board's disk size at `output`.
pub fn create(board: &Board, archive: &Archive, output: &Path) -> Result<()> {
    let disk = board
        .disk
        .as_ref()
        .with_context(|| format!("board {} has no [disk]", board.name))?;
    host::ensure_program("mke2fs", E2FSPROGS)?;
    let tree = output.with_extension("tree");
    let _ = std::fs::remove_dir_all(&tree);
    write_tree(archive, &tree)?;
    let _ = std::fs::remove_file(output);
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut mke2fs = Command::new("mke2fs");
    mke2fs
        .args(["-q", "-F", "-t", "ext4", "-L", "boxroot", "-d"])
        .arg(&tree)
        .arg(output)
        .arg(format!("{}M", disk.size_mib));
    // -q still names the file it creates, on stdout: kept out of the log.
    let made = host::output(&mut mke2fs);
    let _ = std::fs::remove_dir_all(&tree);
    made?;
    crate::note!(
        "disk {}: ext4, {} MiB, root for {}",
        host::shown(output),
        disk.size_mib,
        disk.device
    );
    Ok(())
}

/// Lay the archive out under `dir`: directories, files, links, with their
/// modes.
fn write_tree(archive: &Archive, dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    // Directory modes last: a read-only directory would refuse its files.
    let mut directories = Vec::new();
    for (path, entry) in archive.entries() {
        let target = dir.join(path);
        match &entry.kind {
            Kind::Directory => {
                std::fs::create_dir_all(&target)?;
                directories.push((target, entry.mode));
            }
            Kind::File(data) => {
                std::fs::write(&target, data)
                    .with_context(|| format!("writing {}", target.display()))?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(entry.mode))?;
            }
            Kind::Symlink(to) => std::os::unix::fs::symlink(to, &target)
                .with_context(|| format!("linking {}", target.display()))?,
            Kind::CharDevice { .. } => bail!("/{path}: a device node cannot go on the disk"),
        }
    }
    for (target, mode) in directories.into_iter().rev() {
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Whether the filesystem was left clean: its superblock says so
/// (`dumpe2fs -h`: state "clean", no journal to recover: e2fsck -n skips
/// a journal recovery and may still answer 0), and `e2fsck -fn`, a full
/// check that changes nothing, finds no error. Fails with their report.
pub fn check(image: &Path) -> Result<()> {
    host::ensure_program("e2fsck", E2FSPROGS)?;
    let header = Command::new("dumpe2fs")
        .arg("-h")
        .arg(image)
        .output()
        .context("running dumpe2fs")?;
    let header = String::from_utf8_lossy(&header.stdout);
    let field = |name: &str| {
        header
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or("")
            .to_owned()
    };
    let state = field("Filesystem state");
    let features = field("Filesystem features");
    let mut problems = Vec::new();
    if state != "clean" {
        problems.push(format!("its state is {state:?}, not \"clean\""));
    }
    if features.split_whitespace().any(|f| f == "needs_recovery") {
        problems
            .push("its journal needs recovery: it was not unmounted or remounted read-only".into());
    }
    let output = Command::new("e2fsck")
        .arg("-fn")
        .arg(image)
        .output()
        .context("running e2fsck")?;
    if !output.status.success() {
        let report = String::from_utf8_lossy(&output.stdout);
        let report: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
        problems.push(format!(
            "e2fsck -fn ({}): {}",
            output.status,
            report.join(" | ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "the disk {} is not clean: {}",
        host::shown(image),
        problems.join("; ")
    )
}

/// A copy of `template` for one run of the suite.
pub fn fresh_copy(template: &Path, name: &str) -> Result<PathBuf> {
    let copy = template.with_file_name(format!(
        "{}-{name}.img",
        template.file_stem().unwrap_or_default().to_string_lossy()
    ));
    std::fs::copy(template, &copy)
        .with_context(|| format!("copying {} to {}", template.display(), copy.display()))?;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_from_a_tree_checks_clean() {
        if !host::has_program("mke2fs") || !host::has_program("e2fsck") {
            eprintln!("SKIPPED an_image_from_a_tree_checks_clean: no e2fsprogs");
            return;
        }
        let mut board = crate::board::load("qemu-x86_64").unwrap();
        board.disk = Some(crate::board::Disk {
            device: "/dev/vda".into(),
            qemu: None,
            size_mib: 8,
        });
        let mut archive = Archive::default();
        archive.directory("/tmp", 0o1777).unwrap();
        archive
            .file("/etc/box/a.box", 0o644, b"cmd /bin/true\n".to_vec())
            .unwrap();
        archive.symlink("/sbin/init", "/bin/box").unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-disk-{}", std::process::id()));
        let image = dir.join("t.img");
        create(&board, &archive, &image).unwrap();
        check(&image).unwrap();
        // What mke2fs put there, read back with debugfs (e2fsprogs).
        let listing = Command::new("debugfs")
            .args(["-R", "stat /tmp"])
            .arg(&image)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(listing.contains("Mode:  01777"), "{listing}");
        // A damaged superblock is not clean.
        let mut bytes = std::fs::read(&image).unwrap();
        bytes[1024 + 0x3a] = 2; // s_state: errors
        std::fs::write(&image, bytes).unwrap();
        assert!(check(&image).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
