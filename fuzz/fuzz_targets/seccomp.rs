//! Fuzz the OCI seccomp compiler (src/oci/seccomp.rs): `cargo +nightly
//! fuzz run seccomp` from the repository root. The bytes drive a generator
//! of profiles (fuzz/checks/seccomp.rs), each compiled for x86_64, aarch64
//! and arm; the program must answer every probed syscall as the rules read
//! directly do. The unit tests of src/oci/seccomp.rs run the same checks
//! on pseudo-random profiles and on podman's real one.

#![no_main]

use boxlib::{error, oci};
use libfuzzer_sys::fuzz_target;

// The unit tests of src/oci/seccomp.rs also read the figures a compiled
// program comes with; the fuzzer needs only the verdict.
#[expect(dead_code, reason = "the fields of Compiled are for the unit tests")]
#[path = "../checks/seccomp.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    for arch in [oci::seccomp::X86_64, oci::seccomp::AARCH64, oci::seccomp::ARM] {
        let json = checks::profile_from_bytes(data, &arch);
        checks::check_profile(json.as_bytes(), &arch);
    }
});
