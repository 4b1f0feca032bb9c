//! Fuzz `spec::parse_partial`: `cargo +nightly fuzz run spec` from the repository
//! root. Whatever the bytes, the parser must return (never panic), and an
//! error must display.

#![no_main]

use core::fmt::Write;

use boxlib::{spec, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match spec::parse_partial(data, b"/etc/box/fuzz.box") {
        Ok(spec) => {
            let _ = spec.require_complete(b"/etc/box/fuzz.box");
        }
        Err(e) => {
            let mut message = text::Text::<1024>::new();
            let _ = write!(message, "{e}");
            assert!(message.as_bytes().starts_with(b"/etc/box/fuzz.box"));
        }
    }
});
