//! De-identification operators: mask, keyed-hash pseudonym, generalise, suppress, redact.

use crate::kind::Kind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What is done to a found value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Delivered as it is (only for company codes and quasi-identifiers; a policy refuses it for a person's identifier).
    Keep,
    /// Characters hidden behind `*`, a few kept at the ends (138****5678).
    Mask,
    /// A keyed hash of the value: the same for one consumer's deliveries, unlinkable across consumers.
    Pseudonym,
    /// A coarser value: birth year, age band, district, subnet, area code, surname.
    Generalise,
    /// Removed: the cell or span becomes empty.
    Suppress,
    /// Replaced by the kind's label, e.g. `[手机号]`.
    Redact,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Keep => "keep",
            Operator::Mask => "mask",
            Operator::Pseudonym => "pseudonym",
            Operator::Generalise => "generalise",
            Operator::Suppress => "suppress",
            Operator::Redact => "redact",
        }
    }
}

/// A consumer's pseudonym key (the caller derives it, e.g. from a platform secret and the consumer's id).
#[derive(Clone)]
pub struct PseudonymKey([u8; 64]);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

impl PseudonymKey {
    /// A key from any secret bytes (hashed first when longer than a SHA-256 block, as HMAC does).
    pub fn new(secret: &[u8]) -> PseudonymKey {
        let mut block = [0u8; 64];
        if secret.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            block[..secret.len()].copy_from_slice(secret);
        }
        PseudonymKey(block)
    }

    /// HMAC-SHA256 (RFC 2104) of a message.
    pub fn hmac(&self, message: &[u8]) -> [u8; 32] {
        let pad = |x: u8| -> [u8; 64] { std::array::from_fn(|i| self.0[i] ^ x) };
        let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
        Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
    }
}

/// `s.trim()`, without decoding a character when `s` starts and ends with ASCII that is no space or
/// control character, or with a CJK ideograph (what nearly every cell does).
pub(crate) fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let plain = |c: u8| c > b' ' && c < 0x80;
    let ideograph = |c: u8| (0xE4..=0xE9).contains(&c);
    let n = b.len();
    let start = b.first().is_some_and(|&c| plain(c) || ideograph(c));
    let end = (n >= 1 && plain(b[n - 1])) || (n >= 3 && ideograph(b[n - 3]));
    if start && end { s } else { s.trim() }
}

/// Applies an operator to a value of a kind. `key` is needed only for pseudonyms (without one they redact).
pub fn apply(op: Operator, kind: Kind, value: &str, key: Option<&PseudonymKey>) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    apply_into(op, kind, value, key, &mut out);
    out
}

/// [`apply`] appended to `out` (a delivery writes every value through one buffer).
pub fn apply_into(op: Operator, kind: Kind, value: &str, key: Option<&PseudonymKey>, out: &mut String) {
    match (op, key) {
        (Operator::Keep, _) => out.push_str(value),
        (Operator::Mask, _) => mask_into(kind, value, out),
        (Operator::Pseudonym, Some(k)) => out.push_str(&pseudonym(k, kind, value)),
        (Operator::Generalise, _) => generalise_into(kind, value, out),
        (Operator::Suppress, _) => {}
        (Operator::Redact | Operator::Pseudonym, _) => redact_into(kind, out),
    }
}

pub fn redact(kind: Kind) -> String {
    let mut out = String::new();
    redact_into(kind, &mut out);
    out
}

fn redact_into(kind: Kind, out: &mut String) {
    out.push('[');
    out.push_str(kind.label_zh());
    out.push(']');
}

/// `tag-` and 16 letters a-p from the first 8 bytes of HMAC-SHA256(key, kind, value). Letters only, so
/// a pseudonym never looks like a number, a code or a plate to a later scan.
pub fn pseudonym(key: &PseudonymKey, kind: Kind, value: &str) -> String {
    let mut msg = Vec::with_capacity(value.len() + 16);
    msg.extend_from_slice(kind.as_str().as_bytes());
    msg.push(0);
    msg.extend_from_slice(value.trim().as_bytes());
    let mac = key.hmac(&msg);
    let mut out = String::with_capacity(24);
    out.push_str(tag(kind));
    out.push('-');
    for b in &mac[..8] {
        out.push((b'a' + (b >> 4)) as char);
        out.push((b'a' + (b & 15)) as char);
    }
    out
}

fn tag(kind: Kind) -> &'static str {
    match kind {
        Kind::ResidentId => "id",
        Kind::Uscc => "org",
        Kind::BankCard => "card",
        Kind::Mobile | Kind::Landline => "tel",
        Kind::Email => "mail",
        Kind::Ipv4 | Kind::Ipv6 => "ip",
        Kind::Plate => "car",
        Kind::Passport => "pp",
        Kind::Name => "name",
        Kind::Address => "addr",
        Kind::BirthDate | Kind::Age | Kind::Gender => "q",
    }
}

const STARS: &str = "****************************************************************";

/// `n` stars.
fn stars(n: usize, out: &mut String) {
    if n <= STARS.len() {
        out.push_str(&STARS[..n]);
    } else {
        out.extend(std::iter::repeat_n('*', n));
    }
}

/// Keeps `head` characters at the start and `tail` at the end, and stars the rest.
fn keep_ends(value: &str, head: usize, tail: usize, out: &mut String) {
    let b = value.as_bytes();
    if b.len() > head + tail && b.iter().all(|&c| c.is_ascii() && c != b'-' && c != b'@') {
        // ASCII without separators (IDs, codes, passports): characters are bytes, the middle one run.
        out.push_str(&value[..head]);
        stars(b.len() - head - tail, out);
        out.push_str(&value[b.len() - tail..]);
        return;
    }
    let n = value.chars().count();
    if n <= head + tail {
        out.extend(std::iter::repeat_n('*', n.max(1)));
        return;
    }
    out.extend(value.chars().enumerate().map(|(i, c)| if i < head || i >= n - tail || c == '-' || c == '@' { c } else { '*' }));
}

/// Stars the digits of a number except `head` at the start and `tail` at the end; separators stay.
fn mask_digits(value: &str, head: usize, tail: usize, out: &mut String) {
    let is_digit = |c: u8| c.is_ascii_digit() || c == b'X' || c == b'x';
    let n = value.bytes().filter(|&c| is_digit(c)).count();
    if n == value.len() {
        // Digits only (a card, a mobile without separators): kept ends around one run of stars.
        let (head, tail) = (head.min(n), tail.min(n - head.min(n)));
        out.push_str(&value[..head]);
        stars(n - head - tail, out);
        out.push_str(&value[n - tail..]);
        return;
    }
    let mut k = 0;
    // Digits and X are ASCII: bytes can be copied or starred one by one, other characters pass whole.
    let mut at = 0;
    for (i, c) in value.bytes().enumerate() {
        if !is_digit(c) {
            continue;
        }
        k += 1;
        if k > head && k <= n.saturating_sub(tail) {
            out.push_str(&value[at..i]);
            out.push('*');
            at = i + 1;
        }
    }
    out.push_str(&value[at..]);
}

fn digit_count(value: &str) -> usize {
    value.bytes().filter(u8::is_ascii_digit).count()
}

/// The digits of a landline's area code (before its first separator).
fn area_digits(value: &str) -> usize {
    digit_count(value.trim_start_matches(['(', '（']).split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
}

pub fn mask(kind: Kind, value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    mask_into(kind, value, &mut out);
    out
}

fn mask_into(kind: Kind, value: &str, out: &mut String) {
    match kind {
        Kind::ResidentId | Kind::Passport => keep_ends(value, 1, 1, out),
        Kind::Uscc => keep_ends(value, 2, 0, out),
        Kind::BankCard => mask_digits(value, 4, 4, out),
        Kind::Mobile => mask_digits(value, digit_count(value).saturating_sub(8), 4, out),
        Kind::Landline => mask_digits(value, area_digits(value), 0, out),
        Kind::Email => match value.split_once('@') {
            Some((local, domain)) => {
                out.push(local.chars().next().unwrap_or('*'));
                out.push_str("***@");
                out.push_str(domain);
            }
            None => keep_ends(value, 1, 0, out),
        },
        Kind::Plate => keep_ends(value, 2, 0, out),
        Kind::Name => keep_ends(value, surname_len(value), 0, out),
        Kind::Address => {
            out.push_str(district(value));
            out.push_str("***");
        }
        Kind::Ipv4 | Kind::Ipv6 | Kind::BirthDate | Kind::Age | Kind::Gender => generalise_into(kind, value, out),
    }
}

fn surname_len(name: &str) -> usize {
    if crate::detect::dict::COMPOUND_SURNAMES.iter().any(|s| name.starts_with(s)) && name.chars().count() > 2 { 2 } else { 1 }
}

/// The part of an address down to its district or county (or city, when it names none).
pub fn district(address: &str) -> &str {
    let cut = |markers: &[char]| address.char_indices().find(|(_, c)| markers.contains(c)).map(|(i, c)| i + c.len_utf8());
    match cut(&['区', '县', '旗']).or_else(|| cut(&['市'])) {
        Some(end) => &address[..end],
        None => address.char_indices().nth(2).map_or(address, |(i, _)| &address[..i]),
    }
}

/// The part of an address down to its city (or province).
pub fn city(address: &str) -> &str {
    let cut = |markers: &[char]| address.char_indices().find(|(_, c)| markers.contains(c)).map(|(i, c)| i + c.len_utf8());
    match cut(&['市']).or_else(|| cut(&['省'])) {
        Some(end) => &address[..end],
        None => address.char_indices().nth(2).map_or(address, |(i, _)| &address[..i]),
    }
}

/// The birth year of a date in YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日.
fn year(value: &str) -> Option<&str> {
    let v = value.trim();
    (v.len() >= 4 && v.as_bytes()[..4].iter().all(u8::is_ascii_digit)).then(|| &v[..4])
}

/// An age band of `width` years, e.g. 30-39.
pub fn age_band(age: u32, width: u32) -> String {
    let lo = age / width * width;
    format!("{lo}-{}", lo + width - 1)
}

pub fn generalise(kind: Kind, value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    generalise_into(kind, value, &mut out);
    out
}

fn generalise_into(kind: Kind, value: &str, out: &mut String) {
    let v = trim(value);
    let part = |p: Option<&str>, suffix: &str, out: &mut String| match p {
        Some(p) => {
            out.push_str(p);
            out.push_str(suffix);
        }
        None => redact_into(kind, out),
    };
    match kind {
        Kind::ResidentId => part(v.get(6..10), "年生", out),
        Kind::BirthDate => part(year(v), "", out),
        Kind::Age => match v.parse::<u32>() {
            Ok(a) => out.push_str(&age_band(a, 10)),
            Err(_) => redact_into(kind, out),
        },
        Kind::Address => out.push_str(district(v)),
        Kind::Ipv4 => part(v.rsplit_once('.').map(|(net, _)| net), ".0/24", out),
        Kind::Ipv6 => match v.parse::<core::net::Ipv6Addr>() {
            Ok(a) => {
                let s = a.segments();
                out.push_str(&format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]));
            }
            Err(_) => redact_into(kind, out),
        },
        Kind::Mobile => mask_digits(v, digit_count(v).saturating_sub(8), 0, out),
        Kind::Landline => part(v.split_once(['-', ')', '）']).map(|(a, _)| a.trim_start_matches(['(', '（'])), "", out),
        Kind::Email => match v.split_once('@') {
            Some((_, d)) => {
                out.push_str("*@");
                out.push_str(d);
            }
            None => redact_into(kind, out),
        },
        Kind::Name => {
            out.extend(v.chars().take(surname_len(v)));
            out.push('某');
        }
        Kind::Plate => out.extend(v.chars().take(2)),
        Kind::BankCard => mask_digits(v, 6, 0, out),
        Kind::Uscc => part(v.get(..8), "", out),
        Kind::Passport => keep_ends(v, 1, 0, out),
        Kind::Gender => out.push_str(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_table() {
        use Kind::*;
        use Operator::*;
        let cases = [
            (Mask, Mobile, "13812345678", "138****5678"),
            (Mask, Mobile, "+8613812345678", "+86138****5678"),
            (Mask, ResidentId, "11010519491231002X", "1****************X"),
            (Mask, BankCard, "6222021234567890123", "6222***********0123"),
            (Mask, BankCard, "6222 0212 3456 7890", "6222 **** **** 7890"),
            (Mask, Passport, "E12345678", "E*******8"),
            (Mask, Passport, "E1", "**"),
            (Mask, Uscc, "9144030071526726XG", "91****************"),
            (Generalise, BankCard, "6222021234567890123", "622202*************"),
            (Generalise, Mobile, "13812345678", "138********"),
            (Mask, Landline, "0571-88888888", "0571-********"),
            (Mask, Landline, "（021）62345678", "（021）********"),
            (Mask, Mobile, "138 1234 5678", "138 **** 5678"),
            (Mask, Email, "zhang.san@example.com", "z***@example.com"),
            (Mask, Name, "张伟", "张*"),
            (Mask, Name, "欧阳娜娜", "欧阳**"),
            (Mask, Plate, "浙A12345", "浙A*****"),
            (Mask, Address, "杭州市西湖区文三路90号", "杭州市西湖区***"),
            (Generalise, ResidentId, "11010519491231002X", "1949年生"),
            (Generalise, BirthDate, "1990-03-07", "1990"),
            (Generalise, Age, "37", "30-39"),
            (Generalise, Address, "浙江省杭州市西湖区文三路90号", "浙江省杭州市西湖区"),
            (Generalise, Ipv4, "192.168.1.10", "192.168.1.0/24"),
            (Generalise, Ipv6, "2001:db8::8a2e:370:7334", "2001:db8:0::/48"),
            (Generalise, Name, "张伟", "张某"),
            (Generalise, Landline, "(0571)88888888", "0571"),
            (Suppress, Mobile, "13812345678", ""),
            (Redact, Mobile, "13812345678", "[手机号]"),
            (Keep, Uscc, "9144030071526726XG", "9144030071526726XG"),
        ];
        for (op, kind, value, want) in cases {
            assert_eq!(apply(op, kind, value, None), want, "{op:?} {kind} {value}");
        }
    }

    /// The CSV writer relies on it: a plain record stays plain once de-identified.
    #[test]
    fn no_operator_writes_a_character_that_needs_quoting() {
        let key = PseudonymKey::new(b"k");
        let values = [
            "11010519491231002X",
            "13812345678",
            "0571-88888888",
            "a.b@example.com",
            "192.168.1.10",
            "2001:db8::1",
            "浙A12345",
            "E12345678",
            "张伟",
            "浙江省杭州市西湖区文三路90号",
            "1990-03-07",
            "37",
            "男",
            "9144030071526726XG",
            "6222021234567890123",
        ];
        for op in [Operator::Keep, Operator::Mask, Operator::Pseudonym, Operator::Generalise, Operator::Suppress, Operator::Redact] {
            for kind in Kind::ALL {
                for v in values {
                    let out = apply(op, kind, v, Some(&key));
                    assert!(!out.contains([',', '"', '\r', '\n']), "{op:?} {kind} {v} gave {out:?}");
                }
            }
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for s in ["", " ", "a", " a ", "张伟", " 张伟", "张伟\u{3000}", "\u{3000}张伟", "13812345678\t", "·x", "x\u{a0}", "\u{1c}x"]
        {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn addresses_cut_at_district_and_city() {
        assert_eq!(district("北京市朝阳区建国路88号"), "北京市朝阳区");
        assert_eq!(city("北京市朝阳区建国路88号"), "北京市");
        assert_eq!(city("浙江省杭州市西湖区"), "浙江省杭州市");
        assert_eq!(district("杭州市"), "杭州市");
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_across_keys() {
        let a = PseudonymKey::new(b"consumer-a");
        let b = PseudonymKey::new(b"consumer-b");
        let p = pseudonym(&a, Kind::Mobile, "13812345678");
        assert_eq!(p, pseudonym(&a, Kind::Mobile, "13812345678"));
        assert_ne!(p, pseudonym(&b, Kind::Mobile, "13812345678"));
        assert_ne!(p, pseudonym(&a, Kind::Mobile, "13812345679"));
        assert!(p.starts_with("tel-") && p.len() == 20 && p[4..].bytes().all(|c| (b'a'..=b'p').contains(&c)), "{p}");
        // RFC 4231 test case 2.
        let mac = PseudonymKey::new(b"Jefe").hmac(b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
