//! Every command and applet answers `--help` and `-h`: its usage on
//! standard output, nothing on standard error, exit status 0 (DESIGN.md
//! section 5), whether reached as `box NAME` or through a link of its own
//! name. Needs no privileges; as root, each runs in a PID namespace of its
//! own, so that a program that took `--help` for something else (`box
//! poweroff` signals PID 1) could not reach the host's init.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BOX, Run, TempDir, run_box, run_command};

/// The commands `box --help` lists: the dispatch table COMMANDS of
/// src/lib.rs, which that list is printed from.
fn commands() -> Vec<String> {
    let run = run_box(["--help"]);
    assert_eq!(run.code(), 0, "{run:?}");
    let listed = run
        .stdout
        .split("commands:\n")
        .nth(1)
        .expect("a command list");
    let commands: Vec<String> = listed
        .lines()
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(commands.len() >= 10, "{run:?}");
    commands
}

/// The applets `box --list` prints: the dispatch table APPLETS.
fn applets() -> Vec<String> {
    let run = run_box(["--list"]);
    assert_eq!(run.code(), 0, "{run:?}");
    run.stdout.lines().map(str::to_string).collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Run `program` with `args`: as root inside a new PID namespace (box's
/// own unshare, whose child is that namespace's PID 1), else as it is.
fn run_contained(program: &Path, args: &[&str]) -> Run {
    let mut command = if is_root() {
        let mut c = Command::new(BOX);
        c.args(["unshare", "--pid", "--fork", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    run_command(command.args(args))
}

/// `run` printed help for `name`: usage first, exit 0, no error.
fn assert_help(run: &Run, name: &str, shown: &str) {
    assert_eq!(run.code(), 0, "{shown}: {run:?}");
    assert_eq!(run.stderr, "", "{shown}: {run:?}");
    let first = run.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("usage: ") && first.contains(name),
        "{shown}: {run:?}"
    );
}

#[test]
fn every_command_and_applet_answers_help() {
    let mut names = commands();
    names.extend(applets());
    names.push("--install".into());
    for name in &names {
        for help in ["--help", "-h"] {
            let run = run_contained(Path::new(BOX), &[name, help]);
            // `init` is box-init's other name.
            let shown = if name == "init" { "box-init" } else { name };
            assert_help(&run, shown, &format!("box {name} {help}"));
        }
    }
}

#[test]
fn every_applet_answers_help_by_its_own_name() {
    let dir = TempDir::new("help-links");
    let run = run_box([Path::new("--install"), dir.path()]);
    assert_eq!(run.code(), 0, "{run:?}");
    for name in applets() {
        let link = dir.path().join(&name);
        for help in ["--help", "-h"] {
            let run = run_contained(&link, &[help]);
            let shown = if name == "init" { "box-init" } else { &name };
            assert_help(&run, shown, &format!("{name} {help}"));
        }
    }
}

/// `--help` among other options is still help; after `--` it is an
/// operand like any word (here, a command box ps does not take, so it
/// lists as usual: ps takes no operand).
#[test]
fn help_among_options_and_after_double_dash() {
    let run = run_contained(Path::new(BOX), &["stop", "-t", "3", "--help"]);
    assert_help(&run, "box stop", "box stop -t 3 --help");
    let run = run_contained(Path::new(BOX), &["rm", "-f", "-h"]);
    assert_help(&run, "box rm", "box rm -f -h");
    let run = run_box(["stop", "--", "--help"]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(!run.stdout.contains("usage:"), "{run:?}");
}
