//! A form made of typed fields (text, numbers, choices, checkboxes, dates, longer text), each with its label, and, when the form came back refused, what was typed kept and the error beside the field at fault: what the registry's, the models' and the partner criteria's forms are made of.

use super::esc;
use super::operate::Kept;
use std::fmt::Write;

/// How one field is typed.
pub(super) enum Input {
    /// A text box; `mode` is its `inputmode` (empty: text).
    Text { required: bool, mode: &'static str },
    /// A choice of (value, label).
    Choice(Vec<(String, String)>),
    /// A checkbox that posts `1`.
    Check,
    /// A calendar date; `required` unless it may stay empty.
    Date { required: bool },
    /// Several lines of text, at most `max` characters.
    Area { max: usize },
}

pub(super) struct Field {
    pub name: &'static str,
    pub label: String,
    pub input: Input,
}

pub(super) fn text(name: &'static str, label: String, required: bool) -> Field {
    Field { name, label, input: Input::Text { required, mode: "" } }
}

pub(super) fn number(name: &'static str, label: String, mode: &'static str) -> Field {
    Field { name, label, input: Input::Text { required: true, mode } }
}

/// Where a form posts and what names it: `form` keys what [`Kept`] holds and prefixes the
/// fields' ids (`{form}-{name}`); `id` is the form element's.
pub(super) struct FormAt<'a> {
    pub form: &'a str,
    pub action: &'a str,
    pub id: &'a str,
}

/// A form in its own section: a heading, the fields as typed last time when it came back
/// refused (their values kept, the error beside the field at fault), and the submit button
/// (`#{form}-submit`).
pub(super) fn form_html(at: &FormAt<'_>, title: &str, fields: &[Field], button: &str, kept: &Kept) -> String {
    let form = at.form;
    let mut html = format!(
        r#"<section><h2 id="{form}-title">{}</h2><form method="post" action="{}" id="{}">"#,
        esc(title),
        esc(at.action),
        esc(at.id)
    );
    for f in fields {
        html.push_str(&field_html(form, f, kept));
        html.push_str(kept.error(form, f.name));
    }
    let _ = write!(html, r#"<p><button type="submit" id="{form}-submit">{}</button></p></form></section>"#, esc(button));
    html
}

/// One field with its label, holding what was typed last.
fn field_html(form: &str, f: &Field, kept: &Kept) -> String {
    let id = format!("{form}-{}", f.name);
    let value = kept.value(form, f.name);
    let invalid = kept.invalid(form, f.name, &id);
    let label = format!(r#"<label for="{id}">{}</label>"#, esc(&f.label));
    match &f.input {
        Input::Text { required, mode } => {
            let mode = if mode.is_empty() { String::new() } else { format!(r#" inputmode="{mode}""#) };
            let req = if *required { " required" } else { "" };
            format!(r#"{label}<input id="{id}" name="{}" maxlength="200"{mode}{req} value="{value}"{invalid}>"#, f.name)
        }
        Input::Date { required } => {
            let req = if *required { " required" } else { "" };
            format!(r#"{label}<input id="{id}" name="{}" type="date"{req} value="{value}"{invalid}>"#, f.name)
        }
        Input::Area { max } => {
            format!(r#"{label}<textarea id="{id}" name="{}" rows="3" maxlength="{max}"{invalid}>{value}</textarea>"#, f.name)
        }
        Input::Check => {
            let on = if value == "1" { " checked" } else { "" };
            format!(
                r#"<p><input id="{id}" name="{}" type="checkbox" value="1"{on}{invalid}> <label for="{id}">{}</label></p>"#,
                f.name,
                esc(&f.label)
            )
        }
        Input::Choice(options) => {
            let mut html = format!(r#"{label}<select id="{id}" name="{}"{invalid}>"#, f.name);
            for (v, l) in options {
                let sel = if *v == value { " selected" } else { "" };
                let _ = write!(html, r#"<option value="{}"{sel}>{}</option>"#, esc(v), esc(l));
            }
            html.push_str("</select>");
            html
        }
    }
}
