//! The option model: every option of every program is declared once, in a
//! `const` table of [`Opt`]s, and the rest follows from that declaration:
//! what the command line accepts ([`crate::args::CommandLine`] reads it
//! with util-linux's syntax), the keys of spec files (box run's options
//! marked for them, src/spec.rs), the `--help` text with its columns
//! computed ([`write_help`]), and the error messages, which name an option
//! as the user wrote it: `--memory` on the command line, `memory` at
//! `FILE:LINE` in a spec file ([`Given`]).
//!
//! An option's action is of the program's own type: mostly a small enum
//! that the program matches on, exhaustively, so a declared option cannot
//! go unhandled; for box run the function that applies it to a RunConfig.
//! Nothing here allocates.

use core::fmt::{self, Write};

use crate::bad;
use crate::error::Error;
use crate::packed::{Corpus, Packed};

/// How an option takes a value. The name (`DIR`) shows in the help and in
/// messages.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Value {
    /// A flag: `--net`, `-f`. Given `=value` on the command line, refused;
    /// in a spec file it stands alone or takes `true` or `false`.
    None,
    /// A value attached or as the next word: `--memory 64M`,
    /// `--memory=64M`, `-c DEV`, `-cDEV`.
    Required(&'static str),
    /// An optional value, attached only, as getopt's `::` options:
    /// `--mount-proc=DIR`, `-tPID`. `--mount-proc DIR` takes none, and DIR
    /// is the next word as any other.
    Attached(&'static str),
    /// An optional value attached to the long form only: `--net=FILE`;
    /// the short form takes none, so `-nu` is -n and -u (util-linux's
    /// unshare, whose short options take no optional value).
    AttachedToLong(&'static str),
}

/// Where an option may be given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Place {
    CommandLine,
    /// A key of spec files only (`cmd`, `restart`).
    SpecFile,
    /// On the command line, and as a key of spec files (box run's options).
    Both,
}

/// How an option is written and described: what the parser, the help and
/// the spec-file reader need of it, whatever the program does with it.
#[derive(Clone, Copy, Debug)]
pub struct Form {
    /// Without `--`; empty for an option that has only a short name.
    pub long: &'static str,
    /// The letter of `-x`, or 0 for none.
    pub short: u8,
    pub value: Value,
    /// Whether it may be given more than once (each `--bind` adds one);
    /// a second of one that may not is an error.
    pub repeat: bool,
    pub place: Place,
    /// One line in `--help`.
    pub help: Packed,
}

/// One option of a program: how it is written, and what the program does
/// with it.
#[derive(Clone, Copy, Debug)]
pub struct Opt<A> {
    pub form: Form,
    pub action: A,
}

impl<A> Opt<A> {
    /// `--long`, taking no value.
    pub const fn flag(long: &'static str, help: Packed, action: A) -> Self {
        Self::with(long, Value::None, help, action)
    }

    /// `--long NAME`.
    pub const fn value(long: &'static str, name: &'static str, help: Packed, action: A) -> Self {
        Self::with(long, Value::Required(name), help, action)
    }

    /// `--long[=NAME]`: the value only attached.
    pub const fn attached(long: &'static str, name: &'static str, help: Packed, action: A) -> Self {
        Self::with(long, Value::Attached(name), help, action)
    }

    /// `--long[=NAME]`, the value only attached and only to the long form.
    pub const fn attached_to_long(
        long: &'static str,
        name: &'static str,
        help: Packed,
        action: A,
    ) -> Self {
        Self::with(long, Value::AttachedToLong(name), help, action)
    }

    const fn with(long: &'static str, value: Value, help: Packed, action: A) -> Self {
        Self {
            form: Form {
                long,
                short: 0,
                value,
                repeat: false,
                place: Place::CommandLine,
                help,
            },
            action,
        }
    }

    /// Also `-letter`.
    pub const fn short(mut self, letter: u8) -> Self {
        self.form.short = letter;
        self
    }

    /// May be given more than once.
    pub const fn repeat(mut self) -> Self {
        self.form.repeat = true;
        self
    }

    /// Also a key of spec files.
    pub const fn key(mut self) -> Self {
        self.form.place = Place::Both;
        self
    }

    /// A key of spec files, not an option of the command line.
    pub const fn key_only(mut self) -> Self {
        self.form.place = Place::SpecFile;
        self
    }
}

/// The options of a program, whatever their action's type: what the
/// parser and the help read (one copy of their code for every program).
pub trait Table {
    /// The form of option `i`, `None` past the last.
    fn form(&self, i: usize) -> Option<&Form>;
}

impl<A> Table for &[Opt<A>] {
    fn form(&self, i: usize) -> Option<&Form> {
        self.get(i).map(|option| &option.form)
    }
}

/// The forms of a table, in order.
pub fn forms(table: &dyn Table) -> impl Iterator<Item = &Form> + Clone {
    (0..).map_while(|i| table.form(i))
}

/// A program that takes no option but `--help`: its table is empty, and
/// `match found.action {}` says so.
#[derive(Clone, Copy, Debug)]
pub enum NoOption {}

/// A program's help, around its options.
pub struct Usage {
    /// As the user calls it: `box run`, `unshare`.
    pub name: &'static str,
    /// What follows the name on each usage line: `[OPTIONS] NAME`.
    pub synopsis: &'static [&'static str],
    /// What the program does, in lines of at most 80 columns.
    pub about: Packed,
    /// After the options (exit statuses, notes), or empty.
    pub notes: Packed,
}

impl Usage {
    /// What the program's messages start with: `box: stop` for `box stop`,
    /// `box: unshare` for `unshare`, `box-init` for box-init.
    pub fn prefix(&self) -> Prefix<'_> {
        Prefix(self.name)
    }

    /// `usage: box stop NAME [--time SECONDS]`: the first usage line, as
    /// the error for operands that do not fit it.
    pub fn error(&self) -> Error {
        self.error_because("")
    }

    /// The usage line with a word on what was wrong: `(one name)`.
    pub fn error_because(&self, why: &str) -> Error {
        let synopsis = self.synopsis.first().copied().unwrap_or("");
        let (space, open, close) = match why {
            "" => ("", "", ""),
            _ => (" ", "(", ")"),
        };
        bad!(
            "usage: {}{}{}{}{}{}{}",
            self.name,
            Spaced(synopsis),
            synopsis,
            space,
            open,
            why,
            close
        )
    }
}

/// See [`Usage::prefix`].
pub struct Prefix<'a>(&'a str);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.strip_prefix("box ") {
            Some(command) => write!(f, "box: {command}"),
            None if self.0.starts_with("box") => f.write_str(self.0),
            None => write!(f, "box: {}", self.0),
        }
    }
}

/// A space before a synopsis that is not empty.
struct Spaced<'a>(&'a str);

impl fmt::Display for Spaced<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            f.write_char(' ')
        }
    }
}

/// A program: its help and its options.
pub struct Command<A: 'static> {
    pub usage: Usage,
    pub options: &'static [Opt<A>],
}

/// The option every program answers without declaring it: usage on
/// standard output, exit status 0.
pub const HELP: Form = Form {
    long: "help",
    short: b'h',
    value: Value::None,
    repeat: true,
    place: Place::CommandLine,
    help: packed!("print this help and exit"),
};

/// An option as the user gave it, for messages: `--memory` or `-d` on the
/// command line, `memory` in a spec file. A long option given by a prefix
/// (`--mem`) is named in full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Given {
    Long(&'static str),
    Short(u8),
    Key(&'static str),
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Given::Long(name) => write!(f, "--{name}"),
            Given::Short(letter) => write!(f, "-{}", letter as char),
            Given::Key(name) => f.write_str(name),
        }
    }
}

/// The error that ends a reading at `--help` or `-h`: not a failure, so
/// its exit status is 0 ([`is_help`]).
pub fn help_requested() -> Error {
    bad!("--help").with_code(0)
}

/// Whether `e` is [`help_requested`].
pub fn is_help(e: &Error) -> bool {
    e.code == 0
}

/// Write the help of `usage` with the options of `table`: the usage
/// lines, what the program does, the options of the command line (and
/// `--help`) with their help in one column, computed, then the keys only
/// spec files take, then the notes.
pub fn write_help(out: &mut dyn Write, usage: &Usage, table: &dyn Table) -> fmt::Result {
    let texts = Corpus::unpack();
    for (i, synopsis) in usage.synopsis.iter().enumerate() {
        let lead = if i == 0 { "usage:" } else { "      " };
        writeln!(out, "{lead} {}{}{synopsis}", usage.name, Spaced(synopsis))?;
    }
    if !usage.about.is_empty() {
        write!(out, "\n{}\n", texts.get(usage.about))?;
    }
    let on_command_line = |form: &&Form| form.place != Place::SpecFile;
    let command_line = forms(table).filter(on_command_line);
    let keys_only = forms(table).filter(|form| form.place == Place::SpecFile);
    // One column for both lists, so that they read as one table.
    let all = command_line.clone().chain(keys_only.clone());
    let column = all
        .map(|form| width(&Left(form, false)))
        .chain(Some(width(&Left(&HELP, false))))
        .filter(|&w| w <= WIDEST)
        .max()
        .unwrap_or(0)
        + GAP;
    out.write_str("\nOptions:\n")?;
    for form in command_line.chain(Some(&HELP)) {
        row(out, &Left(form, false), texts.get(form.help), column)?;
    }
    let repeating = forms(table).filter(|form| form.repeat && form.place != Place::SpecFile);
    if repeating.clone().next().is_some() {
        let mut text = Paragraph::new(out);
        text.words("These may be given more than once:")?;
        let count = repeating.clone().count();
        for (i, form) in repeating.enumerate() {
            let end = if i + 1 == count { "." } else { "," };
            text.word(&format_args!("{}{end}", Name(form)))?;
        }
        text.end()?;
    }
    if forms(table).any(|form| form.place != Place::CommandLine) {
        let mut text = Paragraph::new(out);
        text.words(
            "Spec-file keys: each long option above without dashes (a flag alone or \
             with true or false),",
        )?;
        let mut but = forms(table).filter(|form| form.place == Place::CommandLine);
        if let Some(first) = but.next() {
            text.words("all but")?;
            text.word(&format_args!("--{},", first.long))?;
            for form in but {
                text.word(&format_args!("--{},", form.long))?;
            }
        }
        text.words("and these:")?;
        text.end()?;
        for form in keys_only {
            row(out, &Left(form, true), texts.get(form.help), column)?;
        }
    }
    if !usage.notes.is_empty() {
        write!(out, "\n{}\n", texts.get(usage.notes))?;
    }
    Ok(())
}

/// Text that help writes from the table (lists of names), broken into
/// lines of at most [`LINE`] columns; a paragraph of its own, after an
/// empty line.
struct Paragraph<'a> {
    out: &'a mut dyn Write,
    column: usize,
}

/// The longest line of a paragraph [`write_help`] composes.
const LINE: usize = 78;

impl<'a> Paragraph<'a> {
    fn new(out: &'a mut dyn Write) -> Self {
        Self { out, column: 0 }
    }

    fn word(&mut self, word: &dyn fmt::Display) -> fmt::Result {
        let w = width(word);
        if self.column == 0 {
            self.out.write_char('\n')?;
        } else if self.column + 1 + w > LINE {
            self.out.write_char('\n')?;
            self.column = 0;
        } else {
            self.out.write_char(' ')?;
            self.column += 1;
        }
        write!(self.out, "{word}")?;
        self.column += w;
        Ok(())
    }

    fn words(&mut self, text: &str) -> fmt::Result {
        text.split(' ').try_for_each(|word| self.word(&word))
    }

    fn end(self) -> fmt::Result {
        self.out.write_char('\n')
    }
}

/// Room between the widest name and the help column.
const GAP: usize = 2;
/// A left side wider than this puts its help on the next line, so that one
/// long value name does not push every help to the right.
const WIDEST: usize = 30;

fn row(out: &mut dyn Write, left: &Left<'_>, help: &str, column: usize) -> fmt::Result {
    let used = width(left);
    write!(out, "{left}")?;
    if used + GAP > column {
        out.write_char('\n')?;
        pad(out, column)?;
    } else {
        pad(out, column - used)?;
    }
    writeln!(out, "{help}")
}

fn pad(out: &mut dyn Write, spaces: usize) -> fmt::Result {
    for _ in 0..spaces {
        out.write_char(' ')?;
    }
    Ok(())
}

/// The left side of an option's line: `  -t, --time SECONDS`,
/// `      --mount-proc[=DIR]`; as a spec-file key (`true`), `  cmd CMD…`.
struct Left<'a>(&'a Form, bool);

impl fmt::Display for Left<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Left(form, key) = *self;
        let long = !form.long.is_empty();
        if key {
            write!(f, "  {}", form.long)?;
        } else {
            match (form.short, long) {
                (0, _) => write!(f, "      --{}", form.long)?,
                (letter, true) => write!(f, "  -{}, --{}", letter as char, form.long)?,
                (letter, false) => write!(f, "  -{}", letter as char)?,
            }
        }
        match form.value {
            Value::None => Ok(()),
            Value::Required(name) => write!(f, " {name}"),
            Value::Attached(name) | Value::AttachedToLong(name) if long => {
                write!(f, "[={name}]")
            }
            Value::Attached(name) | Value::AttachedToLong(name) => write!(f, "[{name}]"),
        }
    }
}

/// An option's name in running text: `--bind`, or `-x` for one without a
/// long name.
struct Name<'a>(&'a Form);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.long {
            "" => write!(f, "-{}", self.0.short as char),
            long => write!(f, "--{long}"),
        }
    }
}

/// Columns `shown` takes on a terminal: one per character.
fn width(shown: &dyn fmt::Display) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.chars().count();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = write!(count, "{shown}");
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Action {
        Net,
        Root,
        Proc,
        Bind,
        Cmd,
        Detach,
    }

    const OPTIONS: &[Opt<Action>] = &[
        Opt::flag("net", packed!("a network namespace"), Action::Net).key(),
        Opt::value("root", "DIR", packed!("the root"), Action::Root).key(),
        Opt::attached("mount-proc", "DIR", packed!("mount /proc"), Action::Proc).short(b'P'),
        Opt::value("bind", "SRC:DST", packed!("a bind mount"), Action::Bind)
            .key()
            .repeat(),
        Opt::flag("detach", packed!("in the background"), Action::Detach).short(b'd'),
        Opt::value("cmd", "CMD [ARG…]", packed!("the command"), Action::Cmd).key_only(),
    ];

    const USAGE: Usage = Usage {
        name: "box try",
        synopsis: &["[OPTIONS] CMD", "--other"],
        about: packed!("Tries."),
        notes: packed!("Exit status: 0."),
    };

    fn help() -> String {
        let mut text = String::new();
        write_help(&mut text, &USAGE, &OPTIONS).unwrap();
        text
    }

    #[test]
    fn help_has_one_column_computed() {
        let text = help();
        let expected = "\
usage: box try [OPTIONS] CMD
       box try --other

Tries.

Options:
      --net               a network namespace
      --root DIR          the root
  -P, --mount-proc[=DIR]  mount /proc
      --bind SRC:DST      a bind mount
  -d, --detach            in the background
  -h, --help              print this help and exit

These may be given more than once: --bind.

Spec-file keys: each long option above without dashes (a flag alone or with
true or false), all but --mount-proc, --detach, and these:
  cmd CMD [ARG…]          the command

Exit status: 0.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_wide_left_side_puts_its_help_below() {
        const WIDE: &[Opt<()>] = &[
            Opt::value(
                "device",
                "HOST[:INSIDE][:rwm][,MORE…]",
                packed!("a device"),
                (),
            ),
            Opt::flag("net", packed!("a network namespace"), ()),
        ];
        let mut text = String::new();
        write_help(&mut text, &USAGE, &WIDE).unwrap();
        assert!(
            text.contains("      --device HOST[:INSIDE][:rwm][,MORE…]\n              a device\n"),
            "{text}"
        );
        assert!(
            text.contains("      --net   a network namespace\n"),
            "{text}"
        );
    }

    #[test]
    fn messages_start_with_box_and_the_program() {
        let prefix = |name| {
            let usage = Usage {
                name,
                synopsis: &[],
                about: packed!(""),
                notes: packed!(""),
            };
            usage.prefix().to_string()
        };
        assert_eq!(prefix("box stop"), "box: stop");
        assert_eq!(prefix("pivot_root"), "box: pivot_root");
        assert_eq!(prefix("box-init"), "box-init");
    }

    #[test]
    fn given_names_the_option_as_written() {
        assert_eq!(Given::Long("memory").to_string(), "--memory");
        assert_eq!(Given::Short(b'd').to_string(), "-d");
        assert_eq!(Given::Key("memory").to_string(), "memory");
    }
}
