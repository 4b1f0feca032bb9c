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

use crate::error::EXIT_BOX;

/// The answer of a command whose issue has not landed yet.
pub fn not_yet(name: &str) -> u8 {
    crate::errln!("box: {name}: not implemented yet");
    EXIT_BOX
}
