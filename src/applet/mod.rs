//! The programs of the multi-call binary, one file each.

pub mod exec;
pub mod init;
pub mod install;
pub mod mounts;
pub mod ns;
pub mod nsenter;
pub mod pivot_root;
pub mod power;
pub mod ps;
pub mod run;
pub mod switch_root;
pub mod unshare;
pub mod util_linux;

use crate::error::Result;
use crate::options::{Command, Table, Usage, write_help};

/// The exit status of a program that ended with `result`: its own; or,
/// after its help on standard output, 0 when `--help` was asked for; or
/// its error's, after the error on standard error behind the program's
/// name (`box: stop: …`).
pub fn finish<A>(command: &Command<A>, result: Result<u8>) -> u8 {
    match result {
        Ok(code) => code,
        Err(e) if crate::args::is_help(&e) => {
            print_help(&command.usage, &command.options);
            0
        }
        Err(e) => {
            crate::errln!("{}: {e}", command.usage.prefix());
            e.code
        }
    }
}

/// The help of a program on standard output.
pub fn print_help(usage: &Usage, options: &dyn Table) {
    let mut out = crate::out::Writer::new(crate::sys::fd::stdout());
    let _ = write_help(&mut out, usage, options);
}
