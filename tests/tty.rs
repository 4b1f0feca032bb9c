//! The caller's terminal and `-t/--tty`, as root with a busybox rootfs. The
//! test plays the user at a terminal: it opens a pty pair itself, runs box
//! on the slave as its controlling terminal, and types and reads on the
//! master.
//!
//! - Without `-t`, nothing in the container holds the caller's terminal:
//!   no process has it open once box has returned, and a leftover can
//!   neither read the keys typed on it nor write to it.
//! - With `-t`, the command's terminal is a pty of the container's own
//!   devpts; its size follows the caller's; the caller's settings come back
//!   on every way out; exit statuses and the last output are kept.

mod common;

use common::*;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn setup(test: &str) -> Option<TempDir> {
    if !need_root(test) || !have_busybox(test) {
        return None;
    }
    Some(busybox_rootfs(test))
}

fn name(tag: &str) -> String {
    format!("tty-{tag}-{}", std::process::id())
}

const LIMIT: Duration = Duration::from_secs(20);

/// A pty pair opened by the test: the slave is box's terminal, the master
/// the keyboard and screen. A thread collects everything written to the
/// screen.
struct Pty {
    master: Arc<OwnedFd>,
    slave: File,
    screen: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    fn open(rows: u16, cols: u16) -> Pty {
        // SAFETY: plain libc calls on descriptors this function owns; the
        // name buffer outlives ptsname_r's use of it.
        let (master, slave) = unsafe {
            let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(m >= 0, "posix_openpt");
            assert_eq!(libc::grantpt(m), 0, "grantpt");
            assert_eq!(libc::unlockpt(m), 0, "unlockpt");
            let mut name = [0 as libc::c_char; 64];
            assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
            let s = libc::open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            );
            assert!(s >= 0, "open the slave");
            (OwnedFd::from_raw_fd(m), File::from_raw_fd(s))
        };
        let master = Arc::new(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (master, screen, stop) = (master.clone(), screen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    read_available(master.as_raw_fd(), &screen, 20);
                }
            })
        };
        let pty = Pty {
            master,
            slave,
            screen,
            stop,
            reader: Some(reader),
        };
        pty.resize(rows, cols);
        pty
    }

    /// Run box on the slave as the leader of a new session whose
    /// controlling terminal it is, as a login shell's job would be.
    fn spawn(&self, program: &str, args: &[&str]) -> Child {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(self.slave.try_clone().unwrap())
            .stdout(self.slave.try_clone().unwrap())
            .stderr(self.slave.try_clone().unwrap());
        // SAFETY: setsid and ioctl are async-signal-safe, as pre_exec
        // requires.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().expect("spawn on the pty")
    }

    fn box_run(&self, args: &[&str]) -> Child {
        self.spawn(BOX, args)
    }

    fn resize(&self, rows: u16, cols: u16) {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer.
        let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(r, 0, "TIOCSWINSZ");
    }

    /// Type `bytes`.
    fn type_in(&self, bytes: &[u8]) {
        // SAFETY: writing a buffer we own to a descriptor we own.
        let n = unsafe { libc::write(self.master.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(n, bytes.len() as isize, "write to the master");
    }

    /// What the screen shows so far, without carriage returns.
    fn screen(&self) -> String {
        let bytes = self.screen.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).replace('\r', "")
    }

    /// Wait until the screen shows `text`.
    fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.screen().contains(text) {
            assert!(
                start.elapsed() < LIMIT,
                "timed out waiting for {text:?} on the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything written to the screen, once the writers are done: the
    /// reader stops, and the last read takes what is still on its way
    /// (a tty read first flushes the buffers in flight).
    fn finish(&mut self) -> String {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        read_available(self.master.as_raw_fd(), &self.screen, 0);
        self.screen()
    }

    /// The slave's settings, as `stty -g` would save them.
    fn termios(&self) -> Vec<u64> {
        // SAFETY: tcgetattr fills the termios it is given.
        let t = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(self.slave.as_raw_fd(), &mut t), 0);
            t
        };
        let mut v = vec![
            u64::from(t.c_iflag),
            u64::from(t.c_oflag),
            u64::from(t.c_cflag),
            u64::from(t.c_lflag),
        ];
        v.extend(t.c_cc.iter().map(|&c| u64::from(c)));
        v
    }

    /// The slave as a device: (st_dev of its devpts, st_rdev).
    fn slave_device(&self) -> (u64, u64) {
        let m = self.slave.metadata().unwrap();
        (m.dev(), m.rdev())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Read what the master has now (waiting up to `timeout_ms` for the first
/// bytes) into `screen`.
fn read_available(fd: i32, screen: &Mutex<Vec<u8>>, timeout_ms: i32) {
    let mut timeout = timeout_ms;
    loop {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, timeout) } <= 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
        screen.lock().unwrap().extend_from_slice(&buf[..n as usize]);
        timeout = 0;
    }
}

/// Wait for a child with a limit; its exit status as a shell reports it.
fn wait_code(mut child: Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("box did not return within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every process but this test that has the device `(dev, rdev)` open.
fn holders_of(device: (u64, u64)) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for proc in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = proc.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(m) = std::fs::metadata(fd.path()) else {
                continue;
            };
            if m.file_type().is_char_device() && (m.dev(), m.rdev()) == device {
                let comm = std::fs::read_to_string(proc.path().join("comm")).unwrap_or_default();
                found.push(format!(
                    "pid {pid} ({}) fd {}",
                    comm.trim(),
                    fd.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

/// Processes whose root directory is `root` (a container's, seen from the
/// host), killed on drop: the leftovers a test makes on purpose.
struct KillRootedAt(std::path::PathBuf);

impl KillRootedAt {
    fn pids(&self) -> Vec<i32> {
        let Ok(want) = std::fs::metadata(&self.0) else {
            return Vec::new();
        };
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|p| p.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|pid| {
                std::fs::metadata(format!("/proc/{pid}/root"))
                    .is_ok_and(|m| (m.dev(), m.ino()) == (want.dev(), want.ino()))
            })
            .collect()
    }
}

impl Drop for KillRootedAt {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: kill(2) on a process of the container this test made.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Wait until `path` exists; its content.
fn wait_file(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            start.elapsed() < LIMIT,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Leftovers that keep the command's 0, 1, 2 (directly and through a
/// copy on fd 3), one waiting for /tmp/go to write, one reading a line.
const LEFTOVERS: &str = r#"exec 3<&0
(trap "" PIPE; while [ ! -e /tmp/go ]; do sleep 0.05; done
 echo LEAK-OUT; echo LEAK-ERR >&2; echo LEAK-FD3 >&3; echo done > /tmp/out-done) &
(read line <&3; echo "got:$line" > /tmp/in-done) &
sleep 30 <&3 &
echo started"#;

/// After the command returned with its leftovers running: none of them
/// has the terminal open, none reads what is typed on it, none writes to it.
fn check_leftovers_are_cut_off(pty: &mut Pty, root: &Path) {
    let holders = holders_of(pty.slave_device());
    assert!(
        holders.is_empty(),
        "processes still hold the caller's terminal after box returned: {holders:?}"
    );
    pty.type_in(b"SECRET\n");
    let got = wait_file(&root.join("tmp/in-done"));
    assert!(
        !got.contains("SECRET"),
        "a leftover read the caller's keys: {got:?}"
    );
    File::create(root.join("tmp/go")).unwrap();
    wait_file(&root.join("tmp/out-done"));
    let screen = pty.finish();
    assert!(
        !screen.contains("LEAK"),
        "a leftover wrote to the caller's terminal:\n{screen}"
    );
}

#[test]
#[ignore = "needs root"]
fn exec_leaves_nothing_on_the_callers_terminal() {
    let Some(root) = setup("exec_leaves_nothing_on_the_callers_terminal") else {
        return;
    };
    let n = name("exec-leak");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    run_detached(&n, r, &["sh", "-c", "while :; do sleep 1; done"]);

    let mut pty = Pty::open(24, 80);
    let exec = pty.box_run(&["exec", &n, "--", "sh", "-c", LEFTOVERS]);
    assert_eq!(wait_code(exec), 0, "{}", pty.screen());
    pty.wait_for("started");
    check_leftovers_are_cut_off(&mut pty, root.path());
}

#[test]
#[ignore = "needs root"]
fn run_without_pid_namespace_leaves_nothing_on_the_callers_terminal() {
    let Some(root) = setup("run_without_pid_namespace_leaves_nothing") else {
        return;
    };
    // Without a PID namespace the leftovers outlive box run.
    let _leftovers = KillRootedAt(root.path().to_path_buf());
    let mut pty = Pty::open(24, 80);
    let run = pty.box_run(&[
        "run",
        "--ns",
        "mount,uts,ipc",
        "--rootfs",
        root.path().to_str().unwrap(),
        "sh",
        "-c",
        LEFTOVERS,
    ]);
    assert_eq!(wait_code(run), 0, "{}", pty.screen());
    pty.wait_for("started");
    check_leftovers_are_cut_off(&mut pty, root.path());
}

#[test]
#[ignore = "needs root"]
fn without_t_the_command_gets_pipes_that_box_relays() {
    let Some(root) = setup("without_t_the_command_gets_pipes") else {
        return;
    };
    let mut pty = Pty::open(24, 80);
    let before = pty.termios();
    let run = pty.box_run(&[
        "run",
        "--rootfs",
        root.path().to_str().unwrap(),
        "sh",
        "-c",
        "for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; tty; \
         (exec 4</dev/tty) 2>/dev/null || echo no controlling terminal; \
         echo a; echo b >&2; echo c; read x; echo \"got:$x\"; exit 5",
    ]);
    pty.wait_for("c\n");
    pty.type_in(b"hello\n");
    assert_eq!(wait_code(run), 5, "{}", pty.screen());
    let screen = pty.finish();
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines.len() >= 10,
        "expected fds, tty, /dev/tty, a, b, c, the echo, got:\n{screen}"
    );
    for fd in &lines[..3] {
        assert!(fd.starts_with("pipe:["), "not a pipe: {fd:?}\n{screen}");
    }
    assert_ne!(
        lines[0], lines[1],
        "input and output share a pipe\n{screen}"
    );
    assert_eq!(
        lines[1], lines[2],
        "stdout and stderr on one terminal share one pipe, which keeps their order\n{screen}"
    );
    assert_eq!(
        lines[3..5],
        ["not a tty", "no controlling terminal"],
        "{screen}"
    );
    assert_eq!(lines[5..8], ["a", "b", "c"], "{screen}");
    assert!(
        lines.contains(&"got:hello"),
        "typed line relayed:\n{screen}"
    );
    assert_eq!(pty.termios(), before, "the terminal's settings changed");
}

/// What a command prints about its terminal: its name, the st_dev of the
/// container's devpts and of the terminal on fd 0, the size.
const WHICH_TERMINAL: &str = "tty; stat -c %d /dev/pts; stat -L -c %d /proc/self/fd/0; stty size";

/// Check the lines WHICH_TERMINAL printed: a pty of the container's devpts
/// (not the host's), of size `size`.
fn check_containers_terminal(screen: &str, size: &str) {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("/dev/pts/"))
        .unwrap_or_else(|| panic!("no /dev/pts/N from tty:\n{screen}"));
    assert!(lines.len() >= at + 4, "{screen}");
    let devpts: u64 = lines[at + 1].parse().unwrap();
    let terminal: u64 = lines[at + 2].parse().unwrap();
    assert_eq!(
        devpts, terminal,
        "fd 0 is not a pty of the container's devpts\n{screen}"
    );
    let host = std::fs::metadata("/dev/pts").unwrap().dev();
    assert_ne!(devpts, host, "the pty is the host's devpts\n{screen}");
    assert_eq!(lines[at + 3], size, "stty size\n{screen}");
}

#[test]
#[ignore = "needs root"]
fn run_t_gives_a_pty_of_the_container() {
    let Some(root) = setup("run_t_gives_a_pty_of_the_container") else {
        return;
    };
    let mut pty = Pty::open(33, 97);
    let before = pty.termios();
    let script = format!(
        "{WHICH_TERMINAL}; echo ready; read x; stty size; \
         i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; printf 'last words'; exit 3"
    );
    let run = pty.box_run(&[
        "run",
        "-t",
        "--rootfs",
        root.path().to_str().unwrap(),
        "sh",
        "-c",
        &script,
    ]);
    pty.wait_for("ready\n");
    assert_ne!(
        pty.termios(),
        before,
        "the caller's terminal is not in raw mode"
    );
    // The kernel signals SIGWINCH to box, which copies the size to the pty.
    pty.resize(40, 120);
    pty.type_in(b"go\r");
    assert_eq!(wait_code(run), 3, "{}", pty.screen());
    let screen = pty.finish();
    check_containers_terminal(&screen, "33 97");
    let lines: Vec<&str> = screen.lines().collect();
    let ready = lines.iter().position(|l| *l == "ready").unwrap();
    assert_eq!(lines[ready + 1], "go", "the pty echoes\n{screen}");
    assert_eq!(lines[ready + 2], "40 120", "resize inside\n{screen}");
    let numbered: Vec<&str> = lines[ready + 3..]
        .iter()
        .copied()
        .filter(|l| l.starts_with("line"))
        .collect();
    assert_eq!(numbered.len(), 2000, "lines lost\n{screen}");
    assert!(
        screen.ends_with("line1999\nlast words"),
        "the last output before exit is lost:\n{}",
        &screen[screen.len().saturating_sub(200)..]
    );
    assert_eq!(pty.termios(), before, "the caller's terminal settings");
}

#[test]
#[ignore = "needs root"]
fn run_t_pty_belongs_to_the_user() {
    let Some(root) = setup("run_t_pty_belongs_to_the_user") else {
        return;
    };
    let mut pty = Pty::open(24, 80);
    let run = pty.box_run(&[
        "run",
        "-t",
        "--user",
        "1000:1001",
        "--rootfs",
        root.path().to_str().unwrap(),
        "sh",
        "-c",
        "stat -L -c 'owner %u %g' /proc/self/fd/0",
    ]);
    assert_eq!(wait_code(run), 0, "{}", pty.screen());
    let screen = pty.finish();
    assert!(screen.contains("owner 1000 1001"), "{screen}");
}

#[test]
#[ignore = "needs root"]
fn run_t_error_before_exec() {
    let Some(root) = setup("run_t_error_before_exec") else {
        return;
    };
    let mut pty = Pty::open(24, 80);
    let before = pty.termios();
    let run = pty.box_run(&[
        "run",
        "-t",
        "--rootfs",
        root.path().to_str().unwrap(),
        "/no/such/command",
    ]);
    assert_eq!(wait_code(run), 127, "{}", pty.screen());
    let screen = pty.finish();
    assert_eq!(screen.lines().count(), 1, "one error line:\n{screen}");
    assert!(screen.starts_with("box: run: "), "{screen}");
    assert_eq!(pty.termios(), before, "the caller's terminal settings");
}

#[test]
#[ignore = "needs root"]
fn exec_t_gives_a_pty_of_the_container() {
    let Some(root) = setup("exec_t_gives_a_pty_of_the_container") else {
        return;
    };
    let n = name("exec-t");
    let _sweep = ContainerSweep::new(&n);
    let r = root.path().to_str().unwrap();
    run_detached(&n, r, &["sh", "-c", "while :; do sleep 1; done"]);

    // Its terminal, and the exit statuses: 0, 3, killed by SIGKILL.
    for (script, code) in [
        (WHICH_TERMINAL.to_string(), 0),
        ("exit 3".to_string(), 3),
        ("kill -9 $$".to_string(), 137),
    ] {
        let mut pty = Pty::open(33, 97);
        let before = pty.termios();
        let exec = pty.box_run(&["exec", "-t", &n, "sh", "-c", &script]);
        assert_eq!(wait_code(exec), code, "{script}: {}", pty.screen());
        let screen = pty.finish();
        if code == 0 {
            check_containers_terminal(&screen, "33 97");
        }
        assert_eq!(pty.termios(), before, "{script}: the terminal's settings");
    }

    // box killed by SIGTERM or SIGHUP: forwarded, the command dies of it,
    // box exits as it did and puts the terminal back.
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let mut pty = Pty::open(24, 80);
        let before = pty.termios();
        let exec = pty.box_run(&["exec", "-t", &n, "sh", "-c", "echo up; exec sleep 30"]);
        pty.wait_for("up\n");
        // SAFETY: kill(2) on the box this test started.
        unsafe { libc::kill(exec.id() as i32, signal) };
        assert_eq!(wait_code(exec), code, "signal {signal}: {}", pty.screen());
        pty.finish();
        assert_eq!(
            pty.termios(),
            before,
            "signal {signal}: the terminal's settings"
        );
    }

    // Leftovers of an exec -t keep nothing of the caller's terminal: they
    // had the container's pty, which is hung up once box returns.
    let mut pty = Pty::open(24, 80);
    // SIGHUP ignored from the start: the kernel sends it to the pty's
    // foreground group when the session leader exits, and the leftovers
    // must live on to try.
    let script = r#"trap "" HUP PIPE
sleep 30 >/dev/tty &
(while [ ! -e /tmp/go ]; do sleep 0.05; done
 echo LEAK >/dev/tty; echo LEAK-OUT; echo done > /tmp/tty-done) 2>/dev/null &
echo started"#;
    let exec = pty.box_run(&["exec", "-t", &n, "sh", "-c", script]);
    assert_eq!(wait_code(exec), 0, "{}", pty.screen());
    let holders = holders_of(pty.slave_device());
    assert!(holders.is_empty(), "{holders:?}");
    File::create(root.path().join("tmp/go")).unwrap();
    wait_file(&root.path().join("tmp/tty-done"));
    let screen = pty.finish();
    assert!(screen.contains("started"), "{screen}");
    assert!(!screen.contains("LEAK"), "{screen}");

    // -t needs a terminal on stdin.
    let refused = run_box(["exec", "-t", &n, "true"]);
    assert_eq!(refused.code(), 125, "{refused:?}");
    assert!(
        one_error_line(&refused).contains("not a terminal"),
        "{refused:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn t_without_a_terminal_is_refused() {
    let Some(root) = setup("t_without_a_terminal_is_refused") else {
        return;
    };
    let r = root.path().to_str().unwrap();
    let run = run_box(["run", "-t", "--rootfs", r, "true"]);
    assert_eq!(run.code(), 125, "{run:?}");
    assert!(one_error_line(&run).contains("not a terminal"), "{run:?}");
    let detached = run_box(["run", "-t", "-d", "--rootfs", r, "true"]);
    assert_eq!(detached.code(), 125, "{detached:?}");
    assert!(
        one_error_line(&detached).contains("--detach"),
        "{detached:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn a_background_box_leaves_the_terminal_to_the_foreground() {
    let Some(root) = setup("a_background_box_leaves_the_terminal") else {
        return;
    };
    // A shell with job control runs box in the background; what is typed
    // meanwhile is the shell's, and box is neither stopped (SIGTTIN) nor
    // taking it.
    let mut pty = Pty::open(24, 80);
    let script = format!(
        "set -m; {BOX} run --rootfs {} sh -c 'echo up; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo out' & \
         wait $!; echo \"box:$?\"; read x; echo \"shell got:$x\"",
        root.path().display()
    );
    let shell = pty.spawn("/bin/sh", &["-c", &script]);
    pty.wait_for("up\n");
    pty.type_in(b"typed\n");
    File::create(root.path().join("tmp/go")).unwrap();
    assert_eq!(wait_code(shell), 0, "{}", pty.screen());
    let screen = pty.finish();
    assert!(screen.contains("out\n"), "{screen}");
    assert!(screen.contains("box:0\n"), "{screen}");
    assert!(screen.contains("shell got:typed"), "{screen}");
}
