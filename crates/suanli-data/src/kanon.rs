//! k-anonymity over quasi-identifier columns: generalise column by column until every equivalence
//! class has k rows (suppressing a bounded share of outlier rows), and report the prosecutor risk.
//!
//! Memory: only the quasi-identifier columns are held, as one u32 per row and column plus each
//! column's distinct values; `max_rows` bounds it (10 million rows of 3 columns is about 120 MB
//! plus the distinct values).

use crate::error::DataError;
use crate::kind::Kind;
use crate::ops::{age_band, city, district};
use serde::Serialize;
use std::collections::HashMap;

/// How a quasi-identifier column is generalised, level by level; the last level is `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hierarchy {
    /// 37 → 35-39 → 30-39 → 20-39 → *.
    Age,
    /// 1990-03-07 → 1990-03 → 1990 → 1990s → *.
    Date,
    /// district → city → province → *.
    Address,
    /// Codes such as postcodes: one more trailing digit starred per level (310012 → 31001* → …) → *.
    Digits,
    /// A value or *.
    Categorical,
}

impl Hierarchy {
    /// Chosen by the column's kind, else by its sample values.
    pub fn infer(kind: Option<Kind>, sample: &[&str]) -> Hierarchy {
        match kind {
            Some(Kind::Age) => return Hierarchy::Age,
            Some(Kind::BirthDate) => return Hierarchy::Date,
            Some(Kind::Address) => return Hierarchy::Address,
            _ => {}
        }
        let filled: Vec<&str> = sample.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
        let all = |f: fn(&str) -> bool| !filled.is_empty() && filled.iter().all(|s| f(s));
        if all(|s| s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit())) {
            Hierarchy::Age
        } else if all(|s| s.len() >= 7 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit) && !s.as_bytes()[4].is_ascii_digit()) {
            Hierarchy::Date
        } else if all(|s| s.len() >= 4 && s.bytes().all(|b| b.is_ascii_digit())) {
            Hierarchy::Digits
        } else {
            Hierarchy::Categorical
        }
    }

    /// The number of levels, the last being `*`.
    pub fn levels(self) -> usize {
        match self {
            Hierarchy::Age | Hierarchy::Date | Hierarchy::Digits => 5,
            Hierarchy::Address => 4,
            Hierarchy::Categorical => 2,
        }
    }

    /// The value at a level (0 is the value itself; an address starts at its district).
    pub fn generalise(self, value: &str, level: usize) -> String {
        let v = value.trim();
        if level + 1 >= self.levels() {
            return "*".into();
        }
        match self {
            Hierarchy::Age => match v.parse::<u32>() {
                Ok(a) => [None, Some(5), Some(10), Some(20)][level].map_or_else(|| a.to_string(), |w| age_band(a, w)),
                Err(_) => "*".into(),
            },
            Hierarchy::Date => {
                let year = v.get(..4).filter(|y| y.bytes().all(|b| b.is_ascii_digit()));
                let month: String = v.get(5..).unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
                match (level, year) {
                    (_, None) => "*".into(),
                    (0, _) => v.to_string(),
                    (1, Some(y)) => format!("{y}-{month:0>2}"),
                    (2, Some(y)) => y.to_string(),
                    (_, Some(y)) => format!("{}0s", &y[..3]),
                }
            }
            Hierarchy::Address => match level {
                0 => district(v).to_string(),
                1 => city(v).to_string(),
                _ => province(v).to_string(),
            },
            Hierarchy::Digits => {
                let n = v.chars().count();
                v.chars().enumerate().map(|(i, c)| if i + level >= n { '*' } else { c }).collect()
            }
            Hierarchy::Categorical => v.to_string(),
        }
    }
}

fn province(address: &str) -> &str {
    for marker in ['省', '区'] {
        if let Some(i) = address.find(marker).filter(|&i| address[..i].chars().count() <= 8) {
            return &address[..i + marker.len_utf8()];
        }
    }
    address.char_indices().nth(2).map_or(address, |(i, _)| &address[..i])
}

/// One quasi-identifier column: its values interned.
#[derive(Debug)]
struct Column {
    name: String,
    hierarchy: Hierarchy,
    min_level: usize,
    ids: HashMap<String, u32>,
    distinct: Vec<String>,
    rows: Vec<u32>,
}

/// The quasi-identifiers of a whole table, gathered in a first pass.
#[derive(Debug)]
pub struct QuasiTable {
    columns: Vec<Column>,
    rows: usize,
    max_rows: usize,
}

/// What a k-anonymity solution does and what it reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KReport {
    pub k_target: usize,
    /// The smallest equivalence class among delivered rows (0 when no row is delivered).
    pub k_reached: usize,
    pub rows: usize,
    pub rows_suppressed: usize,
    pub classes: usize,
    /// Column, hierarchy and the level chosen (0 = as is).
    pub levels: Vec<(String, Hierarchy, usize)>,
    /// Prosecutor model: the highest chance to re-identify a delivered row (1 / smallest class).
    pub max_risk: f64,
    /// The average over delivered rows (classes / rows).
    pub avg_risk: f64,
}

/// The chosen levels and the rows to suppress.
#[derive(Debug, Clone)]
pub struct KPlan {
    hierarchies: Vec<Hierarchy>,
    levels: Vec<usize>,
    suppressed: Vec<bool>,
    pub report: KReport,
}

impl KPlan {
    pub fn is_suppressed(&self, row: usize) -> bool {
        self.suppressed.get(row).copied().unwrap_or(false)
    }

    /// The delivered value of quasi-identifier `col` (in the order the table was built with).
    pub fn value(&self, col: usize, original: &str) -> String {
        self.hierarchies[col].generalise(original, self.levels[col])
    }
}

impl QuasiTable {
    /// Columns as (name, hierarchy, lowest level the policy allows).
    pub fn new(columns: Vec<(String, Hierarchy, usize)>, max_rows: usize) -> QuasiTable {
        let columns = columns
            .into_iter()
            .map(|(name, hierarchy, min_level)| Column {
                name,
                hierarchy,
                min_level,
                ids: HashMap::new(),
                distinct: Vec::new(),
                rows: Vec::new(),
            })
            .collect();
        QuasiTable { columns, rows: 0, max_rows }
    }

    /// Adds one row's quasi-identifier values, in column order.
    pub fn push(&mut self, values: &[&str]) -> Result<(), DataError> {
        if self.rows >= self.max_rows {
            return Err(DataError::TooManyRows(format!(
                "k-anonymity holds at most {} rows of quasi-identifiers in memory; raise the limit or split the file",
                self.max_rows
            )));
        }
        for (c, v) in self.columns.iter_mut().zip(values) {
            let next = c.distinct.len() as u32;
            let id = *c.ids.entry(v.trim().to_string()).or_insert(next);
            if id == next {
                c.distinct.push(v.trim().to_string());
            }
            c.rows.push(id);
        }
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Per column, the generalised class id of each distinct value at `level`.
    fn class_ids(c: &Column, level: usize) -> Vec<u32> {
        let mut seen: HashMap<String, u32> = HashMap::new();
        c.distinct
            .iter()
            .map(|v| {
                let n = seen.len() as u32;
                *seen.entry(c.hierarchy.generalise(v, level)).or_insert(n)
            })
            .collect()
    }

    /// Equivalence class sizes and each row's class, at the given levels.
    fn classes(&self, levels: &[usize]) -> (Vec<usize>, Vec<u32>) {
        let maps: Vec<Vec<u32>> = self.columns.iter().zip(levels).map(|(c, &l)| QuasiTable::class_ids(c, l)).collect();
        let mut index: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut sizes = Vec::new();
        let mut of_row = Vec::with_capacity(self.rows);
        let mut key = Vec::with_capacity(self.columns.len());
        for r in 0..self.rows {
            key.clear();
            key.extend(self.columns.iter().zip(&maps).map(|(c, m)| m[c.rows[r] as usize]));
            let next = sizes.len() as u32;
            let class = *index.entry(key.clone()).or_insert(next);
            if class == next {
                sizes.push(0);
            }
            sizes[class as usize] += 1;
            of_row.push(class);
        }
        (sizes, of_row)
    }

    fn rows_below(sizes: &[usize], k: usize) -> usize {
        sizes.iter().filter(|&&s| s < k).sum()
    }

    /// Generalises greedily (each step raises the column that leaves the fewest rows in classes
    /// under k) until at most `max_suppressed_share` of the rows sit in such classes, then
    /// suppresses those rows.
    pub fn solve(&self, k: usize, max_suppressed_share: f64) -> KPlan {
        let budget = (self.rows as f64 * max_suppressed_share).floor() as usize;
        let mut levels: Vec<usize> = self.columns.iter().map(|c| c.min_level.min(c.hierarchy.levels() - 1)).collect();
        let (mut sizes, mut of_row) = self.classes(&levels);
        while QuasiTable::rows_below(&sizes, k) > budget {
            let best = (0..self.columns.len())
                .filter(|&c| levels[c] + 1 < self.columns[c].hierarchy.levels())
                .map(|c| {
                    let mut l = levels.clone();
                    l[c] += 1;
                    let (s, o) = self.classes(&l);
                    (QuasiTable::rows_below(&s, k), c, l, s, o)
                })
                .min_by_key(|(below, c, ..)| (*below, *c));
            match best {
                Some((_, _, l, s, o)) => (levels, sizes, of_row) = (l, s, o),
                None => break,
            }
        }
        let suppressed: Vec<bool> = of_row.iter().map(|&c| sizes[c as usize] < k).collect();
        let kept_sizes: Vec<usize> = sizes.iter().copied().filter(|&s| s >= k).collect();
        let kept: usize = kept_sizes.iter().sum();
        let k_reached = kept_sizes.iter().copied().min().unwrap_or(0);
        let report = KReport {
            k_target: k,
            k_reached,
            rows: self.rows,
            rows_suppressed: self.rows - kept,
            classes: kept_sizes.len(),
            levels: self.columns.iter().zip(&levels).map(|(c, &l)| (c.name.clone(), c.hierarchy, l)).collect(),
            max_risk: if k_reached > 0 { 1.0 / k_reached as f64 } else { 0.0 },
            avg_risk: if kept > 0 { kept_sizes.len() as f64 / kept as f64 } else { 0.0 },
        };
        KPlan { hierarchies: self.columns.iter().map(|c| c.hierarchy).collect(), levels, suppressed, report }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_step_by_step() {
        let cases = [
            (Hierarchy::Age, "37", ["37", "35-39", "30-39", "20-39", "*"].as_slice()),
            (Hierarchy::Date, "1990-03-07", &["1990-03-07", "1990-03", "1990", "1990s", "*"]),
            (Hierarchy::Address, "浙江省杭州市西湖区文三路90号", &["浙江省杭州市西湖区", "浙江省杭州市", "浙江省", "*"]),
            (Hierarchy::Digits, "310012", &["310012", "31001*", "3100**", "310***", "*"]),
            (Hierarchy::Categorical, "男", &["男", "*"]),
        ];
        for (h, v, want) in cases {
            let got: Vec<String> = (0..h.levels()).map(|l| h.generalise(v, l)).collect();
            assert_eq!(got, want.to_vec(), "{h:?}");
        }
        assert_eq!(Hierarchy::infer(None, &["23", "45"]), Hierarchy::Age);
        assert_eq!(Hierarchy::infer(None, &["310012", "100000"]), Hierarchy::Digits);
        assert_eq!(Hierarchy::infer(None, &["1990-01-02"]), Hierarchy::Date);
        assert_eq!(Hierarchy::infer(None, &["男", "女"]), Hierarchy::Categorical);
    }

    fn table(rows: &[(&str, &str, &str)]) -> QuasiTable {
        let mut t = QuasiTable::new(
            vec![("age".into(), Hierarchy::Age, 0), ("gender".into(), Hierarchy::Categorical, 0), ("zip".into(), Hierarchy::Digits, 0)],
            1000,
        );
        for (a, g, z) in rows {
            t.push(&[a, g, z]).unwrap();
        }
        t
    }

    #[test]
    fn k_is_reached_by_generalising_then_suppressing() {
        let rows = [
            ("31", "男", "310012"),
            ("33", "男", "310013"),
            ("34", "男", "310014"),
            ("36", "女", "310021"),
            ("38", "女", "310022"),
            ("39", "女", "310023"),
            ("52", "女", "310024"),
            ("35", "男", "310015"),
            ("37", "女", "310025"),
            ("32", "男", "310016"),
        ];
        let t = table(&rows);
        let plan = t.solve(2, 0.1);
        let r = &plan.report;
        assert!(r.k_reached >= 2, "{r:?}");
        assert!(r.rows_suppressed <= 1, "{r:?}");
        assert!((r.max_risk - 1.0 / r.k_reached as f64).abs() < 1e-9);
        assert!(r.avg_risk <= r.max_risk);
        // Every delivered row's generalised tuple is shared with at least k-1 others.
        let mut counts: HashMap<Vec<String>, usize> = HashMap::new();
        for (i, (a, g, z)) in rows.iter().enumerate() {
            if !plan.is_suppressed(i) {
                *counts.entry(vec![plan.value(0, a), plan.value(1, g), plan.value(2, z)]).or_default() += 1;
            }
        }
        assert!(counts.values().all(|&n| n >= 2), "{counts:?}");
    }

    #[test]
    fn already_anonymous_tables_stay_as_they_are_and_tiny_ones_are_suppressed() {
        let t = table(&[("30", "男", "310012"), ("30", "男", "310012"), ("30", "男", "310012")]);
        let r = t.solve(3, 0.0).report;
        assert_eq!((r.k_reached, r.rows_suppressed, r.classes), (3, 0, 1));
        assert!(r.levels.iter().all(|(_, _, l)| *l == 0));
        let t = table(&[("30", "男", "310012")]);
        let r = t.solve(5, 0.0).report;
        assert_eq!((r.k_reached, r.rows_suppressed), (0, 1));
        let mut t = QuasiTable::new(vec![("age".into(), Hierarchy::Age, 0)], 1);
        t.push(&["1"]).unwrap();
        assert_eq!(t.push(&["2"]).unwrap_err().code(), "too_many_rows");
    }
}
