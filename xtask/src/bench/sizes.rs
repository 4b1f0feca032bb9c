//! The report's section "Binary sizes": box built for every target the way
//! `cargo xtask build --size` builds it (the release build, the size-tuned
//! one with the OCI runtime and the one without), so that the results say
//! what the binaries measured were, armv7's included. Builds that are up
//! to date cost nothing; a first size-tuned build takes minutes per target.

use crate::board::TARGETS;
use crate::build::{self, Profile, SIZE_BUDGET, SIZE_BUDGET_OCI};

/// One kind of build, its size for each target in `Sizes::targets`' order.
pub struct Build {
    pub label: &'static str,
    pub budget: Option<u64>,
    pub bytes: Vec<Result<u64, String>>,
}

pub struct Sizes {
    pub date: String,
    pub commit: String,
    pub command: String,
    pub targets: Vec<&'static str>,
    pub builds: Vec<Build>,
}

/// Build every target three ways and measure the binaries; a build that
/// fails is a cell saying why, not an error.
pub fn measure(date: String, commit: String, command: String) -> Sizes {
    let mut builds = vec![
        Build {
            label: "release (`cargo xtask build`)",
            budget: None,
            bytes: Vec::new(),
        },
        Build {
            label: "size-tuned (`cargo xtask build --size`), with box-oci",
            budget: Some(SIZE_BUDGET_OCI),
            bytes: Vec::new(),
        },
        Build {
            label: "size-tuned, without the OCI runtime (`--no-oci`)",
            budget: Some(SIZE_BUDGET),
            bytes: Vec::new(),
        },
    ];
    for &target in TARGETS {
        crate::note!("sizes: building box for {} (three builds)", target.name);
        let results = [
            build::build(target, Profile::Release),
            build::build(target, Profile::Size),
            build::build_size_without_oci(target),
        ];
        for (build, result) in builds.iter_mut().zip(results) {
            build.bytes.push(
                result
                    .and_then(|path| Ok(std::fs::metadata(path)?.len()))
                    .map_err(|e| format!("{e:#}")),
            );
        }
    }
    Sizes {
        date,
        commit,
        command,
        targets: TARGETS.iter().map(|t| t.name).collect(),
        builds,
    }
}
