//! The box binary: the process's C entry point, and nothing else. Every
//! module, and the choice of program from argv, is in the library
//! (src/lib.rs), which the fuzz targets and tests use too.

#![no_main]
#![deny(unsafe_code)]

boxlib::entry_point!();
