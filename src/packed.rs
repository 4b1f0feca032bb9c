//! The long texts, packed. Every `packed!("…")` in the sources (and the
//! text of every `bad!("…", …)`) is found by build.rs, which joins the
//! texts (each once) into one corpus and packs it with LZSS; the binary
//! holds the packed corpus, and each `packed!("…")` becomes, at compile
//! time, a [`Packed`]: where its text starts in the corpus and how long it
//! is. The texts themselves are not in the binary: 34.2 KiB of texts (722
//! of them) in 14.6 KiB (busybox packs its usage texts for the same
//! reason). What is packed is what is read seldom: help, box-oci spec's
//! config.json, and the texts of error messages (the step, the hint,
//! `bad!`'s text); an error's call and subject stay plain.
//!
//! The packed form is src/packed/format.rs, which build.rs shares. The
//! corpus is unpacked whole, onto the stack of the program printing its
//! help ([`Corpus::unpack`]); an error's texts are taken byte by byte
//! through a 4 KiB window ([`Packed::each_byte`]) when it is shown, since
//! an error may be shown by a container's process whose stack limit was
//! just lowered.

include!(concat!(env!("OUT_DIR"), "/packed.rs"));

/// The packed form, shared with build.rs.
mod format;
use format::{fnv, unpack_each};

/// A text of the corpus: its place (start << 16 | length), one 4-byte
/// register instead of a 16-byte `&str` and the text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Packed(u32);

impl Packed {
    /// The `packed!` text `text`, looked up at compile time by its hash in
    /// the index build.rs wrote. A text build.rs did not see (not written
    /// as `packed!` with one string literal) fails the build here.
    pub const fn of(text: &str) -> Packed {
        let hash = fnv(text.as_bytes());
        let mut i = 0;
        while i < INDEX.len() {
            let (h, start, len) = INDEX[i];
            if h == hash && len as usize == text.len() {
                return Packed::at(start, len);
            }
            i += 1;
        }
        panic!("a packed! text that build.rs did not find: write it as packed!(\"…\")");
    }

    /// The text `len` bytes long at `start` of the corpus.
    const fn at(start: u16, len: u16) -> Packed {
        Packed((start as u32) << 16 | len as u32)
    }

    const fn start(self) -> usize {
        (self.0 >> 16) as usize
    }

    const fn len(self) -> usize {
        (self.0 & 0xffff) as usize
    }

    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The place as one number (0 for the empty text), to keep in an
    /// atomic.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The text whose [`Packed::bits`] are `bits`.
    pub const fn from_bits(bits: u32) -> Packed {
        Packed(bits)
    }

    /// The text unpacked into `buf` (cut at its length; at a character's
    /// boundary).
    pub fn unpack_into(self, buf: &mut [u8]) -> &str {
        let mut n = 0;
        self.each_byte(&mut |b| {
            if let Some(cell) = buf.get_mut(n) {
                *cell = b;
                n += 1;
            }
        });
        valid_prefix(&buf[..n])
    }

    /// Give the text's bytes to `sink`, one at a time, unpacking the
    /// corpus up to its end through a window of 4 KiB: how an error takes
    /// its hint, in little stack (it may be made in a container's process
    /// after its `--rlimit stack=` is set).
    pub fn each_byte(self, sink: &mut dyn FnMut(u8)) {
        let (start, end) = (self.start(), self.start() + self.len());
        unpack_each(&CORPUS, end, &mut |at, byte| {
            if at >= start {
                sink(byte);
            }
        });
    }
}

/// The longest prefix of `bytes` that is UTF-8: a text cut at a room's
/// end loses the character it cut.
pub fn valid_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

impl core::fmt::Display for Packed {
    /// The text, unpacked (at most 256 bytes: a step or a hint).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.unpack_into(&mut [0; 256]))
    }
}

/// `packed!("text")`: the [`Packed`] of a help text, computed at compile
/// time (the text is not kept in the binary).
#[macro_export]
macro_rules! packed {
    ($text:literal) => {{
        const PACKED: $crate::packed::Packed = $crate::packed::Packed::of($text);
        PACKED
    }};
}

/// The corpus unpacked.
pub struct Corpus {
    bytes: [u8; UNPACKED],
}

impl Corpus {
    #[inline(never)]
    pub fn unpack() -> Corpus {
        let mut bytes = [0; UNPACKED];
        unpack_each(&CORPUS, UNPACKED, &mut |at, byte| bytes[at] = byte);
        Corpus { bytes }
    }

    /// The text of `packed`.
    pub fn get(&self, packed: Packed) -> &str {
        let start = packed.start();
        let text = &self.bytes[start..start + packed.len()];
        core::str::from_utf8(text).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_unpacks_as_written() {
        let corpus = Corpus::unpack();
        let help = packed!("print this help and exit");
        assert_eq!(corpus.get(help), "print this help and exit");
        assert!(corpus.get(packed!("")).is_empty());
        assert!(core::str::from_utf8(&corpus.bytes).is_ok());
    }

    #[test]
    fn a_text_given_byte_by_byte_is_the_unpacked_one() {
        let corpus = Corpus::unpack();
        for &(_, start, len) in INDEX.iter() {
            let packed = Packed::at(start, len);
            let mut bytes = Vec::new();
            packed.each_byte(&mut |b| bytes.push(b));
            assert_eq!(bytes, corpus.get(packed).as_bytes());
        }
    }

    #[test]
    fn every_text_of_the_index_is_in_the_corpus_once() {
        let corpus = Corpus::unpack();
        let mut seen = std::collections::HashSet::new();
        for &(hash, start, len) in INDEX.iter() {
            let text = corpus.get(Packed::at(start, len));
            assert_eq!(text.len(), len as usize);
            assert_eq!(fnv(text.as_bytes()), hash);
            assert!(seen.insert(text), "{text:?} twice");
        }
    }
}
