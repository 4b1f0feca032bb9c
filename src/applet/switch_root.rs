//! `switch_root [-c DEV] NEW_ROOT NEW_INIT [ARG…]`: leave the initramfs for
//! the real root, as the last act of an initramfs's PID 1.
//!
//! The sequence and its checks are in `sys::switch_root`, which box-init's
//! `box.switch_root=` uses too.

use crate::args::{Opt, Parser};
use crate::error::Result;
use crate::sys::entry::Args;
use crate::sys::switch_root::switch_into;
use crate::text::{Bytes, CPath};
use crate::{bad, errln, outln};

pub fn main(args: Args) -> u8 {
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            errln!("switch_root: {e}");
            e.code
        }
    }
}

/// Parse, then switch; `Ok` only for `--help`.
fn run(args: Args) -> Result<()> {
    let mut console: Option<CPath> = None;
    let mut p = Parser::new(args);
    while let Some(opt) = p.next()? {
        match opt {
            Opt::Short(b'c') | Opt::Long(b"console") => {
                let v = p.value()?;
                console = Some(
                    CPath::from_bytes(v).ok_or_else(|| bad!("-c {}: path too long", Bytes(v)))?,
                );
            }
            Opt::Short(b'h') | Opt::Long(b"help") => {
                outln!("usage: switch_root [-c DEV] NEW_ROOT NEW_INIT [ARG…]");
                outln!("Moves /dev /proc /sys /run into NEW_ROOT, deletes the initramfs's files,");
                outln!("makes NEW_ROOT the root and executes NEW_INIT as PID 1.");
                return Ok(());
            }
            _ => return Err(p.unknown(opt)),
        }
    }
    let rest = p.rest();
    let (Some(new_root), Some(_)) = (rest.get(0), rest.get(1)) else {
        return Err(bad!("usage: switch_root [-c DEV] NEW_ROOT NEW_INIT [ARG…]"));
    };
    let console = console.as_ref().map(CPath::as_cstr);
    let init = rest.get(1).unwrap_or(c"");
    match switch_into(new_root, console, init, rest.tail(1).argv(), args.envp()) {
        Ok(never) => match never {},
        Err(e) => Err(e),
    }
}
