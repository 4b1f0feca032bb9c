//! config.json's hooks, run in the runtime's namespaces (the host's):
//! `prestart` and `createRuntime` at the end of `create` (the container
//! set up, its init waiting; a failure fails create, which then leaves
//! nothing), `poststart` after `start` released the init, and `poststop`
//! in `delete` once the container's cgroups are gone (a failure of these
//! two is a warning, and the rest goes on, as the runtime-spec says).
//! `createContainer` and `startContainer`, which run inside the
//! container, are refused by create.
//!
//! Each hook is executed with its `args` (or its path alone) and `env`,
//! the container's state JSON on its standard input, its output and
//! errors to /dev/null, and killed after `timeout` seconds.

use rustix::fd::AsFd;
use rustix::fs::{Mode, OFlags};
use rustix::pipe::PipeFlags;
use rustix::process::Signal;

use crate::bad;
use crate::error::{Error, Result};
use crate::oci::config::{Config, HookStage};
use crate::oci::exec::c_array;
use crate::oci::runtime::{self, Root};
use crate::sys::exec::CStrArray;
use crate::sys::fd::StdFd;
use crate::sys::{exec, fd, process};
use crate::text::Bytes;

/// The stage's name in config.json.
fn name(stage: HookStage) -> &'static str {
    match stage {
        HookStage::Prestart => "prestart",
        HookStage::CreateRuntime => "createRuntime",
        HookStage::CreateContainer => "createContainer",
        HookStage::StartContainer => "startContainer",
        HookStage::Poststart => "poststart",
        HookStage::Poststop => "poststop",
    }
}

/// Refuse the hooks box does not run (those inside the container).
pub fn check(config: &Config) -> Result<()> {
    for hook in &config.hooks {
        if matches!(
            hook.stage,
            HookStage::CreateContainer | HookStage::StartContainer
        ) {
            return Err(bad!(
                "config.json: hooks.{}: not supported (box-oci runs prestart, createRuntime, poststart and poststop hooks)",
                name(hook.stage)
            ));
        }
    }
    Ok(())
}

/// Whether `config` has hooks for after create (poststart, poststop).
pub fn later(config: &Config) -> bool {
    config
        .hooks
        .iter()
        .any(|h| matches!(h.stage, HookStage::Poststart | HookStage::Poststop))
}

/// Run the hooks of `stages`, in order, with container `id`'s state; the
/// first failure is returned.
pub fn run(root: Root<'_>, id: &[u8], config: &Config, stages: &[HookStage]) -> Result<()> {
    let mut state = [0u8; runtime::STATE_MAX];
    let n = runtime::render_state(root, id, &mut state)?;
    for &stage in stages {
        let hooks = config.hooks.iter().filter(|h| h.stage == stage);
        for (i, hook) in hooks.enumerate() {
            run_one(config, hook, &state[..n])
                .map_err(|e| bad!("hooks.{}[{}]: {}", name(stage), i, e))?;
        }
    }
    Ok(())
}

/// Run the hooks of a stage after create (poststart, poststop) from the
/// bundle's config.json, if create found any; a failure is a warning.
pub fn run_later(root: Root<'_>, id: &[u8], stage: HookStage) {
    let marker = root.file(id, runtime::HOOKS);
    if !marker.is_ok_and(|m| rustix::fs::access(m.as_cstr(), rustix::fs::Access::EXISTS).is_ok()) {
        return;
    }
    let mut document = [0u8; runtime::CONFIG_MAX];
    let mut config = runtime::empty_config();
    let step = packed!("read the bundle's config");
    let ran = crate::oci::exec::load_bundle_config(
        root,
        id,
        (step, 16 * 1024),
        &mut document,
        &mut config,
    )
    .and_then(|()| run(root, id, &config, &[stage]));
    if let Err(e) = ran {
        crate::errln!("box-oci: warning: {e}");
    }
}

/// Execute one hook and wait for it (at most its timeout).
fn run_one(config: &Config, hook: &crate::oci::config::Hook, state: &[u8]) -> Result<()> {
    let path = config.c_str(hook.path);
    let mut argv = CStrArray::new();
    c_array(config, hook.args, &mut argv).map_err(|_| bad!("too many args"))?;
    if hook.args == Default::default() {
        let _ = argv.push(path);
    }
    let mut envp = CStrArray::new();
    c_array(config, hook.env, &mut envp).map_err(|_| bad!("too many env entries"))?;
    // The state, whole, in the pipe before the hook starts: no write can
    // meet a reader that has gone.
    let (input, feed) =
        rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(|e| failed("pipe2", b"", e))?;
    crate::out::try_write_all(&feed, state).map_err(|e| failed("write", b"pipe", e))?;
    drop(feed);
    let null = rustix::fs::open(c"/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| failed("open", b"/dev/null", e))?;
    let spawned = runtime::spawn(&mut || {
        let _ = fd::dup_onto(input.as_fd(), StdFd::Stdin);
        let _ = fd::dup_onto(null.as_fd(), StdFd::Stdout);
        let _ = fd::dup_onto(null.as_fd(), StdFd::Stderr);
        let _ = fd::cloexec_from(3);
        crate::sys::signal::reset_signals();
        exec::execve(path, argv.argv(), envp.envp());
        exec::exit_now(crate::error::EXIT_NOT_FOUND)
    })
    .map_err(|(call, e)| failed(call, path.to_bytes(), e))?;
    let pid = spawned.process()?;
    if let (Some(pidfd), Some(seconds)) = (&spawned.pidfd, hook.timeout) {
        let mut fds = [rustix::event::PollFd::new(
            pidfd,
            rustix::event::PollFlags::IN,
        )];
        let limit = rustix::time::Timespec {
            tv_sec: i64::from(seconds),
            tv_nsec: 0,
        };
        let ready = loop {
            match rustix::event::poll(&mut fds, Some(&limit)) {
                Err(rustix::io::Errno::INTR) => continue,
                other => break other.unwrap_or(0),
            }
        };
        if ready == 0 {
            let _ = process::send_signal(pid, Some(pidfd.as_fd()), Signal::KILL.as_raw());
            let _ = process::reap(pid);
            return Err(bad!(
                "{}: timed out after {} s (killed)",
                Bytes(path.to_bytes()),
                seconds
            ));
        }
    }
    match process::reap(pid) {
        Ok(0) => Ok(()),
        Ok(code) => Err(bad!(
            "{}: exited with status {}",
            Bytes(path.to_bytes()),
            code
        )),
        Err(e) => Err(failed("waitid", path.to_bytes(), e)),
    }
}

/// A call of [`run_one`]'s that failed.
fn failed(call: &'static str, subject: &[u8], errno: rustix::io::Errno) -> Error {
    Error::sys(packed!("run the hook"), call, subject, errno)
}
