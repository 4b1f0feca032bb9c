//! The kernel to boot: `--kernel PATH`, else the board's `[kernel] path`,
//! else the board's Debian package, resolved to its current ABI package
//! (`linux-image-amd64` → `linux-image-6.1.0-NN-amd64`), fetched once and
//! kept unpacked in target/kernels/<arch>/<package>/. Delete that directory
//! to fetch a newer kernel. The board's device tree (`[kernel] dtb`) comes
//! from the same package, or from a path, or `--dtb PATH`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::board::{Board, DtbSource, KernelSource, Target};
use crate::debian::{self, Apt};
use crate::host;

/// What a boot loads besides the initramfs.
#[derive(Debug)]
pub struct Kernel {
    pub image: PathBuf,
    pub dtb: Option<PathBuf>,
}

/// The board's kernel and device tree, or those given on the command line.
pub fn resolve(board: &Board, kernel: Option<&Path>, dtb: Option<&Path>) -> Result<Kernel> {
    for (given, what) in [(kernel, "--kernel"), (dtb, "--dtb")] {
        if let Some(path) = given
            && !path.is_file()
        {
            bail!("{what} {}: no such file", path.display());
        }
    }
    let image = match (kernel, &board.kernel) {
        (Some(path), _) => path.to_path_buf(),
        (None, KernelSource::Path(path)) => {
            if !path.is_file() {
                bail!(
                    "kernel {} (from board {}) does not exist: fix the board or pass --kernel PATH",
                    path.display(),
                    board.name
                );
            }
            path.clone()
        }
        (None, KernelSource::Debian(package)) => {
            let tree = debian_tree(package, board.target)?;
            let image = find_image(&tree)
                .with_context(|| format!("{} has no boot/vmlinuz-*", host::shown(&tree)))?;
            crate::note!("kernel: {}", host::shown(&image));
            image
        }
    };
    let dtb = match (dtb, &board.dtb, &board.kernel) {
        (Some(path), _, _) => Some(path.to_path_buf()),
        (None, None, _) => None,
        (None, Some(DtbSource::Path(path)), _) => {
            if !path.is_file() {
                bail!(
                    "device tree {} (from board {}) does not exist: fix the board or pass --dtb PATH",
                    path.display(),
                    board.name
                );
            }
            Some(path.clone())
        }
        (None, Some(DtbSource::Package(name)), KernelSource::Debian(package)) => {
            let dtb = find_dtb(&debian_tree(package, board.target)?, name)?;
            crate::note!("device tree: {}", host::shown(&dtb));
            Some(dtb)
        }
        (None, Some(DtbSource::Package(_)), KernelSource::Path(_)) => {
            bail!(
                "board {}: a device tree from the kernel package needs [kernel] package",
                board.name
            )
        }
    };
    Ok(Kernel { image, dtb })
}

/// The unpacked Debian kernel package (boot/, lib/modules/), fetched on
/// first use.
pub fn debian_tree(package: &str, target: Target) -> Result<PathBuf> {
    let arch = target.debian_arch;
    let cache = host::target_dir().join("kernels").join(arch).join(package);
    if find_image(&cache).is_some() {
        return Ok(cache);
    }
    if !host::has_program("apt-get") {
        bail!(
            "no {arch} kernel: there is no apt-get here to fetch {package}; \
             pass --kernel PATH (a {} kernel image)",
            target.arch
        );
    }
    let apt = Apt::new(arch)?;
    let record = apt.show(package)?;
    // A metapackage depends on the package of the current ABI; an ABI
    // package is used as it is.
    let abi_package = debian::field(&record, "Depends")
        .map(debian::depends)
        .unwrap_or_default()
        .into_iter()
        .find(|name| name.starts_with("linux-image-"))
        .unwrap_or(package)
        .to_owned();
    apt.fetch_and_unpack(&abi_package, &cache)?;
    std::fs::write(cache.with_extension("package"), format!("{abi_package}\n"))?;
    crate::note!("kernel package: {abi_package} in {}", host::shown(&cache));
    Ok(cache)
}

/// The device tree `name` (say `broadcom/bcm2711-rpi-4-b.dtb`) of an
/// unpacked kernel package: Debian installs them in usr/lib/linux-image-<version>/.
fn find_dtb(tree: &Path, name: &Path) -> Result<PathBuf> {
    let lib = tree.join("usr/lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("linux-image-"))
        .map(|e| e.path().join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().with_context(|| {
        format!(
            "the kernel package in {} has no device tree {} under usr/lib/linux-image-*/",
            host::shown(tree),
            name.display()
        )
    })
}

/// `boot/vmlinuz-*` in an unpacked kernel package.
fn find_image(tree: &Path) -> Option<PathBuf> {
    let mut images: Vec<PathBuf> = std::fs::read_dir(tree.join("boot"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    images.sort();
    images.pop()
}
