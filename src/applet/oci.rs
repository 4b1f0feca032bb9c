//! `box-oci` (or `box oci`): an OCI runtime with runc's command line, so
//! that podman (conmon), containerd's shim and CRI-O drive box as they
//! drive runc. The lifecycle is src/oci/runtime.rs; this file reads the
//! command line and reports errors where engines look for them: on
//! standard error, and with `--log` as the log's last line (JSON lines
//! `{"level","msg","time"}` with `--log-format json`, which the containerd
//! shim reads back as the error to show).

use crate::packed::Packed;
use core::fmt::Write;

use rustix::fs::{Mode, OFlags};

use crate::args::CommandLine;
use crate::bad;
use crate::error::{Error, Result};
use crate::oci::exec as runtime_exec;
use crate::oci::json::Writer;
use crate::oci::runtime::{self, CreateOptions, Root};
use crate::options::{Command, Opt, Usage, is_help};
use crate::out::print_help;
use crate::sys::entry::Args;
use crate::text::{Bytes, Text};

/// `--root` unless given: engines that do not know box-oci pass none.
pub const DEFAULT_ROOT: &[u8] = b"/run/box-oci";

/// The global options: [`Flag`]s, read by [`read`] as the commands' are.
pub use Flag as Global;

pub const OCI: Command<Global> = Command {
    usage: Usage {
        name: "box-oci",
        synopsis: &["[GLOBAL OPTIONS] COMMAND [OPTIONS] ID"],
        about: packed!(
            "An OCI runtime with runc's command line, for podman and containerd.\n\
                Commands: create, start, exec, state, kill, delete, list, ps, pause,\n\
                resume, features, spec."
        ),
        notes: packed!("`box-oci COMMAND --help` describes a command."),
    },
    options: &[
        Opt::value(
            "root",
            "DIR",
            packed!("state of the containers (/run/box-oci)"),
            Global::Root,
        ),
        Opt::value(
            "log",
            "FILE",
            packed!("also write errors to FILE"),
            Global::Log,
        ),
        Opt::value(
            "log-format",
            "FORMAT",
            packed!("text or json (JSON lines)"),
            Global::LogFormat,
        ),
        Opt::flag("debug", packed!("log debug lines too"), Global::Debug),
        Opt::flag(
            "systemd-cgroup",
            packed!("refused: box manages cgroups itself"),
            Global::SystemdCgroup,
        ),
        Opt::flag("version", packed!("print the version"), Global::Version).short(b'v'),
    ],
};

/// The commands, their help and what runs them.
const COMMANDS: &[(&str, Run, &str)] = &[
    (
        "create",
        create,
        "create a container from a bundle, waiting for start",
    ),
    ("start", start, "start a created container's process"),
    // Its own branch in `run`: it returns an exit status.
    ("exec", not_exec, "run another process in a container"),
    ("state", state, "print a container's state (JSON)"),
    ("kill", kill, "send a signal to a container's init"),
    (
        "delete",
        delete,
        "remove a stopped container (--force: kill it)",
    ),
    ("list", list, "list the containers"),
    ("ps", ps, "list the processes of a container"),
    ("pause", pause, "freeze every process of a container"),
    ("resume", resume, "thaw a paused container"),
    ("features", features, "print what box-oci implements (JSON)"),
    ("spec", spec, "write a default config.json"),
];

type Run = fn(&Globals, Args) -> Result<()>;

/// What the global options said (their fields of [`Given`]), and the
/// `--log` file.
pub struct Globals {
    given: Given,
    /// `--log`, opened before the command runs: exec enters the
    /// container's mount namespace, where the path means something else.
    log_fd: Option<rustix::fd::OwnedFd>,
}

pub fn main(args: Args) -> u8 {
    let mut globals = Globals {
        given: Given::new(args),
        log_fd: None,
    };
    let result = run(args, &mut globals);
    match result {
        Ok(code) => code,
        Err(e) if is_help(&e) => 0,
        Err(e) => {
            crate::errln!("box-oci: {e}");
            log(&globals, "error", &e);
            e.code
        }
    }
}

fn run(args: Args, globals: &mut Globals) -> Result<u8> {
    read(&OCI, args, OPTIONS_THEN_WORDS, &mut globals.given).inspect_err(|e| {
        // The global help, printed by the reader, ends with the commands.
        if is_help(e) {
            crate::outln!("\ncommands:");
            for (name, _, what) in COMMANDS {
                crate::outln!("  {name:<10}{what}");
            }
        }
    })?;
    if globals.given.version {
        crate::outln!(
            concat!("box-oci version ", env!("CARGO_PKG_VERSION"), "\nspec: {}"),
            runtime::OCI_VERSION
        );
        return Ok(0);
    }
    let rest = globals.given.exec.command;
    let word = rest.bytes(0);
    let Some(&(_, command, _)) = COMMANDS.iter().find(|c| c.0.as_bytes() == word) else {
        return Err(bad!(
            "unknown command {} (box-oci --help lists them)",
            Bytes(word)
        ));
    };
    globals.log_fd = open_log(globals.given.log);
    if globals.given.debug {
        let mut text = Text::<128>::new();
        let _ = write!(
            text,
            "{} with --root {}",
            Bytes(word),
            Bytes(globals.given.root)
        );
        log_line(globals, "debug", text.as_bytes());
    }
    if word == b"exec" {
        return exec(globals, rest);
    }
    command(globals, rest).map(|()| 0)
}

/// exec's entry in COMMANDS, never called: `run` calls [`exec`] itself.
fn not_exec(_: &Globals, _: Args) -> Result<()> {
    Ok(())
}

/// Append an error to the `--log` file, in its format.
fn log(globals: &Globals, level: &str, e: &Error) {
    let mut text = Text::<1024>::new();
    let _ = write!(text, "{e}");
    log_line(globals, level, text.as_bytes());
}

fn open_log(path: Option<&[u8]>) -> Option<rustix::fd::OwnedFd> {
    let path = path.and_then(crate::text::CPath::from_bytes)?;
    rustix::fs::open(
        path.as_cstr(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .ok()
}

fn log_line(globals: &Globals, level: &str, msg: &[u8]) {
    let opened;
    let fd = match &globals.log_fd {
        Some(fd) => fd,
        None => match open_log(globals.given.log) {
            Some(fd) => {
                opened = fd;
                &opened
            }
            None => return,
        },
    };
    let mut line = Text::<1400>::new();
    let time = runtime::rfc3339_now();
    if globals.given.log_json {
        let mut json = Writer::new(&mut line);
        json.begin_object();
        json.key(b"level").string(level.as_bytes());
        json.key(b"msg").string(msg);
        json.key(b"time").string(time.as_bytes());
        json.end_object();
    } else {
        let _ = write!(
            line,
            "time=\"{}\" level={level} msg=\"{}\"",
            time,
            Bytes(msg)
        );
    }
    line.push(b"\n");
    let _ = crate::out::try_write_all(fd, line.as_bytes());
}

/// The next option of a command's `line`; at `--help`, the command's
/// help on standard output first (the error then ends the command, with
/// status 0). One for [`read`]'s commands and for exec.
fn next_option<A: Copy>(
    line: &mut CommandLine<A>,
    command: &Command<A>,
) -> Result<Option<crate::args::Found<A>>> {
    line.next().inspect_err(|e| {
        if is_help(e) {
            print_help(&command.usage, &command.options);
        }
    })
}

/// Read a command's options (into `given`, made by [`Given::new`]) and its
/// operands (options may follow them, as go-runc places none but a user
/// might): `min` to `max` of them (at most 2). Every command but exec
/// declares its options as [`Flag`]s, as exec and the global options do:
/// one reader for all of them. What it read stays in `given` when it fails
/// (the global options: `--log` for the error).
#[inline(never)]
fn read(
    command: &'static Command<Flag>,
    args: Args,
    (min, max): (usize, usize),
    given: &mut Given,
) -> Result<Operands> {
    let usage = &command.usage;
    let mut line = CommandLine::new(args, command);
    let mut operands = Operands::new();
    let mut add = |word: &'static [u8]| {
        if operands.len() == max {
            return Err(usage.error());
        }
        let _ = operands.push(word);
        Ok(())
    };
    loop {
        while let Some(found) = next_option(&mut line, command)? {
            match found.action {
                Flag::Bundle => given.bundle = found.text(),
                Flag::PidFile => given.exec.pid_file = found.value,
                Flag::ConsoleSocket => given.exec.console_socket = found.value,
                Flag::NoPivot => given.no_pivot = true,
                // box's seccomp filter refuses the keyring calls to every
                // container: there is no keyring to make.
                Flag::NoNewKeyring => {}
                Flag::All => given.all = true,
                Flag::Force => given.force = true,
                Flag::Format => {
                    given.json = one_of(found.text(), b"json", b"table")
                        .ok_or_else(|| bad!("--format {}: table or json", Bytes(found.text())))?
                }
                Flag::Process => given.exec.process = found.value,
                Flag::Detach => given.exec.detach = true,
                Flag::Tty => given.exec.tty = true,
                Flag::Cwd => given.exec.cwd = found.value,
                Flag::Env => given
                    .exec
                    .env
                    .push(found.text())
                    .map_err(|_| bad!("--env: more than 32"))?,
                Flag::User => given.exec.user = Some(parse_user(found.text())?),
                // box always sets no_new_privs.
                Flag::NoNewPrivs => {}
                Flag::Root => given.root = found.text(),
                Flag::Log => given.log = found.value,
                Flag::LogFormat => {
                    given.log_json = one_of(found.text(), b"json", b"text")
                        .ok_or_else(|| bad!("--log-format {}: text or json", Bytes(found.text())))?
                }
                Flag::Debug => given.debug = true,
                Flag::SystemdCgroup => {
                    return Err(bad!(
                        "--systemd-cgroup: not supported: box manages the container's cgroups itself (use the cgroupfs manager: podman --cgroup-manager=cgroupfs, containerd SystemdCgroup = false)"
                    ));
                }
                Flag::Version => {
                    given.version = true;
                    return Ok(operands);
                }
            }
        }
        if max == OPTIONS_THEN_WORDS.1 {
            given.exec.command = line.rest();
            if given.exec.command.bytes(0).is_empty() {
                return Err(usage.error());
            }
            return Ok(operands);
        }
        match line.operand() {
            Some(word) => add(word.to_bytes())?,
            None => break,
        }
    }
    let rest = line.rest();
    for i in 0..rest.len() {
        add(rest.bytes(i))?;
    }
    if operands.len() < min {
        return Err(usage.error());
    }
    Ok(operands)
}

/// Whether `word` is `yes` (or `no`; None for another).
fn one_of(word: &[u8], yes: &[u8], no: &[u8]) -> Option<bool> {
    (word == yes || word == no).then_some(word == yes)
}

/// A command's operands (its container's id, kill's signal).
type Operands = heapless::Vec<&'static [u8], 2>;

/// The options of the commands, each in the commands that declare it.
#[derive(Clone, Copy, Debug)]
pub enum Flag {
    Bundle,
    PidFile,
    ConsoleSocket,
    NoPivot,
    NoNewKeyring,
    All,
    Force,
    Format,
    // The global options.
    Root,
    Log,
    LogFormat,
    Debug,
    SystemdCgroup,
    Version,
    // exec's.
    Process,
    Detach,
    Tty,
    Cwd,
    Env,
    User,
    NoNewPrivs,
}

/// What the options said ([`Flag`]s not given keep their defaults).
pub struct Given {
    root: &'static [u8],
    log: Option<&'static [u8]>,
    /// `--log-format json`.
    log_json: bool,
    debug: bool,
    version: bool,
    bundle: &'static [u8],
    no_pivot: bool,
    all: bool,
    force: bool,
    json: bool,
    /// exec's options, and the `--pid-file` and `--console-socket` of
    /// every command; its command: exec's operands, ID CMD [ARG…].
    exec: runtime_exec::ExecOptions<'static>,
}

impl Given {
    #[inline(never)]
    fn new(args: Args) -> Given {
        Given {
            root: DEFAULT_ROOT,
            log: None,
            log_json: false,
            debug: false,
            version: false,
            bundle: b".",
            no_pivot: false,
            all: false,
            force: false,
            json: false,
            exec: runtime_exec::ExecOptions {
                process: None,
                detach: false,
                pid_file: None,
                tty: false,
                console_socket: None,
                cwd: None,
                env: heapless::Vec::new(),
                user: None,
                command: args.tail(args.len()),
            },
        }
    }
}

/// What box-oci's global options and exec's give [`read`] as their number
/// of operands: options end at the first word, and the words (at least
/// one) are [`Given`]'s `exec.command`.
const OPTIONS_THEN_WORDS: (usize, usize) = (1, usize::MAX);

/// A command that takes only the container's id.
const fn by_id(name: &'static str, about: Packed) -> Command<Flag> {
    Command {
        usage: Usage {
            name,
            synopsis: &["ID"],
            about,
            notes: packed!(""),
        },
        options: &[],
    }
}

pub const START: Command<Flag> = by_id(
    "box-oci start",
    packed!(
        "Starts the process of a created container: the init, set up and waiting\n\
     since create, executes it."
    ),
);
pub const STATE: Command<Flag> = by_id(
    "box-oci state",
    packed!(
        "Prints the container's state as the runtime-spec gives it (JSON): status\n\
     created, running or stopped, its init's PID, bundle, annotations."
    ),
);

fn id_only(command: &'static Command<Flag>, args: Args) -> Result<&'static [u8]> {
    Ok(read(command, args, (1, 1), &mut Given::new(args))?[0])
}

/// exec's options: [`Flag`]s too, read by [`read`].
pub use Flag as ExecOption;

pub const EXEC: Command<ExecOption> = Command {
    usage: Usage {
        name: "box-oci exec",
        synopsis: &[
            "--process FILE [--detach] [--pid-file P] [--tty] [--console-socket S] ID",
            "[--detach] [--tty] [--cwd DIR] [--env K=V]… [--user UID[:GID]] ID CMD [ARG…]",
        ],
        about: packed!(
            "Runs a process in created or running container ID: in its namespaces,\n\
                cgroups and root, with its seccomp filter, and the process's identity,\n\
                capabilities, limits, environment and working directory. The process is\n\
                a runtime-spec process object (--process), or the container's own from\n\
                its bundle with the command line's command and options."
        ),
        notes: packed!(
            "Exit status: with --detach 0 once the process runs (it is left to the\n\
                caller); else the process's own, 128+N if killed by signal N."
        ),
    },
    options: &[
        Opt::value(
            "process",
            "FILE",
            packed!("the process (runtime-spec JSON)"),
            ExecOption::Process,
        )
        .short(b'p'),
        Opt::flag(
            "detach",
            packed!("leave the process to the caller"),
            ExecOption::Detach,
        )
        .short(b'd'),
        Opt::value(
            "pid-file",
            "FILE",
            packed!("write the process's PID there"),
            ExecOption::PidFile,
        ),
        Opt::flag(
            "tty",
            packed!("a terminal for the process"),
            ExecOption::Tty,
        )
        .short(b't'),
        Opt::value(
            "console-socket",
            "SOCKET",
            packed!("send the pty's master there"),
            ExecOption::ConsoleSocket,
        ),
        Opt::value(
            "cwd",
            "DIR",
            packed!("its working directory"),
            ExecOption::Cwd,
        ),
        Opt::value(
            "env",
            "K=V",
            packed!("add to its environment"),
            ExecOption::Env,
        )
        .short(b'e')
        .repeat(),
        Opt::value(
            "user",
            "UID[:GID]",
            packed!("run as this user"),
            ExecOption::User,
        )
        .short(b'u'),
        Opt::flag(
            "no-new-privs",
            packed!("accepted: box always sets it"),
            ExecOption::NoNewPrivs,
        ),
    ],
};

fn exec(globals: &Globals, args: Args) -> Result<u8> {
    let mut given = Given::new(args);
    read(&EXEC, args, OPTIONS_THEN_WORDS, &mut given)?;
    let rest = given.exec.command;
    let mut command = rest.tail(1);
    if command.bytes(0) == b"--" {
        command = command.tail(1);
    }
    given.exec.command = command;
    runtime_exec::exec(Root(globals.given.root), rest.bytes(0), &given.exec)
}

/// `--user UID[:GID]`, numbers (the container's names are its own).
fn parse_user(text: &[u8]) -> Result<(u32, u32)> {
    let (uid, gid) = match text.iter().position(|&b| b == b':') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let number = |word: &[u8]| {
        crate::text::parse_u32(word)
            .ok_or_else(|| bad!("--user {}: UID[:GID], as numbers", Bytes(text)))
    };
    let uid = number(uid)?;
    Ok((uid, gid.map(number).transpose()?.unwrap_or(0)))
}

pub const PAUSE: Command<Flag> = by_id(
    "box-oci pause",
    packed!(
        "Freezes every process of the container (its cgroup v2 group's\n\
     cgroup.freeze, or its v1 freezer group); `box-oci resume ID` thaws them."
    ),
);
pub const RESUME: Command<Flag> = by_id(
    "box-oci resume",
    packed!("Thaws the processes of a paused container."),
);

fn pause(globals: &Globals, args: Args) -> Result<()> {
    runtime::freeze(Root(globals.given.root), id_only(&PAUSE, args)?, true)
}

fn resume(globals: &Globals, args: Args) -> Result<()> {
    runtime::freeze(Root(globals.given.root), id_only(&RESUME, args)?, false)
}

fn start(globals: &Globals, args: Args) -> Result<()> {
    runtime::start(Root(globals.given.root), id_only(&START, args)?)
}

fn state(globals: &Globals, args: Args) -> Result<()> {
    runtime::state(Root(globals.given.root), id_only(&STATE, args)?)
}

pub const CREATE: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci create",
        synopsis: &["[--bundle DIR] [--pid-file FILE] [--console-socket S] ID"],
        about: packed!(
            "Creates container ID from the bundle's config.json: its init is set up and\n\
                waits, before executing the process, until `box-oci start ID`. create\n\
                exits then; the init is left to the caller, who reaps it."
        ),
        notes: packed!(""),
    },
    options: &[
        Opt::value(
            "bundle",
            "DIR",
            packed!("the bundle (config.json, rootfs)"),
            Flag::Bundle,
        )
        .short(b'b'),
        Opt::value(
            "pid-file",
            "FILE",
            packed!("write the init's PID there"),
            Flag::PidFile,
        ),
        Opt::value(
            "console-socket",
            "SOCKET",
            packed!("send the pty's master there"),
            Flag::ConsoleSocket,
        ),
        Opt::flag(
            "no-pivot",
            packed!("move and chroot, not pivot_root"),
            Flag::NoPivot,
        ),
        Opt::flag(
            "no-new-keyring",
            packed!("accepted: containers get no keyring"),
            Flag::NoNewKeyring,
        ),
    ],
};

fn create(globals: &Globals, args: Args) -> Result<()> {
    let mut given = Given::new(args);
    let operands = read(&CREATE, args, (1, 1), &mut given)?;
    let options = CreateOptions {
        bundle: given.bundle,
        pid_file: given.exec.pid_file,
        console_socket: given.exec.console_socket,
        no_pivot: given.no_pivot,
    };
    runtime::create(Root(globals.given.root), operands[0], &options, &args)
}

pub const KILL: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci kill",
        synopsis: &["[--all] ID [SIGNAL]"],
        about: packed!(
            "Sends SIGNAL (a name with or without SIG, or a number; SIGTERM by default)\n\
                to the container's init."
        ),
        notes: packed!(""),
    },
    options: &[Opt::flag(
        "all",
        packed!("to every process of the container"),
        Flag::All,
    )
    .short(b'a')],
};

fn kill(globals: &Globals, args: Args) -> Result<()> {
    let mut given = Given::new(args);
    let operands = read(&KILL, args, (1, 2), &mut given)?;
    let signal = match operands.get(1) {
        None => rustix::process::Signal::TERM.as_raw(),
        Some(word) => crate::sys::signal::parse(word)
            .ok_or_else(|| bad!("kill: unknown signal {}", Bytes(word)))?,
    };
    runtime::kill(Root(globals.given.root), operands[0], signal, given.all)
}

pub const DELETE: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci delete",
        synopsis: &["[--force] ID"],
        about: packed!("Removes a stopped container: its cgroups and its state."),
        notes: packed!(""),
    },
    options: &[Opt::flag(
        "force",
        packed!("kill a running one first (SIGKILL)"),
        Flag::Force,
    )
    .short(b'f')],
};

fn delete(globals: &Globals, args: Args) -> Result<()> {
    let mut given = Given::new(args);
    let operands = read(&DELETE, args, (1, 1), &mut given)?;
    runtime::delete(Root(globals.given.root), operands[0], given.force)
}

pub const LIST: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci list",
        synopsis: &[""],
        about: packed!("Lists the containers under --root: id, PID, status."),
        notes: packed!(""),
    },
    options: &[],
};

fn list(globals: &Globals, args: Args) -> Result<()> {
    read(&LIST, args, (0, 0), &mut Given::new(args))?;
    runtime::list(Root(globals.given.root))
}

pub const PS: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci ps",
        synopsis: &["[--format table|json] ID"],
        about: packed!(
            "Lists the host PIDs of the container's processes: those in its cgroups,\n\
                or its init alone when it has none."
        ),
        notes: packed!(""),
    },
    options: &[Opt::value(
        "format",
        "FORMAT",
        packed!("table (one per line) or json"),
        Flag::Format,
    )
    .short(b'f')],
};

fn ps(globals: &Globals, args: Args) -> Result<()> {
    let mut given = Given::new(args);
    let operands = read(&PS, args, (1, 1), &mut given)?;
    runtime::ps(Root(globals.given.root), operands[0], given.json)
}

pub const FEATURES: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci features",
        synopsis: &[""],
        about: packed!("Prints what box-oci implements, as the runtime-spec's features document."),
        notes: packed!(""),
    },
    options: &[],
};

fn features(_: &Globals, args: Args) -> Result<()> {
    read(&FEATURES, args, (0, 0), &mut Given::new(args))?;
    crate::outln!("{FEATURES_JSON}");
    Ok(())
}

/// What `features` prints: constant, so kept as its text (the JSON
/// writer's calls that made it took twice the bytes). The tests check it
/// against runtime::OCI_VERSION and config::NAMESPACES.
const FEATURES_JSON: &str = concat!(
    r#"{"ociVersionMin":"1.0.0","ociVersionMax":"1.2.0","#,
    r#""hooks":["prestart","createRuntime","poststart","poststop"],"#,
    r#""mountOptions":["bind","rbind","ro","rw","private","rprivate"],"#,
    r#""linux":{"namespaces":["pid","network","mount","ipc","uts","user","cgroup","time"],"#,
    r#""cgroup":{"v1":true,"v2":true,"systemd":false,"systemdUser":false},"#,
    r#""seccomp":{"enabled":true}}}"#,
);

pub const SPEC: Command<Flag> = Command {
    usage: Usage {
        name: "box-oci spec",
        synopsis: &["[--bundle DIR]"],
        about: packed!(
            "Writes a default config.json in the bundle (the working directory unless\n\
                --bundle): `sh` in ./rootfs, as root with the default capabilities,\n\
                every namespace but user and time, no terminal."
        ),
        notes: packed!(""),
    },
    options: &[Opt::value(
        "bundle",
        "DIR",
        packed!("where to write config.json"),
        Flag::Bundle,
    )
    .short(b'b')],
};

fn spec(_: &Globals, args: Args) -> Result<()> {
    let mut given = Given::new(args);
    read(&SPEC, args, (0, 0), &mut given)?;
    let bundle = given.bundle;
    let path = crate::text::CPath::from_parts(&[bundle, b"/config.json"])
        .ok_or_else(|| bad!("--bundle: path too long"))?;
    let fd = match rustix::fs::open(
        path.as_cstr(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::EXIST) => {
            return Err(bad!("{}: exists already: remove it first", path));
        }
        Err(e) => {
            return Err(Error::sys(
                packed!("write config.json"),
                "open",
                path.as_bytes(),
                e,
            ));
        }
    };
    let texts = crate::packed::Corpus::unpack();
    crate::out::try_write_all(&fd, texts.get(DEFAULT_SPEC).as_bytes())
        .map_err(|e| Error::sys(packed!("write config.json"), "write", path.as_bytes(), e))
}

/// `box-oci spec`'s config.json: what box gives a container by default,
/// written out.
pub const DEFAULT_SPEC: Packed = packed!(
    r#"{
	"ociVersion": "1.2.0",
	"process": {
		"terminal": false,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "box",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
	],
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
		"maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
		"readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
	}
}
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    /// exec's options end at ID, the global options at the command: the
    /// words after them, options of the command's own included, are
    /// `exec.command`; the options read before an error stay read.
    #[test]
    fn options_then_words() {
        let args = Args::for_test(&[
            c"exec", c"-d", c"--env", c"A=1", c"-u", c"5:6", c"ID", c"sh", c"-c",
        ]);
        let mut given = Given::new(args);
        read(&EXEC, args, OPTIONS_THEN_WORDS, &mut given).unwrap();
        assert!(given.exec.detach && given.exec.user == Some((5, 6)));
        assert_eq!(given.exec.env.as_slice(), [&b"A=1"[..]]);
        let command = given.exec.command;
        let words: Vec<_> = (0..command.len()).map(|i| command.bytes(i)).collect();
        assert_eq!(words, [&b"ID"[..], b"sh", b"-c"]);

        let args = Args::for_test(&[c"box-oci", c"--log", c"L", c"--log-format", c"x", c"list"]);
        let mut given = Given::new(args);
        let e = read(&OCI, args, OPTIONS_THEN_WORDS, &mut given).unwrap_err();
        assert_eq!(e.to_string(), "--log-format x: text or json");
        assert_eq!(given.log, Some(&b"L"[..]));

        let args = Args::for_test(&[c"box-oci", c"--root", c"R"]);
        let mut given = Given::new(args);
        let e = read(&OCI, args, OPTIONS_THEN_WORDS, &mut given).unwrap_err();
        assert!(e.to_string().starts_with("usage: box-oci "), "{e}");
    }

    /// The features document is valid JSON, and names the version and the
    /// namespaces box-oci has.
    #[test]
    fn the_features_document() {
        let mut parser = crate::oci::json::Parser::new(FEATURES_JSON.as_bytes());
        parser.skip_value().unwrap();
        parser.end().unwrap();
        let version = format!(r#""ociVersionMax":"{}""#, runtime::OCI_VERSION);
        assert!(FEATURES_JSON.contains(&version), "{FEATURES_JSON}");
        let names: Vec<_> = crate::oci::config::NAMESPACES
            .iter()
            .map(|(name, _)| format!(r#""{name}""#))
            .collect();
        let namespaces = format!(r#""namespaces":[{}]"#, names.join(","));
        assert!(FEATURES_JSON.contains(&namespaces), "{FEATURES_JSON}");
    }
}
