//! Everything the container child needs, computed before `clone`: after it,
//! the child may not allocate, so paths, the environment and the command are
//! all laid out here as C strings in fixed-capacity storage.

use core::ffi::CStr;
use core::fmt::Write;

use crate::bad;
use crate::config::{MAX_ENV, MAX_JOINS, NAMESPACES, NsSet, RunConfig};
use crate::error::{Context, Result};
use crate::options::Given;
use crate::sys::entry::Args;
use crate::sys::exec::{Argv, CStrArray, Envp};
use crate::text::{Bytes, CPath, Text};

use linux_raw_sys::general as k;

/// Most words in a command given in a spec file.
pub const MAX_ARGS: usize = 32;

/// Most words of a command run under `--init` (box-init's argv is built
/// before clone in a fixed array: `box-init -- CMD…`).
pub const MAX_INIT_ARGS: usize = 253;

/// PATH inside the container unless `--env PATH=…` says otherwise.
pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The command to run inside.
#[derive(Clone, Copy)]
pub enum Command<'a> {
    /// Straight from box's own argv (already a NULL-terminated array).
    Argv(Args),
    /// Words from a spec file.
    Words(&'a heapless::Vec<CPath, MAX_ARGS>),
}

impl<'a> Command<'a> {
    /// How many words.
    fn len(&self) -> usize {
        match self {
            Command::Argv(args) => args.len(),
            Command::Words(words) => words.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Word `i` (empty past the end). One look-up for every use of the
    /// words: one copy of each loop over them, not one per kind.
    fn word(&self, i: usize) -> &'a CStr {
        match *self {
            Command::Argv(args) => args.get(i).unwrap_or(c""),
            Command::Words(words) => words.get(i).map_or(c"", CPath::as_cstr),
        }
    }

    /// The words as one line for the container's state (`box ps`).
    pub fn line(&self) -> Text<{ crate::state::COMMAND_MAX }> {
        crate::state::command_line((0..self.len()).map(|i| self.word(i).to_bytes()))
    }
}

pub struct Plan<'a> {
    pub config: &'a RunConfig,
    pub rootfs: CPath,
    pub command: Command<'a>,
    /// `K=V` entries, NUL-terminated.
    pub env: heapless::Vec<CPath, { MAX_ENV + 4 }>,
    /// PATH used to find the command (the container's own PATH).
    pub search_path: CPath,
    pub name: Text<{ crate::config::NAME_MAX }>,
    pub hostname: Text<{ crate::config::HOSTNAME_MAX }>,
    pub workdir: CPath,
    pub uid: u32,
    pub gid: u32,
    /// Namespace flags for clone (CLONE_NEWTIME only when the parent cannot
    /// unshare it itself, see `unshare_time`).
    pub clone_namespaces: NsSet,
    /// Enter a new time namespace by unshare(2) in the parent before clone:
    /// clone3 accepts CLONE_NEWTIME only from Linux 6.3, clone never.
    pub unshare_time: bool,
    /// The namespaces joined (`--ns TYPE=PATH`), their files opened before
    /// anything is made, in the order setns must take them (user first).
    pub joins: heapless::Vec<Joined, MAX_JOINS>,
    /// With a user namespace joined: the namespaces the child makes itself
    /// (unshare) once it is in it, so that the joined user namespace owns
    /// them; clone made them in box's own otherwise, where the child holds
    /// no capability after joining. `clone_namespaces` is then empty.
    pub unshare_after_join: NsSet,
    /// The uid and gid maps of a new user namespace, written by box.
    pub id_maps: Option<IdMaps>,
    /// The capabilities the command keeps (default set, `--cap-add`,
    /// `--cap-drop`).
    pub caps: rustix::thread::CapabilitySet,
    /// `--init`: box itself as the container's PID 1, executed from its
    /// sealed copy, and its argv (`box-init -- CMD…`, NULL-terminated).
    pub init: Option<InitExec<'a>>,
    /// The seccomp filter installed last before exec (src/seccomp.rs), built
    /// for the capabilities the container holds, or `None` for `--seccomp
    /// unconfined`.
    pub seccomp: Option<crate::seccomp::Filter>,
    /// The host's `--device` nodes, one per `config.devices` entry, read
    /// before clone (the child makes their nodes inside).
    pub devices: heapless::Vec<crate::devices::HostDevice, { crate::config::MAX_DEVICES }>,
    /// An OCI profile's filter (src/oci/seccomp.rs), installed instead of
    /// `seccomp`.
    pub seccomp_program: Option<&'a [linux_raw_sys::ptrace::sock_filter]>,
    /// Supplementary groups (an OCI config's `additionalGids`); none for
    /// box run.
    pub groups: &'a [u32],
    /// The OCI runtime's `create` (src/oci): the init stops before exec
    /// until `start`.
    pub created: Option<Created<'a>>,
    /// Paths masked beyond box's own list (an OCI bundle's `maskedPaths`).
    pub masked: &'a [CPath],
    /// Paths made read-only beyond box's own list (`readonlyPaths`).
    pub read_only: &'a [CPath],
    /// Confine what the container may execute to its root with Landlock
    /// (src/sys/landlock.rs) before the command runs: set by `box run`
    /// when it runs from the host's file, not a sealed copy (see
    /// [`exec_confinable`]).
    pub confine_exec: bool,
}

/// Whether a container of `config` can be kept from box's own file by
/// Landlock instead of a sealed copy (src/sys/exe.rs says what the copy is
/// for). The only box process in the container before the command runs is
/// its first (a sealed copy is for processes that stay or that the
/// container can reach: `--init`'s box-init, a joined PID namespace's
/// processes). Once confined, a file outside the container's root cannot
/// be executed, /proc/self/exe included, and no process of the container
/// may look into one outside its Landlock domain: box's processes are out
/// of its reach. That needs a container that cannot mount (a Landlock
/// domain may not; without CAP_SYS_ADMIN, and box's filter refuses new
/// namespaces, where it would get it back) and whose root is not the
/// host's root user in another guise (no user namespace, where root's
/// rights over box's file are a matter of the maps).
pub fn exec_confinable(config: &RunConfig) -> bool {
    let caps = (crate::sys::caps::DEFAULT
        | rustix::thread::CapabilitySet::from_bits_retain(config.cap_add))
        & !rustix::thread::CapabilitySet::from_bits_retain(config.cap_drop);
    !config.init
        && !config.user_namespace()
        && config.joins.is_empty()
        && config.seccomp
        && !caps.contains(rustix::thread::CapabilitySet::SYS_ADMIN)
}

/// A namespace the container joins: its `--ns TYPE=PATH`, and the file,
/// opened by box (root, on the host, before the container exists), so no
/// path inside a container can redirect it.
/// (No borrow of the config here: a heapless::Vec of borrowing items would
/// make every borrow the Plan holds outlive it.)
pub struct Joined {
    pub kind: &'static crate::config::Namespace,
    /// Its path, as given.
    pub path: CPath,
    pub fd: rustix::fd::OwnedFd,
}

impl Joined {
    pub fn flag(&self) -> u32 {
        self.kind.flag
    }
}

/// How an OCI `create` leaves its container: the init set up, waiting to
/// be started.
pub struct Created<'a> {
    /// The container's exec fifo, opened read-write: the init blocks
    /// reading it (its own write end keeps the read from seeing EOF) until
    /// `start` writes a byte.
    pub exec_fifo: rustix::fd::BorrowedFd<'a>,
    /// The container's cgroup: its config.json's `linux.cgroupsPath`, as
    /// [`crate::cgroup::check_path`] gave it, or `box/ID`. Made whether
    /// or not the container has limits.
    pub cgroup_path: &'a [u8],
}

/// How `--init` runs box-init inside the container.
pub struct InitExec<'a> {
    /// box's own executable, executed by descriptor: the sealed copy that
    /// `box run` (and a board's box-init) re-executed itself from before
    /// anything else (src/sys/exe.rs), or a file no container of this
    /// caller can change. /proc/1/exe in the container names it, never a
    /// host file anyone there could write (CVE-2019-5736).
    pub exe: rustix::fd::OwnedFd,
    pub argv: CStrArray<'a, { MAX_INIT_ARGS + 4 }>,
}

impl<'a> Plan<'a> {
    /// Check the configuration against the host and lay everything out.
    /// `pid` is box's own PID, for the default name.
    pub fn new(
        config: &'a RunConfig,
        command: Command<'a>,
        parent_env: &Args,
        pid: u32,
    ) -> Result<Self> {
        let rootfs = config
            .rootfs
            .ok_or_else(|| bad!("no rootfs: give --rootfs DIR (or rootfs in the spec file)"))?;
        // The child changes into the rootfs before it opens the bind
        // sources: a relative one would be looked up inside the image.
        if config.has_relative_host_paths() {
            return Err(bad!(
                "a relative host path reached the container setup (a bug in box: the rootfs and bind sources are made absolute first)"
            ));
        }
        check_rootfs(&rootfs)?;
        for bind in &config.binds {
            rustix::fs::stat(bind.source.as_cstr())
                .at(packed!("check --bind"), "stat", bind.source.as_bytes())
                .map_err(|e| e.hint(packed!("the source of a bind must exist on the host")))?;
        }
        let devices = crate::devices::resolve(config)?;
        if command.is_empty() {
            return Err(bad!(
                "no command given: box run [OPTIONS] --rootfs DIR CMD [ARG…]"
            ));
        }

        let name = match config.name {
            Some(n) => n,
            None => {
                let mut n = Text::new();
                let _ = write!(n, "box-{pid}");
                n
            }
        };
        let hostname = match config.hostname {
            Some(h) => h,
            None => Text::from_bytes_lossy(name.as_bytes()),
        };
        let (uid, gid) = config.user.unwrap_or((0, 0));
        let caps = (crate::sys::caps::DEFAULT
            | rustix::thread::CapabilitySet::from_bits_retain(config.cap_add))
            & !rustix::thread::CapabilitySet::from_bits_retain(config.cap_drop);

        // Built in place, each large part (the joined namespaces, --init's
        // argv, the environment) filled where it stays: the Plan is 12 KiB,
        // most of it the environment, and each copy of a part costs stack
        // pages and code.
        let mut plan = Self {
            init: None,
            seccomp: None,
            devices,
            config,
            rootfs,
            command,
            env: heapless::Vec::new(),
            search_path: CPath::new(),
            name,
            hostname,
            workdir: config
                .workdir
                .unwrap_or_else(|| CPath::from_bytes(b"/").unwrap_or_default()),
            uid,
            gid,
            clone_namespaces: config.namespaces,
            unshare_time: false,
            joins: heapless::Vec::new(),
            unshare_after_join: NsSet(0),
            id_maps: None,
            caps,
            seccomp_program: None,
            groups: &[],
            created: None,
            masked: &[],
            read_only: &[],
            confine_exec: false,
        };
        open_joins(config, &mut plan.joins)?;
        let mut clone_namespaces = config.namespaces;
        if clone_namespaces.has(k::CLONE_NEWTIME) {
            let privileged = rustix::process::geteuid().is_root();
            if privileged || !clone_namespaces.has(k::CLONE_NEWUSER) {
                clone_namespaces.0 &= !k::CLONE_NEWTIME;
                plan.unshare_time = true;
            }
        }
        // Joining a user namespace, the child makes the new ones after it
        // joined (a PID namespace among them: the child forks the
        // container's init into it, see child.rs).
        if config.joined(k::CLONE_NEWUSER).is_some() {
            plan.unshare_after_join = NsSet(clone_namespaces.0 & !k::CLONE_NEWTIME);
            clone_namespaces = NsSet(clone_namespaces.0 & k::CLONE_NEWTIME);
        }
        plan.clone_namespaces = clone_namespaces;
        if config.namespaces.has(k::CLONE_NEWUSER) {
            plan.id_maps = Some(IdMaps::new(config)?);
        }

        if config.init {
            let exe = crate::sys::exe::open_own().at(
                packed!("open box for --init"),
                "open",
                b"/proc/self/exe",
            )?;
            let init = plan.init.insert(InitExec {
                exe,
                argv: CStrArray::new(),
            });
            // Not PID 1 where the PID namespace is joined (or the
            // host's): a subreaper then, so that it still reaps.
            init_argv(
                &mut init.argv,
                &command,
                !config.namespaces.has(k::CLONE_NEWPID),
            )?;
        }

        // seccomp: built for this architecture and the capabilities the
        // container will hold (a capability opens the syscalls that exist to
        // use it, src/seccomp.rs): those of `caps` that box holds itself, as
        // the child keeps no others, or all of them in a new user namespace,
        // where the child holds every capability. That is the bounding set
        // `box exec` later reads from the init, so both build the same
        // filter. Where box has no syscall table it refuses rather than run
        // unfiltered unasked.
        let held = if config.user_namespace() {
            caps
        } else {
            rustix::thread::capabilities(None).map_or(caps, |own| caps & own.permitted)
        };
        if config.seccomp {
            plan.seccomp = Some(crate::seccomp::for_capabilities(held).ok_or_else(|| {
                bad!("no seccomp filter for this architecture: run with --seccomp unconfined")
            })?);
        }
        plan.fill_env(parent_env)?;
        Ok(plan)
    }

    /// The environment starts empty but for PATH, HOME, TERM and HOSTNAME
    /// (DESIGN.md section 2); --env entries override them.
    fn fill_env(&mut self, parent_env: &Args) -> Result<()> {
        let config = self.config;
        let home: &[u8] = if self.uid == 0 { b"/root" } else { b"/" };
        let term = parent_env.env(b"TERM");
        let unknown = config.hostname.is_none() && config.joined(k::CLONE_NEWUTS).is_some();
        let hostname = (!unknown).then_some(self.hostname.as_bytes());
        let defaults: [(&[u8], Option<&[u8]>); 4] = [
            (b"PATH", Some(DEFAULT_PATH)),
            (b"HOME", Some(home)),
            (b"TERM", term),
            // A joined UTS namespace keeps its own hostname, which box
            // does not know, unless one is given.
            (b"HOSTNAME", hostname),
        ];
        for (key, value) in defaults {
            let Some(value) = value else { continue };
            if !config.env.iter().any(|e| key_of(e.as_bytes()) == key) {
                let _ = self.env.push(env_entry(key, value)?);
            }
        }
        for e in &config.env {
            let entry =
                CPath::from_bytes(e.as_bytes()).ok_or_else(|| bad!("--env {}: too long", e))?;
            let _ = self.env.push(entry);
        }
        self.search_path = self
            .env
            .iter()
            .find_map(|e| e.as_bytes().strip_prefix(b"PATH="))
            .and_then(CPath::from_bytes)
            .unwrap_or_default();
        Ok(())
    }

    /// The environment for execve, laid out in `out`.
    pub fn envp<'b>(&'b self, out: &'b mut CStrArray<'b, { MAX_ENV + 5 }>) -> Envp<'b> {
        *out = CStrArray::of(self.env.iter().map(CPath::as_cstr)).unwrap_or_default();
        out.envp()
    }

    /// The argument vector for execve; `out` is storage for spec words.
    pub fn argv<'b>(&'b self, out: &'b mut CStrArray<'b, { MAX_ARGS + 1 }>) -> Argv<'b> {
        match self.command {
            Command::Argv(args) => args.argv(),
            Command::Words(words) => {
                *out = CStrArray::of(words.iter().map(CPath::as_cstr)).unwrap_or_default();
                out.argv()
            }
        }
    }

    /// The joined namespace of type `flag`, if any.
    pub fn joined(&self, flag: u32) -> Option<&Joined> {
        self.joins.iter().find(|j| j.flag() == flag)
    }

    /// Whether the container has a namespace of type `flag` that is not
    /// box's own: made for it, or joined.
    pub fn own_or_joined(&self, flag: u32) -> bool {
        self.config.namespaces.has(flag) || self.joined(flag).is_some()
    }

    /// Where the container's cgroup(s) go: box/NAME, or an OCI
    /// container's path.
    pub fn cgroup_place(&self) -> crate::cgroup::Place<'_> {
        match &self.created {
            Some(c) => crate::cgroup::Place::Path(c.cgroup_path),
            None => crate::cgroup::Place::Box(self.name.as_bytes()),
        }
    }

    /// The program name as a C string.
    pub fn program(&self) -> &CStr {
        self.command.word(0)
    }
}

/// Make the host paths of `config` that are still relative (those given on
/// the command line; a spec file's are made absolute against its own
/// directory when it is read) absolute against the working directory.
/// Called before anything forks: the container child looks paths up from
/// inside the rootfs. getcwd only when there is something to anchor.
pub fn anchor_to_working_directory(config: &mut RunConfig) -> Result<()> {
    if !config.has_relative_host_paths() {
        return Ok(());
    }
    let mut buf = [0u8; 4096];
    let cwd = crate::sys::fs::getcwd(&mut buf)
        .at(packed!("make the host paths absolute"), "getcwd", b"")
        .map_err(|e| {
            e.hint(packed!(
                "the working directory was removed: give absolute paths"
            ))
        })?;
    config.anchor_host_paths(cwd, Given::Long)
}

fn key_of(entry: &[u8]) -> &[u8] {
    &entry[..entry.iter().position(|&b| b == b'=').unwrap_or(entry.len())]
}

fn env_entry(key: &[u8], value: &[u8]) -> Result<CPath> {
    CPath::from_parts(&[key, b"=", value])
        .ok_or_else(|| bad!("environment {}: value too long", Bytes(key)))
}

/// Open the namespace files of `--ns TYPE=PATH` (O_RDONLY|O_CLOEXEC, as
/// nsenter does) and check each is a namespace of its type, before anything
/// is made. Opened here, by the caller on the host, before the container
/// exists: nothing in a rootfs can swap the file. In NAMESPACES order (user
/// first, so the others are joined with the capabilities it gives).
fn open_joins(config: &RunConfig, joins: &mut heapless::Vec<Joined, MAX_JOINS>) -> Result<()> {
    for kind in NAMESPACES {
        let Some(join) = config.joined(kind.flag) else {
            continue;
        };
        let (given, name, path) = (join.given, kind.name, &join.path);
        if config.namespaces.has(kind.flag) {
            return Err(bad!(
                "{} {}={}: a new {} namespace is asked for too",
                given,
                name,
                path,
                name
            ));
        }
        if config.namespaces.has(k::CLONE_NEWUSER) {
            return Err(bad!(
                "{} {}={}: not with a new user namespace, which would hold no capability over it (join its owner: --ns user=PATH)",
                given,
                name,
                path
            ));
        }
        let fd = crate::sys::ns::open_file(path.as_cstr())
            .at(
                packed!("open the namespace to join"),
                "open",
                path.as_bytes(),
            )
            .map_err(|e| {
                e.hint(packed!(
                    "give /proc/PID/ns/TYPE or a bind mount of one, such as /run/netns/NAME"
                ))
            })?;
        match crate::sys::ns::file_type(rustix::fd::AsFd::as_fd(&fd)) {
            Ok(found) if found == kind.flag => {}
            Ok(found) => {
                let other = crate::config::namespace_of(found).map_or("unknown", |n| n.name);
                return Err(bad!(
                    "{} {}={}: not a {} namespace (NS_GET_NSTYPE says {})",
                    given,
                    name,
                    path,
                    long_name(kind.flag),
                    other
                ));
            }
            Err(errno) => {
                return Err(bad!(
                    "{} {}={}: not a namespace file (ioctl NS_GET_NSTYPE: {})",
                    given,
                    name,
                    path,
                    crate::error::ErrnoText(errno)
                ));
            }
        }
        let _ = joins.push(Joined {
            kind,
            path: *path,
            fd,
        });
    }
    Ok(())
}

/// A namespace type in words, for messages.
fn long_name(flag: u32) -> &'static str {
    match flag {
        k::CLONE_NEWNET => "network",
        k::CLONE_NEWUTS => "UTS",
        k::CLONE_NEWIPC => "IPC",
        k::CLONE_NEWPID => "PID",
        k::CLONE_NEWUSER => "user",
        k::CLONE_NEWCGROUP => "cgroup",
        k::CLONE_NEWTIME => "time",
        _ => "mount",
    }
}

/// The rootfs must be an existing directory: say so before any namespace
/// is made, with the path.
fn check_rootfs(rootfs: &CPath) -> Result<()> {
    let st = rustix::fs::stat(rootfs.as_cstr()).at(
        packed!("check --rootfs"),
        "stat",
        rootfs.as_bytes(),
    )?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory {
        return Err(bad!("--rootfs {}: not a directory", rootfs));
    }
    Ok(())
}

/// `box-init [--subreaper] -- CMD…` into `argv` (empty), borrowing box's
/// argv or the spec's words, both of which outlive the exec.
fn init_argv<'a>(
    argv: &mut CStrArray<'a, { MAX_INIT_ARGS + 4 }>,
    command: &Command<'a>,
    subreaper: bool,
) -> Result<()> {
    let too_many = |_| bad!("--init: at most {} command words", MAX_INIT_ARGS);
    argv.push(c"box-init").map_err(too_many)?;
    if subreaper {
        argv.push(c"--subreaper").map_err(too_many)?;
    }
    argv.push(c"--").map_err(too_many)?;
    for i in 0..command.len() {
        argv.push(command.word(i)).map_err(too_many)?;
    }
    Ok(())
}

/// uid_map and gid_map of a container's user namespace.
pub struct IdMaps {
    pub uid: Text<128>,
    pub gid: Text<128>,
    /// Write "deny" to setgroups first: required before an unprivileged
    /// gid_map (user_namespaces(7)); the container then has no
    /// supplementary groups to change.
    pub deny_setgroups: bool,
}

impl IdMaps {
    /// `--uidmap`/`--gidmap` ranges (a root caller's), or else the caller
    /// mapped to root (`--map-root`, or `--ns user`).
    fn new(config: &RunConfig) -> Result<IdMaps> {
        use core::fmt::Write;
        if config.uid_map.is_empty() && config.gid_map.is_empty() {
            let mut uid = Text::new();
            let mut gid = Text::new();
            let _ = writeln!(uid, "0 {} 1", rustix::process::getuid().as_raw());
            let _ = writeln!(gid, "0 {} 1", rustix::process::getgid().as_raw());
            return Ok(IdMaps {
                uid,
                gid,
                deny_setgroups: true,
            });
        }
        if config.map_root {
            return Err(bad!(
                "--map-root and --uidmap/--gidmap: give one or the other"
            ));
        }
        // A uid map alone serves for gids too (and the other way round).
        let uid_ranges = if config.uid_map.is_empty() {
            &config.gid_map
        } else {
            &config.uid_map
        };
        let gid_ranges = if config.gid_map.is_empty() {
            &config.uid_map
        } else {
            &config.gid_map
        };
        let lines =
            |ranges: &heapless::Vec<crate::config::IdRange, { crate::config::MAX_ID_RANGES }>| {
                let mut t = Text::<128>::new();
                for r in ranges {
                    let _ = writeln!(t, "{} {} {}", r.inside, r.outside, r.count);
                }
                t
            };
        Ok(IdMaps {
            uid: lines(uid_ranges),
            gid: lines(gid_ranges),
            deny_setgroups: false,
        })
    }
}

/// Plans for unit tests, made by [`Plan::new`] from `box run` options as
/// the command line gives them, with a rootfs that exists.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// A directory to be the rootfs (Plan::new checks it is one).
    pub fn rootfs() -> String {
        let dir = std::env::temp_dir().join("box-unit-rootfs");
        std::fs::create_dir_all(&dir).unwrap();
        dir.to_str().unwrap().into()
    }

    /// The configuration `--rootfs ROOTFS` and `options` make.
    pub fn config(options: &[(&str, &str)]) -> RunConfig {
        let mut config = RunConfig::default();
        let rootfs = rootfs();
        for &(name, value) in [("rootfs", rootfs.as_str())].iter().chain(options) {
            let option = crate::config::find_option(name.as_bytes()).unwrap();
            option.apply_to(&mut config, value.as_bytes()).unwrap();
        }
        config
    }

    /// The plan for `config` and the command `/bin/sh`, made by box 4242
    /// with an empty environment.
    pub fn plan(config: &RunConfig) -> Result<Plan<'_>> {
        let words = std::boxed::Box::leak(std::boxed::Box::new(heapless::Vec::new()));
        let _ = words.push(CPath::from_bytes(b"/bin/sh").unwrap());
        Plan::new(config, Command::Words(words), &Args::for_test(&[]), 4242)
    }
}

#[cfg(test)]
mod tests {
    use super::testing;
    use super::*;
    use rustix::thread::CapabilitySet as Cap;

    fn env(plan: &Plan) -> Vec<String> {
        let entries = plan.env.iter();
        entries
            .map(|e| String::from_utf8_lossy(e.as_bytes()).into())
            .collect()
    }

    /// What the README promises of a plain `box run`: new mount, UTS, IPC
    /// and PID namespaces and no others; Docker's capabilities without
    /// net_raw and mknod; a seccomp filter; root in "/"; an environment of
    /// PATH, HOME and HOSTNAME only (TERM when box has one).
    #[test]
    fn a_plain_run_gets_what_the_readme_promises() {
        let config = testing::config(&[]);
        let plan = testing::plan(&config).unwrap();
        let own = k::CLONE_NEWNS | k::CLONE_NEWUTS | k::CLONE_NEWIPC | k::CLONE_NEWPID;
        assert_eq!(plan.clone_namespaces.0, own);
        assert!(!plan.unshare_time && plan.id_maps.is_none());
        let docker = Cap::CHOWN
            | Cap::DAC_OVERRIDE
            | Cap::FOWNER
            | Cap::FSETID
            | Cap::KILL
            | Cap::SETGID
            | Cap::SETUID
            | Cap::SETPCAP
            | Cap::NET_BIND_SERVICE
            | Cap::SYS_CHROOT
            | Cap::AUDIT_WRITE
            | Cap::SETFCAP;
        assert_eq!(plan.caps, docker);
        for kept_out in [Cap::NET_RAW, Cap::MKNOD, Cap::SYS_ADMIN, Cap::SYS_MODULE] {
            assert!(!plan.caps.contains(kept_out), "{kept_out:?}");
        }
        assert!(plan.seccomp.is_some() && plan.seccomp_program.is_none());
        assert!(plan.init.is_none());
        assert_eq!((plan.uid, plan.gid), (0, 0));
        assert_eq!(plan.workdir.as_bytes(), b"/");
        assert_eq!(plan.name.as_bytes(), b"box-4242");
        assert_eq!(plan.hostname.as_bytes(), b"box-4242");
        let path = format!("PATH={}", String::from_utf8_lossy(DEFAULT_PATH));
        assert_eq!(
            env(&plan),
            [path.as_str(), "HOME=/root", "HOSTNAME=box-4242"]
        );
        assert_eq!(plan.search_path.as_bytes(), DEFAULT_PATH);
        assert!(plan.masked.is_empty() && plan.read_only.is_empty());
    }

    /// `--ns` lists the namespaces made; a user namespace brings id maps
    /// (the caller as root inside) and keeps the capability set as asked;
    /// a time namespace is entered by unshare before clone (which has no
    /// flag for it before Linux 6.3) when box can.
    #[test]
    fn namespaces_asked_for_are_the_ones_made() {
        let config = testing::config(&[("ns", "mount,uts,ipc,pid,net,user")]);
        let plan = testing::plan(&config).unwrap();
        let want = NsSet::DEFAULT.0 | k::CLONE_NEWNET | k::CLONE_NEWUSER;
        assert_eq!(plan.clone_namespaces.0, want);
        let maps = plan.id_maps.as_ref().unwrap();
        let uid = format!("0 {} 1\n", rustix::process::getuid().as_raw());
        assert_eq!(maps.uid.as_bytes(), uid.as_bytes());
        assert!(maps.deny_setgroups);
        assert_eq!(plan.caps, crate::sys::caps::DEFAULT);

        let config = testing::config(&[("ns", "mount,pid,time")]);
        let plan = testing::plan(&config).unwrap();
        assert!(plan.unshare_time);
        assert_eq!(plan.clone_namespaces.0, k::CLONE_NEWNS | k::CLONE_NEWPID);
        assert!(plan.id_maps.is_none());
    }

    /// `--cap-add` and `--cap-drop` change the set and nothing else;
    /// `--seccomp unconfined` drops the filter.
    #[test]
    fn capabilities_and_seccomp_as_asked() {
        let config = testing::config(&[("cap-add", "mknod,net_raw"), ("cap-drop", "chown")]);
        let plan = testing::plan(&config).unwrap();
        let want = (crate::sys::caps::DEFAULT | Cap::MKNOD | Cap::NET_RAW) - Cap::CHOWN;
        assert_eq!(plan.caps, want);
        let config = testing::config(&[("cap-drop", "all"), ("seccomp", "unconfined")]);
        let plan = testing::plan(&config).unwrap();
        assert_eq!(plan.caps, Cap::empty());
        assert!(plan.seccomp.is_none());
    }

    /// `--env` replaces a default of the same key (and the PATH the command
    /// is looked up in); a user other than root has HOME=/.
    #[test]
    fn environment_and_identity() {
        let config = testing::config(&[
            ("env", "PATH=/opt/bin"),
            ("env", "A=1"),
            ("user", "1000:100"),
            ("name", "web"),
            ("hostname", "h"),
            ("workdir", "/srv"),
        ]);
        let plan = testing::plan(&config).unwrap();
        assert_eq!(env(&plan), ["HOME=/", "HOSTNAME=h", "PATH=/opt/bin", "A=1"]);
        assert_eq!(plan.search_path.as_bytes(), b"/opt/bin");
        assert_eq!((plan.uid, plan.gid), (1000, 100));
        assert_eq!(plan.name.as_bytes(), b"web");
        assert_eq!(plan.hostname.as_bytes(), b"h");
        assert_eq!(plan.workdir.as_bytes(), b"/srv");
    }

    /// A spec file's keys plan the container as the same options on the
    /// command line do.
    #[test]
    fn a_spec_file_plans_as_its_options_do() {
        let rootfs = testing::rootfs();
        let text = format!(
            "rootfs {rootfs}\nhostname web\nns mount,uts,pid,net\ncap-add net_raw\n\
             cap-drop chown\nenv A=1\nuser 1000:100\nseccomp unconfined\ncmd /bin/sh\n"
        );
        let spec = crate::spec::parse(text.as_bytes(), b"/etc/box/web.box").unwrap();
        let empty = Args::for_test(&[]);
        let from_spec = Plan::new(&spec.config, spec.command(), &empty, 4242).unwrap();
        let config = testing::config(&[
            ("hostname", "web"),
            ("ns", "mount,uts,pid,net"),
            ("cap-add", "net_raw"),
            ("cap-drop", "chown"),
            ("env", "A=1"),
            ("user", "1000:100"),
            ("seccomp", "unconfined"),
        ]);
        let from_options = testing::plan(&config).unwrap();
        for plan in [&from_spec, &from_options] {
            assert_eq!(plan.clone_namespaces.0, from_options.clone_namespaces.0);
            assert_eq!(plan.caps, from_options.caps);
            assert_eq!(env(plan), env(&from_options));
            assert_eq!((plan.uid, plan.gid), (1000, 100));
            assert!(plan.seccomp.is_none());
            assert_eq!(plan.rootfs.as_bytes(), rootfs.as_bytes());
            assert_eq!(plan.program(), c"/bin/sh");
        }
        assert!(from_spec.caps.contains(Cap::NET_RAW) && !from_spec.caps.contains(Cap::CHOWN));
        assert!(!from_spec.clone_namespaces.has(k::CLONE_NEWIPC));
    }

    /// Nothing is planned on a rootfs that is not a directory, a bind
    /// source that does not exist, or no command.
    /// Landlock replaces the sealed copy only where it keeps box's file as
    /// far: not for a box-init that stays (--init), a container that may
    /// mount (CAP_SYS_ADMIN; a Landlock domain cannot), one without box's
    /// filter (which refuses the new namespaces where it would get that
    /// back), one in a user namespace, or one that joins namespaces.
    #[test]
    fn only_containers_landlock_keeps_from_box_are_confined() {
        assert!(super::exec_confinable(&testing::config(&[])));
        for kept in [
            &[("cap-add", "net_raw,mknod")][..],
            &[("cap-drop", "all")],
            &[("cap-add", "sys_admin"), ("cap-drop", "sys_admin")],
            &[("ns", "mount,uts,ipc,pid,net")],
            &[("read-only", "true"), ("user", "1000:1000")],
        ] {
            assert!(super::exec_confinable(&testing::config(kept)), "{kept:?}");
        }
        for sealed in [
            &[("init", "true")][..],
            &[("cap-add", "sys_admin")],
            &[("cap-add", "all")],
            &[("seccomp", "unconfined")],
            &[("ns", "mount,uts,ipc,pid,user")],
            &[("map-root", "true")],
            &[("ns", "net=/proc/1/ns/net")],
        ] {
            assert!(
                !super::exec_confinable(&testing::config(sealed)),
                "{sealed:?}"
            );
        }
    }

    #[test]
    fn refused_before_anything_is_made() {
        let mut no_rootfs = testing::config(&[]);
        no_rootfs.rootfs = None;
        assert!(testing::plan(&no_rootfs).is_err());
        let mut file = testing::config(&[]);
        file.rootfs = CPath::from_bytes(b"/proc/self/status");
        let e = testing::plan(&file).err().unwrap();
        assert!(format!("{e}").contains("not a directory"), "{e}");
        let config = testing::config(&[("bind", "/nonexistent/box-unit:/data")]);
        assert!(testing::plan(&config).is_err());
        let config = testing::config(&[]);
        let empty = heapless::Vec::new();
        let plan = Plan::new(&config, Command::Words(&empty), &Args::for_test(&[]), 1);
        assert!(plan.is_err());
    }
}
