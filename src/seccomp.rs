//! The default seccomp filter of `box run`: a short classic-BPF program,
//! written by box itself (no libseccomp) and built at compile time, that
//! refuses the syscalls a container never needs and allows everything else.
//! `--seccomp unconfined` (or `seccomp unconfined` in a spec file) runs
//! without it. See seccomp(2) and the kernel's
//! Documentation/userspace-api/seccomp_filter.rst.
//!
//! It is a denylist, not Docker's allowlist: a container on a board runs
//! the programs its owner put there, and the dropped capabilities already
//! refuse most of what follows. The filter is the second wall, for the day a
//! capability check has a hole, and it closes what capabilities do not
//! guard at all (user namespaces, keyrings, io_uring, userfaultfd, bpf and
//! perf for unprivileged users).
//!
//! It is installed last before execve (src/container/child.rs): box's own
//! setup needs mount, pivot_root and unshare, which it refuses. seccomp(2)
//! requires no_new_privs (or CAP_SYS_ADMIN), which the child sets just
//! before. The filter is inherited by every process of the container and
//! cannot be removed, only tightened by a further filter.
//!
//! # The program
//! 1. `seccomp_data.arch` must be box's own architecture; any other ABI
//!    (i386 through `int 0x80` on x86_64, 32-bit arm on aarch64) has other
//!    syscall numbers, which this table does not describe, so the process
//!    is killed. On x86_64 the x32 ABI (numbers with bit 0x40000000, same
//!    arch value) is killed too, for the same reason. Killed rather than
//!    refused: a program whose every syscall fails, `exit` included, would
//!    spin instead of ending. (SECCOMP_RET_KILL_PROCESS; kernels before 4.14
//!    read it as SECCOMP_RET_KILL, which kills the thread.)
//! 2. A binary search over the sorted numbers that get an answer other
//!    than "allow" (see `search`): those of [`DENIED`] return EPERM, the
//!    errno a missing capability gives, which programs handle.
//! 3. clone3 gets ENOSYS: its flags are behind a pointer seccomp cannot
//!    read, and ENOSYS makes glibc (and box-init) fall back to clone, whose
//!    flags it can.
//! 4. clone and unshare with a namespace flag get EPERM; personality with
//!    anything but the Linux personalities gets EPERM.
//! 5. Everything else is allowed.
//!
//! 82 instructions on x86_64, 76 on aarch64; any syscall number is
//! decided in at most 14 of them (a linear list took up to 67). The search
//! is for the kernel's sake more than the container's: when the filter is
//! installed, Linux 5.11+ runs it once for every syscall number, with
//! interrupts off, to find those it always allows, and from then on skips
//! it for them. Through the linear list that made seccomp(2) take about
//! 87 µs here; with the tree, 42 µs.
//!
//! # Refused
//! | syscall | why |
//! |---|---|
//! | `init_module`, `finit_module`, `delete_module` | load or unload kernel code |
//! | `kexec_load`, `kexec_file_load` | replace the running kernel |
//! | `reboot` | reboot or halt the board (a container stops through box) |
//! | `open_by_handle_at` | opens any file of a filesystem by handle, past the container's root (the "shocker" escape) |
//! | `bpf` | loads programs into the kernel; a rich source of kernel exploits |
//! | `perf_event_open` | profiling of the whole machine; leaks kernel addresses, many CVEs |
//! | `lookup_dcookie` | old profiling interface that reveals host paths |
//! | `keyctl`, `add_key`, `request_key` | kernel keyrings are not namespaced: a container could read or fill the host's |
//! | `userfaultfd` | page faults handled in user space: the usual tool to win kernel race exploits |
//! | `io_uring_setup`, `io_uring_enter`, `io_uring_register` | a second syscall interface that seccomp cannot see into, with a long list of kernel exploits |
//! | `swapon`, `swapoff` | swap is the board's, not the container's |
//! | `acct` | process accounting is host-wide |
//! | `quotactl`, `quotactl_fd` | filesystem quotas are host-wide |
//! | `clock_settime`, `clock_adjtime`, `settimeofday`, `adjtimex` | the wall clock is not namespaced |
//! | `syslog` | reads or clears the kernel log (syslog(2), not syslog(3)) |
//! | `mount`, `umount2`, `pivot_root`, `fsopen`, `fsconfig`, `fsmount`, `fspick`, `move_mount`, `open_tree`, `open_tree_attr`, `mount_setattr` | the container's mounts are set up by box; already refused by the missing CAP_SYS_ADMIN, denied again in case a capability check is bypassed |
//! | `setns` | joining other namespaces |
//! | `unshare`, `clone` with a `CLONE_NEW*` flag | new namespaces, above all a user namespace, where the container would get every capability back and reach kernel code that needs them |
//! | `clone3` (ENOSYS) | its flags cannot be inspected; callers fall back to clone |
//! | `personality` other than Linux, Linux32, UNAME26 or the query | turning off address randomisation or turning on READ_IMPLIES_EXEC weakens the container's own hardening; other personalities are barely tested kernel code |
//! | `nfsservctl` | the kernel NFS daemon interface (gone since Linux 3.1; kept for old kernels) |
//! | `iopl`, `ioperm` (x86_64) | raw access to I/O ports |
//! | `_sysctl` (x86_64) | writes kernel settings past the read-only /proc/sys (kernels before 5.5) |
//! | `uselib` (x86_64) | the a.out library loader, unused for decades |
//! | any other ABI, x32 (x86_64) | killed: their numbers differ from this table's |
//!
//! Allowed on purpose: `ptrace`, `process_vm_readv`, `process_vm_writev`,
//! `kcmp`, `pidfd_getfd` (debugging one's own processes with strace or gdb;
//! the kernel's ptrace access checks keep them inside the container, and
//! the seccomp bypass through ptrace was fixed in Linux 4.8);
//! `name_to_handle_at` (harmless without `open_by_handle_at`, used to tell
//! mount points apart); `chroot`, `mknod` (their capabilities are in the
//! default set); `seccomp` (a process may only add restrictions).
//!
//! # Compared with Docker's default profile
//! Docker's profile is an allowlist: what it does not name gets EPERM, and
//! some entries open only when the container is given a capability
//! (`--cap-add`). Both refuse by default: module loading, kexec, reboot,
//! open_by_handle_at, bpf, perf_event_open, lookup_dcookie, the keyrings,
//! userfaultfd, io_uring, swap, acct, quotas, setting the clock, syslog,
//! mount and the new mount API, pivot_root, setns, unshare and clone with
//! namespace flags, iopl/ioperm, the obsolete `_sysctl`, `uselib`,
//! `nfsservctl`, and personalities other than Linux/Linux32/UNAME26.
//! Docker answers clone3 with ENOSYS too, and allows `ptrace`,
//! `process_vm_readv`/`process_vm_writev` and `name_to_handle_at` as box
//! does (ptrace from Linux 4.8).
//!
//! Docker refuses, box allows: `kcmp`, `pidfd_getfd`, `process_madvise`
//! (Docker needs CAP_SYS_PTRACE; box relies on ptrace access checks);
//! the NUMA calls `mbind`, `set_mempolicy`, `get_mempolicy`, `move_pages`,
//! `migrate_pages` (boards are not NUMA machines; moving another process's
//! pages still needs CAP_SYS_NICE); `fanotify_init`, `vhangup`,
//! `sethostname`, `setdomainname`, `lsm_set_self_attr` (their capability
//! checks stand); the obsolete `sysfs` and `ustat` (read-only); socket
//! families (Docker filters `socket` by address family, e.g. AF_VSOCK and
//! AF_ALG; box does not look at arguments but for clone, unshare and
//! personality); and every syscall added to the kernel after the filter
//! was written (an allowlist refuses those until it is updated).
//!
//! Box refuses, Docker allows: `adjtimex` and `clock_adjtime` (Docker allows
//! them because with no mode bits they only read the clock state; their
//! argument is a pointer seccomp cannot read, so box refuses them whole:
//! `adjtimex -p` or `ntp_gettime` inside a container fail with EPERM);
//! unshare with only non-namespace flags such as CLONE_FILES is the other
//! way round (Docker refuses every unshare, box allows these). Docker also
//! keeps i386 and x32 programs working on x86_64 with tables of their own;
//! box kills them.

use core::mem::offset_of;

use linux_raw_sys::ptrace::{
    BPF_ABS, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W, seccomp_data, sock_filter,
};
use rustix::io::Errno;

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use linux_raw_sys::general as k;

/// Most instructions a filter may have here (the kernel's own limit,
/// BPF_MAXINSNS, is 4096; box's default has 82 on x86_64).
pub const MAX_INSTRUCTIONS: usize = 128;

/// A seccomp program ready for seccomp(2).
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

/// The syscalls refused with EPERM, whatever their arguments (the module
/// documentation has the same list as a table, with Docker's beside it).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub const DENIED: &[u32] = &[
    // Kernel modules: code into the running kernel.
    k::__NR_init_module,
    k::__NR_finit_module,
    k::__NR_delete_module,
    // Boot another kernel in place of this one.
    k::__NR_kexec_load,
    k::__NR_kexec_file_load,
    // Reboot or halt the board.
    k::__NR_reboot,
    // Opens files by handle, past the container's root ("shocker").
    k::__NR_open_by_handle_at,
    // Programs loaded into the kernel.
    k::__NR_bpf,
    // Machine-wide profiling, leaks kernel addresses.
    k::__NR_perf_event_open,
    // Old profiling interface, reveals host paths.
    k::__NR_lookup_dcookie,
    // Kernel keyrings are not namespaced.
    k::__NR_keyctl,
    k::__NR_add_key,
    k::__NR_request_key,
    // User-space page faults: the usual tool for kernel race exploits.
    k::__NR_userfaultfd,
    // A syscall interface seccomp cannot see into, with many exploits.
    k::__NR_io_uring_setup,
    k::__NR_io_uring_enter,
    k::__NR_io_uring_register,
    // Swap belongs to the board.
    k::__NR_swapon,
    k::__NR_swapoff,
    // Process accounting is host-wide.
    k::__NR_acct,
    // Filesystem quotas are host-wide.
    k::__NR_quotactl,
    k::__NR_quotactl_fd,
    // The wall clock is not namespaced.
    k::__NR_clock_settime,
    k::__NR_clock_adjtime,
    k::__NR_settimeofday,
    k::__NR_adjtimex,
    // The kernel log (syslog(2); syslog(3) uses a socket and stays).
    k::__NR_syslog,
    // Mounts are box's job; CAP_SYS_ADMIN is gone too (defence in depth).
    k::__NR_mount,
    k::__NR_umount2,
    k::__NR_pivot_root,
    k::__NR_fsopen,
    k::__NR_fsconfig,
    k::__NR_fsmount,
    k::__NR_fspick,
    k::__NR_move_mount,
    k::__NR_open_tree,
    k::__NR_open_tree_attr,
    k::__NR_mount_setattr,
    // Joining another namespace.
    k::__NR_setns,
    // The kernel NFS daemon interface (gone since 3.1; old kernels).
    k::__NR_nfsservctl,
    // Raw I/O port access.
    #[cfg(target_arch = "x86_64")]
    k::__NR_iopl,
    #[cfg(target_arch = "x86_64")]
    k::__NR_ioperm,
    // Writes sysctls past the read-only /proc/sys (kernels before 5.5).
    #[cfg(target_arch = "x86_64")]
    k::__NR__sysctl,
    // The a.out shared library loader.
    #[cfg(target_arch = "x86_64")]
    k::__NR_uselib,
];

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

/// The audit architecture of box's own syscall table.
#[cfg(target_arch = "x86_64")]
const ARCH: u32 = linux_raw_sys::ptrace::AUDIT_ARCH_X86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: u32 = linux_raw_sys::ptrace::AUDIT_ARCH_AARCH64;

/// The filter box installs unless `--seccomp unconfined`.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
static DEFAULT: Filter = build();

/// The default filter, or `None` on an architecture box has no syscall
/// table for (the caller refuses to run without being told
/// `--seccomp unconfined`).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn default_filter() -> Option<&'static Filter> {
    Some(&DEFAULT)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn default_filter() -> Option<&'static Filter> {
    None
}

/// Install `filter` on the calling thread (the container child, which has
/// no other): seccomp(SECCOMP_SET_MODE_FILTER). The caller has set
/// no_new_privs. Raw syscall, no allocation: safe between clone and execve.
pub fn install(filter: &Filter) -> Result<(), Errno> {
    crate::sys::raw::seccomp_filter(filter.program())
}

// Offsets into struct seccomp_data. The argument is a u64; its low 32 bits
// (all that clone's namespace flags and personality's value need) come
// first on a little-endian machine.
const OFFSET_NR: u32 = offset_of!(seccomp_data, nr) as u32;
const OFFSET_ARCH: u32 = offset_of!(seccomp_data, arch) as u32;
const OFFSET_ARG0_LOW: u32 =
    offset_of!(seccomp_data, args) as u32 + if cfg!(target_endian = "big") { 4 } else { 0 };

/// Where a conditional jump goes, before the final offsets are known.
#[derive(Clone, Copy)]
enum To {
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

    /// Jump on `accumulator OP k` (JEQ, JGE or JSET).
    const fn jump(&mut self, op: u32, k: u32, jt: To, jf: To) {
        self.push(BPF_JMP | op | BPF_K, k, jt, jf);
    }

    /// Resolve the jumps and append the returns.
    const fn finish(self) -> Filter {
        let allow = self.len;
        let mut out = Filter {
            instructions: [sock_filter {
                code: 0,
                jt: 0,
                jf: 0,
                k: 0,
            }; MAX_INSTRUCTIONS],
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

/// The default program (see the module documentation for its shape).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const fn build() -> Filter {
    let mut b = Builder::new();

    // Another ABI means another syscall table: kill.
    b.load(OFFSET_ARCH);
    b.jump(BPF_JEQ, ARCH, To::Next, To::Kill);
    b.load(OFFSET_NR);
    // x32 shares x86_64's arch value and sets bit 30 in the number. The
    // number -1 also has it: a tracer's "skip this syscall", which the
    // kernel answers with ENOSYS; let it through.
    #[cfg(target_arch = "x86_64")]
    {
        b.jump(
            linux_raw_sys::ptrace::BPF_JGE,
            k::__X32_SYSCALL_BIT,
            To::Next,
            To::Over(1),
        );
        b.jump(BPF_JEQ, u32::MAX, To::Allow, To::Kill);
    }

    // The numbers with an answer other than "allow", sorted, searched as a
    // binary tree: see `search`.
    let keys = keys();
    search(&mut b, &keys, 0, keys.len());

    // clone and unshare: refused with any namespace flag. Each block ends
    // in a return, since the accumulator no longer holds the number.
    b.place(CLONE);
    b.load(OFFSET_ARG0_LOW);
    b.jump(BPF_JSET, CLONE_NAMESPACES, To::Deny, To::Allow);

    b.place(UNSHARE);
    b.load(OFFSET_ARG0_LOW);
    b.jump(BPF_JSET, UNSHARE_NAMESPACES, To::Deny, To::Allow);

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

/// A syscall number and where the filter sends it.
#[derive(Clone, Copy)]
struct Key {
    nr: u32,
    to: To,
}

/// Every number the filter does not simply allow.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const KEYS: usize = DENIED.len() + 4;

/// [`DENIED`] and the four numbers with checks of their own, sorted by
/// number.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const fn keys() -> [Key; KEYS] {
    let mut keys = [Key {
        nr: 0,
        to: To::Deny,
    }; KEYS];
    let mut i = 0;
    while i < DENIED.len() {
        keys[i].nr = DENIED[i];
        i += 1;
    }
    // clone3 keeps its flags behind a pointer: send callers to clone.
    keys[i] = Key {
        nr: k::__NR_clone3,
        to: To::NoSys,
    };
    keys[i + 1] = Key {
        nr: k::__NR_clone,
        to: To::Label(CLONE),
    };
    keys[i + 2] = Key {
        nr: k::__NR_unshare,
        to: To::Label(UNSHARE),
    };
    keys[i + 3] = Key {
        nr: k::__NR_personality,
        to: To::Label(PERSONALITY),
    };
    // Insertion sort: a few dozen entries, at compile time.
    let mut i = 1;
    while i < KEYS {
        let mut j = i;
        while j > 0 && keys[j - 1].nr > keys[j].nr {
            let t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    let mut i = 1;
    while i < KEYS {
        assert!(
            keys[i - 1].nr < keys[i].nr,
            "seccomp: a number listed twice"
        );
        i += 1;
    }
    keys
}

/// Most keys compared one by one at the bottom of the tree.
const LEAF: usize = 4;

/// Instructions of the tree `search` emits for `n` keys.
const fn search_len(n: usize) -> usize {
    if n <= LEAF {
        n
    } else {
        1 + search_len(n / 2) + search_len(n - n / 2)
    }
}

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
    let n = hi - lo;
    if n <= LEAF {
        let mut i = lo;
        while i < hi {
            let otherwise = if i + 1 == hi { To::Allow } else { To::Next };
            b.jump(BPF_JEQ, keys[i].nr, keys[i].to, otherwise);
            i += 1;
        }
    } else {
        let mid = lo + n / 2;
        let left = search_len(mid - lo);
        assert!(left <= u8::MAX as usize, "seccomp: tree too deep");
        b.jump(
            linux_raw_sys::ptrace::BPF_JGE,
            keys[mid].nr,
            To::Over(left as u8),
            To::Next,
        );
        search(b, keys, lo, mid);
        search(b, keys, mid, hi);
    }
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;
    use linux_raw_sys::general as k;
    use linux_raw_sys::ptrace::{
        AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, BPF_JA, BPF_JGE,
        SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS,
    };

    const EPERM: u32 = SECCOMP_RET_ERRNO | 1;
    const ENOSYS: u32 = SECCOMP_RET_ERRNO | 38;

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
        data[OFFSET_NR as usize..][..4].copy_from_slice(&nr.to_ne_bytes());
        data[OFFSET_ARCH as usize..][..4].copy_from_slice(&arch.to_ne_bytes());
        let args = offset_of!(seccomp_data, args);
        data[args..][..8].copy_from_slice(&arg0.to_ne_bytes());
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
                accumulator = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
            } else if code == BPF_RET | BPF_K {
                return (insn.k, steps);
            } else if code == BPF_JMP | BPF_JA {
                pc += insn.k as usize;
            } else {
                let taken = match code {
                    c if c == BPF_JMP | BPF_JEQ | BPF_K => accumulator == insn.k,
                    c if c == BPF_JMP | BPF_JGE | BPF_K => accumulator >= insn.k,
                    c if c == BPF_JMP | BPF_JSET | BPF_K => accumulator & insn.k != 0,
                    other => panic!("unexpected instruction {other:#x} at {}", pc - 1),
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            assert!(pc < program.len(), "jumped out of the program");
        }
    }

    fn default() -> &'static [sock_filter] {
        default_filter().unwrap().program()
    }

    fn action(nr: u32, arg0: u64) -> u32 {
        run(default(), ARCH, nr, arg0)
    }

    #[test]
    fn program_is_small_and_valid() {
        let program = default();
        assert!(program.len() <= 100, "{} instructions", program.len());
        assert!(program.len() <= linux_raw_sys::ptrace::BPF_MAXINSNS as usize);
        // Every jump lands inside the program, forward.
        for (i, insn) in program.iter().enumerate() {
            if u32::from(insn.code) & 0x07 == BPF_JMP {
                assert!(i + 1 + usize::from(insn.jt.max(insn.jf)) < program.len());
            }
        }
        let last = program[program.len() - 1];
        assert_eq!(u32::from(last.code), BPF_RET | BPF_K);
    }

    /// The kernel runs the filter for every syscall number when it is
    /// installed: each run must be short (see `search`).
    #[test]
    fn every_number_is_decided_in_a_few_steps() {
        let mut total = 0;
        for nr in 0..512 {
            let (_, steps) = run_counted(default(), ARCH, nr, 0);
            assert!(steps <= 16, "syscall {nr}: {steps} instructions");
            total += steps;
        }
        assert!(total / 512 <= 12, "{} instructions on average", total / 512);
    }

    #[test]
    fn denied_syscalls_get_eperm() {
        for &nr in DENIED {
            assert_eq!(action(nr, 0), EPERM, "syscall {nr}");
            assert_eq!(action(nr, u64::MAX), EPERM, "syscall {nr}");
        }
    }

    #[test]
    fn everything_else_is_allowed() {
        for nr in 0..1024 {
            let expected = if DENIED.contains(&nr) {
                EPERM
            } else if nr == k::__NR_clone3 {
                ENOSYS
            } else {
                SECCOMP_RET_ALLOW
            };
            assert_eq!(action(nr, 0), expected, "syscall {nr}");
        }
        for nr in [k::__NR_read, k::__NR_write, k::__NR_execve, k::__NR_ptrace] {
            assert_eq!(action(nr, u64::MAX), SECCOMP_RET_ALLOW, "syscall {nr}");
        }
    }

    #[test]
    fn the_list_is_clean() {
        for (i, nr) in DENIED.iter().enumerate() {
            assert!(!DENIED[..i].contains(nr), "syscall {nr} twice");
            // These have argument checks of their own further down.
            let special = [
                k::__NR_clone,
                k::__NR_clone3,
                k::__NR_unshare,
                k::__NR_personality,
            ];
            assert!(!special.contains(nr), "syscall {nr}");
        }
    }

    #[test]
    fn namespace_flags_are_refused() {
        let sigchld = u64::from(k::SIGCHLD);
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
        assert_eq!(action(k::__NR_clone, sigchld), SECCOMP_RET_ALLOW);
        assert_eq!(action(k::__NR_clone, thread), SECCOMP_RET_ALLOW);
        let pidfd = u64::from(k::CLONE_PIDFD) | sigchld;
        assert_eq!(action(k::__NR_clone, pidfd), SECCOMP_RET_ALLOW);
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
            assert_eq!(action(k::__NR_clone, flags | sigchld), EPERM, "{flag:#x}");
            assert_eq!(action(k::__NR_unshare, flags), EPERM, "{flag:#x}");
        }
        assert_eq!(action(k::__NR_unshare, u64::from(k::CLONE_NEWTIME)), EPERM);
        let harmless = u64::from(k::CLONE_FILES | k::CLONE_FS | k::CLONE_SYSVSEM);
        assert_eq!(action(k::__NR_unshare, harmless), SECCOMP_RET_ALLOW);
        assert_eq!(action(k::__NR_clone3, 0), ENOSYS);
    }

    #[test]
    fn only_linux_personalities() {
        for &p in PERSONALITIES {
            assert_eq!(action(k::__NR_personality, u64::from(p)), SECCOMP_RET_ALLOW);
        }
        // The kernel reads an unsigned int: the high half does not count.
        assert_eq!(
            action(k::__NR_personality, 0xdead_beef_0000_0000),
            SECCOMP_RET_ALLOW
        );
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
            assert_eq!(action(k::__NR_personality, p), EPERM, "{p:#x}");
        }
    }

    #[test]
    fn other_architectures_are_killed() {
        let foreign = [
            AUDIT_ARCH_I386,
            AUDIT_ARCH_ARM,
            if ARCH == AUDIT_ARCH_X86_64 {
                AUDIT_ARCH_AARCH64
            } else {
                AUDIT_ARCH_X86_64
            },
            0,
        ];
        for arch in foreign {
            for nr in [
                0,
                1,
                k::__NR_getpid,
                k::__NR_exit_group,
                k::__NR_init_module,
            ] {
                assert_eq!(
                    run(default(), arch, nr, 0),
                    SECCOMP_RET_KILL_PROCESS,
                    "arch {arch:#x}, syscall {nr}"
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x32_is_killed() {
        let x32 = k::__X32_SYSCALL_BIT;
        for nr in [k::__NR_getpid, k::__NR_init_module, 512, 0] {
            assert_eq!(action(x32 | nr, 0), SECCOMP_RET_KILL_PROCESS, "{nr}");
        }
        // -1, "no syscall", reaches the kernel (which says ENOSYS).
        assert_eq!(action(u32::MAX, 0), SECCOMP_RET_ALLOW);
    }

    #[test]
    fn seccomp_option() {
        use crate::config::{RunConfig, find_option};
        let option = find_option(b"seccomp").unwrap();
        assert!(option.takes_value);
        let mut c = RunConfig::default();
        assert!(c.seccomp);
        (option.apply)(&mut c, b"unconfined").unwrap();
        assert!(!c.seccomp);
        (option.apply)(&mut c, b"default").unwrap();
        assert!(c.seccomp);
        assert!((option.apply)(&mut c, b"").is_err());
        assert!((option.apply)(&mut c, b"off").is_err());
    }
}
