//! Every data table of the web UI sorts, filters, pages and exports as CSV, done once on the rendered page so that handlers only write rows.
//!
//! Pages build their tables with `thead()` (`<div class='scroll'><table…><thead>…</thead><tbody>`,
//! rows, `</tbody></table></div>`). `page()` hands the body to [`enhance`], which finds each such
//! table (except one inside a form, such as the quote step's choices: its rows are inputs), reads
//! its cells as the text a person sees, and writes it back with
//! - sort links in the column headers (`?{id}.sort={col}&{id}.dir=asc|desc`) and `aria-sort` on
//!   the sorted column: a column sorts as times when every filled cell starts with a date, as
//!   numbers when every filled cell reads as one (money, percentages, "3 / 8" by its first
//!   figure), else as text (the header's `data-kind` says which); empty cells ("-") go last
//!   either way;
//! - a filter over the text shown (`{id}.q`: labels, never codes), a row count and an empty state;
//! - pages of [`PAGE_ROWS`] rows (`{id}.page`);
//! - cells of times and figures marked `nw`, kept on one line (the table's box scrolls
//!   sideways on a narrow screen rather than squeezing its columns);
//! - a CSV link (`?format=csv&table={id}`): the guard renders the page as usual and [`scope`]
//!   answers that table instead (every page, as filtered and sorted, without the columns of
//!   forms), UTF-8 with a byte-order mark so that Excel reads the Chinese.
//!
//! A table too long to render whole (the jobs, the bills, the audit trail) is *served*: its
//! handler reads [`served_view`] (the same query keys), has the store search, filter, sort and
//! cut the rows, writes only that page's rows (every row for a CSV export) and declares the
//! total and its columns' choices ([`serve`]); the table then gets the same controls over that
//! total, and the rows are left in the order given.
//!
//! Everything works without script: each control is a link or a GET form. `assets/suanli.js`
//! fetches the same links and swaps the table's box in place. A table without an `id` is named
//! `t1`, `t2`… by its order on the page (the same for the same page, role and data).

use super::collate;
use super::labels::{self, Ui};
use super::{Lang, esc};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;

mod cells;
use cells::{NOWRAP, SortKey, cells, csv_field, inner, is_time, missing, number, with_class};

/// Rows on one page of a table.
pub const PAGE_ROWS: usize = 25;

/// The most distinct values a column may have to get a filter of its own.
const MAX_CHOICES: usize = 8;

/// What the table code needs of the request being rendered.
struct Request {
    query: Vec<(String, String)>,
    /// The table asked for as CSV (`format=csv&table=…`), if any.
    csv: Option<String>,
    /// The CSV of that table, once the page has rendered it.
    out: RefCell<Option<String>>,
    /// Served tables by id: their total and their columns' choices.
    served: RefCell<HashMap<String, Served>>,
}

/// What a handler declares of a table whose rows the store cut ([`serve`]).
#[derive(Debug, Clone, Default)]
pub struct Served {
    /// The rows matching the view, over every page.
    pub total: u64,
    /// Per column, the choices of its filter: the value the query carries and the label shown.
    pub choices: Vec<(usize, Vec<(String, String)>)>,
}

/// A served table's view, as the query asks it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServedView {
    /// The column and whether ascending.
    pub sort: Option<(usize, bool)>,
    /// The search box's words.
    pub search: String,
    /// Column filters: the column and the chosen value.
    pub cols: Vec<(usize, String)>,
    /// The first row of the page and how many rows to read (every row for a CSV export).
    pub offset: u32,
    pub limit: u32,
}

/// The view of table `id` as the request asks it, for its handler to read from the store.
pub fn served_view(id: &str, max_rows: u32) -> ServedView {
    let (query, csv) = REQUEST.try_with(|r| (r.query.clone(), r.csv.clone())).unwrap_or_default();
    let v = View::of(&query, id);
    let whole = csv.as_deref() == Some(id);
    let offset = if whole { 0 } else { ((v.page - 1) * PAGE_ROWS).min(u32::MAX as usize) as u32 };
    let limit = if whole { max_rows } else { PAGE_ROWS as u32 };
    ServedView { sort: v.sort, search: v.filter, cols: v.cols, offset, limit }
}

/// A served column with more choices than this is filtered by a typed name, not a list.
pub const MANY_CHOICES: usize = 40;

/// Declares table `id` served: its total and its columns' choices.
pub fn serve(id: &str, served: Served) {
    let _ = REQUEST.try_with(|r| r.served.borrow_mut().insert(id.to_string(), served));
}

fn served(id: &str) -> Option<Served> {
    REQUEST.try_with(|r| r.served.borrow().get(id).cloned()).ok().flatten()
}

tokio::task_local! {
    static REQUEST: Request;
}

/// Runs a web request's handler with its query at hand. When the request asked for a table as
/// CSV and the page rendered that table, answers the CSV instead of the page.
pub async fn scope(path: &str, query: Option<&str>, run: impl Future<Output = Response>) -> Response {
    let query: Vec<(String, String)> = query.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    let csv = query.iter().any(|(k, v)| k == "format" && v == "csv").then(|| value(&query, "table")).flatten();
    let Some(table) = csv.clone() else {
        return REQUEST.scope(Request { query, csv, out: RefCell::new(None), served: RefCell::default() }, run).await;
    };
    let (resp, out) = REQUEST
        .scope(Request { query, csv, out: RefCell::new(None), served: RefCell::default() }, async {
            let resp = run.await;
            (resp, REQUEST.with(|r| r.out.take()))
        })
        .await;
    match out {
        Some(csv) => {
            let name: String = format!("{}-{table}", path.trim_matches('/').replace('/', "-"))
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .collect();
            let name = if name.starts_with('-') { format!("overview{name}") } else { name };
            let mut r = csv.into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        None if resp.status().is_success() => (StatusCode::NOT_FOUND, "没有这个表格 / No such table on this page").into_response(),
        None => resp,
    }
}

/// A query parameter of the request being rendered (the first, if repeated).
pub fn param(name: &str) -> Option<String> {
    REQUEST.try_with(|r| value(&r.query, name)).ok().flatten()
}

/// The query of the request being rendered, every parameter in order.
pub fn query() -> Vec<(String, String)> {
    REQUEST.try_with(|r| r.query.clone()).unwrap_or_default()
}

fn value(query: &[(String, String)], name: &str) -> Option<String> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The page body with every data table made sortable, filterable, paged and exportable.
pub fn enhance(lang: Lang, body: &str) -> String {
    const OPEN: &str = "<div class='scroll'><table";
    const CLOSE: &str = "</table></div>";
    let (query, want) = REQUEST.try_with(|r| (r.query.clone(), r.csv.clone())).unwrap_or_default();
    let mut out = String::with_capacity(body.len() + 2048);
    let (mut rest, mut forms, mut n) = (body, 0i64, 0usize);
    while let Some(i) = rest.find(OPEN) {
        let before = &rest[..i];
        forms += before.matches("<form").count() as i64 - before.matches("</form>").count() as i64;
        out.push_str(before);
        let tail = &rest[i..];
        let Some(end) = tail.find(CLOSE) else {
            rest = tail;
            break;
        };
        let unit = &tail[..end + CLOSE.len()];
        rest = &tail[unit.len()..];
        let table = if forms > 0 { None } else { Table::parse(&unit[OPEN.len()..end]) };
        let Some(table) = table else {
            out.push_str(unit);
            continue;
        };
        n += 1;
        let id = table.id.clone().unwrap_or_else(|| format!("t{n}"));
        let view = View::of(&query, &id);
        let mut table = table;
        table.served = served(&id);
        if want.as_deref() == Some(id.as_str()) {
            let csv = table.csv(lang, &view);
            let _ = REQUEST.try_with(|r| *r.out.borrow_mut() = Some(csv));
        }
        out.push_str(&table.render(lang, &id, &view, &query));
    }
    out.push_str(rest);
    out
}

/// One table's state as the query gives it.
struct View {
    sort: Option<(usize, bool)>,
    filter: String,
    /// Per-column filters (`{id}.c{col}`): the column's cell must read exactly this.
    cols: Vec<(usize, String)>,
    page: usize,
}

impl View {
    fn of(query: &[(String, String)], id: &str) -> View {
        let get = |k: &str| value(query, &format!("{id}.{k}"));
        let sort = get("sort").and_then(|c| c.parse::<usize>().ok()).map(|c| (c, get("dir").as_deref() != Some("desc")));
        let page = get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
        let prefix = format!("{id}.c");
        let cols = query
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse::<usize>().ok()?, v.trim().to_string())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        View { sort, filter: get("q").unwrap_or_default().trim().to_string(), cols, page }
    }
}

struct Cell {
    html: String,
    text: String,
    /// A cell holding a form or its controls: an action, not data.
    action: bool,
}

struct Row {
    /// The row's opening tag, kept with its attributes.
    open: String,
    cells: Vec<Cell>,
}

struct Table {
    id: Option<String>,
    /// The `<table…>` tag's attributes after `<table`.
    attrs: String,
    heads: Vec<Cell>,
    rows: Vec<Row>,
    /// The row a page wrote itself for an empty table (one cell across every column).
    note: Option<String>,
    /// The table's `<tfoot>…</tfoot>`, if it has one (not sorted, paged or exported).
    foot: Option<String>,
    /// Its rows were cut by the store: their total and choices.
    served: Option<Served>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Time,
    Number,
    Text,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Time => "time",
            Kind::Number => "number",
            Kind::Text => "text",
        }
    }
}

impl Table {
    /// Reads a table as `thead()` writes it: `s` runs from after `<table` to before `</table>`.
    fn parse(s: &str) -> Option<Table> {
        let gt = s.find('>')?;
        let attrs = s[..gt].to_string();
        let id = attrs.split_once("id=\"").and_then(|(_, r)| r.split_once('"')).map(|(v, _)| v.to_string());
        let s = s[gt + 1..].strip_prefix("<thead><tr>")?;
        let (head, s) = s.split_once("</tr></thead><tbody>")?;
        // A footer (a total row) stays under the rows, whatever their order and page.
        let (body, foot) = match s.strip_suffix("</tbody>") {
            Some(body) => (body, None),
            None => {
                let (body, foot) = s.split_once("</tbody><tfoot>")?;
                (body, Some(format!("<tfoot>{foot}")))
            }
        };
        let mut heads = cells(head);
        if heads.is_empty() {
            return None;
        }
        let mut rows = Vec::new();
        let mut rest = body;
        while let Some(i) = rest.find("<tr") {
            let gt = rest[i..].find('>')? + i;
            let end = rest[gt..].find("</tr>")? + gt;
            rows.push(Row { open: rest[i..=gt].to_string(), cells: cells(&rest[gt + 1..end]) });
            rest = &rest[end + "</tr>".len()..];
        }
        let note = match rows.as_slice() {
            [only] if only.cells.len() == 1 && only.cells[0].html.contains("colspan") && heads.len() > 1 => {
                Some(format!("{}{}</tr>", only.open, only.cells[0].html))
            }
            _ => None,
        };
        if note.is_some() {
            rows.clear();
        }
        for (c, h) in heads.iter_mut().enumerate() {
            h.action = !rows.is_empty() && rows.iter().all(|r| r.cells.get(c).is_none_or(|x| x.action));
        }
        Some(Table { id, attrs, heads, rows, note, foot, served: None })
    }

    fn kind(&self, col: usize) -> Kind {
        let filled: Vec<&str> =
            self.rows.iter().filter_map(|r| r.cells.get(col)).map(|c| c.text.as_str()).filter(|t| !missing(t)).collect();
        if filled.is_empty() {
            Kind::Text
        } else if filled.iter().all(|t| is_time(t)) {
            Kind::Time
        } else if filled.iter().all(|t| number(t).is_some()) {
            Kind::Number
        } else {
            Kind::Text
        }
    }

    /// The values a column may be filtered by (its labels, as shown): a text column of a few
    /// distinct short values that repeat (a state, a region, a kind), in order; none otherwise.
    fn choices(&self, lang: Lang, col: usize) -> Option<Vec<&str>> {
        if self.heads.get(col).is_none_or(|h| h.action) || self.kind(col) != Kind::Text {
            return None;
        }
        let mut seen: Vec<&str> =
            self.rows.iter().filter_map(|r| r.cells.get(col)).map(|c| c.text.as_str()).filter(|t| !missing(t)).collect();
        // The distinct values first (a byte sort), then the few that fit in the page's order: a
        // collation key per comparison over every row cost more than the rest of the page.
        seen.sort_unstable();
        seen.dedup();
        let fits = (2..=MAX_CHOICES).contains(&seen.len()) && seen.len() < self.rows.len() && seen.iter().all(|t| t.chars().count() <= 24);
        if !fits {
            return None;
        }
        collate::sort_by_text(lang, &mut seen, |t| t);
        Some(seen)
    }

    /// The rows shown for a view (before paging): filtered by the text shown and by the columns'
    /// filters, then sorted (text in the page's language's order, [`collate`]).
    fn visible(&self, lang: Lang, view: &View) -> Vec<&Row> {
        if self.served.is_some() {
            return self.rows.iter().collect();
        }
        let needle = view.filter.to_lowercase();
        let cell = |r: &Row, c: usize| r.cells.get(c).map_or("", |x| x.text.as_str()).to_string();
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| needle.is_empty() || r.cells.iter().filter(|c| !c.action).any(|c| c.text.to_lowercase().contains(&needle)))
            .filter(|r| view.cols.iter().all(|(c, v)| cell(r, *c) == *v))
            .collect();
        if let Some((col, asc)) = view.sort.filter(|(c, _)| self.heads.get(*c).is_some_and(|h| !h.action)) {
            let kind = self.kind(col);
            let key = |r: &Row| SortKey::of(lang, kind, r.cells.get(col).map_or("", |c| c.text.as_str()));
            let mut keyed: Vec<(SortKey, &Row)> = rows.into_iter().map(|r| (key(r), r)).collect();
            keyed.sort_by(|(x, _), (y, _)| x.cmp(y, asc));
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        rows
    }

    fn render(&self, lang: Lang, id: &str, view: &View, query: &[(String, String)]) -> String {
        let rows = self.visible(lang, view);
        let total = self.served.as_ref().map_or(rows.len(), |s| s.total.min(usize::MAX as u64) as usize);
        let pages = total.div_ceil(PAGE_ROWS).max(1);
        let page = view.page.min(pages);
        // A served page holds only its own rows.
        let skip = if self.served.is_some() { 0 } else { (page - 1) * PAGE_ROWS };
        let key = |k: &str| format!("{id}.{k}");
        let mut out = format!(r##"<div class="dt" id="dt-{id}"><form method="get" class="dt-tools" action="#dt-{id}">"##, id = esc(id));
        let col_key = key("c");
        for (k, v) in
            query.iter().filter(|(k, _)| ![key("q"), key("page"), "format".into(), "table".into()].contains(k) && !k.starts_with(&col_key))
        {
            let _ = write!(out, r#"<input type="hidden" name="{}" value="{}">"#, esc(k), esc(v));
        }
        let csv = link(query, &[(key("page"), None), ("format".into(), Some("csv".into())), ("table".into(), Some(id.into()))], "");
        let _ = write!(
            out,
            r#"<label for="{id}-q">{f}</label><input type="search" id="{id}-q" name="{qk}" value="{q}" title="{hint}"><button type="submit">{f}</button> <span class="dt-count">{count}</span> <a class="csv" href="{csv}" download title="{xhint}">{x}</a></form>"#,
            id = esc(id),
            f = labels::ui(lang, Ui::Filter),
            qk = esc(&key("q")),
            q = esc(&view.filter),
            hint = labels::ui(lang, Ui::FilterHint),
            count = labels::rows(lang, total),
            csv = esc(&csv),
            xhint = labels::ui(lang, Ui::ExportHint),
            x = labels::ui(lang, Ui::Export),
        );
        let selects = self.column_filters(lang, id, view);
        if !selects.is_empty() {
            out = out.replacen(r#"<button type="submit">"#, &format!(r#"{selects}<button type="submit">"#), 1);
        }
        let _ = write!(out, r#"<div class='scroll'><table{} data-rows="{total}"><thead><tr>"#, self.with_id(id));
        out.push_str(&self.head_cells(lang, id, view, query));
        out.push_str("</tr></thead><tbody>");
        self.body_rows(lang, &mut out, &rows, (total, skip), view);
        out.push_str("</tbody>");
        out.push_str(self.foot.as_deref().unwrap_or(""));
        out.push_str("</table></div>");
        if pages > 1 {
            out.push_str(&pager(lang, id, page, pages, query));
        }
        out.push_str("</div>");
        out
    }

    /// The rows of one page (cells of times and figures kept on one line), or the empty state:
    /// `total` rows in all, of which `rows` skips `skip` (none when the store served the page).
    fn body_rows(&self, lang: Lang, out: &mut String, rows: &[&Row], (total, skip): (usize, usize), view: &View) {
        if total == 0 {
            let narrowed = !view.filter.is_empty() || !view.cols.is_empty();
            let never = if self.served.is_some() { !narrowed } else { self.rows.is_empty() };
            match (&self.note, never) {
                (Some(note), true) => out.push_str(&note.replacen("<tr", r#"<tr class="empty""#, 1)),
                (_, empty) => {
                    let text = labels::ui(lang, if empty { Ui::NoRows } else { Ui::NoMatch });
                    let _ = write!(out, r#"<tr class="empty"><td colspan="{}">{text}</td></tr>"#, self.heads.len());
                }
            }
        }
        let unbroken: Vec<bool> = (0..self.heads.len()).map(|c| self.kind(c) != Kind::Text).collect();
        for r in rows.iter().skip(skip).take(PAGE_ROWS) {
            out.push_str(&r.open);
            for (c, cell) in r.cells.iter().enumerate() {
                match unbroken.get(c) {
                    Some(true) => out.push_str(&with_class(&cell.html, NOWRAP)),
                    _ => out.push_str(&cell.html),
                }
            }
            out.push_str("</tr>");
        }
    }

    /// The header cells: each sortable column a link that sorts by it (the other way when it is
    /// the sort already), marked with its direction and its kind.
    fn head_cells(&self, lang: Lang, id: &str, view: &View, query: &[(String, String)]) -> String {
        let key = |k: &str| format!("{id}.{k}");
        let mut out = String::new();
        for (c, h) in self.heads.iter().enumerate() {
            if h.action || self.rows.is_empty() {
                let _ = write!(out, r#"<th scope="col"{}>{}</th>"#, if h.action { r#" class="act""# } else { "" }, inner(&h.html));
                continue;
            }
            let sorted = view.sort.filter(|(s, _)| *s == c).map(|(_, asc)| asc);
            let aria = match sorted {
                Some(true) => r#" aria-sort="ascending""#,
                Some(false) => r#" aria-sort="descending""#,
                None => "",
            };
            let dir = if sorted == Some(true) { "desc" } else { "asc" };
            let href = link(query, &[(key("sort"), Some(c.to_string())), (key("dir"), Some(dir.into())), (key("page"), None)], id);
            let _ = write!(
                out,
                r#"<th scope="col"{aria} data-kind="{}"><a class="sort" href="{}" data-col="{c}" title="{}{}">{}</a></th>"#,
                self.kind(c).name(),
                esc(&href),
                labels::ui(lang, Ui::SortBy),
                esc(&h.text),
                inner(&h.html)
            );
        }
        out
    }

    /// A choice per column with few values (`choices`), its label the column's header; a served
    /// column with more than [`MANY_CHOICES`] gets a box for a name instead.
    fn column_filters(&self, lang: Lang, id: &str, view: &View) -> String {
        let mut out = String::new();
        for (c, h) in self.heads.iter().enumerate() {
            let values: Vec<(&str, &str)> = match &self.served {
                Some(s) => match s.choices.iter().find(|(x, _)| *x == c) {
                    Some((_, vs)) => vs.iter().map(|(v, l)| (v.as_str(), l.as_str())).collect(),
                    None => continue,
                },
                None => match self.choices(lang, c) {
                    Some(vs) => vs.into_iter().map(|v| (v, v)).collect(),
                    None => continue,
                },
            };
            let chosen = view.cols.iter().find(|(x, _)| *x == c).map(|(_, v)| v.as_str());
            if values.len() > MANY_CHOICES {
                // A list too long to scroll (a city's thousand centres): the name typed, matched by
                // the store. A value chosen from a link shows as its label.
                let shown = chosen.map(|v| values.iter().find(|(x, _)| *x == v).map_or(v, |(_, l)| *l)).unwrap_or_default();
                let _ = write!(
                    out,
                    r#"<label for="{id}-c{c}">{}{}</label><input type="search" id="{id}-c{c}" name="{id}.c{c}" class="dt-col" value="{}">"#,
                    esc(&h.text),
                    labels::ui(lang, Ui::NameContains),
                    esc(shown),
                    id = esc(id),
                );
                continue;
            }
            let _ = write!(
                out,
                r#"<label for="{id}-c{c}">{}</label><select id="{id}-c{c}" name="{id}.c{c}" class="dt-col"><option value="">{}</option>"#,
                esc(&h.text),
                labels::ui(lang, Ui::AllValues),
                id = esc(id),
            );
            for (v, label) in values {
                let mark = if chosen == Some(v) { " selected" } else { "" };
                let _ = write!(out, r#"<option value="{}"{mark}>{}</option>"#, esc(v), esc(label));
            }
            out.push_str("</select>");
        }
        out
    }

    /// The table's attributes, with its (possibly assigned) id.
    fn with_id(&self, id: &str) -> String {
        if self.id.is_some() { self.attrs.clone() } else { format!(r#" id="{}"{}"#, esc(id), self.attrs) }
    }

    /// The table as CSV: the headers as shown, then every row of the view (all pages).
    fn csv(&self, lang: Lang, view: &View) -> String {
        let cols: Vec<usize> = (0..self.heads.len()).filter(|c| !self.heads[*c].action).collect();
        let mut out = String::from("\u{feff}");
        let line = |out: &mut String, fields: Vec<&str>| {
            out.push_str(&fields.into_iter().map(csv_field).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        };
        line(&mut out, cols.iter().map(|c| self.heads[*c].text.as_str()).collect());
        for r in self.visible(lang, view) {
            line(&mut out, cols.iter().map(|c| r.cells.get(*c).map_or("", |x| x.text.as_str())).collect());
        }
        out
    }
}

/// The previous and next pages and where this one is.
fn pager(lang: Lang, id: &str, page: usize, pages: usize, query: &[(String, String)]) -> String {
    let to = |p: usize| esc(&link(query, &[(format!("{id}.page"), Some(p.to_string()))], id));
    let prev = if page > 1 {
        format!(r#"<a href="{}" rel="prev">{}</a>"#, to(page - 1), labels::ui(lang, Ui::PagePrev))
    } else {
        format!(r#"<span aria-disabled="true">{}</span>"#, labels::ui(lang, Ui::PagePrev))
    };
    let next = if page < pages {
        format!(r#"<a href="{}" rel="next">{}</a>"#, to(page + 1), labels::ui(lang, Ui::PageNext))
    } else {
        format!(r#"<span aria-disabled="true">{}</span>"#, labels::ui(lang, Ui::PageNext))
    };
    format!(
        r#"<nav class="pager" aria-label="{}">{prev} <span class="at">{}</span> {next}</nav>"#,
        labels::ui(lang, Ui::Pages),
        labels::page_of(lang, page, pages)
    )
}

/// A link to the page being rendered, its query with some parameters set (`Some`) or removed
/// (`None`); a CSV request's own parameters never carry over.
pub fn relink(set: &[(String, Option<String>)]) -> String {
    let query = REQUEST.try_with(|r| r.query.clone()).unwrap_or_default();
    link(&query, set, "")
}

/// The current query with some parameters set (`Some`) or removed (`None`), as a relative link
/// (to the table's box when `anchor` is not empty). A CSV request's own parameters never carry over.
fn link(query: &[(String, String)], set: &[(String, Option<String>)], anchor: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k != "format" && k != "table" && !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend(set.iter().filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v))));
    let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if anchor.is_empty() { format!("?{qs}") } else { format!("?{qs}#dt-{anchor}") }
}

#[cfg(test)]
mod tests {
    use super::cells::text;
    use super::*;

    const TABLE: &str = concat!(
        "<h2>x</h2><div class='scroll'><table><thead><tr><th scope=\"col\">名称</th><th scope=\"col\">金额</th>",
        "<th scope=\"col\">时间</th><th scope=\"col\">操作</th></tr></thead><tbody>",
        "<tr><td><a href=\"/a\">乙</a></td><td>¥1,000.00</td><td>2026-01-02 08:00:00 (UTC+8)</td><td><form method=\"post\"><button>删</button></form></td></tr>",
        "<tr data-x=\"1\"><td>甲, &amp; 丙</td><td>¥20.50</td><td>2025-12-31 08:00:00 (UTC+8)</td><td><form method=\"post\"><button>删</button></form></td></tr>",
        "<tr><td>=cmd</td><td>-</td><td>-</td><td><form method=\"post\"><button>删</button></form></td></tr>",
        "</tbody></table></div><p>after</p>"
    );

    fn render(query: &str, csv: Option<&str>) -> (String, Option<String>) {
        let query: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let req = Request { query, csv: csv.map(str::to_string), out: RefCell::new(None), served: RefCell::default() };
        REQUEST.sync_scope(req, || (enhance(Lang::Zh, TABLE), REQUEST.with(|r| r.out.take())))
    }

    fn first_cells(html: &str) -> Vec<String> {
        html.split("<tr").skip(2).map(|r| text(inner(r.split("</td>").next().unwrap_or("")))).collect()
    }

    #[test]
    fn numbers_money_and_times_read_as_such() {
        assert_eq!(number("¥2,131.07"), Some(2131.07));
        assert_eq!(number("-¥3.00"), Some(-3.0));
        assert_eq!(number("12.5%"), Some(12.5));
        assert_eq!(number("3 / 8"), Some(3.0));
        assert_eq!(number("¥1.5万"), Some(15_000.0));
        assert_eq!(number("h800"), None);
        assert_eq!(number("8h"), None);
        assert_eq!(number("西湖区"), None);
        assert_eq!(text("<a href=\"/x\">甲</a>&amp;<br>乙  丙 &lt;b&gt; &unknown; <"), "甲& 乙 丙 <b> &unknown;");
        assert!(is_time("2026-12-01 18:00:00 (UTC+8)"));
        assert!(!is_time("¥2,026.00"));
    }

    #[test]
    fn a_table_sorts_by_money_and_time_with_empty_cells_last() {
        let (html, _) = render("t1.sort=1&t1.dir=asc", None);
        assert!(html.contains(r#"aria-sort="ascending""#), "{html}");
        assert_eq!(first_cells(&html), ["甲, & 丙", "乙", "=cmd"]);
        let (html, _) = render("t1.sort=1&t1.dir=desc", None);
        assert_eq!(first_cells(&html), ["乙", "甲, & 丙", "=cmd"]);
        let (html, _) = render("t1.sort=2", None);
        assert_eq!(first_cells(&html), ["甲, & 丙", "乙", "=cmd"]);
        assert!(html.contains(r#"<tr data-x="1">"#), "row attributes are kept");
        assert!(html.contains(r#"<th scope="col" class="act">操作</th>"#), "the column of forms is not sortable");
        assert!(html.ends_with("<p>after</p>"));
    }

    #[test]
    fn a_filter_matches_the_text_shown_and_says_when_nothing_does() {
        let (html, _) = render("t1.q=%E7%94%B2", None);
        assert_eq!(first_cells(&html), ["甲, & 丙"]);
        assert!(html.contains(r#"data-rows="1""#));
        let (html, _) = render("t1.q=nothing", None);
        assert!(html.contains("没有符合筛选条件的记录"), "{html}");
        let empty = "<div class='scroll'><table><thead><tr><th scope=\"col\">a</th></tr></thead><tbody></tbody></table></div>";
        assert!(enhance(Lang::En, empty).contains("Nothing to show yet."));
    }

    #[test]
    fn the_csv_has_a_bom_the_headers_shown_and_every_row_without_the_forms() {
        let (_, csv) = render("t1.sort=1&t1.page=9&format=csv&table=t1", Some("t1"));
        let csv = csv.expect("the CSV of t1");
        assert_eq!(
            csv,
            "\u{feff}名称,金额,时间\r\n\"甲, & 丙\",¥20.50,2025-12-31 08:00:00 (UTC+8)\r\n乙,\"¥1,000.00\",2026-01-02 08:00:00 (UTC+8)\r\n'=cmd,-,-\r\n"
        );
    }

    #[test]
    fn long_tables_page_and_links_keep_the_rest_of_the_query() {
        let mut body = String::from("<div class='scroll'><table id=\"big\"><thead><tr><th scope=\"col\">n</th></tr></thead><tbody>");
        for i in 0..60 {
            body.push_str(&format!("<tr><td>{i}</td></tr>"));
        }
        body.push_str("</tbody></table></div>");
        let query: Vec<(String, String)> = serde_urlencoded::from_str("lang=en&big.page=3&m=a&m=b").unwrap();
        let req = Request { query, csv: None, out: RefCell::new(None), served: RefCell::default() };
        let html = REQUEST.sync_scope(req, || enhance(Lang::En, &body));
        assert!(html.contains("Page 3 of 3"), "{html}");
        assert_eq!(html.matches(r#"<tr><td class="nw">"#).count(), 10, "figures are kept on one line");
        assert!(html.contains("?lang=en&amp;m=a&amp;m=b&amp;big.page=2#dt-big"), "{html}");
        assert!(html.contains(r#"<input type="hidden" name="m" value="b">"#));
    }

    #[test]
    fn a_footer_stays_under_the_rows_whatever_their_order() {
        let body = "<div class='scroll'><table id=\"r\"><thead><tr><th scope=\"col\">n</th></tr></thead><tbody><tr><td>2</td></tr><tr><td>1</td></tr></tbody><tfoot><tr><th scope=\"row\">3</th></tr></tfoot></table></div>";
        let query: Vec<(String, String)> = serde_urlencoded::from_str("r.sort=0").unwrap();
        let req = Request { query, csv: None, out: RefCell::new(None), served: RefCell::default() };
        let html = REQUEST.sync_scope(req, || enhance(Lang::En, body));
        assert!(html.contains(r#"aria-sort="ascending""#), "the table is enhanced: {html}");
        assert!(
            html.contains(r#"<tr><td class="nw">1</td></tr><tr><td class="nw">2</td></tr></tbody><tfoot><tr><th scope="row">3</th></tr></tfoot></table>"#),
            "{html}"
        );
    }

    #[test]
    fn a_column_of_few_repeated_labels_gets_a_filter_that_narrows_rows_and_csv() {
        let rows: String = ["运行中", "已完成", "运行中", "失败", "已完成"]
            .iter()
            .enumerate()
            .map(|(i, s)| format!("<tr><td>作业{i}</td><td>{s}</td></tr>"))
            .collect();
        let body = format!(
            "<div class='scroll'><table id=\"j\"><thead><tr><th scope=\"col\">名称</th><th scope=\"col\">状态</th></tr></thead><tbody>{rows}</tbody></table></div>"
        );
        let run = |q: &str, csv: Option<&str>| {
            let query: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
            let req = Request { query, csv: csv.map(str::to_string), out: RefCell::new(None), served: RefCell::default() };
            REQUEST.sync_scope(req, || (enhance(Lang::Zh, &body), REQUEST.with(|r| r.out.take())))
        };
        let (html, _) = run("", None);
        assert!(html.contains(r#"<label for="j-c1">状态</label><select id="j-c1" name="j.c1" class="dt-col">"#), "{html}");
        assert!(!html.contains("name=\"j.c0\""), "unique names get no choice");
        // Each label once, in pinyin order: shi·bai, yi·wan·cheng, yun·xing·zhong.
        let options: Vec<&str> = html.split(r#"<option value=""#).skip(1).filter_map(|o| o.split('"').next()).collect();
        assert_eq!(options.iter().filter(|o| !o.is_empty()).copied().collect::<Vec<_>>(), ["失败", "已完成", "运行中"], "{html}");
        let (html, csv) = run("j.c1=运行中&format=csv&table=j", Some("j"));
        assert!(html.contains(r#"data-rows="2""#) && html.contains(r#"<option value="运行中" selected>"#), "{html}");
        assert_eq!(csv.unwrap().lines().count(), 3, "the CSV follows the column's filter");
    }

    #[test]
    fn chinese_text_sorts_by_pinyin_on_a_chinese_page_and_the_csv_follows() {
        let rows: String = ["温州", "-", "上海", "杭州", "宁波"].iter().map(|n| format!("<tr><td>{n}</td></tr>")).collect();
        let body = format!(
            "<div class='scroll'><table id=\"c\"><thead><tr><th scope=\"col\">城市</th></tr></thead><tbody>{rows}</tbody></table></div>"
        );
        let run = |lang: Lang, q: &str| {
            let query: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
            let req = Request { query, csv: Some("c".into()), out: RefCell::new(None), served: RefCell::default() };
            REQUEST.sync_scope(req, || (enhance(lang, &body), REQUEST.with(|r| r.out.take()).unwrap()))
        };
        let (html, csv) = run(Lang::Zh, "c.sort=0&format=csv&table=c");
        assert_eq!(first_cells(&html), ["杭州", "宁波", "上海", "温州", "-"], "hangzhou, ningbo, shanghai, wenzhou; empty last");
        assert_eq!(csv, "\u{feff}城市\r\n杭州\r\n宁波\r\n上海\r\n温州\r\n-\r\n");
        let (html, _) = run(Lang::Zh, "c.sort=0&c.dir=desc&format=csv&table=c");
        assert_eq!(first_cells(&html), ["温州", "上海", "宁波", "杭州", "-"]);
        let (html, _) = run(Lang::En, "c.sort=0&format=csv&table=c");
        assert_eq!(first_cells(&html), ["上海", "宁波", "杭州", "温州", "-"], "code points on an English page");
    }

    #[test]
    fn cells_of_times_and_figures_are_kept_on_one_line_and_text_is_not() {
        let (html, _) = render("", None);
        assert!(html.contains(r#"<td class="nw">¥1,000.00</td><td class="nw">2026-01-02 08:00:00 (UTC+8)</td>"#), "{html}");
        assert!(html.contains(r#"<tr><td><a href="/a">乙</a></td>"#), "a name may wrap: {html}");
        assert!(html.contains(r#"<td class="nw">-</td>"#), "an empty cell of a figures' column too");
        assert_eq!(with_class(r#"<td class="user-text" data-x="1">a</td>"#, "nw"), r#"<td class="nw user-text" data-x="1">a</td>"#);
        assert_eq!(with_class("<th scope=\"row\">3</th>", "nw"), "<th class=\"nw\" scope=\"row\">3</th>");
    }

    #[test]
    fn a_served_table_keeps_its_rows_and_order_and_pages_over_the_total_with_the_choices_given() {
        let rows: String = ["b", "a"].iter().map(|n| format!("<tr><td>{n}</td><td>运行中</td></tr>")).collect();
        let body = format!(
            "<div class='scroll'><table id=\"jobs\"><thead><tr><th scope=\"col\">名称</th><th scope=\"col\">状态</th></tr></thead><tbody>{rows}</tbody></table></div>"
        );
        let run = |q: &str, csv: Option<&str>| {
            let query: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
            let req = Request { query, csv: csv.map(str::to_string), out: RefCell::new(None), served: RefCell::default() };
            REQUEST.sync_scope(req, || {
                let view = served_view("jobs", 1000);
                serve(
                    "jobs",
                    Served {
                        total: 60, choices: vec![(1, vec![("running".into(), "运行中".into()), ("failed".into(), "失败".into())])]
                    },
                );
                (view, enhance(Lang::Zh, &body), REQUEST.with(|r| r.out.take()))
            })
        };
        let (view, html, _) = run("jobs.page=2&jobs.sort=0&jobs.dir=desc&jobs.q=x&jobs.c1=running", None);
        assert_eq!(
            view,
            ServedView { sort: Some((0, false)), search: "x".into(), cols: vec![(1, "running".into())], offset: 25, limit: 25 }
        );
        assert_eq!(first_cells(&html), ["b", "a"], "the store's order is kept");
        assert!(html.contains(r#"data-rows="60""#) && html.contains("第 2 / 3 页"), "{html}");
        assert!(html.contains(r#"<option value="running" selected>运行中</option><option value="failed">失败</option>"#), "{html}");
        let (view, _, csv) = run("jobs.page=2&format=csv&table=jobs", Some("jobs"));
        assert_eq!((view.offset, view.limit), (0, 1000), "a CSV reads every row");
        assert_eq!(csv.unwrap(), "\u{feff}名称,状态\r\nb,运行中\r\na,运行中\r\n");
    }

    #[test]
    fn a_served_column_of_many_choices_is_filtered_by_a_typed_name_that_keeps_what_was_chosen() {
        let body = "<div class='scroll'><table id=\"jobs\"><thead><tr><th scope=\"col\">名称</th><th scope=\"col\">算力中心</th></tr></thead><tbody><tr><td>a</td><td>中心 7</td></tr></tbody></table></div>";
        let run = |q: &str, n: usize| {
            let query: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
            let req = Request { query, csv: None, out: RefCell::new(None), served: RefCell::default() };
            REQUEST.sync_scope(req, || {
                let choices = (0..n).map(|i| (format!("ctr_{i:08}"), format!("中心 {i}"))).collect();
                serve("jobs", Served { total: 1, choices: vec![(1, choices)] });
                enhance(Lang::Zh, body)
            })
        };
        let few = run("", MANY_CHOICES);
        assert!(few.contains(r#"<select id="jobs-c1" name="jobs.c1" class="dt-col">"#), "{few}");
        let many = run("jobs.c1=ctr_00000007", MANY_CHOICES + 1);
        assert!(!many.contains("<select"), "{many}");
        assert!(many.contains(r#"<label for="jobs-c1">算力中心（名称包含）</label><input type="search" id="jobs-c1" name="jobs.c1" class="dt-col" value="中心 7">"#), "a chosen id shows as its name: {many}");
        let typed = run("jobs.c1=%E4%B8%AD%E5%BF%83", MANY_CHOICES + 1);
        assert!(typed.contains(r#"class="dt-col" value="中心">"#), "a typed name is kept: {typed}");
    }

    #[test]
    fn a_table_inside_a_form_is_left_alone() {
        let body = format!("<form method=\"post\">{TABLE}</form>");
        assert_eq!(enhance(Lang::Zh, &body), body);
    }
}
