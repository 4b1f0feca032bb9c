//! A bundle's config.json (OCI runtime-spec 1.0 to 1.2), read into
//! fixed-capacity structs.
//!
//! Everything podman and containerd send is either honoured (kept here for
//! the runtime to apply) or refused by its key path (`linux.intelRdt: not
//! supported`): a setting silently dropped would be a container that is
//! less isolated, or limited, than its engine believes. Keys the spec does
//! not define are refused the same way. A member whose value is empty
//! (`""`, `[]`, `{}`, `false`, `0` or `null`) asks for nothing and is
//! accepted even where box implements nothing (`apparmorProfile: ""`).
//!
//! Strings are decoded once into the config's own pool, each followed by a
//! NUL, so that paths, `args` and `env` can go to syscalls as they are;
//! the structs hold [`Span`]s into it. [`Config`] is about 64 KiB (32 KiB
//! of it the pool, 13 KiB the seccomp profile): fill one in place with
//! [`Config::parse`]. The bounds are in the README's "Fixed limits" table.

use heapless::Vec;
use linux_raw_sys::general as k;

use super::Reader;
use super::json::word_index;
use super::seccomp::{self, Profile};
use crate::error::Result;
use crate::text::PATH_MAX;

/// Decoded strings of one config.json, NULs included.
pub const POOL_BYTES: usize = 32 * 1024;
/// Longest string that is not a path (an argument, a variable, an
/// annotation value).
pub const STRING_MAX: usize = 4096;
/// Entries of all the string lists together (`args`, `env`, hooks'
/// `args` and `env`, `maskedPaths`, `readonlyPaths`).
pub const MAX_LIST_ITEMS: usize = 1024;
pub const MAX_ARGS: usize = 256;
pub const MAX_OCI_ENV: usize = 256;
pub const MAX_MOUNTS: usize = 64;
pub const MAX_HOOKS: usize = 16;
pub const MAX_ANNOTATIONS: usize = 64;
pub const MAX_SYSCTLS: usize = 32;
pub const MAX_DEVICES: usize = 128;
pub const MAX_DEVICE_RULES: usize = 128;
pub const MAX_GROUPS: usize = 32;
pub const MAX_RLIMITS: usize = 16;
pub const MAX_ID_MAPS: usize = 8;
pub const MAX_NAMESPACES: usize = 8;

/// A string in the config's pool.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Span {
    at: u16,
    len: u16,
}

/// A list of strings: `Config::items[first..first + len]`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct List {
    first: u16,
    len: u16,
}

#[derive(Clone, Copy, Default, Debug)]
pub struct Capabilities {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct Rlimit {
    /// RLIMIT_* number.
    pub resource: u8,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Default, Debug)]
pub struct Process {
    pub terminal: bool,
    /// (height, width).
    pub console_size: Option<(u32, u32)>,
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Vec<u32, MAX_GROUPS>,
    pub args: List,
    pub env: List,
    pub cwd: Span,
    /// `None` when not given: the process keeps no capability.
    pub capabilities: Option<Capabilities>,
    pub rlimits: Vec<Rlimit, MAX_RLIMITS>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
}

#[derive(Clone, Copy, Default, Debug)]
pub struct Mount {
    pub destination: Span,
    /// `type`: a filesystem, or "bind"/"none" with the bind options.
    pub kind: Span,
    pub source: Span,
    /// MS_* flags the options set (MS_BIND, MS_REC for rbind, MS_RDONLY…).
    pub flags: u64,
    /// MS_* flags the options clear explicitly (`rw`, `suid`, `exec`…).
    pub cleared: u64,
    /// MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE, with MS_REC.
    pub propagation: u64,
    /// The filesystem's own options, comma-separated (`mode=755,size=65536k`).
    pub data: Span,
    /// `tmpcopyup`: a tmpfs starts with the content of the directory it
    /// covers.
    pub copy_up: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HookStage {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

/// The members of `hooks`, [`HOOK_STAGES`] in order.
const HOOK_STAGE_NAMES: &str =
    "prestart createRuntime createContainer startContainer poststart poststop";

const HOOK_STAGES: &[HookStage] = &[
    HookStage::Prestart,
    HookStage::CreateRuntime,
    HookStage::CreateContainer,
    HookStage::StartContainer,
    HookStage::Poststart,
    HookStage::Poststop,
];

#[derive(Clone, Copy, Debug)]
pub struct Hook {
    pub stage: HookStage,
    pub path: Span,
    pub args: List,
    pub env: List,
    pub timeout: Option<u32>,
}

/// Namespace types, in the order of `Namespace::kind`.
pub const NAMESPACES: &[(&str, u32)] = &[
    ("pid", k::CLONE_NEWPID),
    ("network", k::CLONE_NEWNET),
    ("mount", k::CLONE_NEWNS),
    ("ipc", k::CLONE_NEWIPC),
    ("uts", k::CLONE_NEWUTS),
    ("user", k::CLONE_NEWUSER),
    ("cgroup", k::CLONE_NEWCGROUP),
    ("time", k::CLONE_NEWTIME),
];

#[derive(Clone, Copy, Debug)]
pub struct Namespace {
    /// CLONE_NEW* flag.
    pub flag: u32,
    /// Join this namespace instead of making one.
    pub path: Option<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct Device {
    pub path: Span,
    /// b'c', b'b', b'u' or b'p'.
    pub kind: u8,
    pub major: i64,
    pub minor: i64,
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
pub struct DeviceRule {
    pub allow: bool,
    /// b'a' (all), b'c' or b'b'.
    pub kind: u8,
    /// `None`: any.
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Bits: 1 read, 2 write, 4 mknod.
    pub access: u8,
}

#[derive(Default, Debug)]
pub struct Resources {
    pub memory_limit: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub memory_swap: Option<i64>,
    pub pids_limit: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpus: Option<Span>,
    pub mems: Option<Span>,
    pub devices: Vec<DeviceRule, MAX_DEVICE_RULES>,
}

#[derive(Default)]
pub struct Linux {
    pub namespaces: Vec<Namespace, MAX_NAMESPACES>,
    pub uid_mappings: Vec<IdMap, MAX_ID_MAPS>,
    pub gid_mappings: Vec<IdMap, MAX_ID_MAPS>,
    pub resources: Resources,
    pub cgroups_path: Option<Span>,
    pub masked_paths: List,
    pub readonly_paths: List,
    pub sysctl: Vec<(Span, Span), MAX_SYSCTLS>,
    /// Compiled for the build's architecture (see seccomp.rs).
    pub seccomp: Option<Profile>,
    /// MS_* propagation of the root, with MS_REC where asked.
    pub rootfs_propagation: Option<u64>,
    pub devices: Vec<Device, MAX_DEVICES>,
}

pub struct Config {
    pool: [u8; POOL_BYTES],
    used: usize,
    items: Vec<Span, MAX_LIST_ITEMS>,
    pub oci_version: Span,
    pub process: Option<Process>,
    pub root_path: Span,
    pub root_readonly: bool,
    pub hostname: Option<Span>,
    pub domainname: Option<Span>,
    pub mounts: Vec<Mount, MAX_MOUNTS>,
    pub hooks: Vec<Hook, MAX_HOOKS>,
    pub annotations: Vec<(Span, Span), MAX_ANNOTATIONS>,
    pub linux: Linux,
}

impl Config {
    /// Out of line: its initialisation is long, and several callers need
    /// one.
    #[inline(never)]
    pub fn new() -> Self {
        Self {
            pool: [0; POOL_BYTES],
            used: 0,
            items: Vec::new(),
            oci_version: Span::default(),
            process: None,
            root_path: Span::default(),
            root_readonly: false,
            hostname: None,
            domainname: None,
            mounts: Vec::new(),
            hooks: Vec::new(),
            annotations: Vec::new(),
            linux: Linux::default(),
        }
    }

    /// The bytes of a string (without its NUL).
    pub fn str(&self, s: Span) -> &[u8] {
        &self.pool[usize::from(s.at)..usize::from(s.at) + usize::from(s.len)]
    }

    /// A string with its NUL, for a syscall.
    pub fn c_str(&self, s: Span) -> &core::ffi::CStr {
        let at = usize::from(s.at);
        core::ffi::CStr::from_bytes_with_nul(&self.pool[at..at + usize::from(s.len) + 1])
            .unwrap_or_default()
    }

    /// The strings of a list, with their NULs.
    pub fn c_list(&self, l: List) -> impl Iterator<Item = &core::ffi::CStr> + '_ {
        self.items[usize::from(l.first)..usize::from(l.first) + usize::from(l.len)]
            .iter()
            .map(|&s| self.c_str(s))
    }

    /// The strings of a list.
    pub fn list(&self, l: List) -> impl Iterator<Item = &[u8]> + '_ {
        self.items[usize::from(l.first)..usize::from(l.first) + usize::from(l.len)]
            .iter()
            .map(|&s| self.str(s))
    }

    /// Read `document` (a whole config.json) into `self`, with the syscall
    /// numbers of the build's architecture for `linux.seccomp`.
    pub fn parse(&mut self, document: &[u8]) -> Result<()> {
        self.parse_for(document, seccomp::NATIVE.map(|a| a.table))
    }

    /// [`Config::parse`] for another architecture's syscall table.
    pub fn parse_for(
        &mut self,
        document: &[u8],
        table: Option<&super::syscalls::Table>,
    ) -> Result<()> {
        *self = Self::new();
        let mut r = Reader::new(document);
        let mut version = false;
        let mut root = false;
        r.object(|r, key| {
            match key
                .find("ociVersion process root hostname domainname mounts hooks annotations linux")
            {
                0 => {
                    self.oci_version = self.string(r, 64)?;
                    version = true;
                    let v = self.str(self.oci_version);
                    if !v.starts_with(b"1.0") && !v.starts_with(b"1.1") && !v.starts_with(b"1.2") {
                        return Err(
                            r.fail(format_args!("version not supported (box reads 1.0 to 1.2)"))
                        );
                    }
                    Ok(())
                }
                1 => self.process(r),
                2 => {
                    root = true;
                    r.object(|r, key| {
                        match key.find("path readonly") {
                            0 => self.root_path = self.string(r, PATH_MAX)?,
                            1 => self.root_readonly = r.bool()?,
                            _ => return Err(r.unsupported()),
                        }
                        Ok(())
                    })
                }
                3 => {
                    self.hostname = Some(self.string(r, 64)?);
                    Ok(())
                }
                4 => {
                    self.domainname = Some(self.string(r, 64)?);
                    Ok(())
                }
                5 => r.array(|r, _| {
                    let m = self.mount(r)?;
                    self.mounts
                        .push(m)
                        .map_err(|_| r.fail(format_args!("more than {MAX_MOUNTS} mounts")))
                }),
                6 => self.hooks(r),
                7 => r.object(|r, key| {
                    let name = self.key(r, key)?;
                    let value = self.string(r, STRING_MAX)?;
                    self.annotations.push((name, value)).map_err(|_| {
                        r.fail(format_args!("more than {MAX_ANNOTATIONS} annotations"))
                    })
                }),
                8 => self.linux(r, table),
                _ => Err(r.unsupported()),
            }
        })?;
        r.with(super::json::Parser::end)?;
        if !version {
            return Err(r.fail(format_args!("no ociVersion")));
        }
        if !root || self.root_path.len == 0 {
            return Err(r.fail(format_args!("no root.path")));
        }
        Ok(())
    }

    /// Read `document`, a runtime-spec `process` object alone (what
    /// `box-oci exec --process FILE` is given), into `self.process`.
    pub fn parse_process(&mut self, document: &[u8]) -> Result<()> {
        *self = Self::new();
        let mut r = Reader::named(document, "process.json");
        self.process(&mut r)?;
        r.with(super::json::Parser::end)
    }

    /// Add `bytes` to the pool (a value given on the command line).
    pub fn add_string(&mut self, bytes: &[u8]) -> Option<Span> {
        let at = self.used;
        if bytes.contains(&0) || at + bytes.len() + 1 > POOL_BYTES || bytes.len() > STRING_MAX {
            return None;
        }
        self.pool[at..at + bytes.len()].copy_from_slice(bytes);
        self.pool[at + bytes.len()] = 0;
        self.used += bytes.len() + 1;
        Some(Span {
            at: at as u16,
            len: bytes.len() as u16,
        })
    }

    /// A new list: `base`'s strings, then `more` added to the pool.
    pub fn add_list<'b>(
        &mut self,
        base: List,
        more: impl IntoIterator<Item = &'b [u8]>,
    ) -> Option<List> {
        let first = self.items.len();
        for i in usize::from(base.first)..usize::from(base.first) + usize::from(base.len) {
            let span = self.items[i];
            self.items.push(span).ok()?;
        }
        for bytes in more {
            let span = self.add_string(bytes)?;
            self.items.push(span).ok()?;
        }
        Some(List {
            first: first as u16,
            len: (self.items.len() - first) as u16,
        })
    }

    /// Decode the string at the reader into the pool, at most `max` bytes.
    fn string(&mut self, r: &mut Reader<'_>, max: usize) -> Result<Span> {
        let s = r.string()?;
        self.put(r, s, max)
    }

    fn key(&mut self, r: &mut Reader<'_>, key: super::json::Str<'_>) -> Result<Span> {
        self.put(r, key, STRING_MAX)
    }

    fn put(&mut self, r: &Reader<'_>, s: super::json::Str<'_>, max: usize) -> Result<Span> {
        let len = s.decoded_len();
        if len > max {
            return Err(r.fail(format_args!("longer than {max} bytes")));
        }
        if self.used + len + 1 > POOL_BYTES {
            return Err(r.fail(format_args!(
                "the strings of config.json exceed {} KiB",
                POOL_BYTES / 1024
            )));
        }
        let at = self.used;
        let text = r.check(s.decode(&mut self.pool[at..at + len]))?;
        if text.contains(&0) {
            return Err(r.fail(format_args!("a NUL byte in a string")));
        }
        self.pool[at + len] = 0;
        self.used += len + 1;
        Ok(Span {
            at: at as u16,
            len: len as u16,
        })
    }

    /// An array of strings into the shared list storage.
    fn list_of(&mut self, r: &mut Reader<'_>, max_items: usize, max_len: usize) -> Result<List> {
        let first = self.items.len();
        r.array(|r, i| {
            if i == max_items {
                return Err(r.fail(format_args!("more than {max_items} entries")));
            }
            let s = self.string(r, max_len)?;
            self.items.push(s).map_err(|_| {
                r.fail(format_args!(
                    "more than {MAX_LIST_ITEMS} list entries in all"
                ))
            })
        })?;
        Ok(List {
            first: first as u16,
            len: (self.items.len() - first) as u16,
        })
    }

    fn process(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let mut p = Process::default();
        r.object(|r, key| {
            match key.find(
                "terminal consoleSize user args env cwd capabilities rlimits noNewPrivileges \
                 oomScoreAdj apparmorProfile selinuxLabel",
            ) {
                0 => {
                    p.terminal = r.bool()?;
                }
                1 => {
                    let (mut height, mut width) = (0, 0);
                    r.object(|r, key| {
                        match key.find("height width") {
                            0 => {
                                height = r.unsigned(u32::MAX.into())? as u32;
                            }
                            1 => {
                                width = r.unsigned(u32::MAX.into())? as u32;
                            }
                            _ => {
                                return Err(r.unsupported());
                            }
                        }
                        Ok(())
                    })?;
                    p.console_size = Some((height, width));
                }
                2 => {
                    r.object(|r, key| {
                        match key.find("uid gid umask additionalGids") {
                            0 => {
                                p.uid = r.unsigned(u32::MAX.into())? as u32;
                            }
                            1 => {
                                p.gid = r.unsigned(u32::MAX.into())? as u32;
                            }
                            2 => {
                                p.umask = Some(r.unsigned(0o777)? as u32);
                            }
                            3 => {
                                r.array(|r, _| {
                                    let gid = r.unsigned(u32::MAX.into())? as u32;
                                    p.additional_gids.push(gid).map_err(|_| {
                                        r.fail(format_args!("more than {MAX_GROUPS} groups"))
                                    })
                                })?;
                            }
                            _ => {
                                return Err(r.unsupported());
                            }
                        }
                        Ok(())
                    })?;
                }
                3 => {
                    p.args = self.list_of(r, MAX_ARGS, STRING_MAX)?;
                }
                4 => {
                    p.env = self.list_of(r, MAX_OCI_ENV, STRING_MAX)?;
                }
                5 => {
                    p.cwd = self.string(r, PATH_MAX)?;
                }
                6 => {
                    let mut caps = Capabilities::default();
                    r.object(|r, key| {
                        let set = match key.find("bounding effective inheritable permitted ambient")
                        {
                            0 => &mut caps.bounding,
                            1 => &mut caps.effective,
                            2 => &mut caps.inheritable,
                            3 => &mut caps.permitted,
                            4 => &mut caps.ambient,
                            _ => {
                                return Err(r.unsupported());
                            }
                        };
                        r.array(|r, _| {
                            let mut buf = [0u8; 32];
                            let name = r.decode(&mut buf)?;
                            let Some(cap) = crate::sys::caps::by_name(name) else {
                                return Err(r.fail(format_args!("unknown capability")));
                            };
                            *set |= cap.bits();
                            Ok(())
                        })
                    })?;
                    p.capabilities = Some(caps);
                }
                7 => {
                    r.array(|r, _| {
                        let limit = rlimit(r)?;
                        if p.rlimits.iter().any(|l| l.resource == limit.resource) {
                            return Err(r.fail(format_args!("a limit given twice")));
                        }
                        p.rlimits
                            .push(limit)
                            .map_err(|_| r.fail(format_args!("more than {MAX_RLIMITS} limits")))
                    })?;
                }
                8 => {
                    p.no_new_privileges = r.bool()?;
                }
                9 => {
                    let n = r.signed()?;
                    if !(-1000..=1000).contains(&n) {
                        return Err(r.fail(format_args!("not within -1000 to 1000")));
                    }
                    p.oom_score_adj = Some(n as i32);
                }
                10 | 11 => {
                    // box applies no LSM profile: refuse one being asked for
                    // (podman: --security-opt apparmor=unconfined or
                    // label=disable).
                    r.refuse_unless_empty()?;
                }
                _ => {
                    return Err(r.unsupported());
                }
            }
            Ok(())
        })?;
        self.process = Some(p);
        Ok(())
    }

    fn mount(&mut self, r: &mut Reader<'_>) -> Result<Mount> {
        let mut m = Mount::default();
        let mut destination = false;
        r.object(|r, key| {
            match key.find("destination type source options uidMappings gidMappings") {
                0 => {
                    m.destination = self.string(r, PATH_MAX)?;
                    destination = true;
                }
                1 => {
                    m.kind = self.string(r, 32)?;
                }
                2 => {
                    m.source = self.string(r, PATH_MAX)?;
                }
                3 => {
                    let data_start = self.used;
                    r.array(|r, _| {
                        let s = r.string()?;
                        let mut buf = [0u8; 32];
                        if let Ok(word) = s.decode(&mut buf) {
                            if let Some(&(set, clear)) =
                                MOUNT_FLAGS.get(word_index(MOUNT_FLAG_NAMES, word))
                            {
                                m.flags = (m.flags & !clear) | set;
                                m.cleared = (m.cleared & !set) | clear;
                                return Ok(());
                            }
                            if let Some(&p) = PROPAGATION.get(word_index(PROPAGATION_NAMES, word)) {
                                m.propagation = p;
                                return Ok(());
                            }
                            if word == b"tmpcopyup" {
                                m.copy_up = true;
                                return Ok(());
                            }
                            if word_index(REFUSED_MOUNT_OPTIONS, word) != usize::MAX {
                                return Err(r.unsupported());
                            }
                        }
                        // The filesystem's own option: the kernel judges it.
                        // Appended to the pool with a comma between.
                        if self.used > data_start {
                            self.used -= 1; // over the previous NUL
                            if self.used + 1 >= POOL_BYTES {
                                return Err(r.fail(format_args!("too long")));
                            }
                            self.pool[self.used] = b',';
                            self.used += 1;
                        }
                        let at = self.used;
                        self.put(r, s, 255)?;
                        if self.used - 1 - data_start > 1024 {
                            return Err(r.fail(format_args!("options longer than 1024 bytes")));
                        }
                        let _ = at;
                        Ok(())
                    })?;
                    if self.used > data_start {
                        m.data = Span {
                            at: data_start as u16,
                            len: (self.used - 1 - data_start) as u16,
                        };
                    }
                }
                4 | 5 => {
                    // Idmapped mounts (runtime-spec 1.2).
                    r.refuse_unless_empty()?;
                }
                _ => {
                    return Err(r.unsupported());
                }
            }
            Ok(())
        })?;
        if !destination {
            return Err(r.fail(format_args!("a mount needs a destination")));
        }
        Ok(m)
    }

    fn hooks(&mut self, r: &mut Reader<'_>) -> Result<()> {
        r.object(|r, key| {
            let Some(&stage) = HOOK_STAGES.get(key.find(HOOK_STAGE_NAMES)) else {
                return Err(r.unsupported());
            };
            r.array(|r, _| {
                let mut hook = Hook {
                    stage,
                    path: Span::default(),
                    args: List::default(),
                    env: List::default(),
                    timeout: None,
                };
                r.object(|r, key| {
                    match key.find("path args env timeout") {
                        0 => {
                            hook.path = self.string(r, PATH_MAX)?;
                        }
                        1 => {
                            hook.args = self.list_of(r, MAX_ARGS, STRING_MAX)?;
                        }
                        2 => {
                            hook.env = self.list_of(r, MAX_OCI_ENV, STRING_MAX)?;
                        }
                        3 => {
                            let t = r.unsigned(u32::MAX.into())?;
                            if t == 0 {
                                return Err(r.fail(format_args!("must be more than 0")));
                            }
                            hook.timeout = Some(t as u32);
                        }
                        _ => {
                            return Err(r.unsupported());
                        }
                    }
                    Ok(())
                })?;
                if hook.path.len == 0 {
                    return Err(r.fail(format_args!("a hook needs a path")));
                }
                self.hooks
                    .push(hook)
                    .map_err(|_| r.fail(format_args!("more than {MAX_HOOKS} hooks in all")))
            })
        })
    }

    fn linux(&mut self, r: &mut Reader<'_>, table: Option<&super::syscalls::Table>) -> Result<()> {
        r.object(|r, key| {
            let linux = &mut self.linux;
            match key.find(
                "namespaces uidMappings gidMappings resources cgroupsPath maskedPaths \
                 readonlyPaths sysctl seccomp rootfsPropagation devices mountLabel",
            ) {
                0 => {
                    r.array(|r, _| {
                        let mut flag = None;
                        let mut path = None;
                        r.object(|r, key| {
                            match key.find("type path") {
                                0 => {
                                    let mut buf = [0u8; 16];
                                    let name = r.decode(&mut buf).unwrap_or(b"");
                                    let Some(&(_, f)) =
                                        NAMESPACES.iter().find(|(n, _)| n.as_bytes() == name)
                                    else {
                                        return Err(r.fail(format_args!("unknown namespace type")));
                                    };
                                    flag = Some(f);
                                }
                                1 => {
                                    path = Some(self.string(r, PATH_MAX)?);
                                }
                                _ => {
                                    return Err(r.unsupported());
                                }
                            }
                            Ok(())
                        })?;
                        let Some(flag) = flag else {
                            return Err(r.fail(format_args!("a namespace needs a type")));
                        };
                        let namespaces = &mut self.linux.namespaces;
                        if namespaces.iter().any(|n| n.flag == flag) {
                            return Err(r.fail(format_args!("a namespace type given twice")));
                        }
                        // Cannot overflow: each of the 8 types at most once.
                        let _ = namespaces.push(Namespace { flag, path });
                        Ok(())
                    })
                }
                1 => id_maps(r, &mut linux.uid_mappings),
                2 => id_maps(r, &mut linux.gid_mappings),
                3 => self.resources(r),
                4 => {
                    self.linux.cgroups_path = Some(self.string(r, PATH_MAX)?);
                    Ok(())
                }
                5 => {
                    self.linux.masked_paths = self.list_of(r, 64, PATH_MAX)?;
                    Ok(())
                }
                6 => {
                    self.linux.readonly_paths = self.list_of(r, 64, PATH_MAX)?;
                    Ok(())
                }
                7 => r.object(|r, key| {
                    let name = self.key(r, key)?;
                    let value = self.string(r, STRING_MAX)?;
                    self.linux
                        .sysctl
                        .push((name, value))
                        .map_err(|_| r.fail(format_args!("more than {MAX_SYSCTLS} sysctls")))
                }),
                8 => {
                    if r.null()? {
                        return Ok(());
                    }
                    let Some(table) = table else {
                        return Err(r.fail(format_args!(
                            "not supported on this architecture (box has no syscall table for it)"
                        )));
                    };
                    let profile = linux.seccomp.insert(Profile::new());
                    seccomp::parse(r, table, profile)
                }
                9 => {
                    let mut buf = [0u8; 16];
                    let word = r.decode(&mut buf).unwrap_or(b"");
                    let Some(&p) = PROPAGATION.get(word_index(PROPAGATION_NAMES, word)) else {
                        return Err(r.fail(format_args!("unknown propagation")));
                    };
                    linux.rootfs_propagation = Some(p);
                    Ok(())
                }
                10 => r.array(|r, _| {
                    let d = self.device(r)?;
                    self.linux
                        .devices
                        .push(d)
                        .map_err(|_| r.fail(format_args!("more than {MAX_DEVICES} devices")))
                }),
                11 => r.refuse_unless_empty(),
                _ => {
                    // intelRdt, personality, timeOffsets, memoryPolicy,
                    // netDevices, …
                    Err(r.unsupported())
                }
            }
        })
    }

    fn device(&mut self, r: &mut Reader<'_>) -> Result<Device> {
        let mut d = Device {
            path: Span::default(),
            kind: 0,
            major: 0,
            minor: 0,
            file_mode: None,
            uid: None,
            gid: None,
        };
        r.object(|r, key| {
            match key.find("path type major minor fileMode uid gid") {
                0 => {
                    d.path = self.string(r, PATH_MAX)?;
                }
                1 => {
                    d.kind = one_of(r, b"cbup")?;
                }
                2 => {
                    d.major = r.signed()?;
                }
                3 => {
                    d.minor = r.signed()?;
                }
                4 => {
                    d.file_mode = Some(r.unsigned(0o177777)? as u32);
                }
                5 => {
                    d.uid = Some(r.unsigned(u32::MAX.into())? as u32);
                }
                6 => {
                    d.gid = Some(r.unsigned(u32::MAX.into())? as u32);
                }
                _ => {
                    return Err(r.unsupported());
                }
            }
            Ok(())
        })?;
        if d.path.len == 0 || d.kind == 0 {
            return Err(r.fail(format_args!("a device needs a path and a type")));
        }
        Ok(d)
    }

    fn resources(&mut self, r: &mut Reader<'_>) -> Result<()> {
        r.object(|r, key| {
            let res = &mut self.linux.resources;
            match key.find("memory pids cpu devices") {
                0 => r.object(|r, key| {
                    let field = match key.find(
                        "limit reservation swap disableOOMKiller kernel kernelTCP swappiness \
                         useHierarchy checkBeforeUpdate",
                    ) {
                        0 => &mut res.memory_limit,
                        1 => &mut res.memory_reservation,
                        2 => &mut res.memory_swap,
                        3 => return r.refuse_unless_empty(),
                        4..=8 => return refuse_unless_null(r),
                        _ => return Err(r.unsupported()),
                    };
                    *field = if r.null()? { None } else { Some(r.signed()?) };
                    Ok(())
                }),
                1 => r.object(|r, key| {
                    if !key.is("limit") {
                        return Err(r.unsupported());
                    }
                    res.pids_limit = Some(r.signed()?);
                    Ok(())
                }),
                2 => {
                    r.object(|r, key| {
                        if r.null()? {
                            return Ok(());
                        }
                        match key.find("shares quota period cpus mems") {
                            0 => {
                                self.linux.resources.cpu_shares = Some(r.unsigned(u64::MAX)?);
                            }
                            1 => {
                                self.linux.resources.cpu_quota = Some(r.signed()?);
                            }
                            2 => {
                                self.linux.resources.cpu_period = Some(r.unsigned(u64::MAX)?);
                            }
                            3 => {
                                self.linux.resources.cpus = Some(self.string(r, 255)?);
                            }
                            4 => {
                                self.linux.resources.mems = Some(self.string(r, 255)?);
                            }
                            _ => {
                                // realtimeRuntime, realtimePeriod, idle, burst.
                                return Err(r.unsupported());
                            }
                        }
                        Ok(())
                    })
                }
                3 => r.array(|r, _| {
                    let rule = device_rule(r)?;
                    res.devices
                        .push(rule)
                        .map_err(|_| r.fail(format_args!("more than {MAX_DEVICE_RULES} rules")))
                }),
                _ => {
                    // blockIO, hugepageLimits, network, rdma, unified: box
                    // sets none of these.
                    r.refuse_unless_empty()
                }
            }
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

fn refuse_unless_null(r: &mut Reader<'_>) -> Result<()> {
    if r.null()? {
        return Ok(());
    }
    Err(r.unsupported())
}

/// A one-letter string, one of `letters`.
fn one_of(r: &mut Reader<'_>, letters: &[u8]) -> Result<u8> {
    let mut buf = [0u8; 1];
    match r.decode(&mut buf) {
        Ok(&[c]) if letters.contains(&c) => Ok(c),
        _ => Err(r.fail(format_args!("not one of {}", crate::text::Bytes(letters)))),
    }
}

fn device_rule(r: &mut Reader<'_>) -> Result<DeviceRule> {
    let mut rule = DeviceRule {
        allow: false,
        kind: b'a',
        major: None,
        minor: None,
        access: 0,
    };
    let mut allow = false;
    r.object(|r, key| {
        match key.find("allow type major minor access") {
            0 => {
                rule.allow = r.bool()?;
                allow = true;
            }
            1 => {
                rule.kind = one_of(r, b"acb")?;
            }
            which @ (2 | 3) => {
                let n = if r.null()? { -1 } else { r.signed()? };
                let value = (n >= 0).then_some(n);
                if which == 2 {
                    rule.major = value;
                } else {
                    rule.minor = value;
                }
            }
            4 => {
                let mut buf = [0u8; 3];
                let letters = r.decode(&mut buf)?;
                for &c in letters {
                    let bit = match c {
                        b'r' => 1,
                        b'w' => 2,
                        b'm' => 4,
                        _ => return Err(r.fail(format_args!("not made of r, w and m"))),
                    };
                    rule.access |= bit;
                }
            }
            _ => {
                return Err(r.unsupported());
            }
        }
        Ok(())
    })?;
    if !allow {
        return Err(r.fail(format_args!("a device rule needs allow")));
    }
    if rule.access == 0 {
        rule.access = 7;
    }
    Ok(rule)
}

fn id_maps(r: &mut Reader<'_>, maps: &mut Vec<IdMap, MAX_ID_MAPS>) -> Result<()> {
    r.array(|r, _| {
        let mut map = IdMap {
            container: 0,
            host: 0,
            size: 0,
        };
        r.object(|r, key| {
            let field = match key.find("containerID hostID size") {
                0 => &mut map.container,
                1 => &mut map.host,
                2 => &mut map.size,
                _ => {
                    return Err(r.unsupported());
                }
            };
            *field = r.unsigned(u32::MAX.into())? as u32;
            Ok(())
        })?;
        maps.push(map)
            .map_err(|_| r.fail(format_args!("more than {MAX_ID_MAPS} ranges")))
    })
}

/// RLIMIT_* names, by number (the same on x86_64, aarch64 and arm).
const RLIMITS: &str = "RLIMIT_CPU RLIMIT_FSIZE RLIMIT_DATA RLIMIT_STACK RLIMIT_CORE RLIMIT_RSS \
     RLIMIT_NPROC RLIMIT_NOFILE RLIMIT_MEMLOCK RLIMIT_AS RLIMIT_LOCKS RLIMIT_SIGPENDING \
     RLIMIT_MSGQUEUE RLIMIT_NICE RLIMIT_RTPRIO RLIMIT_RTTIME";

fn rlimit(r: &mut Reader<'_>) -> Result<Rlimit> {
    let mut limit = Rlimit {
        resource: u8::MAX,
        soft: 0,
        hard: 0,
    };
    r.object(|r, key| {
        match key.find("type soft hard") {
            0 => {
                let s = r.string()?;
                let i = s.find(RLIMITS);
                if i == usize::MAX {
                    return Err(r.fail(format_args!("unknown limit")));
                }
                limit.resource = i as u8;
            }
            1 => {
                limit.soft = r.unsigned(u64::MAX)?;
            }
            2 => {
                limit.hard = r.unsigned(u64::MAX)?;
            }
            _ => {
                return Err(r.unsupported());
            }
        }
        Ok(())
    })?;
    if limit.resource == u8::MAX {
        return Err(r.fail(format_args!("a limit needs a type")));
    }
    if limit.soft > limit.hard {
        return Err(r.fail(format_args!("soft above hard")));
    }
    Ok(limit)
}

/// Mount options that are flags, as mount(8) names them; their flags are
/// [`MOUNT_FLAGS`] at the same index.
const MOUNT_FLAG_NAMES: &str = "defaults ro rw nosuid suid nodev dev noexec exec sync async dirsync \
     remount mand nomand atime noatime diratime nodiratime relatime \
     norelatime strictatime nostrictatime iversion noiversion lazytime \
     nolazytime silent loud nosymfollow symfollow bind rbind";

/// (flags set, flags cleared) by the option of [`MOUNT_FLAG_NAMES`].
const MOUNT_FLAGS: &[(u64, u64)] = &[
    (0, 0),
    (k::MS_RDONLY as u64, 0),
    (0, k::MS_RDONLY as u64),
    (k::MS_NOSUID as u64, 0),
    (0, k::MS_NOSUID as u64),
    (k::MS_NODEV as u64, 0),
    (0, k::MS_NODEV as u64),
    (k::MS_NOEXEC as u64, 0),
    (0, k::MS_NOEXEC as u64),
    (k::MS_SYNCHRONOUS as u64, 0),
    (0, k::MS_SYNCHRONOUS as u64),
    (k::MS_DIRSYNC as u64, 0),
    (k::MS_REMOUNT as u64, 0),
    (k::MS_MANDLOCK as u64, 0),
    (0, k::MS_MANDLOCK as u64),
    (0, k::MS_NOATIME as u64),
    (k::MS_NOATIME as u64, 0),
    (0, k::MS_NODIRATIME as u64),
    (k::MS_NODIRATIME as u64, 0),
    (k::MS_RELATIME as u64, 0),
    (0, k::MS_RELATIME as u64),
    (k::MS_STRICTATIME as u64, 0),
    (0, k::MS_STRICTATIME as u64),
    (k::MS_I_VERSION as u64, 0),
    (0, k::MS_I_VERSION as u64),
    (k::MS_LAZYTIME as u64, 0),
    (0, k::MS_LAZYTIME as u64),
    (k::MS_SILENT as u64, 0),
    (0, k::MS_SILENT as u64),
    (k::MS_NOSYMFOLLOW as u64, 0),
    (0, k::MS_NOSYMFOLLOW as u64),
    (k::MS_BIND as u64, 0),
    ((k::MS_BIND | k::MS_REC) as u64, 0),
];

/// Propagation options (of mounts and `rootfsPropagation`); their flags
/// are [`PROPAGATION`] at the same index.
const PROPAGATION_NAMES: &str =
    "private rprivate shared rshared slave rslave unbindable runbindable";

const PROPAGATION: &[u64] = &[
    k::MS_PRIVATE as u64,
    (k::MS_PRIVATE | k::MS_REC) as u64,
    k::MS_SHARED as u64,
    (k::MS_SHARED | k::MS_REC) as u64,
    k::MS_SLAVE as u64,
    (k::MS_SLAVE | k::MS_REC) as u64,
    k::MS_UNBINDABLE as u64,
    (k::MS_UNBINDABLE | k::MS_REC) as u64,
];

/// Runtime extensions box does not implement (idmapped mounts, recursive
/// mount attributes, crun's extras): refused by name rather than passed to
/// the kernel as filesystem options.
const REFUSED_MOUNT_OPTIONS: &str = "idmap ridmap rro rrw rnosuid rsuid rnodev rdev rnoexec rexec \
     rnoatime ratime rnodiratime rdiratime rrelatime rnorelatime rstrictatime rnostrictatime \
     rnosymfollow rsymfollow copy-symlink src-nofollow dest-nofollow notmpcopyup";

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::vec::Vec<u8> {
        std::fs::read(format!("{}/tests/oci/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn parsed(doc: &[u8]) -> Box<Config> {
        let mut c = Box::new(Config::new());
        c.parse(doc).unwrap_or_else(|e| panic!("{e}"));
        c
    }

    fn refusal(doc: &str) -> std::string::String {
        let mut c = Box::new(Config::new());
        c.parse(doc.as_bytes()).unwrap_err().to_string()
    }

    /// What podman 4.3 and containerd 1.6 really sent (tests/oci/), and
    /// `runc spec`'s defaults: all read, nothing refused.
    #[test]
    fn the_engines_configs_are_read() {
        for name in [
            "podman-default.json",
            "podman-options.json",
            "podman-privileged.json",
            "podman-userns-hooks.json",
            "containerd-default.json",
            "containerd-options.json",
            "runc-spec.json",
            "runc-spec-rootless.json",
        ] {
            let mut c = Box::new(Config::new());
            if let Err(e) = c.parse(&fixture(name)) {
                panic!("{name}: {e}");
            }
            assert!(c.process.is_some(), "{name}");
            assert!(
                c.used < POOL_BYTES / 2,
                "{name}: {} bytes of strings",
                c.used
            );
        }
        assert!(
            core::mem::size_of::<Config>() <= 66 * 1024,
            "{}",
            core::mem::size_of::<Config>()
        );
    }

    #[test]
    fn podmans_default_config() {
        let c = parsed(&fixture("podman-default.json"));
        let p = c.process.as_ref().unwrap();
        assert_eq!(c.str(c.oci_version), b"1.0.2-dev");
        assert_eq!(c.list(p.args).collect::<std::vec::Vec<_>>(), [b"/bin/true"]);
        assert_eq!(c.list(p.env).count(), 3);
        assert_eq!(p.umask, Some(0o022));
        let caps = p.capabilities.unwrap();
        assert_eq!(caps.bounding.count_ones(), 11);
        assert_eq!(caps.bounding, caps.effective);
        assert_eq!(caps.ambient, 0);
        assert_eq!(p.rlimits.len(), 2);
        assert_eq!(p.rlimits[0].resource, 7);
        assert_eq!(c.mounts.len(), 10);
        let dev = &c.mounts[1];
        assert_eq!(c.str(dev.destination), b"/dev");
        assert_eq!(c.str(dev.kind), b"tmpfs");
        assert_eq!(c.str(dev.data), b"mode=755,size=65536k");
        assert_eq!(
            dev.flags,
            (k::MS_NOSUID | k::MS_NOEXEC | k::MS_STRICTATIME) as u64
        );
        let pts = &c.mounts[3];
        assert_eq!(
            c.str(pts.data),
            b"newinstance,ptmxmode=0666,mode=0620,gid=5"
        );
        let shm = &c.mounts[6];
        assert_eq!(shm.flags & k::MS_BIND as u64, k::MS_BIND as u64);
        assert_eq!(shm.propagation, (k::MS_PRIVATE | k::MS_REC) as u64);
        assert_eq!(c.annotations.len(), 8);
        assert_eq!(c.linux.namespaces.len(), 5);
        assert_eq!(c.list(c.linux.masked_paths).count(), 11);
        assert_eq!(c.list(c.linux.readonly_paths).count(), 6);
        assert!(
            c.str(c.linux.cgroups_path.unwrap())
                .starts_with(b"/libpod_parent/libpod-")
        );
        assert_eq!(c.linux.resources.pids_limit, Some(2048));
        assert_eq!(c.linux.resources.devices.len(), 1);
        assert_eq!(c.linux.sysctl.len(), 1);
        let seccomp = c.linux.seccomp.as_ref().unwrap();
        assert_eq!(seccomp.rules.len(), 22);
        // Every string is NUL-terminated in the pool.
        let s = c.root_path;
        assert_eq!(c.pool[usize::from(s.at) + usize::from(s.len)], 0);
    }

    #[test]
    fn podmans_options_config() {
        let c = parsed(&fixture("podman-options.json"));
        let p = c.process.as_ref().unwrap();
        assert!(p.terminal && p.no_new_privileges);
        assert_eq!((p.uid, p.gid), (1000, 1000));
        assert_eq!(&p.additional_gids[..], [1000, 10]);
        assert_eq!(p.oom_score_adj, Some(100));
        assert!(c.root_readonly);
        let r = &c.linux.resources;
        assert_eq!(r.memory_limit, Some(64 << 20));
        assert_eq!(r.memory_reservation, Some(32 << 20));
        assert_eq!(r.memory_swap, Some(128 << 20));
        assert_eq!((r.cpu_quota, r.cpu_period), (Some(50000), Some(100000)));
        assert_eq!(c.str(r.cpus.unwrap()), b"0");
        let rule = r.devices[1];
        assert_eq!(
            (rule.allow, rule.kind, rule.major, rule.minor, rule.access),
            (true, b'c', Some(1), Some(3), 3)
        );
        let d = c.linux.devices[0];
        assert_eq!(
            (c.str(d.path), d.kind, d.major, d.minor, d.file_mode),
            (&b"/dev/mynull"[..], b'c', 1, 3, Some(0o20666))
        );
        let tmp = c
            .mounts
            .iter()
            .find(|m| c.str(m.destination) == b"/tmp")
            .unwrap();
        assert!(tmp.copy_up);
        assert_eq!(c.str(tmp.data), b"size=16m,mode=1777");
        assert_eq!(tmp.cleared & k::MS_RDONLY as u64, k::MS_RDONLY as u64);
        let vol = c
            .mounts
            .iter()
            .find(|m| c.str(m.destination) == b"/vol")
            .unwrap();
        assert_eq!(vol.flags, (k::MS_RDONLY | k::MS_BIND | k::MS_REC) as u64);
    }

    #[test]
    fn hooks_namespaces_and_mappings() {
        let c = parsed(&fixture("podman-userns-hooks.json"));
        assert_eq!(c.hooks.len(), 2);
        let h = c.hooks[0];
        assert_eq!(h.stage, HookStage::Prestart);
        assert_eq!(c.str(h.path), b"/bin/true");
        assert_eq!(
            c.list(h.args).collect::<std::vec::Vec<_>>(),
            [&b"true"[..], b"x"]
        );
        assert_eq!(h.timeout, Some(5));
        assert_eq!(c.hooks[1].stage, HookStage::CreateRuntime);
        assert_eq!(
            &c.linux.uid_mappings[..],
            [IdMap {
                container: 0,
                host: 100000,
                size: 65536
            }]
        );
        let c = parsed(&fixture("containerd-options.json"));
        let net = c
            .linux
            .namespaces
            .iter()
            .find(|n| n.flag == k::CLONE_NEWNET)
            .unwrap();
        assert_eq!(c.str(net.path.unwrap()), b"/proc/1/ns/net");
        assert_eq!(
            c.linux.rootfs_propagation,
            Some((k::MS_SLAVE | k::MS_REC) as u64)
        );
        assert_eq!(c.linux.resources.cpu_shares, Some(512));
        let c = parsed(&fixture("podman-privileged.json"));
        assert_eq!(c.linux.devices.len(), 101);
        assert!(c.linux.seccomp.is_none());
    }

    const MINIMAL: &str = r#"{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"}"#;

    fn with(extra: &str) -> std::string::String {
        format!("{MINIMAL}, {extra}}}")
    }

    /// Each setting box does not implement is refused by its key path.
    #[test]
    fn what_box_does_not_implement_is_refused_by_name() {
        let cases = [
            (
                r#""linux": {"intelRdt": {"closID": "x"}}"#,
                "config.json: linux.intelRdt: not supported",
            ),
            (
                r#""linux": {"personality": {"domain": "LINUX32"}}"#,
                "config.json: linux.personality: not supported",
            ),
            (
                r#""linux": {"resources": {"blockIO": {"weight": 10}}}"#,
                "config.json: linux.resources.blockIO: not supported",
            ),
            (
                r#""linux": {"resources": {"memory": {"swappiness": 0}}}"#,
                "config.json: linux.resources.memory.swappiness: not supported",
            ),
            (
                r#""linux": {"resources": {"memory": {"disableOOMKiller": true}}}"#,
                "config.json: linux.resources.memory.disableOOMKiller: not supported",
            ),
            (
                r#""linux": {"resources": {"cpu": {"realtimeRuntime": 5}}}"#,
                "config.json: linux.resources.cpu.realtimeRuntime: not supported",
            ),
            (
                r#""linux": {"mountLabel": "system_u:object_r:x"}"#,
                "config.json: linux.mountLabel: not supported",
            ),
            (
                r#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOTIFY"}}"#,
                "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported (box has no seccomp listener)",
            ),
            (r#""windows": {}"#, "config.json: windows: not supported"),
            (
                r#""mounts": [{"destination": "/x", "options": ["rro"]}]"#,
                "config.json: mounts[0].options[0]: not supported",
            ),
            (
                r#""mounts": [{"destination": "/x", "options": ["idmap"]}]"#,
                "config.json: mounts[0].options[0]: not supported",
            ),
            (
                r#""hooks": {"prestop": []}"#,
                "config.json: hooks.prestop: not supported",
            ),
            (
                r#""linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}"#,
                "config.json: linux.namespaces[1]: a namespace type given twice",
            ),
            (
                r#""linux": {"namespaces": [{"type": "net"}]}"#,
                "config.json: linux.namespaces[0].type: unknown namespace type",
            ),
            (
                r#""linux": {"rootfsPropagation": "rprivat"}"#,
                "config.json: linux.rootfsPropagation: unknown propagation",
            ),
            (
                r#""linux": {"devices": [{"path": "/dev/x", "type": "z"}]}"#,
                "config.json: linux.devices[0].type: not one of cbup",
            ),
        ];
        for (extra, want) in cases {
            assert_eq!(refusal(&with(extra)), want, "{extra}");
        }
        let process = |p: &str| {
            format!(r#"{{"ociVersion": "1.0.2", "root": {{"path": "r"}}, "process": {{{p}}}}}"#)
        };
        let cases = [
            (
                r#""apparmorProfile": "containers-default-0.50.0""#,
                "config.json: process.apparmorProfile: not supported",
            ),
            (
                r#""selinuxLabel": "system_u:system_r:container_t""#,
                "config.json: process.selinuxLabel: not supported",
            ),
            (
                r#""scheduler": {"policy": "SCHED_FIFO"}"#,
                "config.json: process.scheduler: not supported",
            ),
            (
                r#""ioPriority": {"class": "IOPRIO_CLASS_RT"}"#,
                "config.json: process.ioPriority: not supported",
            ),
            (
                r#""capabilities": {"bounding": ["CAP_FLY"]}"#,
                "config.json: process.capabilities.bounding[0]: unknown capability",
            ),
            (
                r#""rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]"#,
                "config.json: process.rlimits[0]: soft above hard",
            ),
            (
                r#""oomScoreAdj": 1001"#,
                "config.json: process.oomScoreAdj: not within -1000 to 1000",
            ),
            (
                r#""user": {"uid": 1.5}"#,
                "config.json: process.user.uid: a fraction or exponent where an integer is wanted at byte 75",
            ),
            (
                r#""user": {"username": "x"}"#,
                "config.json: process.user.username: not supported",
            ),
        ];
        for (extra, want) in cases {
            assert_eq!(refusal(&process(extra)), want, "{extra}");
        }
        // Empty values ask for nothing and pass.
        let empty = with(
            r#""linux": {"mountLabel": "", "resources": {"hugepageLimits": [], "memory": {"swappiness": null}}}, "process": {"apparmorProfile": "", "args": ["sh"]}"#,
        );
        parsed(empty.as_bytes());
    }

    #[test]
    fn bad_documents_and_bounds() {
        assert_eq!(
            refusal(r#"{"ociVersion": "2.0.0", "root": {"path": "r"}}"#),
            "config.json: ociVersion: version not supported (box reads 1.0 to 1.2)"
        );
        assert_eq!(
            refusal(r#"{"ociVersion": "1.0.0"}"#),
            "config.json: no root.path"
        );
        assert_eq!(
            refusal(r#"{"ociVersion": "1.0.0", "root": {"path": "r"}} x"#),
            "config.json: more after the end of the document at byte 47"
        );
        assert_eq!(
            refusal(r#"{"ociVersion": "1.0.0", "root": {"path": "r",}}"#),
            "config.json: root: expected a key (a string) at byte 45"
        );
        let long = "x".repeat(256);
        assert_eq!(
            refusal(&format!(
                r#"{{"ociVersion": "1.0.0", "root": {{"path": "{long}"}}}}"#
            )),
            "config.json: root.path: longer than 255 bytes"
        );
        assert_eq!(
            refusal(r#"{"ociVersion": "1.0.0", "root": {"path": "a\u0000b"}}"#),
            "config.json: root.path: a NUL byte in a string"
        );
        let mounts: std::vec::Vec<_> = (0..=MAX_MOUNTS)
            .map(|i| format!(r#"{{"destination": "/m{i}"}}"#))
            .collect();
        assert_eq!(
            refusal(&with(&format!(r#""mounts": [{}]"#, mounts.join(",")))),
            "config.json: mounts[64]: more than 64 mounts"
        );
        let args: std::vec::Vec<_> = (0..=MAX_ARGS).map(|i| format!(r#""a{i}""#)).collect();
        let doc = format!(
            r#"{{"ociVersion": "1.0.0", "root": {{"path": "r"}}, "process": {{"args": [{}]}}}}"#,
            args.join(",")
        );
        assert_eq!(
            refusal(&doc),
            "config.json: process.args[256]: more than 256 entries"
        );
        let big = "y".repeat(4000);
        let env: std::vec::Vec<_> = (0..10).map(|_| format!(r#""{big}""#)).collect();
        let doc = format!(
            r#"{{"ociVersion": "1.0.0", "root": {{"path": "r"}}, "process": {{"env": [{}]}}}}"#,
            env.join(",")
        );
        assert_eq!(
            refusal(&doc),
            "config.json: process.env[8]: the strings of config.json exceed 32 KiB"
        );
    }
}
