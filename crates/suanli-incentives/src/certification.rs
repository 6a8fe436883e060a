//! What a provider (for its own centres) or the operator declares of a centre for partner selection: security certifications (等保, ISO/IEC 27001, 可信云, data-centre tier) with issuer, number, expiry and the certificate's SHA-256, and green-power contracts giving its renewable share over a period. Each is checked when declared and counts only while in force.

use serde::{Deserialize, Serialize};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::time::{MS_PER_DAY as DAY_MS, UnixMs, cst_day_start};

/// A certification the security criterion counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CertificationKind {
    /// 网络安全等级保护三级 (MLPS level 3, GB/T 22239).
    #[serde(rename = "mlps_3")]
    Mlps3,
    /// 网络安全等级保护四级 (MLPS level 4).
    #[serde(rename = "mlps_4")]
    Mlps4,
    /// ISO/IEC 27001 information security management.
    #[serde(rename = "iso_27001")]
    Iso27001,
    /// 可信云 (CAICT's trusted-cloud assessment).
    #[serde(rename = "trusted_cloud")]
    TrustedCloud,
    /// A data-centre tier III certification (Uptime Institute, or GB 50174 class A).
    #[serde(rename = "dc_tier_3")]
    DcTier3,
    /// A data-centre tier IV certification.
    #[serde(rename = "dc_tier_4")]
    DcTier4,
}

impl CertificationKind {
    pub const ALL: [CertificationKind; 6] = [
        CertificationKind::Mlps3,
        CertificationKind::Mlps4,
        CertificationKind::Iso27001,
        CertificationKind::TrustedCloud,
        CertificationKind::DcTier3,
        CertificationKind::DcTier4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CertificationKind::Mlps3 => "mlps_3",
            CertificationKind::Mlps4 => "mlps_4",
            CertificationKind::Iso27001 => "iso_27001",
            CertificationKind::TrustedCloud => "trusted_cloud",
            CertificationKind::DcTier3 => "dc_tier_3",
            CertificationKind::DcTier4 => "dc_tier_4",
        }
    }

    /// Its name in Chinese and in English.
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            CertificationKind::Mlps3 => ("等保三级", "MLPS level 3"),
            CertificationKind::Mlps4 => ("等保四级", "MLPS level 4"),
            CertificationKind::Iso27001 => ("ISO/IEC 27001", "ISO/IEC 27001"),
            CertificationKind::TrustedCloud => ("可信云", "Trusted Cloud"),
            CertificationKind::DcTier3 => ("数据中心 Ⅲ 级", "data-centre Tier III"),
            CertificationKind::DcTier4 => ("数据中心 Ⅳ 级", "data-centre Tier IV"),
        }
    }

    pub fn parse(s: &str) -> Result<CertificationKind, Error> {
        CertificationKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = CertificationKind::ALL.iter().map(|k| k.as_str()).collect();
            Error::new(
                ErrorCode::InvalidCertification,
                format!("'{}' is not a certification the criteria know ({})", s.chars().take(40).collect::<String>(), known.join(", ")),
            )
        })
    }
}

/// A certification declared for a centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certification {
    pub id: String,
    pub centre_id: String,
    pub kind: CertificationKind,
    pub issuer: String,
    pub number: String,
    /// The last day it is valid (`YYYY-MM-DD`, China Standard Time).
    pub expires_on: String,
    /// SHA-256 of the certificate document, lowercase hex.
    pub document_sha256: String,
    pub declared_by: String,
    pub declared_ms: UnixMs,
}

/// A green-power contract (绿电交易 / 绿证) declared for a centre: the share of its energy from
/// renewables over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GreenPower {
    pub id: String,
    pub centre_id: String,
    /// Percent of the centre's energy, 0-100.
    pub share_pct: f64,
    /// SHA-256 of the contract or certificates, lowercase hex.
    pub evidence_sha256: String,
    /// The first and the last day it covers (`YYYY-MM-DD`, China Standard Time).
    pub from: String,
    pub until: String,
    pub declared_by: String,
    pub declared_ms: UnixMs,
}

/// The first moment of the day after `date` (China Standard Time), in unix ms.
fn end_of(date: &str) -> Result<UnixMs, Error> {
    Ok(cst_day_start(date)? + DAY_MS)
}

fn start_of(date: &str) -> Result<UnixMs, Error> {
    cst_day_start(date)
}

/// A document's SHA-256: 64 hex digits (lowercased here).
pub fn check_sha256(what: &str, s: &str) -> Result<String, Error> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(Error::new(ErrorCode::InvalidSha256, format!("{what} must be the document's SHA-256: 64 hexadecimal digits")))
    }
}

fn check_text(what: &str, s: &str) -> Result<(), Error> {
    let n = s.trim().chars().count();
    if n == 0 || n > 200 || s.chars().any(char::is_control) {
        return Err(Error::new(ErrorCode::InvalidCertification, format!("the {what} must be 1 to 200 printable characters")));
    }
    Ok(())
}

impl Certification {
    /// A declaration is complete, its hash well formed and its expiry still ahead.
    pub fn check(&self, now: UnixMs) -> Result<(), Error> {
        check_text("issuer", &self.issuer)?;
        check_text("certificate number", &self.number)?;
        check_sha256("document_sha256", &self.document_sha256)?;
        if !self.in_force(now)? {
            return Err(Error::new(ErrorCode::CertificationExpired, format!("the certification expired on {}", self.expires_on)));
        }
        Ok(())
    }

    /// Valid through its expiry date.
    pub fn in_force(&self, now: UnixMs) -> Result<bool, Error> {
        Ok(now < end_of(&self.expires_on)?)
    }
}

impl GreenPower {
    /// A share within 0-100%, a well-formed hash, and a period that has not ended.
    pub fn check(&self, now: UnixMs) -> Result<(), Error> {
        if !self.share_pct.is_finite() || !(0.0..=100.0).contains(&self.share_pct) {
            return Err(Error::new(ErrorCode::InvalidShare, format!("a renewable share is 0-100%, not {}", self.share_pct)));
        }
        check_sha256("evidence_sha256", &self.evidence_sha256)?;
        let (from, until) = (start_of(&self.from)?, end_of(&self.until)?);
        if from >= until {
            return Err(Error::new(ErrorCode::InvalidPeriod, "the contract's period must start on or before its last day"));
        }
        if until <= now {
            return Err(Error::new(ErrorCode::InvalidPeriod, format!("the contract's period ended on {}", self.until)));
        }
        Ok(())
    }

    /// The period covers `now`.
    pub fn in_force(&self, now: UnixMs) -> bool {
        matches!((start_of(&self.from), end_of(&self.until)), (Ok(f), Ok(u)) if f <= now && now < u)
    }
}

/// The kinds of certification in force, each once, in order.
pub fn certifications_in_force(certs: &[Certification], now: UnixMs) -> Vec<CertificationKind> {
    let mut kinds: Vec<CertificationKind> = certs.iter().filter(|c| c.in_force(now).unwrap_or(false)).map(|c| c.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The renewable share (0-1) in force: of the contracts covering `now`, the latest declared.
pub fn renewable_share(contracts: &[GreenPower], now: UnixMs) -> Option<f64> {
    contracts
        .iter()
        .filter(|g| g.in_force(now))
        .max_by(|a, b| a.declared_ms.cmp(&b.declared_ms).then_with(|| a.id.cmp(&b.id)))
        .map(|g| g.share_pct / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::time::days_from_civil;

    /// 10:00 China Standard Time on a civil date.
    fn at(y: i64, m: i64, d: i64) -> UnixMs {
        days_from_civil(y, m, d) * DAY_MS + 2 * 3_600_000
    }

    fn cert(kind: CertificationKind, expires_on: &str) -> Certification {
        Certification {
            id: format!("{kind:?}{expires_on}"),
            centre_id: "ctr_x".into(),
            kind,
            issuer: "公安部第三研究所".into(),
            number: "33010043001-26001".into(),
            expires_on: expires_on.into(),
            document_sha256: "a".repeat(64),
            declared_by: "operator:usr_x".into(),
            declared_ms: 1,
        }
    }

    fn green(share_pct: f64, from: &str, until: &str, declared_ms: UnixMs) -> GreenPower {
        GreenPower {
            id: format!("g{declared_ms}"),
            centre_id: "ctr_x".into(),
            share_pct,
            evidence_sha256: "B".repeat(64),
            from: from.into(),
            until: until.into(),
            declared_by: "provider:usr_x".into(),
            declared_ms,
        }
    }

    #[test]
    fn a_declaration_is_refused_by_code_when_malformed_or_already_over() {
        let now = at(2026, 6, 1);
        let code = |r: Result<(), Error>| r.unwrap_err().code;
        assert!(cert(CertificationKind::Mlps3, "2026-06-01").check(now).is_ok(), "valid through its last day");
        assert_eq!(code(cert(CertificationKind::Mlps3, "2026-05-31").check(now)), ErrorCode::CertificationExpired);
        assert_eq!(code(cert(CertificationKind::Mlps3, "2026-13-01").check(now)), ErrorCode::InvalidDate);
        assert_eq!(
            code(Certification { document_sha256: "xyz".into(), ..cert(CertificationKind::Iso27001, "2027-01-01") }.check(now)),
            ErrorCode::InvalidSha256
        );
        assert_eq!(
            code(Certification { issuer: " ".into(), ..cert(CertificationKind::Iso27001, "2027-01-01") }.check(now)),
            ErrorCode::InvalidCertification
        );
        assert_eq!(CertificationKind::parse("mlps_9").unwrap_err().code, ErrorCode::InvalidCertification);
        assert_eq!(CertificationKind::parse("trusted_cloud").unwrap(), CertificationKind::TrustedCloud);
        for bad in [-0.1, 100.5, f64::NAN] {
            assert_eq!(code(green(bad, "2026-01-01", "2026-12-31", 1).check(now)), ErrorCode::InvalidShare, "{bad}");
        }
        assert!(green(100.0, "2026-01-01", "2026-12-31", 1).check(now).is_ok());
        assert_eq!(code(green(40.0, "2026-01-01", "2026-05-31", 1).check(now)), ErrorCode::InvalidPeriod, "over already");
        assert_eq!(code(green(40.0, "2026-12-31", "2026-07-01", 1).check(now)), ErrorCode::InvalidPeriod);
        assert_eq!(check_sha256("h", &"AB".repeat(32)).unwrap(), "ab".repeat(32));
    }

    #[test]
    fn only_what_is_in_force_counts() {
        let certs = [
            cert(CertificationKind::Iso27001, "2026-06-30"),
            cert(CertificationKind::Mlps3, "2027-06-30"),
            cert(CertificationKind::Mlps3, "2028-06-30"),
        ];
        assert_eq!(certifications_in_force(&certs, at(2026, 6, 30)), [CertificationKind::Mlps3, CertificationKind::Iso27001]);
        assert_eq!(certifications_in_force(&certs, at(2026, 7, 1)), [CertificationKind::Mlps3], "ISO 27001 expired");
        let contracts = [
            green(30.0, "2026-01-01", "2026-12-31", 1),
            green(45.0, "2026-04-01", "2026-12-31", 2),
            green(90.0, "2027-01-01", "2027-12-31", 3),
        ];
        assert_eq!(renewable_share(&contracts, at(2026, 3, 1)), Some(0.3));
        assert_eq!(renewable_share(&contracts, at(2026, 5, 1)), Some(0.45), "the later declaration for the period");
        assert_eq!(renewable_share(&contracts, at(2028, 1, 1)), None);
    }
}
