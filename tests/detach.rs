//! Named and detached containers: `box run -d`, `box ps`, `box logs`,
//! `box kill`, `box stop`, `box rm`, `--rm`, and what is left when a
//! supervisor is killed.

mod common;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    Some(busybox_rootfs(test))
}

fn name(tag: &str) -> String {
    format!("d-{tag}-{}", std::process::id())
}

/// The `box ps` row of NAME, split in columns.
fn ps_row(name: &str) -> Option<Vec<String>> {
    let run = run_box(["ps"]);
    run.stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root"]
fn detached_container_lifecycle() {
    let Some(root) = setup("detached_container_lifecycle") else {
        return;
    };
    let n = name("web");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    let run = run_detached(
        &n,
        r,
        &[
            "--hostname",
            "webhost",
            "--pids",
            "16",
            "sh",
            "-c",
            "echo started; while :; do sleep 1; done",
        ],
    );
    assert_eq!(run.stdout.trim(), n, "prints the name: {run:?}");

    let row = ps_row(&n).expect("box ps lists it");
    assert_eq!(row[2], "running", "{row:?}");
    assert!(row[1].parse::<u32>().is_ok(), "{row:?}");
    wait_until("the log", || {
        run_box(["logs", &n]).stdout.contains("started")
    });

    // A second container cannot take the name.
    let again = run_box(["run", "-d", "--name", &n, "--rootfs", r, "true"]);
    assert_eq!(again.code(), 125, "{again:?}");
    assert!(one_error_line(&again).contains("is in use"), "{again:?}");

    // sh as PID 1 ignores SIGTERM: stop waits the grace time, then kills.
    let start = Instant::now();
    let stop = run_box(["stop", &n, "--time", "1"]);
    assert_eq!(stop.code(), 0, "{stop:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        start.elapsed()
    );
    // Stopped, not removed: its status and log stay until box rm.
    let row = ps_row(&n).expect("still listed");
    assert_eq!(row[2..4], ["exited", "137"], "{row:?}");
    assert!(run_box(["logs", &n]).stdout.contains("started"));
    let rm = run_box(["rm", &n]);
    assert_eq!((rm.code(), rm.stdout.trim()), (0, n.as_str()), "{rm:?}");
    assert!(ps_row(&n).is_none(), "gone from box ps");
    assert!(!Path::new("/run/box").join(&n).exists(), "state removed");
}

/// An ended container stays listed, with its status and log, until
/// `box rm` (as Docker's does): `box ps` used to remove it the first time
/// it showed it, so the log of a crash could not be read. Its name is not
/// taken again meanwhile.
#[test]
#[ignore = "needs root"]
fn ended_container_keeps_its_status_and_log_until_box_rm() {
    let Some(root) = setup("ended_container_keeps_its_status_and_log_until_box_rm") else {
        return;
    };
    let n = name("quick");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    run_detached(&n, r, &["sh", "-c", "echo bye; exit 3"]);
    wait_until("the exit", || {
        ps_row(&n).is_some_and(|row| row[2] == "exited")
    });
    for _ in 0..2 {
        let row = ps_row(&n).expect("listed after it ended");
        assert_eq!(row[1..4], ["-", "exited", "3"], "{row:?}");
        let logs = run_box(["logs", &n]);
        assert_eq!(
            (logs.code(), logs.stdout.as_str()),
            (0, "bye\n"),
            "{logs:?}"
        );
    }
    let again = run_box(["run", "-d", "--name", &n, "--rootfs", r, "true"]);
    assert_eq!(again.code(), 125, "{again:?}");
    assert!(
        one_error_line(&again).contains(&format!(
            "the name {n} is taken by a container that has ended (exited 3): box rm {n} removes it"
        )),
        "{again:?}"
    );
    let rm = run_box(["rm", &n]);
    assert_eq!(rm.code(), 0, "{rm:?}");
    assert!(ps_row(&n).is_none());
    assert!(!Path::new("/run/box").join(&n).exists());
    // With --rm, nothing stays once it has ended.
    let run = run_box([
        "run", "-d", "--rm", "--name", &n, "--rootfs", r, "sh", "-c", "exit 4",
    ]);
    assert_eq!(run.code(), 0, "{run:?}");
    wait_until("the state to go", || {
        !Path::new("/run/box").join(&n).exists()
    });
    let run = run_box([
        "run", "--rm", "--name", &n, "--rootfs", r, "sh", "-c", "exit 5",
    ]);
    assert_eq!(run.code(), 5, "{run:?}");
    assert!(!Path::new("/run/box").join(&n).exists());
}

/// `box rm` refuses a running container unless `-f`, which kills it
/// first; a foreground named run keeps its state too; several names at once,
/// one line for each that fails.
#[test]
#[ignore = "needs root"]
fn rm_refuses_a_running_container_unless_forced() {
    let Some(root) = setup("rm_refuses_a_running_container_unless_forced") else {
        return;
    };
    let (a, b) = (name("rm-a"), name("rm-b"));
    let _sweep = (ContainerSweep::new(&a), ContainerSweep::new(&b));
    let r = root.path().to_str().unwrap();
    let run = run_box(["run", "-d", "--name", &a, "--rootfs", r, "sleep", "1000"]);
    assert_eq!(run.code(), 0, "{run:?}");
    let run = run_box(["run", "--name", &b, "--rootfs", r, "sh", "-c", "exit 2"]);
    assert_eq!(run.code(), 2, "{run:?}");
    assert_eq!(ps_row(&b).expect("listed")[2..4], ["exited", "2"]);

    let rm = run_box(["rm", &a, &b]);
    assert_eq!(rm.code(), 125, "{rm:?}");
    assert_eq!(rm.stdout, format!("{b}\n"), "{rm:?}");
    assert!(
        one_error_line(&rm).contains(&format!(
            "container {a} is running: box stop {a} first, or box rm -f {a}"
        )),
        "{rm:?}"
    );
    assert_eq!(ps_row(&a).expect("still running")[2], "running");
    let init: i32 = std::fs::read_to_string(Path::new("/run/box").join(&a).join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let rm = run_box(["rm", "-f", &a]);
    assert_eq!((rm.code(), rm.stdout.trim()), (0, a.as_str()), "{rm:?}");
    assert!(
        std::fs::read_to_string(format!("/proc/{init}/stat")).map_or(true, |s| s.contains(") Z ")),
        "the container still runs"
    );
    assert!(!Path::new("/run/box").join(&a).exists());
    assert!(cgroup_dirs_with_prefix(&a).is_empty());
}

#[test]
#[ignore = "needs root"]
fn kill_sends_the_signal() {
    let Some(root) = setup("kill_sends_the_signal") else {
        return;
    };
    let n = name("kill");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    run_detached(
        &n,
        r,
        &[
            "sh",
            "-c",
            "trap 'echo got USR1; exit 5' USR1; echo ready; while :; do sleep 0.05; done",
        ],
    );
    wait_until("ready", || run_box(["logs", &n]).stdout.contains("ready"));
    let kill = run_box(["kill", &n, "USR1"]);
    assert_eq!(kill.code(), 0, "{kill:?}");
    wait_until("the exit", || {
        run_box(["logs", &n]).stdout.contains("got USR1")
    });
    let stop = run_box(["stop", &n]);
    assert_eq!(stop.code(), 0, "{stop:?}");
}

#[test]
#[ignore = "needs root"]
fn killing_the_supervisor_kills_the_container() {
    let Some(root) = setup("killing_the_supervisor_kills_the_container") else {
        return;
    };
    let n = name("orphan");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    let run = run_box(["run", "-d", "--name", &n, "--rootfs", r, "sleep", "1000"]);
    assert_eq!(run.code(), 0, "{run:?}");
    let dir = Path::new("/run/box").join(&n);
    let supervisor: i32 = std::fs::read_to_string(dir.join("supervisor"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let init: i32 = std::fs::read_to_string(dir.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: plain kill(2).
    unsafe { libc::kill(supervisor, libc::SIGKILL) };
    // The container dies with its supervisor (parent-death signal).
    wait_until("the container to die", || {
        std::fs::read_to_string(format!("/proc/{init}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    // Listed as gone, with its state (and log) kept until box rm.
    for _ in 0..2 {
        let row = ps_row(&n).expect("still listed");
        assert_eq!(row[2], "gone", "{row:?}");
    }
    assert!(dir.exists(), "box ps removed the state");
    let stop = run_box(["stop", &n]);
    assert_eq!(stop.code(), 0, "{stop:?}");
    let rm = run_box(["rm", &n]);
    assert_eq!(rm.code(), 0, "{rm:?}");
    assert!(!dir.exists(), "box rm left the state");
}

#[test]
#[ignore = "needs root"]
fn bad_names_and_unknown_containers() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["stop", "no-such-container"],
            "no container named no-such-container",
        ),
        (
            &["kill", "no-such-container"],
            "no container named no-such-container",
        ),
        (
            &["logs", "no-such-container"],
            "no container named no-such-container",
        ),
        (&["kill", "x", "BOGUS"], "unknown signal BOGUS"),
        (&["stop"], "usage: box stop NAME"),
        (
            &["rm", "no-such-container"],
            "no container named no-such-container",
        ),
        (&["rm"], "usage: box rm [-f] NAME"),
        (&["rm", "--bogus", "x"], "unknown option --bogus"),
    ];
    for (args, expected) in cases {
        let run = run_box(*args);
        assert_eq!(run.code(), 125, "{args:?}: {run:?}");
        assert!(one_error_line(&run).contains(expected), "{args:?}: {run:?}");
    }
}

#[test]
#[ignore = "needs root"]
fn exec_enters_the_running_container() {
    let Some(root) = setup("exec_enters_the_running_container") else {
        return;
    };
    let n = name("exec");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    run_detached(
        &n,
        r,
        &[
            "--hostname",
            "inside",
            "--pids",
            "32",
            "--env",
            "GREETING=hi",
            "sh",
            "-c",
            "cd /tmp && while :; do sleep 1; done",
        ],
    );
    // The init may not have reached its `cd` yet.
    wait_until("the init's cd", || {
        run_box(["exec", &n, "--", "readlink", "/proc/1/cwd"]).stdout == "/tmp\n"
    });

    let exec = run_box([
        "exec",
        &n,
        "--",
        "sh",
        "-c",
        "hostname; echo $GREETING; readlink /proc/self/cwd; ps -o comm > /tmp/ps; cat /tmp/ps",
    ]);
    assert_eq!(exec.code(), 0, "{exec:?}");
    let lines: Vec<&str> = exec.stdout.lines().collect();
    assert_eq!(lines[..3], ["inside", "hi", "/tmp"], "{exec:?}");
    // Its own PID namespace: the container's processes, nothing of the
    // host. ("exe" is busybox re-executing itself for an applet.)
    let comms: std::collections::BTreeSet<&str> = lines[4..].iter().copied().collect();
    assert!(comms.contains("sh") && comms.contains("ps"), "{exec:?}");
    assert!(
        comms
            .iter()
            .all(|c| ["sh", "sleep", "ps", "exe"].contains(c)),
        "{exec:?}"
    );

    // The same cgroup as the container's init.
    let init_cg = run_box(["exec", &n, "--", "cat", "/proc/1/cgroup"]).stdout;
    let own_cg = run_box(["exec", &n, "--", "cat", "/proc/self/cgroup"]).stdout;
    assert_eq!(init_cg, own_cg);

    assert_eq!(run_box(["exec", &n, "sh", "-c", "exit 9"]).code(), 9);
    let missing = run_box(["exec", &n, "no-such-command"]);
    assert_eq!(missing.code(), 127, "{missing:?}");
    assert!(
        one_error_line(&missing).contains("not found"),
        "{missing:?}"
    );
    assert_eq!(run_box(["stop", "-t", "0", &n]).code(), 0);
    let stopped = run_box(["exec", &n, "true"]);
    assert_eq!(stopped.code(), 125, "{stopped:?}");
    assert!(
        one_error_line(&stopped).contains(&format!("container {n} is not running (exited 137)")),
        "{stopped:?}"
    );
    assert_eq!(run_box(["rm", &n]).code(), 0);
    let gone = run_box(["exec", &n, "true"]);
    assert_eq!(gone.code(), 125, "{gone:?}");
    assert!(
        one_error_line(&gone).contains(&format!("no container named {n}")),
        "{gone:?}"
    );
}

/// A name claimed by a `box run` that has not started its container yet
/// (state directory, live claimer, no pid) is "starting": `box ps` shows
/// it and leaves it, another `box run --name`, `box stop` and `box rm`
/// refuse it. Once the claimer is gone, the next `box ps` shows it as gone
/// and removes it: a container that never started has nothing to keep.
#[test]
#[ignore = "needs root"]
fn a_starting_container_is_not_taken_for_a_dead_one() {
    let Some(root) = setup("a_starting_container_is_not_taken_for_a_dead_one") else {
        return;
    };
    let n = name("starting");
    let _sweep = ContainerSweep::new(&n);
    // The claimer: a process that stays alive while the test looks.
    let mut claimer = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let dir = Path::new("/run/box").join(&n);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("supervisor"), claimer.id().to_string()).unwrap();

    let row = ps_row(&n).expect("box ps shows the starting container");
    assert_eq!(row[2], "starting", "{row:?}");
    assert!(dir.exists(), "box ps removed a starting container's state");

    let r = root.path().to_str().unwrap();
    let run = run_box(["run", "--name", &n, "--rootfs", r, "true"]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(one_error_line(&run).contains("is in use"), "{run:?}");
    let stop = run_box(["stop", &n]);
    assert_eq!(stop.code(), 125, "{stop:?}");
    assert!(one_error_line(&stop).contains("is starting"), "{stop:?}");
    let rm = run_box(["rm", "-f", &n]);
    assert_eq!(rm.code(), 125, "{rm:?}");
    assert!(one_error_line(&rm).contains("is starting"), "{rm:?}");
    assert!(dir.exists());

    claimer.kill().unwrap();
    claimer.wait().unwrap();
    let row = ps_row(&n).expect("shown once more");
    assert_eq!(row[2], "gone", "{row:?}");
    assert!(!dir.exists(), "the state of a dead claimer is left");
}

/// The command column shows the words as given, one line whatever they
/// hold: a newline in a word would otherwise forge a row of `box ps`.
#[test]
#[ignore = "needs root"]
fn ps_shows_command_words_escaped_on_one_row() {
    let Some(root) = setup("ps_shows_command_words_escaped_on_one_row") else {
        return;
    };
    let n = name("words");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    let forged = "sleep 100 #\nforged 1 running 5s";
    let run = run_box(["run", "-d", "--name", &n, "--rootfs", r, "sh", "-c", forged]);
    assert_eq!(run.code(), 0, "{run:?}");
    let ps = run_box(["ps"]);
    assert!(
        !ps.stdout.lines().any(|l| l.starts_with("forged")),
        "{ps:?}"
    );
    let row = ps
        .stdout
        .lines()
        .find(|l| l.starts_with(&n))
        .expect("listed");
    assert!(
        row.ends_with(r#"sh -c "sleep 100 #\x0aforged 1 running 5s""#),
        "{row}"
    );
    let stop = run_box(["stop", "-t", "0", &n]);
    assert_eq!(stop.code(), 0, "{stop:?}");
}
