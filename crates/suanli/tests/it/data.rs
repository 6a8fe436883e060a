//! `suanli data deidentify` as a user runs it: generated CSV in UTF-8 and GBK, the report's counts, and bad input.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use suanli_data::corpus::{Rng, labelled_text, value};
use suanli_data::{Kind, scan};

const BIN: &str = env!("CARGO_BIN_EXE_suanli");

fn deidentify(input: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args([
            "--output",
            "json",
            "data",
            "deidentify",
            "--input",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--grade",
            "general",
        ])
        .args(extra)
        .output()
        .expect("suanli data deidentify runs")
}

/// A CSV of people with a free-text column; returns it and the identifiers it holds by kind.
fn people(rows: usize) -> (String, BTreeMap<String, u64>) {
    let mut r = Rng::new(15);
    let mut csv = String::from("姓名,身份证号,手机,地址,年龄,性别,备注\n");
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..rows {
        let mut row: Vec<String> = [Kind::Name, Kind::ResidentId, Kind::Mobile, Kind::Address, Kind::Age, Kind::Gender]
            .iter()
            .map(|&k| value(&mut r, k))
            .collect();
        let note = labelled_text(&mut r, 3).0;
        for s in scan(&note) {
            *expected.entry(s.kind.as_str().to_string()).or_default() += 1;
        }
        row.push(note);
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    for kind in ["name", "resident_id", "mobile", "address", "age", "gender"] {
        *expected.entry(kind.to_string()).or_default() += rows as u64;
    }
    (csv, expected)
}

fn report(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn utf8_and_gbk_files_are_delivered_without_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, expected) = people(300);
    let utf8 = dir.path().join("people.csv");
    std::fs::write(&utf8, &csv).unwrap();
    let out_utf8 = dir.path().join("out-utf8.csv");
    // Without k-anonymity every row is delivered and every identifier counted.
    let v = report(&deidentify(&utf8, &out_utf8, &["--report"]));
    let found: BTreeMap<String, u64> =
        v["report"]["found"].as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect();
    assert_eq!(found, expected);
    assert_eq!((v["report"]["rows_in"].as_u64(), v["report"]["rows_out"].as_u64()), (Some(300), Some(300)));
    // With it, rows are generalised and outliers suppressed (their identifiers are neither delivered nor counted).
    let v = report(&deidentify(&utf8, &out_utf8, &["--quasi", "年龄,性别", "--k", "5", "--report"]));
    let k = &v["report"]["k_anonymity"];
    assert!(k["k_reached"].as_u64().unwrap() >= 5, "{k}");
    assert_eq!(v["report"]["rows_out"].as_u64().unwrap() + k["rows_suppressed"].as_u64().unwrap(), 300);
    let delivered = std::fs::read_to_string(&out_utf8).unwrap();
    let left: Vec<_> = scan(&delivered).into_iter().filter(|s| s.kind != Kind::Uscc).map(|s| &delivered[s.start..s.end]).collect();
    assert!(left.is_empty(), "identifiers left: {left:?}");
    assert!(delivered.starts_with("姓名,身份证号,手机,地址,年龄,性别,备注\r\n"));

    // The same file in GBK gives the same delivery; read as UTF-8 it is refused with the remedy.
    let (gbk_bytes, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable);
    let gbk = dir.path().join("people-gbk.csv");
    std::fs::write(&gbk, &gbk_bytes).unwrap();
    let out_gbk = dir.path().join("out-gbk.csv");
    report(&deidentify(&gbk, &out_gbk, &["--encoding", "gbk", "--quasi", "年龄,性别", "--k", "5"]));
    assert_eq!(std::fs::read_to_string(&out_gbk).unwrap(), delivered);
    let wrong = deidentify(&gbk, &dir.path().join("wrong.csv"), &[]);
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success() && err.contains("line 1") && err.contains("--encoding gbk"), "{err}");
    assert!(!dir.path().join("wrong.csv").exists());
}

#[test]
fn binary_files_and_ragged_rows_answer_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let binary = dir.path().join("image.csv");
    std::fs::write(&binary, b"a,b\n1,2\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").unwrap();
    let o = deidentify(&binary, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("line 5") && err.contains("binary") && err.contains("[binary_input]"), "{err}");
    assert!(!out.exists());

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "姓名,手机\n张伟,13812345678\n李娜,13912345678,多余\n王芳,13712345678\n").unwrap();
    let o = deidentify(&ragged, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("line 3") && err.contains("ragged_row") && err.contains("nothing was written"), "{err}");
    assert!(!out.exists());
    let v = report(&deidentify(&ragged, &out, &["--skip-malformed"]));
    assert_eq!(v["problems"][0]["line"], 3);
    assert_eq!((v["report"]["rows_out"].as_u64(), v["report"]["rows_malformed"].as_u64()), (Some(2), Some(1)));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "姓名,手机\r\n张*,138****5678\r\n王*,137****5678\r\n");
}

#[test]
fn core_data_is_never_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "a\n1\n").unwrap();
    let out = Command::new(BIN)
        .args([
            "data",
            "deidentify",
            "--input",
            input.to_str().unwrap(),
            "--out",
            dir.path().join("o.csv").to_str().unwrap(),
            "--grade",
            "core",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not_deliverable"), "{err}");
}

#[test]
fn a_policy_file_configures_a_sub_level() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).args(["data", "policy", "--grade", "general-2"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut policy: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(policy["actions"]["mobile"], "mask");
    policy["actions"]["mobile"] = "redact".into();
    let policy_file = dir.path().join("policy.json");
    std::fs::write(&policy_file, policy.to_string()).unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "手机\n13812345678\n").unwrap();
    let out_file = dir.path().join("out.csv");
    report(&deidentify(&input, &out_file, &["--policy", policy_file.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "手机\r\n[手机号]\r\n");
    // A policy that keeps a person's identifier is refused.
    policy["actions"]["mobile"] = "keep".into();
    std::fs::write(&policy_file, policy.to_string()).unwrap();
    let o = deidentify(&input, &out_file, &["--policy", policy_file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("invalid_policy"), "{err}");
}
