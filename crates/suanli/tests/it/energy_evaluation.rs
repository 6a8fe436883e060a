//! The centres' evaluation that pages take (`Energy::evaluation_recent`): the same one while the energy book and the loads are unchanged and it is under a minute old; made again after readings arrive, or a minute on.

use crate::energy::{day_of_readings, new_centre, now_ms};
use crate::harness::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use suanli_energy::Assessment;

const DAY: i64 = 86_400_000;

#[tokio::test]
async fn the_evaluation_kept_for_pages_is_made_again_when_the_book_changes_or_a_minute_passes() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let (energy, regions) = (&s.state.energy, &s.state.regions);
    // Into the book as the energy page puts it there (a centre joins it with its first readings or a city-wide view).
    energy.sync_centres().await.unwrap();
    let t0 = s.state.ids.now_ms();
    // Kept while the book is unchanged (the demo's meters report once a minute of wall time: a
    // pair of views with a report between them is tried again).
    let mut kept = None;
    for i in 0..20 {
        let revision = energy.read().await.revision();
        let (a, b) = (energy.evaluation_recent(regions, t0 + i).await, energy.evaluation_recent(regions, t0 + i + 1).await);
        if energy.read().await.revision() == revision {
            assert!(Arc::ptr_eq(&a, &b), "the same evaluation while the book is unchanged");
            kept = Some(a);
            break;
        }
    }
    let first = kept.expect("two views with no report between them");
    assert!(first.iter().any(|a| a.dc.as_str() == centre), "the new centre is evaluated");

    // A day of readings for the new centre: the next view evaluates again.
    let d0 = (now_ms() / DAY - 3) * DAY;
    let (st, v) = s.as_role("provider").post("/api/v1/energy/readings", &json!({"readings": day_of_readings(&centre, d0)})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let after = energy.evaluation_recent(regions, t0 + 100).await;
    assert!(!Arc::ptr_eq(&first, &after), "made again after readings");
    let theirs = |e: &[Assessment]| e.iter().find(|a| a.dc.as_str() == centre).cloned().unwrap();
    assert_ne!(theirs(&first).kpis, theirs(&after).kpis, "the readings count: {:?}", theirs(&after).kpis);

    // A minute on, another one, even with the book unchanged.
    let later = energy.evaluation_recent(regions, t0 + 100 + 60_000).await;
    assert!(!Arc::ptr_eq(&after, &later), "made again a minute on");
}
