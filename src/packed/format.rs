// The packed form, one copy for both sides: src/packed.rs unpacks with it,
// and build.rs (which `include!`s this file) hashes the texts and checks
// its packing with it. Nothing here names the crate.
//
// A flag byte, then the eight items it describes, lowest bit first: 0 a
// byte as it is, 1 two bytes `a b` meaning "copy `(b & 15) + SHORTEST`
// bytes from `(a | (b >> 4) << 8) + 1` bytes back".

/// How far back a match reaches (12 bits).
pub const WINDOW: usize = 4096;
/// The shortest match; the longest is 15 more (4 bits).
pub const SHORTEST: usize = 3;

/// FNV-1a, 64 bits: a text's key in the index.
pub const fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Unpack `packed` as far as `end` bytes (not one more), giving each byte
/// and its place to `sink`, through a window of [`WINDOW`] bytes (the stack it takes).
pub fn unpack_each(packed: &[u8], end: usize, sink: &mut dyn FnMut(usize, u8)) {
    let mut window = [0u8; WINDOW];
    let (mut from, mut to, mut flags) = (0, 0, 0u32);
    while to < end {
        if flags <= 1 {
            flags = packed[from] as u32 | 0x100;
            from += 1;
        }
        // A byte as it is (back 0), or a copy from `back` bytes back.
        let (count, back, literal) = if flags & 1 == 0 {
            from += 1;
            (1, 0, packed[from - 1])
        } else {
            let (a, b) = (packed[from] as usize, packed[from + 1] as usize);
            from += 2;
            ((b & 15) + SHORTEST, (a | (b >> 4) << 8) + 1, 0)
        };
        // Nothing past `end`, even from the middle of a copy.
        for _ in 0..count.min(end - to) {
            let byte = match back {
                0 => literal,
                _ => window[(to - back) % WINDOW],
            };
            window[to % WINDOW] = byte;
            sink(to, byte);
            to += 1;
        }
        flags >>= 1;
    }
}
