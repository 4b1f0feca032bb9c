//! OCI seccomp profiles (`linux.seccomp` of config.json) compiled to
//! classic BPF by box itself, without libseccomp.
//!
//! # Meaning
//! As runc gives it (and as the runtime-spec's wording for the order of
//! `syscalls` puts it): for a syscall, the first entry of `syscalls` that
//! names it and whose `args` all hold decides; when none does,
//! `defaultAction` does. An entry that compares one argument more than
//! once holds when any of its comparisons does (runc adds such
//! comparisons as rules of their own). Arguments are compared as 64-bit
//! values, both halves, on every architecture: on 32-bit arm the upper
//! half is zero, as the kernel fills it. Names the architecture does not
//! have are skipped, as libseccomp skips them (podman's profile names
//! i386 and arm calls on x86_64 too).
//!
//! `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` return `errnoRet` (EPERM when not
//! given, as runc); `SCMP_ACT_NOTIFY` is refused (box has no listener to
//! hand the notification fd to), as are the listener fields and flags.
//!
//! # What box differs in
//! Only the build's own architecture is filtered. A syscall made through
//! another ABI (i386 or x32 on x86_64, arm on aarch64) kills the process,
//! as box's own filter does, even when `architectures` lists it: box
//! carries one syscall table, and a filter cannot judge numbers it cannot
//! name. runc also answers ENOSYS for numbers newer than its libseccomp
//! knows; box gives them `defaultAction`, which in podman's and Docker's
//! profiles is ENOSYS anyway.
//!
//! # The program
//! The same shape as box's own filter (src/seccomp.rs): check the
//! architecture, then a binary search over the syscall number, then a leaf.
//! The search is over ranges rather than single numbers: the numbers are
//! cut into ranges that get the same answer without looking at arguments
//! (podman's profile on x86_64: 178 instructions for 470 numbers), each leaf of
//! the tree returns its range's action, and a number whose answer depends
//! on its arguments gets a leaf of its own with the comparisons. Podman's
//! default profile compiles to 178 instructions on x86_64, 166 on aarch64
//! and 316 on arm (the kernel allows 4096), and a syscall whose answer
//! does not depend on its arguments is decided in at most 12. The kernel
//! runs a new filter once per syscall number at install time to find
//! those it always allows (Linux 5.11+); a range leaf never loads an
//! argument, so all of them qualify.

use core::mem::offset_of;

use heapless::Vec;
use linux_raw_sys::ptrace::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_K, BPF_LD, BPF_RET,
    BPF_W, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC,
    SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD,
    SECCOMP_RET_LOG, SECCOMP_RET_TRACE, SECCOMP_RET_TRAP, seccomp_data, sock_filter,
};

use super::Reader;
use super::json::{Str, word_index};
use super::syscalls::Table;
use crate::error::Result;

/// Entries of `syscalls` (podman's default has 22).
pub const MAX_RULES: usize = 128;
/// Syscall names of all entries together, as found on the architecture
/// (podman's default names 437, 372 of them on x86_64).
pub const MAX_CALLS: usize = 1024;
/// Argument comparisons of all entries together.
pub const MAX_CONDITIONS: usize = 128;
/// Ranges of numbers with one answer each.
pub const MAX_RANGES: usize = 1024;
/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSTRUCTIONS: usize = linux_raw_sys::ptrace::BPF_MAXINSNS as usize;

/// The largest errno a filter can return (the kernel's MAX_ERRNO).
const MAX_ERRNO: u64 = 4095;
const EPERM: u32 = 1;

/// An argument comparison (`op` of an entry of `args`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    NotEqual,
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
    /// `arg & value == value_two`.
    MaskedEqual,
}

/// The comparison names, [`OPS`] in order.
const OP_NAMES: &str =
    "SCMP_CMP_NE SCMP_CMP_LT SCMP_CMP_LE SCMP_CMP_EQ SCMP_CMP_GE SCMP_CMP_GT SCMP_CMP_MASKED_EQ";

const OPS: &[Op] = &[
    Op::NotEqual,
    Op::Less,
    Op::LessOrEqual,
    Op::Equal,
    Op::GreaterOrEqual,
    Op::Greater,
    Op::MaskedEqual,
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Condition {
    /// Which argument, 0 to 5.
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

impl Condition {
    /// Whether `arg` satisfies the comparison.
    pub fn holds(&self, arg: u64) -> bool {
        match self.op {
            Op::NotEqual => arg != self.value,
            Op::Less => arg < self.value,
            Op::LessOrEqual => arg <= self.value,
            Op::Equal => arg == self.value,
            Op::GreaterOrEqual => arg >= self.value,
            Op::Greater => arg > self.value,
            Op::MaskedEqual => arg & self.value == self.value_two,
        }
    }
}

/// One entry of `syscalls`: its action and its comparisons.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The filter's return value (SECCOMP_RET_*, with the errno).
    pub action: u32,
    /// `conditions[first..first + count]`.
    pub first: u16,
    pub count: u8,
    /// The comparisons hold when any does (an argument compared twice),
    /// else when all do.
    pub any: bool,
}

/// A syscall named by a rule.
#[derive(Clone, Copy, Debug)]
struct Call {
    nr: u32,
    rule: u16,
}

/// A parsed profile, for one architecture's numbers.
pub struct Profile {
    pub default_action: u32,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    pub flags: u32,
    pub rules: Vec<Rule, MAX_RULES>,
    pub conditions: Vec<Condition, MAX_CONDITIONS>,
    /// (number, rule) for every name found on the architecture.
    calls: Vec<Call, MAX_CALLS>,
    /// Names not found on the architecture (skipped).
    pub skipped: u16,
}

impl Profile {
    pub const fn new() -> Self {
        Self {
            default_action: SECCOMP_RET_KILL_PROCESS,
            flags: 0,
            rules: Vec::new(),
            conditions: Vec::new(),
            calls: Vec::new(),
            skipped: 0,
        }
    }

    /// How many names were found on the architecture.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// The rule conditions of `rule`.
    pub fn conditions_of(&self, rule: &Rule) -> &[Condition] {
        let first = usize::from(rule.first);
        &self.conditions[first..first + usize::from(rule.count)]
    }

    /// Every number some rule names.
    pub fn named(&self) -> impl Iterator<Item = u32> + '_ {
        self.calls.iter().map(|c| c.nr)
    }

    /// Whether rule `index` names syscall `nr`.
    pub fn names(&self, index: usize, nr: u32) -> bool {
        self.calls
            .iter()
            .any(|c| c.nr == nr && usize::from(c.rule) == index)
    }
}

impl Default for Profile {
    fn default() -> Self {
        Self::new()
    }
}

/// What an action name means, before its errno is known.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    Plain(u32),
    /// Takes `errnoRet` as its data.
    WithErrno(u32),
}

/// The action names, as libseccomp and runc spell them; [`ACTIONS`] in
/// order.
const ACTION_NAMES: &str = "SCMP_ACT_ALLOW SCMP_ACT_ERRNO SCMP_ACT_KILL SCMP_ACT_KILL_THREAD \
     SCMP_ACT_KILL_PROCESS SCMP_ACT_TRAP SCMP_ACT_LOG SCMP_ACT_TRACE";

const ACTIONS: &[Action] = &[
    Action::Plain(SECCOMP_RET_ALLOW),
    Action::WithErrno(SECCOMP_RET_ERRNO),
    Action::Plain(SECCOMP_RET_KILL_THREAD),
    Action::Plain(SECCOMP_RET_KILL_THREAD),
    Action::Plain(SECCOMP_RET_KILL_PROCESS),
    Action::Plain(SECCOMP_RET_TRAP),
    Action::Plain(SECCOMP_RET_LOG),
    Action::WithErrno(SECCOMP_RET_TRACE),
];

fn action(r: &mut Reader<'_>) -> Result<Action> {
    let mut buf = [0u8; 24];
    let name = r.decode(&mut buf).unwrap_or(b"");
    if let Some(&action) = ACTIONS.get(word_index(ACTION_NAMES, name)) {
        return Ok(action);
    }
    Err(if name == b"SCMP_ACT_NOTIFY" {
        r.fail(format_args!(
            "SCMP_ACT_NOTIFY is not supported (box has no seccomp listener)"
        ))
    } else {
        r.fail(format_args!("unknown action"))
    })
}

/// The return value of `action` with `errno` (`errnoRet`, read at `key`).
fn with_errno(r: &Reader<'_>, action: Action, errno: Option<u32>, key: &str) -> Result<u32> {
    match (action, errno) {
        (Action::Plain(ret), None) => Ok(ret),
        (Action::Plain(_), Some(_)) => Err(r.fail(format_args!(
            "{key} is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE"
        ))),
        (Action::WithErrno(ret), errno) => Ok(ret | errno.unwrap_or(EPERM)),
    }
}

/// Architecture names libseccomp knows: accepted, but only the build's
/// own is filtered (see the module documentation).
const ARCHITECTURES: &str = "SCMP_ARCH_X86 SCMP_ARCH_X86_64 SCMP_ARCH_X32 SCMP_ARCH_ARM \
     SCMP_ARCH_AARCH64 SCMP_ARCH_MIPS SCMP_ARCH_MIPS64 SCMP_ARCH_MIPS64N32 SCMP_ARCH_MIPSEL \
     SCMP_ARCH_MIPSEL64 SCMP_ARCH_MIPSEL64N32 SCMP_ARCH_PPC SCMP_ARCH_PPC64 SCMP_ARCH_PPC64LE \
     SCMP_ARCH_S390 SCMP_ARCH_S390X SCMP_ARCH_PARISC SCMP_ARCH_PARISC64 SCMP_ARCH_RISCV64 \
     SCMP_ARCH_LOONGARCH64 SCMP_ARCH_M68K SCMP_ARCH_SH SCMP_ARCH_SHEB";

/// The filter flags a profile may name; [`FLAGS`] in order.
const FLAG_NAMES: &str =
    "SECCOMP_FILTER_FLAG_TSYNC SECCOMP_FILTER_FLAG_LOG SECCOMP_FILTER_FLAG_SPEC_ALLOW";

const FLAGS: &[u32] = &[
    SECCOMP_FILTER_FLAG_TSYNC,
    SECCOMP_FILTER_FLAG_LOG,
    SECCOMP_FILTER_FLAG_SPEC_ALLOW,
];

/// Read `linux.seccomp` (the reader is at its value) into `out`, with the
/// syscall numbers of `table`.
pub fn parse(r: &mut Reader<'_>, table: &Table, out: &mut Profile) -> Result<()> {
    *out = Profile::new();
    let mut default = None;
    let mut default_errno = None;
    r.object(|r, key| {
        match key.find(
            "defaultAction defaultErrnoRet architectures flags syscalls listenerPath \
             listenerMetadata",
        ) {
            0 => {
                default = Some(action(r)?);
            }
            1 => {
                default_errno = Some(r.unsigned(MAX_ERRNO)? as u32);
            }
            2 => {
                r.array(|r, _| {
                    let mut buf = [0u8; 24];
                    let name = r.decode(&mut buf).unwrap_or(b"");
                    if word_index(ARCHITECTURES, name) == usize::MAX {
                        return Err(r.fail(format_args!("unknown architecture")));
                    }
                    Ok(())
                })?;
            }
            3 => {
                r.array(|r, _| {
                    let mut buf = [0u8; 48];
                    let name = r.decode(&mut buf).unwrap_or(b"");
                    let Some(&flag) = FLAGS.get(word_index(FLAG_NAMES, name)) else {
                        return Err(r.fail(format_args!("flag not supported")));
                    };
                    out.flags |= flag;
                    Ok(())
                })?;
            }
            4 => {
                r.array(|r, _| rule(r, table, out))?;
            }
            5 | 6 => {
                r.refuse_unless_empty()?;
            }
            _ => {
                return Err(r.unsupported());
            }
        }
        Ok(())
    })?;
    let Some(default) = default else {
        return Err(r.fail(format_args!("no defaultAction")));
    };
    out.default_action = with_errno(r, default, default_errno, "defaultErrnoRet")?;
    Ok(())
}

/// One entry of `syscalls`.
fn rule(r: &mut Reader<'_>, table: &Table, out: &mut Profile) -> Result<()> {
    let index = out.rules.len();
    if index == MAX_RULES {
        return Err(r.fail(format_args!("more than {MAX_RULES} entries")));
    }
    let first = out.conditions.len();
    let mut act = None;
    let mut errno = None;
    let mut names = false;
    let mut indexes = 0u8;
    let mut repeated = false;
    r.object(|r, key| match key.find("names action errnoRet args") {
        0 => {
            names = true;
            r.array(|r, _| {
                let mut buf = [0u8; 64];
                let name = r.decode(&mut buf)?;
                let Some(nr) = table.number(name) else {
                    out.skipped += 1;
                    return Ok(());
                };
                let call = Call {
                    nr,
                    rule: index as u16,
                };
                out.calls
                    .push(call)
                    .map_err(|_| r.fail(format_args!("more than {MAX_CALLS} names in all")))
            })
        }
        1 => {
            act = Some(action(r)?);
            Ok(())
        }
        2 => {
            errno = Some(r.unsigned(MAX_ERRNO)? as u32);
            Ok(())
        }
        3 => {
            if r.null()? {
                return Ok(());
            }
            r.array(|r, _| {
                let c = condition(r)?;
                let bit = 1 << c.index;
                repeated |= indexes & bit != 0;
                indexes |= bit;
                out.conditions.push(c).map_err(|_| {
                    r.fail(format_args!(
                        "more than {MAX_CONDITIONS} comparisons in all"
                    ))
                })
            })
        }
        _ => Err(r.unsupported()),
    })?;
    if !names {
        return Err(r.fail(format_args!("no names")));
    }
    let Some(act) = act else {
        return Err(r.fail(format_args!("no action")));
    };
    let count = out.conditions.len() - first;
    let rule = Rule {
        action: with_errno(r, act, errno, "errnoRet")?,
        first: first as u16,
        // At most 6 distinct indexes; more comparisons repeat one.
        count: u8::try_from(count).map_err(|_| r.fail(format_args!("too many comparisons")))?,
        any: repeated,
    };
    // Cannot fail: checked against MAX_RULES above.
    let _ = out.rules.push(rule);
    Ok(())
}

fn condition(r: &mut Reader<'_>) -> Result<Condition> {
    let mut c = Condition {
        index: u8::MAX,
        op: Op::Equal,
        value: 0,
        value_two: 0,
    };
    let mut op = false;
    r.object(|r, key| {
        match key.find("index value valueTwo op") {
            0 => {
                c.index = r.unsigned(5)? as u8;
            }
            1 => {
                c.value = r.unsigned(u64::MAX)?;
            }
            2 => {
                c.value_two = r.unsigned(u64::MAX)?;
            }
            3 => {
                let s: Str<'_> = r.string()?;
                let Some(&found) = OPS.get(s.find(OP_NAMES)) else {
                    return Err(r.fail(format_args!("unknown comparison")));
                };
                c.op = found;
                op = true;
            }
            _ => {
                return Err(r.unsupported());
            }
        }
        Ok(())
    })?;
    if c.index == u8::MAX || !op {
        return Err(r.fail(format_args!("a comparison needs index and op")));
    }
    Ok(c)
}

/// An architecture to compile for.
#[derive(Clone, Copy)]
pub struct Arch {
    /// `seccomp_data.arch` (AUDIT_ARCH_*).
    pub audit: u32,
    pub table: &'static Table,
    /// x86_64: numbers with bit 30 are the x32 ABI, killed.
    pub x32_bit: bool,
}

#[cfg(any(test, fuzzing, target_arch = "x86_64"))]
pub const X86_64: Arch = Arch {
    audit: linux_raw_sys::ptrace::AUDIT_ARCH_X86_64,
    table: &super::syscalls::X86_64,
    x32_bit: true,
};
#[cfg(any(test, fuzzing, target_arch = "aarch64"))]
pub const AARCH64: Arch = Arch {
    audit: 0xc000_00b7,
    table: &super::syscalls::AARCH64,
    x32_bit: false,
};
#[cfg(any(test, fuzzing, target_arch = "arm"))]
pub const ARM: Arch = Arch {
    audit: 0x4000_0028,
    table: &super::syscalls::ARM,
    x32_bit: false,
};

/// The architecture box is built for, if it has a syscall table.
#[cfg(target_arch = "x86_64")]
pub const NATIVE: Option<Arch> = Some(X86_64);
#[cfg(target_arch = "aarch64")]
pub const NATIVE: Option<Arch> = Some(AARCH64);
#[cfg(target_arch = "arm")]
pub const NATIVE: Option<Arch> = Some(ARM);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")))]
pub const NATIVE: Option<Arch> = None;

/// A compiled filter, ready for seccomp(2). 32 KiB: fill one in place.
pub struct Program {
    instructions: [sock_filter; MAX_INSTRUCTIONS],
    len: usize,
}

impl Program {
    pub const fn new() -> Self {
        Self {
            instructions: [crate::seccomp::UNUSED; MAX_INSTRUCTIONS],
            len: 0,
        }
    }

    pub fn instructions(&self) -> &[sock_filter] {
        &self.instructions[..self.len]
    }

    /// The instructions as bytes (8 each, in this machine's order) into
    /// `out`; how many bytes.
    pub fn to_bytes(&self, out: &mut [u8]) -> usize {
        let mut n = 0;
        for (i, to) in self.instructions().iter().zip(out.chunks_exact_mut(8)) {
            to[..2].copy_from_slice(&i.code.to_ne_bytes());
            to[2] = i.jt;
            to[3] = i.jf;
            to[4..].copy_from_slice(&i.k.to_ne_bytes());
            n += 8;
        }
        n
    }

    /// Load the program [`Program::to_bytes`] wrote; `None` for bytes that
    /// cannot be one.
    pub fn read_bytes(&mut self, bytes: &[u8]) -> Option<()> {
        if bytes.len() % 8 != 0 || bytes.len() / 8 > MAX_INSTRUCTIONS {
            return None;
        }
        self.len = 0;
        for b in bytes.chunks_exact(8) {
            self.instructions[self.len] = sock_filter {
                code: u16::from_ne_bytes([b[0], b[1]]),
                jt: b[2],
                jf: b[3],
                k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            };
            self.len += 1;
        }
        Some(())
    }

    fn push(&mut self, code: u32, k: u32, jt: usize, jf: usize) -> Result<()> {
        if self.len == MAX_INSTRUCTIONS {
            return Err(crate::bad!(
                "linux.seccomp: the filter needs more than the kernel's {} instructions",
                MAX_INSTRUCTIONS
            ));
        }
        // Jump offsets within a leaf are short by construction (a rule has
        // at most 6 comparisons of at most 6 instructions).
        debug_assert!(jt <= 255 && jf <= 255);
        self.instructions[self.len] = sock_filter {
            code: code as u16,
            jt: jt as u8,
            jf: jf as u8,
            k,
        };
        self.len += 1;
        Ok(())
    }

    /// A conditional jump to absolute targets (forward, within 255).
    fn jump(&mut self, op: u32, k: u32, yes: usize, no: usize) -> Result<()> {
        let here = self.len + 1;
        self.push(BPF_JMP | op | BPF_K, k, yes - here, no - here)
    }

    fn load(&mut self, offset: u32) -> Result<()> {
        self.push(BPF_LD | BPF_W | BPF_ABS, offset, 0, 0)
    }

    fn ret(&mut self, action: u32) -> Result<()> {
        self.push(BPF_RET | BPF_K, action, 0, 0)
    }
}

impl Default for Program {
    fn default() -> Self {
        Self::new()
    }
}

const OFFSET_NR: u32 = offset_of!(seccomp_data, nr) as u32;
const OFFSET_ARCH: u32 = offset_of!(seccomp_data, arch) as u32;
const OFFSET_ARGS: u32 = offset_of!(seccomp_data, args) as u32;

/// Offsets of the low and high halves of argument `index`.
fn halves(index: u8) -> (u32, u32) {
    let arg = OFFSET_ARGS + 8 * u32::from(index);
    if cfg!(target_endian = "big") {
        (arg + 4, arg)
    } else {
        (arg, arg + 4)
    }
}

/// What the tree ends in for a range of numbers.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Leaf {
    /// Return this, whatever the arguments.
    Action(u32),
    /// One number whose answer depends on its arguments: the rules in
    /// `calls[start..end]` (sorted), tried in order.
    Rules { start: u16, end: u16 },
}

#[derive(Clone, Copy, Debug)]
struct Range {
    /// The first number of the range; it ends where the next begins.
    first: u32,
    leaf: Leaf,
}

/// Compile `profile` for `arch` into `out`.
pub fn compile(profile: &mut Profile, arch: &Arch, out: &mut Program) -> Result<()> {
    out.len = 0;
    // The rules of each number together, in the profile's order.
    profile.calls.sort_unstable_by_key(|c| (c.nr, c.rule));
    let default = Leaf::Action(profile.default_action);
    let mut ranges: Vec<Range, MAX_RANGES> = Vec::new();
    let mut add = |first: u32, leaf: Leaf| {
        // A range with the previous one's answer only extends it.
        if ranges.last().is_some_and(|r| r.leaf == leaf) {
            return Ok(());
        }
        ranges.push(Range { first, leaf }).map_err(|_| {
            crate::bad!(
                "linux.seccomp: the rules cut the syscall numbers into more than {} ranges",
                MAX_RANGES
            )
        })
    };
    // The first number the ranges so far do not cover.
    let mut uncovered = 0u32;
    let calls = &profile.calls;
    let mut i = 0;
    while i < calls.len() {
        let nr = calls[i].nr;
        let mut end = i;
        while end < calls.len() && calls[end].nr == nr {
            end += 1;
        }
        if nr > uncovered {
            add(uncovered, default)?;
        }
        let rule = &profile.rules[usize::from(calls[i].rule)];
        let leaf = if rule.count == 0 {
            Leaf::Action(rule.action)
        } else {
            Leaf::Rules {
                start: i as u16,
                end: end as u16,
            }
        };
        add(nr, leaf)?;
        // Numbers stay far below u32::MAX (arm's highest is 0xf0006).
        uncovered = nr + 1;
        i = end;
    }
    add(uncovered, default)?;
    emit(profile, arch, &ranges, out)
}

fn emit(profile: &Profile, arch: &Arch, ranges: &[Range], out: &mut Program) -> Result<()> {
    // Another ABI has other numbers: kill (see the module documentation).
    out.load(OFFSET_ARCH)?;
    out.jump(BPF_JEQ, arch.audit, 3, 2)?;
    out.ret(SECCOMP_RET_KILL_PROCESS)?;
    out.load(OFFSET_NR)?;
    if arch.x32_bit {
        // x32 numbers have bit 30; -1 too, which is a tracer's "skip
        // this syscall" and reaches the kernel, which answers ENOSYS.
        let tree = out.len + 4;
        out.jump(BPF_JGE, 0x4000_0000, out.len + 1, tree)?;
        out.jump(BPF_JEQ, u32::MAX, out.len + 1, out.len + 2)?;
        out.ret(SECCOMP_RET_ALLOW)?;
        out.ret(SECCOMP_RET_KILL_PROCESS)?;
    }
    tree(profile, ranges, out)
}

/// Emit the search over `ranges`: halve on JGE down to one range, whose
/// leaf follows.
fn tree(profile: &Profile, ranges: &[Range], out: &mut Program) -> Result<()> {
    if ranges.len() == 1 {
        return leaf(profile, ranges[0].leaf, out);
    }
    let mid = ranges.len() / 2;
    let left = tree_len(profile, &ranges[..mid]);
    if left <= 255 {
        out.push(BPF_JMP | BPF_JGE | BPF_K, ranges[mid].first, left, 0)?;
    } else {
        // Too far for a conditional jump: over an unconditional one.
        out.push(BPF_JMP | BPF_JGE | BPF_K, ranges[mid].first, 0, 1)?;
        out.push(BPF_JMP | BPF_JA, left as u32, 0, 0)?;
    }
    tree(profile, &ranges[..mid], out)?;
    tree(profile, &ranges[mid..], out)
}

fn tree_len(profile: &Profile, ranges: &[Range]) -> usize {
    if ranges.len() == 1 {
        return leaf_len(profile, ranges[0].leaf);
    }
    let mid = ranges.len() / 2;
    let left = tree_len(profile, &ranges[..mid]);
    let jump = if left <= 255 { 1 } else { 2 };
    jump + left + tree_len(profile, &ranges[mid..])
}

/// The rules a leaf tries, up to the first without comparisons.
fn leaf_rules(profile: &Profile, start: u16, end: u16) -> impl Iterator<Item = &Rule> {
    let mut done = false;
    profile.calls[usize::from(start)..usize::from(end)]
        .iter()
        .map(|c| &profile.rules[usize::from(c.rule)])
        .take_while(move |rule| {
            let take = !done;
            done |= rule.count == 0;
            take
        })
}

fn leaf_len(profile: &Profile, leaf: Leaf) -> usize {
    let Leaf::Rules { start, end } = leaf else {
        return 1;
    };
    let mut len = 0;
    let mut last_plain = false;
    for rule in leaf_rules(profile, start, end) {
        len += rule_len(profile, rule);
        last_plain = rule.count == 0;
    }
    // The default when no rule holds.
    len + usize::from(!last_plain)
}

fn rule_len(profile: &Profile, rule: &Rule) -> usize {
    let compares: usize = profile
        .conditions_of(rule)
        .iter()
        .map(|c| compare_len(c.op))
        .sum();
    compares + 1
}

fn compare_len(op: Op) -> usize {
    match op {
        Op::Equal | Op::NotEqual => 4,
        Op::MaskedEqual => 6,
        _ => 5,
    }
}

fn leaf(profile: &Profile, leaf: Leaf, out: &mut Program) -> Result<()> {
    let Leaf::Rules { start, end } = leaf else {
        let Leaf::Action(action) = leaf else {
            unreachable!()
        };
        return out.ret(action);
    };
    let mut last_plain = false;
    for rule in leaf_rules(profile, start, end) {
        let next_rule = out.len + rule_len(profile, rule);
        let ret = next_rule - 1;
        let conditions = profile.conditions_of(rule);
        for (i, c) in conditions.iter().enumerate() {
            let after = out.len + compare_len(c.op);
            let last = i + 1 == conditions.len();
            let (pass, fail) = if rule.any {
                // Any comparison: on to the next one when it fails.
                (ret, if last { next_rule } else { after })
            } else {
                // All comparisons: on to the next one when it holds.
                (after, next_rule)
            };
            compare(c, pass, fail, out)?;
        }
        out.ret(rule.action)?;
        last_plain = rule.count == 0;
    }
    if !last_plain {
        out.ret(profile.default_action)?;
    }
    Ok(())
}

/// A 64-bit comparison of one argument, high half first, going to `pass`
/// or `fail` (absolute, forward).
fn compare(c: &Condition, pass: usize, fail: usize, out: &mut Program) -> Result<()> {
    let (low, high) = halves(c.index);
    let value_high = (c.value >> 32) as u32;
    let value_low = c.value as u32;
    let next = |out: &Program| out.len + 1;
    match c.op {
        Op::Equal | Op::NotEqual => {
            let (same, differ) = if c.op == Op::Equal {
                (pass, fail)
            } else {
                (fail, pass)
            };
            out.load(high)?;
            out.jump(BPF_JEQ, value_high, next(out), differ)?;
            out.load(low)?;
            out.jump(BPF_JEQ, value_low, same, differ)
        }
        Op::Greater | Op::GreaterOrEqual | Op::Less | Op::LessOrEqual => {
            // < and <= are the negations of >= and >: the same comparison
            // with the outcomes swapped.
            let (op, holds, fails) = match c.op {
                Op::Greater => (BPF_JGT, pass, fail),
                Op::GreaterOrEqual => (BPF_JGE, pass, fail),
                Op::Less => (BPF_JGE, fail, pass),
                _ => (BPF_JGT, fail, pass),
            };
            out.load(high)?;
            out.jump(BPF_JGT, value_high, holds, next(out))?;
            out.jump(BPF_JEQ, value_high, next(out), fails)?;
            out.load(low)?;
            out.jump(op, value_low, holds, fails)
        }
        Op::MaskedEqual => {
            let datum_high = (c.value_two >> 32) as u32;
            let datum_low = c.value_two as u32;
            out.load(high)?;
            out.push(BPF_ALU | BPF_AND | BPF_K, value_high, 0, 0)?;
            out.jump(BPF_JEQ, datum_high, next(out), fail)?;
            out.load(low)?;
            out.push(BPF_ALU | BPF_AND | BPF_K, value_low, 0, 0)?;
            out.jump(BPF_JEQ, datum_low, pass, fail)
        }
    }
}

/// The checks the fuzz target `seccomp` runs; the tests below run them on
/// podman's and containerd's profiles and pseudo-random ones.
#[cfg(test)]
#[path = "../../fuzz/checks/seccomp.rs"]
pub mod checks;

#[cfg(test)]
mod tests {
    use super::checks::{check_profile, parse_profile, profile_from_bytes, run};
    use super::*;
    use crate::oci::json::Parser;
    use std::vec::Vec;

    /// The `linux.seccomp` object of a config.json in tests/oci/.
    pub fn profile_of(fixture: &str) -> Vec<u8> {
        let path = format!("{}/tests/oci/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read(&path).unwrap();
        let mut p = Parser::new(&doc);
        p.begin_object().unwrap();
        while let Some(key) = p.next_key().unwrap() {
            if !key.is("linux") {
                p.skip_value().unwrap();
                continue;
            }
            p.begin_object().unwrap();
            while let Some(key) = p.next_key().unwrap() {
                if key.is("seccomp") {
                    let start = p.value_offset();
                    p.skip_value().unwrap();
                    return doc[start..p.offset()].to_vec();
                }
                p.skip_value().unwrap();
            }
        }
        panic!("{fixture} has no linux.seccomp");
    }

    const ARCHES: [(&str, Arch); 3] = [("x86_64", X86_64), ("aarch64", AARCH64), ("arm", ARM)];

    /// podman's default profile, as podman 4.3 hands it to the runtime,
    /// for each architecture: the program agrees with the rules, fits the
    /// kernel's limit with room, and decides any syscall in few steps.
    #[test]
    fn podmans_default_profile_on_every_architecture() {
        let json = profile_of("podman-default.json");
        for (name, arch) in ARCHES {
            let mut profile = Box::new(Profile::new());
            parse_profile(&json, &arch, &mut profile).unwrap();
            assert_eq!(profile.rules.len(), 22);
            assert_eq!(
                profile.calls() + usize::from(profile.skipped),
                437,
                "{name}"
            );
            assert_eq!(profile.default_action, SECCOMP_RET_ERRNO | 38);
            let compiled = check_profile(&json, &arch).unwrap();
            eprintln!(
                "podman's default profile on {name}: {} names found, {} instructions, \
                 at most {} per syscall ({} with argument checks)",
                profile.calls(),
                compiled.instructions,
                compiled.most_plain_steps,
                compiled.most_steps
            );
            assert!(
                compiled.instructions <= 512,
                "{name}: {}",
                compiled.instructions
            );
            // A binary search over the ranges, and socket's four rules.
            assert!(
                compiled.most_plain_steps <= 12,
                "{name}: {}",
                compiled.most_plain_steps
            );
            assert!(compiled.most_steps <= 32, "{name}: {}", compiled.most_steps);
        }
    }

    #[test]
    fn containerds_profile_on_every_architecture() {
        let json = profile_of("containerd-options.json");
        for (name, arch) in ARCHES {
            let compiled = check_profile(&json, &arch).unwrap();
            eprintln!(
                "containerd's profile on {name}: {} instructions",
                compiled.instructions
            );
        }
    }

    /// What create keeps for exec reads back as the same program.
    #[test]
    fn a_saved_program_reads_back() {
        let json = profile_of("podman-default.json");
        let mut profile = Box::new(Profile::new());
        parse_profile(&json, &X86_64, &mut profile).unwrap();
        let mut program = Box::new(Program::new());
        compile(&mut profile, &X86_64, &mut program).unwrap();
        let mut bytes = vec![0u8; MAX_INSTRUCTIONS * 8];
        let n = program.to_bytes(&mut bytes);
        assert_eq!(n, program.instructions().len() * 8);
        let mut back = Box::new(Program::new());
        back.read_bytes(&bytes[..n]).unwrap();
        let same = |a: &sock_filter, b: &sock_filter| {
            (a.code, a.jt, a.jf, a.k) == (b.code, b.jt, b.jf, b.k)
        };
        assert_eq!(back.instructions().len(), program.instructions().len());
        assert!(
            back.instructions()
                .iter()
                .zip(program.instructions())
                .all(|(a, b)| same(a, b))
        );
        assert!(back.read_bytes(&bytes[..n - 1]).is_none());
    }

    /// What a container under podman's profile sees, by syscall.
    #[test]
    fn podmans_profile_answers() {
        let json = profile_of("podman-default.json");
        let arch = X86_64;
        let mut profile = Box::new(Profile::new());
        parse_profile(&json, &arch, &mut profile).unwrap();
        let mut program = Box::new(Program::new());
        compile(&mut profile, &arch, &mut program).unwrap();
        let nr = |name: &str| arch.table.number(name.as_bytes()).unwrap();
        let call =
            |name: &str, args: [u64; 6]| run(program.instructions(), arch.audit, nr(name), args).0;
        let errno = |e: u32| SECCOMP_RET_ERRNO | e;
        assert_eq!(call("read", [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(call("kexec_load", [0; 6]), errno(1));
        assert_eq!(
            call("add_key", [0; 6]),
            errno(38),
            "not listed: the default"
        );
        // AF_NETLINK with NETLINK_AUDIT: EINVAL; other sockets pass.
        assert_eq!(call("socket", [16, 3, 9, 0, 0, 0]), errno(22));
        assert_eq!(call("socket", [16, 3, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
        assert_eq!(call("socket", [2, 1, 9, 0, 0, 0]), SECCOMP_RET_ALLOW);
        // The upper half counts: 16 + 2^32 is not AF_NETLINK to the filter.
        assert_eq!(
            call("socket", [16 | 1 << 32, 3, 9, 0, 0, 0]),
            SECCOMP_RET_ALLOW
        );
        assert_eq!(call("personality", [8, 0, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
        assert_eq!(
            call("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
            SECCOMP_RET_ALLOW
        );
        assert_eq!(call("personality", [0x0040_0000, 0, 0, 0, 0, 0]), errno(38));
        assert_eq!(
            run(program.instructions(), arch.audit, 5000, [0; 6]).0,
            errno(38)
        );
    }

    fn refusal(json: &str) -> String {
        let mut profile = Box::new(Profile::new());
        parse_profile(json.as_bytes(), &X86_64, &mut profile)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn what_box_cannot_do_is_refused_by_name() {
        let rule = |r: &str| format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{r}]}}"#);
        let cases = [
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}"#),
                "config.json: syscalls[0].action: SCMP_ACT_NOTIFY is not supported (box has no seccomp listener)",
            ),
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}"#),
                "config.json: syscalls[0]: errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE",
            ),
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_MAYBE"}"#),
                "config.json: syscalls[0].action: unknown action",
            ),
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "x"}"#),
                "config.json: syscalls[0].comment: not supported",
            ),
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}"#),
                "config.json: syscalls[0].args[0].index: 6 is more than 5",
            ),
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}"#),
                "config.json: syscalls[0].args[0].op: unknown comparison",
            ),
            (
                rule(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4096}"#),
                "config.json: syscalls[0].errnoRet: 4096 is more than 4095",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"}"#.into(),
                "config.json: listenerPath: not supported",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#.into(),
                "config.json: flags[0]: flag not supported",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}"#.into(),
                "config.json: architectures[0]: unknown architecture",
            ),
            (r#"{"syscalls": []}"#.into(), "config.json: no defaultAction"),
        ];
        for (json, want) in cases {
            assert_eq!(refusal(&json), want, "{json}");
        }
    }

    #[test]
    fn defaults_and_flags() {
        let mut profile = Box::new(Profile::new());
        let json = br#"{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["read", "no_such_call"], "action": "SCMP_ACT_TRACE"}]}"#;
        parse_profile(json, &X86_64, &mut profile).unwrap();
        assert_eq!(
            profile.default_action,
            SECCOMP_RET_ERRNO | 1,
            "EPERM, as runc"
        );
        assert_eq!(profile.rules[0].action, SECCOMP_RET_TRACE | 1);
        assert_eq!(
            profile.flags,
            SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
        assert_eq!((profile.calls(), profile.skipped), (1, 1));
    }

    /// An argument compared twice: the rule holds when either holds (runc
    /// adds each comparison as a rule of its own).
    #[test]
    fn an_argument_compared_twice_is_either() {
        let json = br#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#;
        for (_, arch) in ARCHES {
            check_profile(json, &arch).unwrap();
        }
        let mut profile = Box::new(Profile::new());
        parse_profile(json, &X86_64, &mut profile).unwrap();
        assert!(profile.rules[0].any);
        let mut program = Box::new(Program::new());
        compile(&mut profile, &X86_64, &mut program).unwrap();
        let nr = X86_64.table.number(b"personality").unwrap();
        for (arg, want) in [
            (8, SECCOMP_RET_ALLOW),
            (0, SECCOMP_RET_ALLOW),
            (1, SECCOMP_RET_ERRNO | 1),
        ] {
            assert_eq!(
                run(
                    program.instructions(),
                    X86_64.audit,
                    nr,
                    [arg, 0, 0, 0, 0, 0]
                )
                .0,
                want
            );
        }
    }

    /// A tree too wide for 8-bit jumps still works (a far jump over it).
    #[test]
    fn far_jumps() {
        let names: Vec<String> = X86_64
            .table
            .entries()
            .filter(|(_, nr)| nr % 2 == 0)
            .map(|(n, _)| format!("\"{n}\""))
            .collect();
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": [{}], "action": "SCMP_ACT_ALLOW"}}]}}"#,
            names.join(",")
        );
        let compiled = check_profile(json.as_bytes(), &X86_64).unwrap();
        assert!(compiled.instructions > 300, "{}", compiled.instructions);
    }

    // ---- property tests: fuzz/checks/seccomp.rs on pseudo-random profiles ----

    #[test]
    fn random_profiles_agree_with_their_rules() {
        let mut rng = crate::test_rng::Rng(0x5ecc_0b9f_0000_0001);
        let mut compiled = 0;
        for round in 0..300 {
            let bytes: Vec<u8> = (0..400).map(|_| rng.next() as u8).collect();
            let (_, arch) = ARCHES[round % 3];
            let json = profile_from_bytes(&bytes, &arch);
            if check_profile(json.as_bytes(), &arch).is_some() {
                compiled += 1;
            }
        }
        assert!(compiled > 250, "{compiled} of 300 compiled");
    }
}
