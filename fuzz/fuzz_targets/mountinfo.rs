//! Fuzz the mountinfo reader: `cargo +nightly fuzz run mountinfo` from the
//! repository root. The bytes are a whole /proc/PID/mountinfo file; the
//! checks are in fuzz/checks/mountinfo.rs, which the unit tests of
//! src/mountinfo.rs run on random lines too.

#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/error.rs"]
mod error;
#[path = "../../src/mountinfo.rs"]
mod mountinfo;
#[path = "../../src/text.rs"]
mod text;

#[path = "../checks/mountinfo.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_file(data));
