//! Fuzz how box reads its argument vector: `cargo +nightly fuzz run
//! dispatch` from the repository root. The bytes are the words of argv
//! separated by NUL bytes; the checks, in fuzz/checks/dispatch.rs, take the
//! basename of argv[0] (what applets are found by) and run the getopt of
//! src/args.rs against a model of its syntax. The unit tests of
//! src/args.rs run the same checks on pseudo-random argument vectors.

#![no_main]

use core::ffi::c_char;
use std::ffi::CString;

use boxlib::{args, sys, text};
use libfuzzer_sys::fuzz_target;

#[path = "../checks/dispatch.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    // The words of argv, argv[0] first, separated by NUL bytes.
    let words: Vec<CString> = data
        .split(|&b| b == 0)
        .map(|word| CString::new(word).expect("no NUL in a piece split on NUL"))
        .collect();
    // As the kernel lays out argv: a pointer per word, then NULL.
    let mut argv: Vec<*const c_char> = words.iter().map(|w| w.as_ptr()).collect();
    argv.push(core::ptr::null());
    let argc = i32::try_from(words.len()).expect("fewer words than bytes");
    // SAFETY: `argv` holds `argc` pointers to the NUL-terminated strings of
    // `words`, then NULL; no environment. Both vectors outlive every use of
    // `args`: they are dropped at the end of this closure, after the checks,
    // which keep nothing.
    let args = unsafe { sys::entry::Args::from_raw(argc, argv.as_ptr(), core::ptr::null()) };
    checks::check_basename(args.bytes(0));
    checks::check_getopt(args);
    drop(argv);
    drop(words);
});
