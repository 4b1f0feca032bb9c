//! `cargo xtask test [--host | --guest]`: every test of box. The host tests
//! (`cargo test --workspace`: unit tests, and integration tests that run the
//! real binary as root with a busybox rootfs); the size budgets (the
//! size-tuned build of both targets with the OCI runtime, 320 KiB, and
//! without it, 256 KiB; see build.rs); then the guest suite on
//! both QEMU boards, once with the release build of box and once with the
//! size-tuned one. Installs what they need on a fresh machine first.
//!
//! Both builds go through the guest suite because both ship: release is what
//! `cargo xtask qemu` and `initramfs` make by default, size-tuned is what
//! the budget is about, and it differs in more than the optimizer (another
//! standard library build, panics that abort at once, no unwind tables, no
//! PIE, another linker line). The second round costs about 20 s on x86_64
//! and 35 s on aarch64 under TCG, plus under a minute for the two
//! size-tuned builds from scratch (they rebuild the standard library).

use std::process::Command;

use anyhow::{Result, bail};

use crate::build::{self, Profile};
use crate::cli::Args;
use crate::{board, host, qemu};

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
        // Also with --guest: the guest suite runs the size-tuned build,
        // whose budget is checked here once it is built.
        let report = build::size_report(board::TARGETS);
        match report {
            Ok(report) => {
                print!("{report}");
                if let Err(e) = build::check_budget(&report) {
                    eprintln!("xtask: test: {e:#}");
                    failed.push("size budget".to_string());
                }
            }
            Err(e) => {
                eprintln!("xtask: test: size-tuned build: {e:#}");
                failed.push("size-tuned build".to_string());
            }
        }
        for profile in [Profile::Release, Profile::Size] {
            for board in BOARDS {
                let mut words = vec![
                    "--board".to_string(),
                    board.to_string(),
                    "--test".to_string(),
                ];
                if profile == Profile::Size {
                    words.push("--size".to_string());
                }
                if let Err(e) = qemu::main(Args::new("qemu", words)) {
                    eprintln!("xtask: test: {board}, box {}: {e:#}", profile.name());
                    failed.push(format!("guest suite on {board} (box {})", profile.name()));
                }
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
