//! Reading a rendered table's cells: each cell's HTML and the text a person sees, what the text reads as (a time, a number, nothing), how a column sorts, and a cell as a CSV field.

use super::{Cell, Kind};
use crate::web::{Lang, collate};

/// What a cell sorts by: empty cells ("-") last in either direction; text by the page's
/// language's key ([`collate::sort_key`]) then the text itself.
pub(super) enum SortKey {
    Missing,
    Number(f64),
    Time(String),
    Text(String, String),
}

impl SortKey {
    pub(super) fn of(lang: Lang, kind: Kind, text: &str) -> SortKey {
        if missing(text) {
            return SortKey::Missing;
        }
        match kind {
            Kind::Number => SortKey::Number(number(text).unwrap_or(0.0)),
            Kind::Time => SortKey::Time(text.to_string()),
            Kind::Text => SortKey::Text(collate::sort_key(lang, text), text.to_string()),
        }
    }

    /// The order of two cells of one column, ascending or not; empty cells last either way.
    pub(super) fn cmp(&self, other: &SortKey, asc: bool) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let o = match (self, other) {
            (SortKey::Missing, SortKey::Missing) => return Equal,
            (SortKey::Missing, _) => return Greater,
            (_, SortKey::Missing) => return Less,
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Time(a), SortKey::Time(b)) => a.cmp(b),
            (SortKey::Text(a, x), SortKey::Text(b, y)) => a.cmp(b).then_with(|| x.cmp(y)),
            _ => Equal,
        };
        if asc { o } else { o.reverse() }
    }
}

/// The class of a cell that is never broken across lines (times and figures: money, counts,
/// percentages); the page's style keeps it on one line, and the table's box scrolls instead.
pub(super) const NOWRAP: &str = "nw";

/// A cell's HTML (`<td…>…` or `<th…>…`) with one more class on its opening tag.
pub(super) fn with_class(cell: &str, class: &str) -> String {
    let tag = cell.find('>').map_or(cell, |i| &cell[..i]);
    if let Some(at) = tag.find(r#"class=""#) {
        let at = at + r#"class=""#.len();
        format!("{}{class} {}", &cell[..at], &cell[at..])
    } else {
        format!(r#"{} class="{class}"{}"#, &cell[..3], &cell[3..])
    }
}

/// The cells of a row (or of the header row): each `<td…>…</td>` or `<th…>…</th>`.
pub(super) fn cells(s: &str) -> Vec<Cell> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let start = [rest.find("<td"), rest.find("<th")].into_iter().flatten().min();
        let Some(i) = start else { break };
        let close = if rest[i..].starts_with("<td") { "</td>" } else { "</th>" };
        let Some(end) = rest[i..].find(close).map(|e| e + i + close.len()) else { break };
        let html = &rest[i..end];
        let action = ["<form", "<input", "<button", "<select", "<textarea"].iter().any(|t| html.contains(t));
        out.push(Cell { html: html.to_string(), text: text(inner(html)), action });
        rest = &rest[end..];
    }
    out
}

/// What is between a cell's opening and closing tags.
pub(super) fn inner(cell: &str) -> &str {
    let start = cell.find('>').map_or(0, |i| i + 1);
    let end = cell.rfind("</").unwrap_or(cell.len()).max(start);
    &cell[start..end]
}

/// The text a person sees in some HTML: tags dropped (a line break or block as a space),
/// entities read, spaces collapsed. One pass, no allocation beyond the result.
pub(super) fn text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut space = false;
    let push = |out: &mut String, c: char, space: &mut bool| {
        if c.is_whitespace() {
            *space = !out.is_empty();
        } else {
            if *space {
                out.push(' ');
                *space = false;
            }
            out.push(c);
        }
    };
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let Some(end) = rest.find('>') else { break };
            let name = rest[1..end].trim_start_matches('/').split([' ', '/']).next().unwrap_or("");
            if ["br", "p", "div", "li", "td", "th", "tr"].iter().any(|b| name.eq_ignore_ascii_case(b)) {
                push(&mut out, ' ', &mut space);
            }
            rest = &rest[end + 1..];
        } else if c == '&' {
            let entity = ENTITIES.iter().find(|(e, _)| rest.starts_with(e));
            let (len, ch) = entity.map_or((1, '&'), |(e, ch)| (e.len(), *ch));
            push(&mut out, ch, &mut space);
            rest = &rest[len..];
        } else {
            push(&mut out, c, &mut space);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The entities `esc` writes, and a few more.
const ENTITIES: [(&str, char); 7] =
    [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>'), ("&quot;", '"'), ("&#39;", '\''), ("&#x27;", '\''), ("&nbsp;", ' ')];

pub(super) fn missing(t: &str) -> bool {
    matches!(t.trim(), "" | "-" | "—" | "–")
}

/// Whether a cell starts with a date or a month (`2026-12-01…`, as `labels::when` writes times; `2026-12`).
pub(super) fn is_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b.get(7).is_none_or(|c| !c.is_ascii_digit())
}

/// A cell read as a number: money (`-¥2,131.07`), percentages, plain figures, "3 / 8" by its first
/// figure, 万 and 亿 as their values.
pub(super) fn number(t: &str) -> Option<f64> {
    let t = t.trim();
    let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
    let t = t.strip_prefix('¥').or_else(|| t.strip_prefix('￥')).unwrap_or(t);
    let (neg, t) = t.strip_prefix('-').map_or((neg, t), |r| (!neg, r));
    let len = t.find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.')).unwrap_or(t.len());
    let digits = t[..len].replace(',', "");
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let v: f64 = digits.parse().ok()?;
    let rest = t[len..].trim_start();
    // "8 h800" or "3a": a figure glued to letters names a thing rather than counting it.
    if t[len..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let scale = if rest.starts_with('万') {
        1e4
    } else if rest.starts_with('亿') {
        1e8
    } else {
        1.0
    };
    Some(if neg { -v * scale } else { v * scale })
}

/// A CSV field: quoted when it must be, and a leading formula character defused (a cell that
/// starts with `=`, `+` or `@` would run in a spreadsheet).
pub(super) fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '@', '\t', '\r'])
        || (f.len() > 1 && f.starts_with('-') && !f[1..].starts_with(|c: char| c.is_ascii_digit() || c == '¥'))
    {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f }
}
