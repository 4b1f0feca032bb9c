//! `cargo xtask bench [--runs N | --quick] [--engine-runs N] [--only SECTION] [--out PATH]`: what box costs,
//! as ratios to the floor (the bare syscall sequence, xtask/bench/floor.c)
//! and to the peer tools installed here (util-linux unshare and nsenter,
//! bwrap, crun, runc, tini), all timed in the same interleaved rounds so
//! that the ratios hold even when the machine's speed drifts. `box run` and
//! `box exec` are timed with the release build and, in rows of their own,
//! with the size-tuned one (what a board image built with `--size` carries).
//! Prints a markdown report and writes it to xtask/bench/RESULTS.md.
//!
//! A missing peer is a row saying so, never an error: the bench needs only
//! box, a C compiler and busybox-static. It needs root (namespaces,
//! mounts, cgroups).

mod cases;
mod chart;
mod engines;
mod measure;
mod report;
mod setup;
mod sizes;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};

use crate::cli::Args;
use crate::host;
use cases::{Case, Peers, Status};
use measure::{Launch, OtherLoad, Summary};
use report::{Measured, Row};
use setup::{ExecContainer, MountNamespace, Setup};

/// Rounds by default: under a minute on a 2-core machine with every peer
/// installed, and medians that move by a percent or two between runs.
const DEFAULT_ROUNDS: u64 = 500;
/// Rounds with --quick: a look, not a result.
const QUICK_ROUNDS: u64 = 20;
/// The share of CPU time going to other work above which the results are
/// flagged as skewed (2 cores: one busy core is 50 %).
const BUSY: f64 = 0.10;
/// Runs under ptrace for each row's peak RSS (the largest is reported).
const RSS_RUNS: usize = 3;
/// Untimed rounds first: page cache, dentries, the first cgroups.
const WARMUP_ROUNDS: u64 = 3;

/// The sections `--only` can run by themselves.
const SECTIONS: &[&str] = &["engines", "sizes"];

pub fn main(mut args: Args) -> Result<()> {
    let quick = args.flag(&["--quick"]);
    let rounds = args.number(&["--runs", "-n"])?;
    let engine_rounds = args.number(&["--engine-runs"])?;
    let only = args.value(&["--only"])?;
    let out = args.value(&["--out", "-o"])?;
    args.finish()?;
    let rounds = rounds.unwrap_or(if quick { QUICK_ROUNDS } else { DEFAULT_ROUNDS });
    let engine_rounds = engine_rounds.unwrap_or(if quick {
        engines::QUICK_ROUNDS
    } else {
        engines::DEFAULT_ROUNDS
    });
    if rounds == 0 || engine_rounds == 0 {
        bail!("--runs and --engine-runs must be at least 1");
    }
    if let Some(section) = only.as_deref().filter(|s| !SECTIONS.contains(s)) {
        bail!(
            "--only {section:?}: the sections that run by themselves are {}",
            SECTIONS.join(", ")
        );
    }
    let out = out
        .map(PathBuf::from)
        .unwrap_or_else(|| host::workspace().join("xtask/bench/RESULTS.md"));
    let mut command = "cargo xtask bench".to_string();
    if let Some(section) = &only {
        command.push_str(&format!(" --only {section}"));
    } else if quick {
        command.push_str(" --quick");
    } else if rounds != DEFAULT_ROUNDS {
        command.push_str(&format!(" --runs {rounds}"));
    }
    if !quick && engine_rounds != engines::DEFAULT_ROUNDS {
        command.push_str(&format!(" --engine-runs {engine_rounds}"));
    } else if quick && only.is_some() {
        command.push_str(" --quick");
    }

    let sizes_section = || {
        let sizes = sizes::measure(today(), commit(), command.clone());
        report::render_sizes(&sizes)
    };
    // One section alone: it replaces its namesake in the results as they
    // stand, and the chart is redrawn from them.
    let alone = |heading: &str, text: String| {
        println!("{text}");
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        write_results(&out, &replace_section(&old, heading, &text))
    };
    if only.as_deref() == Some("sizes") {
        return alone(report::SIZES_HEADING, sizes_section());
    }

    setup::check_host()?;
    let setup = Setup::prepare()?;
    let engine_meta = || engines::Meta {
        date: today(),
        commit: commit(),
        command: command.clone(),
    };
    if only.as_deref() == Some("engines") {
        let section = engines::run(&setup, engine_rounds, engine_meta())?;
        return alone(report::ENGINE_HEADING, report::render_engines(&section));
    }
    let peers = Peers::find();
    let bundles = cases::bundles(&setup)?;
    let crun_workaround = if peers.has_crun() {
        setup::crun_needs_namespace()
    } else {
        None
    };
    let crun_namespace = match crun_workaround {
        Some(_) => Some(MountNamespace::without_unified_cgroup()?),
        None => None,
    };
    let exec_container = ExecContainer::start(&setup.box_binary, &setup.rootfs);
    let exec_target = exec_container
        .as_ref()
        .map(|c| c.pid)
        .map_err(|e| format!("no container to enter: {e:#}"));
    let mut cases = cases::all(
        &setup,
        &peers,
        &bundles,
        crun_namespace.as_ref().map(MountNamespace::fd),
        &exec_target,
    );

    let mut runs = RunNumbers::default();
    for case in cases.iter_mut().filter(|c| c.is_ready()) {
        check(case, &mut runs);
    }
    let ready = cases.iter().filter(|c| c.is_ready()).count();
    crate::note!(
        "{WARMUP_ROUNDS} untimed and {rounds} timed rounds of {ready} commands{}",
        if crun_namespace.is_some() {
            " (crun in a mount namespace without /sys/fs/cgroup/unified: see the notes)"
        } else {
            ""
        }
    );
    let other_load = OtherLoad::start();
    let samples = interleave(&mut cases, rounds, &mut runs);
    let other_load = other_load.and_then(|l| l.share());
    if let Some(share) = other_load.filter(|&share| share > BUSY) {
        crate::note!(
            "warning: {:.0} % of the CPU time went to other work during the rounds: \
             these numbers are skewed; run again on an idle machine",
            share * 100.0
        );
    }
    crate::note!("{RSS_RUNS} more runs of each under ptrace, for its own peak RSS");
    let rows: Vec<Row> = cases
        .iter()
        .zip(samples)
        .map(|(case, samples)| Row {
            measured: measured(case, &samples, &mut runs),
            case,
        })
        .collect();
    drop(exec_container);
    drop(crun_namespace);
    let engine_section = engines::run(&setup, engine_rounds, engine_meta())?;

    let context = report::Context {
        date: today(),
        machine: machine(),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        os: os_name(),
        cgroups: cgroup_mode(),
        other_load,
        rounds,
        box_size: std::fs::metadata(&setup.box_binary)?.len(),
        box_size_tuned: setup
            .box_size_tuned
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|path| {
                std::fs::metadata(path)
                    .map(|m| m.len())
                    .map_err(|e| format!("{}: {e}", path.display()))
            }),
        box_commit: commit(),
        floor_compiler: setup.floor_compiler.clone(),
        versions: peers.versions(),
        crun_workaround,
        command: command.clone(),
    };
    let text = report::render(&context, &rows);
    println!("{text}");
    for verdict in report::verdicts(&rows) {
        eprintln!(
            "xtask: bench: {:<4} {} ({})",
            verdict.verdict, verdict.label, verdict.measured
        );
    }
    let engine_text = report::render_engines(&engine_section);
    println!("{engine_text}");
    let text = replace_section(&text, report::ENGINE_HEADING, &engine_text);
    let sizes_text = sizes_section();
    println!("{sizes_text}");
    let text = replace_section(&text, report::SIZES_HEADING, &sizes_text);
    // The boot figures come from the guest suite, not from here: kept.
    let kept = std::fs::read_to_string(&out)
        .ok()
        .and_then(|old| section(&old, BOOT_HEADING).map(str::to_owned));
    let text = match kept {
        Some(section) => format!("{}\n\n{section}\n", text.trim_end()),
        None => text,
    };
    write_results(&out, &text)
}

/// Write RESULTS.md and, beside it, its chart drawn from it.
fn write_results(out: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    crate::note!("wrote {}", host::shown(out));
    let svg = out.with_extension("svg");
    let (heading, panels) = chart::from_markdown(text);
    std::fs::write(&svg, chart::render(&heading, &panels))
        .with_context(|| format!("writing {}", svg.display()))?;
    crate::note!("wrote {}", host::shown(&svg));
    Ok(())
}

/// The heading of RESULTS.md's section of boot times under QEMU, which
/// `cargo xtask test` measures (guest case 80-boot-cost) and the bench
/// leaves as it is.
const BOOT_HEADING: &str = "## Boot under QEMU";

/// The section of a RESULTS.md under `heading`, to its end or the next
/// `## ` heading.
fn section<'t>(text: &'t str, heading: &str) -> Option<&'t str> {
    let (start, end) = section_range(text, heading)?;
    Some(text[start..end].trim_end())
}

/// Where the section under `heading` starts and ends in `text`.
fn section_range(text: &str, heading: &str) -> Option<(usize, usize)> {
    let start = if text.starts_with(heading) {
        0
    } else {
        text.find(&format!("\n{heading}"))? + 1
    };
    let rest = &text[start..];
    let end = rest[heading.len()..]
        .find("\n## ")
        .map_or(rest.len(), |at| at + heading.len() + 1);
    Some((start, start + end))
}

/// The sections after the main ones, in their order in RESULTS.md.
const LATER_SECTIONS: [&str; 3] = [report::ENGINE_HEADING, report::SIZES_HEADING, BOOT_HEADING];

/// `text` with the section under `heading` replaced by `new` (a whole
/// section, its heading included); where there is none, `new` goes before
/// the first section that follows it in `LATER_SECTIONS`, or at the end.
fn replace_section(text: &str, heading: &str, new: &str) -> String {
    let new = format!("{}\n", new.trim_end());
    if let Some((start, end)) = section_range(text, heading) {
        let rest = &text[end..];
        let gap = if rest.is_empty() { "" } else { "\n" };
        return format!("{}{new}{gap}{rest}", &text[..start]);
    }
    let after = LATER_SECTIONS
        .iter()
        .skip_while(|later| **later != heading)
        .skip(1)
        .find_map(|later| section_range(text, later));
    if let Some((start, _)) = after {
        return format!("{}{new}\n{}", &text[..start], &text[start..]);
    }
    let text = text.trim_end();
    if text.is_empty() {
        new
    } else {
        format!("{text}\n\n{new}")
    }
}

/// A number unique to each run, for names that must not collide (the
/// container IDs of crun and runc): this process's PID, then a counter.
#[derive(Default)]
struct RunNumbers {
    next: u64,
}

impl RunNumbers {
    fn next(&mut self) -> String {
        self.next += 1;
        format!("{}-{}", std::process::id(), self.next)
    }
}

fn launch<'a>(case: &Case, argv: &'a [String]) -> Launch<'a> {
    Launch {
        argv,
        mount_namespace: case.mount_namespace,
    }
}

/// Run a row once with its output captured: a row that fails is reported
/// with its stderr and left out of the timing.
fn check(case: &mut Case, runs: &mut RunNumbers) {
    let argv = case.argv_for(&runs.next());
    match measure::capture(&launch(case, &argv)) {
        Ok((true, _)) => {}
        Ok((false, why)) => fail(case, why),
        Err(error) => fail(case, format!("{error:#}")),
    }
}

fn fail(case: &mut Case, why: String) {
    crate::note!("{} ({:?}) failed, left out: {why}", case.tool, case.group);
    case.status = Status::Failed(why);
}

/// The timed rounds: each runs every ready command once, the starting
/// point moving one along per round. Returns the samples of each case.
fn interleave(cases: &mut [Case], rounds: u64, runs: &mut RunNumbers) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::new(); cases.len()];
    let order: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].is_ready()).collect();
    if order.is_empty() {
        return samples;
    }
    let started = std::time::Instant::now();
    let total = WARMUP_ROUNDS + rounds;
    for round in 0..total {
        for k in 0..order.len() {
            let i = order[(round as usize + k) % order.len()];
            if !cases[i].is_ready() {
                continue;
            }
            let argv = cases[i].argv_for(&runs.next());
            match measure::time_once(&launch(&cases[i], &argv)) {
                Ok(sample) if round >= WARMUP_ROUNDS => samples[i].push(sample),
                Ok(_) => {}
                Err(error) => {
                    // Run it again with its stderr, to say why.
                    let argv = cases[i].argv_for(&runs.next());
                    let why = match measure::capture(&launch(&cases[i], &argv)) {
                        Ok((_, why)) => format!("{error:#} (then: {why})"),
                        Err(again) => format!("{error:#} (then: {again:#})"),
                    };
                    fail(&mut cases[i], format!("in round {round}: {why}"));
                    samples[i].clear();
                }
            }
        }
        if (round + 1) % 100 == 0 || round + 1 == total {
            crate::note!(
                "round {}/{total} ({:.0} s)",
                round + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    samples
}

/// Summarize a row's samples and measure its own peak RSS.
fn measured(case: &Case, samples: &[Duration], runs: &mut RunNumbers) -> Option<Measured> {
    if !case.is_ready() {
        return None;
    }
    let summary = Summary::of(samples)?;
    // The largest of a few runs: box run's varied between 496 and
    // 636 KiB from one run of the bench to the next here.
    let own_rss_kib = (0..RSS_RUNS)
        .map(|_| measure::own_peak_rss(&launch(case, &case.argv_for(&runs.next()))))
        .try_fold(0, |largest, kib| kib.map(|kib| kib.max(largest)))
        .map_err(|e| {
            crate::note!("{} ({:?}): no own peak RSS: {e:#}", case.tool, case.group);
            format!("{e:#}")
        });
    Some(Measured {
        summary,
        own_rss_kib,
    })
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// CPU model, cores and memory.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| format!(", {:.1} GiB", kib as f64 / (1024.0 * 1024.0)))
        .unwrap_or_default();
    format!("{model}, {cores} cores{memory}")
}

fn os_name() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|n| n.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown distribution".into())
}

fn cgroup_mode() -> String {
    let root = std::path::Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        return "v2 (unified)".into();
    }
    match setup::crun_needs_namespace() {
        Some(controllers) => format!(
            "hybrid: v1 hierarchies, cgroup2 at /sys/fs/cgroup/unified offering only {controllers}"
        ),
        None => "v1 (legacy)".into(),
    }
}

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(host::workspace())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{BOOT_HEADING, civil_from_days, replace_section, section};
    use crate::bench::report::ENGINE_HEADING;

    #[test]
    fn the_boot_section_is_found_whole() {
        let text = "# r\n\n## Notes\n- n\n\n## Boot under QEMU (TCG)\n\n| a |\n\n## Later\nx\n";
        assert_eq!(
            section(text, BOOT_HEADING),
            Some("## Boot under QEMU (TCG)\n\n| a |")
        );
        let last = "# r\n\n## Boot under QEMU\n\n| a |\n";
        assert_eq!(
            section(last, BOOT_HEADING),
            Some("## Boot under QEMU\n\n| a |")
        );
        assert_eq!(section("# r\n## Notes\n", BOOT_HEADING), None);
    }

    #[test]
    fn the_engine_section_is_replaced_or_put_before_the_boot_section() {
        let new = "## Under an engine\n\nnew\n";
        let with_boot = "# r\n\n## Notes\n- n\n\n## Boot under QEMU (TCG)\n\nb\n";
        let inserted = replace_section(with_boot, ENGINE_HEADING, new);
        assert_eq!(
            inserted,
            "# r\n\n## Notes\n- n\n\n## Under an engine\n\nnew\n\n## Boot under QEMU (TCG)\n\nb\n"
        );
        let again = replace_section(&inserted, ENGINE_HEADING, "## Under an engine\n\nnewer");
        assert_eq!(again, inserted.replace("new\n", "newer\n"));
        let at_end = replace_section("# r\n\n## Notes\n- n\n", ENGINE_HEADING, new);
        assert_eq!(
            at_end,
            "# r\n\n## Notes\n- n\n\n## Under an engine\n\nnew\n"
        );
        let replaced_last = replace_section(&at_end, ENGINE_HEADING, "## Under an engine\n\nx\n");
        assert_eq!(
            replaced_last,
            "# r\n\n## Notes\n- n\n\n## Under an engine\n\nx\n"
        );
        assert_eq!(replace_section("", ENGINE_HEADING, new), new);
        // Before the sizes, whichever section was written first.
        let sizes = "# r\n\n## Binary sizes\n\ns\n";
        assert_eq!(
            replace_section(sizes, ENGINE_HEADING, new),
            "# r\n\n## Under an engine\n\nnew\n\n## Binary sizes\n\ns\n"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
