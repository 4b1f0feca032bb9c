//! `box --install DIR [--force]`: a symlink to box for each applet in DIR.
//! A file that is already a link to box is left alone; any other file of
//! that name is kept unless `--force` is given.

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::args::CommandLine;
use crate::bad;
use crate::error::{Context, Result};
use crate::options::{Command, Opt, Usage};
use crate::out::finish;
use crate::sys::entry::Args;
use crate::text::{Bytes, CPath};

pub fn main(args: Args) -> u8 {
    finish(&INSTALL, install(args).map(|()| 0))
}

#[derive(Clone, Copy, Debug)]
pub enum InstallOption {
    Force,
}

pub const INSTALL: Command<InstallOption> = Command {
    usage: Usage {
        name: "box --install",
        synopsis: &["DIR [--force]"],
        about: packed!(
            "Makes a symlink to box in DIR for each applet (box --list names them).\n\
                A file of that name that is already a link to box is left alone."
        ),
        notes: packed!(""),
    },
    options: &[Opt::flag(
        "force",
        packed!("replace files of those names that are not links to box"),
        InstallOption::Force,
    )
    .short(b'f')],
};

fn install(args: Args) -> Result<()> {
    let mut force = false;
    let mut line = CommandLine::new(args, &INSTALL);
    while let Some(found) = line.next()? {
        match found.action {
            InstallOption::Force => force = true,
        }
    }
    let rest = line.rest();
    let (dir, extra) = (rest.get(0), rest.get(1));
    let Some(dir) = dir else {
        return Err(INSTALL.usage.error());
    };
    if extra.is_some() {
        return Err(INSTALL.usage.error_because("one directory"));
    }
    let dir_fd = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(packed!("open the directory"), "open", dir.to_bytes())?;

    // The links point at box's own absolute path.
    let mut exe_buf = [core::mem::MaybeUninit::<u8>::uninit(); crate::text::PATH_MAX];
    let (exe, _) = rustix::fs::readlinkat_raw(rustix::fs::CWD, c"/proc/self/exe", &mut exe_buf)
        .at(
            packed!("find box's own path"),
            "readlink",
            b"/proc/self/exe",
        )?;
    let exe = CPath::from_bytes(exe).ok_or_else(|| bad!("box's own path is too long"))?;

    for &(name, _) in crate::APPLETS {
        let link = CPath::from_bytes(name.as_bytes()).unwrap_or_default();
        match rustix::fs::symlinkat(exe.as_cstr(), &dir_fd, link.as_cstr()) {
            Ok(()) => continue,
            Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(crate::error::Error::sys(
                    packed!("install"),
                    "symlink",
                    name.as_bytes(),
                    e,
                ));
            }
        }
        // Something is there already: fine if it is our link.
        let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); crate::text::PATH_MAX];
        let current =
            rustix::fs::readlinkat_raw(&dir_fd, link.as_cstr(), &mut buf).map(|(t, _)| &*t);
        if current.is_ok_and(|t| t == exe.as_bytes()) {
            continue;
        }
        if !force {
            return Err(bad!(
                "{}/{} exists and is not a link to box (use --force to replace it)",
                Bytes(dir.to_bytes()),
                name
            ));
        }
        rustix::fs::unlinkat(&dir_fd, link.as_cstr(), AtFlags::empty()).at(
            packed!("install"),
            "unlink",
            name.as_bytes(),
        )?;
        rustix::fs::symlinkat(exe.as_cstr(), &dir_fd, link.as_cstr()).at(
            packed!("install"),
            "symlink",
            name.as_bytes(),
        )?;
    }
    Ok(())
}
