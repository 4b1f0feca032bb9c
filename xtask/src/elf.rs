//! Just enough ELF to check that a program can run in the initramfs: built
//! for the board's architecture and static (no PT_INTERP, so no loader or
//! libc is needed there); and to read a kernel module's .modinfo section.

use anyhow::{Result, bail};

use crate::board::Target;

const PT_INTERP: u32 = 3;

/// The ELF class and `e_machine` of each architecture (elf(5)).
fn machine(arch: &str) -> Option<(Class, u16)> {
    match arch {
        "x86_64" => Some((Class::Elf64, 62)),
        "aarch64" => Some((Class::Elf64, 183)),
        "arm" => Some((Class::Elf32, 40)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Elf32,
    Elf64,
}

/// The architecture (Rust's name) a little-endian ELF file is for, from
/// its class and `e_machine`; `None` for any other file.
pub fn arch(bytes: &[u8]) -> Option<&'static str> {
    let class = match bytes.get(..6)? {
        b"\x7fELF\x01\x01" => Class::Elf32,
        b"\x7fELF\x02\x01" => Class::Elf64,
        _ => return None,
    };
    let number = u16::from_le_bytes(bytes.get(0x12..0x14)?.try_into().ok()?);
    ["x86_64", "aarch64", "arm"]
        .into_iter()
        .find(|&arch| machine(arch) == Some((class, number)))
}

/// `e_flags` of an ARM program for the EABI version 5, the only one an
/// EABI kernel without OABI_COMPAT (every armhf kernel) runs.
const EF_ARM_EABI_MASK: u32 = 0xff00_0000;
const EF_ARM_EABI_VER5: u32 = 0x0500_0000;

/// Whether `bytes` is a static little-endian ELF executable for `target`.
pub fn check_static(bytes: &[u8], target: Target) -> Result<()> {
    let Some((class, number)) = machine(target.arch) else {
        bail!("xtask knows no ELF machine for {}", target.arch);
    };
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
    // Magic, ELFCLASS32 or 64, ELFDATA2LSB.
    let (magic, kind) = match class {
        Class::Elf32 => (b"\x7fELF\x01\x01", "32-bit"),
        Class::Elf64 => (b"\x7fELF\x02\x01", "64-bit"),
    };
    if bytes.get(..6) != Some(magic) {
        bail!("not a {kind} little-endian ELF file");
    }
    if u16_at(0x12) != Some(number) {
        bail!("not built for {}", target.name);
    }
    // Where the program headers are, and the flags, by class.
    let (phoff, phentsize, phnum, flags) = match class {
        Class::Elf32 => (
            u32_at(0x1c).map(u64::from),
            u16_at(0x2a),
            u16_at(0x2c),
            u32_at(0x24),
        ),
        Class::Elf64 => (u64_at(0x20), u16_at(0x36), u16_at(0x38), u32_at(0x30)),
    };
    let (Some(phoff), Some(phentsize), Some(phnum), Some(flags)) = (phoff, phentsize, phnum, flags)
    else {
        bail!("truncated ELF header");
    };
    if target.arch == "arm" && flags & EF_ARM_EABI_MASK != EF_ARM_EABI_VER5 {
        bail!("not an EABI version 5 program (e_flags {flags:#x})");
    }
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

/// The bytes of section `name` of a little-endian ELF file (32- or 64-bit,
/// as kernel modules of every architecture here are); `None` if it has no
/// such section.
pub fn section<'a>(bytes: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let int = |at: usize, len: usize| -> Result<u64> {
        let Some(field) = bytes.get(at..at + len) else {
            bail!("truncated ELF file");
        };
        let mut value = [0u8; 8];
        value[..len].copy_from_slice(field);
        Ok(u64::from_le_bytes(value))
    };
    let wide = match bytes.get(..6) {
        Some(b"\x7fELF\x02\x01") => true,
        Some(b"\x7fELF\x01\x01") => false,
        _ => bail!("not a little-endian ELF file"),
    };
    // e_shoff, e_shentsize, e_shnum, e_shstrndx; then in each section
    // header sh_name, sh_offset and sh_size (elf(5)).
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (int(0x28, 8)?, int(0x3a, 2)?, int(0x3c, 2)?, int(0x3e, 2)?)
    } else {
        (int(0x20, 4)?, int(0x2e, 2)?, int(0x30, 2)?, int(0x32, 2)?)
    };
    let header = |index: u64| -> Result<(u64, u64, u64)> {
        let at = (shoff + index * shentsize) as usize;
        Ok(if wide {
            (int(at, 4)?, int(at + 24, 8)?, int(at + 32, 8)?)
        } else {
            (int(at, 4)?, int(at + 16, 4)?, int(at + 20, 4)?)
        })
    };
    let contents = |offset: u64, size: u64| -> Result<&'a [u8]> {
        bytes
            .get(offset as usize..(offset + size) as usize)
            .ok_or_else(|| anyhow::anyhow!("a section runs past the end of the file"))
    };
    if shnum == 0 || shstrndx >= shnum {
        return Ok(None);
    }
    let (_, names_offset, names_size) = header(shstrndx)?;
    let names = contents(names_offset, names_size)?;
    for index in 0..shnum {
        let (name_at, offset, size) = header(index)?;
        let found = names
            .get(name_at as usize..)
            .and_then(|rest| rest.split(|&b| b == 0).next());
        if found == Some(name.as_bytes()) {
            return contents(offset, size).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::board::TARGETS;

    /// An ELF file with a section-name table and one section `name`
    /// holding `data`.
    pub fn with_section(wide: bool, name: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0u8; 0x40];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = if wide { 2 } else { 1 };
        bytes[5] = 1;
        let names = format!("\0.shstrtab\0{name}\0");
        let names_at = bytes.len();
        bytes.extend_from_slice(names.as_bytes());
        let data_at = bytes.len();
        bytes.extend_from_slice(data);
        while !bytes.len().is_multiple_of(8) {
            bytes.push(0);
        }
        let shoff = bytes.len();
        let entsize = if wide { 64 } else { 40 };
        // Section 0 is null; 1 the names; 2 the data.
        let sections = [
            (0, 0, 0),
            (1, names_at, names.len()),
            (11, data_at, data.len()),
        ];
        for (name_at, offset, size) in sections {
            let mut header = vec![0u8; entsize];
            header[..4].copy_from_slice(&(name_at as u32).to_le_bytes());
            if wide {
                header[24..32].copy_from_slice(&(offset as u64).to_le_bytes());
                header[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            } else {
                header[16..20].copy_from_slice(&(offset as u32).to_le_bytes());
                header[20..24].copy_from_slice(&(size as u32).to_le_bytes());
            }
            bytes.extend_from_slice(&header);
        }
        let put = |bytes: &mut Vec<u8>, at: usize, value: u64, len: usize| {
            bytes[at..at + len].copy_from_slice(&value.to_le_bytes()[..len]);
        };
        if wide {
            put(&mut bytes, 0x28, shoff as u64, 8);
            put(&mut bytes, 0x3a, entsize as u64, 2);
            put(&mut bytes, 0x3c, 3, 2);
            put(&mut bytes, 0x3e, 1, 2);
        } else {
            put(&mut bytes, 0x20, shoff as u64, 4);
            put(&mut bytes, 0x2e, entsize as u64, 2);
            put(&mut bytes, 0x30, 3, 2);
            put(&mut bytes, 0x32, 1, 2);
        }
        bytes
    }

    #[test]
    fn sections_of_32_and_64_bit_files() {
        for wide in [true, false] {
            let file = with_section(wide, ".modinfo", b"depends=a,b\0");
            assert_eq!(
                section(&file, ".modinfo").unwrap(),
                Some(&b"depends=a,b\0"[..])
            );
            assert_eq!(section(&file, ".text").unwrap(), None);
        }
        assert!(section(b"#!/bin/sh", ".modinfo").is_err());
        let mut truncated = with_section(true, ".modinfo", b"x");
        truncated.truncate(truncated.len() - 40);
        assert!(section(&truncated, ".modinfo").is_err());
    }

    /// A minimal 64-bit ELF header with one program header of type `p_type`.
    fn elf64(machine: u16, p_type: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 64 + 56];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        bytes[0x12..0x14].copy_from_slice(&machine.to_le_bytes());
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        bytes[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        bytes[64..68].copy_from_slice(&p_type.to_le_bytes());
        bytes
    }

    /// The same in 32 bits, with `e_flags`.
    fn elf32(machine: u16, flags: u32, p_type: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 52 + 32];
        bytes[..6].copy_from_slice(b"\x7fELF\x01\x01");
        bytes[0x12..0x14].copy_from_slice(&machine.to_le_bytes());
        bytes[0x1c..0x20].copy_from_slice(&52u32.to_le_bytes());
        bytes[0x24..0x28].copy_from_slice(&flags.to_le_bytes());
        bytes[0x2a..0x2c].copy_from_slice(&32u16.to_le_bytes());
        bytes[0x2c..0x2e].copy_from_slice(&1u16.to_le_bytes());
        bytes[52..56].copy_from_slice(&p_type.to_le_bytes());
        bytes
    }

    fn target(name: &str) -> Target {
        *TARGETS.iter().find(|t| t.name == name).unwrap()
    }

    #[test]
    fn static_dynamic_and_foreign() {
        let x86 = target("x86_64");
        assert!(check_static(&elf64(62, 1), x86).is_ok());
        assert!(check_static(&elf64(62, PT_INTERP), x86).is_err());
        assert!(check_static(&elf64(183, 1), x86).is_err());
        assert!(check_static(b"#!/bin/sh\n", x86).is_err());
        assert!(check_static(&elf32(40, EF_ARM_EABI_VER5, 1), x86).is_err());
    }

    #[test]
    fn arm_is_32_bit_and_eabi5() {
        let armv7 = target("armv7");
        // EABI5 with the hard-float flag, as rust-lld writes it.
        assert!(check_static(&elf32(40, EF_ARM_EABI_VER5 | 0x400, 1), armv7).is_ok());
        assert!(check_static(&elf32(40, EF_ARM_EABI_VER5, PT_INTERP), armv7).is_err());
        let error = check_static(&elf32(40, 0, 1), armv7).unwrap_err();
        assert!(error.to_string().contains("EABI"), "{error}");
        assert!(check_static(&elf64(40, 1), armv7).is_err());
        assert!(check_static(&elf32(62, EF_ARM_EABI_VER5, 1), armv7).is_err());
    }

    #[test]
    fn architectures() {
        assert_eq!(arch(&elf64(62, 1)), Some("x86_64"));
        assert_eq!(arch(&elf64(183, 1)), Some("aarch64"));
        assert_eq!(arch(&elf32(40, 0, 1)), Some("arm"));
        assert_eq!(arch(&elf64(40, 1)), None);
        assert_eq!(arch(b"#!/bin/sh\n"), None);
    }
}
