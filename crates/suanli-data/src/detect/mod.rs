//! Detectors: one pass over a text's bytes finds identifiers of every kind and validates each candidate.
//!
//! The scanner looks at each byte once through a class table. ASCII letters and digits are read
//! as whole words and classified by length and check digit (ID, credit code, card, mobile,
//! passport), or by the byte after them (IPv4 dots, IPv6 colons, landline dashes); `@` starts an
//! e-mail; a CJK ideograph is decoded and looked up in a table of the detectors that may start
//! at it (plate provinces, place names, name-context words), and all others are skipped, as are
//! other three-byte characters but `（`. No regular expression, no backtracking beyond a candidate's own bytes.

mod ascii;
pub mod checks;
mod cjk;
pub mod dict;

use crate::kind::Kind;
use serde::Serialize;

/// A found identifier: a byte range of the scanned text and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

const SKIP: u8 = 0;
const ALNUM: u8 = 1;
const AT: u8 = 2;
const COLON: u8 = 3;
const OPEN: u8 = 4;
const CJK: u8 = 5;
/// Lead bytes of other three-byte characters (punctuation, kana ...): no detector starts there.
const SKIP3: u8 = 6;
/// EF, the lead byte of fullwidth forms such as `（`.
const FULLWIDTH: u8 = 7;

const CLASS: [u8; 256] = {
    let mut t = [SKIP; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphanumeric() {
            ALNUM
        } else if c == b'@' {
            AT
        } else if c == b':' {
            COLON
        } else if c == b'(' {
            OPEN
        } else if c >= 0xE4 && c <= 0xE9 {
            CJK
        } else if c == 0xEF {
            FULLWIDTH
        } else if c >= 0xE0 && c <= 0xEF {
            SKIP3
        } else {
            SKIP
        };
        b += 1;
    }
    t
};

/// Finds every identifier in `text`, in order, without overlaps.
pub fn scan(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    scan_into(text, &mut out);
    out
}

/// [`scan`] into a caller's vector (cleared first), to reuse its allocation.
pub fn scan_into(text: &str, out: &mut Vec<Span>) {
    out.clear();
    let t = dict::tables();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        i = match CLASS[b[i] as usize] {
            SKIP => i + 1,
            ALNUM => ascii::word(b, i, out),
            AT => ascii::email(b, i, out),
            COLON => ascii::colon(b, i, out),
            OPEN => ascii::paren(b, i, i + 1, out),
            CJK => cjk::char3(t, b, i, out),
            SKIP3 => i + 3,
            FULLWIDTH => cjk::fullwidth(b, i, out),
            _ => i + 1,
        };
    }
}

/// Appends a span, keeping the list ordered and free of overlaps (a span that covers the last one replaces it).
fn push(out: &mut Vec<Span>, start: usize, end: usize, kind: Kind) {
    while let Some(last) = out.last() {
        if last.end <= start {
            break;
        }
        if start <= last.start {
            out.pop();
        } else {
            return;
        }
    }
    out.push(Span { start, end, kind });
}

/// Whether a whole cell looks like a person's name: a known surname and one to three more Chinese characters.
pub fn looks_like_name(cell: &str) -> bool {
    let cell = cell.trim();
    let n = cell.chars().count();
    if !(2..=4).contains(&n) || !cell.chars().all(|c| ('\u{4E00}'..'\u{A000}').contains(&c)) {
        return false;
    }
    dict::COMPOUND_SURNAMES.iter().any(|s| cell.starts_with(s) && n >= 3) || cell.chars().next().is_some_and(dict::is_surname)
}

#[cfg(test)]
mod tests;
