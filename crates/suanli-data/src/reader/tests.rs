//! Reader tests: quoting, encodings, and every kind of bad input answered with its line number.

use super::*;

fn csv(input: &[u8], enc: Encoding, limits: Limits) -> (Vec<String>, Vec<Result<Record, DataError>>) {
    let mut r = CsvReader::new(input, enc, limits);
    let header = r.header().unwrap();
    (header, r.collect())
}

fn ok(items: &[Result<Record, DataError>]) -> Vec<(u64, Vec<&str>)> {
    items.iter().filter_map(|r| r.as_ref().ok()).map(|r| (r.line, r.fields.iter().map(String::as_str).collect())).collect()
}

fn errors(items: &[Result<Record, DataError>]) -> Vec<(u64, &'static str)> {
    items
        .iter()
        .filter_map(|r| match r {
            Err(DataError::Row { line, kind, .. }) => Some((*line, kind.as_str())),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc4180_quoting_and_line_numbers() {
    let input = "\u{feff}姓名,备注\r\n张伟,\"他说 \"\"你好\"\", 再见\"\r\n李娜,\"两行\n的备注\"\n\n王芳,完\n";
    let (header, items) = csv(input.as_bytes(), Encoding::Utf8, Limits::default());
    assert_eq!(header, vec!["姓名", "备注"]);
    assert_eq!(ok(&items), vec![(2, vec!["张伟", "他说 \"你好\", 再见"]), (3, vec!["李娜", "两行\n的备注"]), (6, vec!["王芳", "完"])]);
}

#[test]
fn gbk_and_gb18030_decode() {
    let (gbk, _, bad) = encoding_rs::GBK.encode("姓名,手机\n张伟,13812345678\n");
    assert!(!bad);
    let (header, items) = csv(&gbk, Encoding::Gbk, Limits::default());
    assert_eq!(header, vec!["姓名", "手机"]);
    assert_eq!(ok(&items), vec![(2, vec!["张伟", "13812345678"])]);
    let (gb, _, _) = encoding_rs::GB18030.encode("a\n𠀀\n");
    let (_, items) = csv(&gb, Encoding::Gb18030, Limits::default());
    assert_eq!(ok(&items), vec![(2, vec!["𠀀"])]);
    // GBK read as UTF-8 names the line and the remedy.
    let mut r = CsvReader::new(&gbk[..], Encoding::Utf8, Limits::default());
    let e = r.header().unwrap_err();
    assert!(e.to_string().contains("line 1") && e.to_string().contains("--encoding gbk"), "{e}");
}

#[test]
fn bad_rows_are_reported_with_their_lines() {
    let limits = Limits { max_field_bytes: 10, max_record_bytes: 40 };
    let long_record = format!("{},{}", "a".repeat(30), "b".repeat(30));
    let mut bytes = format!("a,b\n1,2\n1,2,3\n{},x\n{long_record}\n5,6\n", "x".repeat(11)).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe,7\n8,\"open\n9,10\n");
    let (_, items) = csv(&bytes, Encoding::Utf8, limits);
    assert_eq!(ok(&items), vec![(2, vec!["1", "2"]), (6, vec!["5", "6"])]);
    assert_eq!(
        errors(&items),
        vec![(3, "ragged_row"), (4, "field_too_large"), (5, "record_too_large"), (7, "invalid_encoding"), (8, "unterminated_quote")]
    );
}

#[test]
fn binary_input_stops_reading() {
    let (_, items) = csv(b"a,b\n1,2\n\x00\x01\x02,3\n4,5\n", Encoding::Utf8, Limits::default());
    assert_eq!(errors(&items), vec![(3, "binary_input")]);
    assert_eq!(items.len(), 2, "nothing is read after binary input");
    let mut r = CsvReader::new(&b"\x7fELF\x02\x01\x00\x00"[..], Encoding::Utf8, Limits::default());
    assert_eq!(r.header().unwrap_err().code(), "binary_input");
}

#[test]
fn json_lines() {
    let input = b"{\"name\":\"\xe5\xbc\xa0\xe4\xbc\x9f\",\"n\":1}\n\n[1,2]\n{\"a\":\n{\"b\":2}\n";
    let items: Vec<_> = JsonLinesReader::new(&input[..], Encoding::Utf8, Limits::default()).collect();
    let lines: Vec<(u64, bool)> = items.iter().map(|r| r.as_ref().map_or_else(|e| (line_of(e), false), |r| (r.line, true))).collect();
    assert_eq!(lines, vec![(1, true), (3, false), (4, false), (5, true)]);
    assert_eq!(items[1].as_ref().unwrap_err().code(), "not_an_object");
    assert_eq!(items[2].as_ref().unwrap_err().code(), "malformed_json");
}

fn line_of(e: &DataError) -> u64 {
    match e {
        DataError::Row { line, .. } => *line,
        _ => 0,
    }
}

#[test]
fn csv_records_are_written_with_quotes_where_needed() {
    let mut out = Vec::new();
    write_csv_record(&["a", "b,c", "say \"hi\"", "two\nlines"], &mut out);
    assert_eq!(String::from_utf8(out).unwrap(), "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
}
