//! Packs the long texts (src/packed.rs says why and the format): finds every
//! `packed!("…")`, `bad!("…", …)` and `message!("…", …)` in src/, joins the texts into one corpus, each once, in
//! the order met (files by name), packs it with LZSS, and writes
//! `$OUT_DIR/packed.rs`: the packed corpus, its unpacked length, and the
//! index that `Packed::of` searches at compile time (hash, start, length).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// The packed form and the texts' hash, as src/packed.rs unpacks them.
include!("src/packed/format.rs");

fn main() {
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=build.rs");
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    files.sort();
    let mut corpus: Vec<u8> = Vec::new();
    let mut index: Vec<(u64, usize, usize)> = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for text in texts(&source) {
            let hash = fnv(text.as_bytes());
            if let Some(&(_, start, len)) = index.iter().find(|e| e.0 == hash) {
                assert_eq!(
                    &corpus[start..start + len],
                    text.as_bytes(),
                    "two texts with one hash"
                );
                continue;
            }
            index.push((hash, corpus.len(), text.len()));
            corpus.extend_from_slice(text.as_bytes());
        }
    }
    assert!(corpus.len() < 1 << 16, "the corpus outgrew u16 offsets");
    let packed = pack(&corpus);
    assert_eq!(unpack(&packed, corpus.len()), corpus);
    let mut out = String::new();
    writeln!(out, "const UNPACKED: usize = {};", corpus.len()).unwrap();
    writeln!(out, "static CORPUS: [u8; {}] = {:?};", packed.len(), packed).unwrap();
    writeln!(out, "const INDEX: [(u64, u16, u16); {}] = [", index.len()).unwrap();
    for (hash, start, len) in &index {
        writeln!(out, "    ({hash:#x}, {start}, {len}),").unwrap();
    }
    writeln!(out, "];").unwrap();
    let path = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("packed.rs");
    std::fs::write(path, out).unwrap();
}

/// The .rs files under `dir`.
fn sources(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The macros whose first argument, a string literal, is a packed text:
/// help texts and hints (`packed!`), messages (`bad!`, `message!`).
const MACROS: [&str; 3] = ["packed!(", "bad!(", "message!("];

/// The texts of the `packed!("…")` (and the other [`MACROS`]) in
/// `source`, outside comments and literals.
fn texts(source: &str) -> Vec<String> {
    let s = source.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'/' if s.get(i + 1) == Some(&b'/') => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < s.len() && &s[i..i + 2] != b"*/" {
                    i += 1;
                }
                i += 2;
            }
            b'"' => i = literal(s, i).1,
            b'r' if i == 0
                || !ident(s[i - 1])
                || (s[i - 1] == b'b' && (i < 2 || !ident(s[i - 2]))) =>
            {
                // r"…" or r#"…"#: skipped whole.
                let mut j = i + 1;
                while s.get(j) == Some(&b'#') {
                    j += 1;
                }
                if s.get(j) == Some(&b'"') {
                    let hashes = j - i - 1;
                    let mut end = Vec::from(&b"\""[..]);
                    end.extend(std::iter::repeat_n(b'#', hashes));
                    j += 1;
                    while j < s.len() && !s[j..].starts_with(&end) {
                        j += 1;
                    }
                    i = j + end.len();
                } else {
                    i += 1;
                }
            }
            b'\'' => {
                // A char literal ('x', '\n', '"', '…'), or a lifetime.
                let width = match s.get(i + 1) {
                    Some(&c) if c >= 0xf0 => 4,
                    Some(&c) if c >= 0xe0 => 3,
                    Some(&c) if c >= 0xc0 => 2,
                    _ => 1,
                };
                if s.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while s[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if s.get(i + 1 + width) == Some(&b'\'') {
                    i += 2 + width;
                } else {
                    i += 1;
                }
            }
            b'p' | b'b' | b'm'
                if (i == 0 || !ident(s[i - 1]))
                    && MACROS.iter().any(|m| s[i..].starts_with(m.as_bytes())) =>
            {
                let mut j = i + s[i..].iter().position(|&c| c == b'(').unwrap() + 1;
                while s[j].is_ascii_whitespace() {
                    j += 1;
                }
                if s[j] == b'"' || s[j] == b'r' {
                    let (text, end) = match s[j] {
                        b'"' => literal(s, j),
                        _ => raw(s, j),
                    };
                    found.push(String::from_utf8(text).expect("a packed! text in UTF-8"));
                    i = end;
                } else {
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    found
}

fn ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The value of the string literal that starts at `s[at]` (a `"`), and
/// where it ends.
fn literal(s: &[u8], at: usize) -> (Vec<u8>, usize) {
    let mut value = Vec::new();
    let mut i = at + 1;
    loop {
        match s[i] {
            b'"' => break,
            b'\\' => {
                i += 1;
                match s[i] {
                    b'n' => value.push(b'\n'),
                    b't' => value.push(b'\t'),
                    b'r' => value.push(b'\r'),
                    b'0' => value.push(0),
                    b'\\' | b'"' | b'\'' => value.push(s[i]),
                    b'\n' => {
                        while s[i + 1].is_ascii_whitespace() {
                            i += 1;
                        }
                    }
                    b'x' => {
                        let hex = std::str::from_utf8(&s[i + 1..i + 3]).unwrap();
                        value.push(u8::from_str_radix(hex, 16).unwrap());
                        i += 2;
                    }
                    b'u' => {
                        let close = i + s[i..].iter().position(|&c| c == b'}').unwrap();
                        let hex = std::str::from_utf8(&s[i + 2..close]).unwrap();
                        let c = char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap();
                        value.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        i = close;
                    }
                    other => panic!("unknown escape \\{}", other as char),
                }
            }
            c => value.push(c),
        }
        i += 1;
    }
    (value, i + 1)
}

/// The value of the raw string literal that starts at `s[at]` (`r#"…"#`,
/// any number of `#`), and where it ends.
fn raw(s: &[u8], at: usize) -> (Vec<u8>, usize) {
    let hashes = s[at + 1..].iter().take_while(|&&c| c == b'#').count();
    let start = at + 1 + hashes + 1;
    let mut end = vec![b'"'];
    end.extend(std::iter::repeat_n(b'#', hashes));
    let len = s[start..]
        .windows(end.len())
        .position(|w| w == end)
        .unwrap();
    (s[start..start + len].to_vec(), start + len + end.len())
}

const LONGEST: usize = SHORTEST + 15;

/// LZSS with the cheapest parse: for each position the longest match in
/// the window, then from the end the cheapest way to code the rest (in
/// eighths of a byte: a literal is 9, a match 17).
fn pack(data: &[u8]) -> Vec<u8> {
    let n = data.len();
    let mut longest = vec![(0usize, 0usize); n];
    let mut heads: std::collections::HashMap<[u8; SHORTEST], Vec<usize>> = Default::default();
    for i in 0..n {
        if i + SHORTEST > n {
            break;
        }
        let key: [u8; SHORTEST] = data[i..i + SHORTEST].try_into().unwrap();
        let earlier = heads.entry(key).or_default();
        for &j in earlier.iter().rev() {
            if i - j > WINDOW {
                break;
            }
            let len = (0..LONGEST.min(n - i))
                .take_while(|&k| data[j + k] == data[i + k])
                .count();
            if len > longest[i].0 {
                longest[i] = (len, i - j);
            }
        }
        earlier.push(i);
    }
    let mut cost = vec![0usize; n + 1];
    let mut choice = vec![0usize; n];
    for i in (0..n).rev() {
        cost[i] = cost[i + 1] + 9;
        choice[i] = 1;
        for len in SHORTEST..=longest[i].0 {
            if cost[i + len] + 17 < cost[i] {
                cost[i] = cost[i + len] + 17;
                choice[i] = len;
            }
        }
    }
    let mut out = Vec::new();
    let (mut i, mut flag_at, mut bit) = (0, 0, 8);
    while i < n {
        if bit == 8 {
            flag_at = out.len();
            out.push(0);
            bit = 0;
        }
        let len = choice[i];
        if len == 1 {
            out.push(data[i]);
        } else {
            // The match's distance: any earlier copy of this length will
            // do; the longest match found is at least this long.
            let back = longest[i].1 - 1;
            out[flag_at] |= 1 << bit;
            out.push(back as u8);
            out.push(((back >> 8) << 4 | (len - SHORTEST)) as u8);
        }
        i += len;
        bit += 1;
    }
    out
}

/// The packing undone by src/packed.rs's own code, to check it.
fn unpack(packed: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    unpack_each(packed, len, &mut |at, byte| out[at] = byte);
    out
}
