//! Debian packages for the guest (kernels, busybox-static), fetched with
//! `apt-get download` and unpacked with `dpkg-deb -x`, without touching the
//! host's dpkg architectures or package lists: each architecture gets its own
//! apt lists and cache under target/apt/<arch>/ (QEMU-NOTES.md, "Kernels").
//! Nothing here needs root.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::host;

/// apt for one Debian architecture, with private state.
pub struct Apt {
    arch: &'static str,
    state: PathBuf,
}

impl Apt {
    /// `arch` is Debian's name: `amd64`, `arm64`.
    pub fn new(arch: &'static str) -> Result<Apt> {
        for program in ["apt-get", "apt-cache", "dpkg-deb"] {
            if !host::has_program(program) {
                bail!("{program} is not here (a Debian host is needed to fetch packages)");
            }
        }
        let state = host::target_dir().join("apt").join(arch);
        std::fs::create_dir_all(state.join("lists/partial"))
            .and_then(|()| std::fs::create_dir_all(state.join("cache/archives/partial")))
            .with_context(|| format!("creating {}", state.display()))?;
        Ok(Apt { arch, state })
    }

    /// `apt-get`/`apt-cache` with this architecture and private state.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        let options = [
            format!("APT::Architecture={}", self.arch),
            format!("APT::Architectures={}", self.arch),
            format!("Dir::State::Lists={}/lists", self.state.display()),
            format!("Dir::Cache={}/cache", self.state.display()),
            // Only the Packages lists are needed: skip translations and
            // AppStream metadata (a third of the download).
            "Acquire::Languages=none".into(),
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false".into(),
        ];
        for option in options {
            command.arg("-o").arg(option);
        }
        if host::is_root() {
            // apt would drop to the _apt user, which cannot write under
            // target/, and warn about it on every download.
            command.args(["-o", "APT::Sandbox::User=root"]);
        }
        command.arg("-q");
        command
    }

    fn has_lists(&self) -> bool {
        std::fs::read_dir(self.state.join("lists"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
    }

    fn update(&self) -> Result<()> {
        crate::note!(
            "apt-get update for {} (lists in {})",
            self.arch,
            host::shown(&self.state)
        );
        let mut command = self.command("apt-get");
        command.arg("update").stdout(std::process::Stdio::null());
        host::run(&mut command)
    }

    fn update_once(&self) -> Result<()> {
        if self.has_lists() {
            Ok(())
        } else {
            self.update()
        }
    }

    /// The candidate version's record (`apt-cache show`) of `package`.
    pub fn show(&self, package: &str) -> Result<String> {
        self.update_once()?;
        let show = |apt: &Apt| {
            host::output(
                apt.command("apt-cache")
                    .args(["show", "--no-all-versions", package]),
            )
        };
        match show(self) {
            Ok(record) if !record.trim().is_empty() => Ok(record),
            _ => {
                // Lists from an older run may not know a new package.
                self.update()?;
                show(self).with_context(|| format!("no Debian package {package} for {}", self.arch))
            }
        }
    }

    /// Download `package` and unpack it into `into`, which must not exist:
    /// it appears only once complete, so an interrupted run leaves no half
    /// cache behind.
    pub fn fetch_and_unpack(&self, package: &str, into: &Path) -> Result<()> {
        self.update_once()?;
        let downloads = self.state.join("downloads");
        let _ = std::fs::remove_dir_all(&downloads);
        std::fs::create_dir_all(&downloads)?;
        crate::note!("apt-get download {package} ({})", self.arch);
        let download = |apt: &Apt| {
            let mut command = apt.command("apt-get");
            command
                .current_dir(&downloads)
                .args(["download", package])
                .stdout(std::process::Stdio::null());
            host::run(&mut command)
        };
        if download(self).is_err() {
            // The lists may name a version the mirror no longer has.
            self.update()?;
            download(self)?;
        }
        let deb = std::fs::read_dir(&downloads)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .with_context(|| format!("apt-get download {package} left no .deb"))?;
        let partial = into.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        if let Some(parent) = into.parent() {
            std::fs::create_dir_all(parent)?;
        }
        host::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial))?;
        std::fs::rename(&partial, into)
            .with_context(|| format!("renaming {} to {}", partial.display(), into.display()))?;
        std::fs::remove_dir_all(&downloads)?;
        Ok(())
    }
}

/// The value of `field` in an apt record (`Depends`, `Version`, …).
pub fn field<'a>(record: &'a str, field: &str) -> Option<&'a str> {
    record.lines().find_map(|line| {
        line.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}

/// The package names in a `Depends` value, without versions or alternatives.
pub fn depends(value: &str) -> Vec<&str> {
    value
        .split([',', '|'])
        .filter_map(|item| item.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_depends() {
        let record = "Package: linux-image-arm64\nVersion: 6.1.192-2\n\
                      Depends: linux-image-6.1.0-56-arm64 (= 6.1.192-2), foo:any | bar\n";
        assert_eq!(field(record, "Version"), Some("6.1.192-2"));
        let value = field(record, "Depends").unwrap();
        assert_eq!(depends(value), ["linux-image-6.1.0-56-arm64", "foo", "bar"]);
        assert_eq!(field(record, "Pre-Depends"), None);
    }
}
