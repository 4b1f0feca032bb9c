//! A writer for the "newc" cpio format, the one the kernel unpacks as an
//! initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
//!
//! The output depends only on the entries: they are sorted by path, owned by
//! 0:0, dated 0, and numbered in that order, so the same inputs give the
//! same bytes. Each header and each file's data start on a 4-byte boundary.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// File type bits of `st_mode` (inode(7)).
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File(Vec<u8>),
    Symlink(String),
    CharDevice { major: u32, minor: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Permission bits (07777).
    pub mode: u32,
    pub kind: Kind,
}

/// The entries of an archive, keyed by path without the leading `/`.
/// A later entry for a path replaces the earlier one (an overlay).
#[derive(Debug, Default)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

impl Archive {
    pub fn directory(&mut self, path: &str, mode: u32) -> Result<()> {
        self.insert(path, mode, Kind::Directory)
    }

    pub fn file(&mut self, path: &str, mode: u32, data: Vec<u8>) -> Result<()> {
        self.insert(path, mode, Kind::File(data))
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> Result<()> {
        self.insert(path, 0o777, Kind::Symlink(target.to_owned()))
    }

    pub fn char_device(&mut self, path: &str, mode: u32, major: u32, minor: u32) -> Result<()> {
        self.insert(path, mode, Kind::CharDevice { major, minor })
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path.trim_start_matches('/'))
    }

    /// Every entry, parents before their contents (paths without the
    /// leading `/`).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(path, entry)| (path.as_str(), entry))
    }

    /// Remove the entry at `path` (a file or link; a directory only when
    /// empty). Whether there was one.
    pub fn remove(&mut self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        let prefix = format!("{path}/");
        if self.entries.keys().any(|k| k.starts_with(&prefix)) {
            return false;
        }
        self.entries.remove(path).is_some()
    }

    /// Add or replace the entry at `path`; its missing parents become
    /// directories with mode 0755.
    pub fn insert(&mut self, path: &str, mode: u32, kind: Kind) -> Result<()> {
        let path = normalize(path)?;
        if mode > 0o7777 {
            bail!("{path}: mode {mode:o} is more than permission bits");
        }
        let parents = path.rsplit_once('/').map_or("", |(parents, _)| parents);
        let mut parent = String::new();
        for component in parents.split('/').filter(|c| !c.is_empty()) {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            match self.entries.get(&parent) {
                None => {
                    let directory = Entry {
                        mode: 0o755,
                        kind: Kind::Directory,
                    };
                    self.entries.insert(parent.clone(), directory);
                }
                Some(Entry {
                    kind: Kind::Directory,
                    ..
                }) => {}
                Some(_) => bail!("/{path}: /{parent} is not a directory"),
            }
        }
        if kind != Kind::Directory {
            let prefix = format!("{path}/");
            if self.entries.keys().any(|k| k.starts_with(&prefix)) {
                bail!("/{path}: a directory with entries cannot become a file");
            }
        }
        self.entries.insert(path, Entry { mode, kind });
        Ok(())
    }

    /// The archive in newc format, with its trailer.
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (index, (path, entry)) in self.entries.iter().enumerate() {
            // Inode numbers only need to be distinct (the kernel uses them
            // to find hard links, which need nlink > 1): number in order.
            let ino = index as u32 + 1;
            let (type_bits, nlink, data, rdev) = match &entry.kind {
                Kind::Directory => (S_IFDIR, 2, &[][..], (0, 0)),
                Kind::File(data) => (S_IFREG, 1, &data[..], (0, 0)),
                Kind::Symlink(target) => (S_IFLNK, 1, target.as_bytes(), (0, 0)),
                Kind::CharDevice { major, minor } => (S_IFCHR, 1, &[][..], (*major, *minor)),
            };
            let header = Header {
                ino,
                mode: type_bits | entry.mode,
                nlink,
                rdev,
            };
            write_entry(&mut out, &header, path, data);
        }
        let trailer = Header {
            ino: 0,
            mode: 0,
            nlink: 1,
            rdev: (0, 0),
        };
        write_entry(&mut out, &trailer, TRAILER, &[]);
        out
    }
}

/// The fields that vary; uid, gid, mtime and the device are always 0.
struct Header {
    ino: u32,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
}

fn write_entry(out: &mut Vec<u8>, header: &Header, name: &str, data: &[u8]) {
    let fields = [
        header.ino,
        header.mode,
        0, // uid
        0, // gid
        header.nlink,
        0, // mtime
        data.len() as u32,
        0, // devmajor: of the filesystem holding the file
        0, // devminor
        header.rdev.0,
        header.rdev.1,
        name.len() as u32 + 1, // with the NUL
        0,                     // check: only for the "070702" crc format
    ];
    let start = out.len();
    out.extend_from_slice(MAGIC);
    for field in fields {
        out.extend_from_slice(format!("{field:08X}").as_bytes());
    }
    debug_assert_eq!(out.len() - start, HEADER_LEN);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// `/a/b` → `a/b`; rejects empty paths and `.`/`..` components.
fn normalize(path: &str) -> Result<String> {
    let trimmed = path.trim_start_matches('/').trim_end_matches('/');
    if trimmed.is_empty()
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        bail!("{path:?} is not a plain path for the archive");
    }
    Ok(trimmed.to_owned())
}

/// One entry read back from an archive (for tests).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub name: String,
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub rdev: (u32, u32),
    pub data: Vec<u8>,
    /// Where the header starts.
    pub offset: usize,
}

/// Read a newc archive up to its trailer, checking magic and alignment.
#[cfg(test)]
pub fn parse(bytes: &[u8]) -> Result<Vec<Parsed>> {
    let mut entries = Vec::new();
    let mut at: usize = 0;
    loop {
        if !at.is_multiple_of(4) {
            bail!("header at {at} is not 4-byte aligned");
        }
        let header = bytes
            .get(at..at + HEADER_LEN)
            .ok_or_else(|| anyhow::anyhow!("truncated header at {at}"))?;
        if &header[..6] != MAGIC {
            bail!("bad magic at {at}");
        }
        let field = |i: usize| -> Result<u32> {
            let text = std::str::from_utf8(&header[6 + 8 * i..14 + 8 * i])?;
            Ok(u32::from_str_radix(text, 16)?)
        };
        let name_len = field(11)? as usize;
        let name_start = at + HEADER_LEN;
        let name = &bytes[name_start..name_start + name_len];
        if name.last() != Some(&0) {
            bail!("name at {at} is not NUL-terminated");
        }
        let name = String::from_utf8(name[..name_len - 1].to_vec())?;
        let data_start = (name_start + name_len).next_multiple_of(4);
        let data_len = field(6)? as usize;
        let data = bytes
            .get(data_start..data_start + data_len)
            .ok_or_else(|| anyhow::anyhow!("truncated data of {name}"))?
            .to_vec();
        let parsed = Parsed {
            ino: field(0)?,
            mode: field(1)?,
            uid: field(2)?,
            gid: field(3)?,
            nlink: field(4)?,
            mtime: field(5)?,
            rdev: (field(9)?, field(10)?),
            name,
            data,
            offset: at,
        };
        at = (data_start + data_len).next_multiple_of(4);
        if parsed.name == TRAILER {
            if at != bytes.len() {
                bail!("{} bytes after the trailer", bytes.len() - at);
            }
            return Ok(entries);
        }
        entries.push(parsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(order: &[usize]) -> Archive {
        let mut archive = Archive::default();
        for &i in order {
            match i {
                0 => archive.file("/bin/box", 0o755, b"\x7fELF box".to_vec()),
                1 => archive.symlink("/init", "/bin/box"),
                2 => archive.char_device("/dev/console", 0o600, 5, 1),
                3 => archive.directory("/tmp", 0o1777),
                4 => archive.file("/etc/box/a.box", 0o644, b"cmd /bin/box ns\n".to_vec()),
                5 => archive.symlink("/bin/unshare", "box"),
                _ => unreachable!(),
            }
            .unwrap();
        }
        archive
    }

    #[test]
    fn same_entries_same_bytes() {
        let a = sample(&[0, 1, 2, 3, 4, 5]).write();
        let b = sample(&[5, 3, 1, 4, 2, 0]).write();
        assert_eq!(a, b);
    }

    #[test]
    fn headers_and_data_are_aligned() {
        let bytes = sample(&[0, 1, 2, 3, 4, 5]).write();
        assert_eq!(bytes.len() % 4, 0);
        for entry in parse(&bytes).unwrap() {
            assert_eq!(entry.offset % 4, 0, "{}", entry.name);
            let data_start = (entry.offset + HEADER_LEN + entry.name.len() + 1).next_multiple_of(4);
            assert_eq!(data_start % 4, 0);
            if !entry.data.is_empty() {
                let found = &bytes[data_start..data_start + entry.data.len()];
                assert_eq!(found, &entry.data[..]);
            }
        }
    }

    #[test]
    fn round_trip() {
        let entries = parse(&sample(&[0, 1, 2, 3, 4, 5]).write()).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "bin/box",
                "bin/unshare",
                "dev",
                "dev/console",
                "etc",
                "etc/box",
                "etc/box/a.box",
                "init",
                "tmp"
            ]
        );
        let find = |name: &str| entries.iter().find(|e| e.name == name).unwrap();
        assert_eq!(find("bin").mode, S_IFDIR | 0o755);
        assert_eq!(find("bin").nlink, 2);
        assert_eq!(find("bin/box").mode, S_IFREG | 0o755);
        assert_eq!(find("bin/box").data, b"\x7fELF box");
        assert_eq!(find("init").mode, S_IFLNK | 0o777);
        assert_eq!(find("init").data, b"/bin/box");
        assert_eq!(find("dev/console").mode, S_IFCHR | 0o600);
        assert_eq!(find("dev/console").rdev, (5, 1));
        assert_eq!(find("tmp").mode, S_IFDIR | 0o1777);
        let mut inodes: Vec<u32> = entries.iter().map(|e| e.ino).collect();
        inodes.dedup();
        assert_eq!(inodes, (1..=entries.len() as u32).collect::<Vec<_>>());
        for entry in &entries {
            assert_eq!((entry.uid, entry.gid, entry.mtime), (0, 0, 0));
        }
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let mut archive = sample(&[0]);
        archive.file("bin/box", 0o700, b"new".to_vec()).unwrap();
        archive.directory("bin", 0o711).unwrap();
        let entries = parse(&archive.write()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].mode, S_IFDIR | 0o711);
        assert_eq!(entries[1].data, b"new");
    }

    #[test]
    fn bad_paths_are_refused() {
        let mut archive = sample(&[0, 1]);
        assert!(archive.file("/", 0o644, vec![]).is_err());
        assert!(archive.file("/a/../b", 0o644, vec![]).is_err());
        assert!(archive.file("/init/x", 0o644, vec![]).is_err());
        assert!(archive.file("/bin", 0o644, vec![]).is_err());
        assert!(archive.file("/x", 0o10644, vec![]).is_err());
    }

    #[test]
    fn empty_archive_is_a_trailer() {
        let bytes = Archive::default().write();
        assert!(parse(&bytes).unwrap().is_empty());
        assert_eq!(&bytes[..6], MAGIC);
    }
}
