//! Host tooling for box, run as `cargo xtask COMMAND` (the cargo-xtask
//! pattern: an alias in .cargo/config.toml runs this workspace member).
//!
//! This file only dispatches; each command lives in its own module.

mod bench;
mod board;
mod build;
mod cli;
mod cpio;
mod debian;
mod disk;
mod elf;
mod fuzz;
mod guest;
mod host;
mod initramfs;
mod kernel;
mod modules;
mod qemu;
mod sdcard;
mod test;

use std::process::ExitCode;

/// A command's entry point, in the module of the same name.
type Run = fn(cli::Args) -> anyhow::Result<()>;

/// The commands, each with what runs it and its usage.
const COMMANDS: &[(&str, Run, &str)] = &[
    (
        "bench",
        bench::main,
        "[--runs N | --quick] [--engine-runs N] [--only engines|sizes] [--out PATH]\n    \
         box against the syscall floor and the peers installed (as root); writes xtask/bench/RESULTS.md\n    \
         --engine-runs: rounds under podman and ctr; --only: that section alone",
    ),
    (
        "build",
        build::main,
        "[--size [--no-oci]] [--board B | --target T]\n    static musl release binary of box (default: this machine's arch)\n    \
         --size: the size-tuned nightly build, sized against release, peers and its budget\n    \
         --no-oci: only the size-tuned build without the OCI runtime",
    ),
    (
        "fuzz",
        fuzz::main,
        "[TARGET…] [--time S]\n    run the cargo-fuzz targets of fuzz/, S seconds each (default 20; nightly)",
    ),
    (
        "initramfs",
        initramfs::main,
        "--board B [--test] [--size] [-o PATH]\n    \
         gzipped newc cpio with box as /init (--test: with the guest suite; --size: the size-tuned box)",
    ),
    (
        "qemu",
        qemu::main,
        "--board B [--test [--cases A,B] | --disk] [--size] [--kernel PATH] [--dtb PATH] [--kvm]\n    \
         [--timeout S] [--append ARGS]\n    \
         build, pack and boot under QEMU (--test: run the guest suite, or only the cases named;\n    \
         --size: the size-tuned box; --disk: boot through the board's disk root, built with the image)",
    ),
    (
        "sdcard",
        sdcard::main,
        "--board B DIR [--size] [--kernel PATH] [--dtb PATH]\n    \
         write the board's boot partition into DIR: kernel, device tree, initrd.img, cmdline.txt, config.txt",
    ),
    (
        "test",
        test::main,
        "[--host | --guest]\n    every test: host tests, the size budget, then the guest suite on every QEMU board\n    \
         with the release and the size-tuned box",
    ),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let Some(&(_, run, summary)) = COMMANDS.iter().find(|(name, ..)| *name == command) else {
        usage();
        return match command.as_str() {
            "help" | "--help" | "-h" => ExitCode::SUCCESS,
            "" => ExitCode::from(2),
            _ => {
                eprintln!("\nxtask: unknown command {command:?}");
                ExitCode::from(2)
            }
        };
    };
    let words: Vec<String> = args.collect();
    if words.iter().any(|w| w == "--help" || w == "-h") {
        println!("usage: cargo xtask {command} {summary}");
        return ExitCode::SUCCESS;
    }
    match run(cli::Args::new(&command, words)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<Reported>() => ExitCode::FAILURE,
        Err(error) => {
            // `{:#}` joins the context chain on one line.
            eprintln!("xtask {command}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// An error already told to the user: fail without another message.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed (see above)")
    }
}

impl std::error::Error for Reported {}

fn usage() {
    eprintln!("usage: cargo xtask COMMAND [OPTIONS]\n");
    for (name, _, summary) in COMMANDS {
        eprintln!("  {name} {summary}");
    }
    eprintln!("\nBoards are the files board/NAME.toml.");
}
