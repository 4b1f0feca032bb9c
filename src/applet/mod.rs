//! The programs of the multi-call binary, one file each.

pub mod exec;
pub mod init;
pub mod install;
pub mod mounts;
pub mod ns;
pub mod nsenter;
#[cfg(feature = "oci")]
pub mod oci;
pub mod pivot_root;
pub mod power;
pub mod ps;
pub mod run;
pub mod switch_root;
pub mod unshare;
pub mod util_linux;
