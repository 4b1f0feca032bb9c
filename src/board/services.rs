//! Supervision placeholder: filled in once spec files land.

use crate::board::{Cmdline, Log, Shutdown};
use crate::sys::entry::Args;
use crate::sys::raw::SigSet;

pub fn run(_log: &mut Log, _cmdline: &Cmdline, _args: Args, _all: &SigSet) -> Option<Shutdown> {
    None
}
