//! The command's standard descriptors in `box run` and `box exec`, and
//! `-t/--tty`: box relays the caller's terminal, which never enters the
//! container.
//!
//! A process keeps a terminal it was given for as long as it lives: a
//! command's leftover (`sleep 30 &`, a daemon that forgot to close its
//! descriptors) would go on reading the administrator's keystrokes and
//! writing to the screen after box returned. So:
//!
//! - Without `-t`, each of box's descriptors 0, 1, 2 that is a terminal is
//!   replaced, for the command, by a pipe that box relays while the command
//!   runs (stdout and stderr share one when they are the same terminal, so
//!   that their order on the screen is kept). Descriptors that are not
//!   terminals (files, pipes, /dev/null) are passed as they are: nothing is
//!   relayed, and the path costs three fstats and three ioctls (isatty). A
//!   directory is refused: the command would leave its root through it;
//!   the host's /dev/null is replaced by the container's own, which root
//!   inside may chmod without harm to the host.
//! - With `-t`, the command gets a pty of the container's own devpts
//!   instance as its controlling terminal on 0, 1 and 2; box relays its
//!   master to the caller's terminal, which it puts in raw mode meanwhile.
//!
//! When the command exits, box relays what it wrote before exiting, then
//! closes its ends: anything left in the container finds a broken pipe or a
//! hung-up pty, never the caller's terminal. This is Docker's choice too
//! (pipes without `-t`, a pty with it).

use core::ffi::c_int;

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::pipe::PipeFlags;
use rustix::process::Signal;
use rustix::termios::Winsize;

use crate::bad;
use crate::container::{self, Container};
use crate::error::{EXIT_BOX, Error, Result};
use crate::sys::signal::{self, SigSet};
use crate::sys::{fd, process, pty};

/// What the container child puts on its descriptors 0, 1 and 2 before
/// exec (`child::connect_stdio`).
pub enum ChildStdio {
    /// box's own, as they are: none is a terminal or /dev/null (or
    /// box-init's console, a box-oci container's).
    Inherit,
    /// Pipe ends to put on 0, 1, 2; `None` keeps box's descriptor, but
    /// for those in the mask (bit N for descriptor N): the host's /dev/null,
    /// which root inside could chmod or chown through it for the whole host,
    /// replaced by the container's own.
    Pipes([Option<OwnedFd>; 3], u8),
    /// `-t`: open a pty in the container's devpts, with this window size,
    /// and pass its master to box over this socket.
    Pty {
        socket: OwnedFd,
        size: Option<Winsize>,
    },
}

/// Bytes moved per read.
const CHUNK: usize = 4096;

/// Most bytes relayed per stream once the command has exited: more than a
/// pipe holds (1 MiB at most without CAP_SYS_RESOURCE, fs.pipe-max-size)
/// or a pty (its 640 KiB of buffers), so nothing the command wrote before
/// exiting is cut, while a leftover that keeps writing cannot hold box.
const DRAIN_MAX: usize = 2 << 20;

/// Slots of [`Relay::ends`]: box's own 0, 1, 2, then box's ends of the
/// command's input (the pipe's write end, or with `-t` the pty master,
/// which carries both directions), output and errors.
const CALLER_IN: usize = 0;
const CALLER_OUT: usize = 1;
const CALLER_ERR: usize = 2;
const CONTAINER_IN: usize = 3;
const CONTAINER_OUT: usize = 4;
const CONTAINER_ERR: usize = 5;

const SIGCHLD: c_int = Signal::CHILD.as_raw();
const SIGCONT: c_int = Signal::CONT.as_raw();
const SIGWINCH: c_int = Signal::WINCH.as_raw();
const SIGPIPE: c_int = Signal::PIPE.as_raw();
const SIGTTIN: c_int = Signal::TTIN.as_raw();

/// What the relay waits for: the signals box forwards, SIGCHLD, SIGCONT.
const RELAYED_SIGNALS: [c_int; container::FORWARDED.len() + 2] = {
    let mut list = [SIGCHLD; container::FORWARDED.len() + 2];
    let mut i = 0;
    while i < container::FORWARDED.len() {
        list[i] = container::FORWARDED[i];
        i += 1;
    }
    list[i] = SIGCONT;
    list
};

/// A failed syscall inside the relay's setup: its name and errno, made an
/// [`Error`] once by the caller (also in child::connect_stdio).
pub type SysResult<T> = core::result::Result<T, (&'static str, Errno)>;

fn sys(call: &'static str) -> impl FnOnce(Errno) -> (&'static str, Errno) {
    move |e| (call, e)
}

/// One end a pump reads from or writes to.
enum End {
    /// One of box's own 0, 1, 2: open for the life of box. Never made
    /// non-blocking, since the caller's shell shares its open file.
    Caller(BorrowedFd<'static>),
    /// box's end of a pipe, or the pty master: non-blocking.
    Own(OwnedFd),
    Closed,
}

impl End {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            End::Caller(fd) => Some(*fd),
            End::Own(fd) => Some(fd.as_fd()),
            End::Closed => None,
        }
    }
}

/// One direction of the relay: bytes read from `from` wait in a buffer
/// (of the relay loop's frame, see [`Relay::relay`]) until `to` took them.
struct Pump {
    from: usize,
    to: usize,
    /// Reads the caller's terminal (towards the command).
    input: bool,
    /// Read from the background of the caller's terminal: left alone until
    /// box is continued (SIGCONT).
    parked: bool,
    done: bool,
    start: usize,
    end: usize,
}

impl Pump {
    fn new(from: usize, to: usize) -> Pump {
        Pump {
            from,
            to,
            input: from == CALLER_IN,
            parked: false,
            done: false,
            start: 0,
            end: 0,
        }
    }

    /// The end to poll next and for what, if any.
    fn wants(&self, ends: &[End]) -> Option<(usize, PollFlags)> {
        if self.done || ends[self.to].fd().is_none() {
            return None;
        }
        if self.start < self.end {
            return Some((self.to, PollFlags::OUT));
        }
        if self.parked || ends[self.from].fd().is_none() {
            return None;
        }
        Some((self.from, PollFlags::IN))
    }
}

/// Which of box's 0, 1, 2 are the host's /dev/null (1:3), bit N for
/// descriptor N: root inside could chmod or chown it through
/// /proc/self/fd/N for every user of the host, so the child puts the
/// container's own in its place. A directory is refused: the command would
/// hold a directory of the host, and leave its root through it (`cd -P
/// /proc/self/fd/0/..`), which a file or a pipe does not allow. Three
/// fstats.
pub fn null_mask() -> Result<u8> {
    let mut null = 0u8;
    for (n, fd) in [fd::stdin(), fd::stdout(), fd::stderr()].iter().enumerate() {
        let Ok(st) = rustix::fs::fstat(fd) else {
            continue;
        };
        match st.st_mode & 0o170000 {
            0o040000 => return Err(bad!("stdin, stdout or stderr is a directory")),
            0o020000 if st.st_rdev == rustix::fs::makedev(1, 3) => null |= 1 << n,
            _ => {}
        }
    }
    Ok(null)
}

impl ChildStdio {
    /// box's own 0, 1, 2 as they are, but for the host's /dev/null
    /// ([`null_mask`]).
    pub fn as_given(null: u8) -> ChildStdio {
        match null {
            0 => ChildStdio::Inherit,
            _ => ChildStdio::Pipes([None, None, None], null),
        }
    }
}

/// box's side: the ends it relays between the caller and the command.
pub struct Relay {
    ends: [End; 6],
    pumps: heapless::Vec<Pump, 3>,
    /// `-t`: where the child passes the master, until it has.
    socket: Option<OwnedFd>,
    /// The signals box waits for (container::watched_signals), and SIGCONT.
    signals: Option<OwnedFd>,
    pty: bool,
}

impl Relay {
    /// Decide how the command's 0, 1 and 2 are connected: `tty` for `-t`.
    /// `None` when there is nothing to relay: no terminal among box's own
    /// (the command then gets them as they are, and box waits as usual
    /// with container::wait). Called with container::watched_signals
    /// blocked, so that a resize of the caller's terminal from here on
    /// waits for the relay.
    ///
    /// A directory among them is refused, and the host's /dev/null
    /// replaced by the container's own (a mask in [`ChildStdio::Pipes`]).
    ///
    /// Inlined: the path without a terminal is three fstats and three
    /// ioctls in the caller's code, and touches no page of this module.
    #[inline]
    pub fn prepare(tty: bool) -> Result<(Option<Relay>, ChildStdio)> {
        let null = null_mask()?;
        let fds = [fd::stdin(), fd::stdout(), fd::stderr()];
        let terminals = fds.map(pty::is_terminal);
        if !tty && !terminals.contains(&true) {
            return Ok((None, ChildStdio::as_given(null)));
        }
        Relay::new(tty, terminals, null).map(|(relay, stdio)| (Some(relay), stdio))
    }

    #[cold]
    #[inline(never)]
    fn new(tty: bool, terminals: [bool; 3], null: u8) -> Result<(Relay, ChildStdio)> {
        if tty && !terminals[0] {
            return Err(bad!(
                "-t: stdin is not a terminal (the input device is not a TTY)"
            ));
        }
        let mut relay = Relay {
            ends: [
                End::Caller(fd::stdin()),
                End::Caller(fd::stdout()),
                End::Caller(fd::stderr()),
                End::Closed,
                End::Closed,
                End::Closed,
            ],
            pumps: heapless::Vec::new(),
            socket: None,
            signals: None,
            pty: tty,
        };
        let stdio = relay.connect(terminals, null).map_err(|(call, e)| {
            Error::sys(packed!("connect the command to the terminal"), call, b"", e)
        })?;
        Ok((relay, stdio))
    }

    /// The pipes for the descriptors that are terminals, or with `-t` the
    /// socket the master will come back on and the window size the pty
    /// starts with (set by the child before exec, so the command never
    /// reads another); the signals the relay waits for.
    fn connect(&mut self, terminals: [bool; 3], null: u8) -> SysResult<ChildStdio> {
        // SIGPIPE: a command that closed its input must not kill box when
        // box writes to it (EPIPE instead). SIGCONT: a shell's `fg` or
        // `bg`, after which box takes the terminal up again. Without -t,
        // SIGTTIN too: a read from the background of the caller's terminal
        // then fails with EIO instead of stopping box, which goes on
        // relaying the command's output (tty_check_change() in the kernel);
        // with -t, box stops there like any interactive program. The child
        // unblocks all of them before exec.
        let blocked: &[c_int] = if self.pty {
            &[SIGPIPE, SIGCONT]
        } else {
            &[SIGPIPE, SIGCONT, SIGTTIN]
        };
        signal::block_signals(&SigSet::of(blocked));
        self.signals =
            Some(signal::signalfd(&SigSet::of(&RELAYED_SIGNALS)).map_err(sys("signalfd"))?);
        if self.pty {
            let (ours, theirs) = rustix::net::socketpair(
                rustix::net::AddressFamily::UNIX,
                rustix::net::SocketType::STREAM,
                rustix::net::SocketFlags::CLOEXEC,
                None,
            )
            .map_err(sys("socketpair"))?;
            self.socket = Some(ours);
            return Ok(ChildStdio::Pty {
                socket: theirs,
                size: rustix::termios::tcgetwinsize(fd::stdin()).ok(),
            });
        }
        let mut child: [Option<OwnedFd>; 3] = [None, None, None];
        if terminals[0] {
            child[0] = Some(self.pipe(CALLER_IN, CONTAINER_IN)?);
        }
        if terminals[1] {
            child[1] = Some(self.pipe(CONTAINER_OUT, CALLER_OUT)?);
        }
        if terminals[2] {
            child[2] = Some(match &child[1] {
                // One pipe for both keeps the order the lines were written in.
                Some(out) if same_file(fd::stdout(), fd::stderr()) => {
                    rustix::io::fcntl_dupfd_cloexec(out, 3)
                        .map_err(sys("fcntl(F_DUPFD_CLOEXEC)"))?
                }
                _ => self.pipe(CONTAINER_ERR, CALLER_ERR)?,
            });
        }
        Ok(ChildStdio::Pipes(child, null))
    }

    /// A pipe relayed from slot `from` to slot `to`, one of them the
    /// caller's: box keeps its end (non-blocking) in the other slot, and
    /// the command's end is returned.
    fn pipe(&mut self, from: usize, to: usize) -> SysResult<OwnedFd> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(sys("pipe2"))?;
        let (ours, theirs, slot) = if from == CALLER_IN {
            (write, read, to)
        } else {
            (read, write, from)
        };
        rustix::io::ioctl_fionbio(&ours, true).map_err(sys("ioctl(FIONBIO)"))?;
        self.ends[slot] = End::Own(ours);
        self.add(from, to);
        Ok(theirs)
    }

    fn add(&mut self, from: usize, to: usize) {
        let _ = self.pumps.push(Pump::new(from, to));
    }

    /// Relay until the command has exited, then what it left in the pipes
    /// or the pty; its exit status (as container::wait). The caller's
    /// terminal settings are back as they were when this returns, however
    /// it returns.
    pub fn run(mut self, container: &Container) -> Result<u8> {
        let raw_mode = if self.pty {
            if let Err((call, e)) = self.receive_master() {
                container::abandon(container);
                return Err(Error::sys(
                    packed!("receive the container's terminal"),
                    call,
                    b"",
                    e,
                ));
            }
            RawMode::enter()
        } else {
            None
        };
        let code = self.relay(container, raw_mode.as_ref());
        drop(raw_mode);
        Ok(code)
    }

    /// `-t`: the master the child opened in the container's devpts.
    fn receive_master(&mut self) -> SysResult<()> {
        let socket = self.socket.take().ok_or(("recvmsg", Errno::BADF))?;
        let master = pty::receive_fd(socket.as_fd())
            .map_err(sys("recvmsg"))?
            .filter(|fd| pty::is_master(fd.as_fd()))
            .ok_or(("recvmsg", Errno::NOTTY))?;
        rustix::io::ioctl_fionbio(&master, true).map_err(sys("ioctl(FIONBIO)"))?;
        self.ends[CONTAINER_IN] = End::Own(master);
        self.add(CALLER_IN, CONTAINER_IN);
        self.add(CONTAINER_IN, CALLER_OUT);
        Ok(())
    }

    /// The loop: poll the ends each pump waits on, the signals and the
    /// pidfd; signals first, so that a resize reaches the pty before the
    /// keys typed after it. Its own frame holds the buffers, so the path
    /// without a relay never touches their stack pages.
    #[inline(never)]
    fn relay(&mut self, container: &Container, raw_mode: Option<&RawMode>) -> u8 {
        let mut buffers = [[0u8; CHUNK]; 3];
        let pidfd = container.pidfd.as_ref().map(|f| f.as_fd());
        loop {
            match process::try_reap(container.pid, pidfd) {
                Ok(Some(code)) => {
                    self.drain(&mut buffers);
                    return code;
                }
                Ok(None) => {}
                // Not our child any more: nothing to wait for.
                Err(_) => return EXIT_BOX,
            }
            let ready = self.wait(pidfd);
            self.take_signals(container, raw_mode);
            for (i, buffer) in buffers.iter_mut().enumerate().take(self.pumps.len()) {
                if ready[i] {
                    self.step(i, buffer);
                }
            }
        }
    }

    /// Wait until a pump can move, a signal came or the command exited;
    /// which pumps can move.
    fn wait(&self, pidfd: Option<BorrowedFd<'_>>) -> [bool; 3] {
        let mut fds: heapless::Vec<PollFd<'_>, 5> = heapless::Vec::new();
        let mut owners = [usize::MAX; 5];
        if let Some(signals) = &self.signals {
            let _ = fds.push(PollFd::new(signals, PollFlags::IN));
        }
        // Without a pidfd (before 5.3), SIGCHLD on the signalfd wakes us.
        if let Some(fd) = pidfd {
            let _ = fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        for (i, pump) in self.pumps.iter().enumerate() {
            if let Some((slot, flags)) = pump.wants(&self.ends)
                && let Some(fd) = self.ends[slot].fd()
            {
                owners[fds.len()] = i;
                let _ = fds.push(PollFd::from_borrowed_fd(fd, flags));
            }
        }
        let mut ready = [false; 3];
        if rustix::event::poll(&mut fds, None).is_err() {
            return ready;
        }
        for (fd, &owner) in fds.iter().zip(&owners) {
            if owner != usize::MAX && !fd.revents().is_empty() {
                ready[owner] = true;
            }
        }
        ready
    }

    fn take_signals(&mut self, container: &Container, raw_mode: Option<&RawMode>) {
        let Some(signals) = &self.signals else { return };
        let pidfd = container.pidfd.as_ref().map(|f| f.as_fd());
        while let Some(signal) = signal::read_signalfd(signals.as_fd()) {
            match signal {
                // The loop reaps.
                SIGCHLD => {}
                // In the foreground again, maybe after a shell changed the
                // terminal's settings while box was stopped.
                SIGCONT => {
                    for pump in &mut self.pumps {
                        pump.parked = false;
                    }
                    if let Some(raw_mode) = raw_mode {
                        raw_mode.apply();
                        copy_size(&self.ends);
                    }
                }
                // The pty's own resize signals its foreground process group.
                SIGWINCH if self.pty => copy_size(&self.ends),
                _ => {
                    let _ = process::send_signal(container.pid, pidfd, signal);
                }
            }
        }
    }

    /// Move one buffer's worth: read if the buffer is empty, then write.
    fn step(&mut self, i: usize, buffer: &mut [u8; CHUNK]) {
        let Relay {
            ends, pumps, pty, ..
        } = self;
        let pump = &mut pumps[i];
        if pump.start == pump.end {
            let Some(from) = ends[pump.from].fd() else {
                return;
            };
            match rustix::io::read(from, &mut buffer[..]) {
                Ok(0) => source_ended(ends, pump, *pty),
                Ok(n) => {
                    pump.start = 0;
                    pump.end = n;
                }
                Err(Errno::AGAIN | Errno::INTR) => {}
                // Read from the background of the caller's terminal (SIGTTIN
                // blocked): its input is the foreground job's.
                Err(Errno::IO) if pump.input => pump.parked = true,
                // EIO on the master: nothing holds the pty's slave any more.
                Err(_) => source_ended(ends, pump, *pty),
            }
        }
        flush(ends, pump, buffer);
    }

    /// After the command's exit: write out what it left in the pipes or
    /// the pty (up to DRAIN_MAX per stream). Its input is dropped.
    fn drain(&mut self, buffers: &mut [[u8; CHUNK]; 3]) {
        let Relay {
            ends, pumps, pty, ..
        } = self;
        for (pump, buffer) in pumps.iter_mut().zip(buffers.iter_mut()) {
            if pump.input {
                continue;
            }
            let mut budget = DRAIN_MAX;
            loop {
                flush_fully(ends, pump, buffer);
                if pump.done || budget == 0 {
                    break;
                }
                let Some(from) = ends[pump.from].fd() else {
                    break;
                };
                match rustix::io::read(from, &mut buffer[..]) {
                    Ok(0) => {
                        source_ended(ends, pump, *pty);
                        break;
                    }
                    Ok(n) => {
                        pump.start = 0;
                        pump.end = n;
                        budget = budget.saturating_sub(n);
                    }
                    Err(Errno::INTR) => {}
                    // AGAIN: nothing more was written before the exit; a
                    // leftover holds the other end.
                    Err(_) => break,
                }
            }
        }
    }
}

/// Write what the pump holds until done or the sink would block (then the
/// loop polls it for room).
fn flush(ends: &mut [End; 6], pump: &mut Pump, buffer: &[u8; CHUNK]) {
    while pump.start < pump.end {
        let Some(to) = ends[pump.to].fd() else {
            break;
        };
        match rustix::io::write(to, &buffer[pump.start..pump.end]) {
            Ok(0) => sink_gone(ends, pump),
            Ok(n) => pump.start += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return,
            Err(_) => sink_gone(ends, pump),
        }
    }
    pump.start = 0;
    pump.end = 0;
}

/// [`flush`], waiting for room as long as it takes.
fn flush_fully(ends: &mut [End; 6], pump: &mut Pump, buffer: &[u8; CHUNK]) {
    loop {
        flush(ends, pump, buffer);
        if pump.start == pump.end {
            return;
        }
        let Some(to) = ends[pump.to].fd() else {
            return;
        };
        let mut fds = [PollFd::from_borrowed_fd(to, PollFlags::OUT)];
        let _ = rustix::event::poll(&mut fds, None);
    }
}

/// End of file on a pump's source.
fn source_ended(ends: &mut [End; 6], pump: &mut Pump, pty: bool) {
    pump.done = true;
    if !pump.input {
        // The command's side is gone (EOF on the pipe, EIO on the master).
        ends[pump.from] = End::Closed;
    } else if !pty {
        // The caller typed the end of input (^D) or hung up: through the
        // pipe the command sees its end. A pty has no end of input but the
        // ^D that raw mode passes on as a byte, so it stays.
        ends[pump.to] = End::Closed;
    }
}

/// A pump's sink failed for good (EPIPE, EIO).
fn sink_gone(ends: &mut [End; 6], pump: &mut Pump) {
    pump.done = true;
    pump.start = pump.end;
    if pump.input {
        // The command closed its input, or the pty is gone.
        ends[pump.to] = End::Closed;
    } else {
        // The caller's terminal went away: the command's next write fails,
        // as it would have on the terminal itself.
        ends[pump.from] = End::Closed;
    }
}

/// The caller's window size onto the pty (TIOCSWINSZ on the master, which
/// signals SIGWINCH to the pty's foreground process group).
fn copy_size(ends: &[End; 6]) {
    if let (Some(master), Ok(size)) = (
        ends[CONTAINER_IN].fd(),
        rustix::termios::tcgetwinsize(fd::stdin()),
    ) {
        let _ = rustix::termios::tcsetwinsize(master, size);
    }
}

/// Whether `a` and `b` are the same file (for terminals: the same device).
fn same_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    let id = |fd| {
        rustix::fs::fstat(fd)
            .ok()
            .map(|st| (st.st_dev, st.st_ino, st.st_rdev))
    };
    matches!((id(a), id(b)), (Some(x), Some(y)) if x == y)
}

/// The caller's terminal in raw mode (cfmakeraw(3)) while the pty is
/// relayed: every key, ^C and ^Z included, goes to the container's pty,
/// whose own line discipline echoes, edits lines and makes the signals.
/// The settings found are put back when this is dropped, on every way out
/// of the relay (the command's exit or death, a signal box forwarded).
struct RawMode {
    saved: pty::Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let saved = pty::termios(fd::stdin()).ok()?;
        let mode = RawMode { saved };
        mode.apply();
        Some(mode)
    }

    fn apply(&self) {
        let _ = pty::set_termios(fd::stdin(), &pty::raw(self.saved));
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = pty::set_termios(fd::stdin(), &self.saved);
    }
}
