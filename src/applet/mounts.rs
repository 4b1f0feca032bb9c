//! `box mounts` and `box mount` (not implemented yet).

use crate::sys::entry::Args;

pub fn main(_args: Args) -> u8 {
    super::not_yet("mounts")
}

pub fn mount(_args: Args) -> u8 {
    super::not_yet("mount")
}
