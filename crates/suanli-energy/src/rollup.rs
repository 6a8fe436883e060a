//! A data centre's energy per 15-minute bucket and channel, in Fenwick trees: any window's total in O(log n), updates in O(log n).
//!
//! Each channel (facility, IT, cooling, renewable, water) is one Fenwick (binary indexed) tree
//! of `i64` millionths of its unit over buckets `base..base + len`. A year of 15-minute buckets
//! is 35,040 entries, 280 KB per channel; a window's sum is two prefix queries of at most 16
//! steps each, so the PUE of any window costs four such queries whatever its length. Only the
//! facility and IT channels are allocated up front; the others when a meter first writes to
//! them. Coarser series (hour, day, month) are sums over their bucket ranges.

use crate::meter::Channel;
use crate::series::{BUCKET_MS, MICRO_PER_UNIT};
use suanli_core::time::{MS_PER_DAY, UnixMs, days_from_civil, format_date};

/// Buckets added in front when data arrives before the base: amortises backfill (30 days).
const REBASE_SLACK: usize = 2_880;

/// Per-bucket totals of one data centre with O(log n) window sums.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    base: i64,
    len: usize,
    channels: [Option<Fenwick>; 5],
}

impl Rollup {
    pub fn new() -> Rollup {
        Rollup::default()
    }

    /// A standalone rollup from facility and IT energy per bucket (kWh), the first at bucket
    /// `base`: for analyses of stored totals and for benchmarks.
    pub fn from_kwh(base: i64, facility_kwh: &[f64], it_kwh: &[f64]) -> Rollup {
        let len = facility_kwh.len().max(it_kwh.len());
        let micro = |v: &[f64]| {
            let mut out: Vec<i64> = v.iter().map(|x| (x * MICRO_PER_UNIT).round() as i64).collect();
            out.resize(len, 0);
            Fenwick::from_values(out)
        };
        let mut channels: [Option<Fenwick>; 5] = Default::default();
        channels[Channel::Facility.index()] = Some(micro(facility_kwh));
        channels[Channel::It.index()] = Some(micro(it_kwh));
        Rollup { base, len, channels }
    }

    /// First bucket held (meaningful once anything was added).
    pub fn base(&self) -> i64 {
        self.base
    }

    /// Buckets held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `micro` millionths of the channel's unit to a bucket (negative to withdraw).
    pub fn add(&mut self, channel: Channel, bucket: i64, micro: i64) {
        if micro == 0 {
            return;
        }
        self.cover(bucket);
        let len = self.len;
        let tree = self.channels[channel.index()].get_or_insert_with(|| Fenwick::zeros(len));
        tree.add((bucket - self.base) as usize, micro);
    }

    /// Total of a channel over buckets `[from, to)`, in millionths of its unit. Buckets never
    /// written count as zero.
    pub fn sum(&self, channel: Channel, from: i64, to: i64) -> i64 {
        let Some(tree) = &self.channels[channel.index()] else { return 0 };
        let clamp = |b: i64| (b - self.base).clamp(0, self.len as i64) as usize;
        let (f, t) = (clamp(from), clamp(to));
        if t <= f { 0 } else { tree.prefix(t) - tree.prefix(f) }
    }

    /// Total of a channel over buckets `[from, to)` in its unit (kWh, or m³ for water).
    pub fn total(&self, channel: Channel, from: i64, to: i64) -> f64 {
        self.sum(channel, from, to) as f64 / MICRO_PER_UNIT
    }

    /// Facility over IT energy for buckets `[from, to)`, without any completeness rule: `None`
    /// when IT energy is zero. [`crate::EnergyBook::pue`] adds the rules.
    pub fn ratio(&self, from: i64, to: i64) -> Option<f64> {
        let it = self.sum(Channel::It, from, to);
        (it > 0).then(|| self.sum(Channel::Facility, from, to) as f64 / it as f64)
    }

    /// Energy of one bucket.
    pub fn bucket(&self, channel: Channel, bucket: i64) -> i64 {
        self.sum(channel, bucket, bucket + 1)
    }

    /// Whether the channel has ever been written (or was built in).
    pub fn has(&self, channel: Channel) -> bool {
        self.channels[channel.index()].is_some()
    }

    /// Milliseconds from the first to the end of the last bucket held.
    pub fn span_ms(&self) -> (i64, i64) {
        (self.base * BUCKET_MS, (self.base + self.len as i64) * BUCKET_MS)
    }

    /// Grows the held range to include `bucket`.
    fn cover(&mut self, bucket: i64) {
        if self.len == 0 {
            self.base = bucket;
        }
        if bucket < self.base {
            let shift = ((self.base - bucket) as usize).max(REBASE_SLACK.min(self.len.max(1)));
            for tree in self.channels.iter_mut().flatten() {
                let mut values = tree.values();
                values.splice(0..0, std::iter::repeat_n(0, shift));
                *tree = Fenwick::from_values(values);
            }
            self.base -= shift as i64;
            self.len += shift;
        }
        let needed = (bucket - self.base) as usize + 1;
        if needed > self.len {
            for tree in self.channels.iter_mut().flatten() {
                tree.grow(needed);
            }
            self.len = needed;
        }
    }
}

/// A Fenwick tree: `tree[i - 1]` holds the sum of values `(i - lowbit(i), i]` (1-based).
#[derive(Debug, Clone)]
struct Fenwick {
    tree: Vec<i64>,
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

impl Fenwick {
    fn zeros(len: usize) -> Fenwick {
        Fenwick { tree: vec![0; len] }
    }

    fn from_values(mut tree: Vec<i64>) -> Fenwick {
        let n = tree.len();
        for i in 1..=n {
            let j = i + lowbit(i);
            if j <= n {
                tree[j - 1] += tree[i - 1];
            }
        }
        Fenwick { tree }
    }

    fn values(&self) -> Vec<i64> {
        let mut v = self.tree.clone();
        for i in (1..=v.len()).rev() {
            let j = i + lowbit(i);
            if j <= v.len() {
                v[j - 1] -= v[i - 1];
            }
        }
        v
    }

    /// Adds `delta` to value `index` (0-based).
    fn add(&mut self, index: usize, delta: i64) {
        let mut i = index + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] += delta;
            i += lowbit(i);
        }
    }

    /// Sum of the first `n` values.
    fn prefix(&self, n: usize) -> i64 {
        let mut i = n.min(self.tree.len());
        let mut s = 0;
        while i > 0 {
            s += self.tree[i - 1];
            i -= lowbit(i);
        }
        s
    }

    /// Appends zero values up to `len`: each new node covers values already present.
    fn grow(&mut self, len: usize) {
        while self.tree.len() < len {
            let i = self.tree.len() + 1;
            let node = self.prefix(i - 1) - self.prefix(i - lowbit(i));
            self.tree.push(node);
        }
    }
}

/// The period of one point of a series. Days and months are local calendar periods (the
/// configured UTC offset, default UTC+8); quarter-hours and hours are the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Step {
    QuarterHour,
    Hour,
    Day,
    Month,
}

impl Step {
    /// Start of the period containing `ms`.
    pub fn floor(self, ms: UnixMs, utc_offset_ms: i64) -> UnixMs {
        let local = ms + utc_offset_ms;
        let start = match self {
            Step::QuarterHour => local - local.rem_euclid(BUCKET_MS),
            Step::Hour => local - local.rem_euclid(3_600_000),
            Step::Day => local - local.rem_euclid(MS_PER_DAY),
            Step::Month => {
                let (y, m) = year_month(local);
                days_from_civil(y, m, 1) * MS_PER_DAY
            }
        };
        start - utc_offset_ms
    }

    /// Start of the period after the one starting at `start` (a value [`Step::floor`] returned).
    pub fn next(self, start: UnixMs, utc_offset_ms: i64) -> UnixMs {
        match self {
            Step::QuarterHour => start + BUCKET_MS,
            Step::Hour => start + 3_600_000,
            Step::Day => start + MS_PER_DAY,
            Step::Month => {
                let (y, m) = year_month(start + utc_offset_ms);
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                days_from_civil(y, m, 1) * MS_PER_DAY - utc_offset_ms
            }
        }
    }
}

fn year_month(ms: UnixMs) -> (i64, i64) {
    let date = format_date(ms);
    (date[..4].parse().unwrap_or(1970), date[5..7].parse().unwrap_or(1))
}
