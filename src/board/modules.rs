//! Kernel modules, loaded by box-init itself (no modprobe, no kmod): the
//! names in `box.modules=a,b` or else /etc/box/modules (one per line, `#`
//! comments, parameters after the name: `i6300esb heartbeat=30`), each after
//! its dependencies, with finit_module(2) from /lib/modules/$(uname -r).
//!
//! The dependencies come from that directory's modules.dep in depmod's
//! format, which lists every dependency of a module, direct or not, the one
//! to load first last (`kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko …`);
//! `cargo xtask initramfs` writes one for exactly the modules it packs. It
//! is read once into a fixed buffer.
//!
//! A module already loaded (or built in, with a /sys/module entry) is
//! skipped. A failure is one line naming the module and the file that
//! failed (its own, or a dependency's); the boot goes on with the others.

use core::ffi::CStr;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::board::{Cmdline, Log};
use crate::log;
use crate::sys::fs::read_whole;
use crate::text::{Bytes, CPath};

/// The board's list, when the command line has none.
const BOARD_FILE: &CStr = c"/etc/box/modules";
/// Largest /etc/box/modules.
const LIST_MAX: usize = 4096;
/// Largest modules.dep (depmod's for a whole distribution kernel is some
/// 400 KiB; xtask's lists only the modules packed).
const DEP_MAX: usize = 64 * 1024;
/// finit_module(2): the file is compressed, the kernel decompresses it.
const MODULE_INIT_COMPRESSED_FILE: i32 = 4;

/// Load the board's modules: `box.modules=` or /etc/box/modules.
pub fn load(log: &mut Log, cmdline: &Cmdline) {
    let mut file = [0u8; LIST_MAX];
    let (list, separator) = match cmdline.modules() {
        Some(list) => (list, b','),
        None => match read_whole(BOARD_FILE, &mut file) {
            Ok(n) => (&file[..n], b'\n'),
            Err(_) => return,
        },
    };
    let uname = rustix::system::uname();
    let dir =
        CPath::from_parts(&[b"/lib/modules/", uname.release().to_bytes()]).unwrap_or_default();
    let start = crate::board::log::monotonic_ns();
    let mut deps = [0u8; DEP_MAX];
    let mut deps_len = None;
    let mut loaded = 0;
    for item in list.split(|&b| b == separator) {
        let item = item
            .split(|&b| b == b'#')
            .next()
            .unwrap_or(b"")
            .trim_ascii();
        let (word, params) = match item.iter().position(|b| b.is_ascii_whitespace()) {
            Some(i) => (&item[..i], item[i..].trim_ascii()),
            None => (item, &b""[..]),
        };
        let name = word;
        if name.is_empty() || is_present(name) {
            continue;
        }
        // modules.dep is read once, when a module needs loading.
        let len = match deps_len {
            Some(len) => len,
            None => {
                let path =
                    CPath::from_parts(&[dir.as_bytes(), b"/modules.dep"]).unwrap_or_default();
                match read_whole(path.as_cstr(), &mut deps) {
                    Ok(n) => *deps_len.insert(n),
                    Err(e) => return report(log, name, "read", path.as_bytes(), e),
                }
            }
        };
        let Some(line) = deps[..len].split(|&b| b == b'\n').find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            is_module(&line[..colon], name).then(|| line.split_at(colon))
        }) else {
            report(log, name, "look up in", b"modules.dep", Errno::NOENT);
            continue;
        };
        let (own, needed) = (line.0, &line.1[1..]);
        // depmod's order: the last dependency is the one to load first.
        // One loaded already answers EEXIST.
        let mut ok = true;
        for dep in needed.rsplit(|b| b.is_ascii_whitespace()) {
            if ok && !dep.is_empty() {
                ok = insert_one(log, &dir, name, dep, b"", &mut loaded);
            }
        }
        if ok {
            insert_one(log, &dir, name, own.trim_ascii(), params, &mut loaded);
        }
    }
    if loaded > 0 {
        let ms = (crate::board::log::monotonic_ns() - start) / 1_000_000;
        log!(
            log,
            "loaded {loaded} kernel modules in {ms} ms (+{})",
            log.elapsed()
        );
    }
}

/// Load `file` for module `name`, counting it in `loaded`; false (after
/// its line) when it failed.
fn insert_one(
    log: &mut Log,
    dir: &CPath,
    name: &[u8],
    file: &[u8],
    params: &[u8],
    loaded: &mut u32,
) -> bool {
    match insert(dir, file, params) {
        Ok(new) => {
            *loaded += u32::from(new);
            true
        }
        Err((step, e)) => {
            report(log, name, step, file, e);
            false
        }
    }
}

/// One line for a module that was not loaded: the module, what failed on
/// which file (its own or a dependency's), and why.
fn report(log: &mut Log, name: &[u8], step: &str, file: &[u8], e: Errno) {
    let hint = if step == "finit_module" && e == Errno::NOENT {
        " (a symbol it needs is missing: dmesg names it)"
    } else {
        ""
    };
    log!(
        log,
        "modules: {}: {step} {}: {}{hint}",
        Bytes(name),
        Bytes(file),
        crate::error::ErrnoText(e)
    );
}

/// finit_module(2) of `file` (relative to the modules directory, or
/// absolute): whether it was loaded now (EEXIST: it was there already).
fn insert(dir: &CPath, file: &[u8], params: &[u8]) -> Result<bool, (&'static str, Errno)> {
    let path = if file.starts_with(b"/") {
        CPath::from_bytes(file)
    } else {
        CPath::from_parts(&[dir.as_bytes(), b"/", file])
    }
    .ok_or(("open", Errno::NAMETOOLONG))?;
    let params = CPath::from_bytes(params).ok_or(("finit_module", Errno::TOOBIG))?;
    let fd = rustix::fs::open(
        path.as_cstr(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ("open", e))?;
    let compressed = [&b".xz"[..], b".gz", b".zst"]
        .iter()
        .any(|s| file.ends_with(s));
    let flags = if compressed {
        MODULE_INIT_COMPRESSED_FILE
    } else {
        0
    };
    match rustix::system::finit_module(&fd, params.as_cstr(), flags) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(("finit_module", e)),
    }
}

/// Whether `file` (a path of modules.dep) is module `name`: its name
/// without `.ko` (or `.ko.xz`…), `-` and `_` alike, as the kernel has them.
fn is_module(file: &[u8], name: &[u8]) -> bool {
    let mut stem = crate::text::basename(file.trim_ascii());
    for suffix in [&b".xz"[..], b".gz", b".zst", b".ko"] {
        stem = stem.strip_suffix(suffix).unwrap_or(stem);
    }
    let dash = |b: u8| if b == b'-' { b'_' } else { b };
    stem.len() == name.len() && stem.iter().zip(name).all(|(&a, &b)| dash(a) == dash(b))
}

/// Whether the kernel has the module already: /sys/module/NAME exists for
/// every loaded module (and for built-in ones with parameters), NAME as the
/// kernel spells it (`_`, not `-`).
fn is_present(name: &[u8]) -> bool {
    CPath::from_parts(&[b"/sys/module/", name])
        .is_some_and(|p| rustix::fs::access(p.as_cstr(), rustix::fs::Access::EXISTS).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_as_the_kernel_spells_them() {
        assert!(is_module(b"kernel/fs/ext4/ext4.ko", b"ext4"));
        assert!(is_module(
            b" kernel/arch/x86/crypto/crc32c-intel.ko.xz",
            b"crc32c_intel"
        ));
        assert!(is_module(
            b"kernel/crypto/crc32c_generic.ko.zst",
            b"crc32c-generic"
        ));
        assert!(!is_module(b"kernel/fs/ext4/ext4.ko", b"ext"));
        assert!(!is_module(b"kernel/fs/jbd2/jbd2.ko", b"ext4"));
    }
}
