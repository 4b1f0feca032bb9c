//! Fuzz box's JSON parser and writer (src/oci/json.rs): `cargo +nightly
//! fuzz run json` from the repository root. The bytes are one document;
//! the checks are in fuzz/checks/json.rs (the parser agrees with a reading
//! of RFC 8259's grammar and with serde_json, and what it accepts survives
//! a round trip through the writer), which the unit tests of
//! src/oci/json.rs run on pseudo-random documents too.

#![no_main]

use boxlib::oci;
use libfuzzer_sys::fuzz_target;

#[path = "../checks/json.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::check_document(data);
});
