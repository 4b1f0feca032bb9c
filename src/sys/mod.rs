//! The kernel interface, one facility per file. The only place where
//! `unsafe` is allowed; every block says why it is sound.

#![allow(unsafe_code)]

pub mod caps;
pub mod entry;
pub mod exe;
pub mod mount;
pub mod mount_point;
pub mod net;
pub mod ns;
pub mod process;
pub mod raw;
