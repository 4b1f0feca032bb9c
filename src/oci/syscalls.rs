//! Syscall names and numbers, for compiling OCI seccomp profiles (which
//! name syscalls) on x86_64, aarch64 and 32-bit arm (EABI). A build holds
//! only its own architecture's table; the tests hold all three.
//!
//! Each table is the names in number order, one space apart, an empty
//! name standing for a number without a syscall, packed at compile time
//! five bits a character (the names use 31 characters and the space):
//! about 2.2 KiB, where the text is 3.5 KiB and a table of (name, number)
//! pairs would take three times as much. The
//! numbers are linux-raw-sys 0.12's `__NR_*` constants (and arm's
//! `__ARM_NR_*` private calls) for each architecture, and the tests check
//! the tables against that crate's sources; regenerate them from there
//! when linux-raw-sys moves (the test names what differs).

/// One architecture's syscalls.
pub struct Table {
    /// Names by number, from 0, separated by single spaces, packed by
    /// [`pack`].
    packed: &'static [u8],
    /// Characters in the names (with the spaces).
    len: usize,
    /// The names as written, for the tests and fuzz checks.
    #[cfg(any(test, fuzzing))]
    names: &'static str,
    /// Names outside the run from 0: aliases and arm's private calls.
    extra: &'static [(&'static str, u32)],
}

/// The characters of syscall names, by their 5-bit code. One more (a `z`,
/// a `5`) does not fit: [`pack`] then fails the build, naming it.
const ALPHABET: &[u8; 32] = b" _12346abcdefghijklmnopqrstuvwxy";

/// Bytes that `text` packs into.
const fn packed_len(text: &str) -> usize {
    (text.len() * 5).div_ceil(8)
}

/// `text` at five bits a character (its code in [`ALPHABET`]), from the
/// low bits of the first byte up; run by the compiler.
const fn pack<const N: usize>(text: &str) -> [u8; N] {
    let text = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < text.len() {
        let mut code = 0;
        while ALPHABET[code] != text[i] {
            code += 1;
            assert!(code < 32, "a syscall name has a character ALPHABET lacks");
        }
        let bit = i * 5;
        let shifted = (code as u16) << (bit % 8);
        out[bit / 8] |= shifted as u8;
        if bit / 8 + 1 < N {
            out[bit / 8 + 1] |= (shifted >> 8) as u8;
        }
        i += 1;
    }
    out
}

/// A [`Table`] of `names` (one string, packed when the build is compiled)
/// and `extra`.
macro_rules! table {
    ($names:expr, $extra:expr $(,)?) => {{
        const NAMES: &str = $names;
        const PACKED: [u8; packed_len(NAMES)] = pack(NAMES);
        Table {
            packed: &PACKED,
            len: NAMES.len(),
            #[cfg(any(test, fuzzing))]
            names: NAMES,
            extra: $extra,
        }
    }};
}

impl Table {
    /// Character `i` of the names.
    fn char(&self, i: usize) -> u8 {
        let bit = i * 5;
        let low = self.packed[bit / 8];
        let high = self.packed.get(bit / 8 + 1).copied().unwrap_or(0);
        let pair = u16::from(low) | u16::from(high) << 8;
        ALPHABET[usize::from(pair >> (bit % 8)) & 31]
    }

    /// The number of syscall `name` here, if it has one.
    pub fn number(&self, name: &[u8]) -> Option<u32> {
        if name.is_empty() {
            return None;
        }
        // Through the names, comparing the word at hand as it goes.
        let (mut nr, mut at, mut same) = (0, 0, true);
        for i in 0..=self.len {
            let c = if i == self.len { b' ' } else { self.char(i) };
            if c != b' ' {
                same &= name.get(at) == Some(&c);
                at += 1;
                continue;
            }
            if same && at == name.len() {
                return Some(nr);
            }
            (nr, at, same) = (nr + 1, 0, true);
        }
        self.extra
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|&(_, nr)| nr)
    }

    /// Every (name, number).
    #[cfg(any(test, fuzzing))]
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.names
            .split(' ')
            .enumerate()
            .filter(|(_, n)| !n.is_empty())
            .map(|(nr, n)| (n, nr as u32))
            .chain(self.extra.iter().copied())
    }
}

/// x86_64: numbers 0 to 469.
#[cfg(any(test, fuzzing, target_arch = "x86_64"))]
pub const X86_64: Table = table!(
    concat!(
        "read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction",
        " rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select",
        " sched_yield mremap msync mincore madvise shmget shmat shmctl dup dup2 pause nanosleep",
        " getitimer alarm setitimer getpid sendfile socket connect accept sendto recvfrom sendmsg",
        " recvmsg shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt",
        " clone fork vfork execve exit wait4 kill uname semget semop semctl shmdt msgget msgsnd",
        " msgrcv msgctl fcntl flock fsync fdatasync truncate ftruncate getdents getcwd chdir",
        " fchdir rename mkdir rmdir creat link unlink symlink readlink chmod fchmod chown fchown",
        " lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace getuid syslog getgid",
        " setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid",
        " getgroups setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid",
        " getsid capget capset rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend",
        " sigaltstack utime mknod uselib personality ustat statfs fstatfs sysfs getpriority",
        " setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler",
        " sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock",
        " mlockall munlockall vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex",
        " setrlimit chroot sync acct settimeofday mount umount2 swapon swapoff reboot sethostname",
        " setdomainname iopl ioperm create_module init_module delete_module get_kernel_syms",
        " query_module quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid",
        " readahead setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr",
        " llistxattr flistxattr removexattr lremovexattr fremovexattr tkill time futex",
        " sched_setaffinity sched_getaffinity set_thread_area io_setup io_destroy io_getevents",
        " io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old",
        " epoll_wait_old remap_file_pages getdents64 set_tid_address restart_syscall semtimedop",
        " fadvise64 timer_create timer_settime timer_gettime timer_getoverrun timer_delete",
        " clock_settime clock_gettime clock_getres clock_nanosleep exit_group epoll_wait",
        " epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink",
        " mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key",
        " request_key keyctl ioprio_set ioprio_get inotify_init inotify_add_watch",
        " inotify_rm_watch migrate_pages openat mkdirat mknodat fchownat futimesat newfstatat",
        " unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare",
        " set_robust_list get_robust_list splice tee sync_file_range vmsplice move_pages",
        " utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime",
        " timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1",
        " preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark",
        " prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns",
        " getcpu process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr",
        " renameat2 seccomp getrandom memfd_create kexec_file_load bpf execveat userfaultfd",
        " membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free",
        " statx io_pgetevents rseq uretprobe                                                     ",
        "                                    pidfd_send_signal io_uring_setup io_uring_enter",
        " io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open clone3",
        " close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr",
        " quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self",
        " memfd_secret process_mrelease futex_waitv set_mempolicy_home_node cachestat fchmodat2",
        " map_shadow_stack futex_wake futex_wait futex_requeue statmount listmount",
        " lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat getxattrat",
        " listxattrat removexattrat open_tree_attr file_getattr file_setattr",
    ),
    &[],
);

/// aarch64: numbers 0 to 469.
#[cfg(any(test, fuzzing, target_arch = "aarch64"))]
pub const AARCH64: Table = table!(
    concat!(
        "io_setup io_destroy io_submit io_cancel io_getevents setxattr lsetxattr fsetxattr",
        " getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr",
        " fremovexattr getcwd lookup_dcookie eventfd2 epoll_create1 epoll_ctl epoll_pwait dup",
        " dup3 fcntl inotify_init1 inotify_add_watch inotify_rm_watch ioctl ioprio_set ioprio_get",
        " flock mknodat mkdirat unlinkat symlinkat linkat renameat umount2 mount pivot_root",
        " nfsservctl statfs fstatfs truncate ftruncate fallocate faccessat chdir fchdir chroot",
        " fchmod fchmodat fchownat fchown openat close vhangup pipe2 quotactl getdents64 lseek",
        " read write readv writev pread64 pwrite64 preadv pwritev sendfile pselect6 ppoll",
        " signalfd4 vmsplice splice tee readlinkat newfstatat fstat sync fsync fdatasync",
        " sync_file_range timerfd_create timerfd_settime timerfd_gettime utimensat acct capget",
        " capset personality exit exit_group waitid set_tid_address unshare futex set_robust_list",
        " get_robust_list nanosleep getitimer setitimer kexec_load init_module delete_module",
        " timer_create timer_gettime timer_getoverrun timer_settime timer_delete clock_settime",
        " clock_gettime clock_getres clock_nanosleep syslog ptrace sched_setparam",
        " sched_setscheduler sched_getscheduler sched_getparam sched_setaffinity",
        " sched_getaffinity sched_yield sched_get_priority_max sched_get_priority_min",
        " sched_rr_get_interval restart_syscall kill tkill tgkill sigaltstack rt_sigsuspend",
        " rt_sigaction rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigreturn",
        " setpriority getpriority reboot setregid setgid setreuid setuid setresuid getresuid",
        " setresgid getresgid setfsuid setfsgid times setpgid getpgid getsid setsid getgroups",
        " setgroups uname sethostname setdomainname getrlimit setrlimit getrusage umask prctl",
        " getcpu gettimeofday settimeofday adjtimex getpid getppid getuid geteuid getgid getegid",
        " gettid sysinfo mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr",
        " msgget msgctl msgrcv msgsnd semget semctl semtimedop semop shmget shmctl shmat shmdt",
        " socket socketpair bind listen accept connect getsockname getpeername sendto recvfrom",
        " setsockopt getsockopt shutdown sendmsg recvmsg readahead brk munmap mremap add_key",
        " request_key keyctl clone execve mmap fadvise64 swapon swapoff mprotect msync mlock",
        " munlock mlockall munlockall mincore madvise remap_file_pages mbind get_mempolicy",
        " set_mempolicy migrate_pages move_pages rt_tgsigqueueinfo perf_event_open accept4",
        " recvmmsg                 wait4 prlimit64 fanotify_init fanotify_mark name_to_handle_at",
        " open_by_handle_at clock_adjtime syncfs setns sendmmsg process_vm_readv",
        " process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp",
        " getrandom memfd_create bpf execveat userfaultfd membarrier mlock2 copy_file_range",
        " preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq",
        " kexec_file_load                                                                        ",
        "                                                          pidfd_send_signal",
        " io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig",
        " fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2",
        " process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset",
        " landlock_add_rule landlock_restrict_self memfd_secret process_mrelease futex_waitv",
        " set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait",
        " futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules",
        " mseal setxattrat getxattrat listxattrat removexattrat open_tree_attr file_getattr",
        " file_setattr",
    ),
    &[],
);

/// arm: numbers 0 to 469.
#[cfg(any(test, fuzzing, target_arch = "arm"))]
pub const ARM: Table = table!(
    concat!(
        "restart_syscall exit fork read write open close  creat link unlink execve chdir  mknod",
        " chmod lchown   lseek getpid mount  setuid getuid  ptrace   pause    access nice  sync",
        " kill rename mkdir rmdir dup pipe times  brk setgid getgid  geteuid getegid acct umount2",
        "  ioctl fcntl  setpgid   umask chroot ustat dup2 getppid getpgrp setsid sigaction  ",
        " setreuid setregid sigsuspend sigpending sethostname setrlimit  getrusage gettimeofday",
        " settimeofday getgroups setgroups  symlink  readlink uselib swapon reboot   munmap",
        " truncate ftruncate fchmod fchown getpriority setpriority  statfs fstatfs   syslog",
        " setitimer getitimer stat lstat fstat   vhangup   wait4 swapoff sysinfo  fsync sigreturn",
        " clone setdomainname uname  adjtimex mprotect sigprocmask  init_module delete_module ",
        " quotactl getpgid fchdir bdflush sysfs personality  setfsuid setfsgid _llseek getdents",
        " _newselect flock msync readv writev getsid fdatasync _sysctl mlock munlock mlockall",
        " munlockall sched_setparam sched_getparam sched_setscheduler sched_getscheduler",
        " sched_yield sched_get_priority_max sched_get_priority_min sched_rr_get_interval",
        " nanosleep mremap setresuid getresuid   poll nfsservctl setresgid getresgid prctl",
        " rt_sigreturn rt_sigaction rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo",
        " rt_sigsuspend pread64 pwrite64 chown getcwd capget capset sigaltstack sendfile   vfork",
        " ugetrlimit mmap2 truncate64 ftruncate64 stat64 lstat64 fstat64 lchown32 getuid32",
        " getgid32 geteuid32 getegid32 setreuid32 setregid32 getgroups32 setgroups32 fchown32",
        " setresuid32 getresuid32 setresgid32 getresgid32 chown32 setuid32 setgid32 setfsuid32",
        " setfsgid32 getdents64 pivot_root mincore madvise fcntl64   gettid readahead setxattr",
        " lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr",
        " removexattr lremovexattr fremovexattr tkill sendfile64 futex sched_setaffinity",
        " sched_getaffinity io_setup io_destroy io_getevents io_submit io_cancel exit_group",
        " lookup_dcookie epoll_create epoll_ctl epoll_wait remap_file_pages   set_tid_address",
        " timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_settime",
        " clock_gettime clock_getres clock_nanosleep statfs64 fstatfs64 tgkill utimes",
        " arm_fadvise64_64 pciconfig_iobase pciconfig_read pciconfig_write mq_open mq_unlink",
        " mq_timedsend mq_timedreceive mq_notify mq_getsetattr waitid socket bind connect listen",
        " accept getsockname getpeername socketpair send sendto recv recvfrom shutdown setsockopt",
        " getsockopt sendmsg recvmsg semop semget semctl msgsnd msgrcv msgget msgctl shmat shmdt",
        " shmget shmctl add_key request_key keyctl semtimedop vserver ioprio_set ioprio_get",
        " inotify_init inotify_add_watch inotify_rm_watch mbind get_mempolicy set_mempolicy",
        " openat mkdirat mknodat fchownat futimesat fstatat64 unlinkat renameat linkat symlinkat",
        " readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list get_robust_list",
        " splice arm_sync_file_range tee vmsplice move_pages getcpu epoll_pwait kexec_load",
        " utimensat signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime",
        " signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev",
        " rt_tgsigqueueinfo perf_event_open recvmmsg accept4 fanotify_init fanotify_mark",
        " prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns",
        " process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr",
        " renameat2 seccomp getrandom memfd_create bpf execveat userfaultfd membarrier mlock2",
        " copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free statx rseq",
        " io_pgetevents migrate_pages kexec_file_load  clock_gettime64 clock_settime64",
        " clock_adjtime64 clock_getres_time64 clock_nanosleep_time64 timer_gettime64",
        " timer_settime64 timerfd_gettime64 timerfd_settime64 utimensat_time64 pselect6_time64",
        " ppoll_time64  io_pgetevents_time64 recvmmsg_time64 mq_timedsend_time64",
        " mq_timedreceive_time64 semtimedop_time64 rt_sigtimedwait_time64 futex_time64",
        " sched_rr_get_interval_time64 pidfd_send_signal io_uring_setup io_uring_enter",
        " io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open clone3",
        " close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr",
        " quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self ",
        " process_mrelease futex_waitv set_mempolicy_home_node cachestat fchmodat2",
        " map_shadow_stack futex_wake futex_wait futex_requeue statmount listmount",
        " lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat getxattrat",
        " listxattrat removexattrat open_tree_attr file_getattr file_setattr",
    ),
    &[
        ("sync_file_range2", 341),
        ("breakpoint", 0xf0001),
        ("cacheflush", 0xf0002),
        ("usr26", 0xf0003),
        ("usr32", 0xf0004),
        ("set_tls", 0xf0005),
        ("get_tls", 0xf0006),
    ],
);

/// The table of the architecture box is built for.
#[cfg(target_arch = "x86_64")]
pub const NATIVE: Option<&Table> = Some(&X86_64);
#[cfg(target_arch = "aarch64")]
pub const NATIVE: Option<&Table> = Some(&AARCH64);
#[cfg(target_arch = "arm")]
pub const NATIVE: Option<&Table> = Some(&ARM);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")))]
pub const NATIVE: Option<&Table> = None;

#[cfg(test)]
mod tests {
    use super::*;

    /// linux-raw-sys's source for `arch`, from cargo's registry (where cargo
    /// unpacked it to build box).
    fn linux_raw_sys_source(arch: &str) -> Option<String> {
        let home = std::env::var("CARGO_HOME")
            .ok()
            .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")))?;
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).ok()?;
        let version = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"linux-raw-sys\"") && p.contains("version = \"0.12"))?
            .split("version = \"")
            .nth(1)?
            .split('"')
            .next()?
            .to_string();
        for registry in std::fs::read_dir(format!("{home}/registry/src"))
            .ok()?
            .flatten()
        {
            let file = registry
                .path()
                .join(format!("linux-raw-sys-{version}/src/{arch}/general.rs"));
            if let Ok(text) = std::fs::read_to_string(file) {
                return Some(text);
            }
        }
        None
    }

    /// Each table holds exactly linux-raw-sys's syscall numbers.
    #[test]
    fn the_tables_are_linux_raw_sys_numbers() {
        for (arch, table) in [("x86_64", &X86_64), ("aarch64", &AARCH64), ("arm", &ARM)] {
            let Some(source) = linux_raw_sys_source(arch) else {
                eprintln!(
                    "SKIPPED the_tables_are_linux_raw_sys_numbers: no linux-raw-sys source in cargo's registry"
                );
                return;
            };
            let mut want: Vec<(String, u32)> = Vec::new();
            for line in source.lines() {
                let Some(rest) = line
                    .strip_prefix("pub const __NR_")
                    .or_else(|| line.strip_prefix("pub const __ARM_NR_"))
                else {
                    continue;
                };
                let (name, value) = rest.split_once(": u32 = ").unwrap();
                if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    continue; // SYSCALL_BASE, OABI_SYSCALL_BASE, BASE
                }
                want.push((
                    name.to_string(),
                    value.trim_end_matches(';').parse().unwrap(),
                ));
            }
            let mut got: Vec<(String, u32)> =
                table.entries().map(|(n, nr)| (n.to_string(), nr)).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{arch}");
            for (name, nr) in &want {
                assert_eq!(table.number(name.as_bytes()), Some(*nr), "{arch} {name}");
            }
        }
    }

    /// Each table's packed names read back as written.
    #[test]
    fn the_packed_names_unpack() {
        for table in [&X86_64, &AARCH64, &ARM] {
            let unpacked: Vec<u8> = (0..table.len).map(|i| table.char(i)).collect();
            assert_eq!(unpacked, table.names.as_bytes());
        }
        assert_eq!(pack::<4>("ab y"), {
            // a = 7, b = 8, ' ' = 0, y = 31, five bits each from the low end.
            let bits: u32 = 7 | 8 << 5 | 31 << 15;
            [bits as u8, (bits >> 8) as u8, (bits >> 16) as u8, 0]
        });
    }

    #[test]
    fn the_native_table_is_linux_raw_sys() {
        use linux_raw_sys::general as k;
        let table = NATIVE.unwrap();
        assert_eq!(table.number(b"read"), Some(k::__NR_read));
        assert_eq!(table.number(b"openat"), Some(k::__NR_openat));
        assert_eq!(table.number(b"clone3"), Some(k::__NR_clone3));
        assert_eq!(table.number(b"no_such_call"), None);
        assert_eq!(table.number(b""), None);
    }
}
