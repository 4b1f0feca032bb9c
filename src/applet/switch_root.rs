//! `switch_root [-c DEV] NEW_ROOT NEW_INIT [ARG…]`: leave the initramfs for
//! the real root, as the last act of an initramfs's PID 1.
//!
//! The sequence and its checks are in `sys::switch_root`, which box-init's
//! `box.switch_root=` uses too.

use super::util_linux;
use crate::args::CommandLine;
use crate::error::Result;
use crate::options::{Command, Opt, Usage};
use crate::outln;
use crate::sys::entry::Args;
use crate::sys::switch_root::switch_into;
use crate::text::CPath;

pub fn main(args: Args) -> u8 {
    // util-linux's status: 1 on failure (126 or 127 for a command that
    // could not be executed), not box's 125, so scripts keep working.
    util_linux::finish(&SWITCH_ROOT, run(args))
}

/// What switch_root's options do.
#[derive(Clone, Copy, Debug)]
pub enum SwitchRootOption {
    Console,
    Version,
}

pub const SWITCH_ROOT: Command<SwitchRootOption> = Command {
    usage: Usage {
        name: "switch_root",
        synopsis: &["[-c DEV] NEW_ROOT NEW_INIT [ARG…]"],
        about: packed!(
            "Moves /dev /proc /sys /run into NEW_ROOT, deletes the initramfs's files,\n\
                makes NEW_ROOT the root and executes NEW_INIT as PID 1."
        ),
        notes: packed!(
            "Exit status (util-linux's): 1 if switch_root failed, 126 if NEW_INIT\n\
                cannot be executed, 127 if it was not found."
        ),
    },
    options: &[
        Opt::value(
            "console",
            "DEV",
            packed!("NEW_INIT's 0, 1, 2 (default /dev/console, in NEW_ROOT)"),
            SwitchRootOption::Console,
        )
        .short(b'c'),
        Opt::flag(
            "version",
            packed!("print the version and exit"),
            SwitchRootOption::Version,
        )
        .short(b'V'),
    ],
};

/// Parse, then switch; returns only for `--version` or on failure.
fn run(args: Args) -> Result<u8> {
    let mut console: Option<CPath> = None;
    let mut line = CommandLine::new(args, &SWITCH_ROOT);
    while let Some(found) = line.next()? {
        match found.action {
            SwitchRootOption::Console => {
                let v = found.text();
                console =
                    Some(CPath::from_bytes(v).ok_or_else(|| {
                        util_linux::bad_value(&found.given, " ", v, "path too long")
                    })?);
            }
            SwitchRootOption::Version => {
                outln!("switch_root (box {})", env!("CARGO_PKG_VERSION"));
                return Ok(0);
            }
        }
    }
    let rest = line.rest();
    let (Some(new_root), Some(init)) = (rest.get(0), rest.get(1)) else {
        return Err(SWITCH_ROOT.usage.error());
    };
    let console = console.as_ref().map(CPath::as_cstr);
    match switch_into(new_root, console, init, rest.tail(1).argv(), args.envp()) {
        Ok(never) => match never {},
        Err(e) => Err(e),
    }
}
