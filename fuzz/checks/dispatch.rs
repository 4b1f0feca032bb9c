//! Checks of how box reads its argument vector, shared by the fuzz target
//! `dispatch` and the unit tests of src/args.rs, which include this file.
//!
//! - [`check_basename`]: the name an applet is found by (the basename of
//!   argv[0]) is the last component of the path, whatever the bytes. (Which
//!   applet or command a name then reaches is `route` in src/lib.rs, whose
//!   unit tests check it on random names.)
//! - [`check_getopt`]: the getopt of src/args.rs, driven as the applets
//!   drive it over the options of a made-up program with one option of each
//!   kind, gives the same options, values, errors and operands as
//!   [`model`], a second reading of the syntax its documentation states,
//!   both as programs that take long options whole and as those that also
//!   take an unambiguous beginning of one. It never panics and always ends.

use crate::args::{Opt, Parser};
use crate::sys::entry::Args;
use crate::text::basename;

/// The basename of `path` is its last component: not empty and without a
/// slash, unless the path is nothing but slashes (or empty), which is its
/// own basename, as in coreutils.
pub fn check_basename(path: &[u8]) {
    let name = basename(path);
    if path.iter().all(|&b| b == b'/') {
        assert_eq!(name, path);
        return;
    }
    assert!(!name.is_empty() && !name.contains(&b'/'), "{path:?}");
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let trimmed = &path[..end];
    assert!(trimmed.ends_with(name), "{path:?}");
    let before = &trimmed[..trimmed.len() - name.len()];
    assert!(before.is_empty() || before.ends_with(b"/"), "{path:?}");
}

/// How an option of the made-up program takes a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Flag,
    /// Attached (`--root=/r`, `-o/r`) or the next word.
    Value,
    /// Attached only (`--mount-proc=/p`, `-t5`), as getopt's `::`.
    Optional,
}

/// Long options of the made-up program (those of unshare and box run).
pub const LONG: &[(&[u8], Kind)] = &[
    (b"net", Kind::Flag),
    (b"help", Kind::Flag),
    (b"root", Kind::Value),
    (b"memory", Kind::Value),
    (b"mount-proc", Kind::Optional),
];

/// The same names, as a parser that takes prefixes is given them.
pub const LONG_NAMES: &[crate::args::LongOption] = &[
    ("net", 128),
    ("help", b'h'),
    ("root", 129),
    ("memory", 130),
    ("mount-proc", 131),
];

/// Short options of the made-up program.
pub const SHORT: &[(u8, Kind)] = &[
    (b'f', Kind::Flag),
    (b'p', Kind::Flag),
    (b'o', Kind::Value),
    (b'r', Kind::Value),
    (b't', Kind::Optional),
];

fn kind(opt: Opt) -> Option<Kind> {
    match opt {
        Opt::Long(name) => LONG.iter().find(|(n, _)| *n == name).map(|&(_, k)| k),
        Opt::Short(c) => SHORT.iter().find(|(s, _)| *s == c).map(|&(_, k)| k),
    }
}

/// An option as the checks record it (owned, so the model can make them).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Name {
    Long(Vec<u8>),
    Short(u8),
}

impl From<Opt> for Name {
    fn from(opt: Opt) -> Self {
        match opt {
            Opt::Long(name) => Name::Long(name.to_vec()),
            Opt::Short(c) => Name::Short(c),
        }
    }
}

/// What reading an argument vector gives, in order; the last event ends it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// An option and its value, if it took one.
    Option(Name, Option<Vec<u8>>),
    /// An option the program does not have: the program stops.
    Unknown(Name),
    /// The beginning of several long names: the parser stops.
    Ambiguous(Name),
    /// A flag given `=value`.
    TakesNoValue(Name),
    /// An option that needs a value at the end of the words.
    NeedsValue(Name),
    /// Options ended; this many words are the operands.
    Operands(usize),
}

/// Run the getopt of src/args.rs over `args` (argv[0] first) as an applet
/// does, and compare with [`model`].
pub fn check_getopt(args: Args) {
    let bytes: Vec<&[u8]> = (0..args.len()).map(|i| args.bytes(i)).collect();
    let shown: Vec<_> = bytes.iter().map(|w| String::from_utf8_lossy(w)).collect();
    for prefixes in [false, true] {
        let parser = match prefixes {
            false => Parser::new(args),
            true => Parser::with_long_options(args, LONG_NAMES),
        };
        let got = parse(parser, &bytes);
        let want = model(&bytes, prefixes);
        assert_eq!(got, want, "argv {shown:?}, prefixes {prefixes}");
    }
}

/// The events src/args.rs gives, the program stopping at the first error
/// as every applet does. Error messages must name the option.
fn parse(mut parser: Parser, words: &[&[u8]]) -> Vec<Event> {
    let mut events = Vec::new();
    // Each call takes a word or a byte of a cluster: more calls than that
    // would be a loop.
    let most = words.len() + words.iter().map(|w| w.len()).sum::<usize>() + 2;
    for _ in 0..most {
        let opt = match parser.next() {
            Ok(Some(opt)) => opt,
            Ok(None) => {
                events.push(Event::Operands(parser.rest().len()));
                return events;
            }
            Err(e) if e.to_string().contains("is ambiguous") => {
                // The word the parser took last: `--WORD[=value]`.
                let word = words[words.len() - parser.rest().len() - 1];
                let name = &word[2..];
                let name = &name[..name.iter().position(|&b| b == b'=').unwrap_or(name.len())];
                let listed = LONG_NAMES
                    .iter()
                    .map(|(n, _)| n)
                    .filter(|n| n.as_bytes().starts_with(name));
                for candidate in listed {
                    assert!(e.to_string().contains(&format!("--{candidate}")), "{e}");
                }
                events.push(Event::Ambiguous(Name::Long(name.to_vec())));
                return events;
            }
            Err(e) => {
                let Some(Event::Option(name, None)) = events.last().cloned() else {
                    panic!("{e} after {events:?}");
                };
                assert!(e.to_string().contains("does not take a value"), "{e}");
                events.push(Event::TakesNoValue(name));
                return events;
            }
        };
        let shown = opt.to_string();
        let name = Name::from(opt);
        match kind(opt) {
            None => {
                let message = parser.unknown(opt).to_string();
                assert!(names(&message, &shown), "{message}");
                events.push(Event::Unknown(name));
                return events;
            }
            Some(Kind::Flag) => events.push(Event::Option(name, None)),
            Some(Kind::Value) => match parser.value() {
                Ok(value) => events.push(Event::Option(name, Some(value.to_vec()))),
                Err(e) => {
                    assert!(names(&e.to_string(), &shown), "{e}");
                    events.push(Event::NeedsValue(name));
                    return events;
                }
            },
            Some(Kind::Optional) => {
                let value = parser.optional_value().map(<[u8]>::to_vec);
                events.push(Event::Option(name, value));
            }
        }
    }
    panic!("the parser did not end: {events:?}");
}

/// The same, read from the documented syntax: `--long`, `--long=value`,
/// `--long value`; `-a -b`, clustered `-ab`, `-o value`, `-ovalue`;
/// options end at `--` (which is dropped) or at the first word that is not
/// an option (`-` alone is not one). With `prefixes`, a long word that is
/// no name but begins exactly one stands for it, and one that begins more
/// is ambiguous.
pub fn model(words: &[&[u8]], prefixes: bool) -> Vec<Event> {
    let mut events = Vec::new();
    let mut next = 1;
    while let Some(&word) = words.get(next) {
        if word == b"--" {
            next += 1;
            break;
        }
        if let Some(long) = word.strip_prefix(b"--") {
            next += 1;
            let (name, attached) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                None => (long, None),
            };
            let mut name = name;
            if prefixes && !LONG.iter().any(|(n, _)| *n == name) {
                let begun: Vec<&[u8]> = LONG
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| !name.is_empty() && n.starts_with(name))
                    .collect();
                match begun[..] {
                    [only] => name = only,
                    [_, _, ..] => return stop(events, Event::Ambiguous(Name::Long(name.to_vec()))),
                    [] => {}
                }
            }
            let option = Name::Long(name.to_vec());
            let kind = LONG.iter().find(|(n, _)| *n == name).map(|&(_, k)| k);
            let value = match kind {
                None => return stop(events, Event::Unknown(option)),
                Some(Kind::Flag) if attached.is_some() => {
                    events.push(Event::Option(option.clone(), None));
                    return stop(events, Event::TakesNoValue(option));
                }
                Some(Kind::Flag) => None,
                Some(Kind::Optional) => attached,
                Some(Kind::Value) => match attached {
                    Some(value) => Some(value),
                    None => match words.get(next) {
                        Some(&value) => {
                            next += 1;
                            Some(value)
                        }
                        None => return stop(events, Event::NeedsValue(option)),
                    },
                },
            };
            events.push(Event::Option(option, value.map(<[u8]>::to_vec)));
            continue;
        }
        if word.len() < 2 || word[0] != b'-' {
            break;
        }
        next += 1;
        for (i, &c) in word.iter().enumerate().skip(1) {
            let option = Name::Short(c);
            let rest = &word[i + 1..];
            match SHORT.iter().find(|(s, _)| *s == c).map(|&(_, k)| k) {
                None => return stop(events, Event::Unknown(option)),
                Some(Kind::Flag) => events.push(Event::Option(option, None)),
                // A value or optional value takes the rest of the cluster.
                Some(Kind::Value | Kind::Optional) if !rest.is_empty() => {
                    events.push(Event::Option(option, Some(rest.to_vec())));
                    break;
                }
                Some(Kind::Optional) => events.push(Event::Option(option, None)),
                Some(Kind::Value) => match words.get(next) {
                    Some(&value) => {
                        next += 1;
                        events.push(Event::Option(option, Some(value.to_vec())));
                    }
                    None => return stop(events, Event::NeedsValue(option)),
                },
            }
        }
    }
    let operands = words.len().saturating_sub(next);
    stop(events, Event::Operands(operands))
}

/// Whether an error message names the option shown as `shown`. Messages
/// have a fixed capacity: a very long option is cut, and the cut marked.
fn names(message: &str, shown: &str) -> bool {
    let start: String = shown.chars().take(2).collect();
    message.contains(shown) || (message.ends_with('…') && message.contains(&start))
}

fn stop(mut events: Vec<Event>, last: Event) -> Vec<Event> {
    events.push(last);
    events
}
