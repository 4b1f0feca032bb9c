//! The kernel to boot: `--kernel PATH`, else the board's `[kernel] path`,
//! else the board's Debian package, resolved to its current ABI package
//! (`linux-image-amd64` → `linux-image-6.1.0-NN-amd64`), fetched once and
//! kept unpacked in target/kernels/<arch>/<package>/. Delete that directory
//! to fetch a newer kernel.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::board::{Board, KernelSource, Target};
use crate::debian::{self, Apt};
use crate::host;

pub fn resolve(board: &Board, given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        if !path.is_file() {
            bail!("--kernel {}: no such file", path.display());
        }
        return Ok(path.to_path_buf());
    }
    match &board.kernel {
        KernelSource::Path(path) => {
            if !path.is_file() {
                bail!(
                    "kernel {} (from board {}) does not exist: fix the board or pass --kernel PATH",
                    path.display(),
                    board.name
                );
            }
            Ok(path.clone())
        }
        KernelSource::Debian(package) => debian_kernel(package, board.target),
    }
}

/// The kernel image from a Debian package, fetched on first use.
fn debian_kernel(package: &str, target: Target) -> Result<PathBuf> {
    let arch = target.debian_arch;
    let cache = host::target_dir().join("kernels").join(arch).join(package);
    if let Some(image) = find_image(&cache) {
        crate::note!("kernel: {} (cached)", host::shown(&image));
        return Ok(image);
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
    let image =
        find_image(&cache).with_context(|| format!("{abi_package} has no boot/vmlinuz-*"))?;
    crate::note!("kernel: {} (from {abi_package})", host::shown(&image));
    Ok(image)
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
