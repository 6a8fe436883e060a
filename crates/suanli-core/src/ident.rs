//! Check digits of Chinese identifiers: the unified social credit code (GB 32100-2015) and the resident ID (GB 11643).

use crate::error::{Error, ErrorCode};

const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A validated unified social credit code (统一社会信用代码).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

impl Uscc {
    /// Validates length, alphabet and the GB 32100 check digit. Lowercase is accepted and upper-cased.
    pub fn parse(s: &str) -> Result<Uscc, Error> {
        let code = s.trim().to_ascii_uppercase();
        let shown: String = s.chars().take(24).collect();
        if code.len() != 18 {
            return Err(Error::new(
                ErrorCode::InvalidUscc,
                format!("'{shown}' is not a unified social credit code: it must have 18 characters, not {}", code.chars().count()),
            ));
        }
        let mut values = [0u32; 18];
        for (i, b) in code.bytes().enumerate() {
            values[i] = USCC_ALPHABET.iter().position(|&a| a == b).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidUscc,
                    format!(
                        "'{shown}' has '{}' at position {}, which a unified social credit code never uses (I, O, S, V and Z are excluded)",
                        b as char,
                        i + 1
                    ),
                )
            })? as u32;
        }
        if !code[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::new(
                ErrorCode::InvalidUscc,
                format!("'{shown}': characters 3-8 must be the 6-digit administrative division code"),
            ));
        }
        let check = uscc_check_value(&values[..17]);
        if values[17] != check {
            return Err(Error::new(
                ErrorCode::InvalidUscc,
                format!(
                    "'{shown}' fails the GB 32100 check digit: expected '{}' at the end, found '{}'",
                    USCC_ALPHABET[check as usize] as char,
                    &code[17..]
                ),
            ));
        }
        Ok(Uscc(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative division code (characters 3-8), e.g. "330106".
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }
}

/// The check character for the first 17 characters of a code (for generators and tests).
pub fn uscc_check_char(first17: &str) -> Option<char> {
    // No allocation: the de-identification engine calls this for every 18-character candidate.
    let b = first17.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let mut values = [0u32; 17];
    for (v, c) in values.iter_mut().zip(b) {
        *v = USCC_ALPHABET.iter().position(|a| a == c)? as u32;
    }
    Some(USCC_ALPHABET[uscc_check_value(&values) as usize] as char)
}

fn uscc_check_value(values: &[u32]) -> u32 {
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

impl TryFrom<String> for Uscc {
    type Error = Error;
    fn try_from(s: String) -> Result<Uscc, Error> {
        Uscc::parse(&s)
    }
}

impl From<Uscc> for String {
    fn from(u: Uscc) -> String {
        u.0
    }
}

/// Checks a resident ID number (居民身份证号码, GB 11643): 17 digits and a check character.
pub fn resident_id_is_valid(s: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8] = b"10X98765432";
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17].iter().zip(WEIGHTS).map(|(d, w)| (d - b'0') as u32 * w).sum();
    b[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_credit_codes_pass() {
        for code in ["9144030071526726XG", "91110000600037341L", "91110000600037341l"] {
            let u = Uscc::parse(code).unwrap();
            assert_eq!(u.as_str(), code.to_ascii_uppercase());
        }
        assert_eq!(Uscc::parse("9144030071526726XG").unwrap().division_code(), "440300");
        assert_eq!(uscc_check_char("9144030071526726X"), Some('G'));
    }

    #[test]
    fn invalid_credit_codes_fail_with_reasons() {
        let cases = [
            ("9144030071526726XH", "check digit"),
            ("9144030071526726X", "18 characters"),
            ("9144030071526726IG", "never uses"),
            ("91AB030071526726XG", "division code"),
        ];
        for (code, why) in cases {
            let e = Uscc::parse(code).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidUscc);
            assert!(e.message.contains(why), "{code}: {}", e.message);
        }
    }

    #[test]
    fn resident_ids() {
        assert!(resident_id_is_valid("11010519491231002X"));
        assert!(resident_id_is_valid("110101199003074477"));
        assert!(!resident_id_is_valid("110101199003074478"));
        assert!(!resident_id_is_valid("11010119900307447"));
    }
}
