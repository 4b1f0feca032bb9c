//! `cargo xtask test [--host | --guest]`: every test of box. The host tests
//! (`cargo test --workspace`: unit tests, and integration tests that run the
//! real binary as root with a busybox rootfs), then the guest suite on both
//! QEMU boards. Installs what they need on a fresh machine first.

use std::process::Command;

use anyhow::{Result, bail};

use crate::cli::Args;
use crate::{host, qemu};

/// The boards whose guest suite `test` runs.
const BOARDS: &[&str] = &["qemu-x86_64", "qemu-aarch64"];

pub fn main(mut args: Args) -> Result<()> {
    let host_only = args.flag(&["--host"]);
    let guest_only = args.flag(&["--guest"]);
    args.finish()?;
    let mut failed = Vec::new();

    if !guest_only {
        if !host::is_root() {
            crate::note!(
                "not root: the host tests that need namespaces and mounts will say SKIPPED"
            );
        }
        // The rootfs of the host tests is a static busybox; their small
        // C helpers are built with gcc -static.
        host::ensure_program("busybox", &["busybox-static"])?;
        if !static_busybox() {
            host::ensure_package("busybox-static")?;
        }
        host::ensure_program("gcc", &["gcc", "libc6-dev"])?;
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["test", "--workspace"])
            .current_dir(host::workspace())
            .status()?;
        if !status.success() {
            failed.push("host tests".to_string());
        }
    }
    if !host_only {
        for board in BOARDS {
            let words = vec![
                "--board".to_string(),
                board.to_string(),
                "--test".to_string(),
            ];
            if let Err(e) = qemu::main(Args::new("qemu", words)) {
                eprintln!("xtask: test: {board}: {e:#}");
                failed.push(format!("guest suite on {board}"));
            }
        }
    }
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    eprintln!("xtask: test: all passed");
    Ok(())
}

/// Whether /bin/busybox is a static binary for this machine (Debian's
/// busybox package is not; busybox-static is).
fn static_busybox() -> bool {
    let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
    let Ok(target) = crate::board::Target::from_triple(&triple) else {
        return false;
    };
    std::fs::read("/bin/busybox")
        .is_ok_and(|bytes| crate::elf::check_static(&bytes, target).is_ok())
}
