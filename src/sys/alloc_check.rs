//! The rule that a process made by [`spawn`](super::clone::spawn) does not
//! allocate before it executes its command (or exits), enforced in debug
//! builds, which are what `cargo test` builds and runs.
//!
//! The child runs on a copy of box's memory: were an allocator lock held
//! at the clone (by another thread, in a process that had one), it would
//! stay held in the child for good, and an allocation there would hang.
//! box has one thread, so this never happens today; the rule keeps the
//! child's code free to run anywhere (and small: the container child only
//! reads what the Plan laid out before the clone). No type can keep a
//! closure from calling `Vec::new`, so the rule is checked where it would
//! be broken: in debug builds every allocation, reallocation and free goes
//! through [`Checked`], which in a spawned child prints one line on
//! standard error and kills the process with SIGKILL. Every host test that
//! starts a container, enters one, detaches one or runs box-init runs the
//! debug binary, so a child path that allocates fails its test (with exit
//! status 137 and that line), as does the unit test in sys/clone.rs that
//! checks the check. Release builds keep the system allocator untouched
//! and pay nothing.

#[cfg(debug_assertions)]
mod checked {
    use core::alloc::{GlobalAlloc, Layout};
    use core::sync::atomic::{AtomicBool, Ordering};
    use std::alloc::System;

    /// Set in a spawned child right after the clone, in the child's own
    /// copy of memory (the parent's stays false); gone with the execve.
    /// The one static box mutates, in debug builds only.
    static IN_CLONE_CHILD: AtomicBool = AtomicBool::new(false);

    pub fn enter_clone_child() {
        IN_CLONE_CHILD.store(true, Ordering::Relaxed);
    }

    /// Refuse the allocator call `what` in a spawned child: one line on
    /// standard error, then SIGKILL, both raw syscalls (the allocator is
    /// not to be entered, and libc's abort would signal the parent's
    /// thread: the child of a raw clone keeps the parent's cached TID).
    fn refuse_in_clone_child(what: &str) {
        if !IN_CLONE_CHILD.load(Ordering::Relaxed) {
            return;
        }
        let stderr = crate::sys::fd::stderr();
        for part in [
            "box: ",
            what,
            " in a process cloned by box before it executed its command (a bug: src/sys/clone.rs forbids it)\n",
        ] {
            let _ = rustix::io::write(stderr, part.as_bytes());
        }
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        crate::sys::exec::exit_now(crate::error::EXIT_BOX)
    }

    /// The system allocator, behind the check.
    pub struct Checked;

    // SAFETY: every method forwards to `System` with the same arguments
    // (the caller's contract passes on unchanged), after a check that
    // either returns or ends the process.
    unsafe impl GlobalAlloc for Checked {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            refuse_in_clone_child("an allocation");
            // SAFETY: the caller's contract for `alloc`, passed on.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            refuse_in_clone_child("an allocation");
            // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            refuse_in_clone_child("a free");
            // SAFETY: the caller's contract for `dealloc`, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            refuse_in_clone_child("a reallocation");
            // SAFETY: the caller's contract for `realloc`, passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Checked = Checked;
}

/// Mark this process as a spawned child that has not executed its command
/// yet: from here on, an allocation kills it (debug builds only).
#[inline(always)]
pub(super) fn enter_clone_child() {
    #[cfg(debug_assertions)]
    checked::enter_clone_child();
}
