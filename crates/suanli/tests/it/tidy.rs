//! Tidy checks run as tests: file headers, the pure crates' purity, the committed OpenAPI document.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    assert!(files.len() > 20);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.starts_with("//!"), "{} must open with a //! line saying what it holds", f.display());
    }
}

#[test]
fn pure_crates_stay_pure() {
    for krate in
        ["suanli-core", "suanli-sched", "suanli-sim", "suanli-charts", "suanli-ledger", "suanli-energy", "suanli-data", "suanli-incentives"]
    {
        let manifest = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
        let deps = manifest.split("[dependencies]").nth(1).unwrap_or("").split("\n[").next().unwrap_or("");
        for banned in ["tokio", "sqlx", "axum", "reqwest", "rand"] {
            assert!(!deps.lines().any(|l| l.trim_start().starts_with(banned)), "{krate} must not depend on {banned}: it is a pure crate");
        }
        let mut files = Vec::new();
        rust_files(&root().join("crates").join(krate).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for banned in ["SystemTime::now", "Instant::now", "std::fs::", "std::net::", "thread_rng"] {
                assert!(!text.contains(banned), "{} uses {banned}: pure crates do no I/O and read no clock", f.display());
            }
        }
    }
}

/// `SUANLI_BLESS=1 cargo nextest run -E 'test(openapi)'` rewrites the committed copy.
#[test]
fn committed_openapi_matches_the_code() {
    let path = root().join("docs/openapi.json");
    let generated = suanli_server::openapi::document();
    if std::env::var_os("SUANLI_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "docs/openapi.json is stale: run SUANLI_BLESS=1 cargo nextest run -E 'test(openapi)' and commit it");
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/centres",
        "/api/v1/centres/{id}",
        "/api/v1/centres/{id}/pools",
        "/api/v1/tenants",
        "/api/v1/city/summary",
        "/healthz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}
