//! The devices a container may open, and the rules that hold it to them.
//!
//! A container gets null, zero, full, random, urandom and tty (the nodes
//! src/container/rootfs.rs makes in its /dev), the terminals of its own
//! devpts (ptmx and pts/N), /dev/shm (a tmpfs: no device at all), and the
//! nodes `--device` hands it. Every other way an attacker inside could
//! reach a device is closed by one of three walls:
//!
//! 1. No CAP_MKNOD by default (src/sys/caps.rs): root inside cannot make
//!    a node for the board's disk.
//! 2. `nodev` on every mount of the container but /dev and its devpts:
//!    the rootfs, recursively (nodes shipped in the image, or on mounts
//!    under it, do not open), every `--bind` (a host /dev bound in opens
//!    nothing: hand devices over with `--device`), `--tmpfs`, /dev/shm,
//!    /dev/mqueue, /proc, /sys. /dev is a tmpfs of box's own holding only
//!    box's nodes: without CAP_MKNOD nothing is added to it, and a hard
//!    link or a rename into it from another mount fails (EXDEV).
//! 3. A device cgroup wherever the container has a cgroup: cgroup v1's
//!    `devices` controller (`a` written to devices.deny, then one
//!    devices.allow line per [`Rule`]), or on cgroup v2 the eBPF program
//!    below, attached to the container's group (src/cgroup/v2.rs). `box exec`
//!    joins that cgroup, so the same rules hold for what it runs.
//!
//! The first two cost nothing, so a container without limits still gets
//! no cgroup. The third is what `--device`, `--cap-add mknod` and
//! `--cap-add sys_admin` (which mounts a devtmpfs, or remounts without
//! nodev, past the first two walls) need
//! ([`need_cgroup`]): `--device` hands over a device with permissions
//! (`r`, `w`, `m`) that only a device cgroup enforces (root inside may
//! chmod its node); with CAP_MKNOD the container can make nodes in its
//! /dev, which the rules then refuse to open. Such a container gets a
//! cgroup for the rules alone, and box refuses to run it where it cannot
//! install them, rather than run it with less than it says. In a user
//! namespace CAP_MKNOD does not count: the kernel allows device nodes only
//! to the initial namespace's CAP_MKNOD (mknod(2)).
//!
//! # The program (cgroup v2)
//! A BPF_PROG_TYPE_CGROUP_DEVICE program (Linux 4.15+) is run by the
//! kernel for every open and mknod of a device node by a process of the
//! group, with `struct bpf_cgroup_dev_ctx`: the access (mknod, read,
//! write) and node type in one word, the major and the minor. It returns
//! 1 to allow, 0 to refuse (EPERM). box writes it as raw instructions, as
//! src/seccomp.rs writes its classic-BPF filter:
//!
//! ```text
//!   r2 = ctx->access_type        r3 = r2 >> 16   (access: m=1 r=2 w=4)
//!   r2 &= 0xffff                 (type: block 1, char 2)
//!   r4 = ctx->major              r5 = ctx->minor
//!   for each rule:
//!     if r2 != TYPE goto next    if r4 != MAJOR goto next
//!     if r5 != MINOR goto next   (not for a rule of every minor)
//!     if r3 & ~ACCESS goto next  (not for a rule of rwm)
//!     r0 = 1; exit
//!   next: …
//!   r0 = 0; exit
//! ```
//!
//! Rules for the same device are merged into one first, as v1 merges its
//! exceptions, so that both versions allow exactly what [`Rules::allows`]
//! says; the unit tests run the program through an interpreter of their
//! own against that.

use rustix::fs::FileType;
use rustix::thread::CapabilitySet;

use crate::bad;
use crate::config::{DEVICE_MKNOD, DEVICE_READ, DEVICE_WRITE, MAX_DEVICES, RunConfig};
use crate::error::{Context, Result};
use crate::sys::bpf::{self, Insn};
use crate::text::{self, Text};

/// A device node's type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Char,
    Block,
}

impl Kind {
    /// How its v1 devices.allow line starts.
    fn line_start(self) -> &'static [u8] {
        match self {
            Kind::Char => b"c ",
            Kind::Block => b"b ",
        }
    }

    /// Its BPF_DEVCG_DEV_* number in the program's context.
    fn program_type(self) -> u32 {
        match self {
            Kind::Char => bpf::BPF_DEVCG_DEV_CHAR,
            Kind::Block => bpf::BPF_DEVCG_DEV_BLOCK,
        }
    }
}

const RWM: u8 = DEVICE_READ | DEVICE_WRITE | DEVICE_MKNOD;

// `--device`'s permission bits are the device cgroup's: the program tests
// them as the kernel passes them, v1 takes them as letters.
const _: () = assert!(
    DEVICE_MKNOD as u32 == bpf::BPF_DEVCG_ACC_MKNOD
        && DEVICE_READ as u32 == bpf::BPF_DEVCG_ACC_READ
        && DEVICE_WRITE as u32 == bpf::BPF_DEVCG_ACC_WRITE
);

/// One allowed device (or every minor of a major) and what may be done
/// with it: DEVICE_READ, DEVICE_WRITE, DEVICE_MKNOD bits, which are the
/// device cgroup's own (BPF_DEVCG_ACC_*).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rule {
    pub kind: Kind,
    pub major: u32,
    /// `None`: every minor.
    pub minor: Option<u32>,
    pub access: u8,
}

const fn char_device(major: u32, minor: Option<u32>) -> Rule {
    Rule {
        kind: Kind::Char,
        major,
        minor,
        access: RWM,
    }
}

/// What every container may open (and make nodes of, given CAP_MKNOD).
pub const DEFAULT_RULES: &[Rule] = &[
    // /dev/null, zero, full, random, urandom: box's nodes in /dev.
    char_device(1, Some(3)),
    char_device(1, Some(5)),
    char_device(1, Some(7)),
    char_device(1, Some(8)),
    char_device(1, Some(9)),
    // /dev/tty: the opener's controlling terminal, whichever it is.
    char_device(5, Some(0)),
    // /dev/ptmx (pts/ptmx of the container's own devpts): new terminals.
    char_device(5, Some(2)),
    // /dev/pts/N: the terminals themselves. devpts numbers them in the
    // minor (20 bits), all under major 136.
    char_device(136, None),
];

impl Rule {
    /// The v1 devices.allow line: `c 1:3 rwm`, `c 136:* rwm`.
    pub fn v1_line(&self) -> Text<32> {
        let mut line = Text::new();
        line.push(self.kind.line_start());
        push_decimal(&mut line, self.major);
        line.push(b":");
        match self.minor {
            Some(minor) => push_decimal(&mut line, minor),
            None => line.push(b"*"),
        }
        line.push(b" ");
        for (bit, letter) in [
            (DEVICE_READ, b"r"),
            (DEVICE_WRITE, b"w"),
            (DEVICE_MKNOD, b"m"),
        ] {
            if self.access & bit != 0 {
                line.push(letter);
            }
        }
        line
    }
}

fn push_decimal(line: &mut Text<32>, n: u32) {
    let mut digits = [0u8; 20];
    line.push(text::decimal(n.into(), &mut digits));
}

/// A `--device` node as it is on the host, read before the container is
/// made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HostDevice {
    pub kind: Kind,
    pub major: u32,
    pub minor: u32,
    /// Permission bits (07777).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// stat each `--device` HOST (following symlinks such as
/// /dev/serial/by-id/…): its type, numbers, mode and owner, or one line
/// saying it is not a device node. Called by the plan (for the nodes) and
/// by the cgroup (for the rules): should a node be swapped between the
/// two, the container gets a node it cannot open, never a wider rule.
pub fn resolve(config: &RunConfig) -> Result<heapless::Vec<HostDevice, MAX_DEVICES>> {
    let mut found = heapless::Vec::new();
    for device in &config.devices {
        let st = rustix::fs::stat(device.host.as_cstr())
            .at(packed!("check --device"), "stat", device.host.as_bytes())
            .map_err(|e| e.hint(packed!("the device node must exist on the host")))?;
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::CharacterDevice => Kind::Char,
            FileType::BlockDevice => Kind::Block,
            _ => {
                return Err(bad!(
                    "--device {}: not a device node: give a character or block device such as /dev/ttyS1",
                    device.host
                ));
            }
        };
        // At most MAX_DEVICES, as config.devices.
        let _ = found.push(HostDevice {
            kind,
            major: rustix::fs::major(st.st_rdev),
            minor: rustix::fs::minor(st.st_rdev),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
        });
    }
    Ok(found)
}

/// Whether the container needs a device cgroup (see the module's text):
/// it is handed devices, or it keeps CAP_MKNOD or CAP_SYS_ADMIN outside a
/// user namespace. CAP_SYS_ADMIN can mount a devtmpfs, or remount a mount
/// without nodev, which gets around the first two walls at once.
pub fn need_cgroup(config: &RunConfig) -> bool {
    !config.devices.is_empty() || kept_capability(config).is_some()
}

/// The capability a container keeps that lets it reach device nodes of its
/// own making (mknod) or mounting (sys_admin), outside a user namespace.
fn kept_capability(config: &RunConfig) -> Option<&'static str> {
    if config.user_namespace() {
        return None;
    }
    let caps = (crate::sys::caps::DEFAULT | CapabilitySet::from_bits_retain(config.cap_add))
        & !CapabilitySet::from_bits_retain(config.cap_drop);
    if caps.contains(CapabilitySet::MKNOD) {
        Some("set the device rules of --cap-add mknod")
    } else if caps.contains(CapabilitySet::SYS_ADMIN) {
        Some("set the device rules of --cap-add sys_admin")
    } else {
        None
    }
}

/// The step of setting the device rules, for messages: `set the device
/// rules of OPTION`, the option that asks for them ([`option_of_step`]
/// gives its end: one text for both, no comparison mapping one to the
/// other).
pub fn rules_step(config: &RunConfig) -> &'static str {
    if config.devices.is_empty() {
        kept_capability(config).unwrap_or("set the device rules of --cap-add mknod")
    } else {
        "set the device rules of --device"
    }
}

/// The option a [`rules_step`] names.
pub fn option_of_step(step: &str) -> &str {
    step.get("set the device rules of ".len()..).unwrap_or(step)
}

/// The devices a container may use: [`DEFAULT_RULES`] and its `--device`
/// entries, one rule per device.
pub struct Rules {
    list: heapless::Vec<Rule, { DEFAULT_RULES.len() + MAX_DEVICES }>,
}

impl Rules {
    /// The rules for `config`, whose `--device` nodes are `devices`
    /// ([`resolve`]).
    pub fn new(config: &RunConfig, devices: &[HostDevice]) -> Rules {
        let mut rules = Rules {
            list: heapless::Vec::new(),
        };
        for rule in DEFAULT_RULES {
            rules.add(*rule);
        }
        for (device, host) in config.devices.iter().zip(devices) {
            rules.add(Rule {
                kind: host.kind,
                major: host.major,
                minor: Some(host.minor),
                access: device.access,
            });
        }
        rules
    }

    /// Add a rule, merged into one for the same device.
    fn add(&mut self, rule: Rule) {
        let same = self
            .list
            .iter_mut()
            .find(|r| (r.kind, r.major, r.minor) == (rule.kind, rule.major, rule.minor));
        match same {
            Some(r) => r.access |= rule.access,
            // Room for every default and every --device.
            None => {
                let _ = self.list.push(rule);
            }
        }
    }

    pub fn list(&self) -> &[Rule] {
        &self.list
    }

    /// Whether `access` (DEVICE_* bits) to the device is allowed: some
    /// rule names it and grants all of `access`. What both the v1 lines
    /// and the program must decide (the tests hold the program to it).
    #[cfg(test)]
    pub fn allows(&self, kind: Kind, major: u32, minor: u32, access: u8) -> bool {
        self.list.iter().any(|r| {
            r.kind == kind
                && r.major == major
                && r.minor.is_none_or(|m| m == minor)
                && access & !r.access == 0
        })
    }

    /// The cgroup v2 program deciding as [`Rules::allows`] does.
    pub fn program(&self) -> Program {
        let mut p = Program {
            instructions: [EXIT; MAX_INSTRUCTIONS],
            len: PROLOGUE.len(),
        };
        p.instructions[..PROLOGUE.len()].copy_from_slice(&PROLOGUE);
        for rule in &self.list {
            let refused = RWM & !rule.access;
            // Each check jumps to the next rule, past what is left of this
            // one's block: its checks, then `r0 = 1; exit`.
            let mut left = 4 + i16::from(rule.minor.is_some()) + i16::from(refused != 0);
            let mut check = |p: &mut Program, code: u8, register: u8, value: u32| {
                left -= 1;
                // Majors are 12 bits, minors 20: every value fits.
                p.push(code, register, 0, left, value as i32);
            };
            check(&mut p, JMP_JNE_K, TYPE, rule.kind.program_type());
            check(&mut p, JMP_JNE_K, MAJOR, rule.major);
            if let Some(minor) = rule.minor {
                check(&mut p, JMP_JNE_K, MINOR, minor);
            }
            if refused != 0 {
                check(&mut p, JMP_JSET_K, ACCESS, u32::from(refused));
            }
            p.push(ALU64_MOV_K, RESULT, 0, 0, 1);
            p.push(EXIT.code, 0, 0, 0, 0);
        }
        p.push(ALU64_MOV_K, RESULT, 0, 0, 0);
        p.push(EXIT.code, 0, 0, 0, 0);
        p
    }
}

/// The context, taken apart once: the program's first instructions (a
/// table copied in, not one call per instruction).
const PROLOGUE: [Insn; 6] = [
    Insn::new(LDX_MEM_W, TYPE, CONTEXT, bpf::CTX_ACCESS_TYPE, 0),
    Insn::new(ALU64_MOV_X, ACCESS, TYPE, 0, 0),
    Insn::new(ALU64_RSH_K, ACCESS, 0, 0, 16),
    Insn::new(ALU64_AND_K, TYPE, 0, 0, 0xffff),
    Insn::new(LDX_MEM_W, MAJOR, CONTEXT, bpf::CTX_MAJOR, 0),
    Insn::new(LDX_MEM_W, MINOR, CONTEXT, bpf::CTX_MINOR, 0),
];

// Registers: r1 holds the context on entry, r0 the result at exit.
const RESULT: u8 = 0;
const CONTEXT: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

const LDX_MEM_W: u8 = bpf::BPF_LDX | bpf::BPF_MEM | bpf::BPF_W;
const ALU64_MOV_X: u8 = bpf::BPF_ALU64 | bpf::BPF_MOV | bpf::BPF_X;
const ALU64_MOV_K: u8 = bpf::BPF_ALU64 | bpf::BPF_MOV | bpf::BPF_K;
const ALU64_RSH_K: u8 = bpf::BPF_ALU64 | bpf::BPF_RSH | bpf::BPF_K;
const ALU64_AND_K: u8 = bpf::BPF_ALU64 | bpf::BPF_AND | bpf::BPF_K;
const JMP_JNE_K: u8 = bpf::BPF_JMP | bpf::BPF_JNE | bpf::BPF_K;
const JMP_JSET_K: u8 = bpf::BPF_JMP | bpf::BPF_JSET | bpf::BPF_K;
const EXIT: Insn = Insn::new(bpf::BPF_JMP | bpf::BPF_EXIT, 0, 0, 0, 0);

/// Most instructions of a program: 6 to read the context, at most 6 per
/// rule, 2 to refuse.
pub const MAX_INSTRUCTIONS: usize = 6 + 6 * (DEFAULT_RULES.len() + MAX_DEVICES) + 2;

/// A device program ready for bpf(BPF_PROG_LOAD).
pub struct Program {
    instructions: [Insn; MAX_INSTRUCTIONS],
    len: usize,
}

impl Program {
    /// Append one instruction. Not inlined: the builder calls it often.
    #[inline(never)]
    fn push(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        // MAX_INSTRUCTIONS counts the longest block for every rule a
        // `Rules` can hold.
        self.instructions[self.len] = Insn::new(code, dst, src, off, imm);
        self.len += 1;
    }

    pub fn instructions(&self) -> &[Insn] {
        &self.instructions[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Device;
    use crate::text::CPath;

    /// An eBPF interpreter for what [`Rules::program`] emits: run `program`
    /// on one access and return its verdict. Panics where the kernel's
    /// verifier would refuse the program: an unknown instruction, a read of
    /// a register never written, a context read other than a whole u32
    /// field, a backward jump or one out of the program, falling off its
    /// end, an exit without r0 set.
    fn run(program: &[Insn], kind: Kind, major: u32, minor: u32, access: u8) -> u64 {
        let context: [u32; 3] = [
            (u32::from(access) << 16) | kind.program_type(),
            major,
            minor,
        ];
        let mut regs = [0u64; 11];
        let mut set = [false; 11];
        set[usize::from(CONTEXT)] = true;
        let mut pc = 0;
        loop {
            assert!(pc < program.len(), "fell off the end of the program");
            let insn = program[pc];
            let (dst, src) = (usize::from(insn.dst()), usize::from(insn.src()));
            assert!(dst <= 10 && src <= 10);
            pc += 1;
            let read = |r: usize, set: &[bool; 11]| {
                assert!(set[r], "r{r} read before it is written, at {}", pc - 1);
                regs[r]
            };
            match insn.code {
                LDX_MEM_W => {
                    assert_eq!(src, usize::from(CONTEXT), "a load not from the context");
                    assert!(
                        insn.off >= 0 && insn.off % 4 == 0 && insn.off < 12,
                        "context offset {}",
                        insn.off
                    );
                    regs[dst] = u64::from(context[insn.off as usize / 4]);
                    set[dst] = true;
                }
                ALU64_MOV_X => {
                    regs[dst] = read(src, &set);
                    set[dst] = true;
                }
                ALU64_MOV_K => {
                    regs[dst] = insn.imm as i64 as u64;
                    set[dst] = true;
                }
                ALU64_RSH_K => regs[dst] = read(dst, &set) >> insn.imm,
                ALU64_AND_K => regs[dst] = read(dst, &set) & (insn.imm as i64 as u64),
                JMP_JNE_K | JMP_JSET_K => {
                    assert!(insn.off >= 0, "backward jump at {}", pc - 1);
                    let value = read(dst, &set);
                    let imm = insn.imm as i64 as u64;
                    let taken = match insn.code {
                        JMP_JNE_K => value != imm,
                        _ => value & imm != 0,
                    };
                    if taken {
                        pc += insn.off as usize;
                        assert!(pc < program.len(), "jump out of the program");
                    }
                }
                code if code == EXIT.code => return read(usize::from(RESULT), &set),
                other => panic!("unexpected instruction {other:#x} at {}", pc - 1),
            }
        }
    }

    fn config_with(devices: &[(&str, &str, u8)]) -> RunConfig {
        let mut config = RunConfig::default();
        for &(host, inside, access) in devices {
            let _ = config.devices.push(Device {
                host: CPath::from_bytes(host.as_bytes()).unwrap(),
                inside: CPath::from_bytes(inside.as_bytes()).unwrap(),
                access,
            });
        }
        config
    }

    fn host(kind: Kind, major: u32, minor: u32) -> HostDevice {
        HostDevice {
            kind,
            major,
            minor,
            mode: 0o660,
            uid: 0,
            gid: 0,
        }
    }

    /// The devices a test asks about: every default, their neighbours,
    /// the other type, disks and the largest numbers.
    fn probes() -> Vec<(Kind, u32, u32)> {
        let mut v = Vec::new();
        for kind in [Kind::Char, Kind::Block] {
            for major in [0, 1, 4, 5, 7, 8, 10, 135, 136, 137, 179, 254, 4095] {
                for minor in [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 64, 255, 256, 1_048_575] {
                    v.push((kind, major, minor));
                }
            }
        }
        v
    }

    /// The program decides every probe, every access, as `allows` does.
    fn check_program(rules: &Rules) {
        let program = rules.program();
        let insns = program.instructions();
        assert!(insns.len() <= MAX_INSTRUCTIONS);
        for (kind, major, minor) in probes() {
            for access in 1..=7u8 {
                let verdict = run(insns, kind, major, minor, access);
                let want = rules.allows(kind, major, minor, access);
                assert_eq!(
                    verdict,
                    u64::from(want),
                    "{kind:?} {major}:{minor} access {access}"
                );
            }
        }
    }

    #[test]
    fn the_defaults_allow_the_default_nodes_only() {
        let rules = Rules::new(&RunConfig::default(), &[]);
        check_program(&rules);
        for minor in [3, 5, 7, 8, 9] {
            assert!(rules.allows(Kind::Char, 1, minor, RWM));
        }
        assert!(rules.allows(Kind::Char, 5, 0, DEVICE_READ | DEVICE_WRITE));
        assert!(rules.allows(Kind::Char, 5, 2, DEVICE_READ | DEVICE_WRITE));
        assert!(rules.allows(Kind::Char, 136, 0, DEVICE_READ));
        assert!(rules.allows(Kind::Char, 136, 1_048_575, DEVICE_WRITE));
        // /dev/mem, /dev/kmem, /dev/port, /dev/kmsg, the console, the
        // serial ports, a loop device, a disk, the same numbers as blocks.
        for (kind, major, minor) in [
            (Kind::Char, 1, 1),
            (Kind::Char, 1, 2),
            (Kind::Char, 1, 4),
            (Kind::Char, 1, 11),
            (Kind::Char, 5, 1),
            (Kind::Char, 4, 64),
            (Kind::Block, 7, 0),
            (Kind::Block, 8, 0),
            (Kind::Block, 1, 3),
            (Kind::Block, 136, 0),
        ] {
            for access in 1..=7 {
                assert!(
                    !rules.allows(kind, major, minor, access),
                    "{kind:?} {major}:{minor}"
                );
            }
        }
    }

    #[test]
    fn a_device_is_allowed_with_its_permissions_only() {
        let config = config_with(&[
            ("/dev/loop0", "/dev/loop0", DEVICE_READ),
            ("/dev/ttyS1", "/dev/ttyS1", RWM),
            ("/dev/i2c-1", "/dev/i2c-1", DEVICE_READ | DEVICE_WRITE),
        ]);
        let devices = [
            host(Kind::Block, 7, 0),
            host(Kind::Char, 4, 65),
            host(Kind::Char, 89, 1),
        ];
        let rules = Rules::new(&config, &devices);
        check_program(&rules);
        assert!(rules.allows(Kind::Block, 7, 0, DEVICE_READ));
        assert!(!rules.allows(Kind::Block, 7, 0, DEVICE_WRITE));
        assert!(!rules.allows(Kind::Block, 7, 0, DEVICE_READ | DEVICE_WRITE));
        assert!(!rules.allows(Kind::Block, 7, 0, DEVICE_MKNOD));
        assert!(!rules.allows(Kind::Block, 7, 1, DEVICE_READ));
        assert!(!rules.allows(Kind::Char, 7, 0, DEVICE_READ));
        assert!(rules.allows(Kind::Char, 4, 65, RWM));
        assert!(!rules.allows(Kind::Char, 4, 64, DEVICE_READ));
        assert!(rules.allows(Kind::Char, 89, 1, DEVICE_READ | DEVICE_WRITE));
        assert!(!rules.allows(Kind::Char, 89, 1, DEVICE_MKNOD));
    }

    #[test]
    fn rules_for_one_device_are_merged_as_v1_merges_them() {
        // Read at one path, write at another: an open for both is allowed,
        // as cgroup v1 allows it once it has merged the two exceptions.
        let config = config_with(&[
            ("/dev/ttyS1", "/dev/a", DEVICE_READ),
            ("/dev/ttyS1", "/dev/b", DEVICE_WRITE),
            ("/dev/null", "/dev/c", DEVICE_READ),
        ]);
        let devices = [
            host(Kind::Char, 4, 65),
            host(Kind::Char, 4, 65),
            host(Kind::Char, 1, 3),
        ];
        let rules = Rules::new(&config, &devices);
        check_program(&rules);
        assert_eq!(rules.list().len(), DEFAULT_RULES.len() + 1);
        assert!(rules.allows(Kind::Char, 4, 65, DEVICE_READ | DEVICE_WRITE));
        assert!(rules.allows(Kind::Char, 1, 3, RWM));
    }

    #[test]
    fn the_v1_lines() {
        let config = config_with(&[("/dev/loop0", "/dev/disk", DEVICE_READ | DEVICE_MKNOD)]);
        let rules = Rules::new(&config, &[host(Kind::Block, 7, 0)]);
        let lines: Vec<String> = rules
            .list()
            .iter()
            .map(|r| String::from_utf8(r.v1_line().as_bytes().to_vec()).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:0 rwm",
                "c 5:2 rwm",
                "c 136:* rwm",
                "b 7:0 rm",
            ]
        );
    }

    #[test]
    fn the_largest_program_fits_and_decides() {
        let mut config = RunConfig::default();
        let mut devices = Vec::new();
        for i in 0..MAX_DEVICES as u32 {
            let inside = format!("/dev/d{i}");
            let _ = config.devices.push(Device {
                host: CPath::from_bytes(b"/dev/x").unwrap(),
                inside: CPath::from_bytes(inside.as_bytes()).unwrap(),
                access: (i % 7 + 1) as u8,
            });
            let kind = if i % 2 == 0 { Kind::Block } else { Kind::Char };
            devices.push(host(kind, 4095 - i, 1_048_575 - i));
        }
        let rules = Rules::new(&config, &devices);
        assert_eq!(rules.list().len(), DEFAULT_RULES.len() + MAX_DEVICES);
        check_program(&rules);
        for (i, d) in devices.iter().enumerate() {
            let access = (i % 7 + 1) as u8;
            assert!(rules.allows(d.kind, d.major, d.minor, access));
            assert_eq!(
                run(
                    rules.program().instructions(),
                    d.kind,
                    d.major,
                    d.minor,
                    access
                ),
                1
            );
        }
    }

    #[test]
    fn random_rules_and_accesses_agree() {
        let mut rng = crate::test_rng::Rng(0x5eed_de71_ce00_0001);
        for _ in 0..300 {
            let n = rng.below(MAX_DEVICES + 1);
            let mut config = RunConfig::default();
            let mut devices = Vec::new();
            for i in 0..n {
                let inside = format!("/dev/r{i}");
                let _ = config.devices.push(Device {
                    host: CPath::from_bytes(b"/dev/x").unwrap(),
                    inside: CPath::from_bytes(inside.as_bytes()).unwrap(),
                    access: 1 + rng.below(7) as u8,
                });
                let kind = if rng.below(2) == 0 {
                    Kind::Char
                } else {
                    Kind::Block
                };
                devices.push(host(kind, rng.below(10) as u32, rng.below(12) as u32));
            }
            let rules = Rules::new(&config, &devices);
            let program = rules.program();
            for _ in 0..200 {
                let kind = if rng.below(2) == 0 {
                    Kind::Char
                } else {
                    Kind::Block
                };
                let (major, minor) = (rng.below(12) as u32, rng.below(14) as u32);
                let access = 1 + rng.below(7) as u8;
                assert_eq!(
                    run(program.instructions(), kind, major, minor, access),
                    u64::from(rules.allows(kind, major, minor, access)),
                    "{kind:?} {major}:{minor} access {access} under {:?}",
                    rules.list()
                );
            }
        }
    }

    #[test]
    fn who_needs_a_cgroup() {
        assert!(!need_cgroup(&RunConfig::default()));
        let mut config = RunConfig {
            cap_add: CapabilitySet::MKNOD.bits(),
            ..RunConfig::default()
        };
        assert!(need_cgroup(&config));
        assert_eq!(option_of_step(rules_step(&config)), "--cap-add mknod");
        // In a user namespace the kernel refuses device nodes anyway.
        config.namespaces.0 |= linux_raw_sys::general::CLONE_NEWUSER;
        assert!(!need_cgroup(&config));
        // CAP_SYS_ADMIN mounts a devtmpfs, or drops nodev by remounting.
        let config = RunConfig {
            cap_add: CapabilitySet::SYS_ADMIN.bits(),
            ..RunConfig::default()
        };
        assert!(need_cgroup(&config));
        assert_eq!(option_of_step(rules_step(&config)), "--cap-add sys_admin");
        let config = config_with(&[("/dev/ttyS1", "/dev/ttyS1", RWM)]);
        assert!(need_cgroup(&config));
        assert_eq!(option_of_step(rules_step(&config)), "--device");
    }
}
