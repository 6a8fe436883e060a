//! Web sessions and CSRF: short-lived, revocable session ids (stored hashed) instead of the API token in a cookie, a per-session token in every form, and an Origin check on every post.
//!
//! Signing in with an API token opens a session: the browser holds only a random session id
//! (HttpOnly, SameSite=Strict, `Secure` behind TLS), the store holds its SHA-256, and sign-out
//! revokes it, so a copied cookie dies with the session (8 hours at most). Every state-changing
//! form carries a token derived from the session id (so a page on another origin cannot know
//! it), and every post must come from this host by its `Origin` (or `Referer`) header. Sign-in
//! itself is guarded by a double-submit token in a short-lived pre-session cookie (login CSRF).
//! Every web response says `Cache-Control: no-store` and refuses to be framed.

use super::{cookie, esc, page};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use suanli_core::id::AuditId;
use suanli_core::tenant::Principal;
use suanli_store::Audit;

pub const SESSION_COOKIE: &str = "suanli_session";
const PRE_COOKIE: &str = "suanli_presession";
/// A session lives this long from sign-in, whatever happens.
pub const SESSION_TTL_MS: i64 = 8 * 3_600_000;
/// The largest form the web UI accepts.
const MAX_FORM: usize = 64 * 1024;
/// The largest form with files (`multipart/form-data`): three evidence documents and the fields.
pub const MAX_UPLOAD: usize = 3 * suanli_app::incentives::MAX_DOCUMENT_BYTES + MAX_FORM;

tokio::task_local! {
    /// The CSRF token of the request being rendered (empty when there is none).
    static CSRF: String;
    /// The path of the page being rendered (the nav marks it as current).
    static PATH: String;
}

/// The path of the page being rendered, if inside a web request.
pub fn current_path() -> Option<String> {
    PATH.try_with(String::clone).ok()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The form token of a session: derived from its id, which only the browser holding the cookie knows.
fn csrf_of(session_id: &str) -> String {
    sha256_hex(&format!("suanli-csrf:{session_id}"))[..32].to_string()
}

fn random_id(s: &AppState) -> String {
    let mut bytes = [0u8; 32];
    s.ids.fill(&mut bytes);
    hex::encode(bytes)
}

/// Cookie attributes: `Secure` when the request came through TLS (the city's gateway says so).
fn attrs(headers: &HeaderMap, max_age_s: i64) -> String {
    let tls = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}", if tls { "; Secure" } else { "" })
}

/// Opens a session for a signed-in user; the `Set-Cookie` value to send.
pub async fn open(s: &AppState, p: &Principal, headers: &HeaderMap) -> Result<String, suanli_store::StoreError> {
    let id = random_id(s);
    let (t, e) = s.ids.parts();
    let mut tx = s.store.begin().await?;
    tx.insert_session(&sha256_hex(&id), &p.user_id, t, t + SESSION_TTL_MS).await?;
    tx.audit(&Audit {
        id: AuditId::generate(t, e),
        at_ms: t,
        actor: p.actor(),
        action: "web.sign_in".into(),
        subject: p.user_id.to_string(),
        detail: serde_json::json!({}),
    })
    .await?;
    tx.commit().await?;
    Ok(format!("{SESSION_COOKIE}={id}{}", attrs(headers, SESSION_TTL_MS / 1000)))
}

/// The user of the request's live session.
pub async fn principal(s: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let id = cookie(headers, SESSION_COOKIE)?;
    s.store.session_principal(&sha256_hex(id), s.ids.now_ms()).await.ok().flatten()
}

/// Revokes the request's session (sign-out); the `Set-Cookie` value that clears it.
pub async fn close(s: &AppState, headers: &HeaderMap) -> String {
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        let at = s.ids.now_ms();
        let revoked = async {
            let mut tx = s.store.begin().await?;
            tx.revoke_session(&sha256_hex(id), at).await?;
            tx.commit().await
        };
        if let Err(e) = revoked.await {
            tracing::warn!(error = %e, "could not revoke a web session");
        }
    }
    format!("{SESSION_COOKIE}={}", attrs(headers, 0))
}

/// Adds the request's CSRF token to every form that posts.
pub fn inject(html: String) -> String {
    let Ok(token) = CSRF.try_with(String::clone) else { return html };
    if token.is_empty() {
        return html;
    }
    let hidden = format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(&token));
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html.as_str();
    while let Some(i) = rest.find("<form") {
        let Some(end) = rest[i..].find('>') else { break };
        out.push_str(&rest[..i + end + 1]);
        if rest[i..i + end].contains(r#"method="post""#) {
            out.push_str(&hidden);
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a post comes from a page of this host: its `Origin`, or failing that its `Referer`,
/// names the same authority as `Host`. A post with neither is refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""));
    matches!((host, from), (Some(h), Some(f)) if !h.is_empty() && h.eq_ignore_ascii_case(f))
}

fn refused(headers: &HeaderMap, zh: &'static str, en: &'static str) -> Response {
    let lang = super::lang_of(&super::LangQuery { lang: None }, headers).0;
    let body = format!(
        r#"<h1>{}</h1><p class="error" role="alert">{}</p><p><a href="/">{}</a></p>"#,
        lang.t("请求被拒绝", "Request refused"),
        lang.t(zh, en),
        lang.t("返回总览", "Back to the overview")
    );
    (StatusCode::FORBIDDEN, Html(page(lang, lang.t("请求被拒绝", "Request refused"), None, &body))).into_response()
}

/// Takes the `csrf` field out of a form body; the rest re-encoded, and the token.
fn take_token(body: &[u8]) -> Option<(String, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let token = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone())?;
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "csrf").collect();
    Some((serde_urlencoded::to_string(rest).ok()?, token))
}

/// The middleware around every web page and form (not the API, which takes bearer tokens).
pub async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let path = req.uri().path().to_string();
    let sign_in = path == "/sign-in";
    let mut set_pre = None;
    let expected = if sign_in { cookie(&headers, PRE_COOKIE).map(str::to_string) } else { cookie(&headers, SESSION_COOKIE).map(csrf_of) };
    let (req, token) = if req.method() == Method::POST {
        if !same_origin(&headers) {
            return secure(refused(&headers, "表单只能从本平台的页面提交。", "Forms are accepted only from this platform's own pages."));
        }
        let (parts, body) = req.into_parts();
        let boundary = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(super::multipart::boundary);
        let Ok(bytes) = axum::body::to_bytes(body, if boundary.is_some() { MAX_UPLOAD } else { MAX_FORM }).await else {
            return secure((StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response());
        };
        // A form with files keeps its body as sent (its handler reads the parts); its token is a part.
        let token_of = |bytes: &axum::body::Bytes| match &boundary {
            Some(b) => super::multipart::parts(bytes, b).map(|p| (None, super::multipart::text(&p, "csrf"))),
            None => take_token(bytes).map(|(rest, t)| (Some(rest), t)),
        };
        match (token_of(&bytes), &expected) {
            (Some((None, got)), Some(want)) if !want.is_empty() && got == *want => (Request::from_parts(parts, Body::from(bytes)), got),
            (Some((Some(rest), got)), Some(want)) if !want.is_empty() && got == *want => {
                (Request::from_parts(parts, Body::from(rest)), got)
            }
            _ => {
                return secure(refused(
                    &headers,
                    "表单已过期，请刷新页面后重试。",
                    "This form has expired; reload the page and try again.",
                ));
            }
        }
    } else if sign_in {
        let pre = random_id(&s);
        set_pre = Some(format!("{PRE_COOKIE}={pre}{}", attrs(&headers, 3600)));
        (req, pre)
    } else {
        (req, expected.unwrap_or_default())
    };
    // The table code sees the query (sorting, filters, pages) and may answer a table as CSV.
    let query = req.uri().query().map(str::to_string);
    let mut resp = CSRF.scope(token, PATH.scope(path.clone(), super::table::scope(&path, query.as_deref(), next.run(req)))).await;
    if let Some(c) = set_pre.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    secure(resp)
}

/// Headers every web page carries: never cached (Back after sign-out shows nothing), never framed.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_go_into_every_post_form_only() {
        let html = r#"<form method="post" action="/a"><input name="x"></form><form method="get" action="/b"></form><form id="f" method="post" action="/c">"#;
        let out = CSRF.sync_scope("t0k".to_string(), || inject(html.to_string()));
        assert_eq!(out.matches(r#"<input type="hidden" name="csrf" value="t0k">"#).count(), 2, "{out}");
        assert!(out.ends_with(r#"<form id="f" method="post" action="/c"><input type="hidden" name="csrf" value="t0k">"#), "{out}");
        assert!(out.contains(r#"<form method="post" action="/a"><input type="hidden""#));
        assert_eq!(inject(html.to_string()), html, "no token outside a request");
    }

    #[test]
    fn posts_must_come_from_this_host() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(same_origin(&h(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(same_origin(&h(&[("host", "suanli.example"), ("origin", "https://suanli.example")])));
        assert!(same_origin(&h(&[("host", "127.0.0.1:8080"), ("referer", "http://127.0.0.1:8080/vouchers")])));
        assert!(!same_origin(&h(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9999")])), "another port");
        assert!(!same_origin(&h(&[("host", "a.example"), ("origin", "https://evil.a.example")])), "a sibling subdomain");
        assert!(!same_origin(&h(&[("host", "127.0.0.1:8080"), ("origin", "null")])));
        assert!(!same_origin(&h(&[("host", "127.0.0.1:8080")])), "neither header");
        assert_eq!(take_token(b"amount=1&csrf=abc&purpose=%E8%AE%AD"), Some(("amount=1&purpose=%E8%AE%AD".into(), "abc".into())));
        assert_eq!(take_token(b"amount=1"), None);
    }
}
