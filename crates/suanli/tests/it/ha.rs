//! High availability on PostgreSQL: two `suanli serve` replicas on one schema, one leader by a lease, followers refusing writes, takeover after SIGKILL and fencing after SIGSTOP.

use crate::harness::{Api, missing, pg_url, unique_schema};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use suanli_core::lease::LeaseTerms;
use suanli_store::{Fence, Store, StoreOptions};

const BIN: &str = env!("CARGO_BIN_EXE_suanli");

/// One `suanli serve --demo` replica on a PostgreSQL schema; its log kept for the test to read.
pub(crate) struct Replica {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Replica {
    fn start(dir: &Path, schema: &str, name: &str) -> Replica {
        Replica::start_at(dir, schema, name, "127.0.0.1:0")
    }

    /// A replica listening on `listen` (a fixed port, for a balancer to find it after a restart).
    pub(crate) fn start_at(dir: &Path, schema: &str, name: &str, listen: &str) -> Replica {
        Replica::start_on(dir, schema, name, listen, &pg_url())
    }

    /// A replica on the database at `database_url` (which may name a primary and its standby).
    pub(crate) fn start_on(dir: &Path, schema: &str, name: &str, listen: &str, database_url: &str) -> Replica {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                listen,
                "--demo",
                "--demo-failure-rate",
                "0",
                "--demo-energy-days",
                "0",
                "--no-stream",
                "--tick-ms",
                "50",
            ])
            .args(["--replica", name, "--pg-schema", schema, "--data-dir"])
            .arg(dir)
            .env("DATABASE_URL", database_url)
            .env("SUANLI_LOG", "warn,suanli_store::lease=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the suanli binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[replica] {line}");
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let url = crate::harness::printed_url(&mut child, Duration::from_secs(60));
        Replica { child, url, log }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn health(&self) -> Value {
        Api::new(&self.url, None).get("/healthz").await.1
    }

    pub(crate) fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.child.id().to_string()]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PostgreSQL for these tests, or `None` after [`missing`] (which fails under CI).
pub(crate) async fn postgres(test: &str, schema: &str) -> Option<Store> {
    match Store::connect(&pg_url(), StoreOptions { pg_schema: Some(schema.into()), ..Default::default() }).await {
        Ok(s) => Some(s),
        Err(e) => {
            missing(test, &format!("PostgreSQL at {} does not answer: {e}", pg_url()));
            None
        }
    }
}

pub(crate) fn tenant_token(dir: &Path) -> String {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("demo-tokens.json")).unwrap()).unwrap();
    v["tenant"].as_str().unwrap().to_string()
}

/// Waits until `r` says it leads; answers its term.
pub(crate) async fn leads_within(r: &Replica, within: Duration) -> i64 {
    let t0 = Instant::now();
    loop {
        let h = r.health().await;
        if h["leader"] == true {
            return h["term"].as_i64().unwrap();
        }
        assert!(t0.elapsed() < within, "{} does not lead within {within:?}: {h}", r.url);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn submit(r: &Replica, token: &str, name: &str) -> (reqwest::StatusCode, Value) {
    let body = json!({"name": name, "kind": "training", "accelerators": 1, "duration_s": 36_000});
    Api::new(&r.url, Some(token.into())).post("/api/v1/jobs", &body).await
}

/// Waits until job `id` leaves `pending` (placed or later), read through `r`.
async fn placed_within(r: &Replica, token: &str, id: &str, within: Duration) {
    let t0 = Instant::now();
    loop {
        let v = Api::new(&r.url, Some(token.into())).get(&format!("/api/v1/jobs/{id}")).await.1;
        if v["state"] != "pending" {
            return;
        }
        assert!(t0.elapsed() < within, "job {id} not placed within {within:?}: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn placements(store: &Store, id: &str) -> usize {
    store.audit_log(Some(id), 1000).await.unwrap().iter().filter(|a| a.action == "job.placed").count()
}

const DAY: i64 = 86_400_000;

/// A new centre of the demo provider, registered by the operator through `op`, and a day of
/// readings of its two meters three days ago ingested through `prov` (a PUE of 1.30 for that
/// day); answers the centre's id and the day's start.
async fn a_centre_with_a_day_of_readings(op: &Api, prov: &Api, name: &str, name_en: &str) -> (String, i64) {
    let provider = prov.get("/api/v1/me").await.1["provider_id"].clone();
    let (st, centre) = op
        .post(
            "/api/v1/centres",
            &json!({"provider_id": provider, "name": name, "name_en": name_en, "kind": "cloud",
            "region": "hz-qiantang", "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 200}),
        )
        .await;
    assert_eq!(st.as_u16(), 201, "{centre}");
    let centre = centre["id"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let d0 = (now / DAY - 3) * DAY;
    let readings: Vec<Value> = (0..=96i64)
        .flat_map(|k| {
            let ts = d0 + k * 900_000;
            [
                json!({"centre_id": centre, "meter": "facility", "ts_ms": ts, "kwh": 1000.0 + 1300.0 * k as f64 / 96.0}),
                json!({"centre_id": centre, "meter": "it", "ts_ms": ts, "kwh": 500.0 + 1000.0 * k as f64 / 96.0}),
            ]
        })
        .collect();
    let (st, v) = prov.post("/api/v1/energy/readings", &json!({"readings": readings})).await;
    assert_eq!((st.as_u16(), v["accepted"].as_u64()), (200, Some(194)), "{v}");
    (centre, d0)
}

/// Two replicas: exactly one leads; the follower serves reads and forwards a job to the leader
/// (but never a request forwarded once already); SIGKILL the leader and the follower takes
/// over with a higher term and places a job submitted to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_one_leader_follower_forwards_writes_takeover_after_kill() {
    let schema = unique_schema("ha_kill");
    let Some(store) = postgres("ha_one_leader_follower_forwards_writes_takeover_after_kill", &schema).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = Replica::start(dir.path(), &schema, "replica-a");
    let b = Replica::start(dir.path(), &schema, "replica-b");
    let term_a = leads_within(&a, Duration::from_secs(10)).await;
    let hb = b.health().await;
    assert_eq!(
        (hb["leader"].clone(), hb["replica"].clone(), hb["status"].clone()),
        (json!(false), json!("replica-b"), json!("ok")),
        "{hb}"
    );
    let token = tenant_token(dir.path());

    // The follower forwards a write to the leader: stored once, by the leader, and placed.
    // (Until the leader has written its address into the lease, within its first renewal, the
    // follower answers not_leader and the client retries.)
    let t0 = Instant::now();
    let (st, v) = loop {
        let (st, v) = submit(&b, &token, "to-the-follower").await;
        if st.as_u16() != 503 || t0.elapsed() > Duration::from_secs(5) {
            break (st, v);
        }
        assert_eq!(v["code"], "not_leader", "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(st.as_u16(), 201, "a follower forwards a job to the leader: {v}");
    let forwarded = v["id"].as_str().unwrap().to_string();
    placed_within(&a, &token, &forwarded, Duration::from_secs(10)).await;
    assert_eq!(placements(&store, &forwarded).await, 1);
    // A refusal of the leader comes back as the leader said it.
    let (st, v) = Api::new(&b.url, Some(token.clone())).post("/api/v1/jobs", &json!({"name": "x", "accelerators": 0})).await;
    assert_eq!((st.as_u16(), v["code"].as_str()), (422, Some("invalid_body")), "{v}");
    // A browser signed in at the follower: the sign-in form and a job's cancellation go to the
    // leader, which sees the browser's own origin and host; the pages are served by the follower.
    let web = crate::harness::Web::sign_in(&b.url, &token).await.expect("signing in through a follower");
    let r = web.post(&format!("/jobs/{forwarded}/cancel"), "reason=forwarded").await;
    assert!(r.status().is_redirection() || r.status().is_success(), "{}", r.status());
    let cancelled = Api::new(&b.url, Some(token.clone())).get(&format!("/api/v1/jobs/{forwarded}")).await.1;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");

    // A request forwarded once is never forwarded again: two replicas that each believe the
    // other leads cannot bounce it between them.
    let raw = reqwest::Client::new()
        .post(format!("{}/api/v1/jobs", b.url))
        .bearer_auth(&token)
        .header("x-suanli-forwarded-by", "replica-c")
        .json(&json!({"name": "bounced", "kind": "training", "accelerators": 1, "duration_s": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 503);
    assert_eq!(raw.headers().get("retry-after").map(|h| h.to_str().unwrap().to_string()), Some("1".into()));
    assert_eq!(raw.json::<Value>().await.unwrap()["code"], "not_leader");
    let (st, _) = Api::new(&b.url, Some(token.clone())).get("/api/v1/jobs").await;
    assert_eq!(st.as_u16(), 200, "a follower serves reads");
    let (st, v) = submit(&a, &token, "to-the-leader").await;
    assert_eq!(st.as_u16(), 201, "{v}");
    placed_within(&a, &token, v["id"].as_str().unwrap(), Duration::from_secs(10)).await;
    // A day of meter readings ingested by the leader, for a centre of its own.
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-tokens.json")).unwrap()).unwrap();
    let (op, prov) =
        (Api::new(&a.url, tokens["operator"].as_str().map(String::from)), Api::new(&a.url, tokens["provider"].as_str().map(String::from)));
    let (centre, d0) = a_centre_with_a_day_of_readings(&op, &prov, "接管测试中心", "Takeover test centre").await;
    let pue = format!("/api/v1/energy/centres/{centre}/pue?from={d0}&to={}", d0 + DAY);

    let killed = Instant::now();
    a.signal("-KILL");
    drop(a);
    let term_b = leads_within(&b, Duration::from_secs(15)).await;
    assert!(term_b > term_a, "term {term_b} after takeover, {term_a} before");
    let (st, v) = submit(&b, &token, "after-takeover").await;
    assert_eq!(st.as_u16(), 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    placed_within(&b, &token, &id, Duration::from_secs(10)).await;
    eprintln!("takeover: {:?} from SIGKILL of the leader to the placement of a job submitted to the new leader", killed.elapsed());
    assert_eq!(placements(&store, &id).await, 1);
    // The new leader rebuilt its energy book: the day the old leader ingested is there.
    let (st, p) = Api::new(&b.url, tokens["regulator"].as_str().map(String::from)).get(&pue).await;
    assert_eq!(st.as_u16(), 200, "{p}");
    assert!((p["value"].as_f64().unwrap_or(0.0) - 1.30).abs() < 1e-6, "the new leader's PUE of the old leader's readings: {p}");
    drop(b);
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}

/// SIGSTOP the leader past its lease: the follower takes over and places jobs; on SIGCONT the
/// old leader sees itself a follower, says it lost the lease, and none of its writes after the
/// takeover landed (one placement per job, the lease row the new leader's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_paused_leader_is_fenced_after_takeover() {
    let schema = unique_schema("ha_stop");
    let Some(store) = postgres("ha_paused_leader_is_fenced_after_takeover", &schema).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = Replica::start(dir.path(), &schema, "replica-a");
    let b = Replica::start(dir.path(), &schema, "replica-b");
    let term_a = leads_within(&a, Duration::from_secs(10)).await;
    let token = tenant_token(dir.path());
    let mut jobs = Vec::new();
    for i in 0..3 {
        let (st, v) = submit(&a, &token, &format!("before-{i}")).await;
        assert_eq!(st.as_u16(), 201, "{v}");
        jobs.push(v["id"].as_str().unwrap().to_string());
    }
    for id in &jobs {
        placed_within(&a, &token, id, Duration::from_secs(10)).await;
    }

    a.signal("-STOP");
    let term_b = leads_within(&b, Duration::from_secs(15)).await;
    assert!(term_b > term_a);
    for i in 0..3 {
        let (st, v) = submit(&b, &token, &format!("after-{i}")).await;
        assert_eq!(st.as_u16(), 201, "{v}");
        jobs.push(v["id"].as_str().unwrap().to_string());
    }
    a.signal("-CONT");
    for id in &jobs[3..] {
        placed_within(&b, &token, id, Duration::from_secs(10)).await;
    }
    // Give the old leader a few of its ticks and a renewal to act on what it believed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ha = a.health().await;
    assert_eq!(ha["leader"], false, "{ha}");
    assert!(ha["term"].as_i64().unwrap() < term_b, "{ha}");
    assert!(b.health().await["leader"] == true);
    assert!(a.log().contains("lost the lease"), "the old leader logs that it lost the lease:\n{}", a.log());
    let (holder, term, _) = store.lease_row().await.unwrap().unwrap();
    assert_eq!((holder.as_str(), term), ("replica-b", term_b));
    for id in &jobs {
        assert_eq!(placements(&store, id).await, 1, "job {id} placed once");
    }
    // The old leader, a follower now, forwards a write to the new leader.
    let (st, v) = submit(&a, &token, "to-the-old-leader").await;
    assert_eq!(st.as_u16(), 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    placed_within(&b, &token, &id, Duration::from_secs(10)).await;
    assert_eq!(placements(&store, &id).await, 1);
    drop((a, b));
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}

/// The database refuses a write of an old term even when its replica still believes it leads
/// (as after a pause its own clock did not notice): the lease row no longer carries its term.
#[tokio::test]
async fn ha_store_refuses_a_write_from_an_older_term() {
    let schema = unique_schema("ha_fence");
    let Some(store) = postgres("ha_store_refuses_a_write_from_an_older_term", &schema).await else { return };
    let terms = LeaseTerms { lease_ms: 60_000, renew_ms: 1_000 };
    let old = Arc::new(Fence::new("old", terms));
    assert!(store.lease_attempt(&old).await);
    let new = Arc::new(Fence::new("new", terms));
    assert!(!store.lease_attempt(&new).await, "a held lease is not taken");
    store.fenced(old.clone()).begin().await.expect("the holder writes").commit().await.unwrap();
    // The old holder's lease ends by the database's clock while it still believes it leads.
    store.lease_release(&Fence::new("old", terms)).await.unwrap();
    assert!(old.leads());
    assert!(store.lease_attempt(&new).await);
    assert_eq!(new.term(), old.term() + 1);
    let refused = store.fenced(old.clone()).begin().await.err().expect("the old term is refused");
    assert!(matches!(&refused, suanli_store::StoreError::Domain(e) if e.code == suanli_core::ErrorCode::NotLeader), "{refused}");
    store.fenced(new.clone()).begin().await.expect("the new holder writes").commit().await.unwrap();
    assert!(store.lease_attempt(&new).await, "the holder renews");
    assert_eq!(store.lease_row().await.unwrap().map(|r| (r.0, r.1)), Some(("new".into(), new.term())));
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}

/// The holder renews its lease while its own writes are open (they lock the lease row FOR KEY
/// SHARE, which a renewal, a later expiry under the same term, does not wait for), while a new
/// holder's takeover, a new term, waits for them to end.
#[tokio::test]
async fn ha_a_renewal_does_not_wait_for_open_writes_and_a_takeover_does() {
    let schema = unique_schema("ha_renew");
    let Some(store) = postgres("ha_a_renewal_does_not_wait_for_open_writes_and_a_takeover_does", &schema).await else { return };
    let terms = LeaseTerms { lease_ms: 60_000, renew_ms: 1_000 };
    let old = Arc::new(Fence::new("old", terms));
    assert!(store.lease_attempt(&old).await);
    let fenced = store.fenced(old.clone());
    let open = fenced.begin().await.expect("the holder writes");
    let renewed = tokio::time::timeout(Duration::from_secs(30), store.lease_attempt(&old)).await;
    assert_eq!(renewed.ok(), Some(true), "the renewal waited for the holder's own open write");
    let term = old.term();

    // The lease lapses; a new holder's takeover waits for the write begun under the old term.
    store.lease_release(&Fence::new("old", terms)).await.unwrap();
    let new = Arc::new(Fence::new("new", terms));
    let takeover = tokio::spawn({
        let (store, new) = (store.clone(), new.clone());
        async move { store.lease_attempt(&new).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!takeover.is_finished(), "the lease changed hands while a write of its old term was open");
    open.commit().await.unwrap();
    assert!(takeover.await.unwrap());
    assert_eq!(new.term(), term + 1);
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}

/// A GET through `r` with `token`: the answer, and the replica that says it answered.
async fn read_at(r: &Replica, token: &str, path: &str) -> (u16, Value, String) {
    let resp = reqwest::Client::new().get(format!("{}{path}", r.url)).bearer_auth(token).send().await.unwrap();
    let by = resp.headers().get("x-suanli-replica").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null), by)
}

/// Waits until the follower `b` answers `path` itself with what the leader `a` answers (as
/// `same` judges); answers how long that took.
async fn follower_agrees(a: &Replica, b: &Replica, token: &str, path: &str, same: impl Fn(&Value, &Value) -> bool) -> Duration {
    let t0 = Instant::now();
    loop {
        let (sa, va, by_a) = read_at(a, token, path).await;
        let (sb, vb, by_b) = read_at(b, token, path).await;
        assert_eq!((sa, sb), (200, 200), "{path}: leader {va}, follower {vb}");
        assert_eq!((by_a.as_str(), by_b.as_str()), ("replica-a", "replica-b"), "{path}: each replica answers a read itself");
        if same(&va, &vb) {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "{path}: the follower does not catch up:\nleader   {va}\nfollower {vb}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Answers alike but for the window they were computed over, which ends at each replica's now.
fn same_but_now(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "from_ms" | "to_ms" | "as_of_ms" | "at_ms" | "silent_for_ms"))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(xs) => Value::Array(xs.iter().map(strip).collect()),
            x => x.clone(),
        }
    }
    strip(a) == strip(b)
}

/// Fair-share accounts alike: the same tenants, each within a millionth (the two replicas decay
/// them to their own instants).
fn same_account(a: &Value, b: &Value) -> bool {
    let rows = |v: &Value| -> Vec<(String, f64)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["tenant_id"].as_str().unwrap().to_string(), r["pflop_s"].as_f64().unwrap()))
            .collect()
    };
    let (ra, rb) = (rows(a), rows(b));
    !ra.is_empty()
        && ra.len() == rb.len()
        && ra.iter().zip(&rb).all(|((ta, xa), (tb, xb))| ta == tb && (xa - xb).abs() <= 1e-6 * xa.abs().max(1.0))
}

/// Two replicas: the follower answers reads itself, from the store and from books it replays
/// from PostgreSQL (the energy book from the reading blocks the leader commits, rebuilt when
/// meters change; the fair-share account from the runs that ended), and they agree with the
/// leader's; it relays writes and the leader's own reads (agents) to the leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_followers_answer_reads_from_books_replayed_from_postgresql() {
    let schema = unique_schema("ha_reads");
    let Some(store) = postgres("ha_followers_answer_reads_from_books_replayed_from_postgresql", &schema).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = Replica::start(dir.path(), &schema, "replica-a");
    let b = Replica::start(dir.path(), &schema, "replica-b");
    leads_within(&a, Duration::from_secs(10)).await;
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-tokens.json")).unwrap()).unwrap();
    let token = |role: &str| tokens[role].as_str().unwrap().to_string();
    let (tenant, op, prov) =
        (Api::new(&a.url, Some(token("tenant"))), Api::new(&a.url, Some(token("operator"))), Api::new(&a.url, Some(token("provider"))));

    // Runs that end, charged to the tenant's fair share by the leader.
    let mut jobs = Vec::new();
    for i in 0..3 {
        let (st, v) = tenant
            .post("/api/v1/jobs", &json!({"name": format!("short-{i}"), "kind": "training", "accelerators": 8, "duration_s": 2}))
            .await;
        assert_eq!(st.as_u16(), 201, "{v}");
        jobs.push(v["id"].as_str().unwrap().to_string());
    }
    for id in &jobs {
        let v = crate::harness::wait_for_final(&tenant, id, Duration::from_secs(60)).await;
        assert_eq!(v["state"], "succeeded", "{v}");
    }
    // A day of readings of a new centre, ingested by the leader.
    let (centre, d0) = a_centre_with_a_day_of_readings(&op, &prov, "跟随者读测试中心", "Follower reads centre").await;
    let reg = token("regulator");
    let pue = format!("/api/v1/energy/centres/{centre}/pue?from={d0}&to={}", d0 + DAY);
    let lag = follower_agrees(&a, &b, &reg, &pue, |x, y| x == y && x["value"].as_f64().is_some()).await;
    eprintln!("follower reads: a day of readings on the follower's book {lag:?} after the leader acknowledged it");
    let (_, p, _) = read_at(&b, &reg, &pue).await;
    assert!((p["value"].as_f64().unwrap() - 1.30).abs() < 1e-6, "the follower's PUE: {p}");
    for path in ["/api/v1/energy/coverage", "/api/v1/energy/alerts", &format!("/api/v1/energy/centres/{centre}/meters")] {
        follower_agrees(&a, &b, &reg, path, same_but_now).await;
    }
    // The evaluation of the new centre (the others' move with the demo's telemetry, and every
    // centre's age with the clock): its PUE, grade and policy outcome.
    let judged = |v: &Value| -> Value {
        let ours = v["assessments"].as_array().unwrap().iter().find(|x| x["dc"] == centre.as_str()).cloned().unwrap_or(Value::Null);
        json!([ours["kpis"]["pue"], ours["grading"], ours["policy"]])
    };
    follower_agrees(&a, &b, &reg, "/api/v1/energy/evaluation", |x, y| judged(x) == judged(y) && judged(x)[0] != Value::Null).await;
    for path in ["/api/v1/jobs?limit=20", &format!("/api/v1/jobs/{}", jobs[0]), "/api/v1/city/summary"] {
        follower_agrees(&a, &b, &reg, path, same_but_now).await;
    }
    let lag = follower_agrees(&a, &b, &reg, "/api/v1/fair-share", same_account).await;
    eprintln!("follower reads: the fair-share account agreed within {lag:?} of the first comparison");

    // A meter added by the leader: the follower's book is rebuilt with it.
    let meters = json!({"meters": [
        {"id": "facility", "kind": "facility_total", "unit": "cumulative_kwh"},
        {"id": "it", "kind": "it", "point": "pdu_output", "unit": "cumulative_kwh"},
        {"id": "chiller", "kind": "cooling", "unit": "cumulative_kwh"}]});
    let (st, v) = prov.post(&format!("/api/v1/energy/centres/{centre}/meters"), &meters).await;
    assert_eq!(st.as_u16(), 200, "{v}");
    let lag = follower_agrees(&a, &b, &reg, &format!("/api/v1/energy/centres/{centre}/meters"), |x, y| {
        x == y && x.to_string().contains("chiller")
    })
    .await;
    eprintln!("follower reads: a new meter on the follower's book {lag:?} after the leader stored it");
    follower_agrees(&a, &b, &reg, &pue, |x, y| x == y).await;

    // A quote changes nothing: the follower gives it; writes and the agents' reads go to the leader.
    let quote = json!({"name": "q", "kind": "training", "accelerators": 8, "duration_s": 3600});
    let resp =
        reqwest::Client::new().post(format!("{}/api/v1/quotes", b.url)).bearer_auth(token("tenant")).json(&quote).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-suanli-replica"], "replica-b", "a follower quotes");
    let resp =
        reqwest::Client::new().post(format!("{}/api/v1/jobs", b.url)).bearer_auth(token("tenant")).json(&quote).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.headers()["x-suanli-replica"], "replica-a", "a write is the leader's");
    let (st, _, by) = read_at(&b, &token("operator"), "/api/v1/agents").await;
    assert_eq!((st, by.as_str()), (200, "replica-a"), "the agents' sessions are the leader's");
    drop((a, b));
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}
