//! What `unshare`, `nsenter`, `pivot_root` and `switch_root` share as
//! util-linux's tools: their exit statuses (1 for the tool's own failure,
//! so scripts written for util-linux keep working), and how they run
//! the command.

use core::ffi::CStr;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::{EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, Error, Result};
use crate::options::{Command, Given};
use crate::out;
use crate::sys::entry::Args;
use crate::sys::exec::{self, CStrArray, Envp};
use crate::text::{Bytes, CPath, Text, parse_u32};
use crate::{bad, errln};

/// Exit status of unshare and nsenter when they fail before exec
/// (util-linux's EXIT_FAILURE).
pub const EXIT_FAILURE: u8 = 1;

/// `--keep-caps` (unshare and nsenter): the capabilities held in the user
/// namespace created or entered survive the exec, as ambient ones.
pub fn keep_caps() -> Result<()> {
    crate::sys::caps::permitted_to_ambient().map_err(|e| {
        Error::sys(
            packed!("keep the capabilities"),
            "prctl(PR_CAP_AMBIENT)",
            b"",
            e,
        )
    })
}

/// An option's value refused: `{given}{sep}{value}: {why}` (`sep` is
/// `=` for a value attached, as util-linux's messages write it, else a
/// space). One copy for every such message of the tools.
#[inline(never)]
pub fn bad_value(given: &Given, sep: &str, value: &[u8], why: &str) -> Error {
    bad!("{}{}{}: {}", given, sep, Bytes(value), why)
}

/// A path option's value as a [`CPath`]: not empty, not too long, no NUL.
/// `attached`: named as `--root=DIR` (nsenter), else as `--root DIR`.
pub fn path(given: &Given, value: &[u8], attached: bool) -> Result<CPath> {
    let sep = if attached { "=" } else { " " };
    if value.is_empty() {
        return Err(bad!("{}{}: empty path", given, &sep[..attached as usize]));
    }
    const _: () = assert!(crate::text::PATH_MAX == 255);
    CPath::from_bytes(value).ok_or_else(|| {
        bad_value(
            given,
            sep,
            value,
            "path too long (over 255 bytes) or has a NUL byte",
        )
    })
}

/// [`path`] into `slot`, in place (a path is too large to pass around).
#[inline(never)]
pub fn set_path(
    slot: &mut Option<CPath>,
    given: &Given,
    value: &[u8],
    attached: bool,
) -> Result<()> {
    *slot = Some(path(given, value, attached)?);
    Ok(())
}

/// Index in [`NAMESPACES`](crate::config::NAMESPACES) of the type with
/// this flag; at compile time.
pub const fn index(flag: u32) -> usize {
    let mut i = 0;
    while crate::config::NAMESPACES[i].flag != flag {
        i += 1;
    }
    i
}

/// Index in [`NAMESPACES`](crate::config::NAMESPACES) of the type with
/// this name, for the option tables; at compile time.
pub const fn index_of(name: &str) -> u8 {
    let mut i = 0;
    loop {
        let (a, b) = (
            name.as_bytes(),
            crate::config::NAMESPACES[i].name.as_bytes(),
        );
        let mut same = a.len() == b.len();
        let mut j = 0;
        while same && j < a.len() {
            same = a[j] == b[j];
            j += 1;
        }
        if same {
            return i as u8;
        }
        i += 1;
    }
}

/// Print the one error line and give the status util-linux would:
/// 126 or 127 for a command that could not be executed, else 1.
pub fn fail(applet: &str, e: &Error) -> u8 {
    errln!("box: {applet}: {e}");
    status(e.code)
}

/// [`out::finish`] for util-linux's tools: the command's own status,
/// and help's 0, as they are; a failure's (after its one line) as
/// util-linux's ([`status`]).
pub fn finish<A>(command: &Command<A>, result: Result<u8>) -> u8 {
    match result {
        Ok(code) => code,
        Err(e) => status(out::finish(command, Err(e))),
    }
}

/// util-linux's exit status for box's `code`: 0 (success, or help) and
/// 126 or 127 (a command that could not be executed) as they are, any
/// other failure 1.
pub fn status(code: u8) -> u8 {
    match code {
        0 | EXIT_NOT_FOUND | EXIT_NOT_EXECUTABLE => code,
        _ => EXIT_FAILURE,
    }
}

/// exec the command (the words after the options) with environment `env`,
/// or `$SHELL` (of `env`), else /bin/sh, when there are none; a name without a slash is looked up in
/// PATH, and a file without `#!` runs through /bin/sh, as execvp does. Returns only on failure, with util-linux's 127 (not found) or 126
/// (cannot be executed). Allocation-free: it runs after fork.
pub fn exec_command(command: Args, env: Envp<'_>) -> Error {
    let shell;
    let mut shell_argv = CStrArray::<2>::new();
    let (program, argv) = match command.get(0) {
        Some(program) => (program, command.argv()),
        None => {
            let name = env
                .get(b"SHELL")
                .filter(|s| !s.is_empty())
                .unwrap_or(b"/bin/sh");
            shell = CPath::from_bytes(name)
                .unwrap_or_else(|| CPath::from_bytes(b"/bin/sh").unwrap_or_default());
            let _ = shell_argv.push(shell.as_cstr());
            (shell.as_cstr(), shell_argv.argv())
        }
    };
    let search = env
        .get(b"PATH")
        .unwrap_or(crate::container::plan::DEFAULT_PATH);
    let (errno, full) = exec::exec_search(program, argv, env, search);
    if errno == Errno::NOEXEC && !command.is_empty() {
        // A script without `#!`: util-linux's tools run it through /bin/sh
        // (execvp's fallback); box run and box exec do not, as Docker.
        let shell = exec::exec_script(full.as_cstr(), command.tail(1), env);
        // Without a /bin/sh, the file's own error stands.
        if shell != Errno::NOENT {
            return crate::container::child::exec_error(b"/bin/sh", shell);
        }
    }
    if errno == Errno::NOENT && !program.to_bytes().contains(&b'/') {
        return bad!(
            "run the command: {}: not found in PATH",
            Bytes(program.to_bytes())
        )
        .with_code(EXIT_NOT_FOUND);
    }
    crate::container::child::exec_error(full.as_bytes(), errno)
}

/// A user by number or by name, the name looked up in /etc/passwd (box
/// links no NSS: that file is what a board has), for `--map-user`.
pub fn user_id(word: &[u8]) -> Option<u32> {
    id(word, c"/etc/passwd")
}

/// A group by number or by name (/etc/group), for `--map-group`.
pub fn group_id(word: &[u8]) -> Option<u32> {
    id(word, c"/etc/group")
}

fn id(word: &[u8], file: &CStr) -> Option<u32> {
    if let Some(n) = parse_u32(word) {
        return Some(n);
    }
    let line = first_line(file, &|fields: &[u8]| field(fields, 0) == word).ok()??;
    parse_u32(field(line.as_bytes(), 2))
}

/// The first range of subordinate ids of user `uid` in `file`
/// (/etc/subuid or /etc/subgid, subuid(5)): `(first, count)` of the first
/// line naming the user, by name (from /etc/passwd) or by number, as
/// util-linux's `--map-auto` reads them.
pub fn sub_ids(file: &CStr, uid: u32) -> Result<(u32, u32)> {
    let mut number = [0u8; 20];
    let number = crate::text::decimal(uid as u64, &mut number);
    let user = first_line(c"/etc/passwd", &|line: &[u8]| field(line, 2) == number)
        .ok()
        .flatten();
    let name = user
        .as_ref()
        .map_or(&b""[..], |line| field(line.as_bytes(), 0));
    let owner = |line: &[u8]| {
        let who = field(line, 0);
        who == number || (!name.is_empty() && who == name)
    };
    let line = first_line(file, &owner).map_err(|e| {
        Error::sys(
            packed!("read the subordinate ids"),
            "open",
            file.to_bytes(),
            e,
        )
        .hint(packed!(
            "it lists the ids each user may map: USER:FIRST:COUNT (subuid(5))"
        ))
    })?;
    let range = line.as_ref().and_then(|line| {
        let line = line.as_bytes();
        Some((parse_u32(field(line, 1))?, parse_u32(field(line, 2))?))
    });
    range.ok_or_else(|| {
        bad!("{}: no line for user {} (uid {}): add one, USER:FIRST:COUNT (usermod --add-subuids, --add-subgids)", Bytes(file.to_bytes()), Bytes(if name.is_empty() { number } else { name }), uid)
    })
}

/// Longest line kept of /etc/passwd, /etc/group, /etc/subuid and
/// /etc/subgid (a longer one is skipped, never cut).
const ID_LINE_MAX: usize = 512;

/// Field `i` (from 0) of a `:`-separated line, empty past the last.
fn field(line: &[u8], i: usize) -> &[u8] {
    line.split(|&b| b == b':').nth(i).unwrap_or(b"")
}

/// The first line of `path` that `wanted` accepts. The file is read in
/// pieces of 4 KiB, so its size does not matter; a line longer than
/// [`ID_LINE_MAX`] is skipped.
fn first_line(
    path: &CStr,
    wanted: &dyn Fn(&[u8]) -> bool,
) -> core::result::Result<Option<Text<ID_LINE_MAX>>, Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = [0u8; 4096];
    let (mut len, mut too_long) = (0, false);
    loop {
        let n = match rustix::io::read(&fd, &mut buf[len..]) {
            Err(Errno::INTR) => continue,
            other => other?,
        };
        len += n;
        let mut start = 0;
        for piece in buf[..len].split_inclusive(|&b| b == b'\n') {
            if !piece.ends_with(b"\n") && n != 0 {
                break;
            }
            start += piece.len();
            let text = piece.strip_suffix(b"\n").unwrap_or(piece);
            if core::mem::take(&mut too_long) || text.len() > ID_LINE_MAX {
                continue;
            }
            if wanted(text) {
                return Ok(Some(Text::from_bytes_lossy(text)));
            }
        }
        if n == 0 {
            return Ok(None);
        }
        buf.copy_within(start..len, 0);
        len -= start;
        if len == buf.len() {
            (len, too_long) = (0, true);
        }
    }
}
