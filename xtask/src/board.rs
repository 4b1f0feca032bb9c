//! Boards: `board/NAME.toml` says what box is built for (the target triple),
//! which kernel boots it, with which command line and device tree
//! (`[kernel]`), how QEMU emulates it (`[qemu]`, absent where QEMU does
//! not), how its boot partition is written (`[sdcard]`, where xtask knows
//! the board's firmware), and which extra files go into its rootfs
//! (`[[files]]`). board/qemu-x86_64.toml describes every key.
//!
//! Unknown keys are errors (a misspelt key would otherwise be ignored). A
//! new section is a struct here with `deny_unknown_fields`, a field of
//! `BoardFile` and of `Board`, its checks in `parse`, and a commented
//! example in qemu-x86_64.toml.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The targets box is built for, with the names other tools use for them.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-musl",
        arch: "x86_64",
        name: "x86_64",
        debian_arch: "amd64",
        std: Std::Rustup,
        size_features: &[],
        // Compare chains instead of jump and lookup tables (a jump table's
        // entries are 8-byte addresses here), and MIR's inlining and other
        // level-2 passes left to LLVM: 800 bytes without box-oci, 992 with
        // it. On aarch64, whose jump tables are byte offsets, both made the
        // binary larger (480 and 768 bytes): not there.
        size_flags: &["-Cjump-tables=no", "-Zmir-opt-level=1"],
    },
    Target {
        triple: "aarch64-unknown-linux-musl",
        arch: "aarch64",
        name: "aarch64",
        debian_arch: "arm64",
        std: Std::Rustup,
        // Atomics as inline load-exclusive/store-exclusive loops (ARMv8.0,
        // every aarch64 CPU) instead of calls to helpers that pick LSE at
        // run time: the standard library's start-up check for LSE reads the
        // CPU features through code that formats and allocates, and linked
        // musl's malloc, the `alloc` formatting and that check into a binary
        // that otherwise has no heap (about 11 KiB).
        size_features: &["-outline-atomics"],
        size_flags: &[],
    },
    Target {
        triple: "armv7-unknown-linux-musleabihf",
        arch: "arm",
        name: "armv7",
        debian_arch: "armhf",
        std: Std::BuildStd,
        // Thumb-2, whose 16- and 32-bit instructions make code about a
        // quarter smaller than the target's default ARM instructions
        // (Debian builds all of armhf so). The release build keeps ARM.
        size_features: &["+thumb-mode"],
        size_flags: &[],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Rust's name: `cargo build --target`.
    pub triple: &'static str,
    /// The CPU architecture as Rust (`target_arch`, std::env::consts::ARCH)
    /// and QEMU (`qemu-system-ARCH`) name it.
    pub arch: &'static str,
    /// How reports and the README name it.
    pub name: &'static str,
    /// Debian's name, for `apt-get download PKG:ARCH`.
    pub debian_arch: &'static str,
    /// Where its Rust standard library comes from.
    pub std: Std,
    /// Target features the size-tuned build adds (`-Ctarget-feature`).
    pub size_features: &'static [&'static str],
    /// Other rustc flags of the size-tuned build for this target.
    pub size_flags: &'static [&'static str],
}

/// Where a target's Rust standard library comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Std {
    /// `rustup target add`: the stable toolchain builds the release binary
    /// and links it with the musl that rustup ships for the target.
    Rustup,
    /// rustup has none: both builds rebuild it from source on the pinned
    /// nightly (`-Zbuild-std`) and link against musl from Debian's
    /// `musl-dev` for the target's architecture (build.rs).
    BuildStd,
}

impl Target {
    pub fn from_triple(triple: &str) -> Result<Target> {
        match TARGETS.iter().find(|t| t.triple == triple) {
            Some(target) => Ok(*target),
            None => bail!(
                "unsupported target {triple:?} (supported: {})",
                TARGETS
                    .iter()
                    .map(|t| t.triple)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A board, checked: what the rest of xtask works from.
#[derive(Debug)]
pub struct Board {
    pub name: String,
    pub target: Target,
    pub kernel: KernelSource,
    /// The device tree the board boots with, if it needs one named (QEMU's
    /// `virt` machines make their own).
    pub dtb: Option<DtbSource>,
    /// The board's kernel command line (xtask adds `panic=-1` under QEMU).
    pub cmdline: String,
    /// How to emulate it; `None` when QEMU does not.
    pub qemu: Option<Qemu>,
    /// How its boot partition is written; `None` when xtask does not know.
    pub sdcard: Option<SdCard>,
    /// Extra files for the rootfs, sources already resolved to paths.
    pub files: Vec<ExtraFile>,
    /// Kernel modules box-init loads at boot (`[modules]`).
    pub modules: Modules,
    /// The hardware watchdog box-init feeds (`[watchdog]`).
    pub watchdog: Option<Watchdog>,
    /// A disk with a real root filesystem (`[disk]`).
    pub disk: Option<Disk>,
}

/// `[modules]`: what box-init loads from /etc/box/modules.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modules {
    /// Module names, in the order box-init loads them (each after its
    /// dependencies, which xtask adds).
    #[serde(default)]
    pub load: Vec<String>,
    /// Where the modules are (a lib/modules/VERSION directory, relative to
    /// the board file), for a kernel that is not a Debian package.
    pub tree: Option<PathBuf>,
}

/// `[watchdog]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watchdog {
    /// Seconds; box-init feeds /dev/watchdog with this timeout
    /// (/etc/box/watchdog in the image). None: only `box.watchdog=` arms it.
    pub timeout: Option<u32>,
    /// The watchdog device QEMU adds (`-device NAME`), which powers the
    /// guest off when it fires.
    pub qemu: Option<String>,
}

/// `[disk]`: a second root filesystem, built by xtask (`mke2fs -d`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disk {
    /// What the guest's kernel calls it (`box.switch_root=DEVICE`).
    pub device: String,
    /// The QEMU device that carries it, e.g. `virtio-blk-pci`.
    pub qemu: Option<String>,
    /// Its size in MiB.
    pub size_mib: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum KernelSource {
    /// A Debian package such as `linux-image-amd64`, resolved to the
    /// current ABI package (`linux-image-6.1.0-NN-amd64`) when fetched.
    Debian(String),
    /// A kernel image on this machine.
    Path(PathBuf),
}

#[derive(Debug, PartialEq, Eq)]
pub enum DtbSource {
    /// A path under the Debian kernel package's `usr/lib/linux-image-*/`,
    /// where Debian keeps the device trees built with that kernel.
    Package(PathBuf),
    /// A file on this machine.
    Path(PathBuf),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qemu {
    /// `-M`, e.g. `pc`, `virt` or `raspi3b`.
    pub machine: String,
    /// `-cpu`; QEMU's default when absent.
    pub cpu: Option<String>,
    /// `-m`, e.g. `256M` (x86 needs at least 128M; raspi3b exactly 1G).
    pub memory: String,
    /// Which of the machine's serial ports is the console, counted from 0:
    /// xtask connects it to its stdout and the ones before it to nothing.
    #[serde(default)]
    pub serial: u8,
    /// The kernel cannot power this machine off (its driver for that is a
    /// module the image does not load, or there is none), so it halts
    /// instead, saying "reboot: System halted", and QEMU keeps running:
    /// xtask then ends QEMU itself and takes the halt for the power off.
    #[serde(default)]
    pub halts: bool,
    /// Anything else for QEMU, appended as is.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A boot partition for a board's firmware: `cargo xtask sdcard` writes the
/// kernel, the device tree, the initramfs and the firmware's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdCard {
    /// What reads the partition.
    pub firmware: Firmware,
    /// The board's own lines of the firmware's settings (config.txt); the
    /// lines naming the files xtask writes are added to them.
    #[serde(default)]
    pub config: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    /// The Raspberry Pi's GPU firmware (start*.elf), which reads config.txt
    /// and cmdline.txt from the first FAT partition.
    RaspberryPi,
}

#[derive(Debug)]
pub struct ExtraFile {
    pub source: PathBuf,
    /// Absolute path inside the rootfs.
    pub path: String,
    /// Permission bits; when absent 0755 if the source is executable, else 0644.
    pub mode: Option<u32>,
}

/// The file as written; see board/qemu-x86_64.toml for a commented example.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardFile {
    #[allow(dead_code)] // For people reading the file; checked, not used.
    description: String,
    target: String,
    kernel: KernelFile,
    qemu: Option<Qemu>,
    sdcard: Option<SdCard>,
    #[serde(default)]
    files: Vec<ExtraFileFile>,
    #[serde(default)]
    modules: Modules,
    watchdog: Option<Watchdog>,
    disk: Option<Disk>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelFile {
    package: Option<String>,
    path: Option<PathBuf>,
    dtb: Option<PathBuf>,
    cmdline: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraFileFile {
    source: PathBuf,
    path: String,
    mode: Option<u32>,
}

/// The highest `[qemu] serial`: QEMU's machines have a few serial ports,
/// and each one before the console costs a `-serial null`.
const MAX_SERIAL: u8 = 3;

/// The board directory of the workspace.
pub fn directory() -> PathBuf {
    crate::host::workspace().join("board")
}

/// The names of the boards in board/, sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".toml").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Load a board by name (`board/NAME.toml`), or from a path to a .toml file.
pub fn load(name_or_path: &str) -> Result<Board> {
    let path = if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
        PathBuf::from(name_or_path)
    } else {
        directory().join(format!("{name_or_path}.toml"))
    };
    if !path.is_file() {
        bail!("no board {name_or_path:?} (boards: {})", names().join(", "));
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&path, &text)
}

/// Parse and check a board file's text; `path` names it in errors and
/// anchors its relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Board> {
    let shown = crate::host::shown(path);
    let file: BoardFile = toml::from_str(text).map_err(|error| {
        // toml's own Display spans several lines with a snippet: keep one.
        let line = error
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1);
        match line {
            Some(line) => anyhow::anyhow!("{shown}:{line}: {}", error.message()),
            None => anyhow::anyhow!("{shown}: {}", error.message()),
        }
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("board")
        .to_owned();
    let target = Target::from_triple(&file.target).with_context(|| shown.clone())?;
    let kernel = match (file.kernel.package, file.kernel.path) {
        (Some(package), None) => KernelSource::Debian(package),
        (None, Some(kernel)) => KernelSource::Path(base.join(kernel)),
        _ => bail!("{shown}: [kernel] needs exactly one of `package` or `path`"),
    };
    let dtb = match (&kernel, file.kernel.dtb) {
        (_, None) => None,
        (KernelSource::Debian(_), Some(dtb)) => {
            if dtb.is_absolute() || dtb.components().any(|c| c.as_os_str() == "..") {
                bail!(
                    "{shown}: [kernel] dtb {} must be a path inside the package's usr/lib/linux-image-*/",
                    dtb.display()
                );
            }
            Some(DtbSource::Package(dtb))
        }
        (KernelSource::Path(_), Some(dtb)) => Some(DtbSource::Path(base.join(dtb))),
    };
    if let Some(qemu) = &file.qemu
        && qemu.serial > MAX_SERIAL
    {
        bail!(
            "{shown}: [qemu] serial {} is more ports than a machine has (at most {MAX_SERIAL})",
            qemu.serial
        );
    }
    if file.sdcard.is_some() && dtb.is_none() {
        bail!("{shown}: [sdcard] needs the board's device tree: [kernel] dtb");
    }
    let mut files = Vec::new();
    for file in file.files {
        if !file.path.starts_with('/') {
            bail!("{shown}: files: path {:?} must be absolute", file.path);
        }
        if file.mode.is_some_and(|mode| mode > 0o7777) {
            bail!(
                "{shown}: files: mode of {} is not permission bits",
                file.path
            );
        }
        files.push(ExtraFile {
            source: base.join(file.source),
            path: file.path,
            mode: file.mode,
        });
    }
    let mut modules = file.modules;
    modules.tree = modules.tree.map(|tree| base.join(tree));
    if let Some(bad) = modules.load.iter().find(|m| {
        m.is_empty()
            || !m
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        bail!("{shown}: [modules] load: {bad:?} is not a module name");
    }
    if let Some(disk) = &file.disk {
        if !disk.device.starts_with("/dev/") {
            bail!(
                "{shown}: [disk] device {:?} must be a /dev/ path",
                disk.device
            );
        }
        if disk.size_mib < 8 {
            bail!("{shown}: [disk] size_mib must be at least 8");
        }
    }
    Ok(Board {
        name,
        target,
        kernel,
        dtb,
        cmdline: file.kernel.cmdline,
        qemu: file.qemu,
        sdcard: file.sdcard,
        files,
        modules,
        watchdog: file.watchdog,
        disk: file.disk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
description = "test"
target = "aarch64-unknown-linux-musl"
[kernel]
package = "linux-image-arm64"
cmdline = "console=ttyAMA0"
[qemu]
machine = "virt"
cpu = "cortex-a72"
memory = "256M"
[[files]]
source = "x/motd"
path = "/etc/motd"
mode = 0o644
[modules]
load = ["virtio_blk", "crc32c-generic"]
[watchdog]
timeout = 30
qemu = "i6300esb"
[disk]
device = "/dev/vda"
qemu = "virtio-blk-pci"
size_mib = 64
"#;

    #[test]
    fn parses_a_board() {
        let board = parse(Path::new("/b/test.toml"), GOOD).unwrap();
        assert_eq!(board.name, "test");
        assert_eq!(board.target.debian_arch, "arm64");
        assert_eq!(
            board.kernel,
            KernelSource::Debian("linux-image-arm64".into())
        );
        let qemu = board.qemu.unwrap();
        assert_eq!(qemu.cpu.as_deref(), Some("cortex-a72"));
        assert!(qemu.args.is_empty());
        assert_eq!(board.files[0].source, Path::new("/b/x/motd"));
        assert_eq!(board.files[0].mode, Some(0o644));
        assert_eq!(board.modules.load, ["virtio_blk", "crc32c-generic"]);
        assert_eq!(board.watchdog.unwrap().timeout, Some(30));
        let disk = board.disk.unwrap();
        assert_eq!((disk.device.as_str(), disk.size_mib), ("/dev/vda", 64));
    }

    #[test]
    fn modules_watchdog_and_disk_are_checked() {
        let error = |text: String| parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        let e = error(GOOD.replace("\"crc32c-generic\"", "\"../x\""));
        assert!(e.contains("not a module name"), "{e}");
        let e = error(GOOD.replace("device = \"/dev/vda\"", "device = \"vda\""));
        assert!(e.contains("/dev/"), "{e}");
        let e = error(GOOD.replace("size_mib = 64", "size_mib = 1"));
        assert!(e.contains("size_mib"), "{e}");
        let e = error(GOOD.replace("timeout = 30", "timeout = 30\nseconds = 1"));
        assert!(e.contains("seconds"), "{e}");
        // All three are optional.
        let plain = GOOD.split("[modules]").next().unwrap();
        let board = parse(Path::new("t.toml"), plain).unwrap();
        assert!(board.modules.load.is_empty() && board.watchdog.is_none() && board.disk.is_none());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = GOOD.replace("memory = ", "memroy = ");
        let error = parse(Path::new("/b/test.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("/b/test.toml:10: "), "{error}");
        assert!(error.contains("memroy"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        let text = GOOD.replace("[kernel]", "colour = 1\n[kernel]");
        let error = parse(Path::new("/b/t.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(error.contains("colour") && !error.contains('\n'), "{error}");
    }

    #[test]
    fn kernel_needs_one_source() {
        let text = GOOD.replace("package = ", "path = \"/k\"\npackage = ");
        let error = parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(error.contains("exactly one"), "{error}");
        let board = parse(
            Path::new("/b/t.toml"),
            &GOOD.replace("package = \"linux-image-arm64\"", "path = \"k/Image\""),
        )
        .unwrap();
        assert_eq!(board.kernel, KernelSource::Path("/b/k/Image".into()));
    }

    #[test]
    fn bad_target_is_an_error() {
        let text = GOOD.replace("aarch64-unknown-linux-musl", "mips-unknown-linux-musl");
        let error = parse(Path::new("t.toml"), &text).unwrap_err();
        assert!(format!("{error:#}").contains("mips"), "{error:#}");
    }

    #[test]
    fn the_boards_in_the_repository_parse() {
        let names = names();
        for name in ["qemu-x86_64", "qemu-aarch64", "qemu-armv7", "rpi3b", "rpi4"] {
            assert!(names.iter().any(|n| n == name), "{names:?}");
        }
        for name in &names {
            let board = load(name).unwrap();
            assert_eq!(&board.name, name);
            if name.starts_with("qemu-") {
                assert!(board.qemu.is_some(), "{name} has no [qemu]");
            }
        }
        let armv7 = load("qemu-armv7").unwrap();
        assert_eq!(armv7.target.name, "armv7");
        assert_eq!(armv7.target.std, Std::BuildStd);
        let rpi4 = load("rpi4").unwrap();
        assert_eq!(rpi4.target.arch, "aarch64");
        assert!(rpi4.qemu.is_none());
        assert_eq!(
            rpi4.dtb,
            Some(DtbSource::Package("broadcom/bcm2711-rpi-4-b.dtb".into()))
        );
        assert_eq!(rpi4.sdcard.unwrap().firmware, Firmware::RaspberryPi);
        let qemu = load("rpi3b").unwrap().qemu.unwrap();
        assert_eq!((qemu.machine.as_str(), qemu.serial), ("raspi3b", 1));
        assert!(qemu.halts);
    }

    #[test]
    fn device_trees_serial_ports_and_sd_cards() {
        let pi = GOOD.replace(
            "cmdline = ",
            "dtb = \"broadcom/bcm2837-rpi-3-b.dtb\"\ncmdline = ",
        ) + "[sdcard]\nfirmware = \"raspberrypi\"\nconfig = [\"arm_64bit=1\"]\n";
        let board = parse(
            Path::new("/b/pi.toml"),
            &pi.replace("memory = ", "serial = 1\nmemory = "),
        )
        .unwrap();
        assert_eq!(
            board.dtb,
            Some(DtbSource::Package("broadcom/bcm2837-rpi-3-b.dtb".into()))
        );
        assert_eq!(board.qemu.unwrap().serial, 1);
        assert_eq!(board.sdcard.unwrap().config, ["arm_64bit=1"]);
        // With a kernel by path, the device tree is a path too.
        let by_path = pi.replace("package = \"linux-image-arm64\"", "path = \"k/Image\"");
        let board = parse(Path::new("/b/pi.toml"), &by_path).unwrap();
        assert_eq!(
            board.dtb,
            Some(DtbSource::Path("/b/broadcom/bcm2837-rpi-3-b.dtb".into()))
        );
        for (bad, expected) in [
            ("dtb = \"../../etc/x.dtb\"", "inside the package"),
            ("dtb = \"/etc/x.dtb\"", "inside the package"),
        ] {
            let text = pi.replace("dtb = \"broadcom/bcm2837-rpi-3-b.dtb\"", bad);
            let error = parse(Path::new("t.toml"), &text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        let text = pi.replace("dtb = \"broadcom/bcm2837-rpi-3-b.dtb\"\n", "");
        let error = parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(error.contains("[sdcard] needs"), "{error}");
        let text = pi.replace("\"raspberrypi\"", "\"u-boot\"");
        assert!(parse(Path::new("t.toml"), &text).is_err());
        let text = GOOD.replace("memory = ", "serial = 9\nmemory = ");
        let error = parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(error.contains("serial 9"), "{error}");
    }

    #[test]
    fn missing_board_lists_the_boards() {
        let error = load("nope").unwrap_err().to_string();
        assert!(error.contains("no board \"nope\""), "{error}");
        assert!(error.contains("qemu-x86_64"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }
}
