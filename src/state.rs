//! Named containers' state, under /run/box/NAME:
//!
//! | file | content |
//! |---|---|
//! | `pid` | the container's init, as the host sees it |
//! | `start` | that process's start time (clock ticks since boot, /proc/PID/stat field 22): a PID the kernel reused for another process does not match it |
//! | `supervisor` | the PID of the `box run` that supervises it |
//! | `created` | when it started, seconds since the epoch |
//! | `status` | `running`, then `exited N` (see [`exit_status`]) |
//! | `command` | the command line, for `box ps` |
//! | `rm` | present for `box run --rm`: nothing is kept once it has ended |
//! | `log`, `log.1` | a detached container's output, rotated at [`LOG_MAX`] |
//!
//! A directory is claimed with mkdir (atomic), so two containers can never
//! share a name. The state of a container that has ended (it exited, or its
//! supervisor was killed and it died with it: "gone") stays, with its log,
//! until `box rm NAME`, as Docker keeps an exited container: its status and
//! output can be read after a crash, and the name is not taken again
//! meanwhile. With `--rm` the supervisor removes it at the end, and one
//! left by a `--rm` container that is gone (or by one that never started)
//! is removed by `box ps` or by the next container to claim the name.

use core::ffi::CStr;
use core::mem::MaybeUninit;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};

use crate::bad;
use crate::error::{Error, Result};
use crate::text::{Bytes, CPath, Text};

/// Where named containers keep their state.
pub const STATE_DIR: &[u8] = b"/run/box";
/// A detached container's log is rotated past this size (so at most twice
/// this is kept: `log` and `log.1`).
pub const LOG_MAX: u64 = 1 << 20;

/// The files a state directory may hold (removed one by one, then the
/// directory).
const FILES: &[&CStr] = &[
    c"pid",
    c"start",
    c"supervisor",
    c"created",
    c"status",
    c"command",
    c"rm",
    c"log",
    c"log.1",
];

pub struct State {
    dir: OwnedFd,
    path: CPath,
}

/// What `box ps` shows of a container.
pub struct Record {
    pub pid: Option<Pid>,
    pub start: u64,
    pub supervisor: Option<Pid>,
    pub created: u64,
    pub status: Text<32>,
    pub command: Text<COMMAND_MAX>,
    /// `box run --rm`: its state goes when it ends.
    pub remove_when_done: bool,
}

/// Where a container is in its life, from its record and the processes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Claimed by a `box run` that has not started it yet.
    Starting,
    Running,
    /// Exited; its status is recorded.
    Exited,
    /// Dead without a recorded status: its supervisor (or the `box run`
    /// holding it) was killed, and it died with it.
    Gone,
}

impl Record {
    /// Whether the recorded init still runs (and is the same process, not
    /// a zombie waiting to be reaped).
    pub fn alive(&self) -> bool {
        self.pid
            .and_then(process_stat)
            .is_some_and(|(state, start)| start == self.start && state != b'Z' && state != b'X')
    }

    /// Claimed by a box run that has not started the container yet: no
    /// pid, and the claimer (recorded as supervisor) alive.
    pub fn starting(&self) -> bool {
        self.pid.is_none()
            && self
                .supervisor
                .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    }

    pub fn phase(&self) -> Phase {
        if self.starting() {
            Phase::Starting
        } else if self.alive() {
            Phase::Running
        } else if self.status.as_bytes().starts_with(b"exited") {
            Phase::Exited
        } else {
            Phase::Gone
        }
    }

    /// Whether nothing of the container is worth keeping once it is gone:
    /// `--rm` asked for that, or it never started (its `box run` was
    /// killed before it recorded a pid, maybe before it wrote the `rm`
    /// mark: such state is taken over or removed as `--rm` state is).
    pub fn disposable(&self, phase: Phase) -> bool {
        phase == Phase::Gone && (self.remove_when_done || self.pid.is_none())
    }

    /// The status as `box ps` shows it: `starting`, `running`, `exited N…`
    /// or `gone`.
    pub fn shown_status(&self, phase: Phase) -> Text<32> {
        match phase {
            Phase::Starting => Text::from_bytes_lossy(b"starting"),
            Phase::Running | Phase::Exited => self.status,
            Phase::Gone => Text::from_bytes_lossy(b"gone"),
        }
    }
}

fn dir_path(name: &[u8]) -> Result<CPath> {
    CPath::from_parts(&[STATE_DIR, b"/", name]).ok_or_else(|| bad!("name too long"))
}

impl State {
    /// The running container NAME: its state, record and a pidfd (or `None`
    /// on kernels before 5.3, where its PID is used after the start-time
    /// check). For `box exec`, `box kill` and `box stop`.
    pub fn open_running(name: &[u8]) -> Result<(State, Record, Option<OwnedFd>)> {
        let state = State::open(name)?;
        let record = state.record();
        let Some(pid) = record.pid.filter(|_| record.alive()) else {
            return Err(bad!(
                "container {} is not running ({})",
                Bytes(name),
                record.shown_status(record.phase())
            ));
        };
        let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => Some(fd),
            Err(Errno::NOSYS) => None,
            Err(e) => {
                return Err(Error::sys(
                    packed!("open the container's init"),
                    "pidfd_open",
                    name,
                    e,
                ));
            }
        };
        // Checked again with the pidfd held: the PID cannot be reused now.
        if !record.alive() {
            return Err(bad!("container {} is not running", Bytes(name)));
        }
        Ok((state, record, pidfd))
    }

    /// Claim NAME; `remove_when_done` for `box run --rm`. A name whose
    /// container has ended is still taken until `box rm` (or, for a `--rm`
    /// one that is gone, taken over here); a live one makes this an error.
    pub fn create(name: &[u8], remove_when_done: bool) -> Result<State> {
        let path = dir_path(name)?;
        let root = CPath::from_bytes(STATE_DIR).unwrap_or_default();
        match rustix::fs::mkdir(root.as_cstr(), Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(Error::sys(
                    packed!("create the state directory"),
                    "mkdir",
                    root.as_bytes(),
                    e,
                ));
            }
        }
        for _ in 0..2 {
            match rustix::fs::mkdir(path.as_cstr(), Mode::from_raw_mode(0o700)) {
                Ok(()) => {
                    // Until the container runs, the claiming process stands
                    // for it: a state with no pid yet and a live supervisor
                    // is starting, and neither `box ps` nor another
                    // `box run --name` takes it for a dead one.
                    let state = State::open(name)?;
                    let me = rustix::process::getpid().as_raw_nonzero().get() as u64;
                    let mut claimed = state.write_number(c"supervisor", me);
                    if remove_when_done && claimed.is_ok() {
                        claimed = state.write(c"rm", b"");
                    }
                    if let Err(e) = claimed {
                        state.remove();
                        return Err(e);
                    }
                    return Ok(state);
                }
                Err(Errno::EXIST) => {
                    let old = State::open(name)?;
                    let record = old.record();
                    let phase = record.phase();
                    if matches!(phase, Phase::Running | Phase::Starting) {
                        return Err(bad!(
                            "the name {} is in use (container pid {}; box stop {} ends it)",
                            Bytes(name),
                            record.pid.map_or(0, |p| p.as_raw_nonzero().get()),
                            Bytes(name)
                        ));
                    }
                    // An exited container keeps its name until box rm, as
                    // Docker's does: its status and log are still there.
                    if !record.disposable(phase) {
                        return Err(bad!(
                            "the name {} is taken by a container that has ended ({}): box rm {} removes it and its log",
                            Bytes(name),
                            record.shown_status(phase),
                            Bytes(name)
                        ));
                    }
                    old.remove();
                }
                Err(e) => {
                    return Err(Error::sys(
                        packed!("create the state directory"),
                        "mkdir",
                        path.as_bytes(),
                        e,
                    )
                    .hint(packed!("box keeps named containers' state in /run/box")));
                }
            }
        }
        Err(bad!("the name {} is in use", Bytes(name)))
    }

    /// Open the state of an existing container.
    pub fn open(name: &[u8]) -> Result<State> {
        if !crate::config::valid_name(name) {
            return Err(bad!("no container named {}", Bytes(name)));
        }
        let path = dir_path(name)?;
        let dir = rustix::fs::open(
            path.as_cstr(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::NOENT => bad!("no container named {}", Bytes(name)),
            e => Error::sys(
                packed!("open the container's state"),
                "open",
                path.as_bytes(),
                e,
            ),
        })?;
        Ok(State { dir, path })
    }

    /// Write a file atomically (to a temporary name, then rename).
    pub fn write(&self, file: &CStr, content: &[u8]) -> Result<()> {
        let mut tmp = CPath::from_bytes(b".").unwrap_or_default();
        let _ = tmp.push(file.to_bytes());
        let _ = tmp.push(b".tmp");
        let fd = rustix::fs::openat(
            &self.dir,
            tmp.as_cstr(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.write_error("open", tmp.as_cstr(), e))?;
        let written = crate::out::try_write_all(&fd, content);
        drop(fd);
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&self.dir, tmp.as_cstr(), AtFlags::empty());
            return Err(self.write_error("write", tmp.as_cstr(), e));
        }
        rustix::fs::renameat(&self.dir, tmp.as_cstr(), &self.dir, file)
            .map_err(|e| self.write_error("rename", file, e))
    }

    /// Record a container that has started: its init `pid` and start time,
    /// this process as its supervisor, the time, its command line (see
    /// [`command_line`]), status `running`.
    pub fn record_running(&self, pid: Pid, command: &[u8]) -> Result<()> {
        self.write_number(c"pid", pid.as_raw_nonzero().get() as u64)?;
        self.write_number(c"start", process_start_time(pid).unwrap_or(0))?;
        let me = rustix::process::getpid().as_raw_nonzero().get() as u64;
        self.write_number(c"supervisor", me)?;
        self.write_number(c"created", now())?;
        self.write(c"command", command)?;
        self.write(c"status", b"running")
    }

    /// Record how a container ended (see [`exit_status`]), or, for
    /// `--rm`, remove its state. The cgroup must be gone by then: a
    /// `box stop` that sees the status finds nothing left.
    pub fn record_end(self, code: u8, oom_killed: bool, remove_when_done: bool) {
        if remove_when_done {
            self.remove();
        } else {
            // Best effort: unrecorded, it shows as gone.
            let _ = self.write(c"status", exit_status(code, oom_killed).as_bytes());
        }
    }

    pub fn write_number(&self, file: &CStr, n: u64) -> Result<()> {
        let mut t = Text::<24>::new();
        let _ = core::fmt::Write::write_fmt(&mut t, format_args!("{n}"));
        self.write(file, t.as_bytes())
    }

    /// Read a small file; empty when missing.
    pub fn read<'b>(&self, file: &CStr, buf: &'b mut [u8]) -> &'b [u8] {
        let Ok(fd) = rustix::fs::openat(
            &self.dir,
            file,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return &buf[..0];
        };
        let mut got = 0;
        while got < buf.len() {
            match rustix::io::read(&fd, &mut buf[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        buf[..got].trim_ascii_end()
    }

    fn read_number(&self, file: &CStr) -> Option<u64> {
        let mut buf = [0u8; 32];
        crate::text::parse_u64(self.read(file, &mut buf))
    }

    pub fn record(&self) -> Record {
        let mut status = [0u8; 32];
        let mut command = [0u8; COMMAND_MAX];
        Record {
            pid: self
                .read_number(c"pid")
                .and_then(|p| Pid::from_raw(p as i32)),
            start: self.read_number(c"start").unwrap_or(0),
            supervisor: self
                .read_number(c"supervisor")
                .and_then(|p| Pid::from_raw(p as i32)),
            created: self.read_number(c"created").unwrap_or(0),
            status: Text::from_bytes_lossy(self.read(c"status", &mut status)),
            command: Text::from_bytes_lossy(self.read(c"command", &mut command)),
            remove_when_done: rustix::fs::accessat(
                &self.dir,
                c"rm",
                rustix::fs::Access::EXISTS,
                AtFlags::empty(),
            )
            .is_ok(),
        }
    }

    /// The open directory, for appending to the log.
    pub fn dir(&self) -> &OwnedFd {
        &self.dir
    }

    /// A failed step of [`write`](Self::write): one copy for its three.
    fn write_error(&self, call: &'static str, file: &CStr, e: Errno) -> Error {
        Error::sys(
            packed!("write the container's state"),
            call,
            self.file_path(file).as_bytes(),
            e,
        )
    }

    fn file_path(&self, file: &CStr) -> CPath {
        CPath::from_parts(&[self.path.as_bytes(), b"/", file.to_bytes()]).unwrap_or(self.path)
    }

    /// Remove the state directory and what it holds.
    pub fn remove(self) {
        for file in FILES {
            let _ = rustix::fs::unlinkat(&self.dir, *file, AtFlags::empty());
            let mut tmp = CPath::from_bytes(b".").unwrap_or_default();
            let _ = tmp.push(file.to_bytes());
            let _ = tmp.push(b".tmp");
            let _ = rustix::fs::unlinkat(&self.dir, tmp.as_cstr(), AtFlags::empty());
        }
        let _ = rustix::fs::rmdir(self.path.as_cstr());
    }
}

/// Call `f` with the name of every container that has state.
pub fn each_name(f: &mut dyn FnMut(&[u8])) {
    let root = CPath::from_bytes(STATE_DIR).unwrap_or_default();
    let Ok(dir) = rustix::fs::open(
        root.as_cstr(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = rustix::fs::RawDir::new(&dir, &mut buf);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name().to_bytes();
        if crate::config::valid_name(name) {
            f(name);
        }
    }
}

/// A process's start time, field 22 of /proc/PID/stat.
pub fn process_start_time(pid: Pid) -> Option<u64> {
    process_stat(pid).map(|(_, start)| start)
}

/// A process's state letter (field 3) and start time (field 22) from
/// /proc/PID/stat, read after the command name in parentheses (which may
/// itself hold spaces or parentheses).
fn process_stat(pid: Pid) -> Option<(u8, u64)> {
    let path = CPath::proc(Some(pid.as_raw_nonzero().get() as u32), b"/stat");
    let mut buf = [0u8; 1024];
    let n = crate::sys::fs::read_into(path.as_cstr(), &mut buf).ok()?;
    let text = &buf[..n];
    let after = &text[text.iter().rposition(|&b| b == b')')? + 2..];
    let mut fields = after.split(|&b| b == b' ');
    let state = *fields.next()?.first()?;
    let start = crate::text::parse_u64(fields.nth(22 - 4)?)?;
    Some((state, start))
}

/// The `status` of a container that has ended: `exited N`, the command's
/// own status, with a note when the kernel's OOM killer ran in its cgroup:
/// ` (out of memory)` when the command was killed by SIGKILL (the OOM
/// killer's signal), ` (OOM kill inside)` when another process was and
/// the command went on to exit by itself.
pub fn exit_status(code: u8, oom_killed: bool) -> Text<32> {
    use core::fmt::Write;
    let note = match (oom_killed, code) {
        (false, _) => "",
        (true, 137) => " (out of memory)",
        (true, _) => " (OOM kill inside)",
    };
    let mut status = Text::new();
    let _ = write!(status, "exited {code}{note}");
    status
}

/// Most bytes of a command line kept for `box ps`.
pub const COMMAND_MAX: usize = 120;

/// A command's words as one line for the `command` file and `box ps`:
/// separated by spaces, a word that is empty or holds a space, a quote or
/// a backslash in `"…"` (with `\"` and `\\` inside), and control
/// characters as `\xNN`, so that the line stays one line and its words can
/// be told apart. Cut at [`COMMAND_MAX`] bytes (marked with `…`).
pub fn command_line<'w>(words: impl Iterator<Item = &'w [u8]>) -> Text<COMMAND_MAX> {
    use core::fmt::Write;
    let mut line = Text::<COMMAND_MAX>::new();
    for (i, word) in words.enumerate() {
        if i > 0 {
            line.push(b" ");
        }
        let quoted = word.is_empty() || word.iter().any(|b| b" \"'\\".contains(b));
        if quoted {
            line.push(b"\"");
        }
        for piece in word.split_inclusive(|&b| b == b'"' || b == b'\\') {
            let (text, special) = match piece.split_last() {
                Some((&last, text)) if last == b'"' || last == b'\\' => (text, Some(last)),
                _ => (piece, None),
            };
            let _ = write!(line, "{}", Bytes(text));
            if let Some(special) = special {
                line.push(&[b'\\', special]);
            }
        }
        if quoted {
            line.push(b"\"");
        }
    }
    if line.overflowed() {
        // Room for "…", cut on a character boundary.
        let bytes = line.as_bytes();
        let mut keep = COMMAND_MAX - "…".len();
        while keep > 0 && bytes[keep] & 0xc0 == 0x80 {
            keep -= 1;
        }
        let mut cut = Text::from_bytes_lossy(&bytes[..keep]);
        cut.push("…".as_bytes());
        return cut;
    }
    line
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    crate::sys::timing::clock_gettime(rustix::time::ClockId::Realtime).tv_sec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_keep_words_apart_and_stay_one_line() {
        let line = |words: &[&[u8]]| {
            String::from_utf8(command_line(words.iter().copied()).as_bytes().to_vec()).unwrap()
        };
        assert_eq!(line(&[b"sleep", b"100"]), "sleep 100");
        assert_eq!(
            line(&[b"sh", b"-c", b"echo 'hi' \"you\""]),
            r#"sh -c "echo 'hi' \"you\"""#
        );
        assert_eq!(line(&[b"a\\b", b""]), r#""a\\b" """#);
        assert_eq!(
            line(&[b"x\nweb 1 running 5s", b"\x1b[2J"]),
            r#""x\x0aweb 1 running 5s" \x1b[2J"#
        );
        let long = line(&[&[b'a'; 200], b"b"]);
        assert!(long.ends_with('…') && long.len() <= COMMAND_MAX, "{long}");
        let accents = "é".repeat(100);
        let cut = line(&[accents.as_bytes()]);
        assert!(cut.ends_with('…') && cut.len() <= COMMAND_MAX, "{cut}");
    }

    #[test]
    fn start_time_of_this_process() {
        let me = rustix::process::getpid();
        let a = process_start_time(me).unwrap();
        assert_eq!(process_start_time(me), Some(a));
    }
}
