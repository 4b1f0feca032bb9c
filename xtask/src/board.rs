//! Boards: `board/NAME.toml` says what box is built for (the target triple),
//! which kernel boots it and with which command line, how QEMU emulates it
//! (absent for real hardware), and which extra files go into its rootfs.
//!
//! Unknown keys are errors (a misspelt key would otherwise be ignored).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The targets box is built for, with the names other tools use for them.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-musl",
        arch: "x86_64",
        debian_arch: "amd64",
    },
    Target {
        triple: "aarch64-unknown-linux-musl",
        arch: "aarch64",
        debian_arch: "arm64",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Rust's name: `cargo build --target`.
    pub triple: &'static str,
    /// The CPU architecture: `qemu-system-ARCH`, `uname -m`.
    pub arch: &'static str,
    /// Debian's name, for `apt-get download PKG:ARCH`.
    pub debian_arch: &'static str,
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
    /// The board's kernel command line (xtask adds `panic=-1` under QEMU).
    pub cmdline: String,
    /// How to emulate it; `None` for real hardware.
    pub qemu: Option<Qemu>,
    /// Extra files for the rootfs, sources already resolved to paths.
    pub files: Vec<ExtraFile>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum KernelSource {
    /// A Debian package such as `linux-image-amd64`, resolved to the
    /// current ABI package (`linux-image-6.1.0-NN-amd64`) when fetched.
    Debian(String),
    /// A kernel image on this machine.
    Path(PathBuf),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qemu {
    /// `-M`, e.g. `pc` or `virt`.
    pub machine: String,
    /// `-cpu`; QEMU's default when absent.
    pub cpu: Option<String>,
    /// `-m`, e.g. `256M` (x86 needs at least 128M).
    pub memory: String,
    /// Anything else for QEMU, appended as is.
    #[serde(default)]
    pub args: Vec<String>,
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
    #[serde(default)]
    files: Vec<ExtraFileFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelFile {
    package: Option<String>,
    path: Option<PathBuf>,
    cmdline: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraFileFile {
    source: PathBuf,
    path: String,
    mode: Option<u32>,
}

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
    Ok(Board {
        name,
        target,
        kernel,
        cmdline: file.kernel.cmdline,
        qemu: file.qemu,
        files,
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
        for name in ["qemu-x86_64", "qemu-aarch64", "rpi4"] {
            assert!(names.iter().any(|n| n == name), "{names:?}");
        }
        for name in &names {
            let board = load(name).unwrap();
            assert_eq!(&board.name, name);
            if name.starts_with("qemu-") {
                assert!(board.qemu.is_some(), "{name} has no [qemu]");
            }
        }
        assert_eq!(load("rpi4").unwrap().target.arch, "aarch64");
        assert!(load("rpi4").unwrap().qemu.is_none());
    }

    #[test]
    fn missing_board_lists_the_boards() {
        let error = load("nope").unwrap_err().to_string();
        assert!(error.contains("no board \"nope\""), "{error}");
        assert!(error.contains("qemu-x86_64"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }
}
