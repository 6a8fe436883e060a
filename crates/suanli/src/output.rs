//! Output for people (tables) and for programs (JSON).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// Markdown tables where a command has a report (simulate); tables elsewhere.
    Markdown,
    /// RFC 4180 CSV of a list's columns (for spreadsheets).
    Csv,
}

/// Prints a value as pretty JSON.
pub fn json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Prints rows of a list under headers; `cols` pairs a header with a field path ("a.b").
pub fn table(items: &[Value], cols: &[(&str, &str)]) {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(cols.iter().map(|(h, _)| *h));
    for item in items {
        t.add_row(cols.iter().map(|(_, path)| cell(field(item, path))));
    }
    println!("{t}");
}

/// Prints rows as RFC 4180 CSV with the given columns (raw values: no "-" for missing).
pub fn csv(items: &[Value], cols: &[(&str, &str)]) {
    let quote = |f: String| if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f };
    let raw = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => cell(other),
    };
    let mut out = cols.iter().map(|(h, _)| quote(h.to_string())).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for item in items {
        out.push_str(&cols.iter().map(|(_, path)| quote(raw(field(item, path)))).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    print!("{out}");
}

/// Prints one object as a two-column table of the given fields.
pub fn record(v: &Value, fields: &[(&str, &str)]) {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    for (label, path) in fields {
        t.add_row(vec![label.to_string(), cell(field(v, path))]);
    }
    println!("{t}");
}

pub fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        Value::Object(_) => v.to_string(),
    }
}

/// Formats unix ms as local-free UTC "2026-11-29 08:20:16".
pub fn time(v: &Value) -> String {
    v.as_i64().map_or_else(|| "-".into(), |ms| suanli_core::time::format_rfc3339(ms).replace('T', " ").trim_end_matches('Z').to_string())
}

/// A typed answer as the table printers read it.
pub fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// A command-line value read as the API's wire form of an enum (`intelligent-computing`,
/// `partner`, `tenant`): a clap value parser, so a typo is a usage error naming the choices.
pub fn wire<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|e| e.to_string())
}
