//! The energy tables on SQLite and PostgreSQL: meters and readings stored once, the writer's group commit, packed blocks beside the text rows of earlier stores, and WAL checkpoints off the writer.

use serde_json::json;
use suanli_core::id::CentreId;
use suanli_store::Store;

const DAY: i64 = 86_400_000;
const QUARTER: i64 = 900_000;

/// The energy tables on one store: meters registered once, readings stored once (a resent one
/// changes nothing), values exact, rows back in centre, meter and time order.
async fn energy_store_suite(store: suanli_store::Store) {
    use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Provider};
    use suanli_core::id::ProviderId;
    use suanli_energy::{MeterId, Reading, ReadingValue};
    let provider =
        Provider { id: ProviderId::generate(1, 7), name: "能耗云".into(), name_en: "Energy Cloud".into(), registration: None };
    let centre = Centre {
        id: CentreId::generate(2, 7),
        provider_id: provider.id.clone(),
        name: "测试中心".into(),
        name_en: "Test DC".into(),
        kind: CentreKind::Cloud,
        region: "hz-binjiang".into(),
        partner_status: PartnerStatus::Partner,
        commissioned_ms: 1_700_000_000_000,
        declared_pue: 1.3,
        racks: 300,
        rtt_ms: Default::default(),
        created_ms: 5,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_provider(&provider, 1).await.unwrap();
    tx.insert_centre(&centre, "system:test").await.unwrap();
    tx.commit().await.unwrap();

    let meters = suanli_energy::default_meters();
    let (f, it) = (MeterId::parse("facility").unwrap(), MeterId::parse("it").unwrap());
    let values = [0.1, 1e-7, 123_456_789.123_456_7, 1000.0, 2.5e11];
    let readings: Vec<Reading> = values
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            let ts = 1_790_000_000_000 + i as i64 * QUARTER;
            [Reading::new(&it, ts, ReadingValue::CumulativeKwh(*v)), Reading::new(&f, ts, ReadingValue::CumulativeKwh(v * 1.3))]
        })
        .collect();
    for _ in 0..2 {
        let mut tx = store.begin().await.unwrap();
        tx.upsert_energy_meters(&centre.id, &meters).await.unwrap();
        tx.insert_energy_readings(&centre.id, &readings).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(store.energy_reading_count(&centre.id).await.unwrap(), 10);
    let rows = store.energy_rows().await.unwrap();
    assert_eq!(rows.meters, meters.iter().map(|m| (centre.id.clone(), m.clone())).collect::<Vec<_>>());
    let mut want = readings.clone();
    want.sort_by(|a, b| a.meter.cmp(&b.meter).then(a.ts_ms.cmp(&b.ts_ms)));
    assert_eq!(rows.readings.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), want, "values round-trip exactly, in order");
    let between = store.energy_readings_between(&centre.id, 1_790_000_000_000 + QUARTER, 1_790_000_000_000 + 2 * QUARTER).await.unwrap();
    assert_eq!(between.len(), 4);
    group_commit_suite(&store, &centre.id, &readings).await;
    // Meters belong to registered centres.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.upsert_energy_meters(&CentreId::generate(9, 9), &meters).await.is_err(), "foreign key on centres");
}

/// The energy writer's group commit (`Store::append_energy`): encoded batches and their audit
/// records in one transaction; a commit that fails (here an audit id already stored) stores
/// none of its readings and leaves the store usable, and a later one goes through.
async fn group_commit_suite(store: &suanli_store::Store, centre: &CentreId, earlier: &[suanli_energy::Reading]) {
    use suanli_core::id::AuditId;
    use suanli_store::energy::EncodedReadings;
    let later = |k: i64| -> Vec<suanli_energy::Reading> {
        earlier.iter().map(|r| suanli_energy::Reading { ts_ms: r.ts_ms + k * DAY, ..r.clone() }).collect()
    };
    let audit = |n: u64| suanli_store::Audit {
        id: AuditId::generate(1_790_000_000_000, n),
        at_ms: 1_790_000_000_000,
        actor: "operator:test".into(),
        action: "energy.ingest".into(),
        subject: centre.to_string(),
        detail: json!({"accepted": 10, "note": "it's quoted"}),
    };
    let before = store.energy_reading_count(centre).await.unwrap();
    let (one, two) = (later(1), later(2));
    let parts = [EncodedReadings::encode(&[(centre, &one)]).unwrap(), EncodedReadings::encode(&[(centre, &two)]).unwrap()];
    let (a1, a2) = (audit(1), audit(2));
    store.append_energy(&[], &[&parts[0], &parts[1]], &[&a1, &a2]).await.unwrap();
    assert_eq!(store.energy_reading_count(centre).await.unwrap(), before + 20);
    let trail = store.audit_log(Some(centre.as_str()), 10).await.unwrap();
    assert_eq!(trail.iter().filter(|a| a.detail["note"] == "it's quoted").count(), 2, "{trail:?}");

    let three = EncodedReadings::encode(&[(centre, &later(3))]).unwrap();
    assert!(store.append_energy(&[], &[&three], &[&audit(3), &a1]).await.is_err(), "an audit id stored twice");
    assert_eq!(store.energy_reading_count(centre).await.unwrap(), before + 20, "the failed commit stored nothing");
    assert_eq!(store.audit_log(Some(centre.as_str()), 10).await.unwrap().len(), trail.len(), "nor its audit records");
    let meters = suanli_energy::default_meters();
    store.append_energy(&[(centre, &meters)], &[&three], &[&audit(3)]).await.unwrap();
    assert_eq!(store.energy_reading_count(centre).await.unwrap(), before + 30, "the store still takes commits");
}

#[tokio::test]
async fn energy_store_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    energy_store_suite(suanli_store::Store::open_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn energy_store_postgres() {
    let url = crate::harness::pg_url();
    let schema = crate::harness::unique_schema("energy");
    let store = crate::harness::pg_store(&schema).await;
    energy_store_suite(store.clone()).await;
    store.close().await;
    suanli_store::Store::drop_schema(&url, &schema).await.unwrap();
}

/// The writer's commits never checkpoint SQLite's WAL (that would stall the store's one
/// writer); the background task copies it into the database file soon after the writes.
#[tokio::test]
async fn sqlite_wal_is_checkpointed_off_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let size = || std::fs::metadata(dir.path().join("suanli.db")).unwrap().len();
    let before = size();
    let (centre, meter) = (CentreId::generate(1, 1), suanli_energy::MeterId::parse("facility").unwrap());
    for k in 0..100i64 {
        let value = |i: i64| suanli_energy::ReadingValue::CumulativeKwh(1_000.123_456_789 + (k * 2_000 + i) as f64);
        let readings: Vec<_> = (0..2_000).map(|i| suanli_energy::Reading::new(&meter, (k * 2_000 + i) * 1_000, value(i))).collect();
        store.append_energy(&[], &[&suanli_store::energy::EncodedReadings::encode(&[(&centre, &readings)]).unwrap()], &[]).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while size() < before + 1_000_000 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(size() >= before + 1_000_000, "the database file holds {} bytes, {before} before the writes", size());
    assert_eq!(store.energy_reading_total().await.unwrap(), 200_000);
}

/// A store written before migration 32 holds its readings as text (`data`, `packed` empty):
/// after the upgrade those rows and the packed rows written since read back together.
#[tokio::test]
async fn text_rows_of_an_earlier_store_read_beside_packed_ones() {
    use suanli_energy::{MeterId, Reading, ReadingValue};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("suanli.db");
    let store = Store::open_dir(dir.path()).await.unwrap();
    let (centre, it) = (CentreId::generate(1, 1), MeterId::parse("it").unwrap());
    store.close().await;
    // The database as it was at migration 31, with a batch row and a one-meter row of text.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let t0 = 1_790_000_000_000i64;
    for stmt in [
        "ALTER TABLE energy_blocks DROP COLUMN packed".to_string(),
        "DELETE FROM schema_migrations WHERE version = 32".to_string(),
        format!(
            "INSERT INTO energy_blocks (centre_id, meter, first_ms, last_ms, n, data) VALUES ('*', '*', {t0}, {}, 2, '{centre}|it|{t0}|0:1.5,1000:2.25')",
            t0 + 1_000
        ),
        format!(
            "INSERT INTO energy_blocks (centre_id, meter, first_ms, last_ms, n, data) VALUES ('{centre}', 'facility', {t0}, {t0}, 1, '0:3')"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(stmt)).execute(&raw).await.unwrap();
    }
    raw.close().await;
    let store = Store::open_dir(dir.path()).await.unwrap();
    let later = [Reading::new(&it, t0 + 2_000, ReadingValue::CumulativeKwh(0.1 + 0.2))];
    store.append_energy(&[], &[&suanli_store::energy::EncodedReadings::encode(&[(&centre, &later)]).unwrap()], &[]).await.unwrap();
    let readings = store.energy_readings_between(&centre, t0, t0 + 2_000).await.unwrap();
    let want = [("facility", t0, 3.0), ("it", t0, 1.5), ("it", t0 + 1_000, 2.25), ("it", t0 + 2_000, 0.1 + 0.2)];
    assert_eq!(readings, want.map(|(m, t, v)| (m.to_string(), t, v)));
    assert_eq!(store.energy_reading_total().await.unwrap(), 4, "every centre's rows");
}
