//! README.md's "Parity with util-linux" tables, kept true: every row is
//! tried against box's applets. A *supported* or *differs* option must be
//! listed by the applet's `--help` and its *try* command line must succeed;
//! a *not supported* one must be refused with status 1 and one line. Every
//! option box's `--help` lists, and every option the installed util-linux
//! lists, must have a row.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One row of a table.
#[derive(Debug)]
struct Row {
    applet: String,
    /// The option cell: `` `-m`, `--mount[=FILE]` ``.
    option: String,
    /// `supported`, `differs` or `not supported`, and what follows.
    status: String,
    /// The command line to try, or empty.
    try_line: String,
}

impl Row {
    /// The option's names as `--help` shows them: `-m`, `--mount`.
    fn names(&self) -> Vec<String> {
        self.option
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|name| {
                name.split(['[', '=', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .filter(|name| name.starts_with('-') && name != "--NAME")
            .collect()
    }

    fn supported(&self) -> bool {
        self.status.starts_with("supported") || self.status.starts_with("differs")
    }
}

/// The rows of the tables under README.md's "Parity with util-linux".
fn rows() -> Vec<Row> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("#### Parity with util-linux")
        .nth(1)
        .expect("README.md has a section Parity with util-linux");
    let section = section.split("\n#").next().unwrap();
    let mut rows = Vec::new();
    let mut applet = String::new();
    for line in section.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        if let Some(name) = cells[0].strip_suffix(" option") {
            applet = name.to_string();
            continue;
        }
        if cells.len() != 4 || !cells[0].starts_with('`') {
            continue;
        }
        rows.push(Row {
            applet: applet.clone(),
            option: cells[0].to_string(),
            status: cells[2].to_string(),
            try_line: cells[3].trim_matches('`').to_string(),
        });
    }
    assert!(
        rows.len() > 50,
        "the parity tables were not found: {rows:?}"
    );
    rows
}

fn help(program: &Path, applet: Option<&str>) -> String {
    let mut command = Command::new(program);
    command.args(applet).arg("--help");
    let out = command.output().expect("run --help");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `help` lists option `name` (`-m`, `--mount`) as an option.
fn lists(help: &str, name: &str) -> bool {
    help.match_indices(name).any(|(at, _)| {
        let before = help[..at].chars().last();
        let after = help[at + name.len()..].chars().next();
        matches!(before, Some(' ' | ',' | '\n'))
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The long options a `--help` lists, at the start of its lines
/// (`-m, --mount[=FILE]`, `--map-user UID`; util-linux 2.38 writes
/// `-W. --wdns`).
fn long_options(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let first = words.next()?;
            let word = match first.starts_with("--") {
                true => first,
                false if first.starts_with('-') => words.next()?,
                false => return None,
            };
            let name: String = word
                .strip_prefix("--")?
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!name.is_empty()).then(|| format!("--{name}"))
        })
        .collect()
}

/// A process in new namespaces of every type, user included, to enter.
struct Target(Child, u32);

impl Target {
    fn start() -> Target {
        let mut child = Command::new(BOX)
            .args([
                "unshare",
                "-r",
                "-fpmuinCT",
                "--mount-proc",
                "--kill-child",
                "sh",
                "-c",
                "echo ready && exec sleep 60",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the target did not start");
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
        let pid = children.split_whitespace().next().unwrap().parse().unwrap();
        Target(child, pid)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs root"]
fn readme_parity_tables_hold() {
    let test = "readme_parity_tables_hold";
    if !need_root(test) {
        return;
    }
    let rows = rows();
    let target = Target::start();
    let pid = target.1.to_string();
    let mut failures = Vec::new();
    for row in &rows {
        let help = help(Path::new(BOX), Some(&row.applet));
        if row.supported() {
            for name in row.names() {
                if !lists(&help, &name) {
                    failures.push(format!(
                        "{}: {name} is not in box {} --help",
                        row.option, row.applet
                    ));
                }
            }
        } else {
            assert!(
                row.status.starts_with("not supported: "),
                "{}: the box cell says supported, differs: …, or not supported: WHY",
                row.option
            );
            assert!(
                !row.try_line.is_empty(),
                "{}: a refusal must be tried",
                row.option
            );
        }
        if row.try_line.is_empty() {
            continue;
        }
        let dir = TempDir::new("parity");
        let words: Vec<String> = row
            .try_line
            .split_whitespace()
            .map(|w| {
                w.replace("$PID", &pid)
                    .replace("$DIR", dir.path().to_str().unwrap())
            })
            .collect();
        assert_eq!(
            words[0], row.applet,
            "{}: try the row's own applet",
            row.option
        );
        let mut command = Command::new(BOX);
        command
            .args(&words)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let r = wait_with_timeout(command.spawn().unwrap(), Duration::from_secs(30));
        if row.supported() {
            if r.code() != 0 {
                failures.push(format!(
                    "{} ({}): box {words:?}: {r:?}",
                    row.option, row.status
                ));
            }
        } else {
            let lines: Vec<&str> = r.stderr.lines().collect();
            if r.code() != 1 || lines.len() != 1 || !lines[0].starts_with("box: ") {
                failures.push(format!(
                    "{} should be refused (status 1, one line): box {words:?}: {r:?}",
                    row.option
                ));
            }
        }
    }
    drop(target);

    // Every option box lists, and every one the installed util-linux
    // lists, has its row.
    for applet in ["unshare", "nsenter"] {
        let named: Vec<String> = rows
            .iter()
            .filter(|r| r.applet == applet)
            .flat_map(Row::names)
            .collect();
        for option in long_options(&help(Path::new(BOX), Some(applet))) {
            if !named.contains(&option) {
                failures.push(format!("box {applet} {option} has no row in README.md"));
            }
        }
        let theirs = Path::new("/usr/bin").join(applet);
        let version = Command::new(&theirs).arg("--version").output();
        if !version.is_ok_and(|v| String::from_utf8_lossy(&v.stdout).contains("util-linux")) {
            skip(
                test,
                &format!("util-linux {applet} is not installed: its options are not checked"),
            );
            continue;
        }
        for option in long_options(&help(&theirs, None)) {
            if !named.contains(&option) {
                failures.push(format!(
                    "util-linux {applet} {option} has no row in README.md"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The tables' cells read as the test reads them, without root.
#[test]
fn readme_parity_tables_parse() {
    let rows = rows();
    let mount = rows
        .iter()
        .find(|r| r.applet == "unshare" && r.option.contains("--mount["))
        .unwrap();
    assert_eq!(mount.names(), ["-m", "--mount"]);
    assert!(mount.supported());
    assert!(rows.iter().any(|r| r.applet == "nsenter" && !r.supported()));
    assert!(lists("  -m, --mount[=FILE]  x", "--mount"));
    assert!(!lists("  --mount-proc[=DIR]  x", "--mount"));
    assert_eq!(
        long_options(" -m, --mount[=<file>]  x\n --map-user=<uid>  y\n -W. --wdns <dir>\n"),
        ["--mount", "--map-user", "--wdns"]
    );
}
