//! `cargo xtask sdcard --board B DIR [--size] [--kernel PATH] [--dtb PATH]`:
//! the files of a board's boot partition, written into DIR (the mounted FAT
//! partition of an SD card, or a directory to copy onto one), for the
//! firmware named in the board's `[sdcard]`:
//!
//! | file | what |
//! |---|---|
//! | `vmlinuz` | the board's kernel (board.rs, kernel.rs) |
//! | the device tree, e.g. `bcm2711-rpi-4-b.dtb` | `[kernel] dtb`, from the kernel's package |
//! | `initrd.img` | `cargo xtask initramfs --board B` (release box, or `--size`) |
//! | `cmdline.txt` | `[kernel] cmdline`, on one line |
//! | `config.txt` | `[sdcard] config`, then the lines that name the files above |
//!
//! Only these names are written (over any files of the same name); the
//! firmware's own files are the user's to add (the README says which).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::board::{self, Board, Firmware, SdCard};
use crate::build::Profile;
use crate::cli::Args;
use crate::{initramfs, kernel};

/// Names of the files written, as config.txt refers to them.
const KERNEL: &str = "vmlinuz";
const INITRD: &str = "initrd.img";

pub fn main(mut args: Args) -> Result<()> {
    let board = args
        .value(&["--board", "-b"])?
        .with_context(|| format!("--board is needed (boards: {})", board::names().join(", ")))?;
    let profile = if args.flag(&["--size"]) {
        Profile::Size
    } else {
        Profile::Release
    };
    let kernel = args.value(&["--kernel", "-k"])?.map(PathBuf::from);
    let dtb = args.value(&["--dtb"])?.map(PathBuf::from);
    let directory = args
        .positional()
        .context("the directory to write into is needed: cargo xtask sdcard --board B DIR")?;
    args.finish()?;

    let board = board::load(&board)?;
    let Some(sdcard) = &board.sdcard else {
        bail!(
            "board {} has no [sdcard] section: xtask does not know how it boots from one",
            board.name
        );
    };
    let directory = PathBuf::from(directory);
    if !directory.is_dir() {
        bail!("{}: no such directory", directory.display());
    }
    let kernel = kernel::resolve(&board, kernel.as_deref(), dtb.as_deref())?;
    let dtb = kernel
        .dtb
        .as_deref()
        .context("the board names no device tree")?;
    let dtb_name = file_name(dtb)?;
    initramfs::create(&board, false, profile, Some(directory.join(INITRD)))?;
    copy(&kernel.image, &directory.join(KERNEL))?;
    copy(dtb, &directory.join(&dtb_name))?;
    write(&directory.join("cmdline.txt"), cmdline_txt(&board))?;
    write(&directory.join("config.txt"), config_txt(sdcard, &dtb_name))?;
    crate::note!(
        "{}: {KERNEL}, {dtb_name}, {INITRD}, cmdline.txt, config.txt written",
        directory.display()
    );
    match sdcard.firmware {
        Firmware::RaspberryPi => crate::note!(
            "the partition also needs the Raspberry Pi firmware: bootcode.bin (Pi 3 and older), \
             start.elf and fixup.dat (Pi 3) or start4.elf and fixup4.dat (Pi 4), from Debian's \
             raspi-firmware package or github.com/raspberrypi/firmware (boot/)"
        ),
    }
    Ok(())
}

/// cmdline.txt: the kernel command line, one line (the firmware reads only
/// the first).
fn cmdline_txt(board: &Board) -> String {
    let words: Vec<&str> = board.cmdline.split_whitespace().collect();
    format!("{}\n", words.join(" "))
}

/// config.txt: the board's lines, then those naming the files xtask wrote.
fn config_txt(sdcard: &SdCard, dtb_name: &str) -> String {
    let mut text = String::from("# Written by `cargo xtask sdcard` from the board file.\n");
    for line in &sdcard.config {
        text.push_str(line);
        text.push('\n');
    }
    match sdcard.firmware {
        Firmware::RaspberryPi => {
            text.push_str(&format!("kernel={KERNEL}\n"));
            // Loaded just above the kernel, wherever the kernel ends.
            text.push_str(&format!("initramfs {INITRD} followkernel\n"));
            text.push_str(&format!("device_tree={dtb_name}\n"));
        }
    }
    text
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .with_context(|| format!("{}: no file name", path.display()))
}

/// Copy by content only: a FAT partition takes no owners or modes.
fn copy(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    write(to, &bytes)
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_files_of_the_pi_boards() {
        for (name, dtb) in [
            ("rpi4", "bcm2711-rpi-4-b.dtb"),
            ("rpi3b", "bcm2837-rpi-3-b.dtb"),
        ] {
            let board = board::load(name).unwrap();
            let sdcard = board.sdcard.as_ref().unwrap();
            let config = config_txt(sdcard, dtb);
            for line in [
                "arm_64bit=1",
                "enable_uart=1",
                "kernel=vmlinuz",
                "initramfs initrd.img followkernel",
                &format!("device_tree={dtb}"),
            ] {
                assert!(
                    config.lines().any(|l| l == line),
                    "{name}: {line}\n{config}"
                );
            }
            let cmdline = cmdline_txt(&board);
            assert_eq!(cmdline.lines().count(), 1, "{cmdline}");
            assert!(cmdline.contains("console=ttyS1,115200"), "{cmdline}");
            // Nothing of QEMU's reaches a real board.
            assert!(!cmdline.contains("panic="), "{cmdline}");
        }
    }

    #[test]
    fn the_pi_boards_differ_only_in_device_tree_and_emulation() {
        let pi3 = board::load("rpi3b").unwrap();
        let pi4 = board::load("rpi4").unwrap();
        assert_eq!(pi3.target, pi4.target);
        assert_eq!(pi3.kernel, pi4.kernel);
        assert_eq!(pi3.cmdline, pi4.cmdline);
        assert_eq!(
            pi3.sdcard.as_ref().unwrap().config,
            pi4.sdcard.as_ref().unwrap().config
        );
        assert_ne!(pi3.dtb, pi4.dtb);
        assert!(pi3.qemu.is_some() && pi4.qemu.is_none());
    }
}
