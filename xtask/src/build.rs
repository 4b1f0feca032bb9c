//! `cargo xtask build [--board B | --target T]`: the static musl release
//! binary of box, for the board's target or the given one (default: this
//! machine's architecture).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::board::{self, TARGETS, Target};
use crate::cli::Args;
use crate::host;

/// How box is built. Only release for now; a size-tuned nightly build
/// (`--size`: build-std with panic_immediate_abort, opt-level z) is to come
/// as a second variant.
#[derive(Debug, Clone, Copy)]
pub enum Profile {
    /// `cargo build --release`: the profile in the workspace Cargo.toml.
    Release,
}

pub fn main(mut args: Args) -> Result<()> {
    let board = args.value(&["--board", "-b"])?;
    let target = args.value(&["--target", "-t"])?;
    // The default; accepted so that habit does not fail.
    args.flag(&["--release"]);
    if args.flag(&["--size"]) {
        bail!("--size (a size-tuned nightly build) is not implemented yet");
    }
    args.finish()?;
    let target = match (board, target) {
        (Some(_), Some(_)) => bail!("give --board or --target, not both"),
        (Some(board), None) => board::load(&board)?.target,
        (None, Some(triple)) => Target::from_triple(&triple)?,
        (None, None) => host_target()?,
    };
    let binary = build(target, Profile::Release)?;
    let size = std::fs::metadata(&binary)?.len();
    println!(
        "{}: {size} bytes ({:.1} KiB)",
        host::shown(&binary),
        size as f64 / 1024.0
    );
    Ok(())
}

/// The musl target for this machine's architecture.
fn host_target() -> Result<Target> {
    let arch = std::env::consts::ARCH;
    match TARGETS.iter().find(|t| t.arch == arch) {
        Some(target) => Ok(*target),
        None => bail!("no musl target for this machine ({arch}): pass --target or --board"),
    }
}

/// Build box for `target` and return the path of the binary.
pub fn build(target: Target, profile: Profile) -> Result<PathBuf> {
    ensure_rust_target(target.triple)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(host::workspace()).args([
        "build",
        "--package",
        "box",
        "--target",
        target.triple,
    ]);
    match profile {
        Profile::Release => command.arg("--release"),
    };
    host::run(&mut command).context("building box")?;
    let binary = host::target_dir()
        .join(target.triple)
        .join("release")
        .join("box");
    if !binary.is_file() {
        bail!("cargo built no {}", binary.display());
    }
    Ok(binary)
}

/// The standard library for `triple` must be in the toolchain's sysroot:
/// `rustup target add` it when rustup is here, else say what would.
fn ensure_rust_target(triple: &str) -> Result<()> {
    let sysroot = host::output(
        Command::new("rustc")
            .current_dir(host::workspace())
            .args(["--print", "sysroot"]),
    )?;
    let library = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(triple);
    if library.is_dir() {
        return Ok(());
    }
    if !host::has_program("rustup") {
        bail!(
            "the Rust standard library for {triple} is missing and rustup is not here: \
             `rustup target add {triple}` would install it"
        );
    }
    crate::note!("the Rust target {triple} is missing: rustup target add {triple}");
    host::run(
        Command::new("rustup")
            .current_dir(host::workspace())
            .args(["target", "add", triple]),
    )
}
