//! ASCII detectors: digit and letter words (IDs, credit codes, cards, mobiles, passports), landlines, IPv4, IPv6, e-mail.

use super::{Span, checks, push};
use crate::kind::Kind;

fn digits_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    j
}

/// Reads the word of letters and digits at `i`; returns where scanning goes on.
pub(super) fn word(b: &[u8], i: usize, out: &mut Vec<Span>) -> usize {
    // The word's end and its count of digits in one pass.
    let (mut j, mut digits) = (i, 0);
    while j < b.len() && b[j].is_ascii_alphanumeric() {
        digits += usize::from(b[j].is_ascii_digit());
        j += 1;
    }
    let run = &b[i..j];
    let all_digits = digits == run.len();
    let after_dot = i > 0 && b[i - 1] == b'.';
    match b.get(j) {
        Some(b'.') if all_digits && run.len() <= 3 && !after_dot => {
            if let Some(end) = ipv4(b, i) {
                push(out, i, end, Kind::Ipv4);
                return end;
            }
        }
        Some(b':') if run.len() <= 4 && run.iter().all(u8::is_ascii_hexdigit) => {
            if let Some(end) = ipv6(b, i) {
                push(out, i, end, Kind::Ipv6);
                return end;
            }
        }
        Some(b'-' | b' ') if all_digits => {
            if let Some((end, kind)) = separated_phone(b, i, j) {
                push(out, i, end, kind);
                return end;
            }
        }
        _ => {}
    }
    if let Some(kind) = classify(run, all_digits) {
        let start = if kind == Kind::Mobile && run.len() == 13 && i > 0 && b[i - 1] == b'+' { i - 1 } else { i };
        push(out, start, j, kind);
    } else if !all_digits && digits >= 11 {
        inner_digits(b, i, j, out);
    }
    j
}

/// Classifies a whole word by its length, alphabet and check digit.
fn classify(run: &[u8], all_digits: bool) -> Option<Kind> {
    let n = run.len();
    if n == 18 {
        if checks::resident_id(run) {
            return Some(Kind::ResidentId);
        }
        // An 18-digit number opening with UnionPay's 62 is a card when it passes Luhn and a mistyped
        // card when not, even if it passes GB 32100 (register code 6, travel, is rare).
        if all_digits && run.starts_with(b"62") {
            return checks::bank_card(run).then_some(Kind::BankCard);
        }
        if all_digits && run.starts_with(b"6") && checks::bank_card(run) {
            return Some(Kind::BankCard);
        }
        if checks::uscc(run) {
            return Some(Kind::Uscc);
        }
    }
    if all_digits {
        return match n {
            11 if checks::mobile(run) => Some(Kind::Mobile),
            13 if run.starts_with(b"86") && checks::mobile(&run[2..]) => Some(Kind::Mobile),
            16..=19 if checks::bank_card(run) => Some(Kind::BankCard),
            _ => None,
        };
    }
    (n == 9 && checks::passport(run)).then_some(Kind::Passport)
}

/// Digit runs after letters inside a word (`tel13812345678`, `ID11010519491231002X`). A run that
/// opens the word (`13350802793GX8NF75`) is part of a code, not a number of its own.
fn inner_digits(b: &[u8], i: usize, j: usize, out: &mut Vec<Span>) {
    let mut s = digits_end(b, i).min(j);
    while s < j {
        if !b[s].is_ascii_digit() {
            s += 1;
            continue;
        }
        let e = digits_end(b, s).min(j);
        let id_end = e + 1;
        if e - s == 17 && id_end == j && matches!(b[e], b'X' | b'x') && checks::resident_id(&b[s..id_end]) {
            push(out, s, id_end, Kind::ResidentId);
        } else if let Some(kind) = classify(&b[s..e], true) {
            push(out, s, e, kind);
        }
        s = e;
    }
}

/// `0571-88888888` (landline: a 3- or 4-digit area code and 7 or 8 digits) or `138-1234-5678` / `138 1234 5678`.
fn separated_phone(b: &[u8], i: usize, j: usize) -> Option<(usize, Kind)> {
    let sep = b[j];
    let first = &b[i..j];
    let s2 = j + 1;
    let e2 = digits_end(b, s2);
    let boundary = |e: usize| e >= b.len() || !b[e].is_ascii_alphanumeric();
    if area_code(first) && sep == b'-' && (7..=8).contains(&(e2 - s2)) && b[s2] != b'0' && b[s2] != b'1' && boundary(e2) {
        return Some((e2, Kind::Landline));
    }
    if first.len() == 3 && checks::mobile(&[first, b"00000000"].concat()) && e2 - s2 == 4 && b.get(e2) == Some(&sep) {
        let e3 = digits_end(b, e2 + 1);
        if e3 - (e2 + 1) == 4 && boundary(e3) {
            return Some((e3, Kind::Mobile));
        }
    }
    None
}

/// A trunk prefix and area code: 010 and 02x have three digits, all others four.
fn area_code(d: &[u8]) -> bool {
    d.first() == Some(&b'0') && d.len() >= 3 && if matches!(d[1], b'1' | b'2') { d.len() == 3 } else { d.len() == 4 && d[1] != b'0' }
}

/// `(0571)88888888` or `（0571）88888888`: `open` is the bracket, `i` the first digit.
pub(super) fn paren(b: &[u8], open: usize, i: usize, out: &mut Vec<Span>) -> usize {
    let e = digits_end(b, i);
    if !area_code(&b[i..e]) {
        return i;
    }
    let close = match b.get(e) {
        Some(b')') => 1,
        _ if b[e..].starts_with("）".as_bytes()) => 3,
        _ => return i,
    };
    let mut s2 = e + close;
    if b.get(s2) == Some(&b' ') {
        s2 += 1;
    }
    let e2 = digits_end(b, s2);
    if (7..=8).contains(&(e2 - s2)) && b[s2] > b'1' && (e2 >= b.len() || !b[e2].is_ascii_alphanumeric()) {
        push(out, open, e2, Kind::Landline);
        return e2;
    }
    i
}

/// A dotted quad of octets 0-255 starting at `i`, not followed by another `.digit` or a letter.
fn ipv4(b: &[u8], i: usize) -> Option<usize> {
    let mut p = i;
    for octet in 0..4 {
        let e = digits_end(b, p);
        let n = e - p;
        if n == 0 || n > 3 || (n > 1 && b[p] == b'0') || b[p..e].iter().fold(0u32, |v, d| v * 10 + (d - b'0') as u32) > 255 {
            return None;
        }
        p = e;
        if octet < 3 {
            if b.get(p) != Some(&b'.') {
                return None;
            }
            p += 1;
        }
    }
    let continues = match b.get(p) {
        Some(c) if c.is_ascii_alphanumeric() => true,
        Some(b'.') => b.get(p + 1).is_some_and(u8::is_ascii_digit),
        _ => network(b, p),
    };
    (!continues).then_some(p)
}

/// An IPv6 address starting at `i` (hex groups, `::`, an embedded IPv4 tail), parsed by the standard library.
fn ipv6(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < b.len() && j - i < 45 && (b[j].is_ascii_hexdigit() || b[j] == b':' || b[j] == b'.') {
        j += 1;
    }
    if j < b.len() && b[j].is_ascii_alphanumeric() {
        return None;
    }
    while j > i + 2 && (b[j - 1] == b'.' || (b[j - 1] == b':' && b[j - 2] != b':')) {
        j -= 1;
    }
    let cand = &b[i..j];
    if cand.iter().filter(|&&c| c == b':').count() < 2 || network(b, j) {
        return None;
    }
    ipv6_text(cand).then_some(j)
}

/// Whether `s` is an IPv6 address in text form (RFC 4291 2.2): eight groups of one to four hex
/// digits, or fewer around one `::`, the last two of which may be a dotted IPv4 address.
pub(super) fn ipv6_text(s: &[u8]) -> bool {
    let n = s.len();
    let (mut groups, mut double, mut i) = (0, false, 0);
    if s.starts_with(b"::") {
        (double, i) = (true, 2);
    } else if s.first() == Some(&b':') {
        return false;
    }
    while i < n {
        let mut e = i;
        while e < n && s[e].is_ascii_hexdigit() {
            e += 1;
        }
        if s.get(e) == Some(&b'.') {
            // An IPv4 tail ends the address and stands for two groups.
            if !dotted_quad(&s[i..]) {
                return false;
            }
            groups += 2;
            break;
        }
        if e == i || e - i > 4 {
            return false;
        }
        groups += 1;
        i = e;
        if i == n {
            break;
        }
        if s[i] != b':' || i + 1 == n {
            return false;
        }
        i += 1;
        if s[i] == b':' {
            if double {
                return false;
            }
            double = true;
            i += 1;
        }
    }
    if double { groups <= 7 } else { groups == 8 }
}

/// Four decimal octets 0-255 without leading zeros, and nothing else.
fn dotted_quad(s: &[u8]) -> bool {
    let mut parts = 0;
    for part in s.split(|&c| c == b'.') {
        parts += 1;
        let ok = !part.is_empty() && part.len() <= 3 && part.iter().all(u8::is_ascii_digit) && (part.len() == 1 || part[0] != b'0');
        if !ok || part.iter().fold(0u32, |v, d| v * 10 + (d - b'0') as u32) > 255 {
            return false;
        }
    }
    parts == 4
}

/// A `/prefix` after an address makes it a network (what generalising leaves), not a host.
fn network(b: &[u8], p: usize) -> bool {
    b.get(p) == Some(&b'/') && b.get(p + 1).is_some_and(u8::is_ascii_digit)
}

/// `::1` and other addresses that open with a double colon.
pub(super) fn colon(b: &[u8], i: usize, out: &mut Vec<Span>) -> usize {
    let starts = b.get(i + 1) == Some(&b':') && (i == 0 || !(b[i - 1].is_ascii_hexdigit() || b[i - 1] == b':'));
    if starts && let Some(end) = ipv6(b, i) {
        push(out, i, end, Kind::Ipv6);
        return end;
    }
    i + 1
}

fn local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// An e-mail address around the `@` at `at`: the local part before it replaces any span found in it.
pub(super) fn email(b: &[u8], at: usize, out: &mut Vec<Span>) -> usize {
    let mut s = at;
    while s > 0 && at - s < 64 && local_char(b[s - 1]) {
        s -= 1;
    }
    while s < at && !b[s].is_ascii_alphanumeric() {
        s += 1;
    }
    let (mut p, mut end, mut labels, mut tld_alpha) = (at + 1, 0, 0, false);
    loop {
        let mut e = p;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'-') {
            e += 1;
        }
        if e == p || e - p > 63 {
            break;
        }
        labels += 1;
        end = e;
        tld_alpha = e - p >= 2 && b[p..e].iter().all(u8::is_ascii_alphabetic);
        if b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_alphanumeric) {
            p = e + 1;
        } else {
            break;
        }
    }
    if s == at || labels < 2 || !tld_alpha {
        return at + 1;
    }
    while out.last().is_some_and(|l| l.end > s) {
        out.pop();
    }
    push(out, s, end, Kind::Email);
    end
}
