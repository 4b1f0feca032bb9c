//! Fuzz `spec::parse_partial`: `cargo +nightly fuzz run spec` from the repository
//! root. Whatever the bytes, the parser must return (never panic), and an
//! error must display.
//!
//! box is a binary crate, so the modules the parser needs are compiled
//! here again from their source files; `container::plan` is stood in for by
//! the two items spec.rs uses, with MAX_ARGS read from plan.rs itself.

#![no_main]
#![allow(dead_code)]

use core::fmt::Write;
use libfuzzer_sys::fuzz_target;

#[path = "../../src/config.rs"]
mod config;
#[path = "../../src/error.rs"]
mod error;
#[path = "../../src/options.rs"]
mod options;
#[path = "../../src/spec.rs"]
mod spec;
#[path = "../../src/text.rs"]
mod text;

#[path = "../../src/sys/caps.rs"]
pub mod caps;

mod sys {
    pub use crate::caps;

    /// Stands in for src/sys/fs.rs (libc, and box's own syscall checks):
    /// `load_partial` reads the working directory, which the fuzzed
    /// `parse` never does.
    pub mod fs {
        pub fn getcwd(_buf: &mut [u8]) -> Result<&[u8], rustix::io::Errno> {
            Err(rustix::io::Errno::NOSYS)
        }
    }
}

mod container {
    pub mod plan {
        use crate::text::CPath;

        /// The real value, from src/container/plan.rs.
        pub const MAX_ARGS: usize = number_after(
            include_str!("../../src/container/plan.rs"),
            "pub const MAX_ARGS: usize = ",
        );

        pub enum Command<'a> {
            Words(&'a heapless::Vec<CPath, MAX_ARGS>),
        }

        /// The decimal number that follows `marker` in `source`.
        const fn number_after(source: &str, marker: &str) -> usize {
            let (s, m) = (source.as_bytes(), marker.as_bytes());
            let mut i = 0;
            while i + m.len() <= s.len() {
                let mut j = 0;
                while j < m.len() && s[i + j] == m[j] {
                    j += 1;
                }
                if j == m.len() {
                    let (mut k, mut n) = (i + j, 0);
                    while k < s.len() && s[k].is_ascii_digit() {
                        n = n * 10 + (s[k] - b'0') as usize;
                        k += 1;
                    }
                    assert!(k > i + j, "MAX_ARGS is not a plain number in plan.rs");
                    return n;
                }
                i += 1;
            }
            panic!("MAX_ARGS not found in src/container/plan.rs");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match spec::parse_partial(data, b"/etc/box/fuzz.box") {
        Ok(spec) => {
            assert!(spec.cmd.len() <= container::plan::MAX_ARGS);
            let _ = spec.require_complete(b"/etc/box/fuzz.box");
        }
        Err(e) => {
            let mut message = text::Text::<1024>::new();
            let _ = write!(message, "{e}");
            assert!(message.as_bytes().starts_with(b"/etc/box/fuzz.box"));
        }
    }
});
