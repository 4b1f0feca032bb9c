//! What the OCI runtime (`box-oci`) reads and writes: JSON, a bundle's
//! config.json, and the seccomp profile inside it compiled to classic BPF.
//! Behind the cargo feature `oci` (on by default), so that a build without
//! it links none of this.

// Nothing calls into these modules yet but their tests and the fuzz
// targets: the box-oci applet is built on top of them.
#![cfg_attr(not(test), allow(dead_code))]

pub mod config;
pub(crate) mod exec;
pub(crate) mod hooks;
pub mod json;
pub(crate) mod runtime;
pub mod seccomp;
pub mod syscalls;

use core::fmt::{self, Write};

use crate::error::{Error, Result};
use crate::text::Bytes;
use json::{Parser, Str};

/// A JSON parser that knows where in the document it is as a key path
/// (`linux.seccomp.syscalls[3].args[0].op`), so that every error names the
/// member it is about.
pub struct Reader<'a> {
    pub json: Parser<'a>,
    path: KeyPath,
    /// What errors name the document as.
    file: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(document: &'a [u8]) -> Self {
        Self::named(document, "config.json")
    }

    /// A reader whose errors name the document `file` (`process.json`).
    pub fn named(document: &'a [u8], file: &'static str) -> Self {
        Self {
            file,
            json: Parser::new(document),
            path: KeyPath {
                buf: [0; 160],
                len: 0,
            },
        }
    }

    /// `PATH: WHAT`, the one-line error for the member being read.
    pub fn fail(&self, what: fmt::Arguments<'_>) -> Error {
        if self.path.len == 0 {
            crate::bad!("{}: {}", self.file, what)
        } else {
            crate::bad!("{}: {}: {}", self.file, self.path, what)
        }
    }

    /// A member box does not implement, refused by name.
    pub fn unsupported(&self) -> Error {
        self.fail(format_args!("not supported"))
    }

    /// A JSON error, with the key path.
    pub fn check<T>(&self, result: json::Result<T>) -> Result<T> {
        result.map_err(|e| self.json_error(e))
    }

    /// [`Reader::check`]'s error, one copy for every `T`.
    #[inline(never)]
    fn json_error(&self, e: json::Error) -> Error {
        self.fail(format_args!("{e}"))
    }

    /// Run a parser method, its error given the key path.
    pub fn with<T>(&mut self, f: impl FnOnce(&mut Parser<'a>) -> json::Result<T>) -> Result<T> {
        let result = f(&mut self.json);
        self.check(result)
    }

    /// Read an object: `each` is called with every key, its value next in
    /// the parser, the key appended to the path.
    pub fn object(&mut self, mut each: impl FnMut(&mut Self, Str<'a>) -> Result<()>) -> Result<()> {
        self.walk_object(&mut each)
    }

    /// [`Reader::object`]'s one copy: the callers' closures are called
    /// through a `dyn`, so that each does not get the loop (and its
    /// callees) inlined into a copy of its own.
    #[inline(never)]
    fn walk_object(
        &mut self,
        each: &mut dyn FnMut(&mut Self, Str<'a>) -> Result<()>,
    ) -> Result<()> {
        self.with(Parser::begin_object)?;
        let outer = self.path.len;
        while let Some(key) = self.with(Parser::next_key)? {
            if outer > 0 {
                self.path.push(b".");
            }
            let mut buf = [0u8; 64];
            match key.decode(&mut buf) {
                Ok(name) => self.path.push(name),
                Err(_) => self.path.push(b"(a long key)"),
            }
            each(self, key)?;
            self.path.len = outer;
        }
        Ok(())
    }

    /// Read an array: `each` is called with the index of every element,
    /// which is next in the parser.
    pub fn array(&mut self, mut each: impl FnMut(&mut Self, usize) -> Result<()>) -> Result<()> {
        self.walk_array(&mut each)
    }

    /// [`Reader::array`]'s one copy (see [`Reader::walk_object`]).
    #[inline(never)]
    fn walk_array(&mut self, each: &mut dyn FnMut(&mut Self, usize) -> Result<()>) -> Result<()> {
        self.with(Parser::begin_array)?;
        let outer = self.path.len;
        let mut i = 0;
        while self.with(Parser::next_element)? {
            let _ = write!(self.path, "[{i}]");
            each(self, i)?;
            self.path.len = outer;
            i += 1;
        }
        Ok(())
    }

    pub fn string(&mut self) -> Result<Str<'a>> {
        self.with(Parser::string)
    }

    pub fn bool(&mut self) -> Result<bool> {
        self.with(Parser::bool)
    }

    /// An unsigned integer no larger than `max`.
    pub fn unsigned(&mut self, max: u64) -> Result<u64> {
        let n = self.with(Parser::u64)?;
        if n > max {
            return Err(self.fail(format_args!("{n} is more than {max}")));
        }
        Ok(n)
    }

    pub fn signed(&mut self) -> Result<i64> {
        self.with(Parser::i64)
    }

    /// A string decoded into `buf`, refused by its length when it does not
    /// fit.
    pub fn decode<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b [u8]> {
        let s = self.string()?;
        let max = buf.len();
        s.decode(buf)
            .map_err(|_| self.fail(format_args!("longer than {max} bytes")))
    }

    /// Whether the value is null (then it is read); `null` stands for "not
    /// given" everywhere in config.json.
    pub fn null(&mut self) -> Result<bool> {
        self.with(Parser::null)
    }

    /// Skip a value that carries no meaning for box.
    pub fn skip(&mut self) -> Result<()> {
        self.with(Parser::skip_value)
    }

    /// Refuse the member unless its value is empty ("", [], {}, false,
    /// null or 0): a setting box does not implement, given a value.
    pub fn refuse_unless_empty(&mut self) -> Result<()> {
        let empty = match self.with(|p| p.peek())? {
            json::Event::Null | json::Event::Bool(false) => true,
            json::Event::String(s) => s.decoded_len() == 0,
            json::Event::Number(n) => n.raw == b"0",
            json::Event::ArrayBegin | json::Event::ObjectBegin => {
                let mut ahead = self.json;
                ahead.next().ok();
                matches!(
                    ahead.next(),
                    Ok(json::Event::ArrayEnd | json::Event::ObjectEnd)
                )
            }
            _ => false,
        };
        if !empty {
            return Err(self.unsupported());
        }
        self.skip()
    }
}

/// Where the reader is, as `key.key[index]`; cut short (never wrong) when
/// deeper than its buffer.
struct KeyPath {
    buf: [u8; 160],
    len: usize,
}

impl KeyPath {
    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }
}

impl Write for KeyPath {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Bytes(&self.buf[..self.len]).fmt(f)
    }
}
