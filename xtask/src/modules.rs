//! The kernel modules of a board's image: the names in the board's
//! `[modules] load`, with every module they depend on, taken from the
//! kernel's own tree (the Debian package's lib/modules/VERSION, or
//! `[modules] tree`).
//!
//! Debian's kernel packages ship no modules.dep (depmod runs when the
//! package is installed), so the dependencies are read from each module's
//! .modinfo section (`depends=a,b`), and xtask writes a modules.dep in
//! depmod's format for exactly the modules it packs: box-init reads it to
//! load them in order (src/board/modules.rs). Compressed modules (.ko.xz,
//! .ko.zst, .ko.gz, as newer packages ship) are unpacked here, so that the
//! board's kernel needs no in-kernel decompression.
//!
//! A module that is built into the kernel (modules.builtin) is left out of
//! the list, with a note. A soft dependency (`softdep=pre: crypto-crc32c`,
//! which modprobe would follow through aliases) that no packed module
//! provides is a note too: box-init does not follow them, so the board must
//! list the module that provides it (ext4 needs crc32c_generic).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::board::{Board, KernelSource};
use crate::{elf, host, kernel};

/// The modules packed for a board.
#[derive(Debug)]
pub struct Packed {
    /// `uname -r` of the kernel they were built for.
    pub release: String,
    /// (path under lib/modules/RELEASE, contents), in load order.
    pub files: Vec<(String, Vec<u8>)>,
    /// modules.dep for exactly those files.
    pub dep: String,
    /// /etc/box/modules: the board's list, without built-in modules.
    pub load: Vec<String>,
}

/// One module, as read from the tree.
#[derive(Debug)]
struct Module {
    name: String,
    /// Where it goes, under lib/modules/RELEASE (never compressed).
    path: String,
    bytes: Vec<u8>,
    depends: Vec<String>,
    /// `softdep=pre:` names (module names or aliases).
    soft_pre: Vec<String>,
    aliases: Vec<String>,
}

/// The board's modules, or `None` when it lists none.
pub fn pack(board: &Board) -> Result<Option<Packed>> {
    if board.modules.load.is_empty() {
        return Ok(None);
    }
    let tree = tree(board)?;
    let release = tree
        .file_name()
        .and_then(|n| n.to_str())
        .context("the modules tree has no version in its name")?
        .to_owned();
    let index = index(&tree)?;
    let builtin = builtin(&tree);
    let packed = resolve(&board.modules.load, &index, &builtin, &|path| {
        read_module(path)
    })
    .with_context(|| format!("board {}: [modules] (kernel {release})", board.name))?;
    for note in &packed.notes {
        crate::note!("modules: {note}");
    }
    Ok(Some(Packed {
        release,
        files: packed
            .modules
            .iter()
            .map(|m| (m.path.clone(), m.bytes.clone()))
            .collect(),
        dep: modules_dep(&packed.modules),
        load: packed.load,
    }))
}

/// lib/modules/VERSION of the board's kernel.
fn tree(board: &Board) -> Result<PathBuf> {
    let tree = match (&board.modules.tree, &board.kernel) {
        (Some(tree), _) => tree.clone(),
        (None, KernelSource::Debian(package)) => {
            let root = kernel::debian_tree(package, board.target)?;
            let modules = root.join("lib/modules");
            let mut versions: Vec<PathBuf> = std::fs::read_dir(&modules)
                .with_context(|| format!("reading {}", modules.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("kernel").is_dir())
                .collect();
            versions.sort();
            versions
                .pop()
                .with_context(|| format!("no lib/modules/VERSION/kernel in {}", root.display()))?
        }
        (None, KernelSource::Path(_)) => bail!(
            "board {} lists modules but its kernel is a file: say where its modules are \
             with [modules] tree = \"…/lib/modules/VERSION\"",
            board.name
        ),
    };
    if !tree.join("kernel").is_dir() {
        bail!("{}: no kernel/ directory of modules", tree.display());
    }
    Ok(tree)
}

/// Every module file under the tree's kernel/, by module name.
fn index(tree: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    let mut directories = vec![tree.join("kernel")];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory)
            .with_context(|| format!("reading {}", directory.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                directories.push(path);
            } else if let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(module_name)
            {
                found.insert(name, path);
            }
        }
    }
    Ok(found)
}

/// The names in the tree's modules.builtin.
fn builtin(tree: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(tree.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| module_name(line.rsplit('/').next()?))
        .collect()
}

/// The kernel's name for a module file (`crc32c-intel.ko.xz` →
/// `crc32c_intel`); `None` for a file that is not a module.
fn module_name(file: &str) -> Option<String> {
    let stem = ["", ".xz", ".zst", ".gz"]
        .iter()
        .find_map(|suffix| file.strip_suffix(&format!(".ko{suffix}")))?;
    Some(normalize(stem))
}

/// Module names treat `-` and `_` alike; the kernel's spelling is `_`.
fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// A module file's contents, decompressed.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let unpack = |program: &str, package: &str| -> Result<Vec<u8>> {
        host::ensure_program(program, &[package])?;
        let output = Command::new(program)
            .arg("-dc")
            .arg(path)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} -dc {}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output.stdout)
    };
    if name.ends_with(".ko.xz") {
        unpack("xz", "xz-utils")
    } else if name.ends_with(".ko.zst") {
        unpack("zstd", "zstd")
    } else if name.ends_with(".ko.gz") {
        use std::io::Read;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path)?)
            .read_to_end(&mut bytes)
            .with_context(|| format!("gunzip {}", path.display()))?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

struct Resolved {
    /// In load order: every module after its dependencies.
    modules: Vec<Module>,
    load: Vec<String>,
    notes: Vec<String>,
}

/// The modules `wanted` needs, in load order. `read` gives a module
/// file's (decompressed) bytes.
fn resolve(
    wanted: &[String],
    index: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    read: &dyn Fn(&Path) -> Result<Vec<u8>>,
) -> Result<Resolved> {
    let mut resolved = Resolved {
        modules: Vec::new(),
        load: Vec::new(),
        notes: Vec::new(),
    };
    for name in wanted {
        let name = normalize(name);
        if builtin.contains(&name) {
            resolved.notes.push(format!(
                "{name} is built into this kernel: not packed, not loaded"
            ));
            continue;
        }
        visit(
            &name,
            None,
            index,
            builtin,
            read,
            &mut Vec::new(),
            &mut resolved,
        )?;
        if !resolved.load.contains(&name) {
            resolved.load.push(name);
        }
    }
    // Soft dependencies that nothing packed provides.
    for module in &resolved.modules {
        for soft in &module.soft_pre {
            let provided = resolved
                .modules
                .iter()
                .any(|m| m.name == normalize(soft) || m.aliases.iter().any(|a| a == soft))
                || builtin.contains(&normalize(soft));
            if !provided {
                resolved.notes.push(format!(
                    "{} wants {soft} loaded first (softdep), and no module listed provides it: \
                     box-init does not look modules up by alias, list the one that does",
                    module.name
                ));
            }
        }
    }
    Ok(resolved)
}

/// Depth first: `name`'s dependencies, then `name`.
fn visit(
    name: &str,
    needed_by: Option<&str>,
    index: &BTreeMap<String, PathBuf>,
    builtin: &BTreeSet<String>,
    read: &dyn Fn(&Path) -> Result<Vec<u8>>,
    stack: &mut Vec<String>,
    resolved: &mut Resolved,
) -> Result<()> {
    if resolved.modules.iter().any(|m| m.name == name) || builtin.contains(name) {
        return Ok(());
    }
    if stack.iter().any(|n| n == name) {
        bail!(
            "modules depend on each other in a circle: {} -> {name}",
            stack.join(" -> ")
        );
    }
    let Some(file) = index.get(name) else {
        match needed_by {
            Some(parent) => bail!("{parent} needs {name}, which is not among the kernel's modules"),
            None => bail!("no module {name} among the kernel's modules"),
        }
    };
    let bytes = read(file)?;
    let info = modinfo(&bytes).with_context(|| format!("{}", file.display()))?;
    let depends: Vec<String> = info
        .iter()
        .filter(|(key, _)| key == "depends")
        .flat_map(|(_, value)| value.split(','))
        .filter(|d| !d.is_empty())
        .map(normalize)
        .collect();
    stack.push(name.to_owned());
    for dep in &depends {
        visit(dep, Some(name), index, builtin, read, stack, resolved)?;
    }
    stack.pop();
    let kernel_dir = file
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "kernel"))
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    let relative = file
        .strip_prefix(kernel_dir)
        .unwrap_or(file)
        .to_string_lossy();
    let path = ["", ".xz", ".zst", ".gz"]
        .iter()
        .find_map(|suffix| relative.strip_suffix(&format!(".ko{suffix}")))
        .map(|stem| format!("{stem}.ko"))
        .unwrap_or_else(|| relative.into_owned());
    resolved.modules.push(Module {
        name: name.to_owned(),
        path,
        bytes,
        depends,
        soft_pre: info
            .iter()
            .filter(|(key, _)| key == "softdep")
            .flat_map(|(_, value)| soft_pre(value))
            .collect(),
        aliases: info
            .iter()
            .filter(|(key, _)| key == "alias")
            .map(|(_, value)| value.clone())
            .collect(),
    });
    Ok(())
}

/// The `key=value` strings of a module's .modinfo section.
fn modinfo(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let section = elf::section(bytes, ".modinfo")?.context("no .modinfo section: not a module")?;
    Ok(section
        .split(|&b| b == 0)
        .filter_map(|field| {
            let text = String::from_utf8_lossy(field);
            let (key, value) = text.split_once('=')?;
            Some((key.to_owned(), value.to_owned()))
        })
        .collect())
}

/// The names after `pre:` in a softdep value (`pre: a b post: c`).
fn soft_pre(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_pre = false;
    for word in value.split_whitespace() {
        match word {
            "pre:" => in_pre = true,
            "post:" => in_pre = false,
            name if in_pre => names.push(name.to_owned()),
            _ => {}
        }
    }
    names
}

/// depmod's modules.dep for `modules` (in load order): each module's line
/// lists all it depends on, directly or not, the one to load last first.
fn modules_dep(modules: &[Module]) -> String {
    let position = |name: &str| modules.iter().position(|m| m.name == name);
    let mut text = String::new();
    for module in modules {
        let mut needed = BTreeSet::new();
        let mut todo: Vec<&str> = module.depends.iter().map(String::as_str).collect();
        while let Some(dep) = todo.pop() {
            if let Some(at) = position(dep)
                && needed.insert(at)
            {
                todo.extend(modules[at].depends.iter().map(String::as_str));
            }
        }
        text.push_str(&module.path);
        text.push(':');
        for at in needed.iter().rev() {
            text.push(' ');
            text.push_str(&modules[*at].path);
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::with_section;

    /// A tree of fake modules: (file under kernel/, .modinfo fields).
    fn tree(files: &[(&str, &str)]) -> (BTreeMap<String, PathBuf>, BTreeMap<PathBuf, Vec<u8>>) {
        let mut index = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for (file, fields) in files {
            let path = PathBuf::from("/t/lib/modules/6.1.0-1-test/kernel").join(file);
            let name = module_name(path.file_name().unwrap().to_str().unwrap()).unwrap();
            let modinfo = fields.replace(';', "\0") + "\0";
            contents.insert(
                path.clone(),
                with_section(true, ".modinfo", modinfo.as_bytes()),
            );
            index.insert(name, path);
        }
        (index, contents)
    }

    fn run(wanted: &[&str], files: &[(&str, &str)], builtin: &[&str]) -> Result<Resolved> {
        let (index, contents) = tree(files);
        let builtin = builtin.iter().map(|s| s.to_string()).collect();
        let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        resolve(
            &wanted,
            &index,
            &builtin,
            &|path| Ok(contents[path].clone()),
        )
    }

    const EXT4: &[(&str, &str)] = &[
        (
            "fs/ext4/ext4.ko",
            "softdep=pre: crypto-crc32c;depends=jbd2,mbcache,crc16",
        ),
        ("fs/jbd2/jbd2.ko", "softdep=pre: crypto-crc32c;depends="),
        ("fs/mbcache.ko", "depends="),
        ("lib/crc16.ko", "depends="),
        (
            "crypto/crc32c_generic.ko",
            "alias=crypto-crc32c;alias=crc32c;depends=",
        ),
        (
            "drivers/block/virtio_blk.ko.xz",
            "depends=virtio,virtio_ring",
        ),
        ("drivers/virtio/virtio.ko", "depends=virtio_ring"),
        ("drivers/virtio/virtio_ring.ko", "depends="),
        ("arch/x86/crypto/crc32c-intel.ko", "depends="),
    ];

    #[test]
    fn dependencies_first_and_a_depmod_file() {
        let r = run(&["crc32c_generic", "ext4", "virtio_blk"], EXT4, &[]).unwrap();
        let order: Vec<&str> = r.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            order,
            [
                "crc32c_generic",
                "jbd2",
                "mbcache",
                "crc16",
                "ext4",
                "virtio_ring",
                "virtio",
                "virtio_blk"
            ]
        );
        assert_eq!(r.load, ["crc32c_generic", "ext4", "virtio_blk"]);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        let dep = modules_dep(&r.modules);
        assert!(dep.contains(
            "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
        ), "{dep}");
        // Indirect dependencies too; the compressed file is packed unpacked.
        assert!(dep.contains(
            "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
        ), "{dep}");
        assert!(dep.contains("kernel/lib/crc16.ko:\n"), "{dep}");
    }

    #[test]
    fn names_with_dashes_builtins_and_softdeps() {
        let r = run(
            &["crc32c-intel", "virtio_blk"],
            EXT4,
            &["virtio", "virtio_ring"],
        )
        .unwrap();
        let order: Vec<&str> = r.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(order, ["crc32c_intel", "virtio_blk"]);
        let r = run(&["ext4", "virtio"], EXT4, &["virtio"]).unwrap();
        assert_eq!(r.load, ["ext4"]);
        let notes = r.notes.join("\n");
        assert!(
            notes.contains("virtio is built into this kernel"),
            "{notes}"
        );
        assert!(notes.contains("ext4 wants crypto-crc32c"), "{notes}");
        assert!(notes.contains("jbd2 wants crypto-crc32c"), "{notes}");
    }

    #[test]
    fn missing_modules_are_named_with_who_needs_them() {
        let error = run(&["nope"], EXT4, &[]).err().unwrap().to_string();
        assert!(error.contains("no module nope"), "{error}");
        let broken = [("fs/ext4/ext4.ko", "depends=jbd2")];
        let error = run(&["ext4"], &broken, &[]).err().unwrap().to_string();
        assert!(error.contains("ext4 needs jbd2"), "{error}");
        let circle = [("a.ko", "depends=b"), ("b.ko", "depends=a")];
        let error = run(&["a"], &circle, &[]).err().unwrap().to_string();
        assert!(error.contains("circle"), "{error}");
    }

    #[test]
    fn softdep_values() {
        assert_eq!(soft_pre("pre: a b post: c"), ["a", "b"]);
        assert_eq!(soft_pre("post: c pre: d"), ["d"]);
        assert!(soft_pre("post: c").is_empty());
    }

    #[test]
    fn compressed_modules_are_unpacked() {
        if !host::has_program("xz") {
            eprintln!("SKIPPED compressed_modules_are_unpacked: no xz");
            return;
        }
        let dir = std::env::temp_dir().join(format!("xtask-modules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("m.ko");
        std::fs::write(&plain, b"module bytes").unwrap();
        assert!(
            Command::new("xz")
                .arg("-k")
                .arg(&plain)
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(read_module(&dir.join("m.ko.xz")).unwrap(), b"module bytes");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
