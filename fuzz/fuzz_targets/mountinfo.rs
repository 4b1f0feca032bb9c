//! Fuzz the mountinfo reader: `cargo +nightly fuzz run mountinfo` from the
//! repository root. The bytes are a whole /proc/PID/mountinfo file; the
//! checks are in fuzz/checks/mountinfo.rs, which the unit tests of
//! src/mountinfo.rs run on random lines too.

#![no_main]

use boxlib::{mountinfo, text};
use libfuzzer_sys::fuzz_target;

#[path = "../checks/mountinfo.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_file(data));
