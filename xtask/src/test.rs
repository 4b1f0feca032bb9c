//! `cargo xtask test [--host | --guest]`: every test of box. The host tests
//! (`cargo test --workspace -- --include-ignored`: unit tests, and
//! integration tests that run the real binary as root with a busybox rootfs,
//! marked `#[ignore = "needs root"]`; a test that says SKIPPED fails the
//! run); the size budgets (the size-tuned build of every target with the
//! OCI runtime, 324 KiB, and without it, 243 KiB; see build.rs); then the
//! guest suite on every board QEMU emulates (those of board/ with a `[qemu]`
//! section), once with the release build of box and once with the
//! size-tuned one. Installs what they need on a fresh machine first. Closes
//! with what the guest case `80-boot-cost` reported on each board, for
//! xtask/bench/RESULTS.md.
//!
//! Both builds go through the guest suite because both ship: release is what
//! `cargo xtask qemu` and `initramfs` make by default, size-tuned is what
//! the budget is about, and it differs in more than the optimizer (another
//! standard library build, panics that abort at once, no unwind tables, no
//! PIE, another linker line). On armv7 both are nightly build-std builds;
//! the release one links musl from Debian, like the size-tuned one.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

use crate::build::{self, Profile};
use crate::cli::Args;
use crate::{board, host, qemu};

/// The guest case whose report goes into the closing table.
const BOOT_COST: &str = "80-boot-cost";

pub fn main(mut args: Args) -> Result<()> {
    let host_only = args.flag(&["--host"]);
    let guest_only = args.flag(&["--guest"]);
    args.finish()?;
    let mut failed = Vec::new();

    if !guest_only {
        if !host::is_root() {
            crate::note!(
                "not root: the host tests that need namespaces and mounts will say SKIPPED, and fail the run"
            );
        }
        // The rootfs of the host tests is a static busybox; their small
        // C helpers are built with gcc -static.
        host::ensure_program("busybox", &["busybox-static"])?;
        if !static_busybox() {
            host::ensure_package("busybox-static")?;
        }
        host::ensure_program("gcc", &["gcc", "libc6-dev"])?;
        // box-oci under the engines (tests/oci_runtime.rs), and the tools
        // the tests compare box with or set up with.
        host::ensure_program("podman", &["podman", "conmon", "uidmap"])?;
        host::ensure_program("conmon", &["conmon"])?;
        host::ensure_program("newuidmap", &["uidmap"])?;
        host::ensure_program("containerd", &["containerd"])?;
        host::ensure_program("ip", &["iproute2"])?;
        let (passed, skipped) = host_tests()?;
        if !passed {
            failed.push("host tests".to_string());
        }
        if !skipped.is_empty() {
            eprintln!("xtask: test: {} host tests were skipped:", skipped.len());
            for line in &skipped {
                eprintln!("  {line}");
            }
            failed.push(format!("{} skipped host tests", skipped.len()));
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
        let boards = emulated_boards()?;
        let mut boot_costs = Vec::new();
        for profile in [Profile::Release, Profile::Size] {
            for board in &boards {
                match qemu::guest_suite(board, profile) {
                    Ok(reports) => {
                        for (_, text) in reports.iter().filter(|(case, _)| case == BOOT_COST) {
                            boot_costs.push(format!("{board}, box {}: {text}", profile.name()));
                        }
                    }
                    Err(e) => {
                        eprintln!("xtask: test: {board}, box {}: {e:#}", profile.name());
                        failed.push(format!("guest suite on {board} (box {})", profile.name()));
                    }
                }
            }
        }
        if !boot_costs.is_empty() {
            eprintln!("xtask: test: {BOOT_COST}, under QEMU's TCG emulation:");
            for line in &boot_costs {
                eprintln!("xtask: test:   {line}");
            }
        }
    }
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    eprintln!("xtask: test: all passed");
    Ok(())
}

/// `cargo test --workspace --no-fail-fast -- --include-ignored`: every
/// host test (all files, past a failing one), the
/// root-only ones too (they are `#[ignore = "needs root"]`, so that a plain
/// `cargo test` by a user passes without them instead of counting them as
/// passes). A test that cannot run here says `SKIPPED NAME: why` on its
/// stderr (tests/common); those lines are collected while the output is
/// passed through, and any of them fails `cargo xtask test`: a skip is never
/// a silent pass. Returns whether cargo test passed, and the skips.
fn host_tests() -> Result<(bool, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args([
            "test",
            "--workspace",
            "--no-fail-fast",
            "--",
            "--include-ignored",
        ])
        .current_dir(host::workspace())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut skipped = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let mut out = std::io::stderr();
        for line in BufReader::new(stderr).split(b'\n') {
            let line = line?;
            out.write_all(&line)?;
            out.write_all(b"\n")?;
            if line.starts_with(b"SKIPPED ") {
                skipped.push(String::from_utf8_lossy(&line).into_owned());
            }
        }
    }
    Ok((child.wait()?.success(), skipped))
}

/// The boards of board/ that QEMU emulates, in name order.
fn emulated_boards() -> Result<Vec<String>> {
    let mut boards = Vec::new();
    for name in board::names() {
        if board::load(&name)?.qemu.is_some() {
            boards.push(name);
        }
    }
    Ok(boards)
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
