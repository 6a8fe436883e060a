//! Suanli's SVG charts, shared by the web UI and the simulator's reports.
//!
//! Hand-written rather than a plotting crate because the charts are few and fixed, and the
//! output must stay byte-for-byte deterministic for a given input: no I/O, no clock, no
//! randomness. The pieces:
//!
//! - [`text`]: XML escaping, numbers with thousands separators, cutting long names.
//! - [`axis`]: "nice" tick steps and value axes (linear, logarithmic, fitted with a margin).
//! - [`time`]: calendar time in Asia/Shanghai (UTC+8): ticks on hours and days, hover moments.
//! - [`legend`]: the HTML legend under a web chart.
//! - [`report`]: standalone SVG documents for the simulator's reports (fixed size, legend on
//!   the canvas): line charts (linear or log x) and bar charts.
//! - [`figure`]: SVG figures for the web UI's pages (full width, titled by id, HTML legends,
//!   a value on hover): lines over calendar time, horizontal bars against a limit, stacked bars.
//! - [`check`]: a cheap well-formedness check that tests of charts use.

pub mod axis;
pub mod check;
pub mod figure;
pub mod legend;
pub mod report;
pub mod text;
pub mod time;

pub use legend::{Key, legend};
pub use report::{Series, bar_chart, line_chart};
pub use text::{esc, format_number};
