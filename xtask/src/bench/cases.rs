//! What the bench times: for each kind of work, the floor (or the peer
//! that stands for it), box, and each peer tool, as exact command lines.

use std::os::fd::RawFd;
use std::path::Path;
use std::process::Command;

use super::setup::{EXEC_CONTAINER, Setup};
use crate::host;

/// One kind of work; each is a table in the report, its first row the
/// baseline the others are divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Run,
    Net,
    Limits,
    Exec,
    Init,
    /// `ctr run --rm` under a private containerd, one row per OCI runtime
    /// (engines.rs; not in `ALL`: its own section of the report).
    Containerd,
    /// `podman run --rm`, likewise.
    Podman,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Run,
        Group::Net,
        Group::Limits,
        Group::Exec,
        Group::Init,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Run => {
                "Start a container: new mount, UTS, IPC and PID namespaces, the rootfs, a fresh /proc, /bin/true"
            }
            Group::Net => "The same with a network namespace too",
            Group::Limits => "The same with a 64 MiB memory limit (no swap) and a 64 pids limit",
            Group::Exec => "Run /bin/true in a running container",
            Group::Init => "An init that runs /bin/true as its child",
            Group::Containerd => "containerd",
            Group::Podman => "podman",
        }
    }
}

/// The rows of the size-tuned build (`cargo xtask build --size`, with the
/// OCI runtime: the binary board images built with `--size` carry), beside
/// the release build's `box run` and `box exec`.
pub const BOX_RUN_SIZE_TUNED: &str = "box run (size-tuned build)";
pub const BOX_EXEC_SIZE_TUNED: &str = "box exec (size-tuned build)";

/// Whether a row can run, and if not, why.
#[derive(Debug, Clone)]
pub enum Status {
    Ready,
    /// The tool is not installed, or the machine cannot run this row.
    Unavailable(String),
    /// It ran and failed: the status and the end of its stderr.
    Failed(String),
}

pub struct Case {
    pub group: Group,
    pub tool: &'static str,
    /// The command line; `{n}` stands for a number unique to each run.
    pub argv: Vec<String>,
    pub mount_namespace: Option<RawFd>,
    pub status: Status,
}

impl Case {
    /// The words of run `n`.
    pub fn argv_for(&self, n: &str) -> Vec<String> {
        self.argv.iter().map(|w| w.replace("{n}", n)).collect()
    }

    /// The command line for the report, paths inside the workspace shown
    /// relative to it.
    pub fn shown(&self) -> String {
        let root = format!("{}/", host::workspace().display());
        let words: Vec<String> = self
            .argv
            .iter()
            .map(|w| w.replace(&root, ""))
            .map(|w| if w.contains(' ') { format!("'{w}'") } else { w })
            .collect();
        let mut line = words.join(" ");
        if self.mount_namespace.is_some() {
            line.push_str("  (in a mount namespace without /sys/fs/cgroup/unified, see notes)");
        }
        line
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.status, Status::Ready)
    }
}

/// The peers the bench knows, where they are found.
pub struct Peers {
    unshare: Option<String>,
    nsenter: Option<String>,
    bwrap: Option<String>,
    crun: Option<String>,
    runc: Option<String>,
    tini: Option<String>,
}

impl Peers {
    pub fn find() -> Peers {
        let found = |name: &str| host::find_program(name).map(|p| p.display().to_string());
        // box --install may have put its own unshare and nsenter first on
        // the PATH: only util-linux's are the peers.
        let util_linux = |name: &str| {
            found(name).filter(|path| {
                Command::new(path)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"))
            })
        };
        Peers {
            unshare: util_linux("unshare"),
            nsenter: util_linux("nsenter"),
            bwrap: found("bwrap"),
            crun: found("crun"),
            runc: found("runc"),
            tini: found("tini"),
        }
    }

    pub fn has_crun(&self) -> bool {
        self.crun.is_some()
    }

    /// `name --version`'s first line, for each peer that is installed.
    pub fn versions(&self) -> Vec<(&'static str, String)> {
        let all = [
            ("unshare", &self.unshare),
            ("nsenter", &self.nsenter),
            ("bwrap", &self.bwrap),
            ("crun", &self.crun),
            ("runc", &self.runc),
            ("tini", &self.tini),
        ];
        all.into_iter()
            .filter_map(|(name, path)| {
                let output = Command::new(path.as_ref()?)
                    .arg("--version")
                    .output()
                    .ok()?;
                let text = String::from_utf8_lossy(&output.stdout).into_owned()
                    + &String::from_utf8_lossy(&output.stderr);
                Some((name, text.lines().next()?.trim().to_string()))
            })
            .collect()
    }
}

/// Where the exec rows' container is, or why there is none.
pub type ExecTarget = Result<u32, String>;

/// Every row of every group, in report order.
pub fn all(
    setup: &Setup,
    peers: &Peers,
    bundles: &Bundles,
    crun_namespace: Option<RawFd>,
    exec_target: &ExecTarget,
) -> Vec<Case> {
    let rootfs = setup.rootfs.display().to_string();
    let floor = setup.floor.display().to_string();
    let boxed = setup.box_binary.display().to_string();
    let size_tuned = setup
        .box_size_tuned
        .as_ref()
        .map(|path| path.display().to_string());
    let no_size_tuned = size_tuned
        .as_ref()
        .err()
        .cloned()
        .cloned()
        .unwrap_or_default();
    // The same words with the size-tuned binary in the release one's place.
    let with_size_tuned = |argv: &[String]| {
        size_tuned.as_ref().ok().map(|program| {
            let mut argv = argv.to_vec();
            argv[0] = program.clone();
            argv
        })
    };
    let mut cases = Vec::new();
    let mut add = |group, tool, argv: Option<Vec<String>>, why: &str| {
        let (argv, status) = match argv {
            Some(argv) => (argv, Status::Ready),
            None => (Vec::new(), Status::Unavailable(why.to_string())),
        };
        cases.push(Case {
            group,
            tool,
            mount_namespace: if tool == "crun" { crun_namespace } else { None },
            argv,
            status,
        });
    };
    let words = |program: &str, rest: &[&str]| {
        let mut argv = vec![program.to_string()];
        argv.extend(rest.iter().map(|w| w.to_string()));
        argv
    };
    let missing = "not installed";

    for (group, net) in [(Group::Run, false), (Group::Net, true)] {
        let net_flag = |flag: &'static str| if net { vec![flag] } else { vec![] };
        let mut argv = words(&floor, &net_flag("-n"));
        argv.extend([rootfs.clone(), "/bin/true".into()]);
        add(group, "floor", Some(argv), "");
        if group == Group::Run {
            // The floor doing all box run does by default: what box run
            // costs beyond it is box's own overhead.
            let argv = words(&floor, &["-H", &rootfs, "/bin/true"]);
            add(group, "floor -H", Some(argv), "");
        }
        let mut argv = words(&boxed, &["run"]);
        argv.extend(net_flag("--net").into_iter().map(String::from));
        argv.extend([
            "--rootfs".into(),
            rootfs.clone(),
            "--".into(),
            "/bin/true".into(),
        ]);
        let size_tuned_argv = with_size_tuned(&argv);
        add(group, "box run", Some(argv), "");
        if group == Group::Run {
            add(group, BOX_RUN_SIZE_TUNED, size_tuned_argv, &no_size_tuned);
        }
        let unshare = peers.unshare.as_ref().map(|path| {
            let mut argv = words(path, &["--fork", "--pid", "--mount", "--uts", "--ipc"]);
            argv.extend(net_flag("--net").into_iter().map(String::from));
            argv.extend([
                "--mount-proc".into(),
                format!("--root={rootfs}"),
                "/bin/true".into(),
            ]);
            argv
        });
        add(group, "unshare", unshare, missing);
        let bwrap = peers.bwrap.as_ref().map(|path| {
            let mut argv = words(path, &["--unshare-pid", "--unshare-uts", "--unshare-ipc"]);
            argv.extend(net_flag("--unshare-net").into_iter().map(String::from));
            argv.extend(["--bind".into(), rootfs.clone(), "/".into()]);
            argv.extend(["--proc", "/proc", "/bin/true"].map(String::from));
            argv
        });
        add(group, "bwrap", bwrap, missing);
        let bundle = if net { &bundles.net } else { &bundles.plain };
        for (tool, path) in [("crun", &peers.crun), ("runc", &peers.runc)] {
            let argv = path.as_ref().map(|path| oci_run(path, bundle));
            add(group, tool, argv, missing);
        }
    }

    let limits = match &setup.floor_cgroups {
        Ok(cgroup_words) => {
            let mut argv = vec![floor.clone()];
            argv.extend(cgroup_words.iter().cloned());
            argv.extend([rootfs.clone(), "/bin/true".into()]);
            Some(argv)
        }
        Err(_) => None,
    };
    let why = setup
        .floor_cgroups
        .as_ref()
        .err()
        .cloned()
        .unwrap_or_default();
    add(Group::Limits, "floor", limits, &why);
    let mut argv = words(
        &boxed,
        &["run", "--memory", "64M", "--pids", "64", "--rootfs"],
    );
    argv.extend([rootfs.clone(), "--".into(), "/bin/true".into()]);
    let size_tuned_argv = with_size_tuned(&argv);
    add(Group::Limits, "box run", Some(argv), "");
    add(
        Group::Limits,
        BOX_RUN_SIZE_TUNED,
        size_tuned_argv,
        &no_size_tuned,
    );
    for (tool, path) in [("crun", &peers.crun), ("runc", &peers.runc)] {
        let argv = path.as_ref().map(|path| oci_run(path, &bundles.limits));
        add(Group::Limits, tool, argv, missing);
    }

    let (nsenter, box_exec, why) = match exec_target {
        Ok(pid) => {
            let nsenter = peers.nsenter.as_ref().map(|path| {
                let mut argv = words(path, &["-t"]);
                argv.extend([pid.to_string(), "-a".into(), "/bin/true".into()]);
                argv
            });
            let box_exec = words(&boxed, &["exec", EXEC_CONTAINER, "--", "/bin/true"]);
            let why = if peers.nsenter.is_some() { "" } else { missing };
            (nsenter, Some(box_exec), why.to_string())
        }
        Err(why) => (None, None, why.clone()),
    };
    add(Group::Exec, "nsenter", nsenter, &why);
    let box_exec_size_tuned = box_exec.as_deref().and_then(with_size_tuned);
    let why_size_tuned = if box_exec.is_some() {
        &no_size_tuned
    } else {
        &why
    };
    add(Group::Exec, "box exec", box_exec, &why);
    add(
        Group::Exec,
        BOX_EXEC_SIZE_TUNED,
        box_exec_size_tuned,
        why_size_tuned,
    );

    let inside_true = format!("{rootfs}/bin/true");
    let tini = peers
        .tini
        .as_ref()
        .map(|path| words(path, &["-s", "--", &inside_true]));
    add(Group::Init, "tini", tini, missing);
    let box_init = words(
        &setup.box_init.display().to_string(),
        &["--subreaper", "--", &inside_true],
    );
    add(Group::Init, "box-init", Some(box_init), "");
    cases
}

/// The OCI bundles crun and runc run.
pub struct Bundles {
    pub plain: String,
    pub net: String,
    pub limits: String,
}

fn oci_run(program: &str, bundle: &str) -> Vec<String> {
    [program, "run", "--bundle", bundle, "box-bench-{n}"]
        .map(String::from)
        .to_vec()
}

/// The bundle directories, written under target/bench/oci.
pub fn bundles(setup: &Setup) -> anyhow::Result<Bundles> {
    let shown = |dir: &Path| dir.display().to_string();
    Ok(Bundles {
        plain: shown(&setup.bundle("plain", false, false)?),
        net: shown(&setup.bundle("net", true, false)?),
        limits: shown(&setup.bundle("limits", false, true)?),
    })
}
