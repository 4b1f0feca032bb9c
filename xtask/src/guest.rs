//! The guest test suite: what `--test` adds to the image, and how the
//! console of a test boot is judged.
//!
//! Layout in the repository, and where each part goes in the image:
//!
//! | repository                   | image                                 |
//! |------------------------------|---------------------------------------|
//! | tests/guest/run              | /tests/run                            |
//! | tests/guest/cases/NN-name.sh | /tests/cases/NN-name.sh               |
//! | tests/guest/specs/*.box      | /etc/box/*.box                        |
//! | tests/guest/rc               | /etc/box/rc                           |
//! | tests/guest/applets          | /bin/NAME → busybox, per listed name  |
//! | tests/guest/rootfs/ (if any) | laid over / as it is                  |
//! | (Debian's busybox-static)    | /bin/busybox                          |
//!
//! box-init runs /etc/box/rc, which starts /tests/run in the background.
//! The runner prints `BOX-TEST <name> ok|FAIL <reason>` per case, then
//! `BOX-TEST-RESULT N passed, M failed`, and asks box-init to power off.
//!
//! A case that needs its own kernel command line (say `box.spec=NAME`) says
//! so in a header line, `# boot-append: WORDS`: it then runs in a boot of its
//! own, with WORDS and `box.tests=CASE` appended (the runner reads
//! /proc/cmdline), while the first boot runs every case without one.

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
    for case in files_ending(&suite.join("cases"), ".sh")? {
        let name = file_name(&case);
        archive.file(&format!("/tests/cases/{name}"), 0o755, read(&case)?)?;
    }
    for spec in files_ending(&suite.join("specs"), ".box")? {
        let name = file_name(&spec);
        archive.file(&format!("/etc/box/{name}"), 0o644, read(&spec)?)?;
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

/// The header line of a case that needs a boot of its own.
const BOOT_APPEND: &str = "# boot-append:";

/// One boot of the test image.
#[derive(Debug, PartialEq, Eq)]
pub struct TestBoot {
    /// Words for the kernel command line; empty for the first boot.
    pub append: String,
    /// The cases it runs, by name (`NN-name`).
    pub cases: Vec<String>,
}

/// The boots the suite needs: the first runs every case without a
/// `# boot-append:` line, then one boot per distinct set of words.
pub fn boots() -> Result<Vec<TestBoot>> {
    let mut cases = Vec::new();
    for path in files_ending(&directory().join("cases"), ".sh")? {
        let text = String::from_utf8_lossy(&read(&path)?).into_owned();
        let name = file_name(&path).trim_end_matches(".sh").to_owned();
        cases.push((name, text));
    }
    Ok(plan_boots(&cases))
}

/// `boots` from (name, script) pairs.
fn plan_boots(cases: &[(String, String)]) -> Vec<TestBoot> {
    let mut first = Vec::new();
    // (words, cases), in the order the words first appear.
    let mut others: Vec<(&str, Vec<String>)> = Vec::new();
    for (name, text) in cases {
        let words = text
            .lines()
            .take_while(|line| line.starts_with('#'))
            .find_map(|line| line.strip_prefix(BOOT_APPEND))
            .map(str::trim);
        match words {
            None => first.push(name.clone()),
            Some(words) => match others.iter_mut().find(|(w, _)| *w == words) {
                Some((_, names)) => names.push(name.clone()),
                None => others.push((words, vec![name.clone()])),
            },
        }
    }
    let mut boots = Vec::new();
    if !first.is_empty() || others.is_empty() {
        boots.push(TestBoot {
            append: String::new(),
            cases: first,
        });
    }
    for (words, names) in others {
        boots.push(TestBoot {
            append: format!("box.tests={} {words}", names.join(",")),
            cases: names,
        });
    }
    boots
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

    #[test]
    fn cases_with_boot_append_get_their_own_boot() {
        let case = |name: &str, text: &str| (name.to_owned(), text.to_owned());
        let boots = plan_boots(&[
            case("10-a", "#!/bin/sh\n# plain\ntrue\n"),
            case("20-b", "#!/bin/sh\n# boot-append: box.spec=x\ntrue\n"),
            case(
                "30-c",
                "#!/bin/sh\ntrue\n# boot-append: ignored, not in the header\n",
            ),
            case("40-d", "#!/bin/sh\n# boot-append: box.spec=x\n"),
            case("50-e", "#!/bin/sh\n# boot-append:  box.shell=1 \n"),
        ]);
        let expected = [
            TestBoot {
                append: String::new(),
                cases: vec!["10-a".into(), "30-c".into()],
            },
            TestBoot {
                append: "box.tests=20-b,40-d box.spec=x".into(),
                cases: vec!["20-b".into(), "40-d".into()],
            },
            TestBoot {
                append: "box.tests=50-e box.shell=1".into(),
                cases: vec!["50-e".into()],
            },
        ];
        assert_eq!(boots, expected);
    }

    #[test]
    fn the_suite_in_the_repository_is_complete() {
        let boots = boots().unwrap();
        assert!(boots[0].append.is_empty());
        assert!(boots[0].cases.iter().any(|c| c == "10-boot-mounts"));
        let suite = directory();
        for part in ["run", "rc", "applets"] {
            assert!(suite.join(part).is_file(), "tests/guest/{part}");
        }
        for spec in files_ending(&suite.join("specs"), ".box").unwrap() {
            assert!(!read(&spec).unwrap().is_empty());
        }
    }
}
