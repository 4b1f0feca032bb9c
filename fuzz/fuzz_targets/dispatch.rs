//! Fuzz how box reads its argument vector: `cargo +nightly fuzz run
//! dispatch` from the repository root. The bytes are the words of argv
//! separated by NUL bytes; the checks, in fuzz/checks/dispatch.rs, take the
//! basename of argv[0] (what applets are found by) and run the getopt of
//! src/args.rs against a model of its syntax. The unit tests of
//! src/args.rs run the same checks on pseudo-random argument vectors.
//!
//! src/sys/entry.rs, which holds the real `Args`, also defines the
//! process's C `main`, which would take the place of libFuzzer's: `Args` is
//! stood in for here by the same methods over an array the harness owns.

#![no_main]
#![allow(dead_code)]

use core::ffi::CStr;
use std::ffi::CString;

use libfuzzer_sys::fuzz_target;

#[path = "../../src/args.rs"]
mod args;
#[path = "../../src/error.rs"]
mod error;
#[path = "../../src/options.rs"]
mod options;
#[path = "../../src/text.rs"]
mod text;

#[path = "../checks/dispatch.rs"]
mod checks;

mod sys {
    pub mod entry {
        use core::ffi::CStr;

        /// A tail of an argument vector, as in src/sys/entry.rs.
        #[derive(Clone, Copy)]
        pub struct Args {
            argv: *const &'static CStr,
            len: usize,
        }

        impl Args {
            /// Over `args`, which must outlive every `Args` made from it
            /// (the harness frees the words only after the checks return).
            pub fn for_test(args: &[&'static CStr]) -> Args {
                Args {
                    argv: args.as_ptr(),
                    len: args.len(),
                }
            }

            pub fn len(&self) -> usize {
                self.len
            }

            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            pub fn get(&self, i: usize) -> Option<&'static CStr> {
                // SAFETY: `i < len` elements of the array `for_test` was
                // given, which is alive while the checks run.
                (i < self.len).then(|| unsafe { *self.argv.add(i) })
            }

            pub fn bytes(&self, i: usize) -> &'static [u8] {
                self.get(i).map_or(b"", CStr::to_bytes)
            }

            pub fn tail(&self, i: usize) -> Args {
                let i = i.min(self.len);
                Args {
                    // SAFETY: `i <= len`: within the array or one past it.
                    argv: unsafe { self.argv.add(i) },
                    len: self.len - i,
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The words of argv, argv[0] first, separated by NUL bytes.
    let argv: Vec<CString> = data
        .split(|&b| b == 0)
        .map(|word| CString::new(word).expect("no NUL in a piece split on NUL"))
        .collect();
    // The parser hands out `&'static` words, as the kernel's argv lives as
    // long as the process; here they live until the end of this run.
    let words: Vec<&'static CStr> = argv
        .iter()
        // SAFETY: `argv` outlives every use of `words`: both are dropped at
        // the end of this closure, after the checks, which keep nothing.
        .map(|word| unsafe { &*(word.as_c_str() as *const CStr) })
        .collect();
    checks::check_basename(words.first().map_or(b"", |w| w.to_bytes()));
    checks::check_getopt(&words);
    drop(words);
    drop(argv);
});
