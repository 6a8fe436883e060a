//! Profiling, per-column de-identification, the no-identifier-left property and k-anonymity on a small table.

use super::*;
use crate::corpus::{Rng, labelled_text, value};
use crate::detect::scan;
use crate::policy::{Grade, OpeningMode};

fn strings(row: &[&str]) -> Vec<String> {
    row.iter().map(|s| s.to_string()).collect()
}

#[test]
fn columns_are_tagged_by_values_then_header() {
    let headers = strings(&["姓名", "编号", "手机", "备注", "金额"]);
    let mut p = Profiler::new(&headers);
    p.add_row(&["张伟", "11010519491231002X", "13812345678", "已办结", "12.50"]);
    p.add_row(&["李娜", "110101199003074477", "", "联系人王芳，电话13912345678", "8.00"]);
    let cols = p.finish();
    let kinds: Vec<Option<Kind>> = cols.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec![Some(Kind::Name), Some(Kind::ResidentId), Some(Kind::Mobile), None, None]);
    assert_eq!(cols[3].found.get(&Kind::Mobile), Some(&1));
    assert_eq!(cols[3].found.get(&Kind::Name), Some(&1));
}

fn deidentifier(grade: &str, mode: OpeningMode, cols: Vec<ColumnProfile>, quasi: &[&str]) -> Deidentifier {
    let policy = Policy::for_grade(Grade::parse(grade).unwrap(), mode).unwrap();
    let key = (mode == OpeningMode::Conditional).then(|| PseudonymKey::new(b"consumer"));
    Deidentifier::new(policy, key, cols, &strings(quasi)).unwrap()
}

#[test]
fn cells_and_free_text_get_the_policy() {
    let headers = strings(&["姓名", "手机", "备注"]);
    let mut p = Profiler::new(&headers);
    p.add_row(&["张伟", "13812345678", "x"]);
    let mut d = deidentifier("general", OpeningMode::Unconditional, p.finish(), &[]);
    let out = d.row(0, &strings(&["张伟", "13812345678", "住址：杭州市西湖区文三路90号，身份证11010519491231002X"])).unwrap();
    assert_eq!(out, strings(&["张*", "138****5678", "住址：杭州市西湖区，身份证1****************X"]));
    let r = d.report();
    assert_eq!((r.found[&Kind::Name], r.found[&Kind::Mobile], r.found[&Kind::Address], r.found[&Kind::ResidentId]), (1, 1, 1, 1));
    assert_eq!(r.actions[&Kind::Address], Operator::Generalise);
}

#[test]
fn a_cell_unlike_its_column_gets_the_operator_of_what_it_holds() {
    let headers = strings(&["手机"]);
    let mut p = Profiler::new(&headers);
    p.add_row(&["13812345678"]);
    p.add_row(&["13912345678"]);
    let mut d = deidentifier("general", OpeningMode::Unconditional, p.finish(), &[]);
    let cases = [
        ("13712345678", "137****5678"),
        ("11010519491231002X", "1****************X"),
        ("手机13712345678或邮箱a@b.cn", "手机137****5678或邮箱a***@b.cn"),
        ("1381234", "***1234"),
        ("", ""),
    ];
    for (cell, want) in cases {
        assert_eq!(d.row(0, &strings(&[cell])).unwrap(), vec![want.to_string()], "{cell}");
    }
}

/// Kinds that must never survive a general-grade delivery (company codes may: they are public record).
fn left_over(text: &str) -> Vec<(Kind, String)> {
    scan(text).into_iter().filter(|s| s.kind != Kind::Uscc).map(|s| (s.kind, text[s.start..s.end].to_string())).collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn general_policy_leaves_no_direct_identifier(seed in 0u64..u64::MAX, level in 1u8..=4, conditional in proptest::bool::ANY) {
        let mut r = Rng::new(seed);
        let headers = strings(&["姓名", "身份证号", "手机", "地址", "备注"]);
        let rows: Vec<Vec<String>> = (0..20)
            .map(|_| {
                let mut row: Vec<String> = [Kind::Name, Kind::ResidentId, Kind::Mobile, Kind::Address].iter().map(|&k| value(&mut r, k)).collect();
                row.push(labelled_text(&mut r, 6).0);
                row
            })
            .collect();
        let mut p = Profiler::new(&headers);
        rows.iter().for_each(|row| p.add_row(row));
        let mode = if conditional { OpeningMode::Conditional } else { OpeningMode::Unconditional };
        let mut d = deidentifier(&format!("general-{level}"), mode, p.finish(), &[]);
        for (i, row) in rows.iter().enumerate() {
            let out = d.row(i, row).unwrap();
            for cell in &out {
                proptest::prop_assert!(left_over(cell).is_empty(), "{:?} left in {cell}", left_over(cell));
            }
            proptest::prop_assert!(!crate::detect::looks_like_name(&out[0]), "{}", out[0]);
        }
    }
}

#[test]
fn k_anonymity_over_declared_quasi_identifiers() {
    let headers = strings(&["年龄", "性别", "邮编", "诊断"]);
    let mut r = Rng::new(7);
    let rows: Vec<Vec<String>> = (0..200)
        .map(|_| {
            let age = (18 + r.below(60)).to_string();
            let gender = r.pick(&["男", "女"]).to_string();
            let zip = format!("3100{:02}", r.below(40));
            vec![age, gender, zip, r.pick(&["感冒", "骨折", "高血压"]).to_string()]
        })
        .collect();
    let mut p = Profiler::new(&headers);
    rows.iter().for_each(|row| p.add_row(row));
    let mut d = deidentifier("general", OpeningMode::Unconditional, p.finish(), &["年龄", "性别", "邮编"]);
    let mut q = d.quasi_table(&rows, 10_000);
    for row in &rows {
        q.push(&d.quasi_values(row)).unwrap();
    }
    let plan = q.solve(5, 0.05);
    d.set_plan(plan);
    let mut classes: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(out) = d.row(i, row) {
            *classes.entry(out[..3].to_vec()).or_default() += 1;
        }
    }
    let k = d.report().k_anonymity.clone().unwrap();
    assert!(classes.values().all(|&n| n >= 5), "{classes:?}");
    assert_eq!(k.k_reached, *classes.values().min().unwrap());
    assert_eq!(k.rows_suppressed as u64, 200 - d.report().rows_out);
    assert!(k.rows_suppressed <= 10);
    assert!((k.max_risk - 1.0 / k.k_reached as f64).abs() < 1e-9 && k.avg_risk <= k.max_risk);
    assert_eq!(k.classes, classes.len());
}

#[test]
fn direct_identifiers_are_no_quasi_identifiers() {
    let mut p = Profiler::new(&strings(&["手机"]));
    p.add_row(&["13812345678"]);
    let policy = Policy::for_grade(Grade::General { level: 1 }, OpeningMode::Unconditional).unwrap();
    let e = Deidentifier::new(policy.clone(), None, p.finish(), &strings(&["手机"])).unwrap_err();
    assert_eq!(e.code(), "invalid_policy");
    let e = Deidentifier::new(policy, None, vec![], &strings(&["年龄"])).unwrap_err();
    assert_eq!(e.code(), "unknown_column");
}
