//! The benchmarks' progress on the terminal: bars and spinners, hidden when the output is JSON.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A bar of `n` steps reading "{msg} {bar} {pos}/{len} {unit}", the message padded to `width`
/// characters (none when 0) and no unit when `unit` is empty; hidden when `hidden`.
pub(crate) fn bar(hidden: bool, n: u64, msg: impl Into<String>, width: usize, unit: &str) -> ProgressBar {
    let pb = if hidden { ProgressBar::hidden() } else { ProgressBar::new(n) };
    let msg_field = if width == 0 { "{msg}".to_string() } else { format!("{{msg:{width}}}") };
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    let template = format!("{msg_field} {{bar:30}} {{pos}}/{{len}}{unit}");
    pb.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    pb.set_message(msg.into());
    pb
}

/// A spinner with the message and the time since it started; hidden when `hidden`.
pub(crate) fn spinner(hidden: bool, msg: impl Into<String>) -> ProgressBar {
    let pb = if hidden { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    pb.set_message(msg.into());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}
