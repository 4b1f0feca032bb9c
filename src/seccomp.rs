//! The seccomp filter of `box run` and `box exec`: a short classic-BPF
//! program, written by box itself (no libseccomp), that refuses the
//! syscalls a container never needs, opens some of them to a container given
//! the capability they exist for (`--cap-add`), as Docker's default profile
//! does, answers ENOSYS for syscalls newer than box, and allows everything
//! else. `--seccomp unconfined` (or `seccomp unconfined` in a spec file) runs
//! without it. See seccomp(2) and the kernel's
//! Documentation/userspace-api/seccomp_filter.rst.
//!
//! It is a denylist, not Docker's allowlist: a container on a board runs
//! the programs its owner put there, and the dropped capabilities already
//! refuse most of what follows. The filter is the second wall, for the day a
//! capability check has a hole, and it closes what capabilities do not
//! guard at all (user namespaces, keyrings, io_uring, userfaultfd, bpf and
//! perf for unprivileged users). Where the owner grants a capability, the
//! filter steps aside for the syscalls that exist to use it: `--cap-add
//! sys_admin` alone makes `mount` work inside.
//!
//! The program depends on the container's capability set, so it is built
//! for each container ([`for_capabilities`], called by
//! src/container/plan.rs before clone) into a fixed-size [`Filter`], without
//! allocating, and installed last before execve (src/container/child.rs):
//! box's own setup needs mount, pivot_root and unshare, which it refuses.
//! seccomp(2) requires no_new_privs (or CAP_SYS_ADMIN), which the child sets
//! just before. The filter is inherited by every process of the container
//! and cannot be removed, only tightened by a further filter. `box exec`
//! builds it from the bounding set of the container's init (`CapBnd` in
//! its /proc/PID/status on the host's procfs), which is the container's
//! capability set, so a command run there is filtered exactly as the
//! container is.
//!
//! # The program
//! 1. `seccomp_data.arch` must be the architecture box was built for; any
//!    other ABI (i386 through `int 0x80` on x86_64, 32-bit arm on aarch64)
//!    has other syscall numbers, which the table does not describe, so the
//!    process is killed. Killed rather than refused: a program whose every
//!    syscall fails, `exit` included, would spin instead of ending.
//!    (SECCOMP_RET_KILL_PROCESS; kernels before 4.14 read it as
//!    SECCOMP_RET_KILL, which kills the thread.)
//! 2. A binary search (see `search`) over the sorted numbers and ranges of
//!    numbers that get an answer other than "allow":
//!    - each [`Call`] the capability set does not open: EPERM, the errno a
//!      missing capability gives, which programs handle;
//!    - clone3: ENOSYS, unless CAP_SYS_ADMIN. Its flags are behind a
//!      pointer seccomp cannot read; ENOSYS makes glibc and box-init fall
//!      back to clone, whose flags it can;
//!    - clone and unshare: a check of their flags (3.), unless
//!      CAP_SYS_ADMIN; personality: a check of its value (3.);
//!    - the numbers past box's table ("Newer than box"): ENOSYS, or kill
//!      where they belong to another ABI.
//! 3. clone and unshare with a namespace flag get EPERM; personality with
//!    anything but the Linux personalities gets EPERM.
//! 4. Everything else is allowed.
//!
//! With the default capabilities: 86 instructions on x86_64, 80 on aarch64,
//! 88 on arm; any syscall number is decided in at most 15 of them, 11 on
//! average (with every capability: 35, 31 and 39 instructions). The search
//! is for the kernel's sake more than the container's: when the filter is
//! installed, Linux 5.11+ runs it once for every syscall number, with
//! interrupts off, to find those it always allows, and from then on skips
//! it for them. Through a linear list that made seccomp(2) take about 87 µs
//! here; with the tree, 42 µs (on an idle machine; the ranges and the
//! capability rows did not change it measurably). Building the program for
//! a capability set takes about 5 µs (release build, here); for a set that
//! opens nothing, box's default set among them, box copies the program
//! built at compile time instead.
//!
//! # What a capability opens
//! One table, [`OPENED_BY`]: a syscall listed under a capability in the
//! container's set (box's default set, `--cap-add`, `--cap-drop`) is
//! allowed; one listed under two capabilities opens with either. The kernel
//! still makes its own check of the capability. Without it, each stays
//! refused with EPERM, for the reason given.
//!
//! | capability | opens | refused without it, because |
//! |---|---|---|
//! | `sys_admin` | `mount`, `umount2`, `pivot_root`, `fsopen`, `fsconfig`, `fsmount`, `fspick`, `move_mount`, `open_tree`, `open_tree_attr`, `mount_setattr` | the container's mounts are set up by box; the missing CAP_SYS_ADMIN refuses them too |
//! | `sys_admin` | `setns`; `unshare` and `clone` with `CLONE_NEW*` flags; `clone3` (ENOSYS without it) | new namespaces, above all a user namespace, where the container would get every capability back and reach kernel code that needs them |
//! | `sys_admin` | `quotactl`, `quotactl_fd` | filesystem quotas are host-wide |
//! | `sys_admin` | `swapon`, `swapoff` | swap is the board's, not the container's |
//! | `sys_admin` | `lookup_dcookie` | old profiling interface that reveals host paths (gone since Linux 6.8) |
//! | `sys_admin`, `bpf` | `bpf` | loads programs into the kernel; a rich source of kernel exploits |
//! | `sys_admin`, `perfmon` | `perf_event_open` | profiling of the whole machine; leaks kernel addresses, many CVEs |
//! | `sys_admin`, `syslog` | `syslog` | reads or clears the kernel log (syslog(2), not syslog(3)) |
//! | `sys_module` | `init_module`, `finit_module`, `delete_module` | load or unload kernel code |
//! | `sys_boot` | `reboot` | reboot or halt the board (a container stops through box) |
//! | `sys_time` | `settimeofday`, `clock_settime`, `clock_adjtime`, `adjtimex`; on arm also `clock_settime64`, `clock_adjtime64` | the wall clock is not namespaced |
//! | `sys_pacct` | `acct` | process accounting is host-wide |
//! | `sys_rawio` | `iopl`, `ioperm` (x86_64) | raw access to I/O ports |
//! | `dac_read_search` | `open_by_handle_at` | opens any file of a filesystem by handle, past the container's root (the "shocker" escape) |
//!
//! `sys_ptrace` opens nothing: `ptrace`, `process_vm_readv`,
//! `process_vm_writev`, `kcmp`, `pidfd_getfd` and `process_madvise` are
//! allowed to every container, as one family (debugging one's own
//! processes with strace or gdb; the kernel's ptrace access checks keep
//! them inside the container, and the seccomp bypass through ptrace was
//! fixed in Linux 4.8). With CAP_SYS_ADMIN, clone, unshare and clone3 are
//! allowed whole, flags and all.
//!
//! # Refused with every capability
//! | syscall | why |
//! |---|---|
//! | `kexec_load`, `kexec_file_load` | replace the running kernel. The kernel asks CAP_SYS_BOOT, but choosing the board's next kernel is more than rebooting it: a container allowed to reboot the board (a watchdog) must not pick what it boots |
//! | `keyctl`, `add_key`, `request_key` | kernel keyrings are not namespaced: a container could read or fill the host's |
//! | `userfaultfd` | page faults handled in user space: the usual tool to win kernel race exploits |
//! | `io_uring_setup`, `io_uring_enter`, `io_uring_register` | a second syscall interface that seccomp cannot see into, with a long list of kernel exploits |
//! | `nfsservctl` | the kernel NFS daemon interface (gone since Linux 3.1; kept for old kernels) |
//! | `_sysctl` (x86_64, arm) | writes kernel settings past the read-only /proc/sys (kernels before 5.5) |
//! | `uselib` (x86_64, arm) | the a.out library loader, unused for decades |
//! | `pciconfig_read`, `pciconfig_write` (arm) | the PCI configuration space of the board's devices. The kernel asks only CAP_SYS_ADMIN, which box does not take as a grant of raw hardware access |
//! | `personality` other than Linux, Linux32, UNAME26 or the query | turning off address randomisation or turning on READ_IMPLIES_EXEC weakens the container's own hardening; other personalities are barely tested kernel code |
//! | any other ABI; x32 (x86_64); numbers above ARM's private range (arm) | killed: their numbers are not this table's |
//!
//! Allowed on purpose, besides the ptrace family: `name_to_handle_at`
//! (harmless without `open_by_handle_at`, used to tell mount points apart);
//! `chroot` (its capability is in the default set); `mknod`, `mknodat`
//! (a FIFO or a socket node needs no capability, and mkfifo(3) is mknodat;
//! a device node needs CAP_MKNOD, which is not in the default set, and a
//! container given it with `--cap-add mknod` is held by its device cgroup
//! to the devices it may make: src/devices.rs, so the capability opens
//! nothing here); `seccomp` (a process may only add restrictions).
//!
//! # Newer than box
//! A denylist allows what it does not name, so every new kernel would widen
//! what a container may call. The filter answers ENOSYS, as a kernel
//! without the call does, for every number above the highest box knows
//! (`highest` in each table of src/seccomp/arch.rs: 469, `file_setattr`, on
//! all three architectures, as on Linux 6.18), and for the ranges each table keeps for calls still to
//! come: 337–423 on x86_64 (after `uprobe`, 336), 244–259 on aarch64
//! (asm-generic's `__NR_arch_specific_syscall`, unused there), and the
//! undefined private calls 0x0f0007–0x0f07ff on arm. A program probing for
//! a newer call falls back as on an older kernel. Raising `highest` means
//! placing each new call here first. On x86_64, numbers with the x32 bit
//! (0x40000000 and up) are killed; on arm, numbers above the private range
//! (0x0f0800 and up, the OABI base 0x900000 among them), which the kernel
//! answers with SIGILL, are killed. -1 is always let through: it is a
//! tracer's "skip this call", which the kernel answers itself with the
//! tracer's return value.
//!
//! Every syscall added since Linux 5.10, placed:
//!
//! | syscall | Linux | here |
//! |---|---|---|
//! | `process_madvise` | 5.10 | allowed: the ptrace family (another process also needs CAP_SYS_NICE) |
//! | `epoll_pwait2` | 5.11 | allowed |
//! | `mount_setattr` | 5.12 | `sys_admin` |
//! | `landlock_create_ruleset`, `landlock_add_rule`, `landlock_restrict_self` | 5.13 | allowed: a process can only restrict itself |
//! | `quotactl_fd` | 5.14 | `sys_admin` |
//! | `memfd_secret` | 5.14 (not arm) | allowed: the caller's own memory, kept out of the kernel's direct map |
//! | `process_mrelease` | 5.15 | allowed: frees the memory of a process already being killed, which the caller could signal |
//! | `futex_waitv` | 5.16 | allowed |
//! | `set_mempolicy_home_node` | 5.17 | allowed, as the other NUMA calls |
//! | `cachestat` | 6.5 | allowed: the page-cache state of a file the caller has open |
//! | `fchmodat2` | 6.6 | allowed |
//! | `map_shadow_stack` | 6.6 (x86_64; aarch64 from 6.13) | allowed: the caller's own shadow stack |
//! | `futex_wake`, `futex_wait`, `futex_requeue` | 6.7 | allowed |
//! | `statmount`, `listmount` | 6.8 | allowed: the mount table the container reads in /proc/self/mountinfo; another mount namespace needs CAP_SYS_ADMIN over it |
//! | `lsm_get_self_attr`, `lsm_set_self_attr`, `lsm_list_modules` | 6.8 | allowed: the caller's own LSM attributes, as in /proc/self/attr |
//! | `mseal` | 6.10 | allowed: seals the caller's own mappings |
//! | `uretprobe` | 6.11 (x86_64) | allowed: acts only from the trampoline the kernel maps for a uretprobe (SIGILL elsewhere); refusing it crashed traced programs, and from 6.14 the kernel runs no filter for it |
//! | `setxattrat`, `getxattrat`, `listxattrat`, `removexattrat` | 6.13 | allowed, as the other xattr calls |
//! | `open_tree_attr` | 6.15 | `sys_admin` |
//! | `file_getattr`, `file_setattr` | 6.17 | allowed: the FS_IOC_FSGETXATTR/FSSETXATTR ioctls as calls, with their checks |
//! | `uprobe` | 6.18 (x86_64) | allowed: as `uretprobe` (ENXIO outside its trampoline) |
//!
//! # Architectures
//! One table each, in src/seccomp/arch.rs: x86_64, aarch64 and 32-bit arm
//! (EABI, the armv7 board). All three are in every test build, so the unit
//! tests check them on any host. On arm: AUDIT_ARCH_ARM; the `*_time64`
//! calls a 32-bit musl makes for every clock, timer and futex (403–423) are
//! allowed like any call, but for the two that set the clock; sockets and
//! SysV IPC are direct calls (no socketcall or ipc multiplexer to look
//! into); ARM's private calls 0x0f0000–0x0f0006 (`cacheflush`, `set_tls`,
//! `breakpoint`, `get_tls`, `usr26`, `usr32`, branch through zero) act on
//! the caller only and are allowed; OABI cannot reach a filtered process,
//! since the kernel offers seccomp filters only when built without
//! OABI_COMPAT. PER_LINUX32 is allowed there as everywhere: on a 32-bit
//! kernel it changes nothing the container could use. On aarch64, 32-bit
//! arm programs carry AUDIT_ARCH_ARM and are killed by the architecture
//! check; a 64-bit board that runs them needs `--seccomp unconfined`.
//!
//! # Compared with Docker's default profile
//! Docker's profile is an allowlist: what it does not name gets EPERM, and
//! some entries open only when the container is given a capability. box
//! opens the same syscalls with the same capabilities (both follow the
//! capability the kernel checks), refuses by default what Docker refuses
//! by default among the calls above, answers clone3 with ENOSYS without
//! CAP_SYS_ADMIN, and allows `ptrace` and `process_vm_readv`/`writev` as
//! Docker does from Linux 4.8. Where they differ:
//!
//! - Opened by `sys_admin` in box, by no capability in Docker (its profile
//!   has no entry for them): `pivot_root`, `swapon`, `swapoff`,
//!   `open_tree_attr`. The kernel's own check for each is CAP_SYS_ADMIN,
//!   and a container given it can already mount over anything of its own.
//! - Docker refuses, box allows: `kcmp`, `pidfd_getfd`, `process_madvise`
//!   (Docker needs CAP_SYS_PTRACE for them while allowing `ptrace` itself;
//!   box treats the family as one); the NUMA calls `mbind`,
//!   `set_mempolicy`, `get_mempolicy`, `set_mempolicy_home_node`,
//!   `move_pages`, `migrate_pages` (Docker opens the first four with
//!   CAP_SYS_NICE and never the last two; moving another process's pages
//!   needs CAP_SYS_NICE from the kernel); `fanotify_init`, `vhangup`,
//!   `sethostname`, `setdomainname` (their capability checks stand);
//!   `unshare` with only non-namespace flags such as CLONE_FILES (Docker
//!   refuses every unshare without `sys_admin`); the obsolete `sysfs` and
//!   `ustat` (read-only); socket families (Docker refuses AF_VSOCK sockets;
//!   box looks at no argument but those of clone, unshare and personality);
//!   and the syscalls newer than Docker's profile but known to box.
//! - Box refuses, Docker allows: `adjtimex` and `clock_adjtime` without
//!   `sys_time` (with no mode bits they only read the clock state, but their
//!   argument is a pointer seccomp cannot read, so box refuses them whole:
//!   `adjtimex -p` or `ntp_gettime` inside fail with EPERM); i386 and x32
//!   programs on x86_64 and arm programs on aarch64, which Docker runs with
//!   tables of their own and box kills.
//! - Both refuse with every capability: kexec, `pciconfig_read` and
//!   `pciconfig_write` (Docker's profile has no entry for them), the
//!   keyrings, `userfaultfd`, io_uring (Docker since version 25),
//!   `nfsservctl`, `_sysctl`, `uselib`, and every number newer than the
//!   profile.

mod arch;

use core::mem::offset_of;

use linux_raw_sys::ptrace::{
    BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W,
    seccomp_data, sock_filter,
};
use rustix::io::Errno;
use rustix::thread::CapabilitySet;

pub use arch::Arch;
use arch::NATIVE;
use arch::What;

/// Most instructions a filter may have here (the kernel's own limit,
/// BPF_MAXINSNS, is 4096; box's have fewer than 100).
pub const MAX_INSTRUCTIONS: usize = 128;

/// What fills a program's slots past its end (its length says where that
/// is): all zero.
pub const UNUSED: sock_filter = sock_filter {
    code: 0,
    jt: 0,
    jf: 0,
    k: 0,
};

/// A seccomp program ready for seccomp(2).
#[derive(Clone)]
pub struct Filter {
    instructions: [sock_filter; MAX_INSTRUCTIONS],
    len: usize,
}

impl Filter {
    /// The instructions, for seccomp(2).
    pub fn program(&self) -> &[sock_filter] {
        &self.instructions[..self.len]
    }
}

/// The filter for a container whose capability set is `caps`, on the
/// architecture box was built for; `None` where box has no syscall table
/// for it (the caller refuses to run without being told `--seccomp
/// unconfined`). Built on the stack, without allocating, in a few
/// microseconds; for a set that opens nothing (box's default set), copied
/// from the program built at compile time.
pub fn for_capabilities(caps: CapabilitySet) -> Option<Filter> {
    if !caps.intersects(OPENING) {
        return CLOSED.clone();
    }
    NATIVE.map(|arch| build(arch, caps))
}

/// Every capability that opens some syscall.
const OPENING: CapabilitySet = {
    let mut all = CapabilitySet::empty();
    let mut row = 0;
    while row < OPENED_BY.len() {
        all = all.union(OPENED_BY[row].0);
        row += 1;
    }
    all
};

/// The program for a capability set that opens nothing.
static CLOSED: Option<Filter> = match NATIVE {
    Some(arch) => Some(build(arch, CapabilitySet::empty())),
    None => None,
};

/// Install `filter` on the calling thread (the container child, which has
/// no other): seccomp(SECCOMP_SET_MODE_FILTER). The caller has set
/// no_new_privs. Raw syscall, no allocation: safe between clone and execve.
pub fn install(filter: &Filter) -> Result<(), Errno> {
    crate::sys::seccomp::set_filter(filter.program())
}

/// Declares [`Call`] and [`ALL_CALLS`] from one list, so that the table
/// of every call cannot miss one or disagree with the declaration order.
macro_rules! calls {
    ($(#[$meta:meta])* pub enum $name:ident { $($call:ident,)* }) => {
        $(#[$meta])*
        pub enum $name {
            $($call,)*
        }

        /// Every [`Call`], in declaration order.
        pub const ALL_CALLS: [$name; CALLS] = [$($name::$call,)*];
    };
}

calls! {
    /// The syscalls the filter answers other than "allow" for some capability
    /// set, named apart from any architecture: each [`Arch`] gives their
    /// numbers (or none, where it lacks one).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Call {
        // Refused with every capability (the module documentation says why).
        KexecLoad,
        KexecFileLoad,
        Keyctl,
        AddKey,
        RequestKey,
        Userfaultfd,
        IoUringSetup,
        IoUringEnter,
        IoUringRegister,
        Nfsservctl,
        Sysctl,
        Uselib,
        PciconfigRead,
        PciconfigWrite,
        // Opened by a capability (OPENED_BY).
        InitModule,
        FinitModule,
        DeleteModule,
        Reboot,
        Acct,
        Iopl,
        Ioperm,
        Settimeofday,
        ClockSettime,
        ClockSettime64,
        ClockAdjtime,
        ClockAdjtime64,
        Adjtimex,
        Syslog,
        OpenByHandleAt,
        Mount,
        Umount2,
        PivotRoot,
        Fsopen,
        Fsconfig,
        Fsmount,
        Fspick,
        MoveMount,
        OpenTree,
        OpenTreeAttr,
        MountSetattr,
        Setns,
        Quotactl,
        QuotactlFd,
        LookupDcookie,
        Swapon,
        Swapoff,
        Bpf,
        PerfEventOpen,
        // Arguments looked at (and, but for personality, opened by sys_admin).
        Clone,
        Clone3,
        Unshare,
        Personality,
    }
}

/// How many [`Call`]s there are.
pub const CALLS: usize = Call::Personality as usize + 1;

/// What each capability opens: the syscalls that exist to use it
/// (capabilities(7)), as Docker's default profile has them, with the
/// differences the module documentation lists. A [`Call`] that no row
/// names is refused with every capability (personality's value is checked
/// whatever the capabilities).
pub const OPENED_BY: &[(CapabilitySet, &[Call])] = {
    use Call::*;
    &[
        (
            CapabilitySet::SYS_ADMIN,
            &[
                Mount,
                Umount2,
                PivotRoot,
                Fsopen,
                Fsconfig,
                Fsmount,
                Fspick,
                MoveMount,
                OpenTree,
                OpenTreeAttr,
                MountSetattr,
                Setns,
                Unshare,
                Clone,
                Clone3,
                Quotactl,
                QuotactlFd,
                Swapon,
                Swapoff,
                LookupDcookie,
                Bpf,
                PerfEventOpen,
                Syslog,
            ],
        ),
        (CapabilitySet::BPF, &[Bpf]),
        (CapabilitySet::PERFMON, &[PerfEventOpen]),
        (CapabilitySet::SYSLOG, &[Syslog]),
        (
            CapabilitySet::SYS_MODULE,
            &[InitModule, FinitModule, DeleteModule],
        ),
        (CapabilitySet::SYS_BOOT, &[Reboot]),
        (
            CapabilitySet::SYS_TIME,
            &[
                Settimeofday,
                ClockSettime,
                ClockSettime64,
                ClockAdjtime,
                ClockAdjtime64,
                Adjtimex,
            ],
        ),
        (CapabilitySet::SYS_PACCT, &[Acct]),
        (CapabilitySet::SYS_RAWIO, &[Iopl, Ioperm]),
        (CapabilitySet::DAC_READ_SEARCH, &[OpenByHandleAt]),
    ]
};

/// For each [`Call`] (by `Call as usize`), the capabilities that open it:
/// [`OPENED_BY`] turned around at compile time.
const OPENERS: [CapabilitySet; CALLS] = {
    let mut openers = [CapabilitySet::empty(); CALLS];
    let mut row = 0;
    while row < OPENED_BY.len() {
        let (cap, calls) = OPENED_BY[row];
        let mut i = 0;
        while i < calls.len() {
            let c = calls[i] as usize;
            openers[c] = openers[c].union(cap);
            i += 1;
        }
        row += 1;
    }
    openers
};

/// Whether a capability of `caps` opens `call`.
pub const fn opened(call: Call, caps: CapabilitySet) -> bool {
    caps.intersects(OPENERS[call as usize])
}

/// Where the filter sends `call` for a container with `caps`, `None` for
/// "allow".
const fn answer(call: Call, caps: CapabilitySet) -> Option<To> {
    if opened(call, caps) {
        return None;
    }
    Some(match call {
        Call::Clone => To::Label(CLONE),
        Call::Unshare => To::Label(UNSHARE),
        Call::Personality => To::Label(PERSONALITY),
        // Its flags cannot be inspected: send callers to clone.
        Call::Clone3 => To::NoSys,
        _ => To::Deny,
    })
}

/// The namespace flags of clone(2) (CLONE_NEWTIME shares its bit with the
/// exit signal there: only clone3 and unshare take it).
const CLONE_NAMESPACES: u32 = linux_raw_sys::general::CLONE_NEWNS
    | linux_raw_sys::general::CLONE_NEWUTS
    | linux_raw_sys::general::CLONE_NEWIPC
    | linux_raw_sys::general::CLONE_NEWUSER
    | linux_raw_sys::general::CLONE_NEWPID
    | linux_raw_sys::general::CLONE_NEWNET
    | linux_raw_sys::general::CLONE_NEWCGROUP;

/// The namespace flags of unshare(2).
const UNSHARE_NAMESPACES: u32 = CLONE_NAMESPACES | linux_raw_sys::general::CLONE_NEWTIME;

/// personality(2) values a container may set (<linux/personality.h>): plain
/// Linux, Linux32 (`linux32`, `setarch i686`), UNAME26 (old programs that
/// want a 2.6 version) and their mix, and 0xffffffff, which only asks.
const PERSONALITIES: &[u32] = &[
    0x0000_0000,
    0x0000_0008,
    0x0002_0000,
    0x0002_0008,
    0xffff_ffff,
];

// Offsets into struct seccomp_data, the same on every architecture. The
// argument is a u64; its low 32 bits (all that clone's namespace flags and
// personality's value need) come first on a little-endian machine, which
// all three of box's architectures are.
const OFFSET_NR: u32 = offset_of!(seccomp_data, nr) as u32;
const OFFSET_ARCH: u32 = offset_of!(seccomp_data, arch) as u32;
const OFFSET_ARG0_LOW: u32 =
    offset_of!(seccomp_data, args) as u32 + if cfg!(target_endian = "big") { 4 } else { 0 };

/// Where a conditional jump goes, before the final offsets are known.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum To {
    /// The next instruction.
    Next,
    /// Over this many instructions.
    Over(u8),
    Allow,
    Deny,
    NoSys,
    Kill,
    /// The start of the block [`Builder::place`] marked with this number.
    Label(u8),
}

#[derive(Clone, Copy)]
struct Step {
    code: u32,
    k: u32,
    jt: To,
    jf: To,
}

/// A program under construction: the steps, then four shared returns
/// (allow, EPERM, ENOSYS, kill) that the jumps name symbolically.
struct Builder {
    steps: [Step; MAX_INSTRUCTIONS],
    len: usize,
    /// Where each label's block starts.
    labels: [usize; LABELS],
}

const RETURNS: usize = 4;
const LABELS: usize = 3;

impl Builder {
    const fn new() -> Self {
        let none = Step {
            code: 0,
            k: 0,
            jt: To::Next,
            jf: To::Next,
        };
        Self {
            steps: [none; MAX_INSTRUCTIONS],
            len: 0,
            labels: [usize::MAX; LABELS],
        }
    }

    /// Mark the next instruction as the start of block `label`.
    const fn place(&mut self, label: u8) {
        self.labels[label as usize] = self.len;
    }

    const fn push(&mut self, code: u32, k: u32, jt: To, jf: To) {
        assert!(
            self.len + RETURNS < MAX_INSTRUCTIONS,
            "seccomp: filter too long"
        );
        self.steps[self.len] = Step { code, k, jt, jf };
        self.len += 1;
    }

    /// Load the 32-bit word at `offset` of seccomp_data.
    const fn load(&mut self, offset: u32) {
        self.push(BPF_LD | BPF_W | BPF_ABS, offset, To::Next, To::Next);
    }

    /// Jump on `accumulator OP k` (JEQ, JGT, JGE or JSET).
    const fn jump(&mut self, op: u32, k: u32, jt: To, jf: To) {
        self.push(BPF_JMP | op | BPF_K, k, jt, jf);
    }

    /// Resolve the jumps and append the returns.
    const fn finish(self) -> Filter {
        let allow = self.len;
        let mut out = Filter {
            instructions: [UNUSED; MAX_INSTRUCTIONS],
            len: self.len + RETURNS,
        };
        let mut i = 0;
        while i < self.len {
            let step = self.steps[i];
            out.instructions[i] = sock_filter {
                code: step.code as u16,
                jt: offset(i, step.jt, allow, &self.labels),
                jf: offset(i, step.jf, allow, &self.labels),
                k: step.k,
            };
            i += 1;
        }
        let ret = (BPF_RET | BPF_K) as u16;
        let returns = [
            linux_raw_sys::ptrace::SECCOMP_RET_ALLOW,
            linux_raw_sys::ptrace::SECCOMP_RET_ERRNO | Errno::PERM.raw_os_error() as u32,
            linux_raw_sys::ptrace::SECCOMP_RET_ERRNO | Errno::NOSYS.raw_os_error() as u32,
            linux_raw_sys::ptrace::SECCOMP_RET_KILL_PROCESS,
        ];
        let mut r = 0;
        while r < RETURNS {
            out.instructions[allow + r] = sock_filter {
                code: ret,
                jt: 0,
                jf: 0,
                k: returns[r],
            };
            r += 1;
        }
        out
    }
}

/// The jump offset from instruction `at` to `to` (BPF jumps count from the
/// next instruction and only go forward, at most 255).
const fn offset(at: usize, to: To, allow: usize, labels: &[usize; LABELS]) -> u8 {
    let target = match to {
        To::Next => return 0,
        To::Over(n) => return n,
        To::Label(l) => labels[l as usize],
        To::Allow => allow,
        To::Deny => allow + 1,
        To::NoSys => allow + 2,
        To::Kill => allow + 3,
    };
    assert!(
        target > at,
        "seccomp: jump backwards or to an unplaced label"
    );
    let distance = target - at - 1;
    assert!(distance <= u8::MAX as usize, "seccomp: jump too far");
    distance as u8
}

/// The program for `arch` and a container with capabilities `caps` (see
/// the module documentation for its shape). A const fn: the tests build
/// every architecture's program on any host.
pub const fn build(arch: &Arch, caps: CapabilitySet) -> Filter {
    let mut b = Builder::new();

    // Another ABI means another syscall table: kill.
    b.load(OFFSET_ARCH);
    b.jump(BPF_JEQ, arch.audit, To::Next, To::Kill);
    b.load(OFFSET_NR);

    // The numbers with an answer other than "allow", sorted, searched as a
    // binary tree: see `search`.
    let (keys, n) = keys(arch, caps);
    search(&mut b, &keys, 0, n);

    // clone and unshare: refused with any namespace flag. Each block ends
    // in a return, since the accumulator no longer holds the number.
    if !opened(Call::Clone, caps) {
        b.place(CLONE);
        b.load(OFFSET_ARG0_LOW);
        b.jump(BPF_JSET, CLONE_NAMESPACES, To::Deny, To::Allow);
    }
    if !opened(Call::Unshare, caps) {
        b.place(UNSHARE);
        b.load(OFFSET_ARG0_LOW);
        b.jump(BPF_JSET, UNSHARE_NAMESPACES, To::Deny, To::Allow);
    }

    // personality: only the values in PERSONALITIES.
    b.place(PERSONALITY);
    b.load(OFFSET_ARG0_LOW);
    let mut p = 0;
    while p < PERSONALITIES.len() {
        let last = p + 1 == PERSONALITIES.len();
        let otherwise = if last { To::Deny } else { To::Next };
        b.jump(BPF_JEQ, PERSONALITIES[p], To::Allow, otherwise);
        p += 1;
    }

    b.finish()
}

/// The blocks that look at the first argument.
const CLONE: u8 = 0;
const UNSHARE: u8 = 1;
const PERSONALITY: u8 = 2;

/// The numbers `first..=last` and where the filter sends them.
#[derive(Clone, Copy)]
struct Key {
    first: u32,
    last: u32,
    to: To,
}

/// Most keys: every entry of a table.
const MAX_KEYS: usize = CALLS + 8;

/// The numbers of `arch` that `caps` leaves with an answer other than
/// "allow", and its unknown ranges, in the table's (sorted) order; and how
/// many there are.
const fn keys(arch: &Arch, caps: CapabilitySet) -> ([Key; MAX_KEYS], usize) {
    let mut keys = [Key {
        first: 0,
        last: 0,
        to: To::Allow,
    }; MAX_KEYS];
    let mut n = 0;
    let sorted = arch.sorted();
    let mut i = 0;
    while i < sorted.len() {
        let entry = sorted[i];
        let to = match entry.what {
            What::Call(call) => answer(call, caps),
            What::Unknown(to) => Some(to),
        };
        if let Some(to) = to {
            keys[n] = Key {
                first: entry.first,
                last: entry.last,
                to,
            };
            n += 1;
        }
        i += 1;
    }
    (keys, n)
}

/// Most keys compared one by one at the bottom of the tree.
const LEAF: usize = 4;

/// Emit a binary search over the sorted `keys[lo..hi]`: halve on JGE until
/// at most [`LEAF`] keys are left, then compare with each; a number that
/// matches none is allowed.
///
/// The shape is for the kernel, which runs the filter once per syscall
/// number when it is installed (seccomp_cache_prepare, Linux 5.11+) and
/// afterwards skips it for every number that it always allows; kernels
/// without that cache run it on every syscall. Leaves of 4 keys: 2 made
/// the program longer for no gain at install, 16 made it slower.
const fn search(b: &mut Builder, keys: &[Key], lo: usize, hi: usize) {
    if hi - lo <= LEAF {
        let mut i = lo;
        while i < hi {
            let key = keys[i];
            let otherwise = if i + 1 == hi { To::Allow } else { To::Next };
            if key.first == key.last {
                b.jump(BPF_JEQ, key.first, key.to, otherwise);
            } else {
                // Below `first` the number is below every key left in this
                // leaf too: allowed.
                b.jump(BPF_JGE, key.first, To::Next, To::Allow);
                b.jump(BPF_JGT, key.last, otherwise, key.to);
            }
            i += 1;
        }
    } else {
        // The jump over the left half is set once that half is emitted.
        let mid = lo + (hi - lo) / 2;
        let split = b.len;
        b.jump(BPF_JGE, keys[mid].first, To::Over(0), To::Next);
        search(b, keys, lo, mid);
        let left = b.len - split - 1;
        assert!(left <= u8::MAX as usize, "seccomp: tree too deep");
        b.steps[split].jt = To::Over(left as u8);
        search(b, keys, mid, hi);
    }
}

#[cfg(test)]
mod tests {
    use super::arch::{AARCH64, ARM, ARM_PRIVATE_END, ARM_PRIVATE_FIRST, ARM_PRIVATE_LAST, X86_64};
    use super::*;
    use linux_raw_sys::ptrace::{
        AUDIT_ARCH_I386, BPF_JA, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS,
    };

    const EPERM: u32 = SECCOMP_RET_ERRNO | 1;
    const ENOSYS: u32 = SECCOMP_RET_ERRNO | 38;
    const ALLOW: u32 = SECCOMP_RET_ALLOW;
    const KILL: u32 = SECCOMP_RET_KILL_PROCESS;

    const ARCHES: [&Arch; 3] = [&X86_64, &AARCH64, &ARM];

    /// box's default capability set.
    const DEFAULT: CapabilitySet = crate::sys::caps::DEFAULT;

    // Namespace and thread flags, the same on the three architectures.
    const SIGCHLD: u64 = 17;
    const CLONE_NEWUSER: u64 = linux_raw_sys::general::CLONE_NEWUSER as u64;

    /// A classic-BPF interpreter for what the builder emits: run `program`
    /// on one syscall and return the action. Panics on anything else, on a
    /// jump out of the program and on falling off its end, as the kernel's
    /// checker would refuse those.
    fn run(program: &[sock_filter], arch: u32, nr: u32, arg0: u64) -> u32 {
        run_counted(program, arch, nr, arg0).0
    }

    /// [`run`], and how many instructions it took.
    fn run_counted(program: &[sock_filter], arch: u32, nr: u32, arg0: u64) -> (u32, usize) {
        let mut data = [0u8; core::mem::size_of::<seccomp_data>()];
        data[OFFSET_NR as usize..][..4].copy_from_slice(&nr.to_le_bytes());
        data[OFFSET_ARCH as usize..][..4].copy_from_slice(&arch.to_le_bytes());
        let args = offset_of!(seccomp_data, args);
        data[args..][..8].copy_from_slice(&arg0.to_le_bytes());
        let mut accumulator = 0u32;
        let mut pc = 0;
        let mut steps = 0;
        loop {
            let insn = program[pc];
            steps += 1;
            let code = u32::from(insn.code);
            pc += 1;
            if code == BPF_LD | BPF_W | BPF_ABS {
                let at = insn.k as usize;
                assert!(at % 4 == 0 && at + 4 <= data.len(), "load at {at}");
                accumulator = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
            } else if code == BPF_RET | BPF_K {
                return (insn.k, steps);
            } else if code == BPF_JMP | BPF_JA {
                pc += insn.k as usize;
            } else {
                let taken = match code {
                    c if c == BPF_JMP | BPF_JEQ | BPF_K => accumulator == insn.k,
                    c if c == BPF_JMP | BPF_JGT | BPF_K => accumulator > insn.k,
                    c if c == BPF_JMP | BPF_JGE | BPF_K => accumulator >= insn.k,
                    c if c == BPF_JMP | BPF_JSET | BPF_K => accumulator & insn.k != 0,
                    other => panic!("unexpected instruction {other:#x} at {}", pc - 1),
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            assert!(pc < program.len(), "jumped out of the program");
        }
    }

    /// The answer of `arch`'s filter for `caps` to syscall `nr`.
    fn action(arch: &Arch, caps: CapabilitySet, nr: u32, arg0: u64) -> u32 {
        run(build(arch, caps).program(), arch.audit, nr, arg0)
    }

    fn name(arch: &Arch) -> &'static str {
        match arch.audit {
            a if a == X86_64.audit => "x86_64",
            a if a == AARCH64.audit => "aarch64",
            a if a == ARM.audit => "arm",
            _ => unreachable!(),
        }
    }

    fn nr(arch: &Arch, call: Call) -> u32 {
        arch.number(call)
            .unwrap_or_else(|| panic!("{}: no {call:?}", name(arch)))
    }

    /// Capability sets worth checking: none, the default, each capability
    /// of the table alone and with the default, and all.
    fn capability_sets() -> Vec<CapabilitySet> {
        let mut sets = vec![CapabilitySet::empty(), DEFAULT, crate::sys::caps::all()];
        for (cap, _) in OPENED_BY {
            sets.push(*cap);
            sets.push(DEFAULT | *cap);
        }
        sets
    }

    #[test]
    fn programs_are_small_and_valid() {
        for arch in ARCHES {
            for caps in capability_sets() {
                let filter = build(arch, caps);
                let program = filter.program();
                assert!(program.len() <= 100, "{}: {}", name(arch), program.len());
                // Every jump lands inside the program, forward.
                for (i, insn) in program.iter().enumerate() {
                    if u32::from(insn.code) & 0x07 == BPF_JMP {
                        assert!(i + 1 + usize::from(insn.jt.max(insn.jf)) < program.len());
                    }
                }
                let last = program[program.len() - 1];
                assert_eq!(u32::from(last.code), BPF_RET | BPF_K);
            }
        }
    }

    /// What the module documentation states of the default programs.
    #[test]
    fn default_program_sizes() {
        let sizes: Vec<_> = ARCHES
            .iter()
            .map(|arch| (name(arch), build(arch, DEFAULT).program().len()))
            .collect();
        assert_eq!(
            sizes,
            [("x86_64", 86), ("aarch64", 80), ("arm", 88)],
            "update the module documentation"
        );
    }

    /// Numbers worth trying on every architecture: the whole table and
    /// past it, the edges of every range, the x32 and OABI numbers.
    fn numbers(arch: &Arch) -> Vec<u32> {
        let mut numbers: Vec<u32> = (0..1100).collect();
        for span in arch.table.unknown {
            numbers.extend([span.first - 1, span.first, span.last, span.last + 1]);
        }
        numbers.extend((ARM_PRIVATE_FIRST - 2..=ARM_PRIVATE_END + 2).step_by(1));
        numbers.extend([
            0x3fff_ffff,
            0x4000_0000,
            0x4000_0027,
            0x0090_0000,
            0x0090_0014,
            0x7fff_ffff,
            0xffff_fffe,
            u32::MAX,
        ]);
        numbers
    }

    /// The kernel runs the filter for every syscall number when it is
    /// installed: each run must be short (see `search`).
    #[test]
    fn every_number_is_decided_in_a_few_steps() {
        for arch in ARCHES {
            for caps in capability_sets() {
                let filter = build(arch, caps);
                let mut most = 0;
                let mut total = 0;
                for nr in 0..=arch.table.highest {
                    let (_, steps) = run_counted(filter.program(), arch.audit, nr, 0);
                    most = most.max(steps);
                    total += steps;
                }
                for nr in numbers(arch) {
                    let (_, steps) = run_counted(filter.program(), arch.audit, nr, 0);
                    most = most.max(steps);
                }
                assert!(most <= 16, "{}: {most} instructions", name(arch));
                let average = total / (arch.table.highest as usize + 1);
                assert!(average <= 12, "{}: {average} on average", name(arch));
            }
        }
    }

    /// What the default filter answers, computed from the tables the plain
    /// way, for every number tried.
    #[test]
    fn default_answers() {
        for arch in ARCHES {
            let filter = build(arch, DEFAULT);
            for nr in numbers(arch) {
                let call = ALL_CALLS.iter().find(|&&c| arch.number(c) == Some(nr));
                let unknown = arch
                    .table
                    .unknown
                    .iter()
                    .find(|s| (s.first..=s.last).contains(&nr));
                let expected = match (call, unknown) {
                    (Some(_), Some(_)) => panic!("{}: {nr} is known and unknown", name(arch)),
                    (Some(Call::Clone3), None) => ENOSYS,
                    // Checked further with their argument; 0 is harmless.
                    (Some(Call::Clone | Call::Unshare | Call::Personality), None) => ALLOW,
                    (Some(_), None) => EPERM,
                    (None, Some(span)) if span.to == To::NoSys => ENOSYS,
                    (None, Some(span)) if span.to == To::Kill => KILL,
                    (None, Some(span)) => panic!("{:?}", span.to),
                    (None, None) => ALLOW,
                };
                let got = run(filter.program(), arch.audit, nr, 0);
                assert_eq!(got, expected, "{}: syscall {nr:#x}", name(arch));
            }
            for call in [Call::Mount, Call::Keyctl, Call::Bpf] {
                assert_eq!(action(arch, DEFAULT, nr(arch, call), u64::MAX), EPERM);
            }
        }
    }

    #[test]
    fn the_tables_are_complete() {
        let absent = |arch: &Arch| -> Vec<Call> {
            ALL_CALLS
                .iter()
                .copied()
                .filter(|&c| arch.number(c).is_none())
                .collect()
        };
        use Call::*;
        assert_eq!(
            absent(&X86_64),
            [
                PciconfigRead,
                PciconfigWrite,
                ClockSettime64,
                ClockAdjtime64
            ]
        );
        assert_eq!(
            absent(&AARCH64),
            [
                Sysctl,
                Uselib,
                PciconfigRead,
                PciconfigWrite,
                Iopl,
                Ioperm,
                ClockSettime64,
                ClockAdjtime64
            ]
        );
        assert_eq!(absent(&ARM), [Iopl, Ioperm]);
        for arch in ARCHES {
            // Past the highest number everything is in a range, but -1.
            let mut next = arch.table.highest + 1;
            for span in arch
                .table
                .unknown
                .iter()
                .filter(|s| s.first > arch.table.highest)
            {
                if arch.audit == ARM.audit && span.first == ARM_PRIVATE_LAST + 1 {
                    assert_eq!(next, ARM_PRIVATE_FIRST);
                } else {
                    assert_eq!(span.first, next, "{}", name(arch));
                }
                next = span.last.wrapping_add(1);
            }
            assert_eq!(next, u32::MAX, "{}", name(arch));
            for call in ALL_CALLS {
                if let Some(n) = arch.number(call) {
                    assert!(n <= arch.table.highest, "{}: {call:?}", name(arch));
                }
            }
        }
    }

    #[test]
    fn newer_than_box_gets_enosys() {
        for arch in ARCHES {
            for caps in capability_sets() {
                for nr in [
                    arch.table.highest + 1,
                    arch.table.highest + 2,
                    1000,
                    0x000e_ffff,
                ] {
                    assert_eq!(action(arch, caps, nr, 0), ENOSYS, "{}: {nr}", name(arch));
                }
                // -1, "no syscall", reaches the kernel (which says ENOSYS,
                // or what a tracer that skipped the call put there).
                assert_eq!(action(arch, caps, u32::MAX, 0), ALLOW, "{}", name(arch));
            }
        }
        // The room each table keeps for calls of its own architecture.
        for nr in [337, 380, 423] {
            assert_eq!(action(&X86_64, DEFAULT, nr, 0), ENOSYS, "{nr}");
        }
        for nr in [335, 336] {
            // uretprobe, uprobe.
            assert_eq!(action(&X86_64, DEFAULT, nr, 0), ALLOW, "{nr}");
        }
        for nr in 244..=259 {
            assert_eq!(action(&AARCH64, DEFAULT, nr, 0), ENOSYS, "{nr}");
        }
        for nr in [ARM_PRIVATE_LAST + 1, 0x000f_0100, ARM_PRIVATE_END] {
            assert_eq!(action(&ARM, DEFAULT, nr, 0), ENOSYS, "{nr:#x}");
        }
    }

    #[test]
    fn other_abis_are_killed() {
        for arch in ARCHES {
            let foreign = ARCHES
                .iter()
                .map(|a| a.audit)
                .chain([AUDIT_ARCH_I386, 0])
                .filter(|&audit| audit != arch.audit);
            for audit in foreign {
                for nr in [0, 1, 20, 39, 172, nr(arch, Call::InitModule), u32::MAX] {
                    let got = run(build(arch, DEFAULT).program(), audit, nr, 0);
                    assert_eq!(got, KILL, "{}: arch {audit:#x}, syscall {nr}", name(arch));
                }
            }
        }
        // x32: bit 30 on x86_64's own audit architecture.
        for nr in [39, 175, 512, 0] {
            let x32 = linux_raw_sys::general::__X32_SYSCALL_BIT | nr;
            assert_eq!(action(&X86_64, DEFAULT, x32, 0), KILL, "{nr}");
        }
        // Above ARM's private range: OABI numbers, garbage in r7.
        for nr in [ARM_PRIVATE_END + 1, 0x0090_0000, 0x0090_0014, 0xffff_fffe] {
            assert_eq!(action(&ARM, DEFAULT, nr, 0), KILL, "{nr:#x}");
        }
    }

    #[test]
    fn arm_private_calls_are_allowed() {
        // breakpoint, cacheflush, usr26, usr32, set_tls, get_tls.
        for nr in ARM_PRIVATE_FIRST..=ARM_PRIVATE_LAST {
            assert_eq!(action(&ARM, DEFAULT, nr, 0), ALLOW, "{nr:#x}");
        }
    }

    /// The numbers (arm EABI, linux-raw-sys's `general` for arm) of every
    /// `*_time64` call and of what musl's static start-up and exit, and
    /// box's own start, make on arm: all must stay allowed.
    #[test]
    fn arm_time64_and_musl_start_are_allowed() {
        let time64 = [
            ("clock_gettime64", 403),
            ("clock_getres_time64", 406),
            ("clock_nanosleep_time64", 407),
            ("timer_gettime64", 408),
            ("timer_settime64", 409),
            ("timerfd_gettime64", 410),
            ("timerfd_settime64", 411),
            ("utimensat_time64", 412),
            ("pselect6_time64", 413),
            ("ppoll_time64", 414),
            ("io_pgetevents_time64", 416),
            ("recvmmsg_time64", 417),
            ("mq_timedsend_time64", 418),
            ("mq_timedreceive_time64", 419),
            ("semtimedop_time64", 420),
            ("rt_sigtimedwait_time64", 421),
            ("futex_time64", 422),
            ("sched_rr_get_interval_time64", 423),
        ];
        let musl = [
            // __init_libc: the thread pointer, the tid address, a larger
            // TLS block, the check of fds 0-2 for a setuid program.
            ("set_tls", 0x000f_0005),
            ("set_tid_address", 256),
            ("mmap2", 192),
            ("poll", 168),
            ("open", 5),
            // stdio, exit.
            ("ioctl", 54),
            ("writev", 146),
            ("write", 4),
            ("readv", 145),
            ("read", 3),
            ("_llseek", 140),
            ("close", 6),
            ("exit_group", 248),
            ("exit", 1),
            // malloc, signals, threads, what Rust's start adds.
            ("brk", 45),
            ("munmap", 91),
            ("mprotect", 125),
            ("madvise", 220),
            ("mremap", 163),
            ("rt_sigaction", 174),
            ("rt_sigprocmask", 175),
            ("rt_sigreturn", 173),
            ("sigreturn", 119),
            ("sigaltstack", 186),
            ("gettid", 224),
            ("getpid", 20),
            ("tkill", 238),
            ("tgkill", 268),
            ("futex", 240),
            ("membarrier", 389),
            ("getrandom", 384),
            ("openat", 322),
            ("statx", 397),
            ("fstat64", 197),
            ("fstatat64", 327),
            ("fcntl64", 221),
            ("getdents64", 217),
            ("execve", 11),
            ("wait4", 114),
            ("cacheflush", 0x000f_0002),
            ("get_tls", 0x000f_0006),
        ];
        for caps in capability_sets() {
            for (name, nr) in time64.iter().chain(&musl) {
                assert_eq!(action(&ARM, caps, *nr, 0), ALLOW, "{name}");
            }
        }
        // The two that set the clock are sys_time's.
        for call in [Call::ClockSettime64, Call::ClockAdjtime64] {
            let nr = nr(&ARM, call);
            assert_eq!(action(&ARM, DEFAULT, nr, 0), EPERM, "{call:?}");
            assert_eq!(
                action(&ARM, DEFAULT | CapabilitySet::SYS_TIME, nr, 0),
                ALLOW,
                "{call:?}"
            );
        }
    }

    #[test]
    fn each_capability_opens_its_calls_and_no_other() {
        for arch in ARCHES {
            for &(cap, calls) in OPENED_BY {
                let caps = DEFAULT | cap;
                for call in ALL_CALLS {
                    let Some(n) = arch.number(call) else { continue };
                    let got = action(arch, caps, n, 0);
                    let expected = if opened(call, caps) {
                        ALLOW
                    } else {
                        match call {
                            Call::Clone3 => ENOSYS,
                            Call::Clone | Call::Unshare | Call::Personality => ALLOW,
                            _ => EPERM,
                        }
                    };
                    assert_eq!(got, expected, "{}: {cap:?}, {call:?}", name(arch));
                    // What the row lists opens with the row's capability.
                    if calls.contains(&call) {
                        assert_eq!(got, ALLOW, "{}: {cap:?}, {call:?}", name(arch));
                    }
                }
            }
        }
    }

    #[test]
    fn sys_admin_opens_mount_and_namespaces_only() {
        let admin = DEFAULT | CapabilitySet::SYS_ADMIN;
        for arch in ARCHES {
            let allowed = |call, arg0| action(arch, admin, nr(arch, call), arg0) == ALLOW;
            for call in [
                Call::Mount,
                Call::Umount2,
                Call::PivotRoot,
                Call::Fsopen,
                Call::MoveMount,
                Call::OpenTree,
                Call::Setns,
                Call::Clone3,
            ] {
                assert!(allowed(call, 0), "{}: {call:?}", name(arch));
            }
            assert!(allowed(Call::Unshare, CLONE_NEWUSER));
            assert!(allowed(Call::Clone, CLONE_NEWUSER | SIGCHLD));
            // Without it, the same calls are refused.
            assert_eq!(action(arch, DEFAULT, nr(arch, Call::Mount), 0), EPERM);
            let unshare = nr(arch, Call::Unshare);
            assert_eq!(action(arch, DEFAULT, unshare, CLONE_NEWUSER), EPERM);
            // What sys_admin does not open stays refused.
            for call in [
                Call::InitModule,
                Call::Reboot,
                Call::KexecLoad,
                Call::Keyctl,
                Call::Userfaultfd,
                Call::IoUringSetup,
                Call::ClockSettime,
                Call::OpenByHandleAt,
                Call::Acct,
            ] {
                assert_eq!(action(arch, admin, nr(arch, call), 0), EPERM, "{call:?}");
            }
            let personality = nr(arch, Call::Personality);
            assert_eq!(action(arch, admin, personality, 0x0040000), EPERM);
        }
    }

    #[test]
    fn no_capability_opens_the_always_refused() {
        let all = crate::sys::caps::all();
        for arch in ARCHES {
            for call in [
                Call::KexecLoad,
                Call::KexecFileLoad,
                Call::Keyctl,
                Call::AddKey,
                Call::RequestKey,
                Call::Userfaultfd,
                Call::IoUringSetup,
                Call::IoUringEnter,
                Call::IoUringRegister,
                Call::Nfsservctl,
                Call::Sysctl,
                Call::Uselib,
                Call::PciconfigRead,
                Call::PciconfigWrite,
            ] {
                assert!(!opened(call, all), "{call:?}");
                if let Some(n) = arch.number(call) {
                    assert_eq!(action(arch, all, n, 0), EPERM, "{}: {call:?}", name(arch));
                }
            }
        }
        // Every call is refused always, opened by a row, or personality:
        // the rows and the list above cover the enum.
        for call in ALL_CALLS {
            let rows = OPENED_BY.iter().filter(|(_, c)| c.contains(&call)).count();
            let always = (call as usize) < Call::InitModule as usize;
            assert!(
                (rows > 0) != always || call == Call::Personality,
                "{call:?}: {rows} rows"
            );
        }
    }

    #[test]
    fn namespace_flags_are_refused() {
        use linux_raw_sys::general as k;
        let thread = u64::from(
            k::CLONE_VM
                | k::CLONE_FS
                | k::CLONE_FILES
                | k::CLONE_SIGHAND
                | k::CLONE_THREAD
                | k::CLONE_SYSVSEM
                | k::CLONE_SETTLS
                | k::CLONE_PARENT_SETTID
                | k::CLONE_CHILD_CLEARTID,
        );
        for arch in ARCHES {
            let clone = nr(arch, Call::Clone);
            let unshare = nr(arch, Call::Unshare);
            let act = |nr, arg0| action(arch, DEFAULT, nr, arg0);
            assert_eq!(act(clone, SIGCHLD), ALLOW);
            assert_eq!(act(clone, thread), ALLOW);
            assert_eq!(act(clone, u64::from(k::CLONE_PIDFD) | SIGCHLD), ALLOW);
            for flag in [
                k::CLONE_NEWNS,
                k::CLONE_NEWUTS,
                k::CLONE_NEWIPC,
                k::CLONE_NEWUSER,
                k::CLONE_NEWPID,
                k::CLONE_NEWNET,
                k::CLONE_NEWCGROUP,
            ] {
                let flags = u64::from(flag);
                assert_eq!(act(clone, flags | SIGCHLD), EPERM, "{flag:#x}");
                assert_eq!(act(unshare, flags), EPERM, "{flag:#x}");
            }
            assert_eq!(act(unshare, u64::from(k::CLONE_NEWTIME)), EPERM);
            let harmless = u64::from(k::CLONE_FILES | k::CLONE_FS | k::CLONE_SYSVSEM);
            assert_eq!(act(unshare, harmless), ALLOW);
            assert_eq!(act(nr(arch, Call::Clone3), 0), ENOSYS);
        }
    }

    #[test]
    fn only_linux_personalities() {
        for arch in ARCHES {
            let personality = nr(arch, Call::Personality);
            for caps in capability_sets() {
                let act = |p| action(arch, caps, personality, p);
                for &p in PERSONALITIES {
                    assert_eq!(act(u64::from(p)), ALLOW);
                }
                // The kernel reads an unsigned int: the high half does not
                // count.
                assert_eq!(act(0xdead_beef_0000_0000), ALLOW);
                const ADDR_NO_RANDOMIZE: u64 = 0x0040000;
                const READ_IMPLIES_EXEC: u64 = 0x0400000;
                const MMAP_PAGE_ZERO: u64 = 0x0100000;
                const PER_BSD: u64 = 0x0006;
                for p in [
                    ADDR_NO_RANDOMIZE,
                    READ_IMPLIES_EXEC,
                    MMAP_PAGE_ZERO,
                    PER_BSD,
                ] {
                    assert_eq!(act(p), EPERM, "{}: {p:#x}", name(arch));
                }
            }
        }
    }

    /// The table box is built with is linux-raw-sys's (the other two are
    /// checked the same way when box is built for them); the program for a
    /// set that opens nothing, copied from the one built at compile time, is
    /// the one built for that set.
    #[test]
    fn native_table() {
        let native = NATIVE.expect("box's tests run on x86_64, aarch64 or arm");
        use linux_raw_sys::general as k;
        assert_eq!(native.number(Call::Mount), Some(k::__NR_mount));
        assert_eq!(native.table.highest, k::__NR_file_setattr);
        let same = |a: &Filter, b: &Filter| {
            a.program().len() == b.program().len()
                && a.program()
                    .iter()
                    .zip(b.program())
                    .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
        };
        for caps in capability_sets() {
            let filter = for_capabilities(caps).unwrap();
            assert!(same(&filter, &build(native, caps)), "{caps:?}");
        }
        assert!(!DEFAULT.intersects(OPENING));
        let admin = for_capabilities(DEFAULT | CapabilitySet::SYS_ADMIN).unwrap();
        assert!(!same(&admin, &for_capabilities(DEFAULT).unwrap()));
    }

    #[test]
    fn seccomp_option() {
        use crate::config::{RunConfig, find_option};
        let option = find_option(b"seccomp").unwrap();
        assert!(matches!(
            option.form.value,
            crate::options::Value::Required(_)
        ));
        let mut c = RunConfig::default();
        assert!(c.seccomp);
        option.apply_to(&mut c, b"unconfined").unwrap();
        assert!(!c.seccomp);
        option.apply_to(&mut c, b"default").unwrap();
        assert!(c.seccomp);
        assert!(option.apply_to(&mut c, b"").is_err());
        assert!(option.apply_to(&mut c, b"off").is_err());
    }
}
