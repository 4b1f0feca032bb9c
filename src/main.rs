//! The box binary: the process's C entry point, and nothing else. Every
//! module, and the choice of program from argv, is in the library
//! (src/lib.rs), which the fuzz targets and tests use too.
//!
//! Built as a test (`cargo test --bin box`, which names it though
//! Cargo.toml leaves it out of `cargo test`), it is the test harness's own
//! empty program, never box run with the harness's options.

#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]

#[cfg(not(test))]
boxlib::entry_point!();
