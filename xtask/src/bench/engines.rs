//! The report's section "Under an engine": box-oci, runc and crun as the
//! OCI runtime of containerd (`ctr run --rm`, under a daemon of the
//! bench's own) and of podman (`podman run --rm`), each running the
//! busybox rootfs's /bin/true. Timed: the engine's whole command, spawn to
//! reap, in interleaved rounds (the rows' order moves one along each
//! round). Then, in a few untimed runs, the engine runs a wrapper
//! (xtask/bench/rss.c) in the runtime's place, which logs the peak RSS of
//! each runtime invocation (create, start, state, kill, delete …): the
//! runtime's own memory, not the container's.
//!
//! Everything lives in a temporary directory (the daemon's config, socket,
//! root and state; podman's storage, run and tmp directories; a copy of the
//! rootfs, which podman writes /etc files into), removed at the end with
//! the daemon stopped; so are the runtimes' default state directories under
//! /run if the bench made them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::cases::{Case, Group, Status};
use super::measure::{self, Launch, OtherLoad, Summary};
use super::setup::{self, Setup};
use super::{RunNumbers, check, interleave};
use crate::host;

/// Timed rounds by default: a round is one `run --rm` per engine and
/// runtime, 0.1 to 0.3 s each here, so the section takes well under a
/// minute; their medians moved by a few percent between runs.
pub const DEFAULT_ROUNDS: u64 = 30;
/// Rounds with --quick.
pub const QUICK_ROUNDS: u64 = 5;
/// Untimed runs of each row with the wrapper, for the runtime's peak RSS.
pub const RSS_RUNS: usize = 3;
/// The runtimes in table order; the first is each table's base.
const RUNTIMES: [&str; 3] = ["runc", "box-oci", "crun"];
/// The engines, in table order.
pub const ENGINES: [Group; 2] = [Group::Containerd, Group::Podman];
/// How long the machine's other work is watched before the rounds.
pub const LOAD_SAMPLE: Duration = Duration::from_secs(2);
/// How long the daemon gets to answer `ctr version`.
const DAEMON_START: Duration = Duration::from_secs(20);
/// The runtimes' default state directories (podman leaves the runtime's
/// --root at its default) and containerd 1.6's shim sockets: removed at
/// the end when the bench made them and they are empty.
const HOST_DIRS: [&str; 5] = [
    "/run/containerd/s",
    "/run/containerd",
    "/run/runc",
    "/run/crun",
    "/run/box-oci",
];

/// What the section reports.
pub struct Section {
    pub date: String,
    pub commit: String,
    pub command: String,
    pub rounds: u64,
    /// The share of CPU time that went to other work in the moments
    /// before the rounds (during them, the engines' daemons count as other
    /// work: they are not the bench's children).
    pub load_before: Option<f64>,
    /// The same during the rounds, the engines' daemons, shims and conmon
    /// included.
    pub other_load: Option<f64>,
    /// Each engine's name and version, or why it could not be run.
    pub engines: Vec<(Group, Result<String, String>)>,
    /// `--version`'s first line of each runtime found.
    pub versions: Vec<(&'static str, String)>,
    pub box_size: u64,
    pub rows: Vec<EngineRow>,
}

pub struct EngineRow {
    pub group: Group,
    pub tool: &'static str,
    /// The command line, the temporary directory shown as `$DIR`.
    pub shown: String,
    pub outcome: Outcome,
}

pub enum Outcome {
    Measured {
        summary: Summary,
        /// The runtime's peak RSS over its invocations, or why unknown.
        rss: Result<RssLog, String>,
    },
    Unavailable(String),
    Failed(String),
}

/// The facts of the section that are not measured.
pub struct Meta {
    pub date: String,
    pub commit: String,
    pub command: String,
}

/// Run the section: set up, time, measure, clean up.
pub fn run(setup: &Setup, rounds: u64, meta: Meta) -> Result<Section> {
    let work = WorkDir::create()?;
    let rootfs = setup::build_rootfs(&work.path.join("rootfs"))?;
    let bin = work.path.join("bin");
    fs::create_dir_all(&bin)?;
    // Engines call the runtime by its path; box picks box-oci by the name.
    let box_oci = bin.join("box-oci");
    std::os::unix::fs::symlink(&setup.box_binary, &box_oci)
        .with_context(|| format!("linking {}", box_oci.display()))?;
    let runtimes: Vec<(&'static str, Option<PathBuf>)> = RUNTIMES
        .iter()
        .map(|&name| {
            let path = match name {
                "box-oci" => Some(box_oci.clone()),
                _ => host::find_program(name),
            };
            (name, path)
        })
        .collect();
    let versions = runtimes
        .iter()
        .filter(|(name, _)| *name != "box-oci")
        .filter_map(|(name, path)| Some((*name, first_line_of(path.as_ref()?, "--version")?)))
        .collect();

    // The wrappers: work/rss/NAME (the name the runtime has, as engines
    // decide some things by it) and its log, work/rss/NAME.log.
    let compiler = setup::c_compiler()?;
    let source = host::workspace().join("xtask/bench/rss.c");
    let rss_dir = work.path.join("rss");
    fs::create_dir_all(&rss_dir)?;
    let wrappers: Vec<Result<PathBuf, String>> = runtimes
        .iter()
        .map(|(name, path)| {
            let path = path.as_ref().ok_or("not installed")?;
            let wrapper = rss_dir.join(name);
            compile_wrapper(compiler, &source, &wrapper, path, &log_of(&wrapper))
                .map_err(|e| format!("{e:#}"))?;
            Ok(wrapper)
        })
        .collect();

    let containerd = Containerd::start(&work.path.join("containerd"));
    let podman = Podman::find(&work.path.join("podman"));
    let engines = vec![
        (
            Group::Containerd,
            containerd
                .as_ref()
                .map(|c| format!("containerd {}", c.version))
                .map_err(|e| format!("{e:#}")),
        ),
        (
            Group::Podman,
            podman
                .as_ref()
                .map(|p| format!("podman {}", p.version))
                .map_err(|e| format!("{e:#}")),
        ),
    ];

    // The rows, each with its wrapper's command line (`None`: no wrapper).
    let mut cases = Vec::new();
    let mut rss_argvs: Vec<Option<(Vec<String>, PathBuf)>> = Vec::new();
    for group in ENGINES {
        let argv_with = |runtime: &Path| -> Result<Vec<String>, String> {
            match group {
                Group::Containerd => containerd
                    .as_ref()
                    .map(|c| c.argv(runtime, &rootfs))
                    .map_err(|e| format!("{e:#}")),
                _ => podman
                    .as_ref()
                    .map(|p| p.argv(runtime, &rootfs))
                    .map_err(|e| format!("{e:#}")),
            }
        };
        for ((tool, path), wrapper) in runtimes.iter().zip(&wrappers) {
            let (argv, status) = match path {
                None => (Vec::new(), Status::Unavailable("not installed".into())),
                Some(path) => match argv_with(path) {
                    Ok(argv) => (argv, Status::Ready),
                    Err(why) => (Vec::new(), Status::Unavailable(why)),
                },
            };
            cases.push(Case {
                group,
                tool,
                argv,
                mount_namespace: None,
                status,
            });
            rss_argvs.push(
                wrapper
                    .as_ref()
                    .ok()
                    .and_then(|w| Some((argv_with(w).ok()?, w.clone()))),
            );
        }
    }

    let mut runs = RunNumbers::default();
    for case in cases.iter_mut().filter(|c| c.is_ready()) {
        check(case, &mut runs);
    }
    let ready = cases.iter().filter(|c| c.is_ready()).count();
    crate::note!(
        "under the engines: {} untimed and {rounds} timed rounds of {ready} commands",
        super::WARMUP_ROUNDS
    );
    let load_before = OtherLoad::start().and_then(|load| {
        std::thread::sleep(LOAD_SAMPLE);
        load.share()
    });
    let other_load = OtherLoad::start();
    let samples = interleave(&mut cases, rounds, &mut runs);
    let other_load = other_load.and_then(|l| l.share());
    if ready > 0 {
        crate::note!("{RSS_RUNS} more runs of each with the wrapper, for the runtime's peak RSS");
    }
    let hidden = format!("{}", work.path.display());
    let rows = cases
        .iter()
        .zip(samples)
        .zip(&rss_argvs)
        .map(|((case, samples), rss_argv)| {
            let outcome = match (&case.status, Summary::of(&samples)) {
                (Status::Ready, Some(summary)) => Outcome::Measured {
                    summary,
                    rss: match rss_argv {
                        Some((argv, wrapper)) => runtime_peak(case, argv, wrapper, &mut runs),
                        None => Err("no wrapper (see above)".into()),
                    },
                },
                (Status::Ready, None) => Outcome::Failed("no samples".into()),
                (Status::Unavailable(why), _) => Outcome::Unavailable(why.clone()),
                (Status::Failed(why), _) => Outcome::Failed(why.replace(&hidden, "$DIR")),
            };
            EngineRow {
                group: case.group,
                tool: case.tool,
                shown: case.argv.join(" ").replace(&hidden, "$DIR"),
                outcome,
            }
        })
        .collect();
    // The daemon stops before its directory goes.
    drop(containerd);
    drop(work);
    Ok(Section {
        date: meta.date,
        commit: meta.commit,
        command: meta.command,
        rounds,
        load_before,
        other_load,
        engines,
        versions,
        box_size: fs::metadata(&setup.box_binary)?.len(),
        rows,
    })
}

/// The wrapper's log beside it.
fn log_of(wrapper: &Path) -> PathBuf {
    wrapper.with_extension("log")
}

/// Compile xtask/bench/rss.c for one runtime, statically (the same way as
/// the floor).
fn compile_wrapper(
    compiler: &str,
    source: &Path,
    out: &Path,
    runtime: &Path,
    log: &Path,
) -> Result<()> {
    host::output(
        Command::new(compiler)
            .args(["-O2", "-static", "-Wall", "-o"])
            .arg(out)
            .arg(format!("-DRUNTIME={}", c_string(runtime)))
            .arg(format!("-DLOG={}", c_string(log)))
            .arg(source),
    )?;
    Ok(())
}

/// A path as a C string literal.
fn c_string(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A few runs of a row with the wrapper, then its log read.
fn runtime_peak(
    case: &Case,
    argv: &[String],
    wrapper: &Path,
    runs: &mut RunNumbers,
) -> Result<RssLog, String> {
    let log = log_of(wrapper);
    let _ = fs::remove_file(&log);
    for _ in 0..RSS_RUNS {
        let argv: Vec<String> = argv
            .iter()
            .map(|w| w.replace("{n}", &runs.next()))
            .collect();
        let launch = Launch {
            argv: &argv,
            mount_namespace: None,
        };
        match measure::capture(&launch) {
            Ok((true, _)) => {}
            Ok((false, why)) => return Err(format!("with the wrapper: {why}")),
            Err(e) => return Err(format!("with the wrapper: {e:#}")),
        }
    }
    let text = fs::read_to_string(&log)
        .map_err(|e| format!("{}: {e} (the engine never ran the wrapper?)", log.display()))?;
    let parsed = parse_rss_log(&text);
    if parsed.is_err() {
        crate::note!("{} ({:?}): no peak RSS", case.tool, case.group);
    }
    parsed
}

/// What the wrapper logged over a row's runs.
#[derive(Debug, PartialEq, Eq)]
pub struct RssLog {
    /// The largest ru_maxrss of the runtime's invocations, KiB.
    pub peak_kib: u64,
    /// The subcommand of that invocation.
    pub peak_command: String,
    /// The wrapper's own peak (where each invocation's figure starts).
    pub wrapper_kib: u64,
    /// The subcommands seen, in the order of their first invocation.
    pub commands: Vec<String>,
    pub invocations: usize,
}

/// The OCI runtime subcommands, to find one among the global options.
const SUBCOMMANDS: &[&str] = &[
    "create",
    "start",
    "state",
    "kill",
    "delete",
    "run",
    "exec",
    "pause",
    "resume",
    "ps",
    "update",
    "features",
    "events",
    "checkpoint",
    "restore",
    "list",
    "spec",
    "--version",
    "version",
];

/// Parse the wrapper's lines: `CHILDREN SELF ARG…`.
pub fn parse_rss_log(text: &str) -> Result<RssLog, String> {
    let mut log = RssLog {
        peak_kib: 0,
        peak_command: String::new(),
        wrapper_kib: 0,
        commands: Vec::new(),
        invocations: 0,
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let mut number = || -> Result<u64, String> {
            words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("a line of the wrapper's log without its figures: {line:?}"))
        };
        let (children, own) = (number()?, number()?);
        let command = words
            .find(|w| SUBCOMMANDS.contains(w))
            .unwrap_or("?")
            .to_string();
        if children > log.peak_kib || log.invocations == 0 {
            log.peak_kib = log.peak_kib.max(children);
            log.peak_command = command.clone();
        }
        log.wrapper_kib = log.wrapper_kib.max(own);
        if !log.commands.contains(&command) {
            log.commands.push(command);
        }
        log.invocations += 1;
    }
    if log.invocations == 0 {
        return Err("the wrapper's log is empty".into());
    }
    Ok(log)
}

/// `program ARG`'s first line (stdout, else stderr).
fn first_line_of(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program).arg(arg).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    Some(text.lines().next()?.trim().to_string())
}

/// A private containerd: its own config (the CRI plugin and the
/// snapshotters that need other file systems off), socket, root and state
/// under `dir`; stopped when dropped.
struct Containerd {
    dir: PathBuf,
    daemon: Child,
    version: String,
}

impl Containerd {
    fn start(dir: &Path) -> Result<Containerd> {
        for program in ["containerd", "ctr", "containerd-shim-runc-v2"] {
            if !host::has_program(program) {
                bail!("{program} not installed (apt-get install containerd)");
            }
        }
        let version = first_line_of(Path::new("containerd"), "--version")
            .and_then(|line| line.split_whitespace().nth(2).map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let d = dir.display();
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
        );
        let config_path = dir.join("config.toml");
        fs::write(&config_path, config)?;
        let log_path = dir.join("daemon.log");
        let log = fs::File::create(&log_path)?;
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting containerd")?;
        let daemon = Containerd {
            dir: dir.to_path_buf(),
            daemon,
            version,
        };
        let started = Instant::now();
        loop {
            let answered = Command::new("ctr")
                .arg("--address")
                .arg(daemon.socket())
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if answered {
                return Ok(daemon);
            }
            if started.elapsed() > DAEMON_START {
                let text = fs::read_to_string(&log_path).unwrap_or_default();
                let last = text.lines().last().unwrap_or("").trim().to_string();
                bail!(
                    "containerd did not answer within {} s: {last}",
                    DAEMON_START.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    /// `ctr run --rm` of the rootfs's /bin/true with `runtime` as the
    /// shim's runc, its --root and the I/O fifos in the daemon's directory.
    fn argv(&self, runtime: &Path, rootfs: &Path) -> Vec<String> {
        let d = self.dir.display();
        vec![
            "ctr".into(),
            "--address".into(),
            self.socket().display().to_string(),
            "run".into(),
            "--rm".into(),
            "--runtime".into(),
            "io.containerd.runc.v2".into(),
            "--runc-binary".into(),
            runtime.display().to_string(),
            "--runc-root".into(),
            format!("{d}/runc"),
            "--fifo-dir".into(),
            format!("{d}/fifo"),
            // A switch: the rootfs is the first positional argument.
            "--rootfs".into(),
            rootfs.display().to_string(),
            "box-bench-{n}".into(),
            "/bin/true".into(),
        ]
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of our own child, not yet reaped.
        unsafe { libc::kill(self.daemon.id() as libc::pid_t, libc::SIGTERM) };
        let started = Instant::now();
        while !matches!(self.daemon.try_wait(), Ok(Some(_)) | Err(_)) {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = self.daemon.kill();
                let _ = self.daemon.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// podman, with its storage, run and tmp directories under `dir` (nothing
/// shared with other podman users of the machine).
struct Podman {
    dir: PathBuf,
    version: String,
}

impl Podman {
    fn find(dir: &Path) -> Result<Podman> {
        for program in ["podman", "conmon"] {
            if !host::has_program(program) {
                bail!("{program} not installed (apt-get install podman conmon)");
            }
        }
        let version = first_line_of(Path::new("podman"), "--version")
            .and_then(|line| line.split_whitespace().last().map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        Ok(Podman {
            dir: dir.to_path_buf(),
            version,
        })
    }

    /// `podman run --rm` of the rootfs's /bin/true with `runtime`: the
    /// cgroupfs manager and a file for events (no systemd needed), no
    /// network, and limits the container may set without CAP_SYS_RESOURCE
    /// (a host's nofile limit can be higher).
    fn argv(&self, runtime: &Path, rootfs: &Path) -> Vec<String> {
        let d = self.dir.display();
        vec![
            "podman".into(),
            format!("--root={d}/storage"),
            format!("--runroot={d}/run"),
            format!("--tmpdir={d}/tmp"),
            format!("--runtime={}", runtime.display()),
            "--cgroup-manager=cgroupfs".into(),
            "--events-backend=file".into(),
            "run".into(),
            "--rm".into(),
            "--network".into(),
            "none".into(),
            "--ulimit".into(),
            "nofile=1024:1024".into(),
            "--ulimit".into(),
            "nproc=1024:1024".into(),
            "--rootfs".into(),
            rootfs.display().to_string(),
            "/bin/true".into(),
        ]
    }
}

/// The cgroups the engines make as the parents of their containers' (in
/// every hierarchy): podman's with the cgroupfs manager, containerd's for
/// its namespace `default`. Removed at the end when the bench made them
/// and they are empty (rmdir refuses a cgroup with members or children).
const CGROUP_DIRS: [&str; 3] = ["libpod_parent/conmon", "libpod_parent", "default"];

/// The section's temporary directory, and the host directories the engines
/// may make; removed when dropped (the directory only if nothing is still
/// mounted under it, the others only if empty).
struct WorkDir {
    path: PathBuf,
    made_by_us: Vec<PathBuf>,
}

impl WorkDir {
    fn create() -> Result<WorkDir> {
        let path = std::env::temp_dir().join(format!("box-bench-engines-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        let hierarchies: Vec<PathBuf> = fs::read_dir("/sys/fs/cgroup")
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let cgroups = std::iter::once(PathBuf::from("/sys/fs/cgroup"))
            .chain(hierarchies)
            .flat_map(|root| CGROUP_DIRS.map(|dir| root.join(dir)));
        Ok(WorkDir {
            path,
            made_by_us: HOST_DIRS
                .into_iter()
                .map(PathBuf::from)
                .chain(cgroups)
                .filter(|d| !d.exists())
                .collect(),
        })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let mounted = mounts_under(&self.path);
        if mounted.is_empty() {
            if let Err(e) = fs::remove_dir_all(&self.path) {
                eprintln!("xtask: bench: removing {}: {e}", self.path.display());
            }
        } else {
            eprintln!(
                "xtask: bench: {} kept: still mounted there: {}",
                self.path.display(),
                mounted.join(", ")
            );
        }
        for dir in &self.made_by_us {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The mount points at or under `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| Path::new(point).starts_with(dir))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrappers_log_gives_the_largest_invocation() {
        let text = "\
4096 36 --root /run/runc --log /x/log.json --log-format json create --bundle /b --pid-file /p id
9216 36 --root /run/runc --log /x/log.json --log-format json start id
1200 40 --root /run/runc state id

10300 36 --root /run/runc delete --force id
";
        let log = parse_rss_log(text).unwrap();
        assert_eq!(log.peak_kib, 10300);
        assert_eq!(log.peak_command, "delete");
        assert_eq!(log.wrapper_kib, 40);
        assert_eq!(log.commands, ["create", "start", "state", "delete"]);
        assert_eq!(log.invocations, 4);
    }

    #[test]
    fn a_bad_or_empty_log_is_an_error() {
        assert!(parse_rss_log("").is_err());
        assert!(parse_rss_log("\n\n").is_err());
        assert!(parse_rss_log("x 3 create").is_err());
        let odd = parse_rss_log("12 3 --frobnicate").unwrap();
        assert_eq!((odd.peak_kib, odd.peak_command.as_str()), (12, "?"));
    }

    #[test]
    fn c_strings_are_quoted() {
        assert_eq!(c_string(Path::new("/tmp/a\"b")), r#""/tmp/a\"b""#);
    }

    #[test]
    fn engine_command_lines() {
        let podman = Podman {
            dir: PathBuf::from("/d/podman"),
            version: "4.3.1".into(),
        };
        let argv = podman.argv(Path::new("/d/rss/runc"), Path::new("/d/rootfs"));
        assert!(argv.contains(&"--runtime=/d/rss/runc".to_string()));
        assert_eq!(argv.last().map(String::as_str), Some("/bin/true"));
        let at = argv.iter().position(|w| w == "--rootfs").unwrap();
        assert_eq!(argv[at + 1], "/d/rootfs");
    }
}
