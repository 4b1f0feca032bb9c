//! What `unshare`, `nsenter`, `pivot_root` and `switch_root` share as
//! util-linux's tools: their exit statuses (1 for the tool's own failure,
//! so scripts written for util-linux keep working), and how they run
//! the command.

use rustix::io::Errno;

use crate::error::{EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, Error, Result};
use crate::options::Command;
use crate::out;
use crate::sys::entry::Args;
use crate::sys::exec::{self, CStrArray};
use crate::text::{Bytes, CPath};
use crate::{bad, errln};

/// Exit status of unshare and nsenter when they fail before exec
/// (util-linux's EXIT_FAILURE).
pub const EXIT_FAILURE: u8 = 1;

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

/// exec the command (the words after the options), or `$SHELL`, else
/// /bin/sh, when there are none; a name without a slash is looked up in
/// PATH, and a file without `#!` runs through /bin/sh, as execvp does. Returns only on failure, with util-linux's 127 (not found) or 126
/// (cannot be executed). Allocation-free: it runs after fork.
pub fn exec_command(command: Args, env: Args) -> Error {
    let shell;
    let mut shell_argv = CStrArray::<2>::new();
    let (program, argv) = match command.get(0) {
        Some(program) => (program, command.argv()),
        None => {
            let name = env
                .env(b"SHELL")
                .filter(|s| !s.is_empty())
                .unwrap_or(b"/bin/sh");
            shell = CPath::from_bytes(name)
                .unwrap_or_else(|| CPath::from_bytes(b"/bin/sh").unwrap_or_default());
            let _ = shell_argv.push(shell.as_cstr());
            (shell.as_cstr(), shell_argv.argv())
        }
    };
    let search = env
        .env(b"PATH")
        .unwrap_or(crate::container::plan::DEFAULT_PATH);
    let (errno, full) = exec::exec_search(program, argv, env.envp(), search);
    if errno == Errno::NOEXEC && !command.is_empty() {
        // A script without `#!`: util-linux's tools run it through /bin/sh
        // (execvp's fallback); box run and box exec do not, as Docker.
        let shell = exec::exec_script(full.as_cstr(), command.tail(1), env.envp());
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
