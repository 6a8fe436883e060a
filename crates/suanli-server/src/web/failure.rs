//! When a web page fails inside: a handler that panics, or answers 500, gets the web UI's own 500 page in the request's language (the failure logged, no internals shown); a panic under the API is answered as its `internal` problem document.

use super::{Lang, LangQuery, lang_of, page};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// What a panic said, for the log.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or("(not text)")
}

/// Runs the rest of the stack, turning a panic into `Err` with its message (logged here).
async fn run_caught(req: Request, next: Next) -> Result<Response, ()> {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    AssertUnwindSafe(next.run(req)).catch_unwind().await.map_err(|payload| {
        tracing::error!(%method, %path, panic = panic_message(payload.as_ref()), "a request's handler panicked");
    })
}

/// The middleware around the web UI's routes: a panic or a 500 that is not already a page of
/// the UI becomes [`server_error_page`]. A 500 the UI rendered itself is kept.
pub async fn pages(req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let query = req.uri().query().unwrap_or_default().to_string();
    let path = req.uri().path().to_string();
    let Ok(resp) = run_caught(req, next).await else { return server_error_page(&headers, &query) };
    let html = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    if resp.status() == StatusCode::INTERNAL_SERVER_ERROR && !html {
        // What failed was logged where it failed (an internal error is logged as it is answered).
        tracing::warn!(%path, "a web page answered 500 without a page; the web UI's 500 page sent instead");
        return server_error_page(&headers, &query);
    }
    resp
}

/// The middleware around the API: a panic is answered as the error table's `internal` problem
/// (`application/problem+json`), as every other internal error is.
pub async fn api(req: Request, next: Next) -> Response {
    match run_caught(req, next).await {
        Ok(r) => r,
        Err(()) => crate::error::ApiError::Internal("a handler panicked".into()).into_response(),
    }
}

/// The web UI's 500 page in the request's language (`?lang=`, then the cookie, then Chinese):
/// what happened in a sentence, that it was logged, and the way back; never cached.
pub fn server_error_page(headers: &HeaderMap, query: &str) -> Response {
    let q = serde_urlencoded::from_str::<LangQuery>(query).unwrap_or(LangQuery { lang: None });
    server_error(lang_of(&q, headers).0)
}

/// The 500 page in `lang` (a page that met an internal error answers this).
pub(super) fn server_error(lang: Lang) -> Response {
    let mut r = (StatusCode::INTERNAL_SERVER_ERROR, Html(page(lang, lang.t("服务器内部错误", "Internal error"), None, &body(lang))))
        .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn body(lang: Lang) -> String {
    format!(
        r#"<h1 id="server-error">{}</h1><p class="error" role="alert" data-code="internal">{}</p><p>{}</p><p><a href="/">{}</a></p>"#,
        lang.t("服务器内部错误", "Something went wrong on our side"),
        lang.t(
            "页面处理时出现内部错误，已记录，运维人员会处理。",
            "An internal error occurred while preparing this page; it has been logged for the operators."
        ),
        lang.t(
            "请稍后重试；如果反复出现，请联系平台运营方。",
            "Try again shortly; if it keeps happening, contact the platform's operator."
        ),
        lang.t("返回总览", "Back to the overview")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;

    /// Serves `app` on a free port and GETs `path` with `headers`: the status, content type and body.
    async fn fetch(app: Router, path: &str, cookie: Option<&str>) -> (StatusCode, String, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut req = reqwest::Client::new().get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    async fn boom_handler() -> &'static str {
        panic!("a page's bug")
    }

    fn boom() -> Router {
        Router::new()
            .route("/boom", get(boom_handler))
            .route("/failed", get(|| async { crate::error::ApiError::Internal("the store broke".into()).into_response() }))
            .route("/ok", get(|| async { "fine" }))
    }

    #[tokio::test]
    async fn a_web_page_that_panics_or_fails_answers_the_html_500_page_in_its_language() {
        let web = || boom().layer(axum::middleware::from_fn(pages));
        let (st, ct, body) = fetch(web(), "/boom", None).await;
        assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(ct.starts_with("text/html"), "{ct}");
        assert!(body.contains(r#"<html lang="zh-CN">"#) && body.contains("服务器内部错误") && body.contains("已记录"), "{body}");
        assert!(!body.contains("a page's bug"), "the panic's words stay in the log");
        let (st, ct, body) = fetch(web(), "/failed?lang=en", None).await;
        assert_eq!((st, ct.starts_with("text/html")), (StatusCode::INTERNAL_SERVER_ERROR, true));
        assert!(body.contains(r#"<html lang="en">"#) && body.contains("Something went wrong on our side"), "{body}");
        assert!(!body.contains("the store broke"));
        let (_, _, body) = fetch(web(), "/boom", Some("suanli_lang=en")).await;
        assert!(body.contains("Something went wrong"), "the language cookie: {body}");
        assert_eq!(fetch(web(), "/ok", None).await.2, "fine");
    }

    #[tokio::test]
    async fn an_api_handler_that_panics_answers_the_internal_problem() {
        let (st, ct, body) = fetch(boom().layer(axum::middleware::from_fn(api)), "/boom", None).await;
        assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ct, "application/problem+json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "internal", "{v}");
    }
}
