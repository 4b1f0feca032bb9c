//! `box run`: run a command in a new container (DESIGN.md section 2).

use crate::args::{Opt, Parser};
use crate::config::{RUN_OPTIONS, RunConfig, find_option};
use crate::container::{self, plan::Command, plan::Plan};
use crate::error::Result;
use crate::sys::entry::Args;
use crate::sys::raw;
use crate::{bad, errln, outln};

pub fn main(args: Args) -> u8 {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            errln!("box: run: {e}");
            e.code
        }
    }
}

fn run(args: Args) -> Result<u8> {
    let mut config = RunConfig::default();
    let mut p = Parser::new(args);
    while let Some(opt) = p.next()? {
        let name: &[u8] = match opt {
            Opt::Long(b"help") | Opt::Short(b'h') => {
                help();
                return Ok(0);
            }
            Opt::Short(b'd') => b"detach",
            Opt::Long(name) => name,
            Opt::Short(_) => return Err(p.unknown(opt)),
        };
        if name == b"file" {
            let _ = p.value()?;
            return Err(bad!("--file: spec files are not implemented yet"));
        }
        let Some(option) = find_option(name) else {
            return Err(p.unknown(opt));
        };
        let value = if option.takes_value { p.value()? } else { b"" };
        (option.apply)(&mut config, value)?;
    }
    refuse_unimplemented(&config)?;

    let command = Command::Argv(p.rest());
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let plan = Plan::new(&config, command, &args, pid)?;

    // Blocked before clone and for good: the container's SIGCHLD and any
    // signal to forward wait in the pending set until `wait` takes them.
    raw::block_signals(&container::watched_signals());
    let started = container::start(&plan)?;
    Ok(container::wait(&started))
}

/// Options whose issue has not landed: refuse rather than run a container
/// without the limit or behaviour the user asked for.
fn refuse_unimplemented(config: &RunConfig) -> Result<()> {
    let missing = if config.memory.is_some() {
        "--memory"
    } else if config.pids.is_some() {
        "--pids"
    } else if config.cpu.is_some() {
        "--cpu"
    } else if config.cpuset.is_some() {
        "--cpuset"
    } else if config.detach {
        "--detach"
    } else {
        return Ok(());
    };
    Err(bad!("{missing}: not implemented yet"))
}

fn help() {
    outln!("usage: box run [OPTIONS] --rootfs DIR [--] CMD [ARG…]");
    outln!("       box run --file SPEC [OPTIONS] [-- CMD [ARG…]]\n");
    outln!("Runs CMD in new mount, UTS, IPC and PID namespaces, with DIR as its root.\n");
    for option in RUN_OPTIONS {
        outln!("  --{}{}", option.name, option.help);
    }
    outln!("  --file SPEC       read options and cmd from a spec file");
    outln!("\nExit status: CMD's own; 128+N if killed by signal N; 125 if box failed,");
    outln!("126 if CMD cannot be executed, 127 if it was not found.");
}
