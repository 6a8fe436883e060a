//! Money as whole fen (分, 1/100 yuan) in an i64; decimals appear only at the API edge.

use crate::error::{Error, ErrorCode};
use std::fmt;

/// An amount of Chinese yuan, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses a yuan amount written as a decimal ("12", "12.5", "12.50") into fen, exactly.
    ///
    /// More than two decimals, signs other than a leading '-', exponents, and amounts
    /// beyond i64 fen are errors: money never goes through a float.
    pub fn parse_yuan(s: &str) -> Result<Fen, Error> {
        let bad = |why: &str| {
            Error::new(ErrorCode::InvalidAmount, format!("'{}' is not a valid yuan amount: {why}", s.chars().take(40).collect::<String>()))
        };
        let t = s.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits like 12.50"));
        }
        if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) || (digits.contains('.') && frac.is_empty()) {
            return Err(bad("at most two decimal places (fen)"));
        }
        let whole: i64 = whole.parse().map_err(|_| bad("too large"))?;
        let mut frac_fen: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad("bad decimals"))? };
        if frac.len() == 1 {
            frac_fen *= 10;
        }
        let fen = whole.checked_mul(100).and_then(|w| w.checked_add(frac_fen)).ok_or_else(|| bad("too large"))?;
        Ok(Fen(if negative { -fen } else { fen }))
    }

    /// Parses a yuan amount that must be positive, with a precise code for each refusal:
    /// `negative_amount`, `zero_amount`, `amount_out_of_range` (beyond an i64 of fen), or
    /// `invalid_amount` for anything that is not a decimal of at most two places.
    pub fn parse_positive(field: &str, s: &str) -> Result<Fen, Error> {
        let t = s.trim();
        let digits = t.strip_prefix('-').unwrap_or(t);
        let f = match Fen::parse_yuan(t) {
            Ok(f) => f,
            Err(_)
                if !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && digits.matches('.').count() <= 1
                    && {
                        let whole = digits.split('.').next().unwrap_or("");
                        whole.len() > 15
                    } =>
            {
                return Err(Error::new(ErrorCode::AmountOutOfRange, format!("{field} '{}' is beyond what the ledger holds", truncate(t))));
            }
            Err(e) => return Err(Error::new(e.code, format!("{field}: {}", e.message))),
        };
        match f.0 {
            0 => Err(Error::new(ErrorCode::ZeroAmount, format!("{field} must be positive, not zero"))),
            n if n < 0 => Err(Error::new(ErrorCode::NegativeAmount, format!("{field} must be positive, not {t}"))),
            _ => Ok(f),
        }
    }

    /// Formats as yuan with two decimals, e.g. "12.50" (no currency sign).
    pub fn to_yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Price per accelerator-hour times accelerators times seconds, rounded half up to a fen,
    /// after a percentage discount. Saturates instead of overflowing (i128 inside).
    pub fn charge(price_per_hour: Fen, accelerators: u32, seconds: i64, discount_pct: u8) -> Fen {
        let gross = price_per_hour.0 as i128 * accelerators as i128 * seconds.max(0) as i128;
        let net = gross * (100 - discount_pct.min(100) as i128);
        // net is in fen * seconds * percent; divide by 3600 * 100 rounding half up.
        let denom = 360_000i128;
        let fen = (net + denom / 2) / denom;
        Fen(fen.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.to_yuan_string())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_amounts_have_precise_refusals() {
        assert_eq!(Fen::parse_positive("amount", "12.5"), Ok(Fen(1250)));
        let code = |s: &str| Fen::parse_positive("amount", s).unwrap_err().code;
        assert_eq!(code("0"), ErrorCode::ZeroAmount);
        assert_eq!(code("0.00"), ErrorCode::ZeroAmount);
        assert_eq!(code("-3"), ErrorCode::NegativeAmount);
        assert_eq!(code("92233720368547758.08"), ErrorCode::AmountOutOfRange);
        assert_eq!(code("99999999999999999999999"), ErrorCode::AmountOutOfRange);
        assert_eq!(code("1e9"), ErrorCode::InvalidAmount);
        assert_eq!(code("1.234"), ErrorCode::InvalidAmount);
    }

    #[test]
    fn parses_yuan_exactly() {
        let cases = [("0", 0), ("12", 1200), ("12.5", 1250), ("12.50", 1250), ("0.01", 1), ("-3.20", -320), (" 7.05 ", 705)];
        for (s, fen) in cases {
            assert_eq!(Fen::parse_yuan(s).unwrap(), Fen(fen), "{s}");
        }
        for bad in ["", "abc", "1.234", "1e3", "1.", ".5", "+1", "92233720368547758.08", "1,5"] {
            let e = Fen::parse_yuan(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidAmount, "{bad}");
        }
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Fen(1250).to_yuan_string(), "12.50");
        assert_eq!(Fen(-5).to_yuan_string(), "-0.05");
        assert_eq!(Fen(i64::MIN).to_yuan_string(), "-92233720368547758.08");
        assert_eq!(Fen(100).to_string(), "¥1.00");
    }

    #[test]
    fn charges_round_half_up_after_discount() {
        // ¥10/h x 8 accelerators x 30 min = ¥40; 10% off = ¥36.
        assert_eq!(Fen::charge(Fen(1000), 8, 1800, 10), Fen(3600));
        // 1 fen/h for 1 s is 1/3600 fen: rounds to 0.
        assert_eq!(Fen::charge(Fen(1), 1, 1, 0), Fen(0));
        assert_eq!(Fen::charge(Fen(1000), 1, -5, 0), Fen(0));
    }
}
