//! Fuzz the option table of `box run` and spec files (`RUN_OPTIONS` in
//! src/config.rs): `cargo +nightly fuzz run options` from the repository
//! root. The checks, and the input format, are in fuzz/checks/options.rs:
//! each value is accepted exactly when a separately written model of the
//! option accepts it, and then stored as the model says; a refused value
//! leaves the configuration as it was. The unit tests of src/config.rs run
//! the same checks on pseudo-random values.

#![no_main]

use boxlib::{config, options, sys, text};
use libfuzzer_sys::fuzz_target;

#[path = "../checks/options.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_input(data));
