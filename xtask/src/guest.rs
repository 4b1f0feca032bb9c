//! The guest test suite: what `--test` adds to the image, and how the
//! console of a test boot is judged.
//!
//! Layout in the repository, and where each part goes in the image:
//!
//! | repository                   | image                                 |
//! |------------------------------|---------------------------------------|
//! | tests/guest/run              | /tests/run                            |
//! | tests/guest/cases/NN-name.sh | /tests/cases/NN-name.sh               |
//! | tests/guest/cases/NN-name.rc | /tests/cases/NN-name.rc (run by rc)   |
//! | tests/guest/specs/*.box      | /etc/box/*.box (initramfs only)       |
//! | tests/guest/rc               | /etc/box/rc                           |
//! | tests/guest/applets          | /bin/NAME → busybox, per listed name  |
//! | tests/guest/rootfs/ (if any) | laid over / as it is                  |
//! | tests/guest/disk/            | laid over the test disk's root        |
//! | (Debian's busybox-static)    | /bin/busybox                          |
//!
//! box-init runs /etc/box/rc, which starts /tests/run in the background.
//! The runner prints `BOX-TEST <name> ok|FAIL <reason>` per case, then
//! `BOX-TEST-RESULT N passed, M failed`, and asks box-init to power off.
//!
//! The test disk (disk.rs) is a root filesystem of its own: box, its
//! links, busybox, the runner and cases, and the specs of
//! tests/guest/disk/etc/box instead of the initramfs's.
//!
//! A case that needs boots of its own says so in its header (the leading
//! `#` lines):
//!
//! - `# boot-append: WORDS`: a boot with WORDS on the kernel command line;
//!   several such lines make several boots, in order.
//! - `# boot-ends: result|shutdown|watchdog`: how the boot above must end:
//!   with the runner's result and a power off (the default); with the
//!   guest shutting itself down (power off or restart) before any result;
//!   or with QEMU's watchdog action (QEMU exits, no result, no shutdown by
//!   the kernel).
//! - `# boot-console: TEXT`: the console of the boot above must show TEXT.
//! - `# boot-disk: test`: every boot of the case gets the same fresh copy
//!   of the test disk as virtio-blk, and `e2fsck -fn` must find it clean
//!   after each boot.
//!
//! Cases with the same header share their boots. Each boot gets
//! `box.tests=CASE[,CASE…]`, the cases it runs (the runner reads
//! /proc/cmdline), with several
//! boots `box.test.boot=K` (1, 2, …), and every `keep: NAME=VALUE` seen on
//! the console of the earlier boots as `box.test.NAME=VALUE`: how a case
//! carries what it saw before a shutdown (say, the last record it fsynced)
//! to the boot that checks it. The cases without a header all run in the
//! first boot.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::board::{Board, Target};
use crate::cpio::Archive;
use crate::debian::Apt;
use crate::{elf, host, initramfs};

/// The suite's directory in the repository.
pub fn directory() -> PathBuf {
    host::workspace().join("tests").join("guest")
}

/// Add the guest suite and a static busybox to a board's image.
pub fn add_suite(archive: &mut Archive, board: &Board) -> Result<()> {
    add_runner(archive, board)?;
    for spec in files_ending(&directory().join("specs"), ".box")? {
        let name = file_name(&spec);
        archive.file(&format!("/etc/box/{name}"), 0o644, read(&spec)?)?;
    }
    Ok(())
}

/// Add the suite to the test disk's root: the runner and cases, and the
/// disk's own specs (tests/guest/disk/) instead of the initramfs's.
pub fn add_disk_suite(archive: &mut Archive, board: &Board) -> Result<()> {
    add_runner(archive, board)?;
    initramfs::add_tree(archive, &directory().join("disk"), "/")
}

/// busybox and its links, the runner, rc, the cases and the rootfs overlay.
fn add_runner(archive: &mut Archive, board: &Board) -> Result<()> {
    let suite = directory();
    let busybox = busybox(board.target)?;
    archive.file("/bin/busybox", 0o755, busybox)?;
    let applets = std::fs::read_to_string(suite.join("applets"))
        .with_context(|| format!("reading {}", suite.join("applets").display()))?;
    for name in applets
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|name| !name.is_empty())
    {
        let link = format!("/bin/{name}");
        // box's own names stay box's.
        if archive.get(&link).is_none() {
            archive.symlink(&link, "busybox")?;
        }
    }
    archive.file("/tests/run", 0o755, read(&suite.join("run"))?)?;
    archive.file("/etc/box/rc", 0o755, read(&suite.join("rc"))?)?;
    for suffix in [".sh", ".rc"] {
        for case in files_ending(&suite.join("cases"), suffix)? {
            let name = file_name(&case);
            archive.file(&format!("/tests/cases/{name}"), 0o755, read(&case)?)?;
        }
    }
    let overlay = suite.join("rootfs");
    if overlay.is_dir() {
        initramfs::add_tree(archive, &overlay, "/")?;
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The files in `dir` whose names end in `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && file_name(p).ends_with(suffix))
        .collect();
    files.sort();
    Ok(files)
}

/// A static busybox for the guest: this machine's, when it is one (Debian's
/// busybox-static installs it as /bin/busybox), else Debian's
/// busybox-static for the guest's architecture, fetched once into
/// target/busybox/<arch>/ (no root needed, the host is left as it is).
fn busybox(target: Target) -> Result<Vec<u8>> {
    if target.arch == std::env::consts::ARCH
        && let Some(path) = host::find_program("busybox")
    {
        let bytes = read(&path)?;
        if elf::check_static(&bytes, target).is_ok() {
            return Ok(bytes);
        }
    }
    let cache = host::target_dir().join("busybox").join(target.debian_arch);
    let binary = cache.join("bin/busybox");
    if !binary.is_file() {
        if !host::has_program("apt-get") {
            bail!(
                "no static busybox for {}: there is no apt-get here to fetch busybox-static; \
                 put one at {}",
                target.arch,
                binary.display()
            );
        }
        let _ = std::fs::remove_dir_all(&cache);
        Apt::new(target.debian_arch)?.fetch_and_unpack("busybox-static", &cache)?;
    }
    let bytes = read(&binary)?;
    elf::check_static(&bytes, target)
        .with_context(|| format!("{} cannot be the guest's busybox", binary.display()))?;
    Ok(bytes)
}

/// How a boot must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// The runner's result, then a power off.
    Result,
    /// The guest shuts itself down (power off or restart), no result.
    Shutdown,
    /// QEMU's watchdog action ends it: no result, no shutdown.
    Watchdog,
}

/// One boot of the test image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBoot {
    /// Words for the kernel command line (the case's own).
    pub append: String,
    pub ends: Ends,
    /// Texts its console must show.
    pub console: Vec<String>,
}

/// A disk a run attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A fresh copy of the test disk.
    Test,
}

/// Cases that share their boots.
#[derive(Debug, PartialEq, Eq)]
pub struct TestRun {
    /// By name (`NN-name`).
    pub cases: Vec<String>,
    pub disk: Option<DiskKind>,
    pub boots: Vec<TestBoot>,
}

impl TestRun {
    /// The kernel command line words of boot `index`, after `keeps` (the
    /// `keep:` values of the boots before it).
    pub fn append(&self, index: usize, keeps: &[(String, String)]) -> String {
        let mut words = vec![format!("box.tests={}", self.cases.join(","))];
        if self.boots.len() > 1 {
            words.push(format!("box.test.boot={}", index + 1));
        }
        for (name, value) in keeps {
            words.push(format!("box.test.{name}={value}"));
        }
        if !self.boots[index].append.is_empty() {
            words.push(self.boots[index].append.clone());
        }
        words.join(" ")
    }
}

/// The header of a case: its boots and disk (empty: the first boot).
#[derive(Debug, Default, PartialEq, Eq)]
struct Header {
    disk: Option<DiskKind>,
    boots: Vec<TestBoot>,
}

fn parse_header(name: &str, text: &str) -> Result<Header> {
    let mut header = Header::default();
    for line in text.lines().take_while(|line| line.starts_with('#')) {
        let Some((key, value)) = line
            .strip_prefix("# boot-")
            .and_then(|rest| rest.split_once(':'))
        else {
            continue;
        };
        let value = value.trim();
        match key {
            "append" => header.boots.push(TestBoot {
                append: value.to_owned(),
                ends: Ends::Result,
                console: Vec::new(),
            }),
            "disk" => match value {
                "test" => header.disk = Some(DiskKind::Test),
                _ => bail!("{name}: # boot-disk: {value:?} (known: test)"),
            },
            "ends" | "console" => {
                let Some(boot) = header.boots.last_mut() else {
                    bail!("{name}: # boot-{key}: comes after the # boot-append: it is about");
                };
                if key == "console" {
                    boot.console.push(value.to_owned());
                } else {
                    boot.ends = match value {
                        "result" => Ends::Result,
                        "shutdown" => Ends::Shutdown,
                        "watchdog" => Ends::Watchdog,
                        _ => bail!("{name}: # boot-ends: {value:?} (result, shutdown or watchdog)"),
                    };
                }
            }
            _ => bail!("{name}: unknown header line {line:?}"),
        }
    }
    if header.disk.is_some() && header.boots.is_empty() {
        bail!("{name}: # boot-disk: without a # boot-append: line saying how to boot");
    }
    Ok(header)
}

/// The runs the suite needs: the first runs every case without a header,
/// then one run per distinct header.
pub fn boots() -> Result<Vec<TestRun>> {
    let mut cases = Vec::new();
    for path in files_ending(&directory().join("cases"), ".sh")? {
        let text = String::from_utf8_lossy(&read(&path)?).into_owned();
        let name = file_name(&path).trim_end_matches(".sh").to_owned();
        cases.push((name, text));
    }
    plan_boots(&cases)
}

/// `boots` from (name, script) pairs.
fn plan_boots(cases: &[(String, String)]) -> Result<Vec<TestRun>> {
    let mut first = Vec::new();
    // (header, cases), in the order the headers first appear.
    let mut others: Vec<(Header, Vec<String>)> = Vec::new();
    for (name, text) in cases {
        let header = parse_header(name, text)?;
        if header.boots.is_empty() {
            first.push(name.clone());
            continue;
        }
        match others.iter_mut().find(|(h, _)| *h == header) {
            Some((_, names)) => names.push(name.clone()),
            None => others.push((header, vec![name.clone()])),
        }
    }
    let mut runs = Vec::new();
    if !first.is_empty() || others.is_empty() {
        runs.push(TestRun {
            cases: first,
            disk: None,
            boots: vec![TestBoot {
                append: String::new(),
                ends: Ends::Result,
                console: Vec::new(),
            }],
        });
    }
    for (header, names) in others {
        runs.push(TestRun {
            cases: names,
            disk: header.disk,
            boots: header.boots,
        });
    }
    Ok(runs)
}

/// What the console of a boot showed.
#[derive(Debug, Default)]
pub struct Verdict {
    pub passed: Vec<String>,
    /// (case, reason)
    pub failed: Vec<(String, String)>,
    /// The runner's own count, from `BOX-TEST-RESULT N passed, M failed`.
    pub reported: Option<(u64, u64)>,
    pub kernel_panic: bool,
    /// The kernel's last word on a clean power off.
    pub powered_off: bool,
    /// The kernel's last word when asked to power off a machine it cannot
    /// (no power-off driver): it halts instead.
    pub halted: bool,
    /// The `report: ` lines of the cases that passed: (case, text).
    pub reports: Vec<(String, String)>,
    /// Report lines whose case has not said ok or FAIL yet.
    pending: Vec<String>,
    /// Its last word on a restart.
    pub restarted: bool,
    /// `keep: NAME=VALUE` lines, the last value of each name.
    pub keeps: Vec<(String, String)>,
    /// Every line, for the texts a boot must show.
    pub lines: Vec<String>,
}

impl Verdict {
    /// Take in one console line. Markers are searched anywhere in the line:
    /// a kernel message may have been printed in front of one.
    pub fn observe(&mut self, line: &str) {
        if line.contains("Kernel panic") {
            self.kernel_panic = true;
        }
        if line.contains("reboot: Power down") {
            self.powered_off = true;
        }
        if line.contains("reboot: System halted") {
            self.halted = true;
        }
        if line.contains("reboot: Restarting system") {
            self.restarted = true;
        }
        if let Some((name, value)) = parse_keep(line) {
            match self.keeps.iter_mut().find(|(n, _)| *n == name) {
                Some(kept) => kept.1 = value,
                None => self.keeps.push((name, value)),
            }
        }
        self.lines.push(line.to_owned());
        // The runner prints a case's report lines just before its result.
        if let Some(at) = line.find("| report: ") {
            self.pending
                .push(line[at + "| report: ".len()..].trim().to_owned());
        } else if let Some(at) = line.find("BOX-TEST-RESULT ") {
            self.reported = parse_result(&line[at + "BOX-TEST-RESULT ".len()..]);
        } else if let Some(at) = line.find("BOX-TEST ") {
            let rest = &line[at + "BOX-TEST ".len()..];
            let mut words = rest.splitn(3, ' ');
            let name = words.next().unwrap_or("").to_owned();
            let reports = std::mem::take(&mut self.pending);
            match words.next() {
                Some("ok") => {
                    self.reports
                        .extend(reports.into_iter().map(|text| (name.clone(), text)));
                    self.passed.push(name);
                }
                Some("FAIL") => {
                    let reason = words.next().unwrap_or("").trim().to_owned();
                    self.failed.push((name, reason));
                }
                _ => self
                    .failed
                    .push((name, format!("unreadable result line: {line}"))),
            }
        }
    }

    /// Why a test boot that should have run `expected` cases failed; empty
    /// when it passed. A halt stands for the power off where the board
    /// says its kernel `halts` (board.rs). QEMU's exit status and the
    /// timeout are judged by the caller.
    pub fn test_problems(&self, expected: &[String], halts: bool) -> Vec<String> {
        let mut problems = Vec::new();
        if self.kernel_panic {
            problems.push("the kernel panicked".to_owned());
        }
        for name in expected {
            let seen = self.passed.contains(name) || self.failed.iter().any(|(n, _)| n == name);
            if !seen {
                problems.push(format!("{name}: no result"));
            }
        }
        for (name, reason) in &self.failed {
            problems.push(format!("{name} failed: {reason}"));
        }
        match self.reported {
            None => problems.push("no BOX-TEST-RESULT line: the suite did not finish".into()),
            Some((passed, failed))
                if (passed, failed) != (self.passed.len() as u64, self.failed.len() as u64) =>
            {
                problems.push(format!(
                    "the guest reported {passed} passed, {failed} failed, \
                     but the console showed {} ok and {} FAIL lines",
                    self.passed.len(),
                    self.failed.len()
                ))
            }
            Some((0, 0)) => problems.push("the guest ran no case".into()),
            Some(_) => {}
        }
        if halts && !self.halted {
            problems.push(
                "no clean end (the kernel never said \"reboot: System halted\", as it does on \
                 this machine when asked to power off)"
                    .into(),
            );
        } else if !halts && !self.powered_off {
            problems
                .push("no clean power off (the kernel never said \"reboot: Power down\")".into());
        }
        problems
    }
}

/// `keep: NAME=VALUE` anywhere in a line (a kernel message may precede
/// it); NAME of letters, digits and `_`, VALUE without spaces.
fn parse_keep(line: &str) -> Option<(String, String)> {
    let rest = &line[line.find("keep: ")? + "keep: ".len()..];
    let word = rest.split_whitespace().next()?;
    let (name, value) = word.split_once('=')?;
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (name_ok && !value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
}

impl Verdict {
    /// Why a boot that should have ended as `boot.ends` did not, for the
    /// cases `expected`; empty when it did. QEMU's exit status and the
    /// timeout are judged by the caller.
    pub fn boot_problems(&self, boot: &TestBoot, expected: &[String], halts: bool) -> Vec<String> {
        let mut problems = match boot.ends {
            Ends::Result => return self.with_console(boot, self.test_problems(expected, halts)),
            _ if self.kernel_panic => vec!["the kernel panicked".to_owned()],
            _ => Vec::new(),
        };
        for (name, reason) in &self.failed {
            problems.push(format!("{name} failed: {reason}"));
        }
        let shut_down = self.powered_off || self.restarted || (halts && self.halted);
        match boot.ends {
            Ends::Shutdown if !shut_down => problems.push(
                "the guest did not shut down (no \"reboot: Power down\" or \"Restarting system\")"
                    .into(),
            ),
            Ends::Watchdog => {
                if shut_down {
                    problems.push("the guest shut down by itself: the watchdog never fired".into());
                }
                if let Some(name) = expected.iter().find(|n| self.passed.contains(n)) {
                    problems.push(format!("{name} finished: the watchdog never fired"));
                }
            }
            _ => {}
        }
        self.with_console(boot, problems)
    }

    fn with_console(&self, boot: &TestBoot, mut problems: Vec<String>) -> Vec<String> {
        for text in &boot.console {
            if !self.lines.iter().any(|line| line.contains(text.as_str())) {
                problems.push(format!("the console never showed {text:?}"));
            }
        }
        problems
    }
}

/// `N passed, M failed` → (N, M).
fn parse_result(text: &str) -> Option<(u64, u64)> {
    let (passed, failed) = text.trim().split_once(", ")?;
    let passed = passed.strip_suffix(" passed")?.parse().ok()?;
    let failed = failed.strip_suffix(" failed")?.parse().ok()?;
    Some((passed, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(console: &str) -> Verdict {
        let mut verdict = Verdict::default();
        for line in console.lines() {
            verdict.observe(line);
        }
        verdict
    }

    #[test]
    fn a_passing_run() {
        let verdict = judge(
            "[    1.0] box-init: starting\n\
             BOX-TEST 10-mounts ok\n\
             [    2.0] random kernel line BOX-TEST 20-run ok\n\
             BOX-TEST-RESULT 2 passed, 0 failed\n\
             [    3.0] reboot: Power down\n",
        );
        let expected = ["10-mounts".to_owned(), "20-run".to_owned()];
        assert_eq!(
            verdict.test_problems(&expected, false),
            Vec::<String>::new()
        );
        let problems = verdict.test_problems(&["30-more".to_owned()], false);
        assert_eq!(problems, ["30-more: no result"]);
    }

    #[test]
    fn report_lines_belong_to_the_case_that_passed() {
        let verdict = judge(
            "  | report: a took 5 ms\n\
             BOX-TEST 80-a ok\n\
             \x20 | report: b was measured\n\
             \x20 | b went wrong\n\
             BOX-TEST 81-b FAIL b went wrong\n\
             BOX-TEST 82-c ok\n",
        );
        assert_eq!(
            verdict.reports,
            [("80-a".to_owned(), "a took 5 ms".to_owned())]
        );
    }

    #[test]
    fn failures_panics_and_missing_lines() {
        let verdict = judge(
            "BOX-TEST 10-mounts FAIL no cgroup2 at /sys/fs/cgroup\n\
             Kernel panic - not syncing: Attempted to kill init!\n",
        );
        let problems = verdict.test_problems(&[], false).join("\n");
        assert!(problems.contains("10-mounts failed: no cgroup2 at /sys/fs/cgroup"));
        assert!(problems.contains("panicked"));
        assert!(problems.contains("no BOX-TEST-RESULT"));
        assert!(problems.contains("power off"));
    }

    #[test]
    fn counts_must_agree() {
        let verdict =
            judge("BOX-TEST a ok\nBOX-TEST-RESULT 2 passed, 0 failed\nreboot: Power down\n");
        assert_eq!(verdict.test_problems(&[], false).len(), 1);
        assert_eq!(parse_result("3 passed, 1 failed"), Some((3, 1)));
        assert_eq!(parse_result("3 passed"), None);
        let verdict = judge("BOX-TEST-RESULT 0 passed, 0 failed\nreboot: Power down\n");
        assert_eq!(verdict.test_problems(&[], false), ["the guest ran no case"]);
    }

    #[test]
    fn a_halt_ends_a_run_only_where_the_board_halts() {
        let verdict =
            judge("BOX-TEST a ok\nBOX-TEST-RESULT 1 passed, 0 failed\nreboot: System halted\n");
        let expected = ["a".to_owned()];
        assert_eq!(verdict.test_problems(&expected, true), Vec::<String>::new());
        let problems = verdict.test_problems(&expected, false);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("Power down"), "{problems:?}");
        let verdict =
            judge("BOX-TEST a ok\nBOX-TEST-RESULT 1 passed, 0 failed\nreboot: Power down\n");
        assert!(verdict.test_problems(&expected, true)[0].contains("System halted"));
    }

    fn boot(append: &str, ends: Ends, console: &[&str]) -> TestBoot {
        TestBoot {
            append: append.into(),
            ends,
            console: console.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn cases_with_boot_append_get_their_own_boot() {
        let case = |name: &str, text: &str| (name.to_owned(), text.to_owned());
        let runs = plan_boots(&[
            case("10-a", "#!/bin/sh\n# plain\ntrue\n"),
            case("20-b", "#!/bin/sh\n# boot-append: box.spec=x\ntrue\n"),
            case(
                "30-c",
                "#!/bin/sh\ntrue\n# boot-append: ignored, not in the header\n",
            ),
            case("40-d", "#!/bin/sh\n# boot-append: box.spec=x\n"),
            case("50-e", "#!/bin/sh\n# boot-append:  box.shell=1 \n"),
        ])
        .unwrap();
        let expected = [
            TestRun {
                cases: vec!["10-a".into(), "30-c".into()],
                disk: None,
                boots: vec![boot("", Ends::Result, &[])],
            },
            TestRun {
                cases: vec!["20-b".into(), "40-d".into()],
                disk: None,
                boots: vec![boot("box.spec=x", Ends::Result, &[])],
            },
            TestRun {
                cases: vec!["50-e".into()],
                disk: None,
                boots: vec![boot("box.shell=1", Ends::Result, &[])],
            },
        ];
        assert_eq!(runs, expected);
        assert_eq!(runs[0].append(0, &[]), "box.tests=10-a,30-c");
        assert_eq!(runs[1].append(0, &[]), "box.tests=20-b,40-d box.spec=x");
    }

    #[test]
    fn boot_sequences_disks_and_their_endings() {
        let text = "#!/bin/sh\n\
                    # boot-disk: test\n\
                    # boot-append: box.switch_root=/dev/vda\n\
                    # boot-ends: shutdown\n\
                    # boot-console: shutting down\n\
                    # boot-append: box.switch_root=/dev/vda ro\n";
        let runs = plan_boots(&[
            ("91-a".into(), text.into()),
            ("92-b".into(), text.into()),
            ("93-c".into(), text.replace("ro\n", "rw\n")),
        ])
        .unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].cases, ["91-a", "92-b"]);
        assert_eq!(runs[0].disk, Some(DiskKind::Test));
        assert_eq!(
            runs[0].boots,
            [
                boot(
                    "box.switch_root=/dev/vda",
                    Ends::Shutdown,
                    &["shutting down"]
                ),
                boot("box.switch_root=/dev/vda ro", Ends::Result, &[]),
            ]
        );
        let keeps = [("fsynced1".to_owned(), "40".to_owned())];
        assert_eq!(
            runs[0].append(1, &keeps),
            "box.tests=91-a,92-b box.test.boot=2 box.test.fsynced1=40 box.switch_root=/dev/vda ro"
        );
        let bad = |text: &str| {
            plan_boots(&[("x".into(), text.into())])
                .unwrap_err()
                .to_string()
        };
        assert!(bad("# boot-ends: shutdown\n").contains("after the # boot-append"));
        assert!(bad("# boot-append: a\n# boot-ends: maybe\n").contains("maybe"));
        assert!(bad("# boot-disk: test\n").contains("without a # boot-append"));
        assert!(bad("# boot-disk: floppy\n# boot-append: a\n").contains("floppy"));
        assert!(bad("# boot-apend: a\n").contains("unknown header line"));
    }

    #[test]
    fn endings_are_judged() {
        let shutdown = boot("", Ends::Shutdown, &["boot fault"]);
        let verdict =
            judge("box-init: boot fault: rebooting in 1 s\n[ 3.0] reboot: Restarting system\n");
        assert_eq!(
            verdict.boot_problems(&shutdown, &[], false),
            Vec::<String>::new()
        );
        let verdict = judge("BOX-TEST x FAIL no data\nreboot: Power down\n");
        let problems = verdict.boot_problems(&shutdown, &[], false).join("\n");
        assert!(
            problems.contains("x failed: no data") && problems.contains("boot fault"),
            "{problems}"
        );
        assert!(!judge("").boot_problems(&shutdown, &[], false).is_empty());

        let watchdog = boot("", Ends::Watchdog, &[]);
        let expected = ["92-w".to_owned()];
        assert!(
            judge("box-init: watchdog: timeout 2 s\n")
                .boot_problems(&watchdog, &expected, false)
                .is_empty()
        );
        let fed =
            judge("BOX-TEST 92-w ok\nBOX-TEST-RESULT 1 passed, 0 failed\nreboot: Power down\n");
        let problems = fed.boot_problems(&watchdog, &expected, false).join("\n");
        assert!(problems.contains("never fired"), "{problems}");
    }

    #[test]
    fn keeps_are_collected_last_value_first() {
        let verdict = judge(
            "keep: fsynced1=10\n[ 1.0] virtio keep: written1=7 extra\nkeep: fsynced1=20\n\
             keep: bad name=1\nkeep: empty=\n",
        );
        assert_eq!(
            verdict.keeps,
            [
                ("fsynced1".to_owned(), "20".to_owned()),
                ("written1".to_owned(), "7".to_owned())
            ]
        );
    }

    #[test]
    fn the_suite_in_the_repository_is_complete() {
        let runs = boots().unwrap();
        assert!(runs[0].boots[0].append.is_empty());
        assert!(runs[0].cases.iter().any(|c| c == "10-boot-mounts"));
        let suite = directory();
        for part in ["run", "rc", "applets"] {
            assert!(suite.join(part).is_file(), "tests/guest/{part}");
        }
        for spec in files_ending(&suite.join("specs"), ".box").unwrap() {
            assert!(!read(&spec).unwrap().is_empty());
        }
    }
}
