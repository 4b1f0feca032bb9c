//! A small getopt: the option syntax of util-linux and busybox, over the
//! process's own argv, with no allocation.
//!
//! - `--long`, `--long=value`, `--long value`
//! - `-a -b`, clustered `-ab`, `-o value`, `-ovalue`
//! - options end at `--` or at the first word that is not an option (as
//!   getopt with a leading `+`), so a command's own flags are never taken.
//! - an unambiguous beginning of a long option stands for it (`--prop` for
//!   `--propagation`), as getopt_long reads them ([`match_long`]); an
//!   ambiguous one is refused with the candidates listed.
//!
//! [`CommandLine`] reads a program's words against its declared options
//! (src/options.rs): whether each takes a value, may repeat, the prefixes
//! of their long names, and the `--help` every program answers all come
//! from the declaration. [`Parser::with_long_options`] reads with the same
//! prefix rule over a bare list of names, for the check of that rule
//! (fuzz/checks/dispatch.rs).

use core::ffi::CStr;

use crate::bad;
use crate::error::{Error, Result};
use crate::options::{
    Command, Form, Given, HELP, Opt as Declared, Place, Table, Value, forms, help_requested,
};
use crate::sys::entry::Args;
use crate::text::Bytes;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Opt {
    Long(&'static [u8]),
    Short(u8),
}

impl core::fmt::Display for Opt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Opt::Long(name) => write!(f, "--{}", Bytes(name)),
            // A byte, not a character: through Bytes, so that a control or
            // a byte of no character (0x9b is a C1 CSI as a Latin-1 char)
            // never reaches a terminal raw.
            Opt::Short(c) => write!(f, "-{}", Bytes(&[c])),
        }
    }
}

pub struct Parser {
    args: Args,
    /// Next argument to look at.
    pos: usize,
    /// Rest of a short-option cluster (`-abc` after `a`: `bc`).
    cluster: &'static [u8],
    /// `=value` of the last long option, or a cluster's remainder when the
    /// option took it as its value; cleared once read.
    inline: Option<&'static [u8]>,
    last: Option<Opt>,
    /// The program's long options, for prefixes and ids; empty: names
    /// whole only.
    long_options: &'static [LongOption],
    /// Options ended at `--`: every word after it is an operand.
    ended: bool,
}

/// A long option's name, and an id of the caller's own (the short option
/// it is another name for, or a number from 128 up), as getopt_long's
/// `val`.
pub type LongOption = (&'static str, u8);

/// What a long option as typed names, among a program's long names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LongMatch {
    /// That name: given whole, or the only one the word begins.
    Name(&'static str),
    /// The beginning of several names (and not one of them whole).
    Ambiguous,
    /// Neither a name nor the beginning of one.
    Unknown,
}

/// Match `word` (a long option without `--` and `=value`) against `names`
/// as getopt_long does: a name given whole wins, even when it also begins
/// longer ones (`--map-user` beside `--map-users`); otherwise a word that
/// begins exactly one name stands for it. Also for option tables that are
/// not a [`Parser`]'s (spec-file keys).
pub fn match_long(word: &[u8], options: &[LongOption]) -> LongMatch {
    match find_long(word, options.iter().map(|&(name, _)| name)) {
        Lookup::At(i) => LongMatch::Name(options[i].0),
        Lookup::Ambiguous => LongMatch::Ambiguous,
        Lookup::Unknown => LongMatch::Unknown,
    }
}

/// What [`find_long`] found a word to be among names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lookup {
    /// The name at this position.
    At(usize),
    Ambiguous,
    Unknown,
}

/// [`match_long`]'s rule over any list of names; empty names (options with
/// a short name only) are never matched.
fn find_long<'a>(word: &[u8], names: impl Iterator<Item = &'a str>) -> Lookup {
    let mut found = Lookup::Unknown;
    for (i, name) in names.enumerate() {
        if name.is_empty() {
            continue;
        }
        if name.as_bytes() == word {
            return Lookup::At(i);
        }
        if !word.is_empty() && name.as_bytes().starts_with(word) {
            found = match found {
                Lookup::Unknown => Lookup::At(i),
                _ => Lookup::Ambiguous,
            };
        }
    }
    found
}

/// The names `word` begins, for an ambiguity's message:
/// `--map-user, --map-users`.
pub struct Candidates<'a> {
    pub word: &'a [u8],
    pub options: &'a [LongOption],
}

impl core::fmt::Display for Candidates<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for (name, _) in self.options {
            if name.as_bytes().starts_with(self.word) {
                f.write_str(if first { "--" } else { ", --" })?;
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl Parser {
    /// Parse `args`, whose element 0 is the program name. Out of line: its
    /// fields were set at each of some 20 programs' option loops.
    #[inline(never)]
    pub fn new(args: Args) -> Self {
        Self {
            args,
            pos: 1,
            cluster: b"",
            inline: None,
            last: None,
            long_options: &[],
            ended: false,
        }
    }

    /// Parse `args` for a program whose long options are `options`: an
    /// unambiguous beginning of one is read as the whole name, an
    /// ambiguous one is an error that lists the candidates. (Programs read
    /// prefixes through `CommandLine`; fuzz/checks/dispatch.rs checks the
    /// prefix rule through this.)
    pub fn with_long_options(args: Args, options: &'static [LongOption]) -> Self {
        Self {
            long_options: options,
            ..Self::new(args)
        }
    }

    /// The next option, or `None` when options end (at `--`, at the first
    /// operand, or at the end). Fails if the previous option was given an
    /// `=value` it does not take.
    #[expect(
        clippy::should_implement_trait,
        reason = "not an Iterator: an error ends the reading"
    )]
    pub fn next(&mut self) -> Result<Option<Opt>> {
        if let (Some(_), Some(last)) = (self.inline.take(), self.last) {
            return Err(bad!("option {} does not take a value", last));
        }
        if let Some((&c, rest)) = self.cluster.split_first() {
            self.cluster = rest;
            return Ok(Some(self.set_last(Opt::Short(c))));
        }
        let Some(arg) = self.args.get(self.pos).filter(|_| !self.ended) else {
            return Ok(None);
        };
        let arg = arg.to_bytes();
        if arg == b"--" {
            self.pos += 1;
            self.ended = true;
            return Ok(None);
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            self.pos += 1;
            let word = match long.iter().position(|&b| b == b'=') {
                Some(eq) => {
                    self.inline = Some(&long[eq + 1..]);
                    &long[..eq]
                }
                None => long,
            };
            let name = match match_long(word, self.long_options) {
                LongMatch::Name(name) => name.as_bytes(),
                LongMatch::Unknown => word,
                LongMatch::Ambiguous => {
                    let candidates = Candidates {
                        word,
                        options: self.long_options,
                    };
                    return Err(bad!(
                        "option --{} is ambiguous: {}",
                        Bytes(word),
                        candidates
                    ));
                }
            };
            return Ok(Some(self.set_last(Opt::Long(name))));
        }
        if arg.len() > 1 && arg[0] == b'-' {
            self.pos += 1;
            self.cluster = &arg[2..];
            return Ok(Some(self.set_last(Opt::Short(arg[1]))));
        }
        Ok(None)
    }

    fn set_last(&mut self, opt: Opt) -> Opt {
        self.last = Some(opt);
        opt
    }

    /// The value of the option just returned: its `=value`, the rest of its
    /// short cluster, or the next argument.
    pub fn value(&mut self) -> Result<&'static [u8]> {
        if let Some(v) = self.inline.take() {
            return Ok(v);
        }
        if !self.cluster.is_empty() {
            return Ok(core::mem::take(&mut self.cluster));
        }
        match self.args.get(self.pos) {
            Some(v) => {
                self.pos += 1;
                Ok(v.to_bytes())
            }
            None => Err(self.missing_value()),
        }
    }

    /// An optional value, which can only be attached (`--mount-proc=DIR`,
    /// `-tPID`), as getopt's `::` options.
    pub fn optional_value(&mut self) -> Option<&'static [u8]> {
        if let Some(v) = self.inline.take() {
            return Some(v);
        }
        if !self.cluster.is_empty() {
            return Some(core::mem::take(&mut self.cluster));
        }
        None
    }

    fn missing_value(&self) -> Error {
        match self.last {
            Some(opt) => bad!("option {} needs a value", opt),
            None => bad!("missing value"),
        }
    }

    /// The words after the options (the operands).
    pub fn rest(&self) -> Args {
        self.args.tail(self.pos)
    }

    /// The error for an option this program does not know.
    pub fn unknown(&self, opt: Opt) -> Error {
        bad!("unknown option {}", opt)
    }

    /// Once options have ended at an operand, take it, and read options
    /// again after it (`box stop NAME --time 2`); after `--`, words stay
    /// operands.
    fn operand(&mut self) -> Option<&'static CStr> {
        let word = self.args.get(self.pos)?;
        self.pos += 1;
        Some(word)
    }
}

/// A program's words read against its declared options (src/options.rs),
/// in util-linux's syntax (above), with unambiguous prefixes of long
/// options. `--help` and `-h` end the reading with [`help_requested`], for
/// the program to print its help ([`crate::out::finish`]).
pub struct CommandLine<A: 'static> {
    words: Parser,
    options: &'static [Declared<A>],
    /// The options given so far, a bit for each in the table: one that
    /// does not repeat may be given once.
    seen: u64,
}

/// An option found on the command line.
#[derive(Clone, Copy, Debug)]
pub struct Found<A> {
    pub action: A,
    /// Its value: given to one that takes one, or `None`.
    pub value: Option<&'static [u8]>,
    /// As the user gave it, to name it in messages.
    pub given: Given,
}

impl<A> Found<A> {
    /// Its value, or empty: what box run's options take (a flag's empty
    /// value means on, as a flag alone does in a spec file).
    pub fn text(&self) -> &'static [u8] {
        self.value.unwrap_or(b"")
    }
}

impl<A: Copy> CommandLine<A> {
    /// Read `args`, whose element 0 is the program's name, against the
    /// options of `command`.
    pub fn new(args: Args, command: &'static Command<A>) -> Self {
        Self {
            words: Parser::new(args),
            options: command.options,
            seen: 0,
        }
    }

    /// The next option, or `None` once options end (at `--`, at the first
    /// operand, or at the end).
    #[expect(
        clippy::should_implement_trait,
        reason = "not an Iterator: an error ends the reading"
    )]
    pub fn next(&mut self) -> Result<Option<Found<A>>> {
        let options = self.options;
        let read = read_option(&mut self.words, &options, &mut self.seen)?;
        Ok(read.map(|read| Found {
            action: options[read.at].action,
            value: read.value,
            given: read.given,
        }))
    }

    /// The words after the options: the operands.
    pub fn rest(&self) -> Args {
        self.words.rest()
    }

    /// Once [`next`](Self::next) has returned `None` at an operand, take
    /// that operand; options may follow it (`box stop NAME --time 2`).
    /// `None` at the end, and after `--`, which leaves the rest operands.
    pub fn operand(&mut self) -> Option<&'static CStr> {
        if self.words.ended {
            return None;
        }
        self.words.operand()
    }
}

/// An option [`read_option`] read, whatever its program.
struct Read {
    /// Its position in the program's table.
    at: usize,
    value: Option<&'static [u8]>,
    given: Given,
}

/// Read one option of `table` from `words`, the same code for every
/// program (the table's type is the program's, its reading is not).
fn read_option(words: &mut Parser, table: &dyn Table, seen: &mut u64) -> Result<Option<Read>> {
    let Some(opt) = words.next()? else {
        return Ok(None);
    };
    // Spec-file keys are no options; `--help` is every program's.
    let usable = |form: &Form| form.place != Place::SpecFile;
    let names = forms(table).map(|form| if usable(form) { form.long } else { "" });
    let at = match opt {
        Opt::Long(word) => match find_long(word, names.chain(Some(HELP.long))) {
            Lookup::At(i) => i,
            Lookup::Ambiguous => {
                let names = forms(table).filter(|f| usable(f)).map(|f| f.long);
                let candidates = LongCandidates(word, names.chain(Some(HELP.long)));
                return Err(bad!(
                    "option --{} is ambiguous: {}",
                    Bytes(word),
                    candidates
                ));
            }
            Lookup::Unknown => return Err(words.unknown(opt)),
        },
        Opt::Short(letter) => match forms(table).position(|f| f.short == letter && usable(f)) {
            Some(i) => i,
            None if letter == HELP.short => usize::MAX,
            None => return Err(words.unknown(opt)),
        },
    };
    let Some(form) = table.form(at) else {
        return Err(help_requested());
    };
    let given = match opt {
        Opt::Long(_) => Given::Long(form.long),
        Opt::Short(letter) => Given::Short(letter),
    };
    let bit = 1u64.checked_shl(at as u32).unwrap_or(0);
    if *seen & bit != 0 && !form.repeat {
        return Err(bad!("option {} given twice", given));
    }
    *seen |= bit;
    let value = match form.value {
        // `--net=1`: the `=value` of a long option is all there is to take
        // (a short flag's cluster goes on with more options).
        Value::None => match opt {
            Opt::Long(_) if words.optional_value().is_some() => {
                return Err(bad!("option {} does not take a value", given));
            }
            _ => None,
        },
        Value::Required(_) => match words.value() {
            Ok(value) => Some(value),
            Err(_) => return Err(bad!("option {} needs a value", given)),
        },
        Value::Attached(_) => words.optional_value(),
        Value::AttachedToLong(_) => match opt {
            Opt::Long(_) => words.optional_value(),
            Opt::Short(_) => None,
        },
    };
    Ok(Some(Read { at, value, given }))
}

/// The long names a word begins, for an ambiguity's message:
/// `--map-user, --map-users`.
struct LongCandidates<'a, I>(&'a [u8], I);

impl<'a, I: Iterator<Item = &'static str> + Clone> core::fmt::Display for LongCandidates<'a, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let begun = self
            .1
            .clone()
            .filter(|name| !name.is_empty() && name.as_bytes().starts_with(self.0));
        for (i, name) in begun.enumerate() {
            write!(f, "{}--{name}", if i == 0 { "" } else { ", " })?;
        }
        Ok(())
    }
}

/// The checks the fuzz target `dispatch` runs; the tests below run them on
/// stable too, with pseudo-random argument vectors.
#[cfg(test)]
#[path = "../fuzz/checks/dispatch.rs"]
mod checks;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&'static core::ffi::CStr]) -> (std::vec::Vec<std::string::String>, usize) {
        let mut p = Parser::new(Args::for_test(args));
        let mut seen = std::vec::Vec::new();
        while let Some(opt) = p.next().unwrap() {
            let s = match opt {
                Opt::Long(b"root") | Opt::Short(b'o') => {
                    let v = p.value().unwrap();
                    std::format!("{opt}={}", std::str::from_utf8(v).unwrap())
                }
                Opt::Long(b"mount-proc") => {
                    let v = p.optional_value().unwrap_or(b"-");
                    std::format!("{opt}={}", std::str::from_utf8(v).unwrap())
                }
                _ => std::format!("{opt}"),
            };
            seen.push(s);
        }
        (seen, p.rest().len())
    }

    #[test]
    fn clusters_values_and_operands() {
        let (seen, rest) = parse(&[
            c"unshare",
            c"-fp",
            c"--mount-proc",
            c"--root",
            c"/r",
            c"-oX",
            c"sh",
            c"-c",
            c"x",
        ]);
        assert_eq!(seen, ["-f", "-p", "--mount-proc=-", "--root=/r", "-o=X"]);
        assert_eq!(rest, 3);
    }

    #[test]
    fn inline_values_and_double_dash() {
        let (seen, rest) = parse(&[c"x", c"--root=/a=b", c"--mount-proc=/p", c"--", c"-f"]);
        assert_eq!(seen, ["--root=/a=b", "--mount-proc=/p"]);
        assert_eq!(rest, 1);
    }

    #[test]
    fn cluster_value_takes_the_rest() {
        let (seen, _) = parse(&[c"x", c"-fo", c"val"]);
        assert_eq!(seen, ["-f", "-o=val"]);
    }

    #[test]
    fn value_on_a_flag_is_an_error() {
        let mut p = Parser::new(Args::for_test(&[c"x", c"--net=1", c"a"]));
        assert_eq!(p.next().unwrap(), Some(Opt::Long(b"net")));
        assert!(p.next().is_err());
    }

    #[test]
    fn missing_value_is_an_error() {
        let mut p = Parser::new(Args::for_test(&[c"x", c"--root"]));
        p.next().unwrap();
        assert!(p.value().is_err());
    }

    #[test]
    fn long_prefixes_as_getopt_long_reads_them() {
        const NAMES: &[LongOption] = &[
            ("map-user", 128),
            ("map-users", 129),
            ("map-root-user", b'r'),
            ("propagation", 130),
            ("pid", b'p'),
            ("mount", b'm'),
            ("mount-proc", 131),
        ];
        let m = |word: &str| match_long(word.as_bytes(), NAMES);
        assert_eq!(m("map-root"), LongMatch::Name("map-root-user"));
        assert_eq!(m("prop"), LongMatch::Name("propagation"));
        assert_eq!(m("pi"), LongMatch::Name("pid"));
        // A name given whole wins over the longer names it begins.
        assert_eq!(m("map-user"), LongMatch::Name("map-user"));
        assert_eq!(m("mount"), LongMatch::Name("mount"));
        assert_eq!(m("map-u"), LongMatch::Ambiguous);
        assert_eq!(m("p"), LongMatch::Ambiguous);
        assert_eq!(m("mounts"), LongMatch::Unknown);
        assert_eq!(m(""), LongMatch::Unknown);
        assert_eq!(match_long(b"pid", &[]), LongMatch::Unknown);
        let listed = Candidates {
            word: b"map-u",
            options: NAMES,
        };
        assert_eq!(std::format!("{listed}"), "--map-user, --map-users");
    }

    #[test]
    fn a_parser_given_names_reads_prefixes() {
        const NAMES: &[LongOption] = &[
            ("propagation", 128),
            ("pid", b'p'),
            ("map-user", 129),
            ("map-users", 130),
        ];
        let args = [
            c"x",
            c"--prop=private",
            c"--pi",
            c"-p",
            c"--map-user",
            c"u",
            c"--m",
            c"y",
        ];
        let mut p = Parser::with_long_options(Args::for_test(&args), NAMES);
        let opt = p.next().unwrap().unwrap();
        assert_eq!(opt, Opt::Long(b"propagation"));
        assert_eq!(p.value().unwrap(), b"private");
        let opt = p.next().unwrap().unwrap();
        assert_eq!(opt, Opt::Long(b"pid"));
        let opt = p.next().unwrap().unwrap();
        assert_eq!(opt, Opt::Short(b'p'));
        let opt = p.next().unwrap().unwrap();
        assert_eq!(opt, Opt::Long(b"map-user"));
        assert_eq!(p.value().unwrap(), b"u");
        let e = p.next().unwrap_err();
        assert_eq!(
            std::format!("{e}"),
            "option --m is ambiguous: --map-user, --map-users"
        );
        // Without names, only whole names.
        let mut p = Parser::new(Args::for_test(&args));
        assert_eq!(p.next().unwrap(), Some(Opt::Long(b"prop")));
    }

    #[test]
    fn lone_dash_is_an_operand() {
        let (seen, rest) = parse(&[c"x", c"-", c"y"]);
        assert!(seen.is_empty());
        assert_eq!(rest, 2);
    }

    use crate::test_rng::Rng;

    /// Words an argument vector is made of here: each kind of option of
    /// fuzz/checks/dispatch.rs's made-up program, attached and not, unknown
    /// ones, `--`, `-`, operands and paths for argv[0].
    const WORDS: &[&str] = &[
        "--net",
        "--net=1",
        "--net=",
        "--help",
        "--root",
        "--root=/a=b",
        "--memory",
        "--mount-proc",
        "--mount-proc=/p",
        "--m",
        "--mo=/p",
        "--r",
        "--ro=/x",
        "--n",
        "--he",
        "--bogus",
        "--bogus=1",
        "--",
        "---",
        "--=x",
        "-",
        "-f",
        "-fp",
        "-o",
        "-ofoo",
        "-fo",
        "-t",
        "-t5",
        "-ft7",
        "-x",
        "-fpx",
        "-=",
        "a",
        "/r",
        "=",
        "\u{e9}",
        "/usr/bin/box",
        "box",
        "init/",
        "//",
    ];

    #[test]
    fn random_argument_vectors_read_as_the_model_says() {
        let mut rng = Rng(0xa5a5_5a5a_0f0f_f0f0);
        for _ in 0..5000 {
            let words: std::vec::Vec<&'static core::ffi::CStr> = (0..rng.below(8))
                .map(|_| {
                    let word: std::vec::Vec<u8> = match rng.below(10) {
                        0 => (0..rng.below(6)).map(|_| rng.next() as u8 | 1).collect(),
                        _ => WORDS[rng.below(WORDS.len())].as_bytes().to_vec(),
                    };
                    let word = std::ffi::CString::new(word).unwrap();
                    &*std::boxed::Box::leak(word.into_boxed_c_str())
                })
                .collect();
            checks::check_basename(words.first().map_or(b"", |w| w.to_bytes()));
            checks::check_getopt(Args::for_test(&words));
        }
    }
}
