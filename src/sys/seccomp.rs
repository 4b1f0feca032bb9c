//! seccomp(2): installing a classic BPF filter (src/seccomp.rs builds it).

use core::ffi::c_long;

use rustix::io::Errno;

use super::check;

/// Install a seccomp filter (`prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`).
/// The caller sets no_new_privs first, or holds CAP_SYS_ADMIN.
pub fn set_filter(program: &[linux_raw_sys::ptrace::sock_filter]) -> Result<(), Errno> {
    let prog = linux_raw_sys::ptrace::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut _,
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the kernel
    // copies the filter before returning.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            linux_raw_sys::ptrace::SECCOMP_SET_MODE_FILTER as c_long,
            0 as c_long,
            &raw const prog,
        )
    })
    .map(drop)
}
