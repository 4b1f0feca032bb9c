//! Everything the bench needs before the first run: box's release binary
//! and its size-tuned one, the floor program, a busybox rootfs, OCI bundles for crun and runc, the
//! cgroups the floor's limits row uses, a mount namespace in which crun
//! accepts a hybrid cgroup host, and a running container for `box exec`.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::board::Target;
use crate::build::{self, Profile};
use crate::host;

/// The memory and pids limits of the limits rows (box run --memory 64M
/// --pids 64, and the same for the floor, crun and runc).
pub const MEMORY_LIMIT: u64 = 64 << 20;
pub const PIDS_LIMIT: u64 = 64;

/// The applets the rootfs's busybox provides, as symlinks in /bin.
const ROOTFS_APPLETS: &[&str] = &["true", "sh", "sleep"];
/// The empty directories of the rootfs: mount points for /proc, /dev,
/// /sys, and a /tmp.
const ROOTFS_DIRS: &[&str] = &["proc", "dev", "sys", "tmp"];

/// The name of the detached container `box exec` and nsenter enter.
pub const EXEC_CONTAINER: &str = "box-bench-exec";

pub struct Setup {
    /// target/bench: the rootfs, the floor, the bundles.
    pub dir: PathBuf,
    pub box_binary: PathBuf,
    /// The size-tuned build with the OCI runtime (`cargo xtask build
    /// --size`, what board images built with `--size` carry), or why there
    /// is none.
    pub box_size_tuned: Result<PathBuf, String>,
    /// A `box-init` symlink to box (box picks the program by its name).
    pub box_init: PathBuf,
    pub floor: PathBuf,
    /// How the floor was compiled, for the report.
    pub floor_compiler: String,
    pub rootfs: PathBuf,
    /// The floor's `-c DIR -w FILE=VALUE` words for the limits row, or why
    /// there are none.
    pub floor_cgroups: Result<Vec<String>, String>,
}

impl Setup {
    pub fn prepare() -> Result<Setup> {
        let dir = host::target_dir().join("bench");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
        crate::note!("building box ({triple}, release)");
        let target = Target::from_triple(&triple)?;
        let box_binary = build::build(target, Profile::Release)?;
        crate::note!("building box ({triple}, size-tuned with box-oci)");
        let box_size_tuned = build::build(target, Profile::Size)
            .and_then(|built| copy_named_box(&built, &dir.join("size-tuned")))
            .map_err(|e| {
                crate::note!("no size-tuned build, its rows left out: {e:#}");
                format!("not built: {e:#}")
            });
        let box_init = dir.join("box-init");
        replace_symlink(&box_binary, &box_init)?;
        let (floor, floor_compiler) = build_floor(&dir)?;
        let rootfs = build_rootfs(&dir.join("rootfs"))?;
        Ok(Setup {
            floor_cgroups: floor_cgroups(),
            dir,
            box_binary,
            box_size_tuned,
            box_init,
            floor,
            floor_compiler,
            rootfs,
        })
    }

    /// Write the OCI bundle `name` (config.json only: the rootfs is ours,
    /// by absolute path) and return its directory.
    pub fn bundle(&self, name: &str, net: bool, limits: bool) -> Result<PathBuf> {
        let dir = self.dir.join("oci").join(name);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = oci_config(&self.rootfs, net, limits);
        let path = dir.join("config.json");
        fs::write(&path, config).with_context(|| format!("writing {}", path.display()))?;
        Ok(dir)
    }
}

/// Compile xtask/bench/floor.c, statically (musl-gcc when there, else
/// gcc), unless the binary is newer than the source.
fn build_floor(dir: &Path) -> Result<(PathBuf, String)> {
    let source = host::workspace().join("xtask/bench/floor.c");
    let binary = dir.join("floor");
    let compiler = c_compiler()?;
    let described = format!("{compiler} -O2 -static");
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    if let (Some(built), Some(written)) = (modified(&binary), modified(&source))
        && built > written
    {
        return Ok((binary, described));
    }
    crate::note!("compiling the floor: {described} {}", host::shown(&source));
    host::run(
        Command::new(compiler)
            .args(["-O2", "-static", "-Wall", "-o"])
            .arg(&binary)
            .arg(&source),
    )?;
    Ok((binary, described))
}

/// The C compiler of the bench's static helpers: musl-gcc when there,
/// else gcc (installed if missing).
pub fn c_compiler() -> Result<&'static str> {
    if host::has_program("musl-gcc") {
        return Ok("musl-gcc");
    }
    host::ensure_program("gcc", &["gcc", "libc6-dev"])?;
    Ok("gcc")
}

/// target/bench/rootfs (or `rootfs`): a static busybox as /bin/busybox, the applets the
/// bench runs as symlinks, and empty mount points.
pub fn build_rootfs(rootfs: &Path) -> Result<PathBuf> {
    let busybox = Path::new("/bin/busybox");
    host::ensure_program("busybox", &["busybox-static"])?;
    let target = Target::from_triple(&format!("{}-unknown-linux-musl", std::env::consts::ARCH))?;
    let bytes = fs::read(busybox).context("reading /bin/busybox")?;
    if crate::elf::check_static(&bytes, target).is_err() {
        host::ensure_package("busybox-static")?;
    }
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    for dir in ROOTFS_DIRS {
        fs::create_dir_all(rootfs.join(dir))?;
    }
    let copy = bin.join("busybox");
    let bytes = fs::read(busybox).context("reading /bin/busybox")?;
    if fs::read(&copy).ok().as_deref() != Some(&bytes[..]) {
        fs::write(&copy, &bytes).with_context(|| format!("writing {}", copy.display()))?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))?;
    }
    for applet in ROOTFS_APPLETS {
        replace_symlink(Path::new("busybox"), &bin.join(applet))?;
    }
    Ok(rootfs.to_path_buf())
}

/// `binary` copied to DIR/box, unless that is already the same file: the
/// size-tuned build is kept as `box-oci` (build.rs), a name that makes box
/// the OCI runtime (box picks its program by its name); a board's image
/// has it as /bin/box.
fn copy_named_box(binary: &Path, dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let copy = dir.join("box");
    let bytes = fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    if fs::read(&copy).ok().as_deref() != Some(&bytes[..]) {
        // A new file, not the old one rewritten in place: a box still
        // running from it is left alone.
        let _ = fs::remove_file(&copy);
        fs::write(&copy, &bytes).with_context(|| format!("writing {}", copy.display()))?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))?;
    }
    Ok(copy)
}

fn replace_symlink(target: &Path, link: &Path) -> Result<()> {
    if fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    match fs::remove_file(link) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", link.display())),
    }
    symlink(target, link).with_context(|| format!("linking {}", link.display()))
}

/// config.json for crun and runc: the same work as box run (mount, UTS,
/// IPC and PID namespaces; the rootfs; a fresh /proc; /bin/true), with a
/// tmpfs /dev as box has (without one, both runtimes create device nodes
/// in the rootfs itself). `net` adds a network namespace (neither runtime
/// brings lo up), `limits` the memory and pids limits.
fn oci_config(rootfs: &Path, net: bool, limits: bool) -> String {
    let mut namespaces = vec!["pid", "mount", "uts", "ipc"];
    if net {
        namespaces.push("network");
    }
    let namespaces = namespaces
        .iter()
        .map(|n| format!("{{\"type\": \"{n}\"}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let resources = if limits {
        format!(
            ",\n    \"resources\": {{\"memory\": {{\"limit\": {MEMORY_LIMIT}, \"swap\": {MEMORY_LIMIT}}}, \
             \"pids\": {{\"limit\": {PIDS_LIMIT}}}}}"
        )
    } else {
        String::new()
    };
    format!(
        r#"{{
  "ociVersion": "1.0.2",
  "process": {{
    "terminal": false,
    "user": {{"uid": 0, "gid": 0}},
    "args": ["/bin/true"],
    "env": ["PATH=/bin"],
    "cwd": "/"
  }},
  "root": {{"path": "{root}"}},
  "hostname": "bench",
  "mounts": [
    {{"destination": "/proc", "type": "proc", "source": "proc"}},
    {{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=64k"]}}
  ],
  "linux": {{
    "namespaces": [{namespaces}]{resources}
  }}
}}
"#,
        root = json_escape(&rootfs.to_string_lossy())
    )
}

fn json_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The floor's cgroup words for the limits row: a `box-bench-floor`
/// group under this process's own, in the memory and pids hierarchies of
/// a v1 host, or in the unified one of a v2 host (which needs those
/// controllers enabled for our group's children).
fn floor_cgroups() -> Result<Vec<String>, String> {
    let own =
        fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
    let root = Path::new("/sys/fs/cgroup");
    let group = "box-bench-floor";
    if root.join("cgroup.controllers").exists() {
        let path =
            own_cgroup(&own, |c| c.is_empty()).ok_or("no cgroup2 line in /proc/self/cgroup")?;
        let dir = root.join(path.trim_start_matches('/'));
        let enabled = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        for controller in ["memory", "pids"] {
            if !enabled.split_whitespace().any(|c| c == controller) {
                return Err(format!(
                    "the {controller} controller is not enabled in {}/cgroup.subtree_control",
                    dir.display()
                ));
            }
        }
        let dir = dir.join(group);
        return Ok(words(
            &dir,
            &[
                ("memory.max", MEMORY_LIMIT),
                ("memory.swap.max", 0),
                ("pids.max", PIDS_LIMIT),
            ],
        ));
    }
    let mut result = Vec::new();
    for controller in ["memory", "pids"] {
        let mount = root.join(controller);
        let path = own_cgroup(&own, |c| c.split(',').any(|c| c == controller))
            .filter(|_| mount.join("cgroup.procs").exists())
            .ok_or(format!(
                "no cgroup v1 {controller} hierarchy at {}",
                mount.display()
            ))?;
        let parent = mount.join(path.trim_start_matches('/'));
        let limits: &[(&str, u64)] = if controller == "pids" {
            &[("pids.max", PIDS_LIMIT)]
        } else if parent.join("memory.memsw.limit_in_bytes").exists() {
            // No swap, as box does where the kernel accounts it.
            &[
                ("memory.limit_in_bytes", MEMORY_LIMIT),
                ("memory.memsw.limit_in_bytes", MEMORY_LIMIT),
            ]
        } else {
            &[("memory.limit_in_bytes", MEMORY_LIMIT)]
        };
        result.extend(words(&parent.join(group), limits));
    }
    Ok(result)
}

/// The path of the /proc/self/cgroup line whose controller list matches.
fn own_cgroup(text: &str, matches: impl Fn(&str) -> bool) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        matches(controllers).then(|| path.to_string())
    })
}

fn words(dir: &Path, writes: &[(&str, u64)]) -> Vec<String> {
    let mut words = vec!["-c".to_string(), dir.display().to_string()];
    for (file, value) in writes {
        words.push("-w".into());
        words.push(format!("{file}={value}"));
    }
    words
}

/// Why crun needs a mount namespace of its own here, when it does: on a
/// hybrid host (cgroup v1 hierarchies plus cgroup2 at
/// /sys/fs/cgroup/unified), crun reads unified/cgroup.controllers and
/// refuses to run ("cgroups in hybrid mode not supported, drop all
/// controllers from cgroupv2") if it lists any controller.
pub fn crun_needs_namespace() -> Option<String> {
    let unified = Path::new("/sys/fs/cgroup/unified");
    if !is_cgroup2(unified) {
        return None;
    }
    let controllers = fs::read_to_string(unified.join("cgroup.controllers")).ok()?;
    let controllers = controllers.trim();
    (!controllers.is_empty()).then(|| controllers.to_string())
}

fn is_cgroup2(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs is plain data, zeroes are valid; c_path is a valid
    // NUL-terminated string for the duration of the call.
    unsafe {
        let mut fs: libc::statfs = std::mem::zeroed();
        libc::statfs(c_path.as_ptr(), &mut fs) == 0 && fs.f_type == libc::CGROUP2_SUPER_MAGIC
    }
}

/// A mount namespace held open by a sleeping process: a copy of the host's
/// in which /sys/fs/cgroup/unified is unmounted, so crun finds a plain v1
/// host (its check: statfs of /sys/fs/cgroup/unified is not cgroup2) and
/// manages the v1 hierarchies as on any legacy host. Runs setns into it
/// between fork and exec.
pub struct MountNamespace {
    holder: Child,
    file: fs::File,
}

impl MountNamespace {
    pub fn without_unified_cgroup() -> Result<MountNamespace> {
        let mut command = Command::new("sleep");
        command
            .arg("infinity")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        // SAFETY: between fork and exec the closure makes only syscalls on
        // static strings, which are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                let check = |result: i32| {
                    if result < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(())
                    }
                };
                check(libc::unshare(libc::CLONE_NEWNS))?;
                // Slave: what the host mounts still shows here; nothing
                // done here reaches the host.
                check(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_SLAVE,
                    std::ptr::null(),
                ))?;
                check(libc::umount2(
                    c"/sys/fs/cgroup/unified".as_ptr(),
                    libc::MNT_DETACH,
                ))
            });
        }
        let holder = command
            .spawn()
            .context("starting a process to hold crun's mount namespace")?;
        // spawn returns after the exec, so the namespace is ready.
        let path = format!("/proc/{}/ns/mnt", holder.id());
        let file = fs::File::open(&path).with_context(|| format!("opening {path}"))?;
        Ok(MountNamespace { holder, file })
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl Drop for MountNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A detached box container for the exec rows, removed when dropped.
pub struct ExecContainer {
    box_binary: PathBuf,
    /// The PID of its init on the host, for nsenter -t.
    pub pid: u32,
}

impl ExecContainer {
    pub fn start(box_binary: &Path, rootfs: &Path) -> Result<ExecContainer> {
        // One left over by an interrupted bench would hold the name.
        let _ = Command::new(box_binary)
            .args(["rm", "-f", EXEC_CONTAINER])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        host::output(
            Command::new(box_binary)
                .args(["run", "-d", "--name", EXEC_CONTAINER, "--rootfs"])
                .arg(rootfs)
                .args(["--", "/bin/sleep", "1000000"]),
        )?;
        let mut container = ExecContainer {
            box_binary: box_binary.to_path_buf(),
            pid: 0,
        };
        let ps = host::output(Command::new(box_binary).arg("ps"))?;
        let pid = ps
            .lines()
            .find_map(|line| {
                let mut columns = line.split_whitespace();
                (columns.next()? == EXEC_CONTAINER).then(|| columns.next()?.parse().ok())?
            })
            .with_context(|| format!("box ps shows no PID for {EXEC_CONTAINER}:\n{ps}"))?;
        container.pid = pid;
        Ok(container)
    }
}

impl Drop for ExecContainer {
    fn drop(&mut self) {
        let removed = Command::new(&self.box_binary)
            .args(["rm", "-f", EXEC_CONTAINER])
            .stdout(Stdio::null())
            .status();
        if !removed.is_ok_and(|s| s.success()) {
            eprintln!(
                "xtask: bench: could not remove the container {EXEC_CONTAINER} (box rm -f {EXEC_CONTAINER})"
            );
        }
    }
}

/// Fail early, with the reason, where the bench cannot work at all.
pub fn check_host() -> Result<()> {
    if !host::is_root() {
        bail!("the bench creates namespaces and mounts: run it as root");
    }
    Ok(())
}
