//! The HTML legend under a web chart: readable at any width, unlike text on the canvas.

use crate::text::esc;
use std::fmt::Write;

/// One entry of a legend: a filled swatch, a dashed line (a limit), or a round dot (a point of
/// that colour, outlined).
#[derive(Debug)]
pub enum Key<'a> {
    Swatch(&'a str, String),
    Dashed(String),
    Dot(&'a str, String),
}

/// A legend as an HTML list under the chart.
pub fn legend(keys: &[Key<'_>]) -> String {
    let mut out = String::from(r#"<ul class="legend">"#);
    for k in keys {
        match k {
            Key::Swatch(colour, label) => {
                let _ = write!(out, r#"<li><span class="sw" style="background:{colour}"></span>{}</li>"#, esc(label));
            }
            Key::Dot(colour, label) => {
                let _ = write!(out, r#"<li><span class="sw dot" style="background:{colour}"></span>{}</li>"#, esc(label));
            }
            Key::Dashed(label) => {
                let _ = write!(out, r#"<li><span class="ln"></span>{}</li>"#, esc(label));
            }
        }
    }
    out.push_str("</ul>");
    out
}
