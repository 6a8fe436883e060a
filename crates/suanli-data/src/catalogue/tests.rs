//! Tests of the catalogue's rules: uploads refused by line, projections, the request's life.

use super::*;
use crate::kind::Kind;

fn spec() -> DataSetSpec {
    DataSetSpec {
        name: "hz-bus-cards".into(),
        title: "杭州公交刷卡记录".into(),
        title_en: Some("Hangzhou bus card taps".into()),
        description: String::new(),
        domain: "traffic".into(),
        mode: OpeningMode::Conditional,
        grade: Grade::General { level: 2 },
        licence: "CC BY 4.0".into(),
        update_frequency: UpdateFrequency::Daily,
        price: Fen(50_000),
        quasi: vec![],
    }
}

#[test]
fn a_spec_is_checked_field_by_field() {
    assert!(spec().validate().is_ok());
    let mut s = spec();
    s.name = "Bus Cards".into();
    assert_eq!(s.validate().unwrap_err().code, ErrorCode::InvalidDataSet);
    let mut s = spec();
    s.domain = "space".into();
    assert!(s.validate().unwrap_err().message.contains("traffic"));
    let mut s = spec();
    s.price = Fen(-1);
    assert!(s.validate().is_err());
    let mut s = spec();
    s.grade = Grade::Core;
    assert!(s.validate().is_ok(), "core data may be listed");
    assert_eq!(s.requestable().unwrap_err().code, ErrorCode::NotDeliverable);
    let mut s = spec();
    s.mode = OpeningMode::NotOpen;
    assert_eq!(s.requestable().unwrap_err().code, ErrorCode::NotDeliverable);
}

#[test]
fn an_upload_with_a_bad_row_is_refused_with_its_line_and_gbk_is_read_as_utf8() {
    let ragged = "姓名,手机\n张伟,13800138000\n李娜\n王芳,13900139000,多\n";
    let e = read_upload(ragged.as_bytes(), Format::Csv, Encoding::Utf8, Limits::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::MalformedData);
    assert!(e.message.starts_with("2 malformed"), "{}", e.message);
    assert!(e.message.contains("line 3") && e.message.contains("line 4"), "{}", e.message);
    let binary = b"a,b\n1,\0\n";
    assert!(read_upload(binary, Format::Csv, Encoding::Utf8, Limits::default()).unwrap_err().message.contains("binary_input"));
    let (gbk, _, _) = encoding_rs::GBK.encode("姓名,城市\n张伟,杭州\n");
    let c = read_upload(&gbk, Format::Csv, Encoding::Gbk, Limits::default()).unwrap();
    assert_eq!((c.columns.clone(), c.rows), (vec!["姓名".to_string(), "城市".into()], 1));
    assert_eq!(String::from_utf8(c.bytes).unwrap(), "姓名,城市\r\n张伟,杭州\r\n");
    let e = read_upload(&gbk, Format::Csv, Encoding::Utf8, Limits::default()).unwrap_err();
    assert!(e.message.contains("invalid_encoding"), "{}", e.message);
    let jl = b"{\"a\":1}\n[1]\n{\"b\":\"x\"}\n";
    assert!(read_upload(jl, Format::JsonLines, Encoding::Utf8, Limits::default()).unwrap_err().message.contains("line 2"));
    assert_eq!(read_upload(b"a,b\n", Format::Csv, Encoding::Utf8, Limits::default()).unwrap_err().code, ErrorCode::InvalidDataSet);
}

#[test]
fn a_projection_keeps_only_the_asked_fields_in_their_order() {
    let c = read_upload("a,b,c\n1,2,3\n4,5,6\n".as_bytes(), Format::Csv, Encoding::Utf8, Limits::default()).unwrap();
    let p = project(&c.bytes, Format::Csv, &["c".into(), "a".into()], None).unwrap();
    assert_eq!(String::from_utf8(p).unwrap(), "c,a\r\n3,1\r\n6,4\r\n");
    let p = project(&c.bytes, Format::Csv, &["b".into()], Some(1)).unwrap();
    assert_eq!(String::from_utf8(p).unwrap(), "b\r\n2\r\n");
    assert_eq!(project(&c.bytes, Format::Csv, &["z".into()], None).unwrap_err().code, ErrorCode::InvalidDataRequest);
    let j = read_upload(b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2}\n", Format::JsonLines, Encoding::Utf8, Limits::default()).unwrap();
    assert_eq!(j.columns, vec!["a".to_string(), "b".into()]);
    let p = project(&j.bytes, Format::JsonLines, &["b".into()], None).unwrap();
    assert_eq!(String::from_utf8(p).unwrap(), "{\"b\":\"x\"}\n{}\n");
}

#[test]
fn a_profile_tags_columns_from_their_values() {
    let mut s = String::from("name,phone,city\n");
    for i in 0..20 {
        s.push_str(&format!("张{},1380013{:04},杭州\n", ["伟", "娜", "芳", "敏"][i % 4], i));
    }
    let c = read_upload(s.as_bytes(), Format::Csv, Encoding::Utf8, Limits::default()).unwrap();
    let p = profile(&c.bytes, Format::Csv, &c.columns);
    assert_eq!(p[1].kind, Some(Kind::Mobile));
    assert_eq!(p[0].kind, Some(Kind::Name));
}

#[test]
fn important_data_needs_the_supplier_then_the_operator() {
    use RequestState::*;
    let imp = Grade::Important;
    let general = Grade::General { level: 1 };
    assert_eq!(decide(AwaitingSupplier, imp, Decider::Supplier, true).unwrap(), AwaitingOperator);
    assert_eq!(decide(AwaitingOperator, imp, Decider::Operator, true).unwrap(), Delivered);
    assert_eq!(decide(AwaitingSupplier, general, Decider::Supplier, true).unwrap(), Delivered);
    assert_eq!(decide(AwaitingSupplier, general, Decider::Supplier, false).unwrap(), Rejected);
    assert_eq!(decide(AwaitingSupplier, imp, Decider::Operator, true).unwrap_err().code, ErrorCode::DataRequestDecided);
    assert_eq!(decide(Delivered, general, Decider::Supplier, false).unwrap_err().code, ErrorCode::DataRequestDecided);
    assert_eq!(first_state(OpeningMode::Unconditional), Delivered);
    for s in [AwaitingSupplier, AwaitingOperator, Delivered, Rejected, Expired] {
        assert_eq!(RequestState::parse(s.as_str()), Some(s));
    }
}

#[test]
fn a_request_names_known_fields_once_within_a_period() {
    let cols = vec!["a".to_string(), "b".into()];
    let day = 86_400_000;
    let ok = RequestSpec { purpose: "交通规划研究".into(), fields: vec!["a".into()], from_ms: 0, to_ms: 30 * day };
    assert!(ok.validate(&cols, day).is_ok());
    for bad in [
        RequestSpec { purpose: "x".into(), ..ok.clone() },
        RequestSpec { fields: vec![], ..ok.clone() },
        RequestSpec { fields: vec!["z".into()], ..ok.clone() },
        RequestSpec { fields: vec!["a".into(), "a".into()], ..ok.clone() },
        RequestSpec { to_ms: 400 * day, ..ok.clone() },
        RequestSpec { to_ms: 0, ..ok.clone() },
    ] {
        assert_eq!(bad.validate(&cols, day).unwrap_err().code, ErrorCode::InvalidDataRequest, "{bad:?}");
    }
    assert!(ok.validate(&cols, 31 * day).is_err(), "an ended period");
}

#[test]
fn consumers_get_different_pseudonym_keys_from_one_secret() {
    let (a, b) = (consumer_key(b"s", "tnt_a"), consumer_key(b"s", "tnt_b"));
    assert_eq!(a.hmac(b"x"), consumer_key(b"s", "tnt_a").hmac(b"x"));
    assert_ne!(a.hmac(b"x"), b.hmac(b"x"));
}

#[test]
fn an_open_request_expires_at_the_end_of_its_window() {
    let r = DataRequest {
        id: suanli_core::id::DataRequestId::generate(1, 1),
        data_set_id: suanli_core::id::DataSetId::generate(1, 2),
        tenant_id: suanli_core::id::TenantId::generate(1, 3),
        supplier_id: suanli_core::id::ProviderId::generate(1, 4),
        spec: RequestSpec { purpose: "研究".into(), fields: vec!["a".into()], from_ms: 0, to_ms: 10 },
        state: RequestState::AwaitingSupplier,
        fee: Fen(100),
        voucher: Fen::ZERO,
        cash: Fen(100),
        programme_id: None,
        decisions: vec![],
        created_ms: 0,
        expires_ms: 1000,
        updated_ms: 0,
    };
    assert_eq!(r.state_at(999), RequestState::AwaitingSupplier);
    assert_eq!(r.state_at(1000), RequestState::Expired);
    let done = DataRequest { state: RequestState::Delivered, ..r };
    assert_eq!(done.state_at(5000), RequestState::Delivered, "a decided request never expires");
}
