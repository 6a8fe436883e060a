//! The one confirmation step before an irreversible action (approving, rejecting, moving money, rotating a key, changing a partner's status or a price, unbinding a backend, deciding a data request), rendered by the server so that it works without script.
//!
//! A form posts as usual; its handler checks what it can through the service (who may, whether
//! the input is good: a refusal comes back beside its field) and, unless the body says
//! `confirmed=1`, answers [`ask`]: a page saying in the page's language what will happen, with
//! the names and amounts, and a form posting the same fields again with `confirmed=1`. Cancel
//! is a link back to the page the form was on, so nothing changes.

use super::{Lang, esc, page};
use crate::auth::Caller;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

/// What a confirmation page asks.
pub(super) struct Ask<'a> {
    /// The question, the page's heading ("确认驳回？").
    pub title: &'a str,
    /// What the action is about and what it will do, as rows (each value HTML, escaped by the caller).
    pub facts: &'a [(&'a str, String)],
    /// What confirming does, in a sentence, and whether it can be undone.
    pub outcome: &'a str,
    /// Where the form posts (the handler that asked).
    pub action: &'a str,
    /// The form's body as first posted, posted again with `confirmed=1`.
    pub body: &'a str,
    /// The confirm button's words ("确认驳回").
    pub go: &'a str,
    /// Where Cancel goes: the page the form was on.
    pub back: &'a str,
}

/// Whether a form's body confirms (`confirmed=1`, as the confirmation page posts it).
pub(super) fn confirmed(body: &str) -> bool {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body).is_ok_and(|f| f.iter().any(|(k, v)| k == "confirmed" && v == "1"))
}

/// The confirmation page: the question, the facts, what confirming does, the confirm button
/// (`#confirm`, posting the same fields with `confirmed=1`) and Cancel (`#cancel`, a link back).
pub(super) fn ask(lang: Lang, c: &Caller, a: &Ask<'_>) -> Response {
    let mut html = format!(r#"<h1 id="confirm-title">{}</h1><div class='scroll'><table class="facts"><tbody>"#, esc(a.title));
    for (k, v) in a.facts {
        let _ = write!(html, r#"<tr><th scope="row">{}</th><td>{v}</td></tr>"#, esc(k));
    }
    let _ = write!(html, r#"</tbody></table></div><form method="post" action="{}">"#, esc(a.action));
    let fields = serde_urlencoded::from_str::<Vec<(String, String)>>(a.body).unwrap_or_default();
    for (k, v) in fields.iter().filter(|(k, _)| k != "confirmed") {
        let _ = write!(html, r#"<input type="hidden" name="{}" value="{}">"#, esc(k), esc(v));
    }
    let _ = write!(
        html,
        r#"<input type="hidden" name="confirmed" value="1"><p id="confirm-outcome">{}</p><button type="submit" class="danger" id="confirm">{}</button> <a id="cancel" href="{}">{}</a></form>"#,
        esc(a.outcome),
        esc(a.go),
        esc(a.back),
        lang.t("取消，不做更改", "Cancel, change nothing"),
    );
    Html(page(lang, a.title, Some(c), &html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confirmed_one_confirms() {
        assert!(confirmed("reason=x&confirmed=1"));
        assert!(!confirmed("reason=x&confirmed=0"));
        assert!(!confirmed("reason=confirmed%3D1"));
        assert!(!confirmed(""));
    }
}
