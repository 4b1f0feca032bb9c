//! bpf(2), for the one thing box asks of it: load a cgroup device program
//! (BPF_PROG_TYPE_CGROUP_DEVICE, Linux 4.15+) and attach it to a
//! container's cgroup v2 group, where it decides every open and mknod of a
//! device node by the container's processes (src/devices.rs writes the
//! program). linux-raw-sys has no <linux/bpf.h>: the few numbers and
//! structures needed are spelled out here, from the kernel's uapi header.

use core::ffi::{CStr, c_long};

use rustix::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::io::Errno;

// enum bpf_cmd.
const BPF_PROG_LOAD: c_long = 5;
const BPF_PROG_ATTACH: c_long = 8;
// enum bpf_prog_type.
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
// enum bpf_attach_type.
const BPF_CGROUP_DEVICE: u32 = 6;
/// Attach flag: the programs of every group from the root down to the
/// process's own all run, and all must allow. A program attached lower
/// can only refuse more, never allow what one above refuses.
const BPF_F_ALLOW_MULTI: u32 = 2;

// Instruction classes, operations and sources (<linux/bpf_common.h>,
// <linux/bpf.h>).
pub const BPF_LDX: u8 = 0x01;
pub const BPF_JMP: u8 = 0x05;
pub const BPF_ALU64: u8 = 0x07;
pub const BPF_W: u8 = 0x00;
pub const BPF_MEM: u8 = 0x60;
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;
pub const BPF_AND: u8 = 0x50;
pub const BPF_RSH: u8 = 0x70;
pub const BPF_MOV: u8 = 0xb0;
pub const BPF_JNE: u8 = 0x50;
pub const BPF_JSET: u8 = 0x40;
pub const BPF_EXIT: u8 = 0x90;

// struct bpf_cgroup_dev_ctx: what a device program is given, three u32s.
/// `(BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*`.
pub const CTX_ACCESS_TYPE: i16 = 0;
pub const CTX_MAJOR: i16 = 4;
pub const CTX_MINOR: i16 = 8;
pub const BPF_DEVCG_ACC_MKNOD: u32 = 1;
pub const BPF_DEVCG_ACC_READ: u32 = 2;
pub const BPF_DEVCG_ACC_WRITE: u32 = 4;
pub const BPF_DEVCG_DEV_BLOCK: u32 = 1;
pub const BPF_DEVCG_DEV_CHAR: u32 = 2;

/// One eBPF instruction (struct bpf_insn): opcode, the destination and
/// source registers in one byte (C bitfields, whose order follows the
/// byte order), a jump offset in instructions and an immediate.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Insn {
    pub code: u8,
    regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        // `__u8 dst_reg:4; __u8 src_reg:4;`: the first bitfield takes the
        // low bits on a little-endian machine, the high bits on a big one.
        let regs = if cfg!(target_endian = "little") {
            (dst & 0xf) | (src << 4)
        } else {
            (dst << 4) | (src & 0xf)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    #[cfg(test)]
    pub const fn dst(self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    #[cfg(test)]
    pub const fn src(self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

/// The part of `union bpf_attr` that BPF_PROG_LOAD reads up to
/// `expected_attach_type`; the kernel takes a shorter attr as zeros beyond.
#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The part of `union bpf_attr` that BPF_PROG_ATTACH reads.
#[repr(C)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// `bpf(BPF_PROG_LOAD)` of a BPF_PROG_TYPE_CGROUP_DEVICE program; the
/// kernel's verifier checks it first (EINVAL or EACCES if it refuses,
/// EPERM without CAP_BPF or CAP_SYS_ADMIN, EINVAL too on a kernel without
/// the program type). The descriptor is close-on-exec (the kernel makes
/// every bpf descriptor so).
pub fn load_device_program(insns: &[Insn], license: &CStr, name: &[u8]) -> Result<OwnedFd, Errno> {
    let mut prog_name = [0u8; 16];
    let len = name.len().min(15);
    prog_name[..len].copy_from_slice(&name[..len]);
    let attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    let fd = bpf(BPF_PROG_LOAD, &raw const attr as u64, size_of::<ProgLoad>())?;
    // SAFETY: on success BPF_PROG_LOAD returns a new descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `bpf(BPF_PROG_ATTACH)`: attach `program` to the cgroup v2 group open at
/// `cgroup` as its device program, with BPF_F_ALLOW_MULTI (so it adds to
/// what the groups above decide, and nothing below can widen it). The
/// attachment holds the program: the caller may close its descriptor.
pub fn attach_device_program(cgroup: BorrowedFd<'_>, program: BorrowedFd<'_>) -> Result<(), Errno> {
    let attr = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(
        BPF_PROG_ATTACH,
        &raw const attr as u64,
        size_of::<ProgAttach>(),
    )
    .map(drop)
}

fn bpf(cmd: c_long, attr: u64, size: usize) -> Result<c_long, Errno> {
    // SAFETY: `attr` points at a live, fully initialised attr structure of
    // `size` bytes (the callers' locals), and every pointer inside it
    // (instructions, license) refers to memory that outlives the call; the
    // kernel copies what it needs before returning.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *const u8, size) };
    if ret < 0 {
        // SAFETY: the calling thread's errno slot, valid for its life.
        Err(Errno::from_raw_os_error(unsafe {
            *libc::__errno_location()
        }))
    } else {
        Ok(ret)
    }
}
