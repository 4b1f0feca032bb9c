//! A value in static memory that one caller takes for good.
//!
//! For tables too large for a stack and kept for the life of the process,
//! where box does without a heap: box-init's table of services. A static
//! whose initial value is all zeros (an empty `heapless::Vec` is a zero
//! length and uninitialised room) lands in .bss, which costs nothing in the
//! file and no memory until a page of it is first written: a table of 64
//! services touches only the pages of the services it holds.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// `value`, handed out once as `&'static mut` by [`Taken::take`].
pub struct Taken<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through the one `&mut` that `take`
// hands out (the flag's swap lets exactly one caller through, whatever the
// thread), so sharing the cell shares no access to `T` itself; `T: Send`
// because that reference may be used on another thread than the first's.
unsafe impl<T: Send> Sync for Taken<T> {}

impl<T> Taken<T> {
    pub const fn new(value: T) -> Self {
        Taken {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` ever after.
    // A `&mut` from `&self` is the point: the flag, not the borrow, makes
    // it the only one.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the swap above returned false for this caller only, so
        // no other reference to the value exists or will ever be made.
        Some(unsafe { &mut *self.value.get() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_caller_gets_the_value() {
        static CELL: Taken<heapless::Vec<u32, 4>> = Taken::new(heapless::Vec::new());
        let first = CELL.take().expect("the first take gets the value");
        first.push(7).unwrap();
        assert!(CELL.take().is_none());
        assert_eq!(first.as_slice(), &[7]);
    }
}
