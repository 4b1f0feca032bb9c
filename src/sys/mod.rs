//! The kernel interface, one facility per file. The only place where
//! `unsafe` is allowed; every block says why it is sound.
//!
//! rustix first; the calls it leaves out on purpose (clone3 and clone,
//! execve, `_exit`, signal masks and dispositions, seccomp, close_range,
//! mount_setattr, bpf, getcwd without an allocating buffer; sendmsg and recvmsg
//! of one descriptor, where rustix's ancillary-data API costs three times the
//! code: pty.rs) are made here through
//! `libc`'s syscall entry, with constants and structs from linux-raw-sys.
//! `libc` is used nowhere else.

#![allow(unsafe_code)]

mod alloc_check;
pub(crate) mod bpf;
pub mod caps;
pub(crate) mod cell;
pub(crate) mod clone;
pub mod entry;
pub(crate) mod exe;
pub(crate) mod exec;
pub(crate) mod fd;
pub(crate) mod fs;
pub(crate) mod landlock;
pub(crate) mod mount;
pub(crate) mod mount_point;
pub(crate) mod net;
pub(crate) mod ns;
pub(crate) mod process;
pub(crate) mod pty;
pub(crate) mod seccomp;
pub(crate) mod signal;
pub(crate) mod switch_root;
pub(crate) mod timing;
pub(crate) mod watchdog;

use core::ffi::c_long;

use rustix::io::Errno;

/// errno of the last failed libc call on this thread.
fn last_errno() -> Errno {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the life of the thread.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

/// A raw syscall's return value: negative is failure, with errno set.
fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret < 0 { Err(last_errno()) } else { Ok(ret) }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `dir`, with its text.
    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// The rules for `unsafe` in box, checked over the whole source tree
    /// (the compiler and clippy check each in part: `unsafe_code` is denied
    /// outside sys/, `undocumented_unsafe_blocks` wants a SAFETY comment,
    /// and `missing_safety_doc` looks at exported functions only):
    /// - `unsafe` appears in src/sys/ only (and in this test's text);
    /// - every `unsafe fn` has a `# Safety` section in its documentation,
    ///   except the methods of an `unsafe impl` of a trait, whose contract
    ///   is the trait's.
    #[test]
    fn unsafe_stays_in_sys_and_every_unsafe_fn_says_when_it_is_safe() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        assert!(files.len() > 20, "found only {} files", files.len());
        let mut problems = Vec::new();
        for (path, text) in &files {
            let in_sys = path.contains("/src/sys/");
            let lines: Vec<&str> = text.lines().collect();
            let mut trait_impl_depth: Option<usize> = None;
            let mut depth = 0usize;
            for (i, line) in lines.iter().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let code = code.trim();
                let uses_unsafe = [
                    "unsafe {",
                    "unsafe fn",
                    "unsafe impl",
                    "unsafe extern",
                    "unsafe(",
                ]
                .iter()
                .any(|keyword| code.contains(keyword));
                if uses_unsafe && !in_sys {
                    problems.push(format!("{path}:{}: unsafe outside src/sys/", i + 1));
                }
                if code.starts_with("unsafe impl") {
                    trait_impl_depth = Some(depth);
                }
                let is_unsafe_fn = [
                    "unsafe fn ",
                    "pub unsafe fn ",
                    "pub(super) unsafe fn ",
                    "pub(crate) unsafe fn ",
                ]
                .iter()
                .any(|p| code.starts_with(p));
                if is_unsafe_fn && trait_impl_depth.is_none() {
                    let doc: Vec<&str> = lines[..i]
                        .iter()
                        .rev()
                        .map(|l| l.trim())
                        .take_while(|l| l.starts_with("///") || l.starts_with("#["))
                        .collect();
                    if !doc.contains(&"/// # Safety") {
                        problems.push(format!("{path}:{}: unsafe fn without # Safety", i + 1));
                    }
                }
                depth += code.matches('{').count();
                depth = depth.saturating_sub(code.matches('}').count());
                if trait_impl_depth.is_some_and(|d| depth <= d && code.contains('}')) {
                    trait_impl_depth = None;
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
