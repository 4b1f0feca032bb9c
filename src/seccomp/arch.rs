//! The syscall tables of the architectures box runs on, as far as the
//! filter needs them: the audit architecture of the native ABI, the number
//! of every [`Call`], the highest number box knows, and the numbers past the
//! table with their answer.
//!
//! The numbers are those of linux-raw-sys 0.12 (generated from the uapi
//! headers of Linux 6.17: asm/unistd_64.h for x86_64, the asm-generic table
//! for aarch64, asm/unistd-eabi.h for arm, i.e. the `common` and `eabi`
//! rows of arch/arm/tools/syscall.tbl, never the `oabi` ones), written out
//! here so that the unit tests see all three tables on any host. When box
//! is built for one of them, each number is checked against linux-raw-sys
//! at compile time. Linux 6.18 added one syscall, x86_64's `uprobe` (336),
//! which linux-raw-sys 0.12 does not have yet; no architecture has a
//! number above 469 there.

use super::{CALLS, Call, To};

/// One architecture's syscall numbering, as written below.
pub struct Table {
    /// `seccomp_data.arch` of its native ABI (AUDIT_ARCH_*). Another value
    /// is another table: killed.
    pub audit: u32,
    /// The number of each [`Call`] (indexed by `Call as usize`), `None`
    /// where the architecture has no such syscall.
    pub numbers: [Option<u32>; CALLS],
    /// The highest syscall number box knows here (Linux 6.18's last).
    pub highest: u32,
    /// Numbers that name no syscall box knows, each range with the
    /// filter's answer; every number above `highest` is in one, but for -1
    /// (a tracer's "skip this call", which the kernel answers itself and the
    /// filter must let through so the tracer's return value stays) and, on
    /// arm, the private calls.
    pub unknown: &'static [Span],
}

/// The numbers `first..=last`, answered `to`.
#[derive(Clone, Copy)]
pub struct Span {
    pub first: u32,
    pub last: u32,
    pub to: To,
}

/// A [`Table`] checked, with its numbers sorted at compile time, so that
/// building a filter for a capability set only picks from a sorted list.
pub struct Arch {
    pub audit: u32,
    /// Each call's number and each unknown range, by number.
    sorted: [Entry; MAX_ENTRIES],
    entries: usize,
    /// The table as written, for the tests.
    #[cfg(test)]
    pub table: Table,
}

/// A number or range of an architecture's table, and what it is.
#[derive(Clone, Copy)]
pub struct Entry {
    pub first: u32,
    pub last: u32,
    pub what: What,
}

#[derive(Clone, Copy)]
pub enum What {
    /// A syscall whose answer depends on the capabilities.
    Call(Call),
    /// No syscall: this answer always.
    Unknown(To),
}

/// Most entries of a table: every call and a few ranges.
const MAX_ENTRIES: usize = CALLS + 8;

impl Arch {
    /// Check at compile time what the filter relies on, and sort: every
    /// known call is at most `highest`, numbers are not listed twice, and
    /// the unknown ranges cover every number above `highest` but -1 and, on
    /// arm, the private calls.
    const fn new(table: Table) -> Arch {
        let mut sorted = [Entry {
            first: 0,
            last: 0,
            what: What::Unknown(To::Allow),
        }; MAX_ENTRIES];
        let mut n = 0;
        let mut i = 0;
        while i < CALLS {
            if let Some(nr) = table.numbers[i] {
                assert!(nr <= table.highest, "seccomp: a call above highest");
                sorted[n] = Entry {
                    first: nr,
                    last: nr,
                    what: What::Call(super::ALL_CALLS[i]),
                };
                n += 1;
            }
            i += 1;
        }
        let mut next = table.highest + 1;
        let mut i = 0;
        while i < table.unknown.len() {
            let span = table.unknown[i];
            assert!(span.first <= span.last, "seccomp: an empty range");
            if span.first > table.highest {
                let arm_private = table.audit == linux_raw_sys::ptrace::AUDIT_ARCH_ARM
                    && next == ARM_PRIVATE_BASE;
                assert!(
                    span.first == next || arm_private,
                    "seccomp: a gap above highest"
                );
                next = span.last.wrapping_add(1);
            }
            sorted[n] = Entry {
                first: span.first,
                last: span.last,
                what: What::Unknown(span.to),
            };
            n += 1;
            i += 1;
        }
        assert!(next == u32::MAX, "seccomp: the ranges stop before -1");
        // Insertion sort, at compile time.
        let mut i = 1;
        while i < n {
            let mut j = i;
            while j > 0 && sorted[j - 1].first > sorted[j].first {
                let t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
                j -= 1;
            }
            i += 1;
        }
        let mut i = 1;
        while i < n {
            assert!(
                sorted[i - 1].last < sorted[i].first,
                "seccomp: a number in the table twice"
            );
            i += 1;
        }
        Arch {
            audit: table.audit,
            sorted,
            entries: n,
            #[cfg(test)]
            table,
        }
    }

    /// The number of `call` here.
    #[cfg(test)]
    pub const fn number(&self, call: Call) -> Option<u32> {
        self.table.numbers[call as usize]
    }

    /// Every call's number and every unknown range, sorted.
    pub const fn sorted(&self) -> &[Entry] {
        self.sorted.split_at(self.entries).0
    }
}

/// `__ARM_NR_BASE`, where ARM's private calls begin (on arm, the one gap
/// allowed above `highest`).
const ARM_PRIVATE_BASE: u32 = 0x000f_0000;

/// Fill a table from `Call: linux-raw-sys name = number` lines. A call
/// listed twice is a compile error; one not listed has no number. Built for
/// `$arch`, each number must equal linux-raw-sys's.
macro_rules! numbers {
    ($arch:literal: $($call:ident: $name:ident = $nr:literal,)*) => {{
        let mut numbers = [None; CALLS];
        $(
            assert!(
                numbers[Call::$call as usize].is_none(),
                concat!("seccomp: ", stringify!($call), " listed twice")
            );
            numbers[Call::$call as usize] = Some($nr);
            #[cfg(target_arch = $arch)]
            assert!(
                linux_raw_sys::general::$name == $nr,
                concat!("seccomp: ", stringify!($name), " is not linux-raw-sys's")
            );
        )*
        numbers
    }};
}

/// x86_64. Numbers 335 and 336 are the last x86-only calls (uretprobe,
/// uprobe); 337 to 386 are kept for more of them and 387 to 423 are never
/// used (syscall_64.tbl), then the numbers shared by every architecture
/// begin at 424. x32 calls come through the same entry with bit 30 set
/// (`__X32_SYSCALL_BIT`) and the same audit architecture.
#[cfg(any(test, target_arch = "x86_64"))]
pub const X86_64: Arch = Arch::new(Table {
    audit: linux_raw_sys::ptrace::AUDIT_ARCH_X86_64,
    highest: 469,
    unknown: &[
        Span {
            first: 337,
            last: 423,
            to: To::NoSys,
        },
        Span {
            first: 470,
            last: 0x3fff_ffff,
            to: To::NoSys,
        },
        // x32: another table (its own numbers from 512 on), killed.
        Span {
            first: 0x4000_0000,
            last: 0xffff_fffe,
            to: To::Kill,
        },
    ],
    numbers: numbers!("x86_64":
        KexecLoad: __NR_kexec_load = 246,
        KexecFileLoad: __NR_kexec_file_load = 320,
        Keyctl: __NR_keyctl = 250,
        AddKey: __NR_add_key = 248,
        RequestKey: __NR_request_key = 249,
        Userfaultfd: __NR_userfaultfd = 323,
        IoUringSetup: __NR_io_uring_setup = 425,
        IoUringEnter: __NR_io_uring_enter = 426,
        IoUringRegister: __NR_io_uring_register = 427,
        Nfsservctl: __NR_nfsservctl = 180,
        Sysctl: __NR__sysctl = 156,
        Uselib: __NR_uselib = 134,
        InitModule: __NR_init_module = 175,
        FinitModule: __NR_finit_module = 313,
        DeleteModule: __NR_delete_module = 176,
        Reboot: __NR_reboot = 169,
        Acct: __NR_acct = 163,
        Iopl: __NR_iopl = 172,
        Ioperm: __NR_ioperm = 173,
        Settimeofday: __NR_settimeofday = 164,
        ClockSettime: __NR_clock_settime = 227,
        ClockAdjtime: __NR_clock_adjtime = 305,
        Adjtimex: __NR_adjtimex = 159,
        Syslog: __NR_syslog = 103,
        OpenByHandleAt: __NR_open_by_handle_at = 304,
        Mount: __NR_mount = 165,
        Umount2: __NR_umount2 = 166,
        PivotRoot: __NR_pivot_root = 155,
        Fsopen: __NR_fsopen = 430,
        Fsconfig: __NR_fsconfig = 431,
        Fsmount: __NR_fsmount = 432,
        Fspick: __NR_fspick = 433,
        MoveMount: __NR_move_mount = 429,
        OpenTree: __NR_open_tree = 428,
        OpenTreeAttr: __NR_open_tree_attr = 467,
        MountSetattr: __NR_mount_setattr = 442,
        Setns: __NR_setns = 308,
        Quotactl: __NR_quotactl = 179,
        QuotactlFd: __NR_quotactl_fd = 443,
        LookupDcookie: __NR_lookup_dcookie = 212,
        Swapon: __NR_swapon = 167,
        Swapoff: __NR_swapoff = 168,
        Bpf: __NR_bpf = 321,
        PerfEventOpen: __NR_perf_event_open = 298,
        Clone: __NR_clone = 56,
        Clone3: __NR_clone3 = 435,
        Unshare: __NR_unshare = 272,
        Personality: __NR_personality = 135,
    ),
});

/// aarch64: the asm-generic table. Numbers 244 to 259 are kept for calls
/// of one architecture's own (`__NR_arch_specific_syscall`); aarch64 has
/// none yet. 32-bit arm programs (AArch32, AUDIT_ARCH_ARM) use the arm
/// table below and are killed by the architecture check.
#[cfg(any(test, target_arch = "aarch64"))]
pub const AARCH64: Arch = Arch::new(Table {
    audit: linux_raw_sys::ptrace::AUDIT_ARCH_AARCH64,
    highest: 469,
    unknown: &[
        Span {
            first: 244,
            last: 259,
            to: To::NoSys,
        },
        Span {
            first: 470,
            last: 0xffff_fffe,
            to: To::NoSys,
        },
    ],
    numbers: numbers!("aarch64":
        KexecLoad: __NR_kexec_load = 104,
        KexecFileLoad: __NR_kexec_file_load = 294,
        Keyctl: __NR_keyctl = 219,
        AddKey: __NR_add_key = 217,
        RequestKey: __NR_request_key = 218,
        Userfaultfd: __NR_userfaultfd = 282,
        IoUringSetup: __NR_io_uring_setup = 425,
        IoUringEnter: __NR_io_uring_enter = 426,
        IoUringRegister: __NR_io_uring_register = 427,
        Nfsservctl: __NR_nfsservctl = 42,
        InitModule: __NR_init_module = 105,
        FinitModule: __NR_finit_module = 273,
        DeleteModule: __NR_delete_module = 106,
        Reboot: __NR_reboot = 142,
        Acct: __NR_acct = 89,
        Settimeofday: __NR_settimeofday = 170,
        ClockSettime: __NR_clock_settime = 112,
        ClockAdjtime: __NR_clock_adjtime = 266,
        Adjtimex: __NR_adjtimex = 171,
        Syslog: __NR_syslog = 116,
        OpenByHandleAt: __NR_open_by_handle_at = 265,
        Mount: __NR_mount = 40,
        Umount2: __NR_umount2 = 39,
        PivotRoot: __NR_pivot_root = 41,
        Fsopen: __NR_fsopen = 430,
        Fsconfig: __NR_fsconfig = 431,
        Fsmount: __NR_fsmount = 432,
        Fspick: __NR_fspick = 433,
        MoveMount: __NR_move_mount = 429,
        OpenTree: __NR_open_tree = 428,
        OpenTreeAttr: __NR_open_tree_attr = 467,
        MountSetattr: __NR_mount_setattr = 442,
        Setns: __NR_setns = 268,
        Quotactl: __NR_quotactl = 60,
        QuotactlFd: __NR_quotactl_fd = 443,
        LookupDcookie: __NR_lookup_dcookie = 18,
        Swapon: __NR_swapon = 224,
        Swapoff: __NR_swapoff = 225,
        Bpf: __NR_bpf = 280,
        PerfEventOpen: __NR_perf_event_open = 241,
        Clone: __NR_clone = 220,
        Clone3: __NR_clone3 = 435,
        Unshare: __NR_unshare = 97,
        Personality: __NR_personality = 92,
    ),
});

/// The first of ARM's private calls (`__ARM_NR_BASE`, 0x0f0000): branch
/// through zero (SIGSEGV), breakpoint (SIGTRAP to oneself), cacheflush (for
/// JITs and `__clear_cache`), usr26 and usr32 (only on 26-bit CPUs, which
/// cannot run EABI; SIGILL elsewhere), set_tls (musl's and glibc's thread
/// pointer when the CPU has no TLS register) and get_tls. The kernel handles
/// them in arm_syscall (arch/arm/kernel/traps.c); all act on the caller
/// alone, so the filter allows them.
#[cfg(any(test, target_arch = "arm"))]
pub const ARM_PRIVATE_FIRST: u32 = ARM_PRIVATE_BASE;
/// The last private call the kernel defines (`__ARM_NR_get_tls`).
#[cfg(any(test, target_arch = "arm"))]
pub const ARM_PRIVATE_LAST: u32 = 0x000f_0006;
/// The end of the private range: the kernel answers ENOSYS for undefined
/// numbers up to here and SIGILL above ("bad syscall").
#[cfg(any(test, target_arch = "arm"))]
pub const ARM_PRIVATE_END: u32 = 0x000f_07ff;

#[cfg(target_arch = "arm")]
const _: () = assert!(
    linux_raw_sys::general::__ARM_NR_BASE == ARM_PRIVATE_FIRST
        && linux_raw_sys::general::__ARM_NR_get_tls == ARM_PRIVATE_LAST
);

/// 32-bit arm, EABI (armv7-unknown-linux-musleabihf). Sockets and SysV IPC
/// are direct calls (socketcall and ipc are OABI-only), so the filter looks
/// at no multiplexer's arguments. The `*_time64` calls (403 to 423) that a
/// 32-bit musl makes for every clock, timer and futex are ordinary numbers
/// here and allowed like any other; only the two that set the clock are in
/// [`Call`].
///
/// OABI: the kernel offers seccomp filters only when built without
/// OABI_COMPAT (arch/arm/Kconfig: `HAVE_ARCH_SECCOMP_FILTER if AEABI &&
/// !OABI_COMPAT`), so where box's filter can be installed the kernel takes
/// every number from r7 and has no OABI table at all; an old-ABI program's
/// `swi 0x900000+N` reaches it as whatever r7 held. On a kernel with
/// OABI_COMPAT, seccomp(2) fails and box says so. Numbers above the private
/// range, 0x900000+N among them, are killed: the kernel would raise SIGILL.
#[cfg(any(test, target_arch = "arm"))]
pub const ARM: Arch = Arch::new(Table {
    audit: linux_raw_sys::ptrace::AUDIT_ARCH_ARM,
    highest: 469,
    unknown: &[
        Span {
            first: 470,
            last: ARM_PRIVATE_FIRST - 1,
            to: To::NoSys,
        },
        // 0x0f0000..=0x0f0006: the private calls, allowed.
        Span {
            first: ARM_PRIVATE_LAST + 1,
            last: ARM_PRIVATE_END,
            to: To::NoSys,
        },
        Span {
            first: ARM_PRIVATE_END + 1,
            last: 0xffff_fffe,
            to: To::Kill,
        },
    ],
    numbers: numbers!("arm":
        KexecLoad: __NR_kexec_load = 347,
        KexecFileLoad: __NR_kexec_file_load = 401,
        Keyctl: __NR_keyctl = 311,
        AddKey: __NR_add_key = 309,
        RequestKey: __NR_request_key = 310,
        Userfaultfd: __NR_userfaultfd = 388,
        IoUringSetup: __NR_io_uring_setup = 425,
        IoUringEnter: __NR_io_uring_enter = 426,
        IoUringRegister: __NR_io_uring_register = 427,
        Nfsservctl: __NR_nfsservctl = 169,
        Sysctl: __NR__sysctl = 149,
        Uselib: __NR_uselib = 86,
        PciconfigRead: __NR_pciconfig_read = 272,
        PciconfigWrite: __NR_pciconfig_write = 273,
        InitModule: __NR_init_module = 128,
        FinitModule: __NR_finit_module = 379,
        DeleteModule: __NR_delete_module = 129,
        Reboot: __NR_reboot = 88,
        Acct: __NR_acct = 51,
        Settimeofday: __NR_settimeofday = 79,
        ClockSettime: __NR_clock_settime = 262,
        ClockSettime64: __NR_clock_settime64 = 404,
        ClockAdjtime: __NR_clock_adjtime = 372,
        ClockAdjtime64: __NR_clock_adjtime64 = 405,
        Adjtimex: __NR_adjtimex = 124,
        Syslog: __NR_syslog = 103,
        OpenByHandleAt: __NR_open_by_handle_at = 371,
        Mount: __NR_mount = 21,
        Umount2: __NR_umount2 = 52,
        PivotRoot: __NR_pivot_root = 218,
        Fsopen: __NR_fsopen = 430,
        Fsconfig: __NR_fsconfig = 431,
        Fsmount: __NR_fsmount = 432,
        Fspick: __NR_fspick = 433,
        MoveMount: __NR_move_mount = 429,
        OpenTree: __NR_open_tree = 428,
        OpenTreeAttr: __NR_open_tree_attr = 467,
        MountSetattr: __NR_mount_setattr = 442,
        Setns: __NR_setns = 375,
        Quotactl: __NR_quotactl = 131,
        QuotactlFd: __NR_quotactl_fd = 443,
        LookupDcookie: __NR_lookup_dcookie = 249,
        Swapon: __NR_swapon = 87,
        Swapoff: __NR_swapoff = 115,
        Bpf: __NR_bpf = 386,
        PerfEventOpen: __NR_perf_event_open = 364,
        Clone: __NR_clone = 120,
        Clone3: __NR_clone3 = 435,
        Unshare: __NR_unshare = 337,
        Personality: __NR_personality = 136,
    ),
});

/// The table of the architecture box is built for, if it has one.
#[cfg(target_arch = "x86_64")]
pub const NATIVE: Option<&Arch> = Some(&X86_64);
#[cfg(target_arch = "aarch64")]
pub const NATIVE: Option<&Arch> = Some(&AARCH64);
#[cfg(target_arch = "arm")]
pub const NATIVE: Option<&Arch> = Some(&ARM);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")))]
pub const NATIVE: Option<&Arch> = None;
