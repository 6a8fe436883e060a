//! Table-driven detector tests: DOMAIN.md's examples, checksum-failing lookalikes, digits inside longer numbers.

use super::*;

fn found(text: &str) -> Vec<(Kind, &str)> {
    scan(text).into_iter().map(|s| (s.kind, &text[s.start..s.end])).collect()
}

#[test]
fn valid_identifiers_are_found() {
    use Kind::*;
    let cases: &[(&str, &[(Kind, &str)])] = &[
        ("身份证号11010519491231002X，请核对", &[(ResidentId, "11010519491231002X")]),
        ("110101199003074477", &[(ResidentId, "110101199003074477")]),
        ("ID11010519491231002X", &[(ResidentId, "11010519491231002X")]),
        ("信用代码：9144030071526726XG。", &[(Uscc, "9144030071526726XG")]),
        ("91110000600037341L", &[(Uscc, "91110000600037341L")]),
        ("卡号 4111 1111 1111 1111 不算，4111111111111111 算", &[(BankCard, "4111111111111111")]),
        ("银行卡6222021234567890123", &[]),
        ("手机13812345678联系", &[(Mobile, "13812345678")]),
        ("tel:+8613812345678", &[(Mobile, "+8613812345678")]),
        ("电话 138-1234-5678 或 138 1234 5678", &[(Mobile, "138-1234-5678"), (Mobile, "138 1234 5678")]),
        ("座机0571-88888888，北京010-62345678", &[(Landline, "0571-88888888"), (Landline, "010-62345678")]),
        ("(0571)88888888 和 （021）62345678", &[(Landline, "(0571)88888888"), (Landline, "（021）62345678")]),
        ("邮箱zhang.san@example.com。", &[(Email, "zhang.san@example.com")]),
        ("13812345678@qq.com", &[(Email, "13812345678@qq.com")]),
        ("来自192.168.1.10的访问", &[(Ipv4, "192.168.1.10")]),
        ("地址 2001:db8::8a2e:370:7334 和 ::1", &[(Ipv6, "2001:db8::8a2e:370:7334"), (Ipv6, "::1")]),
        ("车牌浙A12345违停，新能源浙AD12345", &[(Plate, "浙A12345"), (Plate, "浙AD12345")]),
        ("京A·1234学", &[(Plate, "京A·1234学")]),
        ("护照E12345678，旧版G12345678", &[(Passport, "E12345678"), (Passport, "G12345678")]),
        ("姓名：张伟，电话", &[(Name, "张伟")]),
        ("联系人欧阳娜娜", &[(Name, "欧阳娜娜")]),
        ("请王小明先生到前台，李女士稍候", &[(Name, "王小明"), (Name, "李")]),
        ("住在浙江省杭州市西湖区文三路90号附近", &[(Address, "浙江省杭州市西湖区文三路90号")]),
        ("杭州市余杭区五常街道文一西路969号3幢201室", &[(Address, "杭州市余杭区五常街道文一西路969号3幢201室")]),
        ("天津市和平区南京路189号和平大厦", &[(Address, "天津市和平区南京路189号")]),
        ("湖北省佳市和平哈尔滨街j座", &[(Address, "湖北省佳市和平哈尔滨街j座")]),
        ("收件人：傅红雪，客户赖小明先生", &[(Name, "傅红雪"), (Name, "赖小明")]),
        ("经核实，刘建平表示同意；由王伟负责。", &[(Name, "刘建平"), (Name, "王伟")]),
        ("姓名：王伟表示同意", &[(Name, "王伟")]),
        ("由欧阳玉华负责，姓名：云慧", &[(Name, "欧阳玉华"), (Name, "云慧")]),
        ("陕西省杰县沙市呼和浩特路N座", &[(Address, "陕西省杰县沙市呼和浩特路N座")]),
        ("住址：陕西省宇市徐汇向街G座，", &[(Address, "陕西省宇市徐汇向街G座")]),
        ("尉秀华女士，李女士", &[(Name, "李")]),
    ];
    for (text, want) in cases {
        assert_eq!(found(text), want.to_vec(), "{text}");
    }
}

#[test]
fn lookalikes_are_not_found() {
    let cases = [
        "11010519491231002Y",         // wrong check character
        "110101199003074478",         // GB 11643 check fails
        "110101199002304475",         // 30 February
        "9144030071526726XH",         // GB 32100 check fails
        "4111111111111112",           // Luhn fails
        "213812345678",               // a mobile inside a longer number
        "1381234567890",              // a mobile followed by more digits
        "41111111111111110",          // a card inside a longer number (Luhn on 17 digits fails)
        "订单号2024113013812345678",  // an order number with a mobile inside
        "合同编号13350802793GX8NF75", // a code opening with digits shaped like a mobile
        "流水号625000428017149803",   // a UnionPay number failing Luhn (it passes GB 32100 by chance)
        "12812345678",                // not a mobile segment
        "版本1.2.3.4.5",              // more than four parts
        "256.1.1.1",                  // octet out of range
        "192.168.1.0/24",             // a network, not a host
        "2001:db8:1::/48",
        "时间12:30:45",       // a time, not IPv6
        "浙江大学",           // a place name without a street is no address
        "杭州市西湖区",       // a district is a region, not an address
        "user@localhost",     // no dot in the domain
        "X12345678",          // not a passport letter
        "浙A1234",            // too short for a plate
        "先生们，女士们",     // titles without a name
        "事务所张伟表示同意", // a verb after a word that is no name's boundary
        "该公司表示同意，专家负责审核",
    ];
    for text in cases {
        assert_eq!(found(text), vec![], "{text}");
    }
}

#[test]
fn name_cells() {
    for (cell, want) in [("张伟", true), ("欧阳娜娜", true), ("王小明", true), ("北京", false), ("张", false), ("Zhang Wei", false)]
    {
        assert_eq!(looks_like_name(cell), want, "{cell}");
    }
}

/// Precision, recall and F1 per kind over a seeded corpus of Chinese sentences and CSV lines.
#[test]
fn f1_on_a_generated_corpus() {
    use crate::corpus::{Rng, labelled_text, value};
    use std::collections::{BTreeMap, HashSet};
    let mut r = Rng::new(15);
    let mut expected: Vec<(usize, usize, Kind)> = Vec::new();
    let mut text = String::new();
    for _ in 0..2000 {
        let (t, spans) = labelled_text(&mut r, 10);
        expected.extend(spans.into_iter().map(|(s, e, k)| (s + text.len(), e + text.len(), k)));
        text.push_str(&t);
        text.push('\n');
        // A CSV line: id,mobile,card,code,amount.
        let mut line = format!("{},", r.below(100000));
        for kind in [Kind::ResidentId, Kind::Mobile, Kind::BankCard, Kind::Uscc] {
            let v = value(&mut r, kind);
            expected.push((text.len() + line.len(), text.len() + line.len() + v.len(), kind));
            line.push_str(&v);
            line.push(',');
        }
        line.push_str(&format!("{}.{:02}\n", r.below(100000), r.below(100)));
        text.push_str(&line);
    }
    let want: HashSet<_> = expected.iter().copied().collect();
    let got: HashSet<_> = scan(&text).into_iter().map(|s| (s.start, s.end, s.kind)).collect();
    let mut counts: BTreeMap<Kind, (usize, usize, usize)> = BTreeMap::new();
    for g in &got {
        let c = counts.entry(g.2).or_default();
        if want.contains(g) {
            c.0 += 1
        } else {
            c.1 += 1;
            if c.1 <= 3 {
                println!("false positive {}: {:?}", g.2, &text[g.0.saturating_sub(12)..(g.1 + 6).min(text.len())]);
            }
        }
    }
    for w in want.difference(&got) {
        counts.entry(w.2).or_default().2 += 1;
    }
    for (kind, (tp, fp, fneg)) in &counts {
        let f1 = 2.0 * *tp as f64 / (2 * tp + fp + fneg) as f64;
        println!("{kind:<12} tp {tp:>5} fp {fp:>3} fn {fneg:>3} F1 {f1:.4}");
        let floor = if kind.has_checksum() { 0.995 } else { 0.98 };
        assert!(f1 >= floor, "{kind}: F1 {f1:.4} < {floor}");
    }
    assert_eq!(counts.len(), 12, "every kind is in the corpus");
}

#[test]
fn ipv6_text_agrees_with_the_standard_library() {
    let cases = [
        "2001:db8::8a2e:370:7334",
        "2001:0db8:0000:0000:0000:8a2e:0370:7334",
        "::1",
        "::",
        "1::",
        "fe80::1:2",
        "::ffff:192.168.1.10",
        "64:ff9b::10.0.0.1",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1::2::3",
        "12345::1",
        ":1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3.4.5",
        "::01.2.3.4",
        "::256.1.1.1",
        "1:::2",
        "g::1",
        "d66b:829e:6a8a:c4ba:580:5976:ed2f:89d9",
    ];
    for c in cases {
        assert_eq!(ascii::ipv6_text(c.as_bytes()), c.parse::<core::net::Ipv6Addr>().is_ok(), "{c}");
    }
}
