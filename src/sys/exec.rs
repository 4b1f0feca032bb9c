//! Executing a program: execve(2), execveat(2) on a descriptor, a PATH
//! search that allocates nothing, and `_exit(2)` for a child that could not.
//!
//! execve takes its argument vector and environment as NULL-terminated
//! arrays of pointers to C strings, which the kernel reads: every pointer
//! must be valid at the call. [`Argv`] and [`Envp`] are such arrays whose
//! lifetime is tied to the strings and the array they point into, so the
//! calls here are safe. They are made in one of two ways: from box's own
//! argument vector and environment, which the kernel laid out and which
//! live as long as the process (src/sys/entry.rs), or by a [`CStrArray`]
//! filled before the fork (or in the child, on its stack: no allocation).

use core::ffi::{CStr, c_char, c_int, c_long};
use core::marker::PhantomData;

use linux_raw_sys::general as k;
use rustix::fd::{AsRawFd, BorrowedFd};
use rustix::io::Errno;

use super::last_errno;
use crate::text::CPath;

/// execve(2)'s `argv`: a NULL-terminated array of C strings, all valid for
/// `'a`.
#[derive(Clone, Copy)]
pub struct Argv<'a>(Pointers<'a>);

/// execve(2)'s `envp`: a NULL-terminated array of `KEY=VALUE` C strings,
/// all valid for `'a`.
#[derive(Clone, Copy)]
pub struct Envp<'a>(Pointers<'a>);

/// The first pointer of a NULL-terminated array of C strings that, with
/// the strings, stays valid and unchanged for `'a`.
#[derive(Clone, Copy)]
struct Pointers<'a> {
    first: *const *const c_char,
    strings: PhantomData<&'a [&'a CStr]>,
}

impl<'a> Argv<'a> {
    /// # Safety
    /// `first` points to an array of pointers to NUL-terminated strings
    /// ending with a null pointer, and the array and the strings stay valid
    /// and unchanged for `'a`.
    pub(super) unsafe fn from_raw(first: *const *const c_char) -> Argv<'a> {
        Argv(Pointers {
            first,
            strings: PhantomData,
        })
    }
}

impl<'a> Envp<'a> {
    /// No environment at all.
    pub const EMPTY: Envp<'static> = {
        const NOTHING: &[*const c_char; 1] = &[core::ptr::null()];
        Envp(Pointers {
            first: NOTHING.as_ptr(),
            strings: PhantomData,
        })
    };

    /// # Safety
    /// As for [`Argv::from_raw`].
    pub(super) unsafe fn from_raw(first: *const *const c_char) -> Envp<'a> {
        Envp(Pointers {
            first,
            strings: PhantomData,
        })
    }
}

impl<'a> Envp<'a> {
    /// The `KEY=VALUE` strings, in order.
    pub fn entries(self) -> impl Iterator<Item = &'a CStr> {
        let mut p = self.0.first;
        core::iter::from_fn(move || {
            // SAFETY: `p` points into a NULL-terminated array of pointers
            // to C strings, all valid for `'a` (the type's invariant), and
            // never past its NULL: we stop there.
            let entry = unsafe { *p };
            if entry.is_null() {
                return None;
            }
            // SAFETY: not the NULL, so one of the array's valid C strings;
            // `p + 1` is still within the array (at worst its NULL).
            let (string, next) = unsafe { (CStr::from_ptr(entry), p.add(1)) };
            p = next;
            Some(string)
        })
    }

    /// The value of variable `name`.
    pub fn get(self, name: &[u8]) -> Option<&'a [u8]> {
        self.entries()
            .find_map(|e| e.to_bytes().strip_prefix(name)?.strip_prefix(b"="))
    }
}

/// Storage for an [`Argv`] or [`Envp`]: up to `N - 1` borrowed C strings
/// and the NULL after them, on the stack. Filled before a fork, or in the
/// child: it never allocates.
pub struct CStrArray<'a, const N: usize> {
    /// `pointers[len]` and every slot after it are null.
    pointers: [*const c_char; N],
    len: usize,
    strings: PhantomData<&'a CStr>,
}

/// The string did not fit: a [`CStrArray`] holds at most `N - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl<'a, const N: usize> CStrArray<'a, N> {
    pub const fn new() -> Self {
        const { assert!(N > 0, "no room for the terminating NULL") };
        CStrArray {
            pointers: [core::ptr::null(); N],
            len: 0,
            strings: PhantomData,
        }
    }

    /// The array of `strings`, or `Full` if there are more than `N - 1`.
    pub fn of(strings: impl IntoIterator<Item = &'a CStr>) -> Result<Self, Full> {
        let mut array = Self::new();
        for string in strings {
            array.push(string)?;
        }
        Ok(array)
    }

    /// Add `string` at the end, keeping the NULL after it.
    pub fn push(&mut self, string: &'a CStr) -> Result<(), Full> {
        if self.len + 1 >= N {
            return Err(Full);
        }
        self.pointers[self.len] = string.as_ptr();
        self.len += 1;
        Ok(())
    }

    /// The array as an argument vector, for as long as it is borrowed.
    pub fn argv(&self) -> Argv<'_> {
        Argv(self.pointers())
    }

    /// The array as an environment, for as long as it is borrowed.
    pub fn envp(&self) -> Envp<'_> {
        Envp(self.pointers())
    }

    fn pointers(&self) -> Pointers<'_> {
        // Every string pushed outlives `'a`, which outlives this borrow of
        // the array; `pointers[len]` is null (set by `new`, never written
        // at or past `len` but by `push`, which keeps one null slot).
        Pointers {
            first: self.pointers.as_ptr(),
            strings: PhantomData,
        }
    }
}

impl<const N: usize> Default for CStrArray<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// `execve(2)`. Returns only on failure.
pub fn execve(path: &CStr, argv: Argv<'_>, envp: Envp<'_>) -> Errno {
    // SAFETY: `path` is a valid C string; `argv` and `envp` are
    // NULL-terminated arrays of C strings valid for the call (their types
    // say so: see [`Argv`]).
    unsafe { libc::execve(path.as_ptr(), argv.0.first, envp.0.first) };
    last_errno()
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: execute the file behind
/// `fd` (box's sealed copy, src/sys/exe.rs). Returns only on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: Argv<'_>, envp: Envp<'_>) -> Errno {
    // SAFETY: `fd` is a valid descriptor borrowed for the call, the path is
    // an empty C string, argv/envp are NULL-terminated arrays of C strings
    // valid for the call (see [`Argv`]).
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd() as c_long,
            c"".as_ptr(),
            argv.0.first,
            envp.0.first,
            k::AT_EMPTY_PATH as c_long,
        )
    };
    last_errno()
}

/// execve `program`, searching `path` (a PATH value) when the name has no
/// slash, as execvp does but without allocating: ENOENT and ENOTDIR move on,
/// EACCES is remembered (a later directory may still have the file), any
/// other error stops the search. Returns only on failure: the errno and the
/// path it applies to (for "not found in PATH", ENOENT and the bare name).
pub fn exec_search(program: &CStr, argv: Argv<'_>, envp: Envp<'_>, path: &[u8]) -> (Errno, CPath) {
    let name = program.to_bytes();
    if name.contains(&b'/') {
        let errno = execve(program, argv, envp);
        return (errno, CPath::from_bytes(name).unwrap_or_default());
    }
    let mut denied: Option<CPath> = None;
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Some(full) = CPath::from_parts(&[dir, b"/", name]) else {
            continue;
        };
        match execve(full.as_cstr(), argv, envp) {
            Errno::NOENT | Errno::NOTDIR => {}
            Errno::ACCESS => denied = denied.or(Some(full)),
            errno => return (errno, full),
        }
    }
    match denied {
        Some(full) => (Errno::ACCESS, full),
        None => (Errno::NOENT, CPath::from_bytes(name).unwrap_or_default()),
    }
}

/// Most words (the file and its arguments) of a script without `#!` that
/// [`exec_script`] runs through /bin/sh (in the README's fixed limits).
pub const SCRIPT_WORDS_MAX: usize = 255;

/// Run `file`, which the kernel refused as not executable (ENOEXEC: a
/// script without `#!`), as `/bin/sh FILE ARG…`: execvp's fallback (POSIX
/// execvp, glibc, musl), which util-linux's tools get through execvp.
/// `args` are the command's words after the program's name. Returns only
/// on failure: the errno of /bin/sh's execve, or E2BIG past
/// [`SCRIPT_WORDS_MAX`] words. On the stack: it runs after fork.
pub fn exec_script(file: &CStr, args: super::entry::Args, envp: Envp<'_>) -> Errno {
    // /bin/sh, the file, its arguments, and the NULL.
    let mut argv = CStrArray::<{ SCRIPT_WORDS_MAX + 2 }>::new();
    let args = (0..args.len()).filter_map(|i| args.get(i));
    let words = [c"/bin/sh", file].into_iter().chain(args);
    for word in words {
        if argv.push(word).is_err() {
            return Errno::TOOBIG;
        }
    }
    execve(c"/bin/sh", argv.argv(), envp)
}

/// `_exit(2)`: leave now, without running atexit handlers or flushing stdio
/// buffers that belong to the parent's copy of memory.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: `_exit` has no preconditions and does not return.
    unsafe { libc::_exit(c_int::from(code)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pointers a NULL-terminated array holds, up to its NULL.
    fn strings(first: *const *const c_char) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut p = first;
        // SAFETY: `first` comes from a live CStrArray, whose array ends with
        // a null pointer; the test reads it while the array is borrowed.
        unsafe {
            while !(*p).is_null() {
                out.push(CStr::from_ptr(*p).to_bytes().to_vec());
                p = p.add(1);
            }
        }
        out
    }

    #[test]
    fn an_empty_environment_is_one_null() {
        assert!(strings(Envp::EMPTY.0.first).is_empty());
    }

    #[test]
    fn an_array_keeps_its_null_and_refuses_what_does_not_fit() {
        let mut array = CStrArray::<3>::new();
        assert_eq!(strings(array.argv().0.first), Vec::<Vec<u8>>::new());
        array.push(c"sh").unwrap();
        array.push(c"-c").unwrap();
        assert_eq!(array.push(c"true"), Err(Full));
        assert_eq!(
            strings(array.envp().0.first),
            [b"sh".to_vec(), b"-c".to_vec()]
        );
        let words = [c"a", c"b", c"c"];
        assert_eq!(CStrArray::<3>::of(words).err(), Some(Full));
        let array = CStrArray::<4>::of(words).unwrap();
        assert_eq!(strings(array.argv().0.first).len(), 3);
    }
}
