//! Column-level processing: profile a sample to tag each column's kind, then de-identify row by row —
//! whole cells in tagged columns, found spans in free text, quasi-identifiers by the k-anonymity plan.

use crate::detect::{Span, looks_like_name, scan_into};
use crate::error::DataError;
use crate::kanon::{Hierarchy, KPlan, KReport, QuasiTable};
use crate::kind::Kind;
use crate::ops::{Operator, PseudonymKey, apply_into};
use crate::policy::Policy;
use serde::Serialize;
use std::collections::BTreeMap;

/// Rows the profiler looks at by default.
pub const SAMPLE_ROWS: usize = 1000;

/// What a column holds, for the catalogue's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnProfile {
    pub name: String,
    /// The kind every cell is treated as (from its values, or its header when values do not say).
    pub kind: Option<Kind>,
    /// Identifiers found in the sampled cells, by kind.
    pub found: BTreeMap<Kind, u64>,
    pub sampled: u64,
}

/// Gathers a sample's evidence per column.
#[derive(Debug)]
pub struct Profiler {
    columns: Vec<ColumnProfile>,
    /// Per column: cells that are wholly one kind, and cells that look like a name.
    whole: Vec<BTreeMap<Kind, u64>>,
    names: Vec<u64>,
    spans: Vec<Span>,
}

impl Profiler {
    pub fn new(headers: &[String]) -> Profiler {
        let columns = headers.iter().map(|h| ColumnProfile { name: h.clone(), kind: None, found: BTreeMap::new(), sampled: 0 }).collect();
        Profiler { columns, whole: vec![BTreeMap::new(); headers.len()], names: vec![0; headers.len()], spans: Vec::new() }
    }

    /// Looks at one row (extra cells beyond the header are ignored).
    pub fn add_row(&mut self, fields: &[impl AsRef<str>]) {
        for (c, f) in fields.iter().enumerate().take(self.columns.len()) {
            let cell = f.as_ref().trim();
            if cell.is_empty() {
                continue;
            }
            self.columns[c].sampled += 1;
            scan_into(cell, &mut self.spans);
            for s in &self.spans {
                *self.columns[c].found.entry(s.kind).or_default() += 1;
            }
            if let [s] = self.spans.as_slice()
                && s.start == 0
                && s.end == cell.len()
            {
                *self.whole[c].entry(s.kind).or_default() += 1;
            }
            self.names[c] += u64::from(self.spans.is_empty() && looks_like_name(cell));
        }
    }

    /// Tags each column: a kind that fills at least half its cells, else names in 60% of them, else its header's kind.
    pub fn finish(mut self) -> Vec<ColumnProfile> {
        for (c, col) in self.columns.iter_mut().enumerate() {
            let n = col.sampled.max(1);
            let by_values = self.whole[c].iter().max_by_key(|(_, v)| **v).filter(|(_, v)| **v * 2 >= n).map(|(k, _)| *k);
            let names = (self.names[c] * 10 >= n * 6).then_some(Kind::Name);
            col.kind = by_values.or(names).or_else(|| Kind::from_header(&col.name));
        }
        self.columns
    }
}

/// What a delivery found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub rows_in: u64,
    pub rows_out: u64,
    /// Rows refused by the reader (each reported with its line), never delivered.
    pub rows_malformed: u64,
    /// Identifiers found, by kind (a tagged column's non-empty cells count one each).
    pub found: BTreeMap<Kind, u64>,
    /// The operator applied to each kind found.
    pub actions: BTreeMap<Kind, Operator>,
    pub columns: Vec<ColumnProfile>,
    pub k_anonymity: Option<KReport>,
}

/// Applies a policy to rows of a profiled table.
#[derive(Debug)]
pub struct Deidentifier {
    policy: Policy,
    key: Option<PseudonymKey>,
    columns: Vec<ColumnProfile>,
    /// For each column, its position among the quasi-identifiers.
    quasi_of: Vec<Option<usize>>,
    plan: Option<KPlan>,
    spans: Vec<Span>,
    /// The policy's operator per kind (by `Kind as usize`), and what was found of each: counted
    /// here per value, put in the report when it is asked for.
    ops: [Operator; KINDS],
    found: [u64; KINDS],
    report: Report,
}

const KINDS: usize = Kind::ALL.len();

impl Deidentifier {
    /// Checks the policy against the key and the quasi-identifier columns (by name).
    pub fn new(
        policy: Policy,
        key: Option<PseudonymKey>,
        columns: Vec<ColumnProfile>,
        quasi: &[String],
    ) -> Result<Deidentifier, DataError> {
        policy.validate(key.is_some())?;
        let mut quasi_of = vec![None; columns.len()];
        for (i, q) in quasi.iter().enumerate() {
            let c = columns.iter().position(|c| c.name == *q).ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                DataError::UnknownColumn(format!("no column '{q}' for k-anonymity; the columns are {}", names.join(", ")))
            })?;
            if let Some(kind) = columns[c].kind.filter(|k| k.is_direct() && *k != Kind::Address) {
                return Err(DataError::InvalidPolicy(format!(
                    "column '{q}' holds {kind}, a direct identifier: the policy de-identifies it, it is no quasi-identifier"
                )));
            }
            quasi_of[c] = Some(i);
        }
        let report = Report { columns: columns.clone(), ..Report::default() };
        let ops = Kind::ALL.map(|k| policy.action(k));
        Ok(Deidentifier { policy, key, columns, quasi_of, plan: None, spans: Vec::new(), ops, found: [0; KINDS], report })
    }

    /// An empty table of this delivery's quasi-identifiers, each with its hierarchy (inferred from `sample`
    /// rows) and the lowest level the policy allows.
    pub fn quasi_table(&self, sample: &[Vec<String>], max_rows: usize) -> QuasiTable {
        let mut cols: Vec<(usize, usize)> = self.quasi_of.iter().enumerate().filter_map(|(c, q)| q.map(|q| (q, c))).collect();
        cols.sort();
        let spec = cols
            .into_iter()
            .map(|(_, c)| {
                let kind = self.columns[c].kind;
                let values: Vec<&str> = sample.iter().filter_map(|r| r.get(c).map(String::as_str)).collect();
                let h = Hierarchy::infer(kind, &values);
                let min = match (kind.map(|k| self.policy.action(k)), h) {
                    (Some(Operator::Generalise), Hierarchy::Age | Hierarchy::Date) => 2,
                    (Some(Operator::Suppress | Operator::Redact | Operator::Mask | Operator::Pseudonym), _) => h.levels() - 1,
                    _ => 0,
                };
                (self.columns[c].name.clone(), h, min)
            })
            .collect();
        QuasiTable::new(spec, max_rows)
    }

    /// The quasi-identifier values of a row, in the quasi table's order.
    pub fn quasi_values<'r>(&self, fields: &'r [String]) -> Vec<&'r str> {
        let mut v: Vec<(usize, &str)> =
            self.quasi_of.iter().enumerate().filter_map(|(c, q)| q.map(|q| (q, fields.get(c).map_or("", String::as_str)))).collect();
        v.sort();
        v.into_iter().map(|(_, s)| s).collect()
    }

    /// Sets the k-anonymity plan solved over the whole table.
    pub fn set_plan(&mut self, plan: KPlan) {
        self.report.k_anonymity = Some(plan.report.clone());
        self.plan = Some(plan);
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// De-identifies free text: every span found gets its kind's operator.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = String::new();
        self.text_into(text, &mut out);
        out
    }

    /// [`Deidentifier::text`] appended to `out`.
    pub fn text_into(&mut self, text: &str, out: &mut String) {
        scan_into(text, &mut self.spans);
        self.rewrite(text, 0, out);
    }

    /// Appends `text` with each span of `self.spans` (offsets from `text[base..]`) replaced by its operator's output.
    fn rewrite(&mut self, text: &str, base: usize, out: &mut String) {
        let mut at = 0;
        for s in &self.spans {
            let (start, end, k) = (base + s.start, base + s.end, s.kind as usize);
            self.found[k] += 1;
            out.push_str(&text[at..start]);
            apply_into(self.ops[k], s.kind, &text[start..end], self.key.as_ref(), out);
            at = end;
        }
        out.push_str(&text[at..]);
    }

    /// De-identifies one cell of column `col` (None: a value outside the profiled columns).
    pub fn cell(&mut self, col: Option<usize>, value: &str) -> String {
        let mut out = String::new();
        self.cell_into(col, value, &mut out);
        out
    }

    /// A tagged column's cell gets its column's operator whole, unless a scan finds something else in
    /// it: a cell that is wholly another kind gets that kind's operator, a cell with identifiers inside
    /// text is treated as free text (so a resident ID in a mobile column is not masked as a mobile).
    fn cell_into(&mut self, col: Option<usize>, value: &str, out: &mut String) {
        let v = crate::ops::trim(value);
        let Some(column_kind) = col.and_then(|c| self.columns.get(c)).and_then(|c| c.kind).filter(|_| !v.is_empty()) else {
            return self.text_into(value, out);
        };
        scan_into(v, &mut self.spans);
        let kind = match self.spans.as_slice() {
            [] => column_kind,
            [s] if s.start == 0 && s.end == v.len() => s.kind,
            // Free text: the spans found in the trimmed cell, placed back in the cell (no second scan).
            _ => return self.rewrite(value, v.as_ptr() as usize - value.as_ptr() as usize, out),
        };
        self.found[kind as usize] += 1;
        apply_into(self.ops[kind as usize], kind, v, self.key.as_ref(), out);
    }

    /// Starts the `row`-th valid row (counting from 0, as in the first pass); false when k-anonymity
    /// suppresses it.
    pub fn begin_row(&mut self, row: usize) -> bool {
        self.report.rows_in += 1;
        let kept = !self.plan.as_ref().is_some_and(|p| p.is_suppressed(row));
        self.report.rows_out += u64::from(kept);
        kept
    }

    /// De-identifies the value of column `col` in a row begun with [`Deidentifier::begin_row`].
    pub fn field(&mut self, col: Option<usize>, value: &str) -> String {
        let mut out = String::new();
        self.field_into(col, value, &mut out);
        out
    }

    /// [`Deidentifier::field`] appended to `out`.
    pub fn field_into(&mut self, col: Option<usize>, value: &str, out: &mut String) {
        match (col.and_then(|c| self.quasi_of.get(c).copied().flatten()), &self.plan) {
            (Some(q), Some(plan)) => out.push_str(&plan.value(q, value)),
            _ => self.cell_into(col, value, out),
        }
    }

    /// De-identifies a row; None when k-anonymity suppresses it.
    pub fn row(&mut self, row: usize, fields: &[String]) -> Option<Vec<String>> {
        if !self.begin_row(row) {
            return None;
        }
        Some(fields.iter().enumerate().map(|(c, f)| self.field(Some(c), f)).collect())
    }

    /// Counts a row refused by the reader.
    pub fn malformed(&mut self) {
        self.report.rows_malformed += 1;
    }

    /// What the delivery found and did so far.
    pub fn report(&self) -> Report {
        let mut r = self.report.clone();
        for (k, &n) in Kind::ALL.iter().zip(&self.found).filter(|(_, n)| **n > 0) {
            r.found.insert(*k, n);
            r.actions.insert(*k, self.ops[*k as usize]);
        }
        r
    }
}

#[cfg(test)]
mod tests;
