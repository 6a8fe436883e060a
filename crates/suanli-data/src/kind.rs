//! The kinds of personal and company identifiers the engine finds, and what each is to a policy.

use serde::{Deserialize, Serialize};

/// A kind of identifier. Column kinds (`BirthDate`, `Age`, `Gender`) come from a column's header,
/// never from free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ResidentId,
    Uscc,
    BankCard,
    Mobile,
    Landline,
    Email,
    Ipv4,
    Ipv6,
    Plate,
    Passport,
    Name,
    Address,
    BirthDate,
    Age,
    Gender,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 15] = [
        Kind::ResidentId,
        Kind::Uscc,
        Kind::BankCard,
        Kind::Mobile,
        Kind::Landline,
        Kind::Email,
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Plate,
        Kind::Passport,
        Kind::Name,
        Kind::Address,
        Kind::BirthDate,
        Kind::Age,
        Kind::Gender,
    ];

    /// The stable snake_case name used in reports and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ResidentId => "resident_id",
            Kind::Uscc => "uscc",
            Kind::BankCard => "bank_card",
            Kind::Mobile => "mobile",
            Kind::Landline => "landline",
            Kind::Email => "email",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Plate => "plate",
            Kind::Passport => "passport",
            Kind::Name => "name",
            Kind::Address => "address",
            Kind::BirthDate => "birth_date",
            Kind::Age => "age",
            Kind::Gender => "gender",
        }
    }

    /// The Chinese label a redaction leaves in place of a value, e.g. `[身份证号]`.
    pub fn label_zh(self) -> &'static str {
        match self {
            Kind::ResidentId => "身份证号",
            Kind::Uscc => "信用代码",
            Kind::BankCard => "银行卡号",
            Kind::Mobile => "手机号",
            Kind::Landline => "固定电话",
            Kind::Email => "电子邮箱",
            Kind::Ipv4 | Kind::Ipv6 => "IP地址",
            Kind::Plate => "车牌号",
            Kind::Passport => "护照号",
            Kind::Name => "姓名",
            Kind::Address => "地址",
            Kind::BirthDate => "出生日期",
            Kind::Age => "年龄",
            Kind::Gender => "性别",
        }
    }

    /// Direct identifiers single out a person or company on their own (GB/T 37964); the rest are
    /// quasi-identifiers, which identify only in combination.
    pub fn is_direct(self) -> bool {
        !matches!(self, Kind::BirthDate | Kind::Age | Kind::Gender)
    }

    /// Kinds whose detector validates a check digit (the F1 target of >= 0.995 applies to them).
    pub fn has_checksum(self) -> bool {
        matches!(self, Kind::ResidentId | Kind::Uscc | Kind::BankCard)
    }

    /// The kind a column header names, if any (Chinese or English, case-insensitive).
    pub fn from_header(header: &str) -> Option<Kind> {
        let h = header.trim().to_lowercase();
        let h = h.as_str();
        HEADER_HINTS.iter().find(|(words, _)| words.iter().any(|w| h == *w || (!w.is_ascii() && h.contains(w)))).map(|(_, k)| *k)
    }
}

/// Header words per kind, in priority order. Chinese words also match inside a header (联系电话), English ones only whole.
const HEADER_HINTS: &[(&[&str], Kind)] = &[
    (&["身份证", "身份证号", "身份证号码", "证件号码", "id_card", "id_number", "resident_id"], Kind::ResidentId),
    (&["统一社会信用代码", "信用代码", "uscc", "credit_code"], Kind::Uscc),
    (&["银行卡号", "银行账号", "卡号", "bank_card", "card_no", "card_number"], Kind::BankCard),
    (&["手机", "手机号", "手机号码", "mobile", "cellphone"], Kind::Mobile),
    (&["电话", "固定电话", "座机", "phone", "telephone", "landline"], Kind::Landline),
    (&["邮箱", "电子邮箱", "email", "e-mail", "mail"], Kind::Email),
    (&["ip", "ip地址", "ip_address"], Kind::Ipv4),
    (&["车牌", "车牌号", "plate", "licence_plate", "license_plate"], Kind::Plate),
    (&["护照", "护照号", "passport"], Kind::Passport),
    (&["姓名", "名字", "联系人", "name", "full_name", "contact"], Kind::Name),
    (&["地址", "住址", "家庭住址", "通讯地址", "address", "addr"], Kind::Address),
    (&["出生日期", "生日", "birth_date", "birthday", "dob"], Kind::BirthDate),
    (&["年龄", "age"], Kind::Age),
    (&["性别", "gender", "sex"], Kind::Gender),
];

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_kinds() {
        let cases = [
            ("姓名", Some(Kind::Name)),
            ("客户姓名", Some(Kind::Name)),
            ("身份证号码", Some(Kind::ResidentId)),
            ("Mobile", Some(Kind::Mobile)),
            ("出生日期", Some(Kind::BirthDate)),
            ("age", Some(Kind::Age)),
            ("amount", None),
            ("备注", None),
        ];
        for (h, want) in cases {
            assert_eq!(Kind::from_header(h), want, "{h}");
        }
    }
}
