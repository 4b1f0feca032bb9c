//! JSON for the OCI runtime: a pull parser over a byte slice and a writer,
//! neither of which allocates.
//!
//! The parser is strict RFC 8259: one value at the top level, surrounded by
//! whitespace only; no comments, no trailing commas, no leading zeros, no
//! control characters or invalid UTF-8 inside strings, no lone surrogates
//! in `\u` escapes. Every refusal is an [`Error`] with the byte offset
//! where it was found. Strings are checked when they are read and decoded
//! only when asked, into the caller's buffer ([`Str::decode`]); numbers
//! are kept as their text and converted to the integer the caller wants
//! ([`Num::u64`], [`Num::i64`]), which refuses fractions and exponents
//! (a float can still be skipped). Containers nest at most
//! [`MAX_DEPTH`] deep, so a hostile document cannot exhaust anything.
//!
//! The writer ([`Writer`]) emits the JSON box itself prints (`state`,
//! `features`, `spec`, log lines) through any `core::fmt::Write`: a
//! fixed-capacity `Text`, or `out::Writer` straight to a descriptor. It
//! places commas itself and escapes strings, so its output is valid JSON
//! whatever bytes it is given (invalid UTF-8 becomes U+FFFD).
//!
//! Why not a crate: serde_json and miniserde allocate, and serde-json-core
//! costs more than this whole module and refuses escaped strings.

use crate::text;
use core::fmt;

/// Deepest nesting of objects and arrays accepted. config.json needs 5.
pub const MAX_DEPTH: usize = 32;

/// Why a document was refused, and where.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Error {
    /// Byte offset into the document.
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// A string as it stands in the document, between its quotes: already
/// checked, decoded on demand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Str<'a> {
    raw: &'a [u8],
    /// Offset of `raw` in the document, for errors about the value.
    pub at: usize,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The string itself when it has no escapes (no copy needed).
    pub fn plain(&self) -> Option<&'a [u8]> {
        (!self.escaped).then_some(self.raw)
    }

    /// Whether the decoded string is exactly `text` (keys are compared so).
    /// (`text` has no space: [`Str::find`] with one word.)
    pub fn is(&self, text: &str) -> bool {
        self.find(text) == 0
    }

    /// Which of `words` (names one space apart) the decoded string is:
    /// its index, or `usize::MAX` for none. One call where a chain of
    /// [`Str::is`] would make one each.
    #[inline(never)]
    pub fn find(&self, words: &str) -> usize {
        let mut buf = [0u8; 64];
        // A string too long to decode is no word (as for `is`); a space
        // is in none.
        let s = match self.plain() {
            Some(s) => s,
            None => self.decode(&mut buf).unwrap_or(b" "),
        };
        word_index(words, s)
    }

    /// Decode into `buf` (UTF-8); an error when it does not fit.
    pub fn decode<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8]> {
        let mut len = 0;
        let mut put = |bytes: &[u8]| -> Result<()> {
            let end = len + bytes.len();
            if end > buf.len() {
                return Err(Error {
                    at: self.at,
                    what: "string too long",
                });
            }
            buf[len..end].copy_from_slice(bytes);
            len = end;
            Ok(())
        };
        let raw = self.raw;
        let mut i = 0;
        while i < raw.len() {
            if raw[i] != b'\\' {
                let run = raw[i..].iter().position(|&b| b == b'\\');
                let end = run.map_or(raw.len(), |n| i + n);
                put(&raw[i..end])?;
                i = end;
                continue;
            }
            // Checked by the scanner: a known escape, complete.
            let (c, used) = match raw[i + 1] {
                b'u' => unicode_escape(raw, i).unwrap_or(('\u{fffd}', 6)),
                b'n' => ('\n', 2),
                b't' => ('\t', 2),
                b'r' => ('\r', 2),
                b'b' => ('\u{8}', 2),
                b'f' => ('\u{c}', 2),
                other => (other as char, 2),
            };
            put(c.encode_utf8(&mut [0; 4]).as_bytes())?;
            i += used;
        }
        Ok(&buf[..len])
    }

    /// Length once decoded.
    pub fn decoded_len(&self) -> usize {
        if !self.escaped {
            return self.raw.len();
        }
        let mut len = 0;
        let mut i = 0;
        while i < self.raw.len() {
            if self.raw[i] != b'\\' {
                len += 1;
                i += 1;
            } else if self.raw[i + 1] == b'u' {
                let (c, used) = unicode_escape(self.raw, i).unwrap_or(('\u{fffd}', 6));
                len += c.len_utf8();
                i += used;
            } else {
                len += 1;
                i += 2;
            }
        }
        len
    }
}

/// Which of `words` (names one space apart) `s` is: its index, or
/// `usize::MAX` for none (a name table in one string, with no pointer a
/// name).
pub fn word_index(words: &str, s: &[u8]) -> usize {
    let words = words.as_bytes();
    let (mut index, mut start) = (0, 0);
    for end in 0..=words.len() {
        if words.get(end).is_none_or(|&b| b == b' ') {
            if words[start..end] == *s {
                return index;
            }
            (index, start) = (index + 1, end + 1);
        }
    }
    usize::MAX
}

/// The character of the `\uXXXX` escape at `raw[i]` (with its low
/// surrogate when it is a high one), and the bytes it took. `None` for a
/// lone surrogate.
fn unicode_escape(raw: &[u8], i: usize) -> Option<(char, usize)> {
    let high = hex4(raw.get(i + 2..i + 6)?)?;
    if !(0xd800..0xe000).contains(&high) {
        return Some((char::from_u32(high)?, 6));
    }
    if high >= 0xdc00 || raw.get(i + 6..i + 8) != Some(b"\\u") {
        return None;
    }
    let low = hex4(raw.get(i + 8..i + 12)?)?;
    if !(0xdc00..0xe000).contains(&low) {
        return None;
    }
    let c = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
    Some((char::from_u32(c)?, 12))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    let mut n = 0;
    for &d in digits {
        n = n * 16 + (d as char).to_digit(16)?;
    }
    Some(n)
}

/// A number as written (grammar checked), converted on demand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Num<'a> {
    pub raw: &'a [u8],
    pub at: usize,
}

impl Num<'_> {
    /// As an unsigned integer: no sign, fraction or exponent, at most
    /// `u64::MAX`.
    pub fn u64(&self) -> Result<u64> {
        if self.raw.first() == Some(&b'-') {
            return Err(self.error("a negative number where none is allowed"));
        }
        self.magnitude()
    }

    /// As a signed integer.
    pub fn i64(&self) -> Result<i64> {
        match self.raw.strip_prefix(b"-") {
            Some(digits) => {
                let n = Num {
                    raw: digits,
                    at: self.at,
                }
                .magnitude()?;
                0i64.checked_sub_unsigned(n)
                    .ok_or(self.error("number out of range"))
            }
            None => i64::try_from(self.magnitude()?).map_err(|_| self.error("number out of range")),
        }
    }

    fn magnitude(&self) -> Result<u64> {
        let mut n: u64 = 0;
        for &d in self.raw {
            if !d.is_ascii_digit() {
                return Err(self.error("a fraction or exponent where an integer is wanted"));
            }
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(self.error("number out of range"))?;
        }
        Ok(n)
    }

    fn error(&self, what: &'static str) -> Error {
        Error { at: self.at, what }
    }
}

/// What the parser found next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event<'a> {
    ObjectBegin,
    /// A member's name; its value follows.
    Key(Str<'a>),
    ObjectEnd,
    ArrayBegin,
    ArrayEnd,
    String(Str<'a>),
    Number(Num<'a>),
    Bool(bool),
    Null,
    /// The document is complete (only whitespace followed the value).
    End,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// A value is wanted: at the start, after a key, after a comma in an
    /// array.
    Value,
    /// Just after `{`: a key or `}`.
    ObjectFirst,
    /// After a comma in an object: a key.
    Key,
    /// Just after `[`: a value or `]`.
    ArrayFirst,
    /// After a value: a comma, the end of the container, or of the
    /// document.
    AfterValue,
    Done,
}

/// The pull parser: call [`Parser::next`] for each [`Event`], or use the
/// typed helpers ([`Parser::string`], [`Parser::next_key`], …) where the
/// caller knows what it wants.
#[derive(Clone, Copy)]
pub struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
    state: State,
    depth: usize,
    /// One bit per open container: set for an object.
    objects: u64,
}

const _: () = assert!(MAX_DEPTH <= 64);

impl<'a> Parser<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            pos: 0,
            state: State::Value,
            depth: 0,
            objects: 0,
        }
    }

    fn error(&self, what: &'static str) -> Error {
        Error { at: self.pos, what }
    }

    /// Byte offset of the next unread character.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    fn in_object(&self) -> bool {
        self.depth > 0 && self.objects & (1 << (self.depth - 1)) != 0
    }

    /// The next event of the document.
    #[expect(
        clippy::should_implement_trait,
        reason = "not an Iterator: the document's end is an event, an error ends it"
    )]
    pub fn next(&mut self) -> Result<Event<'a>> {
        self.skip_whitespace();
        let c = self.text.get(self.pos).copied();
        match self.state {
            State::Done => match c {
                None => Ok(Event::End),
                Some(_) => Err(self.error("more after the end of the document")),
            },
            State::Value => self.value(c),
            State::ArrayFirst if c == Some(b']') => self.close(),
            State::ArrayFirst => self.value(c),
            State::ObjectFirst if c == Some(b'}') => self.close(),
            State::ObjectFirst | State::Key => self.key(c),
            State::AfterValue => {
                let object = self.in_object();
                match c {
                    Some(b',') => {
                        self.pos += 1;
                        self.state = if object { State::Key } else { State::Value };
                        self.next()
                    }
                    Some(b'}') if object => self.close(),
                    Some(b']') if !object => self.close(),
                    _ if object => Err(self.error("expected ',' or '}'")),
                    _ => Err(self.error("expected ',' or ']'")),
                }
            }
        }
    }

    /// The next event without consuming it.
    pub fn peek(&self) -> Result<Event<'a>> {
        let mut copy = *self;
        copy.next()
    }

    fn after_value(&mut self) {
        self.state = if self.depth == 0 {
            State::Done
        } else {
            State::AfterValue
        };
    }

    fn close(&mut self) -> Result<Event<'a>> {
        let object = self.in_object();
        self.pos += 1;
        self.depth -= 1;
        self.after_value();
        Ok(if object {
            Event::ObjectEnd
        } else {
            Event::ArrayEnd
        })
    }

    fn open(&mut self, object: bool) -> Result<Event<'a>> {
        if self.depth == MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.pos += 1;
        if object {
            self.objects |= 1 << self.depth;
        } else {
            self.objects &= !(1 << self.depth);
        }
        self.depth += 1;
        Ok(if object {
            self.state = State::ObjectFirst;
            Event::ObjectBegin
        } else {
            self.state = State::ArrayFirst;
            Event::ArrayBegin
        })
    }

    fn key(&mut self, c: Option<u8>) -> Result<Event<'a>> {
        if c != Some(b'"') {
            return Err(self.error("expected a key (a string)"));
        }
        let key = self.scan_string()?;
        self.skip_whitespace();
        if self.text.get(self.pos) != Some(&b':') {
            return Err(self.error("expected ':'"));
        }
        self.pos += 1;
        self.state = State::Value;
        Ok(Event::Key(key))
    }

    fn value(&mut self, c: Option<u8>) -> Result<Event<'a>> {
        let event = match c {
            None => return Err(self.error("unexpected end of the document")),
            Some(b'{') => return self.open(true),
            Some(b'[') => return self.open(false),
            Some(b'"') => Event::String(self.scan_string()?),
            Some(b'-' | b'0'..=b'9') => Event::Number(self.scan_number()?),
            Some(b't') => self.literal(b"true", Event::Bool(true))?,
            Some(b'f') => self.literal(b"false", Event::Bool(false))?,
            Some(b'n') => self.literal(b"null", Event::Null)?,
            Some(b']' | b'}') if self.state == State::Value && self.depth > 0 => {
                return Err(self.error("a value must follow ',' or ':'"));
            }
            Some(_) => return Err(self.error("expected a value")),
        };
        self.after_value();
        Ok(event)
    }

    fn literal(&mut self, word: &[u8], event: Event<'a>) -> Result<Event<'a>> {
        if !self.text[self.pos..].starts_with(word) {
            return Err(self.error("expected a value"));
        }
        self.pos += word.len();
        Ok(event)
    }

    /// A string from its opening quote: checked (escapes, surrogates,
    /// control characters, UTF-8), not decoded.
    fn scan_string(&mut self) -> Result<Str<'a>> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            match c {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    let used = match self.text.get(self.pos + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                        Some(b'u') => match unicode_escape(self.text, self.pos) {
                            Some((_, used)) => used,
                            None => return Err(self.error("bad \\u escape or lone surrogate")),
                        },
                        _ => return Err(self.error("unknown escape")),
                    };
                    self.pos += used;
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                0x20..=0x7f => self.pos += 1,
                _ => {
                    // One whole UTF-8 sequence.
                    let end = (self.pos + 4).min(self.text.len());
                    let valid = match core::str::from_utf8(&self.text[self.pos..end]) {
                        Ok(s) => s.len(),
                        Err(e) => e.valid_up_to(),
                    };
                    let want = match c {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        0xf0..=0xf4 => 4,
                        _ => 0,
                    };
                    if want == 0 || valid < want {
                        return Err(self.error("invalid UTF-8 in a string"));
                    }
                    self.pos += want;
                }
            }
        }
        let raw = &self.text[start..self.pos];
        self.pos += 1;
        Ok(Str {
            raw,
            at: start,
            escaped,
        })
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn scan_number(&mut self) -> Result<Num<'a>> {
        let start = self.pos;
        let text = self.text;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while text.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - from
        };
        let mut pos = self.pos;
        if text[pos] == b'-' {
            pos += 1;
        }
        match text.get(pos) {
            Some(b'0') => {
                pos += 1;
                if text.get(pos).is_some_and(u8::is_ascii_digit) {
                    self.pos = pos;
                    return Err(self.error("leading zero in a number"));
                }
            }
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => {
                self.pos = pos;
                return Err(self.error("expected a digit"));
            }
        }
        if text.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                self.pos = pos;
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = text.get(pos) {
            pos += 1;
            if let Some(b'+' | b'-') = text.get(pos) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                self.pos = pos;
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        self.pos = pos;
        Ok(Num {
            raw: &text[start..pos],
            at: start,
        })
    }

    // ---- typed helpers, for readers that know the shape they want ----

    /// Skip the next value whole (for members the caller does not read).
    pub fn skip_value(&mut self) -> Result<()> {
        let depth = self.depth;
        loop {
            match self.next()? {
                Event::Key(_) => {}
                Event::End => return Err(self.error("expected a value")),
                _ if self.depth == depth => return Ok(()),
                _ => {}
            }
        }
    }

    /// Expect `{`.
    pub fn begin_object(&mut self) -> Result<()> {
        self.expect(Event::ObjectBegin, "expected an object")
    }

    /// Expect `[`.
    pub fn begin_array(&mut self) -> Result<()> {
        self.expect(Event::ArrayBegin, "expected an array")
    }

    fn expect(&mut self, want: Event<'a>, what: &'static str) -> Result<()> {
        let at = self.value_offset();
        match self.next()? {
            got if got == want => Ok(()),
            _ => Err(Error { at, what }),
        }
    }

    /// Offset where the next token starts.
    pub fn value_offset(&self) -> usize {
        let mut copy = *self;
        copy.skip_whitespace();
        if copy.state == State::AfterValue && copy.text.get(copy.pos) == Some(&b',') {
            copy.pos += 1;
            copy.skip_whitespace();
        }
        copy.pos
    }

    /// Inside an object: the next key, or `None` at its end.
    pub fn next_key(&mut self) -> Result<Option<Str<'a>>> {
        match self.next()? {
            Event::Key(key) => Ok(Some(key)),
            Event::ObjectEnd => Ok(None),
            _ => Err(self.error("expected a key")),
        }
    }

    /// Inside an array: whether another element follows (else the array's
    /// `]` has been read).
    pub fn next_element(&mut self) -> Result<bool> {
        if self.peek()? == Event::ArrayEnd {
            self.next()?;
            return Ok(false);
        }
        Ok(true)
    }

    pub fn string(&mut self) -> Result<Str<'a>> {
        let at = self.value_offset();
        match self.next()? {
            Event::String(s) => Ok(s),
            _ => Err(Error {
                at,
                what: "expected a string",
            }),
        }
    }

    pub fn number(&mut self) -> Result<Num<'a>> {
        let at = self.value_offset();
        match self.next()? {
            Event::Number(n) => Ok(n),
            _ => Err(Error {
                at,
                what: "expected a number",
            }),
        }
    }

    pub fn u64(&mut self) -> Result<u64> {
        self.number()?.u64()
    }

    pub fn i64(&mut self) -> Result<i64> {
        self.number()?.i64()
    }

    pub fn bool(&mut self) -> Result<bool> {
        let at = self.value_offset();
        match self.next()? {
            Event::Bool(b) => Ok(b),
            _ => Err(Error {
                at,
                what: "expected true or false",
            }),
        }
    }

    /// Whether the next value is `null` (then it is consumed).
    pub fn null(&mut self) -> Result<bool> {
        if self.peek()? == Event::Null {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// After the top-level value: nothing but whitespace may follow.
    pub fn end(&mut self) -> Result<()> {
        match self.next()? {
            Event::End => Ok(()),
            _ => Err(self.error("more after the end of the document")),
        }
    }
}

/// Emits JSON through `out`, with the commas placed for the caller:
/// `begin_object`, then `key` and a value per member, `end_object`.
pub struct Writer<W: fmt::Write> {
    out: W,
    state: Commas,
}

/// Where the writer is; its methods write through a `dyn fmt::Write`, so
/// that there is one copy of them whatever the sink (a generic writer
/// had one per sink type).
struct Commas {
    /// Per open container: whether it already has a member or element.
    started: u64,
    depth: usize,
    /// A key was just written: the value follows without a comma.
    after_key: bool,
    failed: bool,
}

type Out<'o> = &'o mut dyn fmt::Write;

impl<W: fmt::Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            state: Commas {
                started: 0,
                depth: 0,
                after_key: false,
                failed: false,
            },
        }
    }

    /// The sink back, and whether every write to it succeeded.
    pub fn finish(self) -> (W, bool) {
        (self.out, !self.state.failed)
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.state.open(&mut self.out, "{");
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.state.close(&mut self.out, "}");
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.state.open(&mut self.out, "[");
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.state.close(&mut self.out, "]");
        self
    }

    pub fn key(&mut self, key: &[u8]) -> &mut Self {
        self.state.key(&mut self.out, key);
        self
    }

    pub fn string(&mut self, value: &[u8]) -> &mut Self {
        self.state.string(&mut self.out, value);
        self
    }

    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.state.number(&mut self.out, value, false);
        self
    }

    pub fn i64(&mut self, value: i64) -> &mut Self {
        self.state
            .number(&mut self.out, value.unsigned_abs(), value < 0);
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.state
            .value(&mut self.out, if value { "true" } else { "false" });
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.state.value(&mut self.out, "null");
        self
    }

    /// A number already in JSON's grammar (a value read by the parser).
    pub fn number_text(&mut self, num: &Num<'_>) -> &mut Self {
        // Num only ever holds what scan_number accepted: ASCII.
        self.state
            .value(&mut self.out, core::str::from_utf8(num.raw).unwrap_or("0"));
        self
    }
}

impl Commas {
    fn raw(&mut self, out: Out<'_>, text: &str) {
        if out.write_str(text).is_err() {
            self.failed = true;
        }
    }

    /// The comma before a value or key, when one is due.
    fn separate(&mut self, out: Out<'_>) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if self.depth > 0 {
            let bit = 1 << (self.depth - 1);
            if self.started & bit != 0 {
                self.raw(out, ",");
            }
            self.started |= bit;
        }
    }

    /// A value that is already JSON (`true`, `null`, a number's text).
    fn value(&mut self, out: Out<'_>, text: &str) {
        self.separate(out);
        self.raw(out, text);
    }

    fn open(&mut self, out: Out<'_>, bracket: &str) {
        self.value(out, bracket);
        // Deeper than 64 only by a bug of box's; the commas would be wrong
        // but the output still valid up to that depth.
        if self.depth < 64 {
            self.started &= !(1 << self.depth);
        }
        self.depth += 1;
    }

    fn close(&mut self, out: Out<'_>, bracket: &str) {
        self.raw(out, bracket);
        self.depth = self.depth.saturating_sub(1);
    }

    fn key(&mut self, out: Out<'_>, key: &[u8]) {
        self.string(out, key);
        self.raw(out, ":");
        self.after_key = true;
    }

    fn string(&mut self, out: Out<'_>, value: &[u8]) {
        self.separate(out);
        self.quoted(out, value);
    }

    fn number(&mut self, out: Out<'_>, n: u64, negative: bool) {
        self.separate(out);
        if negative {
            self.raw(out, "-");
        }
        let mut digits = [0u8; 20];
        // Only ASCII digits.
        self.raw(
            out,
            core::str::from_utf8(text::decimal(n, &mut digits)).unwrap_or("0"),
        );
    }

    /// `"…"` with `"`, `\` and control characters escaped.
    fn quoted(&mut self, out: Out<'_>, bytes: &[u8]) {
        self.raw(out, "\"");
        for chunk in bytes.utf8_chunks() {
            let mut text = chunk.valid();
            while let Some(i) = text
                .bytes()
                .position(|b| b < 0x20 || b == b'"' || b == b'\\')
            {
                self.raw(out, &text[..i]);
                let escape = match text.as_bytes()[i] {
                    b'"' => "\\\"",
                    b'\\' => "\\\\",
                    b'\n' => "\\n",
                    b'\t' => "\\t",
                    b'\r' => "\\r",
                    b'\x08' => "\\b",
                    b'\x0c' => "\\f",
                    c => {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        let buf = [
                            b'\\',
                            b'u',
                            b'0',
                            b'0',
                            HEX[usize::from(c >> 4)],
                            HEX[usize::from(c & 15)],
                        ];
                        self.raw(out, core::str::from_utf8(&buf).unwrap_or(""));
                        ""
                    }
                };
                self.raw(out, escape);
                text = &text[i + 1..];
            }
            self.raw(out, text);
            if !chunk.invalid().is_empty() {
                self.raw(out, "\u{fffd}");
            }
        }
        self.raw(out, "\"");
    }
}

/// A `core::fmt::Write` into a caller's byte buffer, which records
/// whether anything did not fit.
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceSink<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    pub fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Append raw bytes (already JSON); false where they do not fit.
    pub fn bytes(&mut self, bytes: &[u8]) -> bool {
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            return false;
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        true
    }
}

impl fmt::Write for SliceSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The checks the fuzz target `json` runs; the tests below run them on
/// pseudo-random documents.
#[cfg(test)]
#[path = "../../fuzz/checks/json.rs"]
mod checks;

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Result<Vec<String>> {
        let mut p = Parser::new(text.as_bytes());
        let mut out = Vec::new();
        loop {
            let e = p.next()?;
            out.push(match e {
                Event::ObjectBegin => "{".to_string(),
                Event::ObjectEnd => "}".to_string(),
                Event::ArrayBegin => "[".to_string(),
                Event::ArrayEnd => "]".to_string(),
                Event::Key(k) => format!("k:{}", decoded(k)),
                Event::String(s) => format!("s:{}", decoded(s)),
                Event::Number(n) => format!("n:{}", String::from_utf8_lossy(n.raw)),
                Event::Bool(b) => format!("{b}"),
                Event::Null => "null".to_string(),
                Event::End => return Ok(out),
            });
        }
    }

    fn decoded(s: Str<'_>) -> String {
        let mut buf = [0u8; 256];
        String::from_utf8(s.decode(&mut buf).unwrap().to_vec()).unwrap()
    }

    fn refused(text: &str) -> Error {
        events(text).expect_err(text)
    }

    #[test]
    fn a_document_as_events() {
        let got =
            events(r#" {"a": [1, -2.5e3, "x", true, false, null, {}, []], "b": {"c": "d"}} "#)
                .unwrap();
        let want = "{ k:a [ n:1 n:-2.5e3 s:x true false null { } [ ] ] k:b { k:c s:d } }";
        assert_eq!(got.join(" "), want);
        assert_eq!(events("7").unwrap(), ["n:7"]);
        assert_eq!(events("\"\"").unwrap(), ["s:"]);
    }

    #[test]
    fn every_escape_decodes() {
        let got =
            events(r#""a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\u20ac\ud83d\ude00\u0000""#).unwrap();
        assert_eq!(
            got,
            ["s:a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti".to_string() + "Aé€😀\0"]
        );
        let s = match Parser::new(br#""\ud83d\ude00x""#).next().unwrap() {
            Event::String(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.decoded_len(), 5);
        assert!(s.plain().is_none());
        let mut small = [0u8; 4];
        assert_eq!(s.decode(&mut small).unwrap_err().what, "string too long");
        assert!(s.is("😀x"));
    }

    /// RFC 8259's rules, each refused with the place it was broken.
    #[test]
    fn malformed_documents_are_refused_where_they_break() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "unexpected end of the document"),
            ("   ", 3, "unexpected end of the document"),
            ("[1,]", 3, "a value must follow ',' or ':'"),
            (r#"{"a":1,}"#, 7, "expected a key (a string)"),
            ("[1 2]", 3, "expected ',' or ']'"),
            (r#"{"a" 1}"#, 5, "expected ':'"),
            (r#"{"a":1 "b":2}"#, 7, "expected ',' or '}'"),
            ("01", 1, "leading zero in a number"),
            ("-", 1, "expected a digit"),
            ("1.", 2, "expected a digit after '.'"),
            ("1e+", 3, "expected a digit in the exponent"),
            (".5", 0, "expected a value"),
            ("+1", 0, "expected a value"),
            ("1 2", 2, "more after the end of the document"),
            ("{} x", 3, "more after the end of the document"),
            ("nul", 0, "expected a value"),
            ("True", 0, "expected a value"),
            ("\"a\tb\"", 2, "control character in a string"),
            ("\"a", 2, "unterminated string"),
            (r#""\x""#, 1, "unknown escape"),
            (r#""\u12""#, 1, "bad \\u escape or lone surrogate"),
            (r#""\ud800""#, 1, "bad \\u escape or lone surrogate"),
            (r#""\udc00\ud800""#, 1, "bad \\u escape or lone surrogate"),
            (r#""\ud800\u0041""#, 1, "bad \\u escape or lone surrogate"),
            ("\"\u{1}\"", 1, "control character in a string"),
            ("// c\n1", 0, "expected a value"),
            ("[1]]", 3, "more after the end of the document"),
            ("{\"a\":1}}", 7, "more after the end of the document"),
            ("[}", 1, "expected a value"),
            ("{]", 1, "expected a key (a string)"),
            ("\u{feff}1", 0, "expected a value"),
        ];
        for &(text, at, what) in cases {
            assert_eq!(refused(text), Error { at, what }, "{text:?}");
        }
        for bad in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xc0\xaf\"",
        ] {
            let e = events_bytes(bad).unwrap_err();
            assert_eq!(e.what, "invalid UTF-8 in a string", "{bad:?}");
        }
    }

    fn events_bytes(text: &[u8]) -> Result<()> {
        let mut p = Parser::new(text);
        while p.next()? != Event::End {}
        Ok(())
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n| "[".repeat(n) + &"]".repeat(n);
        assert!(events(&deep(MAX_DEPTH)).is_ok());
        let e = refused(&deep(MAX_DEPTH + 1));
        assert_eq!(
            e,
            Error {
                at: MAX_DEPTH,
                what: "nested too deeply"
            }
        );
        // Far deeper input fails the same way, without using more stack.
        assert_eq!(refused(&deep(100_000)).what, "nested too deeply");
    }

    #[test]
    fn numbers_as_integers() {
        let num = |t: &'static str| Num {
            raw: t.as_bytes(),
            at: 0,
        };
        assert_eq!(num("0").u64(), Ok(0));
        assert_eq!(num("18446744073709551615").u64(), Ok(u64::MAX));
        assert_eq!(
            num("18446744073709551616").u64().unwrap_err().what,
            "number out of range"
        );
        assert_eq!(
            num("-1").u64().unwrap_err().what,
            "a negative number where none is allowed"
        );
        assert_eq!(num("-9223372036854775808").i64(), Ok(i64::MIN));
        assert_eq!(num("9223372036854775807").i64(), Ok(i64::MAX));
        assert!(num("9223372036854775808").i64().is_err());
        assert!(num("-9223372036854775809").i64().is_err());
        assert_eq!(num("-0").i64(), Ok(0));
        for float in ["1.0", "1e3", "1E-2", "-0.5"] {
            assert_eq!(
                num(float).i64().unwrap_err().what,
                "a fraction or exponent where an integer is wanted"
            );
        }
    }

    #[test]
    fn typed_reading_and_skipping() {
        let text = br#"{"skip": {"a": [1.5e300, {"b": null}], "c": "d"}, "n": 42, "list": ["x", "y"], "t": true, "z": null}"#;
        let mut p = Parser::new(text);
        p.begin_object().unwrap();
        let mut seen = Vec::new();
        while let Some(key) = p.next_key().unwrap() {
            seen.push(decoded(key));
            if key.is("skip") {
                p.skip_value().unwrap();
            } else if key.is("n") {
                assert_eq!(p.u64().unwrap(), 42);
            } else if key.is("list") {
                p.begin_array().unwrap();
                let mut items = Vec::new();
                while p.next_element().unwrap() {
                    items.push(decoded(p.string().unwrap()));
                }
                assert_eq!(items, ["x", "y"]);
            } else if key.is("t") {
                assert!(p.bool().unwrap());
            } else {
                assert!(p.null().unwrap());
            }
        }
        p.end().unwrap();
        assert_eq!(seen, ["skip", "n", "list", "t", "z"]);
        // A value of the wrong kind names where it starts.
        let mut p = Parser::new(br#"{"n":  "42"}"#);
        p.begin_object().unwrap();
        p.next_key().unwrap();
        assert_eq!(
            p.u64().unwrap_err(),
            Error {
                at: 7,
                what: "expected a number"
            }
        );
        let mut p = Parser::new(b"[1, true]");
        p.begin_array().unwrap();
        p.next_element().unwrap();
        p.u64().unwrap();
        assert_eq!(
            p.string().unwrap_err(),
            Error {
                at: 4,
                what: "expected a string"
            }
        );
    }

    #[test]
    fn the_writer_escapes_and_places_commas() {
        let mut w = Writer::new(crate::text::Text::<256>::new());
        w.begin_object()
            .key(b"level")
            .string(b"error")
            .key(b"msg")
            .string(b"a \"b\"\\ \n\t\r\x08\x0c\x01\x1f \xff end")
            .key(b"n")
            .i64(-5)
            .key(b"list")
            .begin_array()
            .u64(1)
            .bool(false)
            .null()
            .begin_object()
            .end_object()
            .begin_array()
            .end_array()
            .end_array()
            .end_object();
        let (text, ok) = w.finish();
        assert!(ok);
        assert_eq!(
            core::str::from_utf8(text.as_bytes()).unwrap(),
            r#"{"level":"error","msg":"a \"b\"\\ \n\t\r\b\f\u0001\u001f � end","n":-5,"list":[1,false,null,{},[]]}"#
        );
        let mut buf = [0u8; 8];
        let mut w = Writer::new(SliceSink::new(&mut buf));
        w.string(b"0123456789");
        let (sink, ok) = w.finish();
        assert!(!ok, "an overflow is reported");
        assert!(sink.written().len() <= 8);
    }

    // ---- property tests: fuzz/checks/json.rs on pseudo-random documents ----

    use crate::test_rng::Rng;

    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"",
        "\"k\"",
        "\"a\\u00e9\"",
        "\\",
        "\\u",
        "d83d",
        "\\ude00",
        "0",
        "-",
        "1",
        "23",
        ".",
        "e",
        "E+",
        "true",
        "false",
        "null",
        "\t",
        "\"\\n\"",
        "é",
        "\u{1}",
        "\u{7f}",
        "9",
        "x",
    ];

    /// A document: usually a generated valid one, sometimes a mutation.
    fn random_document(rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        if rng.chance(3) {
            for _ in 0..rng.below(24) {
                out.extend_from_slice(rng.pick(PIECES).as_bytes());
            }
            return out;
        }
        random_value(rng, &mut out, 0);
        // Mutate a byte now and then.
        if !out.is_empty() && rng.chance(4) {
            let i = rng.below(out.len());
            out[i] = rng.pick(PIECES).as_bytes()[0];
        }
        out
    }

    fn random_value(rng: &mut Rng, out: &mut Vec<u8>, depth: usize) {
        let ws = |rng: &mut Rng, out: &mut Vec<u8>| {
            if rng.chance(3) {
                out.extend_from_slice(rng.pick(&[" ", "\n", "\t ", "\r\n"]).as_bytes());
            }
        };
        ws(rng, out);
        match rng.below(if depth > 6 { 4 } else { 6 }) {
            0 => random_string(rng, out),
            1 => {
                let n = rng.pick(&[
                    "0",
                    "-0",
                    "17",
                    "-3",
                    "1.5",
                    "2e10",
                    "-0.25E-3",
                    "18446744073709551615",
                    "99999999999999999999",
                ]);
                out.extend_from_slice(n.as_bytes());
            }
            2 => out.extend_from_slice(rng.pick(&["true", "false", "null"]).as_bytes()),
            3 => random_string(rng, out),
            4 => {
                out.push(b'[');
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.push(b',');
                    }
                    random_value(rng, out, depth + 1);
                }
                ws(rng, out);
                out.push(b']');
            }
            _ => {
                out.push(b'{');
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.push(b',');
                    }
                    ws(rng, out);
                    random_string(rng, out);
                    ws(rng, out);
                    out.push(b':');
                    random_value(rng, out, depth + 1);
                }
                ws(rng, out);
                out.push(b'}');
            }
        }
        ws(rng, out);
    }

    fn random_string(rng: &mut Rng, out: &mut Vec<u8>) {
        out.push(b'"');
        for _ in 0..rng.below(5) {
            let piece = rng.pick(&[
                "a",
                "key",
                "\\\"",
                "\\\\",
                "\\/",
                "\\b",
                "\\f",
                "\\n",
                "\\r",
                "\\t",
                "\\u0000",
                "\\u001F",
                "\\u00e9",
                "\\uFFFF",
                "\\ud83d\\ude00",
                "é",
                "€",
                "😀",
                " ",
                "\u{7f}",
            ]);
            out.extend_from_slice(piece.as_bytes());
        }
        out.push(b'"');
    }

    #[test]
    fn random_documents_round_trip() {
        let mut rng = Rng(0x6a73_6f6e_0000_0001);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let doc = random_document(&mut rng);
            if checks::check_document(&doc) {
                accepted += 1;
            }
        }
        // Both sides were exercised.
        assert!(accepted > 5_000 && accepted < 19_000, "{accepted} accepted");
    }
}
