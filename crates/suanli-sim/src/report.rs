//! Rendering a comparison of policies: Markdown and terminal tables, one JSON object, and SVG charts.

use crate::metrics::PolicyResult;
use serde_json::{Map, Value};
use suanli_charts::{Series, bar_chart, format_number, line_chart};

const HEADERS: [&str; 13] = [
    "policy",
    "completed",
    "avg JCT (h)",
    "p50 JCT (h)",
    "p99 JCT (h)",
    "avg queue (h)",
    "makespan (h)",
    "utilisation %",
    "cost ¥",
    "carbon kg",
    "SLO violations",
    "Jain",
    "outside Hangzhou %",
];

fn hours(s: f64) -> String {
    format_number(s / 3600.0, 2)
}

/// The cells of one row, formatted for people: hours with 2 decimals, yuan with thousands
/// separators and fen, shares as percentages.
fn cells(r: &PolicyResult) -> [String; 13] {
    [
        r.policy.clone(),
        format_number(r.completed as f64, 0),
        hours(r.avg_jct_s),
        hours(r.p50_jct_s),
        hours(r.p99_jct_s),
        hours(r.avg_queue_s),
        hours(r.makespan_s),
        format_number(r.utilisation * 100.0, 1),
        format_number(r.cost_yuan, 2),
        format_number(r.carbon_kg, 1),
        format_number(r.slo_violations as f64, 0),
        format_number(r.jain_fairness, 3),
        format_number(r.share_outside_home * 100.0, 1),
    ]
}

/// A GitHub-flavoured Markdown table, one row per policy, numbers right-aligned.
pub fn markdown_table(results: &[PolicyResult]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str("|:---|");
    for _ in 1..HEADERS.len() {
        out.push_str("---:|");
    }
    out.push('\n');
    for r in results {
        let mut row = cells(r);
        // A '|' in a policy name would split the cell; a newline would end the table.
        row[0] = row[0].replace('|', "\\|").replace(['\n', '\r'], " ");
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// The same table for a terminal, framed with box-drawing characters. Column widths count
/// East Asian wide characters as two cells so Chinese policy names stay aligned.
pub fn text_table(results: &[PolicyResult]) -> String {
    let rows: Vec<[String; 13]> = results
        .iter()
        .map(|r| {
            let mut c = cells(r);
            c[0] = c[0].replace(['\n', '\r', '\t'], " ");
            c
        })
        .collect();
    let widths: Vec<usize> = (0..HEADERS.len())
        .map(|i| rows.iter().map(|r| display_width(&r[i])).chain([display_width(HEADERS[i])]).max().unwrap_or(0))
        .collect();
    let rule = |left: &str, mid: &str, right: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{left}{}{right}\n", parts.join(mid))
    };
    let line = |cells: &[String], header: bool| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - display_width(c));
                if i == 0 || header { format!(" {c}{pad} ") } else { format!(" {pad}{c} ") }
            })
            .collect();
        format!("│{}│\n", parts.join("│"))
    };
    let mut out = rule("┌", "┬", "┐");
    out.push_str(&line(&HEADERS.map(String::from), true));
    out.push_str(&rule("├", "┼", "┤"));
    for r in &rows {
        out.push_str(&line(r, false));
    }
    out.push_str(&rule("└", "┴", "┘"));
    out
}

/// `{"policies": {"<name>": {...}}}` with every [`PolicyResult`] field except `jct_cdf`
/// (charts carry the curve). A repeated policy name gets " (2)", " (3)"... so no result is lost.
pub fn json(results: &[PolicyResult]) -> Value {
    let mut policies = Map::new();
    for r in results {
        let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.remove("jct_cdf");
        }
        let mut key = r.policy.clone();
        let mut n = 1;
        while policies.contains_key(&key) {
            n += 1;
            key = format!("{} ({n})", r.policy);
        }
        policies.insert(key, v);
    }
    let mut root = Map::new();
    root.insert("policies".to_string(), Value::Object(policies));
    Value::Object(root)
}

/// The standard charts as (file name, SVG): `jct-cdf.svg` (log-scale hours), `cost.svg`,
/// `carbon.svg` and `avg-jct.svg`.
pub fn charts(results: &[PolicyResult]) -> Vec<(String, String)> {
    let cdf: Vec<Series> = results
        .iter()
        .map(|r| Series { name: r.policy.clone(), points: r.jct_cdf.iter().map(|&(s, f)| (s / 3600.0, f)).collect() })
        .collect();
    let bars = |f: fn(&PolicyResult) -> f64| -> Vec<(String, f64)> { results.iter().map(|r| (r.policy.clone(), f(r))).collect() };
    vec![
        (
            "jct-cdf.svg".to_string(),
            line_chart("Job completion time (CDF)", "job completion time (h, log scale)", "fraction of completed jobs", &cdf, true),
        ),
        ("cost.svg".to_string(), bar_chart("Cost per policy (¥)", "¥", &bars(|r| r.cost_yuan))),
        ("carbon.svg".to_string(), bar_chart("Carbon per policy (kg CO₂e)", "kg CO₂e", &bars(|r| r.carbon_kg))),
        ("avg-jct.svg".to_string(), bar_chart("Average job completion time (h)", "h", &bars(|r| r.avg_jct_s / 3600.0))),
    ]
}

/// Terminal columns a string takes: 2 for East Asian wide and full-width characters, else 1.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_charts::check::check_svg;

    fn result(policy: &str) -> PolicyResult {
        PolicyResult {
            policy: policy.into(),
            jobs: 12_000,
            completed: 11_500,
            unfinished: 500,
            avg_jct_s: 7_200.0,
            p50_jct_s: 1_800.0,
            p99_jct_s: 3_600_000.0,
            avg_queue_s: 900.0,
            p99_queue_s: 36_000.0,
            makespan_s: 8_640_000.0,
            utilisation: 0.6543,
            cost_yuan: 1_234_567.891,
            carbon_kg: 98_765.43,
            slo_violations: 1_234,
            jain_fairness: 0.87654,
            share_outside_home: 0.125,
            jct_cdf: vec![(60.0, 0.1), (3_600.0, 0.5), (360_000.0, 1.0)],
        }
    }

    #[test]
    fn markdown() {
        let md = markdown_table(&[result("fifo"), result("a|b")]);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            "| policy | completed | avg JCT (h) | p50 JCT (h) | p99 JCT (h) | avg queue (h) | makespan (h) | utilisation % | cost ¥ | carbon kg | SLO violations | Jain | outside Hangzhou % |"
        );
        assert_eq!(
            lines[2],
            "| fifo | 11,500 | 2.00 | 0.50 | 1,000.00 | 0.25 | 2,400.00 | 65.4 | 1,234,567.89 | 98,765.4 | 1,234 | 0.877 | 12.5 |"
        );
        assert!(lines[3].starts_with("| a\\|b | "));
        // Every row has the same number of unescaped cell separators.
        let seps = |l: &str| l.replace("\\|", "").matches('|').count();
        assert!(lines.iter().all(|l| seps(l) == 14), "{md}");
        assert_eq!(markdown_table(&[]).lines().count(), 2);
    }

    #[test]
    fn text_tables_align() {
        let cases: Vec<Vec<PolicyResult>> = vec![vec![], vec![result("fifo")], vec![result("fifo"), result("费用优先"), result("x")]];
        for results in cases {
            let t = text_table(&results);
            let widths: Vec<usize> = t.lines().map(display_width).collect();
            assert_eq!(widths.len(), results.len() + 4, "{t}");
            assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
            assert!(t.starts_with('┌') && t.trim_end().ends_with('┘'));
        }
        let t = text_table(&[result("fifo")]);
        assert!(t.contains("│ fifo   │"), "{t}");
        assert!(t.contains(" 1,234,567.89 │"), "{t}");
    }

    #[test]
    fn json_is_one_object_keyed_by_policy() {
        let v = json(&[result("fifo"), result("cost"), result("fifo")]);
        let p = v["policies"].as_object().unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["cost", "fifo", "fifo (2)"]);
        assert_eq!(p["fifo"]["completed"], 11_500);
        assert_eq!(p["fifo"]["policy"], "fifo");
        assert!(p["fifo"].get("jct_cdf").is_none());
        assert_eq!(p["fifo"].as_object().unwrap().len(), 16);
        assert_eq!(json(&[]), serde_json::json!({"policies": {}}));
    }

    #[test]
    fn chart_set() {
        for results in [vec![], vec![result("fifo"), result("cost & <carbon>")]] {
            let charts = charts(&results);
            let names: Vec<&str> = charts.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["jct-cdf.svg", "cost.svg", "carbon.svg", "avg-jct.svg"]);
            for (name, svg) in &charts {
                check_svg(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        let charts = charts(&[result("fifo")]);
        assert!(charts[0].1.contains(">100<"), "JCT CDF in hours on a log axis");
        assert!(charts[1].1.contains("1,234,568"));
        assert!(charts[3].1.contains(">2.00<"));
    }

    #[test]
    fn widths() {
        let cases = [("", 0), ("fifo", 4), ("¥", 1), ("费用", 4), ("a费", 3), ("─", 1)];
        for (s, w) in cases {
            assert_eq!(display_width(s), w, "{s}");
        }
    }
}
