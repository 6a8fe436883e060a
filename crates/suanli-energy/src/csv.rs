//! Meter readings from a CSV file (`centre_id,meter,ts|ts_ms,kwh|kw|m3`) into the objects of the JSON readings API, with the line of every fault.

use serde_json::{Value, json};

/// Parses the CSV into reading objects of `POST /api/v1/energy/readings`; an error names its line.
pub fn parse_readings(text: &str) -> Result<Vec<Value>, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("the file is empty")?;
    let cols: Vec<String> = header.split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
    let pos = |name: &str| cols.iter().position(|c| c == name);
    let centre = pos("centre_id").ok_or("the header has no centre_id column")?;
    let meter = pos("meter").ok_or("the header has no meter column")?;
    let (ts_col, ts_ms) = match (pos("ts"), pos("ts_ms")) {
        (Some(i), _) => (i, false),
        (None, Some(i)) => (i, true),
        _ => return Err("the header has no ts (RFC 3339) or ts_ms column".into()),
    };
    let (value, unit) =
        ["kwh", "kw", "m3"].iter().find_map(|u| pos(u).map(|i| (i, *u))).ok_or("the header names no value column: kwh, kw or m3")?;
    let mut out = Vec::new();
    for (n, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |i: usize| f.get(i).copied().ok_or_else(|| format!("line {}: too few fields", n + 1));
        let raw = get(value)?;
        let v: f64 = raw.parse().map_err(|_| format!("line {}: '{raw}' is not a number", n + 1))?;
        let mut r = json!({"centre_id": get(centre)?, "meter": get(meter)?, unit: v});
        if ts_ms {
            r["ts_ms"] = json!(get(ts_col)?.parse::<i64>().map_err(|_| format!("line {}: ts_ms is not an integer", n + 1))?);
        } else {
            r["ts"] = json!(get(ts_col)?);
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_from_csv_with_line_numbers() {
        let ok = parse_readings("centre_id,meter,ts_ms,kwh\nctr_1,facility,1000,5.5\n\nctr_1,it,2000,4\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1], json!({"centre_id": "ctr_1", "meter": "it", "ts_ms": 2000, "kwh": 4.0}));
        assert_eq!(parse_readings("centre_id,meter,ts,kw\nc,m,2026-01-01T00:00:00Z,1").unwrap()[0]["ts"], "2026-01-01T00:00:00Z");
        for (text, want) in [
            ("", "empty"),
            ("meter,ts,kwh\n", "centre_id"),
            ("centre_id,meter,ts_ms,kwh\nc,m,1,x\n", "line 2"),
            ("centre_id,meter,ts_ms,kwh\nc,m\n", "line 2: too few"),
            ("centre_id,meter,ts_ms,kwh\nc,m,1.5,1\n", "ts_ms"),
            ("centre_id,meter,ts_ms\n", "value column"),
        ] {
            assert!(parse_readings(text).unwrap_err().contains(want), "{text:?}");
        }
    }
}
