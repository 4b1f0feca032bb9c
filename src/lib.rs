//! box: containers and PID 1 for embedded Linux boards, in one binary.
//!
//! The library holds every module and the dispatch: on the basename of
//! argv[0] (busybox style), and for `box` itself on its first argument.
//! src/main.rs is only the process's C entry point, which calls [`main`].
//!
//! Public are [`main`] and what the fuzz targets (fuzz/) drive: the parsers
//! and the few types they take. The rest stays private to the crate, so
//! that the compiler still reports code nothing uses.

#![deny(unsafe_code)]

// First: its `packed!` is used by the modules below.
#[macro_use]
pub mod packed;
mod applet;
pub mod args;
mod board;
mod cgroup;
pub mod config;
mod container;
mod devices;
pub mod error;
pub mod mountinfo;
#[cfg(feature = "oci")]
pub mod oci;
pub mod options;
mod out;
mod seccomp;
pub mod spec;
mod state;
pub mod sys;
#[cfg(test)]
mod test_rng;
pub mod text;

use error::EXIT_BOX;
use sys::entry::Args;
use text::Bytes;

type Main = fn(Args) -> u8;

/// Programs reached through their own name (a symlink to box), or as
/// `box NAME`. `box --install DIR` links each of them.
pub(crate) const APPLETS: &[(&str, Main)] = &[
    ("box-init", applet::init::main),
    ("init", applet::init::main),
    ("unshare", applet::unshare::main),
    ("nsenter", applet::nsenter::main),
    ("pivot_root", applet::pivot_root::main),
    ("switch_root", applet::switch_root::main),
    #[cfg(feature = "oci")]
    ("box-oci", applet::oci::main),
];

/// `box COMMAND`: the CLI.
const COMMANDS: &[(&str, Main, packed::Packed)] = &[
    (
        "run",
        applet::run::main,
        packed!("run a command in a new container"),
    ),
    (
        "exec",
        applet::exec::main,
        packed!("run a command in a running container"),
    ),
    ("ps", applet::ps::main, packed!("list named containers")),
    (
        "kill",
        applet::ps::kill,
        packed!("send a signal to a container"),
    ),
    (
        "stop",
        applet::ps::stop,
        packed!("stop a container (TERM, grace, KILL)"),
    ),
    (
        "logs",
        applet::ps::logs,
        packed!("print a detached container's output"),
    ),
    (
        "rm",
        applet::ps::rm,
        packed!("remove an ended container's state and log"),
    ),
    (
        "mounts",
        applet::mounts::main,
        packed!("show a mount table with propagation"),
    ),
    (
        "mount",
        applet::mounts::mount,
        packed!("change mount propagation"),
    ),
    (
        "ns",
        applet::ns::main,
        packed!("show the namespaces of a process"),
    ),
    (
        "poweroff",
        applet::power::poweroff,
        packed!("ask PID 1 to power off"),
    ),
    (
        "reboot",
        applet::power::reboot,
        packed!("ask PID 1 to reboot"),
    ),
    ("halt", applet::power::halt, packed!("ask PID 1 to halt")),
    #[cfg(feature = "oci")]
    (
        "oci",
        applet::oci::main,
        packed!("the OCI runtime (box-oci)"),
    ),
];

/// The programs that create or enter containers. They run only from a
/// sealed copy of box (src/sys/exe.rs): every process they clone into a
/// container has it as its executable, never the host's box file. (box-init
/// seals itself as the board's PID 1, once /proc is mounted: src/board.) A
/// program added that starts or enters containers belongs here too.
/// `box run` decides for itself once it knows its options: a container it
/// can confine with Landlock needs no copy (src/applet/run.rs, `seal`).
const SEALED: &[&str] = &[
    "exec",
    "nsenter",
    #[cfg(feature = "oci")]
    "box-oci",
    #[cfg(feature = "oci")]
    "oci",
];

/// Entry from the C runtime (src/main.rs, through [`entry_point!`]).
/// Returns the exit status.
pub fn main(args: Args) -> u8 {
    sys::fd::ensure_standard_fds();
    let route = route(args.bytes(0), args.bytes(1));
    if matches!(route, Route::Command(_))
        && route.name() == Some("run")
        && applet::run::debug_timing_asked(args.tail(1))
    {
        sys::timing::enable();
    }
    if let Some(name) = route.name().filter(|name| SEALED.contains(name))
        && let Err(e) = sys::exe::run_sealed(args)
    {
        return match name {
            "nsenter" => applet::util_linux::fail(name, &e),
            _ => {
                errln!("box: {name}: {e}");
                e.code
            }
        };
    }
    match route {
        // An applet sees its own name as argv[0], whichever way it came.
        Route::Applet(i) => (APPLETS[i].1)(args),
        Route::BoxApplet(i) => (APPLETS[i].1)(args.tail(1)),
        Route::Command(i) => (COMMANDS[i].1)(args.tail(1)),
        Route::Install => applet::install::main(args.tail(1)),
        Route::List => {
            for (name, _) in APPLETS {
                outln!("{name}");
            }
            0
        }
        Route::Version => {
            outln!("box {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Route::Help => {
            usage();
            0
        }
        Route::Usage => {
            usage();
            EXIT_BOX
        }
        Route::UnknownApplet => {
            errln!(
                "box: unknown applet {}",
                Bytes(text::basename(args.bytes(0)))
            );
            EXIT_BOX
        }
        Route::UnknownCommand => {
            errln!(
                "box: unknown command {} (box --help lists them)",
                Bytes(args.bytes(1))
            );
            EXIT_BOX
        }
    }
}

/// Where an invocation goes. Decided from two words before anything runs,
/// so that it can be tested with any bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Route {
    /// `APPLETS[i]`, called by its own name (a symlink to box).
    Applet(usize),
    /// `box APPLET`: `APPLETS[i]`.
    BoxApplet(usize),
    /// `box COMMAND`: `COMMANDS[i]`.
    Command(usize),
    Install,
    List,
    Version,
    /// `box --help`.
    Help,
    /// `box` alone: the help, as a usage error.
    Usage,
    UnknownApplet,
    UnknownCommand,
}

impl Route {
    /// The command or applet this route runs.
    fn name(self) -> Option<&'static str> {
        match self {
            Route::Applet(i) | Route::BoxApplet(i) => Some(APPLETS[i].0),
            Route::Command(i) => Some(COMMANDS[i].0),
            _ => None,
        }
    }
}

/// The applet named by the basename of `argv0`; else, for a name that
/// starts with `box` (`box`, `box.static`, `box-aarch64`), the command,
/// applet or option `word` (argv[1]) names.
fn route(argv0: &[u8], word: &[u8]) -> Route {
    let applet = |w: &[u8]| APPLETS.iter().position(|(n, _)| n.as_bytes() == w);
    let command = |w: &[u8]| COMMANDS.iter().position(|(n, ..)| n.as_bytes() == w);
    let name = text::basename(argv0);
    if let Some(i) = applet(name) {
        return Route::Applet(i);
    }
    if !name.starts_with(b"box") {
        return Route::UnknownApplet;
    }
    if let Some(i) = command(word) {
        return Route::Command(i);
    }
    if let Some(i) = applet(word) {
        return Route::BoxApplet(i);
    }
    match word {
        b"--list" => Route::List,
        b"--install" => Route::Install,
        b"--version" | b"-V" => Route::Version,
        b"" => Route::Usage,
        b"--help" | b"-h" | b"help" => Route::Help,
        _ => Route::UnknownCommand,
    }
}

/// What `box` itself takes besides commands and applets.
const OWN_OPTIONS: &[(&str, packed::Packed)] = &[
    ("box --list", packed!("print the applet names")),
    (
        "box --install DIR",
        packed!("make a symlink to box for each applet in DIR"),
    ),
];

fn usage() {
    let texts = packed::Corpus::unpack();
    outln!("usage: box COMMAND [ARGS…]   or   APPLET [ARGS…] through a symlink\n");
    outln!("commands:");
    let width = COMMANDS.iter().map(|c| c.0.len()).max().unwrap_or(0) + 2;
    for (name, _, what) in COMMANDS {
        outln!("  {name:<width$}{}", texts.get(*what));
    }
    outln!("\napplets (also `box APPLET`):");
    for (name, _) in APPLETS {
        outln!("  {name}");
    }
    outln!("");
    let width = OWN_OPTIONS.iter().map(|o| o.0.len()).max().unwrap_or(0) + 2;
    for (option, what) in OWN_OPTIONS {
        outln!("  {option:<width$}{}", texts.get(*what));
    }
    outln!("\n`box COMMAND --help` describes a command.");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names box is installed under (`box --install` links the applets).
    const BOX: &[&str] = &["box", "/usr/bin/box", "./box.static", "/opt/box-aarch64/"];

    /// What `box` takes as argv[1] besides the names in the tables.
    const OWN_WORDS: &[&str] = &[
        "--list",
        "--install",
        "--version",
        "-V",
        "--help",
        "-h",
        "help",
        "",
    ];

    #[test]
    fn applets_by_their_own_name_and_as_box_applet() {
        for (i, (name, _)) in APPLETS.iter().enumerate() {
            for path in ["", "/sbin/", "./", "//x//"] {
                for end in ["", "/"] {
                    let argv0 = format!("{path}{name}{end}");
                    assert_eq!(route(argv0.as_bytes(), b"run"), Route::Applet(i), "{argv0}");
                }
            }
            for argv0 in BOX {
                let got = route(argv0.as_bytes(), name.as_bytes());
                assert_eq!(got, Route::BoxApplet(i), "{argv0} {name}");
            }
        }
    }

    #[test]
    fn commands_and_box_options() {
        for argv0 in BOX.iter().map(|b| b.as_bytes()) {
            for (i, (name, ..)) in COMMANDS.iter().enumerate() {
                assert_eq!(route(argv0, name.as_bytes()), Route::Command(i));
            }
            assert_eq!(route(argv0, b"--install"), Route::Install);
            assert_eq!(route(argv0, b"--list"), Route::List);
            assert_eq!(route(argv0, b"-V"), Route::Version);
            assert_eq!(route(argv0, b"help"), Route::Help);
            assert_eq!(route(argv0, b""), Route::Usage);
            assert_eq!(route(argv0, b"RUN"), Route::UnknownCommand);
            assert_eq!(route(argv0, b"run "), Route::UnknownCommand);
        }
        // A command is reached through box only.
        assert_eq!(route(b"/bin/run", b""), Route::UnknownApplet);
        // No argv at all (execve with an empty argv), or a bare root.
        assert_eq!(route(b"", b""), Route::UnknownApplet);
        assert_eq!(route(b"/", b"run"), Route::UnknownApplet);
    }

    /// Each program that must run sealed is one the tables dispatch to.
    #[test]
    fn sealed_programs_are_in_the_tables() {
        for name in SEALED {
            let command = COMMANDS.iter().any(|c| c.0 == *name);
            let applet = APPLETS.iter().any(|a| a.0 == *name);
            assert!(command || applet, "{name}");
        }
    }

    /// Every name in the tables can be reached: none is listed twice, and no
    /// applet hides a command (commands are looked up first).
    #[test]
    fn every_name_is_reachable() {
        let mut names: Vec<&str> = APPLETS.iter().map(|a| a.0).collect();
        names.extend(COMMANDS.iter().map(|c| c.0));
        names.extend(OWN_WORDS.iter().filter(|w| !w.is_empty()));
        for (i, name) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(name), "{name} is listed twice");
        }
    }

    /// What the walk below asks of a program, whatever its options' type.
    trait Program {
        fn usage(&self) -> &options::Usage;
        fn table(&self) -> &dyn options::Table;
        /// Read `args` as the program does, to the end of its options.
        fn read(&'static self, args: Args) -> error::Result<()>;
    }

    impl<A: Copy> Program for options::Command<A> {
        fn usage(&self) -> &options::Usage {
            &self.usage
        }

        fn table(&self) -> &dyn options::Table {
            &self.options
        }

        fn read(&'static self, args: Args) -> error::Result<()> {
            let mut line = args::CommandLine::new(args, self);
            while line.next()?.is_some() {}
            Ok(())
        }
    }

    /// Every program by the name it is dispatched under.
    const PROGRAMS: &[(&str, &dyn Program)] = &[
        ("run", &config::RUN),
        ("exec", &applet::exec::EXEC),
        ("ps", &applet::ps::PS),
        ("kill", &applet::ps::KILL),
        ("stop", &applet::ps::STOP),
        ("logs", &applet::ps::LOGS),
        ("rm", &applet::ps::RM),
        ("mounts", &applet::mounts::MOUNTS),
        ("mount", &applet::mounts::MOUNT),
        ("ns", &applet::ns::NS),
        ("poweroff", &applet::power::POWEROFF),
        ("reboot", &applet::power::REBOOT),
        ("halt", &applet::power::HALT),
        ("--install", &applet::install::INSTALL),
        ("box-init", &applet::init::INIT),
        ("init", &applet::init::INIT),
        ("pivot_root", &applet::pivot_root::PIVOT_ROOT),
        ("switch_root", &applet::switch_root::SWITCH_ROOT),
        ("unshare", &applet::unshare::UNSHARE),
        ("nsenter", &applet::nsenter::NSENTER),
        #[cfg(feature = "oci")]
        ("box-oci", &applet::oci::OCI),
        #[cfg(feature = "oci")]
        ("oci", &applet::oci::OCI),
        #[cfg(feature = "oci")]
        ("box-oci create", &applet::oci::CREATE),
        #[cfg(feature = "oci")]
        ("box-oci start", &applet::oci::START),
        #[cfg(feature = "oci")]
        ("box-oci state", &applet::oci::STATE),
        #[cfg(feature = "oci")]
        ("box-oci kill", &applet::oci::KILL),
        #[cfg(feature = "oci")]
        ("box-oci delete", &applet::oci::DELETE),
        #[cfg(feature = "oci")]
        ("box-oci list", &applet::oci::LIST),
        #[cfg(feature = "oci")]
        ("box-oci ps", &applet::oci::PS),
        #[cfg(feature = "oci")]
        ("box-oci pause", &applet::oci::PAUSE),
        #[cfg(feature = "oci")]
        ("box-oci resume", &applet::oci::RESUME),
        #[cfg(feature = "oci")]
        ("box-oci features", &applet::oci::FEATURES),
        #[cfg(feature = "oci")]
        ("box-oci spec", &applet::oci::SPEC),
    ];

    /// Every command and applet has its options declared, answers `--help`
    /// and `-h` (whatever comes before them among its options), and its
    /// help shows each option, in one column, within 80 columns.
    #[test]
    fn every_program_answers_help_and_shows_its_options() {
        let names = COMMANDS.iter().map(|c| c.0);
        let names = names
            .chain(APPLETS.iter().map(|a| a.0))
            .chain(["--install"]);
        for name in names {
            assert!(PROGRAMS.iter().any(|p| p.0 == name), "{name}: no help");
        }
        for &(name, program) in PROGRAMS {
            for help in [c"--help", c"-h", c"--he"] {
                let e = program
                    .read(Args::for_test(&[c"box", help]))
                    .expect_err(name);
                assert!(options::is_help(&e), "{name} {help:?}: {e}");
            }
            let e = program
                .read(Args::for_test(&[c"box", c"--", c"--help"]))
                .err();
            assert!(e.is_none_or(|e| !options::is_help(&e)), "{name}: -- --help");
            let mut text = String::new();
            options::write_help(&mut text, program.usage(), program.table()).unwrap();
            let usage = format!("usage: {}", program.usage().name);
            assert!(text.starts_with(&usage), "{name}: {text}");
            for line in text.lines() {
                assert!(line.chars().count() <= 80, "{name}: {line}");
            }
            let forms: Vec<&options::Form> = options::forms(program.table()).collect();
            assert!(
                forms.len() <= 64,
                "{name}: more options than its parser counts"
            );
            let mut column = None;
            let texts = crate::packed::Corpus::unpack();
            for (i, form) in forms.iter().enumerate() {
                let form_help = texts.get(form.help);
                let named = |other: &&options::Form| {
                    (!form.long.is_empty() && other.long == form.long)
                        || (form.short != 0 && other.short == form.short)
                };
                assert!(!forms[..i].iter().any(named), "{name}: {form:?} twice");
                assert!(
                    form.long != "help" && form.short != b'h',
                    "{name}: {form:?}"
                );
                assert!(!form.long.is_empty() || form.short != 0, "{name}: {form:?}");
                let shown = match form.place {
                    options::Place::SpecFile => format!("  {} ", form.long),
                    _ if form.long.is_empty() => format!("  -{}", form.short as char),
                    _ => format!("--{}", form.long),
                };
                // Its line, and the line its help is on (the next one when
                // the name is too wide for the column).
                let lines: Vec<&str> = text.lines().collect();
                let (line, help) = (0..lines.len())
                    .filter(|&i| lines[i].starts_with("  ") && lines[i].contains(&shown))
                    .map(|i| (lines[i], lines.get(i + 1).copied().unwrap_or("")))
                    .map(|(line, next)| match line.ends_with(form_help) {
                        true => (line, line),
                        false => (line, next),
                    })
                    .find(|(_, help)| help.ends_with(form_help))
                    .unwrap_or_else(|| panic!("{name}: {shown} not shown with its help"));
                if form.short != 0 && !form.long.is_empty() {
                    let both = format!("-{}, --{}", form.short as char, form.long);
                    assert!(line.contains(&both), "{name}: {line}");
                }
                let at = help.chars().count() - form_help.chars().count();
                assert_eq!(*column.get_or_insert(at), at, "{name}: {line}");
            }
        }
    }

    use crate::test_rng::Rng;

    /// A name made of the tables' names and near misses: cut, doubled,
    /// upper-cased, in a path, or with odd bytes.
    fn random_name(rng: &mut Rng) -> Vec<u8> {
        let mut known: Vec<&str> = APPLETS.iter().map(|a| a.0).collect();
        known.extend(COMMANDS.iter().map(|c| c.0));
        known.extend([
            "box",
            "--list",
            "--install",
            "-V",
            "--help",
            "help",
            "/",
            "-",
            ".",
        ]);
        let mut name = Vec::new();
        for _ in 0..rng.below(4) {
            let piece = known[rng.below(known.len())].as_bytes();
            match rng.below(6) {
                0 => name.extend_from_slice(&piece[..rng.below(piece.len() + 1)]),
                1 => name.extend(piece.to_ascii_uppercase()),
                2 => name.push(rng.next() as u8 | 1),
                _ => name.extend_from_slice(piece),
            }
        }
        name
    }

    /// Whatever the words, the route goes to what they name exactly, and a
    /// name that is not box's is refused.
    #[test]
    fn random_names_reach_only_what_they_name() {
        let applet = |w: &[u8]| APPLETS.iter().position(|a| a.0.as_bytes() == w);
        let mut reached = Vec::new();
        let mut rng = Rng(0x00c0_ffee_1234_5678);
        for _ in 0..20_000 {
            let (argv0, word) = (random_name(&mut rng), random_name(&mut rng));
            let route = route(&argv0, &word);
            let name = text::basename(&argv0);
            let through_box = applet(name).is_none() && name.starts_with(b"box");
            let expected_word: &[&[u8]] = match route {
                Route::Applet(i) => {
                    assert_eq!(APPLETS[i].0.as_bytes(), name);
                    &[]
                }
                Route::UnknownApplet => {
                    assert!(applet(name).is_none() && !name.starts_with(b"box"));
                    &[]
                }
                Route::Command(i) => &[COMMANDS[i].0.as_bytes()],
                Route::BoxApplet(i) => &[APPLETS[i].0.as_bytes()],
                Route::Install => &[b"--install"],
                Route::List => &[b"--list"],
                Route::Version => &[b"--version", b"-V"],
                Route::Help => &[b"--help", b"-h", b"help"],
                Route::Usage => &[b""],
                Route::UnknownCommand => {
                    assert!(through_box);
                    let known = COMMANDS.iter().any(|c| c.0.as_bytes() == word)
                        || applet(&word).is_some()
                        || OWN_WORDS.iter().any(|w| w.as_bytes() == word);
                    assert!(!known, "{:?} refused", String::from_utf8_lossy(&word));
                    &[]
                }
            };
            if !matches!(
                route,
                Route::Applet(_) | Route::UnknownApplet | Route::UnknownCommand
            ) {
                assert!(through_box);
                assert!(expected_word.contains(&&word[..]), "{route:?}");
            }
            if !reached.contains(&route) {
                reached.push(route);
            }
        }
        // Every kind of route was taken, or the names were too random.
        assert!(
            reached.len() > APPLETS.len() + COMMANDS.len(),
            "{reached:?}"
        );
    }
}
