//! Just enough ELF to check that a program can run in the initramfs: built
//! for the board's architecture and static (no PT_INTERP, so no loader or
//! libc is needed there).

use anyhow::{Result, bail};

use crate::board::Target;

const PT_INTERP: u32 = 3;

/// `e_machine` of each architecture (elf(5)).
fn machine(arch: &str) -> u16 {
    match arch {
        "x86_64" => 62,
        "aarch64" => 183,
        _ => 0,
    }
}

/// Whether `bytes` is a static little-endian 64-bit ELF executable for `target`.
pub fn check_static(bytes: &[u8], target: Target) -> Result<()> {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    // Magic, ELFCLASS64, ELFDATA2LSB.
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01") {
        bail!("not a 64-bit little-endian ELF file");
    }
    if u16_at(0x12) != Some(machine(target.arch)) {
        bail!("not built for {}", target.arch);
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        bail!("truncated ELF header");
    };
    for index in 0..phnum as usize {
        let at = phoff as usize + index * phentsize as usize;
        match u32_at(at) {
            Some(PT_INTERP) => bail!("dynamically linked (it names a program interpreter)"),
            Some(_) => {}
            None => bail!("truncated program headers"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::TARGETS;

    /// A minimal ELF header with one program header of type `p_type`.
    fn elf(machine: u16, p_type: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 64 + 56];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        bytes[0x12..0x14].copy_from_slice(&machine.to_le_bytes());
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        bytes[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        bytes[64..68].copy_from_slice(&p_type.to_le_bytes());
        bytes
    }

    #[test]
    fn static_dynamic_and_foreign() {
        let x86 = TARGETS[0];
        assert!(check_static(&elf(62, 1), x86).is_ok());
        assert!(check_static(&elf(62, PT_INTERP), x86).is_err());
        assert!(check_static(&elf(183, 1), x86).is_err());
        assert!(check_static(b"#!/bin/sh\n", x86).is_err());
    }
}
