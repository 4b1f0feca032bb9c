//! The host machine: where the workspace is, running programs, and
//! installing what a fresh machine lacks (or saying which command would).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (the directory above xtask/).
pub fn workspace() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Cargo's target directory, where builds, images and caches go.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace().join(dir),
        None => workspace().join("target"),
    }
}

/// A path for messages: relative to the workspace when inside it.
pub fn shown(path: &Path) -> String {
    let root = workspace();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Say what xtask is doing (stderr, so stdout stays the guest's console).
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => { eprintln!("xtask: {}", format_args!($($arg)*)) };
}

/// The command line as a user would type it, for messages.
pub fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Run a command to completion; a non-zero exit is an error naming it.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", describe(command)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(command));
    }
    Ok(())
}

/// Run a command and return its standard output.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("cannot run {}", describe(command)))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").trim();
        bail!("{} failed ({}): {last}", describe(command), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` is on the PATH.
pub fn has_program(program: &str) -> bool {
    find_program(program).is_some()
}

pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

pub fn is_root() -> bool {
    // The owner of /proc/self is this process's effective uid.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Make sure `program` exists, installing the Debian `packages` that
/// provide it when running as root; otherwise say what to run.
pub fn ensure_program(program: &str, packages: &[&str]) -> Result<()> {
    if has_program(program) {
        return Ok(());
    }
    let install = format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    if !has_program("apt-get") {
        bail!(
            "{program} is missing and there is no apt-get here: install {packages:?} by other means"
        );
    }
    if !is_root() {
        bail!("{program} is missing: run `{install}` as root");
    }
    crate::note!("{program} is missing: {install}");
    apt_get_update_once()?;
    let apt_install = || {
        let mut command = Command::new("apt-get");
        command
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    if apt_install().is_err() {
        // Old lists may name versions the mirror no longer has.
        crate::note!("apt-get update, then the install again");
        run(Command::new("apt-get").args(["update", "-q"]))?;
        apt_install()?;
    }
    if !has_program(program) {
        bail!("{program} is still missing after installing {packages:?}");
    }
    Ok(())
}

/// Install Debian `package` (as root), whatever programs are there already.
pub fn ensure_package(package: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "{package} is needed: run `apt-get install -y --no-install-recommends {package}` as root"
        );
    }
    crate::note!("installing {package}");
    apt_get_update_once()?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// `apt-get update` for the host, unless its package lists are there.
fn apt_get_update_once() -> Result<()> {
    let lists = Path::new("/var/lib/apt/lists");
    let has_lists = std::fs::read_dir(lists)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("_Packages"));
    if has_lists {
        return Ok(());
    }
    crate::note!("apt-get update (no package lists yet)");
    run(Command::new("apt-get").args(["update", "-q"]))
}
