//! The C entry point, which [`entry_point!`] defines in the binary. box is
//! `#![no_main]`: the argument vector the kernel laid out is used in place,
//! with no copy into `String`s. A command's arguments can then go to
//! `execve` as they came, since the tail of `argv` is already a
//! NULL-terminated array of C strings.
//!
//! Skipping Rust's `lang_start` also means SIGPIPE keeps its default action,
//! which containers inherit across `execve`.

use core::ffi::{CStr, c_char};

use super::exec::{Argv, Envp};

/// A tail of the process's argument vector and its environment.
#[derive(Clone, Copy)]
pub struct Args {
    /// First pointer of this tail; `argv[len]` is the terminating NULL.
    argv: *const *const c_char,
    len: usize,
    envp: *const *const c_char,
    /// The whole vector this is a tail of, and its length ([`Args::whole`]).
    whole: *const *const c_char,
    whole_len: usize,
}

impl Args {
    /// The argument vector `argv` of `argc` words, and the environment
    /// `envp` (null for none).
    ///
    /// # Safety
    ///
    /// `argv[0..argc]` are valid pointers to NUL-terminated strings and
    /// `argv[argc]` is NULL; `envp` is null or a NULL-terminated array of
    /// the same. Arrays and strings stay alive and unchanged for as long as
    /// the `Args`, or any word taken from it, is used (for the kernel's
    /// vectors: the whole process).
    pub unsafe fn from_raw(
        argc: core::ffi::c_int,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> Args {
        let len = usize::try_from(argc).unwrap_or(0);
        Args {
            argv,
            len,
            envp,
            whole: argv,
            whole_len: len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Argument `i` of this tail.
    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.len {
            return None;
        }
        // SAFETY: `i < len`, and `argv[0..len]` are valid pointers to
        // NUL-terminated strings that live as long as the process (the kernel
        // placed them on the initial stack; box never frees or edits them).
        Some(unsafe { CStr::from_ptr(*self.argv.add(i)) })
    }

    /// Argument `i` as bytes without the NUL, or `b""` past the end.
    pub fn bytes(&self, i: usize) -> &'static [u8] {
        self.get(i).map_or(b"", CStr::to_bytes)
    }

    /// The tail from argument `i` on (empty if `i >= len`).
    pub fn tail(&self, i: usize) -> Args {
        let i = i.min(self.len);
        Args {
            // SAFETY: `i <= len`, so the result stays within the array or
            // points at its terminating NULL.
            argv: unsafe { self.argv.add(i) },
            len: self.len - i,
            ..*self
        }
    }

    /// The whole argument vector this is a tail of (what box was executed
    /// with: the sealed re-exec executes the same).
    pub fn whole(&self) -> Args {
        Args {
            argv: self.whole,
            len: self.whole_len,
            ..*self
        }
    }

    /// This tail as the argument vector of an execve.
    pub fn argv(&self) -> Argv<'static> {
        // SAFETY: `argv[len]` ends the array with a null pointer, and the
        // array and its strings are the kernel's, which live as long as the
        // process unchanged (see the fields).
        unsafe { Argv::from_raw(self.argv) }
    }

    /// box's own environment, as the environment of an execve.
    pub fn envp(&self) -> Envp<'static> {
        if self.envp.is_null() {
            return Envp::EMPTY;
        }
        // SAFETY: the environment array the C runtime passed to `main`:
        // NULL-terminated, and it lives as long as the process unchanged
        // (box never calls setenv).
        unsafe { Envp::from_raw(self.envp) }
    }

    /// The value of environment variable `name` in box's own environment.
    pub fn env(&self, name: &[u8]) -> Option<&'static [u8]> {
        let mut p = self.envp;
        if p.is_null() {
            return None;
        }
        loop {
            // SAFETY: `envp` is the NULL-terminated environment array the C
            // runtime passed to `main`; every entry up to the NULL is a valid
            // NUL-terminated string that lives as long as the process.
            let entry = unsafe { *p };
            if entry.is_null() {
                return None;
            }
            // SAFETY: as above, `entry` is a valid C string.
            let bytes = unsafe { CStr::from_ptr(entry) }.to_bytes();
            if let Some(rest) = bytes.strip_prefix(name)
                && let Some(value) = rest.strip_prefix(b"=")
            {
                return Some(value);
            }
            // SAFETY: `entry` was not the terminating NULL, so `p + 1` is
            // still inside the array.
            p = unsafe { p.add(1) };
        }
    }

    /// Arguments for tests: leaks a NULL-terminated array of the strings.
    #[cfg(test)]
    pub fn for_test(args: &[&'static CStr]) -> Args {
        let mut v: std::vec::Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        v.push(core::ptr::null());
        let leaked: &'static [*const c_char] = v.leak();
        Args {
            argv: leaked.as_ptr(),
            len: args.len(),
            envp: core::ptr::null(),
            whole: leaked.as_ptr(),
            whole_len: args.len(),
        }
    }
}

/// Defines the process's C entry point, `main`, which calls [`crate::main`]:
/// `boxlib::entry_point!();` in src/main.rs. A macro, so that the symbol
/// is in the binary only: a program that links the library for its own
/// `main` (a test, a fuzz target) gets no second one.
#[macro_export]
macro_rules! entry_point {
    () => {
        /// The process entry point, called by the C runtime with the
        /// kernel's argument vector and environment.
        #[unsafe(no_mangle)]
        extern "C" fn main(
            argc: core::ffi::c_int,
            argv: *const *const core::ffi::c_char,
            envp: *const *const core::ffi::c_char,
        ) -> core::ffi::c_int {
            // SAFETY: the C runtime passes the vectors the kernel laid out
            // on the initial stack: `argc` strings then NULL, and a
            // NULL-terminated environment, alive as long as the process.
            // box never frees or edits them.
            let args = unsafe { $crate::sys::entry::Args::from_raw(argc, argv, envp) };
            core::ffi::c_int::from($crate::main(args))
        }
    };
}
