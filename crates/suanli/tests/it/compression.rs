//! Compression: the web UI's pages, CSVs and scripts and the JSON API answer gzip or brotli when the client asks (and decode to exactly the uncompressed bytes), identity when it does not or the body is small; the model gateway's `/v1`, its event stream above all, and `/metrics` never.

use crate::gateway::{key, model, sim};
use crate::harness::{TestServer, Web};
use futures_util::StreamExt;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, VARY};
use serde_json::json;
use std::io::Read;

/// What a GET answered: its headers and its body as sent (still compressed).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn encoding(&self) -> Option<&str> {
        self.headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap())
    }

    /// The body decoded by its `Content-Encoding`.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.encoding() {
            None => out.clone_from(&self.body),
            Some("gzip") => drop(flate2::read::GzDecoder::new(&self.body[..]).read_to_end(&mut out).unwrap()),
            Some("br") => drop(brotli::Decompressor::new(&self.body[..], 4096).read_to_end(&mut out).unwrap()),
            Some(other) => panic!("an encoding not asked for: {other}"),
        }
        out
    }
}

/// GETs `path` with a session's cookie (or a bearer token) and `Accept-Encoding: accept` (none when empty).
async fn get(http: &reqwest::Client, url: &str, auth: (&str, &str), path: &str, accept: &str) -> Answer {
    let mut r = http.get(format!("{url}{path}")).header(auth.0, auth.1);
    if !accept.is_empty() {
        r = r.header(ACCEPT_ENCODING, accept);
    }
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    Answer { status, headers, body: r.bytes().await.unwrap().to_vec() }
}

/// `path` asked for with gzip and with brotli is compressed with the one asked for, says that its
/// answer varies with `Accept-Encoding`, is smaller, and decodes to the bytes of the answer without
/// compression (asked again once when the demo's data moved in between).
async fn compressed_alike(http: &reqwest::Client, url: &str, auth: (&str, &str), path: &str) -> Answer {
    let mut plain = get(http, url, auth, path, "").await;
    assert_eq!((plain.status, plain.encoding()), (200, None), "{path}: identity when not asked");
    for (accept, encoding) in [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br")] {
        let mut tries = 0;
        loop {
            let packed = get(http, url, auth, path, accept).await;
            assert_eq!((packed.status, packed.encoding()), (200, Some(encoding)), "{path} with Accept-Encoding: {accept}");
            assert!(packed.headers[VARY].to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"), "{path}: Vary");
            assert_eq!(packed.headers.get(CACHE_CONTROL), plain.headers.get(CACHE_CONTROL), "{path}: the same caching");
            assert!(packed.body.len() < plain.body.len(), "{path}: {} bytes as {encoding}, {} plain", packed.body.len(), plain.body.len());
            if packed.decoded() == plain.body {
                break;
            }
            tries += 1;
            assert!(tries < 3, "{path} as {encoding} does not decode to the plain answer");
            plain = get(http, url, auth, path, "").await;
        }
    }
    plain
}

#[tokio::test]
async fn pages_csvs_scripts_and_the_api_are_compressed_when_asked_and_decode_to_the_same_bytes() {
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let http = reqwest::Client::new();
    let cookie = ("cookie", web.cookie.as_str());
    let bearer = format!("Bearer {}", s.tokens["operator"]);
    let token = ("authorization", bearer.as_str());
    // A page in each language, a table's CSV, the server's scripts, ECharts where it is embedded.
    for path in ["/api?lang=en", "/api", "/centres?lang=en", "/centres?format=csv&table=t1", "/assets/suanli.js", "/assets/charts.js"] {
        compressed_alike(&http, &s.url, cookie, path).await;
    }
    if suanli_server::web::interactive_charts() {
        let lib = compressed_alike(&http, &s.url, cookie, "/assets/echarts.min.js").await;
        assert_eq!(lib.headers[CACHE_CONTROL], "public, max-age=31536000, immutable");
        let br = get(&http, &s.url, cookie, "/assets/echarts.min.js", "br").await;
        assert!(br.body.len() * 2 < lib.body.len(), "ECharts: {} bytes as brotli, {} plain", br.body.len(), lib.body.len());
    }
    // The JSON API, by token.
    for path in ["/api/v1/openapi.json", "/api/v1/centres", "/api/v1/accelerators"] {
        compressed_alike(&http, &s.url, token, path).await;
    }
    // A small answer goes as it is; so do /healthz and /metrics, whatever their size.
    for path in ["/api/v1/me", "/healthz", "/metrics"] {
        let a = get(&http, &s.url, token, path, "gzip, br").await;
        assert_eq!(a.encoding(), None, "{path} ({} bytes, status {})", a.body.len(), a.status);
    }
}

#[tokio::test]
async fn the_model_gateway_is_never_compressed_and_its_event_stream_comes_event_by_event() {
    let ts = TestServer::start().await;
    let up = sim(1, 40).await;
    model(&ts, "z-chat", &["chat"], 4096, &[&up], ("2.00", "8.00")).await;
    let (_, secret) = key(&ts, json!({"name": "k", "budget": "10.00"})).await;
    let http = reqwest::Client::new();
    let ask = |stream: bool| {
        http.post(format!("{}/v1/chat/completions", ts.url))
            .bearer_auth(&secret)
            .header(ACCEPT_ENCODING, "gzip, br")
            .json(&json!({"model": "z-chat", "stream": stream, "messages": [{"role": "user", "content": "你好"}], "max_tokens": 12}))
            .send()
    };
    let r = ask(true).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(r.headers().get(CONTENT_ENCODING), None, "an event stream is never compressed");
    // Each token's event arrives as the upstream sends it, readable on its own.
    let mut chunks = Vec::new();
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        chunks.push(String::from_utf8(chunk.unwrap().to_vec()).expect("plain text, chunk by chunk"));
    }
    assert!(chunks.len() >= 6, "the events came in {} chunks: {chunks:?}", chunks.len());
    assert!(chunks[0].starts_with("data: {"), "{:?}", chunks[0]);
    assert!(chunks.concat().ends_with("data: [DONE]\n\n"));
    let r = ask(false).await.unwrap();
    assert_eq!((r.status(), r.headers().get(CONTENT_ENCODING)), (reqwest::StatusCode::OK, None));
    let r = http.get(format!("{}/v1/models", ts.url)).bearer_auth(&secret).header(ACCEPT_ENCODING, "gzip, br").send().await.unwrap();
    assert_eq!((r.status(), r.headers().get(CONTENT_ENCODING)), (reqwest::StatusCode::OK, None));
}
