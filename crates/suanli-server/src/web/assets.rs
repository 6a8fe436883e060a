//! The web UI's scripts, served by this server under addresses that change with their content (so browsers keep them for a year): `suanli.js` on every page, and on pages with charts over time Apache ECharts with `charts.js`, which redraws those charts with it.
//!
//! ECharts comes from npm (`web/package.json`, installed by `npm ci --prefix web`); `build.rs`
//! embeds its `dist/echarts.min.js` when it is installed and builds without it otherwise, and
//! then pages keep their server-rendered SVG charts only. Nothing is fetched at run time.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Tables swapped in place and live pages (`assets/suanli.js`).
const SCRIPT: &str = include_str!("assets/suanli.js");
/// Charts over time redrawn with ECharts (`assets/charts.js`).
const CHARTS: &str = include_str!("assets/charts.js");

/// ECharts as `build.rs` found it: a hash of the file, and the file.
struct Library {
    hash: u64,
    body: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/echarts.rs"));

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

const SCRIPT_VERSION: u64 = fnv1a(SCRIPT.as_bytes());
const CHARTS_VERSION: u64 = fnv1a(CHARTS.as_bytes());

/// Whether this server was built with ECharts (pages then draw their charts over time with it).
pub fn interactive_charts() -> bool {
    ECHARTS.is_some()
}

/// The `<script>` tags of a page: suanli.js always; ECharts and charts.js (deferred, in that
/// order) only when the page has a chart's data and the server embeds ECharts.
pub fn script_tags(body: &str) -> String {
    let mut tags = String::new();
    if let Some(lib) = ECHARTS
        && body.contains(super::charts::DATA_CLASS)
    {
        tags.push_str(&format!(
            r#"<script src="/assets/echarts.min.js?v={:016x}" defer></script><script src="/assets/charts.js?v={CHARTS_VERSION:016x}" defer></script>"#,
            lib.hash
        ));
    }
    tags.push_str(&format!(r#"<script src="/assets/suanli.js?v={SCRIPT_VERSION:016x}" defer></script>"#));
    tags
}

/// A script with long cache headers (its address changes with its content).
fn script_response(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /assets/suanli.js`: the web UI's script (no session needed: it holds no data).
pub async fn script() -> Response {
    script_response(SCRIPT)
}

/// `GET /assets/charts.js`: the script that redraws charts over time with ECharts.
pub async fn charts_script() -> Response {
    script_response(CHARTS)
}

/// `GET /assets/echarts.min.js`: Apache ECharts as embedded at build time; 404 when the server
/// was built without it.
pub async fn echarts() -> Response {
    match ECHARTS {
        Some(lib) => script_response(lib.body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
