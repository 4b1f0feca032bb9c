//! `cargo xtask fuzz [TARGET…] [--time S]`: run the cargo-fuzz targets of
//! fuzz/ (every one, or those named) for S seconds each. The default, 20 s
//! a target, is the short run CI makes; a longer one is `--time 3600`.
//!
//! cargo-fuzz needs nightly Rust (for `-Zsanitizer=address` and the
//! coverage instrumentation) and a C++ compiler (libfuzzer-sys builds
//! libFuzzer): both are installed when missing, or the command that would
//! is named. fuzz/ is its own workspace, so none of this touches box's
//! build or lockfile.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::Args;
use crate::host;

/// Seconds per target when `--time` is not given.
const DEFAULT_SECONDS: u64 = 20;

/// What one target's run gave.
struct Outcome {
    target: String,
    /// From libFuzzer's closing `Done N runs in S second(s)`.
    runs: Option<u64>,
    seconds: f64,
    corpus: usize,
    passed: bool,
}

pub fn main(mut args: Args) -> Result<()> {
    let fuzz_dir = host::workspace().join("fuzz");
    let all = targets(&fuzz_dir)?;
    let seconds = args.number(&["--time"])?.unwrap_or(DEFAULT_SECONDS);
    if seconds == 0 {
        // libFuzzer reads -max_total_time=0 as "no limit".
        bail!("--time: at least 1 second");
    }
    let named: Vec<String> = all
        .iter()
        .filter(|target| args.flag(&[target.as_str()]))
        .cloned()
        .collect();
    if let Err(error) = args.finish() {
        bail!("{error}; the fuzz targets are {}", all.join(", "));
    }

    crate::build::ensure_nightly()?;
    ensure_cargo_fuzz()?;
    host::ensure_program("c++", &["g++"])?;

    // Build first: a build error shows once, before any run. (cargo fuzz
    // build takes one target, or none for all of them.)
    let started = Instant::now();
    if named.is_empty() {
        host::run(cargo_fuzz().arg("build"))?;
    }
    for target in &named {
        host::run(cargo_fuzz().args(["build", target]))?;
    }
    crate::note!("fuzz: built in {:.0} s", started.elapsed().as_secs_f64());
    let chosen = if named.is_empty() { all } else { named };

    let mut outcomes = Vec::new();
    for target in &chosen {
        outcomes.push(run_target(&fuzz_dir, target, seconds)?);
    }

    eprintln!();
    for o in &outcomes {
        let runs = o.runs.map_or("? runs".to_string(), |n| {
            format!("{n} runs ({:.0}/s)", n as f64 / o.seconds.max(1.0))
        });
        crate::note!(
            "fuzz: {:<10} {} in {:.0} s, corpus {} inputs: {}",
            o.target,
            runs,
            o.seconds,
            o.corpus,
            if o.passed { "no failure" } else { "FAILED" }
        );
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.target.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "failed: {} (the input is in fuzz/artifacts/TARGET; the lines above say how to reproduce it)",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The fuzz targets: the `[[bin]]` entries of fuzz/Cargo.toml.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Manifest {
        bin: Vec<Bin>,
    }
    #[derive(Deserialize)]
    struct Bin {
        name: String,
    }
    let path = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", host::shown(&path)))?;
    let manifest: Manifest =
        toml::from_str(&text).with_context(|| format!("reading {}", host::shown(&path)))?;
    Ok(manifest.bin.into_iter().map(|bin| bin.name).collect())
}

/// `cargo +NIGHTLY fuzz` (the toolchain pinned in build.rs), from the
/// workspace root (where cargo-fuzz looks for fuzz/). Through rustup's
/// cargo, not `$CARGO`, which is the stable toolchain's own cargo and knows
/// no `+toolchain`; and without the toolchain `cargo xtask` was started
/// with in the environment.
fn cargo_fuzz() -> Command {
    let mut command = Command::new("cargo");
    command
        .arg(format!("+{}", crate::build::NIGHTLY))
        .arg("fuzz")
        .current_dir(host::workspace())
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC");
    command
}

/// Run `target` for `seconds`, its corpus in fuzz/corpus/TARGET and its
/// seeds, if any, from fuzz/seeds/TARGET. libFuzzer's progress lines
/// (`#N NEW …`) and the dictionary it recommends are left out; the rest, a
/// failure's report and the command reproducing it included, is shown.
fn run_target(fuzz_dir: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let corpus = fuzz_dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("creating {}", host::shown(&corpus)))?;
    let mut command = cargo_fuzz();
    command.args(["run", target]).arg(&corpus);
    let seeds = fuzz_dir.join("seeds").join(target);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .stderr(Stdio::piped());
    crate::note!("fuzz: {}", host::describe(&command));

    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {}", host::describe(&command)))?;
    let mut runs = None;
    let stderr = child.stderr.take().context("no stderr")?;
    for line in BufReader::new(stderr).split(b'\n') {
        let line = String::from_utf8_lossy(&line?).into_owned();
        if let Some(n) = done_runs(&line) {
            runs = Some(n);
        }
        let dictionary = line.starts_with('"') && line.contains("# Uses: ");
        if !line.starts_with('#') && !dictionary {
            eprintln!("{line}");
        }
    }
    let status = child.wait()?;
    Ok(Outcome {
        target: target.to_string(),
        runs,
        seconds: started.elapsed().as_secs_f64(),
        corpus: count_files(&corpus),
        passed: status.success(),
    })
}

/// N in libFuzzer's `Done N runs in S second(s)`.
fn done_runs(line: &str) -> Option<u64> {
    line.strip_prefix("Done ")?.split(' ').next()?.parse().ok()
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.flatten().count())
}

/// cargo-fuzz, built from crates.io with its own lockfile.
fn ensure_cargo_fuzz() -> Result<()> {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    crate::note!("fuzz: no cargo-fuzz: cargo install cargo-fuzz --locked");
    host::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_are_those_of_fuzz_cargo_toml() {
        let targets = targets(&host::workspace().join("fuzz")).unwrap();
        for target in [
            "spec",
            "mountinfo",
            "options",
            "dispatch",
            "json",
            "seccomp",
        ] {
            assert!(targets.iter().any(|t| t == target), "{target}: {targets:?}");
        }
    }

    #[test]
    fn libfuzzer_run_counts() {
        assert_eq!(done_runs("Done 267710 runs in 16 second(s)"), Some(267710));
        assert_eq!(done_runs("#267710\tDONE   cov: 647"), None);
    }
}
