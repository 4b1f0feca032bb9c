//! The help texts, packed. Every `packed!("…")` in the sources is found by
//! build.rs, which joins their texts (each once) into one corpus and packs
//! it with LZSS; the binary holds the packed corpus, and each
//! `packed!("…")` becomes, at compile time, a [`Packed`]: where its text
//! starts in the corpus and how long it is. The texts themselves are not in
//! the binary: 16 KiB of help in about 7 KiB (busybox packs its usage
//! texts for the same reason). Help is what is read seldom and is large;
//! messages stay plain.
//!
//! The packed form: a flag byte, then the eight items it describes, lowest
//! bit first: 0 a byte as it is, 1 two bytes `a b` meaning "copy
//! `(b & 15) + 3` bytes from `(a | (b >> 4) << 8) + 1` bytes back". The
//! corpus is unpacked whole, onto the stack of the program printing its
//! help ([`Corpus::unpack`]).

include!(concat!(env!("OUT_DIR"), "/packed.rs"));

/// A text of the corpus: its place, 4 bytes instead of a 16-byte `&str`
/// and the text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Packed {
    start: u16,
    len: u16,
}

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
                return Packed { start, len };
            }
            i += 1;
        }
        panic!("a packed! text that build.rs did not find: write it as packed!(\"…\")");
    }

    pub const fn is_empty(self) -> bool {
        self.len == 0
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

/// FNV-1a, 64 bits: build.rs hashes each text the same way.
const fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The corpus unpacked.
pub struct Corpus {
    bytes: [u8; UNPACKED],
}

impl Corpus {
    #[inline(never)]
    pub fn unpack() -> Corpus {
        let mut bytes = [0; UNPACKED];
        let (mut from, mut to, mut flags) = (0, 0, 0u32);
        while to < UNPACKED {
            if flags <= 1 {
                flags = CORPUS[from] as u32 | 0x100;
                from += 1;
            }
            if flags & 1 == 0 {
                bytes[to] = CORPUS[from];
                from += 1;
                to += 1;
            } else {
                let (a, b) = (CORPUS[from] as usize, CORPUS[from + 1] as usize);
                from += 2;
                let back = (a | (b >> 4) << 8) + 1;
                for _ in 0..(b & 15) + 3 {
                    bytes[to] = bytes[to - back];
                    to += 1;
                }
            }
            flags >>= 1;
        }
        Corpus { bytes }
    }

    /// The text of `packed`.
    pub fn get(&self, packed: Packed) -> &str {
        let start = packed.start as usize;
        let text = &self.bytes[start..start + packed.len as usize];
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
    fn every_text_of_the_index_is_in_the_corpus_once() {
        let corpus = Corpus::unpack();
        let mut seen = std::collections::HashSet::new();
        for &(hash, start, len) in INDEX.iter() {
            let text = corpus.get(Packed { start, len });
            assert_eq!(text.len(), len as usize);
            assert_eq!(fnv(text.as_bytes()), hash);
            assert!(seen.insert(text), "{text:?} twice");
        }
    }
}
