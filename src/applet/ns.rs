//! `ns` (not implemented yet).

use crate::sys::entry::Args;

pub fn main(_args: Args) -> u8 {
    super::not_yet("ns")
}
