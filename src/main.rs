//! box: containers and PID 1 for embedded Linux boards, in one binary.
//!
//! This file only dispatches: on the basename of argv[0] (busybox style), and
//! for `box` itself on its first argument.

#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]

mod applet;
mod args;
mod board;
mod cgroup;
mod config;
mod container;
mod error;
mod mountinfo;
mod out;
mod seccomp;
mod spec;
mod state;
mod sys;
mod text;

use error::EXIT_BOX;
use sys::entry::Args;
use text::Bytes;

type Main = fn(Args) -> u8;

/// Programs reached through their own name (a symlink to box), or as
/// `box NAME`. `box --install DIR` links each of them.
pub const APPLETS: &[(&str, Main)] = &[
    ("box-init", applet::init::main),
    ("init", applet::init::main),
    ("unshare", applet::unshare::main),
    ("nsenter", applet::nsenter::main),
    ("pivot_root", applet::pivot_root::main),
    ("switch_root", applet::switch_root::main),
];

/// `box COMMAND`: the CLI.
const COMMANDS: &[(&str, Main, &str)] = &[
    ("run", applet::run::main, "run a command in a new container"),
    (
        "exec",
        applet::exec::main,
        "run a command in a running container",
    ),
    ("ps", applet::ps::main, "list named containers"),
    ("kill", applet::ps::kill, "send a signal to a container"),
    (
        "stop",
        applet::ps::stop,
        "stop a container (TERM, grace, KILL)",
    ),
    (
        "logs",
        applet::ps::logs,
        "print a detached container's output",
    ),
    (
        "mounts",
        applet::mounts::main,
        "show a mount table with propagation",
    ),
    ("mount", applet::mounts::mount, "change mount propagation"),
    ("ns", applet::ns::main, "show the namespaces of a process"),
    (
        "poweroff",
        applet::power::poweroff,
        "ask PID 1 to power off",
    ),
    ("reboot", applet::power::reboot, "ask PID 1 to reboot"),
    ("halt", applet::power::halt, "ask PID 1 to halt"),
];

/// Entry from the C runtime (src/sys/entry.rs). Returns the exit status.
pub fn main(args: Args) -> u8 {
    sys::process::ensure_standard_fds();
    let name = text::basename(args.bytes(0));
    if let Some(applet) = find(APPLETS, name) {
        return applet(args);
    }
    if name.starts_with(b"box") {
        return cli(args);
    }
    errln!("box: unknown applet {}", Bytes(name));
    EXIT_BOX
}

fn find(table: &[(&str, Main)], name: &[u8]) -> Option<Main> {
    table
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, f)| f)
}

fn cli(args: Args) -> u8 {
    let sub = args.tail(1);
    let word = sub.bytes(0);
    if let Some(&(_, command, _)) = COMMANDS.iter().find(|(n, ..)| n.as_bytes() == word) {
        return command(sub);
    }
    if let Some(applet) = find(APPLETS, word) {
        return applet(sub);
    }
    match word {
        b"--list" => {
            for (name, _) in APPLETS {
                outln!("{name}");
            }
            0
        }
        b"--install" => applet::install::main(sub),
        b"--version" | b"-V" => {
            outln!("box {}", env!("CARGO_PKG_VERSION"));
            0
        }
        b"" | b"--help" | b"-h" | b"help" => {
            usage();
            if word.is_empty() { EXIT_BOX } else { 0 }
        }
        _ => {
            errln!(
                "box: unknown command {} (box --help lists them)",
                Bytes(word)
            );
            EXIT_BOX
        }
    }
}

fn usage() {
    outln!("usage: box COMMAND [ARGS…]   or   APPLET [ARGS…] through a symlink\n");
    outln!("commands:");
    for (name, _, what) in COMMANDS {
        outln!("  {name:<9} {what}");
    }
    outln!("\napplets (also `box APPLET`):");
    for (name, _) in APPLETS {
        outln!("  {name}");
    }
    outln!("\n  box --list            print the applet names");
    outln!("  box --install DIR     make a symlink to box for each applet in DIR");
    outln!("\n`box COMMAND --help` describes a command.");
}
