//! A seeded generator of valid identifiers, checksum-failing decoys and labelled Chinese text, for tests, benchmarks and demos.
//!
//! SplitMix64 from a caller's seed: the same seed gives the same corpus, and no entropy is read.

use crate::detect::checks;
use crate::kind::Kind;
use suanli_core::ident::{resident_id_is_valid, uscc_check_char};

/// The pure crates' one generator (SplitMix64), with what a corpus needs on top.
#[derive(Debug, Clone)]
pub struct Rng(suanli_core::rng::SplitMix);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(suanli_core::rng::SplitMix::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

const DIVISIONS: &[&str] = &["110105", "110101", "310104", "330106", "330110", "330203", "440305", "510107", "420106", "320102"];
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红梅新宇浩然子轩欣怡雨晨思远";
const ROADS: &[&str] = &["文三路", "文一西路", "莫干山路", "解放路", "延安路", "人民路", "中山北路", "学院路"];
const DISTRICTS: &[&str] = &["西湖区", "上城区", "拱墅区", "滨江区", "余杭区", "萧山区", "朝阳区", "海淀区", "浦东新区", "南山区"];
const CITIES: &[&str] = &["杭州市", "宁波市", "北京市", "上海市", "深圳市", "成都市"];

/// A resident ID with a valid division, birth date (1940-2009) and check character.
pub fn resident_id(r: &mut Rng) -> String {
    let first17 = format!("{}{}{:02}{:02}{}", r.pick(DIVISIONS), 1940 + r.below(70), 1 + r.below(12), 1 + r.below(28), r.digits(3));
    "0123456789X".chars().map(|c| format!("{first17}{c}")).find(|s| resident_id_is_valid(s)).unwrap_or(first17)
}

/// A unified social credit code with a valid division and check character.
pub fn uscc(r: &mut Rng) -> String {
    const BODY: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let body: String = (0..9).map(|_| *r.pick(BODY) as char).collect();
    let first17 = format!("91{}{}", r.pick(DIVISIONS), body);
    let check = uscc_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// A UnionPay card number (62…, 16-19 digits) passing Luhn.
pub fn bank_card(r: &mut Rng) -> String {
    let len = 16 + r.below(4) as usize;
    let body = format!("62{}", r.digits(len - 3));
    (0..10).map(|d| format!("{body}{d}")).find(|s| checks::luhn(s.as_bytes())).unwrap_or(body)
}

pub fn mobile(r: &mut Rng) -> String {
    format!("1{}{}", 3 + r.below(7), r.digits(9))
}

pub fn landline(r: &mut Rng) -> String {
    format!("{}-{}{}", r.pick(&["010", "021", "0571", "0755", "0574"]), 2 + r.below(8), r.digits(7))
}

pub fn email(r: &mut Rng) -> String {
    format!(
        "{}{}@{}",
        r.pick(&["zhang", "li.na", "wang_wei", "chen"]),
        r.below(1000),
        r.pick(&["qq.com", "163.com", "example.cn", "mail.hz.gov.cn"])
    )
}

pub fn ipv4(r: &mut Rng) -> String {
    format!("{}.{}.{}.{}", 1 + r.below(223), r.below(256), r.below(256), 1 + r.below(254))
}

pub fn ipv6(r: &mut Rng) -> String {
    format!("2001:db8:{:x}::{:x}:{:x}", r.below(0xffff), r.below(0xffff), 1 + r.below(0xfffe))
}

pub fn plate(r: &mut Rng) -> String {
    let province = r.pick(&["浙", "京", "沪", "粤", "川"]);
    let letter = r.pick(&["A", "B", "C", "D", "F"]);
    if r.below(4) == 0 { format!("{province}{letter}D{}", r.digits(5)) } else { format!("{province}{letter}{}", r.digits(5)) }
}

pub fn passport(r: &mut Rng) -> String {
    format!("{}{}", r.pick(&["E", "G"]), r.digits(8))
}

pub fn name(r: &mut Rng) -> String {
    let surnames: Vec<char> = crate::detect::dict::surnames().take(60).collect();
    let given: Vec<char> = GIVEN.chars().collect();
    let mut s = r.pick(&surnames).to_string();
    for _ in 0..1 + r.below(2) {
        s.push(*r.pick(&given));
    }
    s
}

pub fn address(r: &mut Rng) -> String {
    format!("{}{}{}{}号", r.pick(CITIES), r.pick(DISTRICTS), r.pick(ROADS), 1 + r.below(999))
}

/// A value of the kind (for text kinds, with nothing around it).
pub fn value(r: &mut Rng, kind: Kind) -> String {
    match kind {
        Kind::ResidentId => resident_id(r),
        Kind::Uscc => uscc(r),
        Kind::BankCard => bank_card(r),
        Kind::Mobile => mobile(r),
        Kind::Landline => landline(r),
        Kind::Email => email(r),
        Kind::Ipv4 => ipv4(r),
        Kind::Ipv6 => ipv6(r),
        Kind::Plate => plate(r),
        Kind::Passport => passport(r),
        Kind::Name => name(r),
        Kind::Address => address(r),
        Kind::BirthDate => format!("{}-{:02}-{:02}", 1940 + r.below(70), 1 + r.below(12), 1 + r.below(28)),
        Kind::Age => (18 + r.below(70)).to_string(),
        Kind::Gender => r.pick(&["男", "女"]).to_string(),
    }
}

/// A lookalike no detector may report: a wrong check digit, an impossible date, a number inside a longer one.
pub fn decoy(r: &mut Rng) -> String {
    match r.below(8) {
        0 => {
            let id = resident_id(r);
            let wrong = "0123456789X".chars().find(|&c| !id.ends_with(c) && c != 'x').unwrap_or('0');
            format!("{}{wrong}", &id[..17])
        }
        1 => {
            let id = resident_id(r);
            format!("{}0230{}", &id[..10], &id[14..])
        }
        2 => {
            let u = uscc(r);
            let wrong = if u.ends_with('0') { '1' } else { '0' };
            format!("{}{wrong}", &u[..17])
        }
        3 => {
            let c = bank_card(r);
            let last = c.as_bytes()[c.len() - 1] - b'0';
            format!("{}{}", &c[..c.len() - 1], (last + 1) % 10)
        }
        4 => format!("{}{}", 2 + r.below(8), mobile(r)),
        5 => format!("{}{}", mobile(r), r.digits(2)),
        6 => format!("12{}", r.digits(9)),
        _ => format!("订单{}", r.digits(20)),
    }
}

/// Filler that holds no identifier and no detector's trigger word.
const FILLER: &[&str] = &[
    "今天办理了业务，",
    "经核实情况属实。",
    "相关材料已经提交，",
    "已完成审核。",
    "数据用于统计分析，",
    "备注：无。",
    "按照规定流程处理，",
    "后续跟进。",
];

/// The words put before a value so that a reader (and the name detector) knows what follows.
fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Name => "联系人",
        Kind::Address => "住址：",
        _ => kind.label_zh(),
    }
}

/// Chinese text with `items` identifiers and decoys; returns it with the expected spans.
pub fn labelled_text(r: &mut Rng, items: usize) -> (String, Vec<(usize, usize, Kind)>) {
    // The direct identifiers: every kind before the quasi-identifiers (birth date, age, gender).
    const KINDS: &[Kind] = Kind::ALL.split_at(12).0;
    let (mut text, mut spans) = (String::new(), Vec::new());
    for _ in 0..items {
        let filler = FILLER[r.below(FILLER.len() as u64) as usize];
        text.push_str(filler);
        if r.below(4) == 0 {
            text.push_str("编号");
            text.push_str(&decoy(r));
            text.push('，');
            continue;
        }
        let kind = *r.pick(KINDS);
        text.push_str(label(kind));
        let v = value(r, kind);
        spans.push((text.len(), text.len() + v.len(), kind));
        text.push_str(&v);
        text.push_str(if r.below(2) == 0 { "，" } else { "。" });
    }
    (text, spans)
}
