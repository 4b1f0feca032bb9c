//! cgroups: the `box` parent group and a group per container with its
//! limits (v2, or v1 on hybrid hosts).

use core::fmt;

use rustix::fs::{Mode, OFlags};

/// Controllers box uses, in the order they are enabled.
pub const CONTROLLERS: &[&str] = &["cpu", "cpuset", "memory", "pids"];

/// At boot (box-init as PID 1, cgroup2 mounted at /sys/fs/cgroup): enable
/// the controllers the kernel has for the root's children and for box/, the
/// parent of every container's group.
pub fn prepare_board(log: &mut dyn FnMut(fmt::Arguments<'_>)) {
    let mut available = [0u8; 256];
    let Ok(n) = read_file(c"/sys/fs/cgroup/cgroup.controllers", &mut available) else {
        log(format_args!(
            "cgroup2: /sys/fs/cgroup/cgroup.controllers is missing: no limits for containers"
        ));
        return;
    };
    let available = &available[..n];
    let _ = rustix::fs::mkdir(c"/sys/fs/cgroup/box", Mode::from_raw_mode(0o755));
    for dir in [
        c"/sys/fs/cgroup/cgroup.subtree_control",
        c"/sys/fs/cgroup/box/cgroup.subtree_control",
    ] {
        for name in CONTROLLERS {
            if !available
                .split(|b| b.is_ascii_whitespace())
                .any(|w| w == name.as_bytes())
            {
                continue;
            }
            let mut word = crate::text::Text::<16>::new();
            word.push(b"+");
            word.push(name.as_bytes());
            if let Err(e) = write_file(dir, word.as_bytes()) {
                log(format_args!(
                    "cgroup2: enable {name} in {}: {}",
                    crate::text::Bytes(dir.to_bytes()),
                    crate::error::ErrnoText(e)
                ));
            }
        }
    }
}

/// Read a small file into `buf`; the number of bytes read.
pub fn read_file(path: &core::ffi::CStr, buf: &mut [u8]) -> Result<usize, rustix::io::Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(&fd, &mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Write `bytes` to a control file in one write (the kernel parses each
/// write on its own).
pub fn write_file(path: &core::ffi::CStr, bytes: &[u8]) -> Result<(), rustix::io::Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, bytes).map(drop)
}
