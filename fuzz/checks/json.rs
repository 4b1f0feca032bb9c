//! Checks of box's JSON parser and writer (src/oci/json.rs), shared by the
//! fuzz target `json` and the unit tests of src/oci/json.rs, which include
//! this file.
//!
//! - The parser accepts a document exactly when a separately written
//!   reading of RFC 8259's grammar (below) does, within the same nesting
//!   bound; under the fuzzer, serde_json accepts it too.
//! - What it accepts, written back by the writer, parses to the same
//!   events (strings compared decoded), and writing that again gives the
//!   same bytes.
//! - `skip_value` consumes exactly the document; a string's decoded length
//!   is what `decode` gives; an integer is what `str::parse` reads.

use crate::oci::json::{Event, MAX_DEPTH, Parser, Writer};

/// An event with its text decoded, for comparing two parses.
#[derive(Debug, PartialEq)]
enum Owned {
    ObjectBegin,
    ObjectEnd,
    ArrayBegin,
    ArrayEnd,
    Key(Vec<u8>),
    String(Vec<u8>),
    Number(Vec<u8>),
    Bool(bool),
    Null,
}

/// Check one document; returns whether the parser accepted it.
pub fn check_document(doc: &[u8]) -> bool {
    let parsed = events(doc);
    let model = model_accepts(doc);
    assert_eq!(
        parsed.is_ok(),
        model,
        "parser and grammar disagree on {:?}: {:?}",
        String::from_utf8_lossy(doc),
        parsed.as_ref().err()
    );
    #[cfg(fuzzing)]
    if parsed.is_ok() {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(doc) {
            // serde_json reads numbers as f64 or i64/u64 and refuses those
            // beyond f64's range; JSON itself sets no limit.
            assert!(
                e.to_string().contains("number out of range"),
                "accepted, but serde_json says {e}: {:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }
    let Ok(events) = parsed else {
        return false;
    };

    // skip_value takes the whole document.
    let mut p = Parser::new(doc);
    p.skip_value().expect("skip_value on an accepted document");
    p.end().expect("nothing after the skipped value");

    // Written back and read again: the same events.
    let written = write(&events);
    let again = events_of(&written);
    assert_eq!(
        again,
        events,
        "round trip of {:?}",
        String::from_utf8_lossy(doc)
    );
    assert_eq!(write(&again), written, "the writer's output is stable");
    true
}

fn events_of(doc: &[u8]) -> Vec<Owned> {
    events(doc).unwrap_or_else(|e| {
        panic!(
            "the writer's output is refused: {e}: {:?}",
            String::from_utf8_lossy(doc)
        )
    })
}

fn events(doc: &[u8]) -> Result<Vec<Owned>, crate::oci::json::Error> {
    let mut p = Parser::new(doc);
    let mut out = Vec::new();
    let mut buf = vec![0u8; doc.len() + 4];
    loop {
        let event = match p.next()? {
            Event::End => return Ok(out),
            Event::ObjectBegin => Owned::ObjectBegin,
            Event::ObjectEnd => Owned::ObjectEnd,
            Event::ArrayBegin => Owned::ArrayBegin,
            Event::ArrayEnd => Owned::ArrayEnd,
            Event::Key(s) => Owned::Key(decoded(&s, &mut buf)),
            Event::String(s) => Owned::String(decoded(&s, &mut buf)),
            Event::Number(n) => {
                check_integer(n.raw, n.u64().ok(), n.i64().ok());
                Owned::Number(n.raw.to_vec())
            }
            Event::Bool(b) => Owned::Bool(b),
            Event::Null => Owned::Null,
        };
        out.push(event);
    }
}

/// A string decoded, checked against what else the parser says of it.
fn decoded(s: &crate::oci::json::Str<'_>, buf: &mut [u8]) -> Vec<u8> {
    let text = s.decode(buf).expect("decoded fits its source").to_vec();
    assert_eq!(s.decoded_len(), text.len());
    assert!(core::str::from_utf8(&text).is_ok(), "decoded to UTF-8");
    if let Some(plain) = s.plain() {
        assert_eq!(plain, &text[..]);
    }
    text
}

/// An integer converts exactly when `str::parse` reads it.
fn check_integer(raw: &[u8], unsigned: Option<u64>, signed: Option<i64>) {
    let text = core::str::from_utf8(raw).expect("numbers are ASCII");
    let integral = !text.contains(['.', 'e', 'E']);
    let want_unsigned = if text.starts_with('-') {
        None
    } else {
        text.parse::<u64>().ok()
    };
    let want_signed = text.parse::<i64>().ok();
    assert_eq!(
        unsigned,
        want_unsigned.filter(|_| integral),
        "{text} as u64"
    );
    assert_eq!(signed, want_signed.filter(|_| integral), "{text} as i64");
}

fn write(events: &[Owned]) -> Vec<u8> {
    let mut w = Writer::new(String::new());
    for event in events {
        match event {
            Owned::ObjectBegin => w.begin_object(),
            Owned::ObjectEnd => w.end_object(),
            Owned::ArrayBegin => w.begin_array(),
            Owned::ArrayEnd => w.end_array(),
            Owned::Key(k) => w.key(k),
            Owned::String(s) => w.string(s),
            Owned::Number(n) => {
                let mut p = Parser::new(n);
                match p.next() {
                    Ok(Event::Number(num)) => w.number_text(&num),
                    other => panic!("number {n:?} reads as {other:?}"),
                }
            }
            Owned::Bool(b) => w.bool(*b),
            Owned::Null => w.null(),
        };
    }
    let (text, ok) = w.finish();
    assert!(ok);
    text.into_bytes()
}

// ---- RFC 8259's grammar, read directly (the model) ----

/// `JSON-text = ws value ws`, nesting at most MAX_DEPTH.
fn model_accepts(doc: &[u8]) -> bool {
    let mut i = 0;
    ws(doc, &mut i);
    if !value(doc, &mut i, 0) {
        return false;
    }
    ws(doc, &mut i);
    i == doc.len()
}

fn ws(doc: &[u8], i: &mut usize) {
    while *i < doc.len() && b" \t\n\r".contains(&doc[*i]) {
        *i += 1;
    }
}

fn eat(doc: &[u8], i: &mut usize, c: u8) -> bool {
    if doc.get(*i) == Some(&c) {
        *i += 1;
        true
    } else {
        false
    }
}

fn value(doc: &[u8], i: &mut usize, depth: usize) -> bool {
    match doc.get(*i) {
        Some(b'{') | Some(b'[') if depth == MAX_DEPTH => false,
        Some(b'{') => {
            *i += 1;
            ws(doc, i);
            if eat(doc, i, b'}') {
                return true;
            }
            loop {
                if !string(doc, i) {
                    return false;
                }
                ws(doc, i);
                if !eat(doc, i, b':') {
                    return false;
                }
                ws(doc, i);
                if !value(doc, i, depth + 1) {
                    return false;
                }
                ws(doc, i);
                if eat(doc, i, b'}') {
                    return true;
                }
                if !eat(doc, i, b',') {
                    return false;
                }
                ws(doc, i);
            }
        }
        Some(b'[') => {
            *i += 1;
            ws(doc, i);
            if eat(doc, i, b']') {
                return true;
            }
            loop {
                if !value(doc, i, depth + 1) {
                    return false;
                }
                ws(doc, i);
                if eat(doc, i, b']') {
                    return true;
                }
                if !eat(doc, i, b',') {
                    return false;
                }
                ws(doc, i);
            }
        }
        Some(b'"') => string(doc, i),
        Some(b't') => literal(doc, i, b"true"),
        Some(b'f') => literal(doc, i, b"false"),
        Some(b'n') => literal(doc, i, b"null"),
        Some(_) => number(doc, i),
        None => false,
    }
}

fn literal(doc: &[u8], i: &mut usize, word: &[u8]) -> bool {
    if doc[*i..].starts_with(word) {
        *i += word.len();
        true
    } else {
        false
    }
}

fn number(doc: &[u8], i: &mut usize) -> bool {
    let digit = |i: usize| doc.get(i).is_some_and(|c| c.is_ascii_digit());
    eat(doc, i, b'-');
    if eat(doc, i, b'0') {
    } else if digit(*i) && doc[*i] != b'0' {
        while digit(*i) {
            *i += 1;
        }
    } else {
        return false;
    }
    if eat(doc, i, b'.') {
        if !digit(*i) {
            return false;
        }
        while digit(*i) {
            *i += 1;
        }
    }
    if eat(doc, i, b'e') || eat(doc, i, b'E') {
        if !eat(doc, i, b'+') {
            eat(doc, i, b'-');
        }
        if !digit(*i) {
            return false;
        }
        while digit(*i) {
            *i += 1;
        }
    }
    true
}

/// A string: characters are decoded as UTF-8 by the standard library, and
/// `\u` escapes must pair surrogates as RFC 8259 section 7 describes.
fn string(doc: &[u8], i: &mut usize) -> bool {
    if !eat(doc, i, b'"') {
        return false;
    }
    // Up to the closing quote: the first '"' not escaped.
    let mut j = *i;
    loop {
        match doc.get(j) {
            None => return false,
            Some(b'"') => break,
            Some(b'\\') => j += 2,
            Some(_) => j += 1,
        }
    }
    let Ok(body) = core::str::from_utf8(&doc[*i..j]) else {
        return false;
    };
    let units: Vec<char> = body.chars().collect();
    let mut k = 0;
    let mut pending_high = false;
    while k < units.len() {
        let c = units[k];
        if pending_high && c != '\\' {
            return false;
        }
        if (c as u32) < 0x20 {
            return false;
        }
        if c != '\\' {
            k += 1;
            continue;
        }
        let Some(&e) = units.get(k + 1) else {
            return false;
        };
        if e != 'u' {
            if pending_high || !"\"\\/bfnrt".contains(e) {
                return false;
            }
            k += 2;
            continue;
        }
        let hex: String = units.iter().skip(k + 2).take(4).collect();
        if hex.len() != 4 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
            return false;
        }
        let unit = u32::from_str_radix(&hex, 16).unwrap();
        let high = (0xd800..0xdc00).contains(&unit);
        let low = (0xdc00..0xe000).contains(&unit);
        if pending_high != low || (pending_high && high) {
            return false;
        }
        pending_high = high;
        k += 6;
    }
    if pending_high {
        return false;
    }
    *i = j + 1;
    true
}
