//! `box ps`, `box kill`, `box stop`, `box logs` (not implemented yet).

use crate::sys::entry::Args;

pub fn main(_args: Args) -> u8 {
    super::not_yet("ps")
}

pub fn kill(_args: Args) -> u8 {
    super::not_yet("kill")
}

pub fn stop(_args: Args) -> u8 {
    super::not_yet("stop")
}

pub fn logs(_args: Args) -> u8 {
    super::not_yet("logs")
}
