//! Validation of candidates: GB 11643 resident IDs (with birth date and province), GB 32100 credit codes (both from suanli-core), Luhn.

use suanli_core::ident::{resident_id_is_valid, uscc_check_char};

/// Province-level division codes (the first two digits of a resident ID or a division code).
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    83,
];

fn num(s: &[u8]) -> u32 {
    s.iter().fold(0, |n, d| n * 10 + (d - b'0') as u32)
}

/// [`PROVINCES`] as bits of a number (bit n: code n), looked up without a search.
const PROVINCE_BITS: u128 = {
    let (mut bits, mut i) = (0u128, 0);
    while i < PROVINCES.len() {
        bits |= 1 << PROVINCES[i];
        i += 1;
    }
    bits
};

/// Whether two digits are a province-level division code.
pub fn province_code(s: &[u8]) -> bool {
    s.len() >= 2 && s[..2].iter().all(u8::is_ascii_digit) && PROVINCE_BITS >> num(&s[..2]) & 1 == 1
}

/// A calendar date in YYYYMMDD, years 1900-2099 (no clock is read, so "not in the future" is not checked).
pub fn date_yyyymmdd(s: &[u8]) -> bool {
    if s.len() != 8 || !s.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (y, m, d) = (num(&s[..4]), num(&s[4..6]), num(&s[6..]));
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2099).contains(&y) && (1..=days).contains(&d)
}

/// A resident ID: 17 digits and a check character (GB 11643), a valid birth date, a province code.
pub fn resident_id(s: &[u8]) -> bool {
    s.len() == 18 && province_code(s) && date_yyyymmdd(&s[6..14]) && std::str::from_utf8(s).is_ok_and(resident_id_is_valid)
}

/// A unified social credit code: upper-case alphabet, a plausible division code and the GB 32100 check character.
pub fn uscc(s: &[u8]) -> bool {
    // Characters 3-8 are a division code: a province's, or 10 for national bodies.
    let division = s.len() == 18 && s[2..8].iter().all(u8::is_ascii_digit) && (province_code(&s[2..4]) || &s[2..4] == b"10");
    if !division || !matches!(s[0], b'1'..=b'9' | b'A'..=b'G' | b'N' | b'Y') {
        return false;
    }
    let id_like = s[..17].iter().all(u8::is_ascii_digit) && (s[17].is_ascii_digit() || s[17] == b'X') && id_shaped(s);
    if !s.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) || id_like {
        return false;
    }
    let Ok(text) = std::str::from_utf8(s) else { return false };
    uscc_check_char(&text[..17]) == Some(s[17] as char)
}

/// The Luhn check over a run of ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = (d - b'0') as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// A bank card number passing Luhn, with a scheme's prefix and length: UnionPay 62 and Chinese debit
/// 60 (16-19 digits), JCB 35 (16-19), Visa 4 (16 or 19), Mastercard 51-55 (16). An 18-digit number
/// shaped like a resident ID (province and birth date) is not taken for a card.
pub fn bank_card(d: &[u8]) -> bool {
    let n = d.len();
    let scheme = match (d.first(), d.get(1)) {
        (Some(b'6'), Some(b'2' | b'0')) | (Some(b'3'), Some(b'5')) => (16..=19).contains(&n),
        (Some(b'4'), _) => n == 16 || n == 19,
        (Some(b'5'), Some(b'1'..=b'5')) => n == 16,
        _ => false,
    };
    scheme && !(n == 18 && id_shaped(d)) && luhn(d)
}

/// A province code and the shape of a birth date (year 1900-2099, month 01-12, day 01-31) where a
/// resident ID has them: a mistyped ID (a wrong check digit, 30 February) is still no card number
/// nor credit code, whatever its digits add up to.
pub fn id_shaped(s: &[u8]) -> bool {
    if s.len() != 18 || !province_code(s) || !s[6..14].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (y, m, d) = (num(&s[6..10]), num(&s[10..12]), num(&s[12..14]));
    (1900..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// A mainland mobile number: 1[3-9] and nine more digits.
pub fn mobile(digits: &[u8]) -> bool {
    digits.len() == 11 && digits[0] == b'1' && (b'3'..=b'9').contains(&digits[1])
}

/// A passport or travel-permit number: E, G, D, S, P, H or M and 8 digits, or E, a letter and 7 digits.
pub fn passport(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    (matches!(s[0], b'E' | b'G' | b'D' | b'S' | b'P' | b'H' | b'M') && digits(&s[1..]))
        || (s[0] == b'E' && s[1].is_ascii_uppercase() && !matches!(s[1], b'I' | b'O') && digits(&s[2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_accept_and_refuse() {
        type Check = fn(&[u8]) -> bool;
        let cases: &[(Check, &str, bool)] = &[
            (resident_id, "11010519491231002X", true),
            (resident_id, "110101199003074477", true),
            (resident_id, "110101199003074478", false), // check digit
            (resident_id, "110101199002304475", false), // 30 February
            (resident_id, "990101199003074477", false), // no province 99
            (uscc, "9144030071526726XG", true),
            (uscc, "91110000600037341L", true),
            (uscc, "9144030071526726XH", false),
            (uscc, "411402195502305901", false), // a resident ID with 30 February, passing GB 32100 by chance
            (uscc, "34110019861030033X", false), // a resident ID with a wrong check character, the same
            (bank_card, "620501199502303737", false), // the same, passing Luhn by chance
            (uscc, "9144030071526726xg", false), // lower case is not scanned
            (luhn, "4111111111111112", false),
            (luhn, "79927398713", true),
            (bank_card, "4111111111111111", true),
            (bank_card, "6222020200112233445", false),
            (bank_card, "9111111111111111", false),
            (mobile, "13812345678", true),
            (mobile, "12812345678", false),
            (passport, "E12345678", true),
            (passport, "EA1234567", true),
            (passport, "X12345678", false),
            (date_yyyymmdd, "20000229", true),
            (date_yyyymmdd, "19000229", false),
        ];
        for (check, s, want) in cases {
            assert_eq!(check(s.as_bytes()), *want, "{s}");
        }
    }
}
