//! Whole deliveries in memory: CSV and JSON Lines, k-anonymity across two passes, refused rows.

use super::*;
use crate::detect::scan;
use crate::policy::{Grade, OpeningMode};
use std::io::Cursor;

fn run(input: &[u8], opts: &Options, grade: &str) -> Result<(String, Outcome), DataError> {
    let policy = Policy::for_grade(Grade::parse(grade).unwrap(), OpeningMode::Unconditional).unwrap();
    let data = input.to_vec();
    let mut out = Vec::new();
    let outcome = deidentify(&mut || Ok(Cursor::new(data.clone())), &mut out, policy, None, opts)?;
    Ok((String::from_utf8(out).unwrap(), outcome))
}

#[test]
fn csv_delivery_in_gbk() {
    let text =
        "姓名,身份证号,手机,备注\n张伟,11010519491231002X,13812345678,住在杭州市西湖区文三路90号\n李娜,110101199003074477,13912345678,无\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let opts = Options { encoding: Encoding::Gbk, ..Options::default() };
    let (out, outcome) = run(&gbk, &opts, "general").unwrap();
    assert_eq!(
        out,
        "姓名,身份证号,手机,备注\r\n张*,1****************X,138****5678,住在杭州市西湖区\r\n李*,1****************7,139****5678,无\r\n"
    );
    let r = &outcome.report;
    assert_eq!(found(r), vec![(Kind::ResidentId, 2), (Kind::Mobile, 2), (Kind::Name, 2), (Kind::Address, 1)]);
    assert_eq!((r.rows_in, r.rows_out, r.rows_malformed), (2, 2, 0));
    assert!(scan(&out).is_empty());
}

#[test]
fn malformed_rows_are_reported_not_delivered() {
    let input = "a,b\n13812345678,x\n1,2,3\n4,5\n";
    let (out, outcome) = run(input.as_bytes(), &Options::default(), "general").unwrap();
    assert_eq!(out, "a,b\r\n138****5678,x\r\n4,5\r\n");
    assert_eq!(outcome.problems, vec![RowProblem { line: 3, code: "ragged_row", message: "has 3 fields, the header has 2".into() }]);
    assert_eq!(outcome.report.rows_malformed, 1);
    let e = run(b"a,b\n1,2\n\x00\x00", &Options::default(), "general").unwrap_err();
    assert_eq!((e.code(), e.to_string().contains("line 3")), ("binary_input", true));
}

#[test]
fn fields_that_need_quotes_keep_them() {
    let input = "a,b\n\"13812345678, 手机\",\"say \"\"hi\"\"\"\nx\ry,plain\n";
    let (out, _) = run(input.as_bytes(), &Options::default(), "general").unwrap();
    assert_eq!(out, "a,b\r\n\"138****5678, 手机\",\"say \"\"hi\"\"\"\r\n\"x\ry\",plain\r\n");
}

#[test]
fn json_lines_delivery() {
    let input = "{\"name\":\"张伟\",\"phone\":13812345678,\"note\":{\"text\":\"邮箱zhang@example.com\"},\"n\":3}\n{\"name\":\"李娜\",\"phone\":13912345678,\"note\":null,\"n\":4}\n";
    let opts = Options { format: Format::JsonLines, ..Options::default() };
    let (out, outcome) = run(input.as_bytes(), &opts, "general").unwrap();
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["name"], "张*");
    assert_eq!(first["phone"], "138****5678");
    assert_eq!(first["note"]["text"], "邮箱z***@example.com");
    assert_eq!(first["n"], 3);
    assert_eq!(outcome.report.rows_out, 2);
    assert!(scan(&out).is_empty(), "{out}");
}

#[test]
fn k_anonymity_across_two_passes() {
    let mut input = String::from("age,gender,zip,mobile\n");
    let mut r = crate::corpus::Rng::new(3);
    for _ in 0..500 {
        input.push_str(&format!(
            "{},{},3100{:02},{}\n",
            20 + r.below(50),
            r.pick(&["男", "女"]),
            r.below(30),
            crate::corpus::mobile(&mut r)
        ));
    }
    let opts = Options { quasi: vec!["age".into(), "gender".into(), "zip".into()], k: Some(5), sample_rows: 50, ..Options::default() };
    let (out, outcome) = run(input.as_bytes(), &opts, "general").unwrap();
    let k = outcome.report.k_anonymity.clone().unwrap();
    assert!(k.k_reached >= 5, "{k:?}");
    assert_eq!(outcome.report.rows_out as usize, 500 - k.rows_suppressed);
    let mut classes = std::collections::HashMap::new();
    for line in out.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *classes.entry((f[0].to_string(), f[1].to_string(), f[2].to_string())).or_insert(0) += 1;
    }
    assert!(classes.values().all(|&n| n >= 5));
    let e = run(input.as_bytes(), &Options { quasi: vec!["age".into()], ..Options::default() }, "general").unwrap_err();
    assert_eq!(e.code(), "invalid_policy");
}
