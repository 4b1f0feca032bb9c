//! `box run`: run a command in a new container (DESIGN.md section 2).

use crate::args::CommandLine;
use crate::config::{Apply, RUN, RunConfig};
use crate::container::plan::{self, Command, Plan};
use crate::container::{self, Mode};
use crate::error::Result;
use crate::out::finish;
use crate::spec;
use crate::state::State;
use crate::sys::entry::Args;
use crate::sys::timing::{self, Side, Step};
use crate::text::CPath;
use crate::{bad, errln};

pub fn main(args: Args) -> u8 {
    finish(&RUN, run(args))
}

fn run(args: Args) -> Result<u8> {
    // Each path keeps its large values (a RunConfig is about 20 KiB, a Spec
    // more, a Plan 12 KiB) in a frame of its own: a frame's every page is
    // touched on entry (stack probes), and each new page is a page fault.
    match spec_file(args)? {
        Some(path) => run_spec_file(args, path),
        None => {
            let mut config = RunConfig::default();
            let rest = parse_options(args, &mut config)?;
            timing::mark(Step::Parse);
            launch(args, &mut config, Command::Argv(rest))
        }
    }
}

/// `box run --file SPEC`: the spec file gives the starting point; options
/// on the command line then override its values (or add to bind, tmpfs and
/// env), and a command after them replaces its `cmd`.
#[inline(never)]
fn run_spec_file(args: Args, path: &[u8]) -> Result<u8> {
    let path = CPath::from_bytes(path).ok_or_else(|| bad!("--file: path too long"))?;
    let mut spec = spec::load_partial(path.as_cstr())?;
    let rest = parse_options(args, &mut spec.config)?;
    timing::mark(Step::Parse);
    let command = if rest.is_empty() {
        // The field, not spec.command(): the config is borrowed apart.
        Command::Words(&spec.cmd)
    } else {
        Command::Argv(rest)
    };
    launch(args, &mut spec.config, command)
}

/// Keep box's own file out of the container's reach (src/sys/exe.rs):
/// confine the container's execution with Landlock where that does it
/// (true: [`plan::exec_confinable`], and a kernel with Landlock's ABI 2),
/// else re-execute from a sealed copy of box first (which returns here, in
/// the copy, having parsed the same options again; false).
fn seal(args: Args, config: &RunConfig) -> Result<bool> {
    if plan::exec_confinable(config)
        && crate::sys::landlock::abi() >= crate::sys::landlock::ABI_REFER
    {
        return Ok(true);
    }
    crate::sys::exe::run_sealed(args.whole())?;
    Ok(false)
}

/// Apply the command line's options to `config`; the words after them are
/// the command.
fn parse_options(args: Args, config: &mut RunConfig) -> Result<Args> {
    let mut line = CommandLine::new(args, &RUN);
    while let Some(found) = line.next()? {
        match found.action {
            Apply::Config(apply) => apply(config, found.text(), found.given)?,
            // The file was read first (spec_file); `cmd` is a key of spec
            // files, which the command line never gives.
            Apply::File | Apply::Command => {}
        }
    }
    Ok(line.rest())
}

#[inline(never)]
fn launch(args: Args, config: &mut RunConfig, command: Command) -> Result<u8> {
    if config.detach && config.tty {
        return Err(bad!(
            "--tty with --detach: a detached container has no terminal to relay"
        ));
    }
    let confine_exec = seal(args, config)?;
    plan::anchor_to_working_directory(config)?;
    let config = &*config;
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let mut plan = Plan::new(config, command, &args, pid)?;
    plan.confine_exec = confine_exec;
    timing::mark(Step::Plan);

    if config.detach {
        return container::detach::run(&plan);
    }
    // A named container is registered, so `box exec NAME` and `box ps`
    // find it and no second one takes the name. Its state stays after it
    // ends, until `box rm` (or not at all with --rm); a failure to start
    // leaves nothing.
    let state = match config.name {
        Some(name) => Some(State::create(name.as_bytes(), config.rm)?),
        None => None,
    };
    let life = container::launch(&plan, Mode::Foreground(state))?;
    timing::print(Side::Parent);
    let ended = life.wait()?;
    // The status stays the command's: an OOM kill of another process in
    // the group is a note, not the container's end. The command itself
    // killed by it (SIGKILL) is 137 anyway.
    if ended.oom_killed {
        let (code, limit) = (ended.code, Size(ended.memory_limit.unwrap_or(0)));
        if code == OOM_KILLED {
            errln!(
                "box: run: the container hit its memory limit (--memory {limit}): the kernel's OOM killer ended it"
            );
        } else {
            errln!(
                "box: run: a process of the container hit its memory limit (--memory {limit}) and the kernel's OOM killer ended it; the command exited {code}"
            );
        }
    }
    Ok(ended.code)
}

/// The status of a command killed by SIGKILL, as the OOM killer does.
const OOM_KILLED: u8 = 128 + 9;

/// A byte count as the user would write it (`32M`).
struct Size(u64);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let n = self.0;
        for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
            if n >= 1 << shift && n % (1 << shift) == 0 {
                return write!(f, "{}{suffix}", n >> shift);
            }
        }
        write!(f, "{n}")
    }
}

/// The value of `--file`, found in a first pass over the options (which
/// also answers `--help`, and refuses what the command line cannot be).
fn spec_file(args: Args) -> Result<Option<&'static [u8]>> {
    let mut line = CommandLine::new(args, &RUN);
    let mut file = None;
    while let Some(found) = line.next()? {
        if let Apply::File = found.action {
            file = found.value;
        }
    }
    Ok(file)
}

/// Whether `args` (box run's, after `run`) ask for `--debug-timing`,
/// read as the option parser reads them (a `--debug-timing` in the
/// command or as another option's value does not count). Cheap when
/// absent: a word compare, no parse.
pub fn debug_timing_asked(args: crate::sys::entry::Args) -> bool {
    let word = b"--debug-timing";
    if !(0..args.len()).any(|i| args.bytes(i) == word) {
        return false;
    }
    let mut line = crate::args::CommandLine::new(args, &crate::config::RUN);
    while let Ok(Some(found)) = line.next() {
        if found.given == crate::options::Given::Long("debug-timing") {
            return true;
        }
    }
    false
}
