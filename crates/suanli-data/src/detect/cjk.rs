//! Chinese detectors: licence plates, names in context (姓名：…, …先生) and addresses from a province or city down to the street.

use super::dict::{ROLE_AFTER, ROLE_BEFORE, ROLE_PLACE, ROLE_PLATE, ROLE_VERB, Tables};
use super::{Span, ascii, push};
use crate::kind::Kind;

/// The code point of the three-byte UTF-8 character at `i` (the caller checked the lead byte).
#[inline]
fn cp3(b: &[u8], i: usize) -> u32 {
    (((b[i] & 0x0F) as u32) << 12) | (((b[i + 1] & 0x3F) as u32) << 6) | ((b[i + 2] & 0x3F) as u32)
}

/// The CJK ideograph at `i`, if one starts there.
#[inline]
fn han_at(b: &[u8], i: usize) -> Option<u32> {
    if i + 2 < b.len() && (0xE4..=0xE9).contains(&b[i]) {
        let cp = cp3(b, i);
        return (0x4E00..0xA000).contains(&cp).then_some(cp);
    }
    None
}

/// Looks at the CJK ideograph whose lead byte is at `i` and those after it; returns where scanning
/// goes on. Most ideographs start no detector: a run of them is passed in this loop.
#[inline]
pub(super) fn char3(t: &Tables, b: &[u8], mut i: usize, out: &mut Vec<Span>) -> usize {
    while i + 2 < b.len() && (0xE4..=0xE9).contains(&b[i]) {
        let cp = cp3(b, i);
        match t.roles(cp) {
            0 => i += 3,
            roles => return triggered(t, b, i, cp, roles, out),
        }
    }
    // A truncated character at the end is skipped a byte at a time.
    if i + 2 >= b.len() && i < b.len() && (0xE4..=0xE9).contains(&b[i]) { i + 1 } else { i }
}

/// `（` (U+FF08) may open a landline's area code; other characters of the lead byte EF are skipped.
#[inline]
pub(super) fn fullwidth(b: &[u8], i: usize, out: &mut Vec<Span>) -> usize {
    if b[i..].starts_with("（".as_bytes()) { ascii::paren(b, i, i + 3, out).max(i + 3) } else { i + 3 }
}

/// The detectors that may start at the character `cp` at `i` (`roles`: which ones).
#[inline(never)]
fn triggered(t: &Tables, b: &[u8], i: usize, cp: u32, roles: u8, out: &mut Vec<Span>) -> usize {
    if roles & ROLE_PLATE != 0
        && let Some(end) = plate(b, i + 3)
    {
        push(out, i, end, Kind::Plate);
        return end;
    }
    // Every place and context word has two characters or more: most characters that start one
    // are followed by a character that no such word has next.
    if !han_at(b, i + 3).is_some_and(|next| t.may_open(cp, next)) {
        return i + 3;
    }
    if roles & ROLE_PLACE != 0
        && let Some(end) = t.places.find(cp, &b[i..]).and_then(|w| address(t, b, i + w.len()))
    {
        push(out, i, end, Kind::Address);
        return end;
    }
    if roles & ROLE_BEFORE != 0
        && let Some(w) = t.before.find(cp, &b[i..])
    {
        let j = skip_separators(b, i + w.len());
        if let Some(end) = name_at(t, b, j) {
            push(out, j, end, Kind::Name);
            return end;
        }
        return i + w.len();
    }
    if roles & ROLE_AFTER != 0
        && t.after.find(cp, &b[i..]).is_some()
        && let Some(start) = name_before(t, b, i)
        && out.last().is_none_or(|l| l.end <= start)
    {
        push(out, start, i, Kind::Name);
    }
    if roles & ROLE_VERB != 0
        && t.verbs.find(cp, &b[i..]).is_some()
        && let Some(start) = name_before(t, b, i).filter(|&s| i - s >= 6 && after_boundary(t, b, s))
        && out.last().is_none_or(|l| l.end <= start)
    {
        push(out, start, i, Kind::Name);
    }
    i + 3
}

/// Whether a name found by the verb after it starts a clause: nothing but punctuation, ASCII or a
/// function word (由, 请, 向 ...) before it, so that 事务所张伟表示 is not cut into a name.
fn after_boundary(t: &Tables, b: &[u8], start: usize) -> bool {
    start < 3 || han_at(b, start - 3).is_none_or(|c| t.preceders.has(c))
}

/// A plate's serial after the province character: a letter, an optional `·`, then 5 characters, 6 for
/// a new-energy plate (D or F at either end), or 4 and 学/警/挂/领/港/澳.
fn plate(b: &[u8], mut p: usize) -> Option<usize> {
    let letter = *b.get(p)?;
    if !letter.is_ascii_uppercase() || letter == b'I' || letter == b'O' {
        return None;
    }
    p += 1;
    if b[p..].starts_with("·".as_bytes()) {
        p += 2;
    } else if matches!(b.get(p), Some(b' ' | b'-')) {
        p += 1;
    }
    let s = p;
    while p < b.len() && (b[p].is_ascii_digit() || (b[p].is_ascii_uppercase() && b[p] != b'I' && b[p] != b'O')) && p - s < 7 {
        p += 1;
    }
    if p < b.len() && b[p].is_ascii_alphanumeric() {
        return None;
    }
    let serial = &b[s..p];
    if !serial.iter().any(u8::is_ascii_digit) {
        return None;
    }
    let special = ["学", "警", "挂", "领", "港", "澳"].iter().find(|w| b[p..].starts_with(w.as_bytes()));
    match serial.len() {
        5 => Some(p),
        6 if matches!(serial[0], b'D' | b'F') || matches!(serial[5], b'D' | b'F') => Some(p),
        4 => special.map(|w| p + w.len()),
        _ => None,
    }
}

fn skip_separators(b: &[u8], mut j: usize) -> usize {
    for _ in 0..3 {
        if matches!(b.get(j), Some(b':' | b' ')) {
            j += 1;
        } else if b[j..].starts_with("：".as_bytes()) || b[j..].starts_with("是".as_bytes()) || b[j..].starts_with("为".as_bytes()) {
            j += 3;
        } else {
            break;
        }
    }
    j
}

/// A name at `j`: a surname (or a two-character one, or a rare one: a context word went before) and
/// one or two given characters that are not stop words.
fn name_at(t: &Tables, b: &[u8], j: usize) -> Option<usize> {
    let mut p = match super::dict::COMPOUND_SURNAMES.iter().find(|s| b[j..].starts_with(s.as_bytes())) {
        Some(s) => j + s.len(),
        None if han_at(b, j).is_some_and(|c| t.surname.has(c) || t.rare_surname.has(c)) => j + 3,
        None => return None,
    };
    let given_start = p;
    while p - given_start < 6 {
        match han_at(b, p) {
            Some(c) if !t.stop.has(c) && !ends_name(&b[p..]) => p += 3,
            _ => break,
        }
    }
    (p > given_start).then_some(p)
}

/// A title or a verb, which ends a name (王伟先生, 王伟表示).
fn ends_name(rest: &[u8]) -> bool {
    super::dict::NAME_AFTER.iter().chain(super::dict::NAME_VERBS).any(|w| rest.starts_with(w.as_bytes()))
}

/// The start of a name just before a title at `i` (王先生, 张伟女士, 王小明先生).
fn name_before(t: &Tables, b: &[u8], i: usize) -> Option<usize> {
    let back = |n: usize| i.checked_sub(3 * n).and_then(|k| han_at(b, k));
    let given = |c: Option<u32>| c.is_some_and(|c| !t.stop.has(c));
    let surname = |c: Option<u32>| c.is_some_and(|c| t.surname.has(c));
    let compound =
        |n: usize| i.checked_sub(3 * n).is_some_and(|k| super::dict::COMPOUND_SURNAMES.iter().any(|s| b[k..].starts_with(s.as_bytes())));
    if compound(4) && given(back(2)) && given(back(1)) {
        Some(i - 12)
    } else if (compound(3) || surname(back(3)) && given(back(2))) && given(back(1)) {
        Some(i - 9)
    } else if surname(back(2)) && given(back(1)) {
        Some(i - 6)
    } else if surname(back(1)) && after_boundary(t, b, i - 3) {
        // A surname alone (李女士) only where a name may start: not the end of a longer name (尉秀华女士).
        Some(i - 3)
    } else {
        None
    }
}

/// The rest of an address after its place name at `j`: components down to a street-level marker
/// (路, 号, 村, 室 ...); without one it is only a region, not an address. It ends at its last marker.
fn address(t: &Tables, b: &[u8], mut j: usize) -> Option<usize> {
    for suffix in ["特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"] {
        if b[j..].starts_with(suffix.as_bytes()) {
            j += suffix.len();
            break;
        }
    }
    let (mut end, mut street, mut chars) = (j, false, 0);
    while j < b.len() && chars < 48 {
        chars += 1;
        if b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b'#' {
            j += 1;
            continue;
        }
        let Some(c) = han_at(b, j) else { break };
        // A stop character before 路 or 街 names the street (向阳路, 于街): the address goes on.
        if t.stop.has(c) && c != '号' as u32 && !han_at(b, j + 3).is_some_and(|n| n == '路' as u32 || n == '街' as u32) {
            match super::dict::PLACE_WORDS_WITH_STOPS.iter().find(|w| b[j..].starts_with(w.as_bytes())) {
                Some(w) => {
                    j += w.len();
                    continue;
                }
                None => break,
            }
        }
        j += 3;
        if t.admin.has(c) {
            end = j;
        } else if t.street.has(c) {
            end = j;
            street = true;
        }
    }
    street.then_some(end)
}
