//! `cargo xtask qemu --board B [--test [--cases A,B] | --disk] [--size]
//! [--kernel PATH] [--dtb PATH] [--kvm] [--timeout S] [--append ARGS]`:
//! build box (release, or with `--size` the size-tuned build), pack the
//! initramfs, boot it under QEMU with the board's serial console on stdio,
//! and return when the guest powers off.
//!
//! The console is printed line by line (without the guest's `\r`) and
//! watched: a kernel panic, a timeout (QEMU is killed) or a non-zero exit
//! of QEMU fail the run. With `--test` the image carries the guest suite
//! and the run fails unless every case passed (guest.rs). With `--disk`
//! the board's `[disk]` is built too (disk.rs) and attached, and box-init
//! hands over to it (`box.switch_root=DEVICE`): the demo then runs from a
//! real root.
//!
//! The board's `[watchdog] qemu` device is always attached, with QEMU's
//! watchdog action set to power off: a guest whose box-init stops feeding
//! it ends without a result.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::Reported;
use crate::board::{self, Board, Qemu};
use crate::build::Profile;
use crate::cli::Args;
use crate::guest::{self, DiskKind, Ends, Verdict};
use crate::kernel::{self, Kernel};
use crate::{disk, host, initramfs};

/// Seconds a boot may take before QEMU is killed: a hang detector. The
/// test image's first boot runs most of the guest suite, which under TCG
/// takes from under a minute (x86_64, an idle machine) to four (armv7 or
/// the Pi 3 on a machine busy with other work).
const DEFAULT_TIMEOUT: u64 = 420;

/// Debian packages with the emulators (QEMU-NOTES.md: without
/// --no-install-recommends they pull in a desktop's worth of libraries).
const QEMU_PACKAGES: &[&str] = &["qemu-system-x86", "qemu-system-arm"];

pub fn main(mut args: Args) -> Result<()> {
    let board = args
        .value(&["--board", "-b"])?
        .with_context(|| format!("--board is needed (boards: {})", board::names().join(", ")))?;
    let test = args.flag(&["--test"]);
    let with_disk = args.flag(&["--disk"]);
    let profile = if args.flag(&["--size"]) {
        Profile::Size
    } else {
        Profile::Release
    };
    let only: Option<Vec<String>> = args
        .value(&["--cases"])?
        .map(|list| list.split(',').map(str::to_owned).collect());
    let options = Options {
        test,
        with_disk,
        only,
        profile,
        kernel: args.value(&["--kernel", "-k"])?.map(PathBuf::from),
        dtb: args.value(&["--dtb"])?.map(PathBuf::from),
        kvm: args.flag(&["--kvm"]),
        timeout: args.number(&["--timeout"])?.unwrap_or(DEFAULT_TIMEOUT),
        append: args.value(&["--append"])?,
    };
    args.finish()?;
    if options.only.is_some() && !test {
        bail!("--cases picks cases of the guest suite: it goes with --test");
    }
    run(&board, &options).map(drop)
}

/// The guest suite on `board` with `profile`'s box, as `cargo xtask qemu
/// --board B --test [--size]` runs it: the report lines of the cases that
/// passed, (case, text), or the failure (already told on the console).
pub fn guest_suite(board: &str, profile: Profile) -> Result<Vec<(String, String)>> {
    let options = Options {
        test: true,
        with_disk: false,
        only: None,
        profile,
        kernel: None,
        dtb: None,
        kvm: false,
        timeout: DEFAULT_TIMEOUT,
        append: None,
    };
    run(board, &options)
}

/// What a `cargo xtask qemu` run was asked for.
struct Options {
    test: bool,
    /// `--disk`: a plain boot through the board's disk root.
    with_disk: bool,
    /// `--cases`: only these cases of the suite.
    only: Option<Vec<String>>,
    profile: Profile,
    kernel: Option<PathBuf>,
    dtb: Option<PathBuf>,
    kvm: bool,
    timeout: u64,
    append: Option<String>,
}

fn run(board: &str, options: &Options) -> Result<Vec<(String, String)>> {
    let board = board::load(board)?;
    let Some(qemu) = &board.qemu else {
        bail!(
            "board {} is not one QEMU emulates (no [qemu] section): `cargo xtask initramfs \
             --board {}` makes its image{}",
            board.name,
            board.name,
            if board.sdcard.is_some() {
                format!(
                    ", `cargo xtask sdcard --board {} DIR` its boot partition",
                    board.name
                )
            } else {
                String::new()
            }
        );
    };
    if options.test && options.with_disk {
        bail!("--disk is for a plain boot: the guest suite makes the disks its cases ask for");
    }
    if options.with_disk && board.disk.is_none() {
        bail!("board {} has no [disk] to boot from", board.name);
    }
    if options.kernel.is_some() && !board.modules.load.is_empty() {
        crate::note!(
            "--kernel: the image's modules come from the board's kernel; they load only into that same kernel"
        );
    }
    // What can fail fast does, before the build.
    let kernel = kernel::resolve(&board, options.kernel.as_deref(), options.dtb.as_deref())?;
    let program = format!("qemu-system-{}", board.target.arch);
    host::ensure_program(&program, QEMU_PACKAGES)?;
    let initrd = initramfs::create(&board, options.test, options.profile, None)?;

    let mut cmdline = format!("{} panic=-1", board.cmdline);
    if let Some(extra) = &options.append {
        cmdline = format!("{cmdline} {extra}");
    }
    let mut machine = Machine {
        program,
        qemu,
        kernel,
        initrd,
        cmdline,
        accel: accelerator(&board, options.kvm),
        timeout: Duration::from_secs(options.timeout),
        board: &board,
        disk: None,
    };
    if options.test {
        run_suite(&machine, options.profile, options.only.as_deref())
    } else {
        if options.with_disk {
            machine.disk = Some(disk_image(&board, options.profile, false)?);
            let device = &board.disk.as_ref().expect("checked above").device;
            machine.cmdline = format!("{} box.switch_root={device}", machine.cmdline);
        }
        boot_once(&machine).map(|()| Vec::new())
    }
}

/// Build the board's disk (with the guest suite when `test`) into
/// target/disk/BOARD[-size][-test].img.
fn disk_image(board: &Board, profile: Profile, test: bool) -> Result<PathBuf> {
    let box_binary = crate::build::build(board.target, profile)?;
    let root = disk::root(board, &box_binary, test)?;
    let name = format!(
        "{}{}{}.img",
        board.name,
        if profile == Profile::Size {
            "-size"
        } else {
            ""
        },
        if test { "-test" } else { "" }
    );
    let image = host::target_dir().join("disk").join(name);
    disk::create(board, &root, &image)?;
    Ok(image)
}

/// Everything a boot needs but the words a test boot adds to the cmdline.
struct Machine<'a> {
    program: String,
    qemu: &'a Qemu,
    kernel: Kernel,
    initrd: PathBuf,
    cmdline: String,
    accel: &'static str,
    timeout: Duration,
    board: &'a Board,
    /// The disk image attached, if any.
    disk: Option<PathBuf>,
}

/// A plain boot: fine when the guest powers off (QEMU exits 0) in time
/// without a kernel panic.
fn boot_once(machine: &Machine) -> Result<()> {
    let boot = boot(
        &mut command(machine, "", None),
        machine.timeout,
        machine.qemu.halts,
    )?;
    let mut problems = boot.problems();
    if boot.verdict.kernel_panic {
        problems.push("the kernel panicked".into());
    }
    match &problems[..] {
        [] => Ok(()),
        [one] => bail!("{one}"),
        _ => {
            for problem in &problems {
                crate::note!("{problem}");
            }
            bail!("{} problems (above)", problems.len())
        }
    }
}

/// The guest suite: one run of boots per set of cases (guest.rs), each boot
/// judged on its console (and its disk); the closing line counts the cases
/// of every boot. Returns the report lines of the cases that passed.
fn run_suite(
    machine: &Machine,
    profile: Profile,
    only: Option<&[String]>,
) -> Result<Vec<(String, String)>> {
    let mut runs = guest::boots()?;
    if let Some(only) = only {
        for name in only {
            if !runs.iter().any(|run| run.cases.contains(name)) {
                bail!("--cases: no case {name} in tests/guest/cases");
            }
        }
        for run in &mut runs {
            run.cases.retain(|case| only.contains(case));
        }
        runs.retain(|run| !run.cases.is_empty());
    }
    // What the board cannot run is said first, and not counted as boots.
    let mut skipped = 0;
    runs.retain(|run| match cannot_run(run, machine.board) {
        Some(why) => {
            for case in &run.cases {
                crate::note!("SKIPPED {case}: {why}");
            }
            skipped += run.cases.len();
            false
        }
        None => true,
    });
    let boots: usize = runs.iter().map(|r| r.boots.len()).sum();
    let mut problems = Vec::new();
    let mut reports = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    let mut template = None;
    let mut index = 0;
    for run in &runs {
        let disk = match run.disk {
            None => None,
            Some(DiskKind::Test) => {
                if template.is_none() {
                    template = Some(disk_image(machine.board, profile, true)?);
                }
                let template = template.as_ref().expect("just built");
                Some(disk::fresh_copy(template, &run.cases[0])?)
            }
        };
        let mut run_problems = Vec::new();
        let mut keeps: Vec<(String, String)> = Vec::new();
        for (at, test_boot) in run.boots.iter().enumerate() {
            index += 1;
            let label = format!("boot {index} of {boots}");
            if boots > 1 {
                crate::note!("{label}: {}", run.cases.join(", "));
            }
            let append = run.append(at, &keeps);
            let mut command = command(machine, &append, disk.as_deref());
            let boot = boot(&mut command, machine.timeout, machine.qemu.halts)?;
            let mut boot_problems = boot.problems();
            boot_problems.extend(boot.verdict.boot_problems(
                test_boot,
                &run.cases,
                machine.qemu.halts,
            ));
            if test_boot.ends == Ends::Result {
                passed += boot.verdict.passed.len();
                failed += boot.verdict.failed.len();
                reports.extend(boot.verdict.reports.iter().cloned());
            }
            for (name, value) in &boot.verdict.keeps {
                match keeps.iter_mut().find(|(n, _)| n == name) {
                    Some(kept) => kept.1 = value.clone(),
                    None => keeps.push((name.clone(), value.clone())),
                }
            }
            if let Some(image) = &disk {
                match disk::check(image) {
                    Ok(()) => crate::note!("{label}: e2fsck -fn: the disk is clean"),
                    Err(e) => boot_problems.push(format!("{e:#}")),
                }
            }
            if boots > 1 {
                boot_problems = boot_problems
                    .into_iter()
                    .map(|p| format!("{label}: {p}"))
                    .collect();
            }
            run_problems.extend(boot_problems);
        }
        // A run whose boots all end without the runner's result counts
        // its cases by its problems.
        if run.boots.iter().all(|b| b.ends != Ends::Result) {
            if run_problems.is_empty() {
                passed += run.cases.len();
            } else {
                failed += run.cases.len();
            }
        }
        if let Some(image) = &disk {
            if run_problems.is_empty() {
                let _ = std::fs::remove_file(image);
            } else {
                crate::note!(
                    "the disk of {} is kept: {}",
                    run.cases.join(", "),
                    host::shown(image)
                );
            }
        }
        problems.extend(run_problems);
    }
    for problem in &problems {
        crate::note!("{problem}");
    }
    // The closing line, after every message of xtask's own.
    if skipped == 0 {
        println!("guest: {passed} passed, {failed} failed");
    } else {
        println!("guest: {passed} passed, {failed} failed, {skipped} skipped");
    }
    if problems.is_empty() {
        Ok(reports)
    } else {
        Err(Reported.into())
    }
}

/// Why `board` cannot run the cases of `run` (what they need is not part
/// of it), if it cannot: such cases are said to be skipped, not counted as
/// passes or failures.
fn cannot_run(run: &guest::TestRun, board: &Board) -> Option<String> {
    if run.disk.is_some() && board.disk.is_none() {
        return Some(format!("board {} has no [disk]", board.name));
    }
    // A boot that QEMU's watchdog action must end needs the board's
    // watchdog device.
    let has_watchdog = board.watchdog.as_ref().is_some_and(|w| w.qemu.is_some());
    if run.boots.iter().any(|b| b.ends == Ends::Watchdog) && !has_watchdog {
        return Some(format!(
            "board {} has no [watchdog] qemu device",
            board.name
        ));
    }
    None
}

/// `-accel kvm` only when asked and when this machine has a KVM module for
/// the guest's architecture; TCG otherwise (QEMU-NOTES.md: a nested /dev/kvm
/// may hang at boot).
fn accelerator(board: &Board, kvm: bool) -> &'static str {
    if !kvm {
        return "tcg";
    }
    let module = ["/sys/module/kvm_intel", "/sys/module/kvm_amd"]
        .iter()
        .any(|m| Path::new(m).exists());
    if board.target.arch == std::env::consts::ARCH && module {
        "kvm"
    } else {
        crate::note!(
            "--kvm: no KVM for {} guests here; using TCG",
            board.target.arch
        );
        "tcg"
    }
}

/// The QEMU command line; `append` goes at the end of the kernel's.
fn command(machine: &Machine, append: &str, disk: Option<&Path>) -> Command {
    let qemu = machine.qemu;
    let mut command = Command::new(&machine.program);
    command.args(["-M", &qemu.machine]);
    if let Some(cpu) = &qemu.cpu {
        command.args(["-cpu", cpu]);
    }
    let cmdline = format!("{} {append}", machine.cmdline);
    command
        .args(["-m", &qemu.memory, "-accel", machine.accel])
        // No default devices, no window: the serial console is all there is.
        .args(["-nodefaults", "-display", "none"]);
    // Serial ports are numbered in the order of the -serial options: the
    // ones before the console's go nowhere.
    for _ in 0..qemu.serial {
        command.args(["-serial", "null"]);
    }
    command
        .args(["-serial", "stdio"])
        // A reboot (and, with panic=-1, a panic) ends QEMU.
        .arg("-no-reboot")
        .arg("-kernel")
        .arg(&machine.kernel.image);
    if let Some(dtb) = &machine.kernel.dtb {
        command.arg("-dtb").arg(dtb);
    }
    command
        .arg("-initrd")
        .arg(&machine.initrd)
        .args(["-append", cmdline.trim_end()])
        .args(&qemu.args);
    if let Some(device) = machine
        .board
        .watchdog
        .as_ref()
        .and_then(|w| w.qemu.as_ref())
    {
        command.args(["-device", device, "-action", "watchdog=poweroff"]);
    }
    let disk = disk.or(machine.disk.as_deref());
    if let (Some(image), Some(board_disk)) = (disk, &machine.board.disk) {
        let device = board_disk.qemu.as_deref().unwrap_or("virtio-blk-pci");
        command
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=root",
                image.display()
            ))
            .args(["-device", &format!("{device},drive=root")]);
    }
    command
}

struct Boot {
    verdict: Verdict,
    status: ExitStatus,
    timed_out: bool,
    timeout: Duration,
    /// QEMU was ended by xtask after the kernel halted (board key `halts`).
    ended_on_halt: bool,
}

impl Boot {
    /// A timeout or QEMU's failure. (QEMU exits 0 on a power off, and also
    /// on a panic with panic=-1: the console tells those apart.)
    fn problems(&self) -> Vec<String> {
        if self.ended_on_halt {
            Vec::new()
        } else if self.timed_out {
            vec![format!(
                "timed out after {} s: QEMU killed",
                self.timeout.as_secs()
            )]
        } else if !self.status.success() {
            vec![format!("QEMU exited with {}", self.status)]
        } else {
            Vec::new()
        }
    }
}

/// Run QEMU, print and judge its console, kill it at the deadline, or
/// once the kernel has halted when `halts` (it never ends QEMU then).
fn boot(command: &mut Command, timeout: Duration, halts: bool) -> Result<Boot> {
    crate::note!("{}", host::describe(command));
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", host::describe(command)))?;
    let stdout = child.stdout.take().expect("piped stdout");
    // A thread reads the console so that the deadline can be kept while a
    // line is incomplete; it ends at EOF, when QEMU is gone.
    let (lines, console) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut buffer = Vec::new();
        while let Ok(n) = stdout.read_until(b'\n', &mut buffer) {
            if n == 0 || lines.send(clean(&buffer)).is_err() {
                break;
            }
            buffer.clear();
        }
    });
    let deadline = started + timeout;
    let mut verdict = Verdict::default();
    let mut show = |line: String| {
        println!("{line}");
        verdict.observe(&line);
    };
    let mut timed_out = false;
    let mut ended_on_halt = false;
    loop {
        match console.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                // Where the kernel has no way to power off it has none to
                // restart either: after "Restarting system" it spins
                // (arm64's machine_restart, its "Reboot failed" below the
                // console level of `quiet`), so that line is its last too.
                let halted = halts
                    && (line.contains("reboot: System halted")
                        || line.contains("reboot: Restarting system"));
                show(line);
                if halted {
                    ended_on_halt = true;
                    let _ = child.kill();
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait()?;
    let _ = reader.join();
    for line in console.try_iter() {
        show(line);
    }
    let elapsed = started.elapsed();
    crate::note!(
        "QEMU ended after {:.1} s ({status}){}",
        elapsed.as_secs_f64(),
        if timed_out {
            ", killed at the deadline"
        } else if ended_on_halt {
            ", killed once the kernel had halted"
        } else {
            ""
        }
    );
    Ok(Boot {
        verdict,
        status,
        timed_out,
        timeout,
        ended_on_halt,
    })
}

/// A console line as text: no line ending, no `\r` (the guest's tty sends
/// `\r\n`), no NULs.
fn clean(bytes: &[u8]) -> String {
    let kept: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n' && b != 0)
        .collect();
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_skips_only_the_cases_it_lacks_the_hardware_for() {
        let runs = guest::boots().unwrap();
        let skipped = |name: &str| -> Vec<String> {
            let board = board::load(name).unwrap();
            runs.iter()
                .filter(|run| cannot_run(run, &board).is_some())
                .flat_map(|run| run.cases.clone())
                .collect()
        };
        assert_eq!(skipped("qemu-x86_64"), Vec::<String>::new());
        assert_eq!(skipped("qemu-aarch64"), Vec::<String>::new());
        assert_eq!(skipped("qemu-armv7"), ["92-watchdog"]);
        let mut pi = skipped("rpi3b");
        pi.sort();
        let lacking = [
            "90-switch-root",
            "91-shutdown-keeps-data",
            "92-watchdog",
            "94-root-bad-fstype",
            "95-spec-corrupt",
            "96-init-missing",
        ];
        assert_eq!(pi, lacking);
    }

    #[test]
    fn console_lines_are_cleaned() {
        assert_eq!(clean(b"BOX-TEST a ok\r\n"), "BOX-TEST a ok");
        assert_eq!(clean(b"\r\r[ 1.0] x\r\n"), "[ 1.0] x");
        assert_eq!(clean(b"partial"), "partial");
    }

    #[test]
    fn a_hanging_guest_is_killed_at_the_deadline() {
        let mut command = Command::new("sh");
        command.args(["-c", "printf 'BOX-TEST a ok\\r\\n'; exec sleep 30"]);
        let started = Instant::now();
        let boot = boot(&mut command, Duration::from_millis(500), false).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(boot.timed_out);
        assert!(boot.problems()[0].starts_with("timed out after 0 s"));
        assert_eq!(boot.verdict.passed, ["a"]);
    }

    #[test]
    fn a_guest_that_ends_is_waited_for() {
        let mut command = Command::new("sh");
        command.args(["-c", "printf 'reboot: Power down\\r\\nno newline'"]);
        let boot = boot(&mut command, Duration::from_secs(10), false).unwrap();
        assert!(!boot.timed_out && boot.status.success());
        assert!(boot.problems().is_empty());
        assert!(boot.verdict.powered_off);
    }

    #[test]
    fn a_guest_that_halts_is_ended_where_the_board_says_so() {
        let script = "printf 'BOX-TEST-RESULT 0 passed, 0 failed\\r\\nreboot: System halted\\r\\n'; \
                      exec sleep 30";
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        let started = Instant::now();
        let ended = boot(&mut command, Duration::from_secs(20), true).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(ended.ended_on_halt && !ended.timed_out);
        assert!(ended.problems().is_empty());
        assert!(ended.verdict.halted && !ended.verdict.powered_off);
        // Elsewhere a halt is no end: the guest hangs until the deadline.
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        let hung = boot(&mut command, Duration::from_millis(500), false).unwrap();
        assert!(hung.timed_out && !hung.ended_on_halt);
    }

    #[test]
    fn a_restart_the_board_cannot_make_ends_it_where_it_halts() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "printf 'reboot: Restarting system\\r\\n'; exec sleep 30",
        ]);
        let started = Instant::now();
        let ended = boot(&mut command, Duration::from_secs(20), true).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(ended.ended_on_halt && ended.problems().is_empty());
        assert!(ended.verdict.restarted);
    }
}
