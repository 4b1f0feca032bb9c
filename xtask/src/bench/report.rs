//! The results as markdown: the machine, one table per kind of work, the
//! targets with PASS or MISS, the exact command lines, and notes on what
//! each tool does beyond the floor.

use std::fmt::Write;
use std::time::Duration;

use super::cases::{BOX_EXEC_SIZE_TUNED, BOX_RUN_SIZE_TUNED, Case, Group, Status};
use super::engines::{EngineRow, Outcome, RssLog, Section};
use super::measure::Summary;
use super::sizes::Sizes;

/// What was measured for one row.
pub struct Measured {
    pub summary: Summary,
    /// VmHWM of the tool's own process at exit, KiB (or why unknown).
    pub own_rss_kib: Result<u64, String>,
}

pub struct Row<'a> {
    pub case: &'a Case,
    pub measured: Option<Measured>,
}

/// Everything about the run that is not a number of a row.
pub struct Context {
    pub date: String,
    pub machine: String,
    pub kernel: String,
    pub os: String,
    pub cgroups: String,
    /// The share of CPU time that went to other work during the rounds.
    pub other_load: Option<f64>,
    pub rounds: u64,
    pub box_size: u64,
    /// The size-tuned binary's size (or why there is none).
    pub box_size_tuned: Result<u64, String>,
    pub box_commit: String,
    pub floor_compiler: String,
    pub versions: Vec<(&'static str, String)>,
    /// Set when crun ran in a mount namespace of its own: the controllers
    /// cgroup2 offered.
    pub crun_workaround: Option<String>,
    pub command: String,
}

/// The targets for box, checked against the rows: start-up at the kernel's
/// cost (against `floor -H`, which does box's hardening with bare
/// syscalls), the hardening itself cheap (against the plain floor), limits
/// almost free, `box exec` at half of nsenter's cost, a small resident set;
/// and the peers box should stay well ahead of.
const TARGETS: &[Target] = &[
    Target {
        label: "box run ≤ 1.05× floor -H: box's own overhead gone",
        check: Check::AtMost {
            row: (Group::Run, "box run"),
            base: (Group::Run, "floor -H"),
            limit: 1.05,
        },
    },
    Target {
        label: "box run ≤ 1.05× floor -H (size-tuned build, as `--size` board images carry)",
        check: Check::AtMost {
            row: (Group::Run, BOX_RUN_SIZE_TUNED),
            base: (Group::Run, "floor -H"),
            limit: 1.05,
        },
    },
    Target {
        label: "box run ≤ 1.25× the floor: the hardening made cheap",
        check: Check::AtMost {
            row: (Group::Run, "box run"),
            base: (Group::Run, "floor"),
            limit: 1.25,
        },
    },
    Target {
        label: "box run ≤ 1.25× the floor (size-tuned build, as `--size` board images carry)",
        check: Check::AtMost {
            row: (Group::Run, BOX_RUN_SIZE_TUNED),
            base: (Group::Run, "floor"),
            limit: 1.25,
        },
    },
    Target {
        label: "box run with limits ≤ 1.10× box run without",
        check: Check::AtMost {
            row: (Group::Limits, "box run"),
            base: (Group::Run, "box run"),
            limit: 1.10,
        },
    },
    Target {
        label: "box run with limits ≤ 1.10× box run without (size-tuned build, as `--size` board \
                images carry)",
        check: Check::AtMost {
            row: (Group::Limits, BOX_RUN_SIZE_TUNED),
            base: (Group::Run, BOX_RUN_SIZE_TUNED),
            limit: 1.10,
        },
    },
    Target {
        label: "box exec ≤ 0.50× nsenter -a",
        check: Check::AtMost {
            row: (Group::Exec, "box exec"),
            base: (Group::Exec, "nsenter"),
            limit: 0.50,
        },
    },
    Target {
        label: "box exec ≤ 0.50× nsenter -a (size-tuned build, as `--size` board images carry)",
        check: Check::AtMost {
            row: (Group::Exec, BOX_EXEC_SIZE_TUNED),
            base: (Group::Exec, "nsenter"),
            limit: 0.50,
        },
    },
    Target {
        label: "box run's own peak RSS ≤ 512 KiB",
        check: Check::OwnRssAtMost {
            row: (Group::Run, "box run"),
            kib: 512,
        },
    },
    Target {
        label: "box run's own peak RSS ≤ 512 KiB (size-tuned build, as `--size` board images \
                carry)",
        check: Check::OwnRssAtMost {
            row: (Group::Run, BOX_RUN_SIZE_TUNED),
            kib: 512,
        },
    },
    Target {
        label: "box run ≥ 1.15× faster than unshare",
        check: Check::FasterBy {
            row: (Group::Run, "box run"),
            than: (Group::Run, "unshare"),
            factor: 1.15,
        },
    },
    Target {
        label: "box run ≥ 2.3× faster than bwrap",
        check: Check::FasterBy {
            row: (Group::Run, "box run"),
            than: (Group::Run, "bwrap"),
            factor: 2.3,
        },
    },
    Target {
        label: "box run ≥ 4× faster than crun",
        check: Check::FasterBy {
            row: (Group::Run, "box run"),
            than: (Group::Run, "crun"),
            factor: 4.0,
        },
    },
];

struct Target {
    label: &'static str,
    check: Check,
}

type RowId = (Group, &'static str);

enum Check {
    /// median(row) ≤ limit × median(base).
    AtMost { row: RowId, base: RowId, limit: f64 },
    /// median(than) ≥ factor × median(row).
    FasterBy {
        row: RowId,
        than: RowId,
        factor: f64,
    },
    /// The row's own peak RSS ≤ kib.
    OwnRssAtMost { row: RowId, kib: u64 },
}

/// One target's outcome: what was measured and PASS, MISS or n/a.
pub struct Verdict {
    pub label: &'static str,
    pub measured: String,
    pub verdict: &'static str,
}

pub fn verdicts(rows: &[Row]) -> Vec<Verdict> {
    let median = |(group, tool): RowId| {
        find(rows, group, tool)
            .and_then(|r| r.measured.as_ref())
            .map(|m| seconds(m.summary.median))
    };
    TARGETS
        .iter()
        .map(|target| {
            // Three decimals: a ratio shown as the limit itself must not
            // read as a MISS of it.
            let outcome = match target.check {
                Check::AtMost { row, base, limit } => median(row)
                    .zip(median(base))
                    .map(|(a, b)| (format!("{:.3}×", a / b), Some(a / b <= limit))),
                Check::FasterBy { row, than, factor } => median(row)
                    .zip(median(than))
                    .map(|(a, b)| (format!("{:.3}× faster", b / a), Some(b / a >= factor))),
                Check::OwnRssAtMost { row, kib } => find(rows, row.0, row.1)
                    .and_then(|r| r.measured.as_ref())
                    .and_then(|m| m.own_rss_kib.as_ref().ok())
                    .map(|&own| (kib_text(own), Some(own <= kib))),
            };
            let (measured, verdict) = match outcome {
                Some((text, Some(true))) => (text, "PASS"),
                Some((text, Some(false))) => (text, "MISS"),
                Some((text, None)) => (text, "–"),
                None => ("not measured".to_string(), "n/a"),
            };
            Verdict {
                label: target.label,
                measured,
                verdict,
            }
        })
        .collect()
}

fn find<'r, 'a>(rows: &'r [Row<'a>], group: Group, tool: &str) -> Option<&'r Row<'a>> {
    rows.iter()
        .find(|r| r.case.group == group && r.case.tool == tool)
}

pub fn render(context: &Context, rows: &[Row]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# box: start-up cost against the floor and its peers\n");
    let _ = writeln!(
        w,
        "Written by `{}` on {} — run it again to measure your own machine.\n",
        context.command, context.date
    );
    let _ = writeln!(w, "- Machine: {}", context.machine);
    let _ = writeln!(w, "- Kernel: {}; {}", context.kernel, context.os);
    let _ = writeln!(w, "- cgroups: {}", context.cgroups);
    if let Some(share) = context.other_load {
        let _ = writeln!(
            w,
            "- Other work during the rounds: {:.0} % of the machine's CPU time (processes other \
             than the bench's, kernel threads included; any makes every row slower and the p90s \
             longer)",
            share * 100.0
        );
    }
    let size_tuned = match &context.box_size_tuned {
        Ok(bytes) => format!("{bytes} bytes ({:.0} KiB)", *bytes as f64 / 1024.0),
        Err(why) => one_line(why),
    };
    let _ = writeln!(
        w,
        "- box: the static musl release binary (`cargo xtask build`), {} bytes ({:.0} KiB), \
         in the rows `box run` and `box exec`; the size-tuned one with box-oci (`cargo xtask \
         build --size`, the binary board images built with `--size` carry), {size_tuned}, in \
         the rows marked (size-tuned build); commit {}",
        context.box_size,
        context.box_size as f64 / 1024.0,
        context.box_commit
    );
    let _ = writeln!(
        w,
        "- floor: [`xtask/bench/floor.c`](floor.c), `{}`",
        context.floor_compiler
    );
    if !context.versions.is_empty() {
        let versions: Vec<String> = context
            .versions
            .iter()
            .map(|(name, version)| format!("{name}: {version}"))
            .collect();
        let _ = writeln!(w, "- Peers: {}", versions.join("; "));
    }
    let _ = writeln!(
        w,
        "- {} interleaved rounds: each round runs every command below once, starting \
         one further along the list each round, so drift of the machine touches all alike. \
         Times are wall-clock from spawn to reap.\n",
        context.rounds
    );

    for group in Group::ALL {
        let members: Vec<&Row> = rows.iter().filter(|r| r.case.group == group).collect();
        let Some(base) = members.first() else {
            continue;
        };
        let base_median = base.measured.as_ref().map(|m| seconds(m.summary.median));
        let _ = writeln!(w, "## {}\n", group.title());
        let _ = writeln!(
            w,
            "| tool | median | × {} | p10 – p90 | peak RSS |",
            base.case.tool
        );
        let _ = writeln!(w, "|---|--:|--:|---|--:|");
        for row in members {
            let tool = row.case.tool;
            match (&row.measured, &row.case.status) {
                (Some(m), _) => {
                    let ratio = base_median
                        .map(|b| format!("{:.2}", seconds(m.summary.median) / b))
                        .unwrap_or_else(|| "–".into());
                    let own = match &m.own_rss_kib {
                        Ok(kib) => kib_text(*kib),
                        Err(_) => "?".into(),
                    };
                    let _ = writeln!(
                        w,
                        "| {tool} | {} | {ratio} | {} – {} | {own} |",
                        ms(m.summary.median),
                        ms(m.summary.p10),
                        ms(m.summary.p90),
                    );
                }
                (None, Status::Unavailable(why)) => {
                    let _ = writeln!(w, "| {tool} | {why} | | | |");
                }
                (None, Status::Failed(why)) => {
                    let why = why.replace('|', "\\|");
                    let _ = writeln!(w, "| {tool} | failed: {why} | | | |");
                }
                (None, Status::Ready) => {
                    let _ = writeln!(w, "| {tool} | not measured | | | |");
                }
            }
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Targets\n");
    let _ = writeln!(w, "| target | measured | |");
    let _ = writeln!(w, "|---|--:|---|");
    for verdict in verdicts(rows) {
        let _ = writeln!(
            w,
            "| {} | {} | {} |",
            verdict.label, verdict.measured, verdict.verdict
        );
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Command lines\n");
    let _ = writeln!(
        w,
        "Paths are relative to the workspace; `{{n}}` is a number unique to each run.\n"
    );
    for group in Group::ALL {
        let _ = writeln!(w, "{}:\n", group.title());
        let _ = writeln!(w, "```");
        let shown: Vec<&Row> = rows
            .iter()
            .filter(|r| r.case.group == group && !r.case.argv.is_empty())
            .collect();
        let width = shown
            .iter()
            .map(|r| r.case.tool.chars().count())
            .max()
            .unwrap_or(0)
            .max(9);
        for row in shown {
            let _ = writeln!(w, "{:<width$} {}", row.case.tool, row.case.shown());
        }
        let _ = writeln!(w, "```\n");
    }

    let _ = writeln!(w, "## Notes\n");
    for note in notes(context) {
        let _ = writeln!(w, "- {note}");
    }
    out
}

/// How to read the numbers, and where a tool's work differs from the
/// floor's.
fn notes(context: &Context) -> Vec<String> {
    let mut notes = vec![
        "**Peak RSS** is the VmHWM of the tool's own process, read from /proc/PID/status \
         when it stops at exit under ptrace (PTRACE_O_TRACEEXIT), the largest of three extra \
         untimed runs: \
         for box run that is box itself, the parent, not the container; for runc, not its \
         `runc init` child. (wait4's ru_maxrss would not do: it starts from the spawner's \
         own peak, and came out as xtask's 7.5 MiB for every tool.)"
            .to_string(),
        "The floor does only the listed work. box run also mounts a read-only /sys and a \
         small /dev (tmpfs, devpts, shm, mqueue, six nodes), masks and write-protects parts \
         of /proc and /sys, sets the hostname, drops capabilities, sets no_new_privs, \
         installs its seccomp filter and closes descriptors, all of it counted in its time. \
         `floor -H` does all that too, with bare syscalls and a seccomp filter of the same \
         length: box run against it is what box itself adds."
            .to_string(),
        "Every row runs the rootfs's /bin/true, Debian's busybox-static, a static glibc \
         binary; its own start-up is part of each time (a static glibc program's start-up \
         costs far more than a musl one's on some virtual machines), and it makes the \
         ratios smaller than they would be with a cheaper command."
            .to_string(),
        "The rows marked (size-tuned build) run the same command lines as `box run` and \
         `box exec` with the size-tuned binary: the same source and commit, with box-oci, \
         optimized for size on the pinned nightly (`panic=immediate-abort`, not PIE), \
         copied from target/size/TRIPLE/size/box-oci to target/bench/size-tuned/box (box \
         picks its program by its name: as box-oci it is the OCI runtime): the binary `cargo xtask qemu`, `initramfs` and `sdcard` put on a board with `--size` \
         (without it, the release binary). box exec re-executes itself from a sealed copy of \
         its file before it enters the container (see src/sys/exe.rs), so its time follows \
         the binary's size."
            .to_string(),
        "unshare switches root with chroot(2) into the rootfs, not pivot_root: the host's \
         mount tree stays in its mount namespace. It mounts /proc after the chroot."
            .to_string(),
        "bwrap builds its root on a tmpfs and pivots twice; it brings lo up in a new network \
         namespace. unshare --net, crun and runc leave lo down; box run --net and the floor \
         with -n bring it up."
            .to_string(),
        "crun and runc run an OCI bundle (`target/bench/oci/*/config.json`): the namespaces, \
         the rootfs, /proc, a tmpfs /dev, `/bin/true`; in the limits row, \
         `linux.resources` memory (limit = swap = 64 MiB) and pids (64). Both create a \
         cgroup for every container, with or without limits."
            .to_string(),
        "The floor's limits row creates its cgroups, writes the limits, joins them (clone3 \
         with CLONE_INTO_CGROUP on cgroup2; the child writing its cgroup.procs on v1, the \
         only way there) and removes them, as box run does."
            .to_string(),
        "nsenter -a joins the container's namespaces (and root and working directory, through \
         the mount namespace) but not its cgroup, capabilities or seccomp filter; box exec \
         joins all of them."
            .to_string(),
        "tini -s and box-init --subreaper: neither is PID 1 here, so both register as the \
         child subreaper instead."
            .to_string(),
    ];
    if let Some(controllers) = &context.crun_workaround {
        notes.push(format!(
            "**crun on this hybrid cgroup host**: crun refuses to run when cgroup2 is mounted \
             at /sys/fs/cgroup/unified and its cgroup.controllers lists any controller (here: \
             `{controllers}`), with \"cgroups in hybrid mode not supported, drop all \
             controllers from cgroupv2\". The bench runs crun with its mount namespace set \
             (setns between fork and exec) to a copy of the host's where \
             /sys/fs/cgroup/unified is unmounted, so crun sees a plain cgroup v1 host. That \
             also makes crun's spawn a fork+exec where the others get posix_spawn (a few tens \
             of µs, within crun's noise)."
        ));
    }
    notes
}

/// The heading of the section the engines' rows are in.
pub const ENGINE_HEADING: &str = "## Under an engine";

/// The section "Under an engine" as markdown: what ran, a table per
/// engine (base: runc under it), the command lines and the notes.
pub fn render_engines(section: &Section) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "{ENGINE_HEADING}
"
    );
    let loaded = section.load_before.is_some_and(|share| share > super::BUSY);
    let _ = writeln!(
        w,
        "Written by `{}` at commit {} on {}{}.\n",
        section.command,
        section.commit,
        section.date,
        if loaded { ", on a loaded machine" } else { "" }
    );
    let engines: Vec<String> = section
        .engines
        .iter()
        .map(|(group, engine)| match (group, engine) {
            (Group::Containerd, Ok(name)) => format!(
                "{name}, a daemon of the bench's own (its own config with the CRI plugin off, \
                 socket, root and state in a temporary directory), `ctr run --rm` with the \
                 runc v2 shim"
            ),
            (_, Ok(name)) => format!(
                "{name}, its own --root, --runroot and --tmpdir in a temporary directory, \
                 the cgroupfs manager, no network"
            ),
            (group, Err(why)) => format!("{}: not run: {why}", group.title()),
        })
        .collect();
    let _ = writeln!(w, "- Engines: {}", engines.join("; "));
    let mut runtimes = vec![format!(
        "box-oci: the release box ({} bytes, {:.0} KiB) called through a symlink named box-oci",
        section.box_size,
        section.box_size as f64 / 1024.0
    )];
    runtimes.extend(
        section
            .versions
            .iter()
            .map(|(name, version)| format!("{name}: {version}")),
    );
    let _ = writeln!(w, "- Runtimes: {}", runtimes.join("; "));
    let _ = writeln!(
        w,
        "- {} interleaved rounds after {} untimed ones: each round runs every row below once, \
         starting one further along each round. Times are the engine command's wall-clock time \
         from spawn to reap: the container created, started, /bin/true run, the exit \
         collected, the container removed, and the engine's own work around it.",
        section.rounds,
        super::WARMUP_ROUNDS
    );
    if let Some(share) = section.load_before {
        let during = section
            .other_load
            .map(|during| {
                format!(
                    " ({:.0} % during the rounds, where the engines' daemons, shims and conmon \
                     count as other work: they are not the bench's children)",
                    during * 100.0
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            w,
            "- Other work in the {} s before the rounds: {:.0} % of the machine's CPU \
             time{during}{}",
            super::engines::LOAD_SAMPLE.as_secs(),
            share * 100.0,
            if loaded {
                ": **taken on a loaded machine** (2 cores shared with other work): every time \
                 is longer and every p90 wider than on an idle one; the ratios, from \
                 interleaved rounds, move less"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(w);

    for group in super::engines::ENGINES {
        let rows: Vec<&EngineRow> = section.rows.iter().filter(|r| r.group == group).collect();
        let Some(base) = rows.first() else {
            continue;
        };
        let engine = section
            .engines
            .iter()
            .find(|(g, _)| *g == group)
            .and_then(|(_, e)| e.as_ref().ok())
            .cloned()
            .unwrap_or_else(|| group.title().to_string());
        let what = match group {
            Group::Containerd => "ctr run --rm",
            _ => "podman run --rm",
        };
        let _ = writeln!(
            w,
            "### Under {engine}: {what}, /bin/true ({} rounds, {}{})\n",
            section.rounds,
            section.date,
            if loaded { ", loaded machine" } else { "" }
        );
        let _ = writeln!(
            w,
            "| tool | median | × {} | p10 – p90 | peak RSS |",
            base.tool
        );
        let _ = writeln!(w, "|---|--:|--:|---|--:|");
        let base_median = match &base.outcome {
            Outcome::Measured { summary, .. } => Some(seconds(summary.median)),
            _ => None,
        };
        for row in rows {
            let tool = row.tool;
            match &row.outcome {
                Outcome::Measured { summary, rss } => {
                    let ratio = base_median
                        .map(|b| format!("{:.2}", seconds(summary.median) / b))
                        .unwrap_or_else(|| "–".into());
                    let rss = match rss {
                        Ok(log) => kib_text(log.peak_kib),
                        Err(_) => "?".into(),
                    };
                    let _ = writeln!(
                        w,
                        "| {tool} | {} | {ratio} | {} – {} | {rss} |",
                        ms(summary.median),
                        ms(summary.p10),
                        ms(summary.p90),
                    );
                }
                Outcome::Unavailable(why) => {
                    let _ = writeln!(w, "| {tool} | {} | | | |", one_line(why));
                }
                Outcome::Failed(why) => {
                    let _ = writeln!(w, "| {tool} | failed: {} | | | |", one_line(why));
                }
            }
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(
        w,
        "Command lines (`$DIR` is the bench's temporary directory, removed after it; `{{n}}` \
         a number unique to each run):\n"
    );
    let _ = writeln!(w, "```");
    for row in section.rows.iter().filter(|r| !r.shown.is_empty()) {
        let _ = writeln!(w, "{:<8} {}", row.tool, row.shown);
    }
    let _ = writeln!(w, "```\n");

    let _ = writeln!(w, "Notes:\n");
    for note in engine_notes(section) {
        let _ = writeln!(w, "- {note}");
    }
    out
}

/// How the engine rows' peak RSS was measured and what it covers.
fn engine_notes(section: &Section) -> Vec<String> {
    let logs: Vec<(&EngineRow, &RssLog)> = section
        .rows
        .iter()
        .filter_map(|row| match &row.outcome {
            Outcome::Measured { rss: Ok(log), .. } => Some((row, log)),
            _ => None,
        })
        .collect();
    let wrapper = logs.iter().map(|(_, log)| log.wrapper_kib).max();
    let mut notes = vec![format!(
        "**Peak RSS** here is the runtime's own: in {} more untimed runs of each row the \
         engine ran [`xtask/bench/rss.c`](rss.c) in the runtime's place, a static C \
         wrapper that runs the real runtime as its child with the same arguments and logs \
         getrusage(RUSAGE_CHILDREN)'s ru_maxrss once it ends; the figure is the largest over \
         every invocation (the engines' create, start, state, kill, delete …). It covers the \
         runtime's process and the helpers it waits for itself, not the container's process, \
         which outlives the runtime and is collected by the engine (the shim, conmon). Each \
         figure starts from the wrapper's own peak, as the child is a copy of it until its \
         exec{}.",
        super::engines::RSS_RUNS,
        wrapper
            .map(|kib| format!(" ({kib} KiB here)"))
            .unwrap_or_default()
    )];
    let peaks: Vec<String> = logs
        .iter()
        .map(|(row, log)| {
            format!(
                "{} under {}: `{}` of {} ({})",
                row.tool,
                row.group.title(),
                log.peak_command,
                log.commands.join(", "),
                log.invocations
            )
        })
        .collect();
    if !peaks.is_empty() {
        notes.push(format!(
            "The invocation with the largest peak, of the subcommands the engine called (and \
             how many calls in all): {}.",
            peaks.join("; ")
        ));
    }
    notes.push(
        "runc's figure is `runc` itself and the first two stages of `runc init` (the \
         C code that runs before Go's runtime, re-executing runc, which `runc create` waits \
         for); the last stage, which runs runc's Go init code in the container and then \
         executes the container's command, becomes the container's process and is not \
         counted (its peak goes to the shim or conmon, which collect it). box-oci and crun \
         likewise: the process that becomes the container is not counted."
            .to_string(),
    );
    let crun_failed = section
        .rows
        .iter()
        .any(|r| r.tool == "crun" && matches!(r.outcome, Outcome::Failed(_)));
    if crun_failed {
        notes.push(
            "crun fails under both engines on a hybrid cgroup host whose cgroup2 mount at \
             /sys/fs/cgroup/unified offers any controller (\"cgroups in hybrid mode not \
             supported\"). The bench's other sections run crun in a mount namespace without \
             that mount; here the engine starts crun, so it runs as the engine gives it."
                .to_string(),
        );
    }
    notes
}

/// The heading of the section of binary sizes.
pub const SIZES_HEADING: &str = "## Binary sizes";

/// The section "Binary sizes": a row per build, a column per target.
pub fn render_sizes(sizes: &Sizes) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{SIZES_HEADING}\n");
    let _ = writeln!(
        w,
        "Written by `{}` at commit {} on {}: box for every target, static and stripped, \
         built as `cargo xtask build --size` builds it (the release build on the stable \
         toolchain, armv7's with the standard library rebuilt on the pinned nightly; the \
         size-tuned builds on that nightly, optimized for size). The budgets are \
         `SIZE_BUDGET_OCI` and `SIZE_BUDGET` in xtask/src/build.rs.\n",
        sizes.command, sizes.commit, sizes.date
    );
    let _ = writeln!(w, "| build | {} |", sizes.targets.join(" | "));
    let _ = writeln!(w, "|---|{}", "--:|".repeat(sizes.targets.len()));
    for build in &sizes.builds {
        let mut label = build.label.to_string();
        if let Some(budget) = build.budget {
            label.push_str(&format!("; budget {} KiB", budget / 1024));
        }
        let cells: Vec<String> = build
            .bytes
            .iter()
            .map(|bytes| match bytes {
                Ok(bytes) => {
                    let over = build.budget.is_some_and(|budget| *bytes > budget);
                    format!(
                        "{:.1} KiB{}",
                        *bytes as f64 / 1024.0,
                        if over { " (over)" } else { "" }
                    )
                }
                Err(why) => {
                    let why = one_line(why);
                    let short: String = why.chars().take(120).collect();
                    let more = if short.len() < why.len() { " …" } else { "" };
                    format!("failed: {short}{more}")
                }
            })
            .collect();
        let _ = writeln!(w, "| {label} | {} |", cells.join(" | "));
    }
    out
}

/// A reason on one line, fit for a table cell.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn kib_text(kib: u64) -> String {
    if kib >= 10 * 1024 {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    } else {
        format!("{kib} KiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sizes_table_has_a_column_per_target() {
        let sizes = Sizes {
            date: "2026-12-02".into(),
            commit: "abc".into(),
            command: "cargo xtask bench --only sizes".into(),
            targets: vec!["x86_64", "aarch64", "armv7"],
            builds: vec![
                super::super::sizes::Build {
                    label: "release",
                    budget: None,
                    bytes: vec![Ok(1_077_760), Ok(924_672), Err("no\nnightly | here".into())],
                },
                super::super::sizes::Build {
                    label: "size",
                    budget: Some(467 * 1024),
                    bytes: vec![Ok(475_443), Ok(464_896), Ok(356_454)],
                },
            ],
        };
        let text = render_sizes(&sizes);
        assert!(text.starts_with(SIZES_HEADING), "{text}");
        assert!(text.contains("| build | x86_64 | aarch64 | armv7 |\n|---|--:|--:|--:|\n"));
        assert!(
            text.contains("| release | 1052.5 KiB | 903.0 KiB | failed: no nightly \\| here |"),
            "{text}"
        );
        assert!(
            text.contains("| size; budget 467 KiB | 464.3 KiB | 454.0 KiB | 348.1 KiB |"),
            "{text}"
        );
        let over = Sizes {
            builds: vec![super::super::sizes::Build {
                label: "size",
                budget: Some(1024),
                bytes: vec![Ok(2048)],
            }],
            targets: vec!["x86_64"],
            ..sizes
        };
        assert!(render_sizes(&over).contains("| 2.0 KiB (over) |"));
    }

    fn case(group: Group, tool: &'static str) -> Case {
        Case {
            group,
            tool,
            argv: vec![format!("/bin/{}", tool.replace(' ', "-"))],
            mount_namespace: None,
            status: Status::Ready,
        }
    }

    fn measured(median_us: u64, rss_kib: u64) -> Option<Measured> {
        let us = Duration::from_micros;
        Some(Measured {
            summary: Summary {
                median: us(median_us),
                p10: us(median_us * 9 / 10),
                p90: us(median_us * 2),
            },
            own_rss_kib: Ok(rss_kib),
        })
    }

    #[test]
    fn the_size_tuned_build_has_its_rows_and_targets() {
        let cases = [
            (case(Group::Run, "floor"), 1000, 44),
            (case(Group::Run, "floor -H"), 1300, 48),
            (case(Group::Run, "box run"), 1700, 724),
            (case(Group::Run, BOX_RUN_SIZE_TUNED), 1350, 388),
            (case(Group::Exec, "nsenter"), 3000, 2344),
            (case(Group::Exec, "box exec"), 2900, 688),
            (case(Group::Exec, BOX_EXEC_SIZE_TUNED), 1400, 380),
        ];
        let rows: Vec<Row> = cases
            .iter()
            .map(|(case, median_us, kib)| Row {
                case,
                measured: measured(*median_us, *kib),
            })
            .collect();
        let verdicts = verdicts(&rows);
        let verdict = |label: &str| {
            let v = verdicts.iter().find(|v| v.label == label).unwrap();
            (v.measured.as_str(), v.verdict)
        };
        let tuned = " (size-tuned build, as `--size` board images carry)";
        assert_eq!(
            verdict("box run's own peak RSS ≤ 512 KiB"),
            ("724 KiB", "MISS")
        );
        assert_eq!(
            verdict(&format!("box run's own peak RSS ≤ 512 KiB{tuned}")),
            ("388 KiB", "PASS")
        );
        assert_eq!(
            verdict(&format!("box run ≤ 1.05× floor -H{tuned}")),
            ("1.038×", "PASS")
        );
        assert_eq!(
            verdict(&format!("box run ≤ 1.25× the floor{tuned}")),
            ("1.350×", "MISS")
        );
        assert_eq!(
            verdict(&format!("box exec ≤ 0.50× nsenter -a{tuned}")),
            ("0.467×", "PASS")
        );
        assert_eq!(
            verdict(&format!(
                "box run with limits ≤ 1.10× box run without{tuned}"
            )),
            ("not measured", "n/a")
        );
        // Each right after its release build's.
        let labels: Vec<&str> = verdicts.iter().map(|v| v.label).collect();
        let at = |label: &str| labels.iter().position(|l| *l == label).unwrap();
        assert_eq!(
            at(&format!("box exec ≤ 0.50× nsenter -a{tuned}")),
            at("box exec ≤ 0.50× nsenter -a") + 1
        );

        let context = Context {
            date: "2026-12-03".into(),
            machine: "m".into(),
            kernel: "k".into(),
            os: "os".into(),
            cgroups: "v2".into(),
            other_load: None,
            rounds: 20,
            box_size: 905_688,
            box_size_tuned: Ok(384_512),
            box_commit: "abc".into(),
            floor_compiler: "cc".into(),
            versions: Vec::new(),
            crun_workaround: None,
            command: "cargo xtask bench --quick".into(),
        };
        let text = render(&context, &rows);
        assert!(
            text.contains(
                "- box: the static musl release binary (`cargo xtask build`), 905688 bytes \
                 (884 KiB), in the rows `box run` and `box exec`; the size-tuned one with box-oci \
                 (`cargo xtask build --size`, the binary board images built with `--size` \
                 carry), 384512 bytes (376 KiB), in the rows marked (size-tuned build); commit \
                 abc\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| box run (size-tuned build) | 1.35 ms | 1.35 | 1.21 ms – 2.70 ms | 388 KiB |"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| box exec (size-tuned build) | 1.40 ms | 0.47 | 1.26 ms – 2.80 ms | 380 KiB |"
            ),
            "{text}"
        );
        // The command lines line up after the longest name.
        assert!(
            text.contains("\nfloor                      /bin/floor\n"),
            "{text}"
        );
        assert!(
            text.contains("\nbox run (size-tuned build) /bin/box-run-(size-tuned-build)\n"),
            "{text}"
        );
        assert!(
            text.contains("\nnsenter                     /bin/nsenter\n"),
            "{text}"
        );
        // The chart read back from it has the rows, box's highlighted.
        let (_, panels) = super::super::chart::from_markdown(&text);
        let tools: Vec<&str> = panels[0].bars.iter().map(|b| b.tool.as_str()).collect();
        assert_eq!(tools, ["floor", "floor -H", "box run", BOX_RUN_SIZE_TUNED]);
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(kib_text(900), "900 KiB");
        assert_eq!(kib_text(20 * 1024), "20.0 MiB");
        assert_eq!(ms(Duration::from_micros(1520)), "1.52 ms");
    }
}
