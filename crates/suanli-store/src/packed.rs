//! Packed reading blocks: the readings of one energy commit as compact binary (names once, times as varint deltas of deltas, values XOR'd with the one before), what `energy_blocks.packed` holds.
//!
//! A row is the byte [`VERSION`] and then one or more segments, one per sender's batch, so the
//! one writer joins batches by concatenation. A segment is:
//!
//! ```text
//! base      zigzag varint            every time below counts from it (ms)
//! names     varint count, then each: varint length, UTF-8 bytes (centre ids and meter names)
//! parts     varint count, then each:
//!   centre  varint index into names
//!   meter   varint index into names
//!   first   zigzag varint            the part's first time minus base
//!   n       varint                   readings in the part (at least 1)
//!   value   of the first reading
//!   n - 1 times: zigzag varint of (this gap - the gap before; the first gap counts from 0),
//!                then the value
//! value     x = bits ^ the previous reading's bits (0 before a part's first):
//!           one byte 8 * lz + tz (lz, tz: whole zero bytes leading and trailing in x), or 64
//!           when x = 0; then the 8 - lz - tz bytes of x between them, little-endian
//! ```
//!
//! A meter sampled at a steady interval and changing slowly costs about a byte for its time and
//! a header and the changed bytes of its value: some 8 bytes a reading against about 24 as text,
//! and every value reads back bit for bit. Integers wrap, so any i64 time round-trips.

use std::collections::HashMap;

/// The format version, the first byte of every packed row.
pub const VERSION: u8 = 1;

/// The header byte of a value equal to the one before.
const SAME: u8 = 64;

/// One sender's readings being packed as a segment; see the module docs.
#[derive(Debug)]
pub struct Segment<'a> {
    base_ms: i64,
    names: Vec<&'a str>,
    /// Names hashed with foldhash: a remote write's segment names hundreds of centres.
    index: HashMap<&'a str, u64, foldhash::fast::RandomState>,
    parts: u64,
    body: Vec<u8>,
}

impl<'a> Segment<'a> {
    /// A segment whose times count from `base_ms` (any time works; the earliest is shortest),
    /// with room for about `readings` readings.
    pub fn new(base_ms: i64, readings: usize) -> Self {
        Segment { base_ms, names: Vec::new(), index: HashMap::default(), parts: 0, body: Vec::with_capacity(readings * 9) }
    }

    fn name(&mut self, name: &'a str) -> u64 {
        let next = self.names.len() as u64;
        *self.index.entry(name).or_insert_with(|| {
            self.names.push(name);
            next
        })
    }

    /// Appends `centre`'s readings of `meter`, (time, value) in the order given; nothing when
    /// there are none.
    pub fn part(&mut self, centre: &'a str, meter: &'a str, readings: impl ExactSizeIterator<Item = (i64, f64)>) {
        let mut readings = readings;
        let n = readings.len() as u64;
        let Some((t0, v0)) = readings.next() else { return };
        let (c, m) = (self.name(centre), self.name(meter));
        let body = &mut self.body;
        for v in [c, m, zigzag(t0.wrapping_sub(self.base_ms)), n] {
            put_varint(body, v);
        }
        put_value(body, v0.to_bits(), 0);
        let (mut prev_t, mut prev_gap, mut prev_bits) = (t0, 0i64, v0.to_bits());
        for (t, v) in readings {
            let gap = t.wrapping_sub(prev_t);
            put_varint(body, zigzag(gap.wrapping_sub(prev_gap)));
            put_value(body, v.to_bits(), prev_bits);
            (prev_t, prev_gap, prev_bits) = (t, gap, v.to_bits());
        }
        self.parts += 1;
    }

    /// The segment's bytes, appended to `out`.
    pub fn finish(self, out: &mut Vec<u8>) {
        out.reserve(self.body.len() + 16 + self.names.iter().map(|n| n.len() + 2).sum::<usize>());
        put_varint(out, zigzag(self.base_ms));
        put_varint(out, self.names.len() as u64);
        for name in &self.names {
            put_varint(out, name.len() as u64);
            out.extend_from_slice(name.as_bytes());
        }
        put_varint(out, self.parts);
        out.extend_from_slice(&self.body);
    }
}

/// Reads a packed row (the version byte and its segments), calling `each(centre, meter, time,
/// value)` for every reading of the centre `wanted` (of every centre when `None`), in the order
/// they were packed. A row this build cannot read is an error naming what is wrong.
pub fn read(row: &[u8], wanted: Option<&str>, mut each: impl FnMut(&str, &str, i64, f64)) -> Result<(), String> {
    let mut r = Reader { buf: row, at: 0 };
    match r.byte()? {
        VERSION => {}
        v => return Err(format!("packed block version {v}; this build reads version {VERSION}")),
    }
    while r.at < row.len() {
        let base = unzigzag(r.varint()?);
        let count = r.varint()?;
        let mut names = Vec::with_capacity((count as usize).min(r.left()));
        for _ in 0..count {
            let len = r.varint()?;
            let bytes = r.take(len)?;
            names.push(std::str::from_utf8(bytes).map_err(|e| format!("a name at byte {}: {e}", r.at))?);
        }
        for _ in 0..r.varint()? {
            let name = |i: u64| names.get(i as usize).copied().ok_or_else(|| format!("name {i} of {}", names.len()));
            let (centre, meter) = (name(r.varint()?)?, name(r.varint()?)?);
            let mut t = base.wrapping_add(unzigzag(r.varint()?));
            let n = r.varint()?;
            if n == 0 {
                return Err(format!("a part of no readings at byte {}", r.at));
            }
            let keep = wanted.is_none_or(|w| w == centre);
            let mut bits = r.value(0)?;
            if keep {
                each(centre, meter, t, f64::from_bits(bits));
            }
            let mut gap = 0i64;
            for _ in 1..n {
                gap = gap.wrapping_add(unzigzag(r.varint()?));
                t = t.wrapping_add(gap);
                bits = r.value(bits)?;
                if keep {
                    each(centre, meter, t, f64::from_bits(bits));
                }
            }
        }
    }
    Ok(())
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_value(out: &mut Vec<u8>, bits: u64, prev: u64) {
    let x = bits ^ prev;
    if x == 0 {
        out.push(SAME);
        return;
    }
    let (lz, tz) = (x.leading_zeros() / 8, x.trailing_zeros() / 8);
    out.push((lz * 8 + tz) as u8);
    out.extend_from_slice(&(x >> (tz * 8)).to_le_bytes()[..(8 - lz - tz) as usize]);
}

/// A cursor over a packed row; every read past its end is an error.
struct Reader<'b> {
    buf: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn left(&self) -> usize {
        self.buf.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.buf.get(self.at).ok_or_else(|| format!("the row ends at byte {}", self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, len: u64) -> Result<&'b [u8], String> {
        if len > self.left() as u64 {
            return Err(format!("{len} bytes wanted at byte {}, {} left", self.at, self.left()));
        }
        let out = &self.buf[self.at..self.at + len as usize];
        self.at += len as usize;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(format!("a varint longer than 64 bits at byte {}", self.at))
    }

    fn value(&mut self, prev: u64) -> Result<u64, String> {
        let h = self.byte()?;
        if h == SAME {
            return Ok(prev);
        }
        let (lz, tz) = (u32::from(h / 8), u32::from(h % 8));
        if h > SAME || lz + tz > 7 {
            return Err(format!("value header {h} at byte {}", self.at - 1));
        }
        let bytes = self.take(u64::from(8 - lz - tz))?;
        let mut x = [0u8; 8];
        x[..bytes.len()].copy_from_slice(bytes);
        Ok(prev ^ (u64::from_le_bytes(x) << (tz * 8)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A centre, a meter and its (time, value) readings.
    type Part<'a> = (&'a str, &'a str, Vec<(i64, f64)>);

    fn pack(segments: &[(i64, Vec<Part>)]) -> Vec<u8> {
        let mut row = vec![VERSION];
        for (base, parts) in segments {
            let mut s = Segment::new(*base, 16);
            for (c, m, readings) in parts {
                s.part(c, m, readings.iter().copied());
            }
            s.finish(&mut row);
        }
        row
    }

    fn unpack(row: &[u8], wanted: Option<&str>) -> Result<Vec<(String, String, i64, u64)>, String> {
        let mut out = Vec::new();
        read(row, wanted, |c, m, t, v| out.push((c.to_string(), m.to_string(), t, v.to_bits())))?;
        Ok(out)
    }

    #[test]
    fn awkward_values_and_times_read_back_bit_for_bit() {
        let values = [0.0, -0.0, 1.0, 0.1 + 0.2, 1e-7, 1e16, 9_007_199_254_740_993.0, 5e-324, f64::MAX, f64::NAN, f64::INFINITY, 1.0];
        let times = [i64::MIN, 0, -5, 1_790_000_000_000, i64::MAX, 3, 3, 1_790_000_001_000, 7, -1, 0, 0];
        let readings: Vec<(i64, f64)> = times.iter().copied().zip(values).collect();
        let row = pack(&[(1_790_000_000_000, vec![("ctr_a", "facility", readings.clone()), ("ctr_b", "电表", readings.clone())])]);
        let back = unpack(&row, None).unwrap();
        let want: Vec<(String, String, i64, u64)> = ["ctr_a", "ctr_b"]
            .iter()
            .zip(["facility", "电表"])
            .flat_map(|(c, m)| readings.iter().map(move |(t, v)| (c.to_string(), m.to_string(), *t, v.to_bits())))
            .collect();
        assert_eq!(back, want);
        assert_eq!(unpack(&row, Some("ctr_b")).unwrap(), want[readings.len()..].to_vec(), "one centre's readings");
    }

    #[test]
    fn a_steady_meter_costs_a_few_bytes_a_reading() {
        let readings: Vec<(i64, f64)> = (0..1_000).map(|i| (1_790_000_000_000 + i * 1_000, 10_000.0 + i as f64 * 0.0871)).collect();
        let row = pack(&[(1_790_000_000_000, vec![("ctr_a", "facility", readings)])]);
        assert!(row.len() < 9_000, "{} bytes for 1,000 readings", row.len());
    }

    #[test]
    fn segments_join_by_concatenation_and_names_repeat_across_them() {
        let one = vec![("ctr_a", "it", vec![(10, 1.5), (20, 2.5)])];
        let two = vec![("ctr_a", "it", vec![(30, 3.5)]), ("ctr_b", "it", vec![(5, 9.0)])];
        let back = unpack(&pack(&[(10, one), (-100, two)]), None).unwrap();
        let times: Vec<(&str, i64)> = back.iter().map(|(c, _, t, _)| (c.as_str(), *t)).collect();
        assert_eq!(times, [("ctr_a", 10), ("ctr_a", 20), ("ctr_a", 30), ("ctr_b", 5)]);
    }

    #[test]
    fn a_damaged_row_is_an_error_not_a_panic() {
        let row = pack(&[(0, vec![("ctr_a", "it", vec![(10, 1.5), (20, 2.5), (35, 2.75)])])]);
        for cut in 2..row.len() {
            assert!(unpack(&row[..cut], None).is_err(), "cut at {cut}");
        }
        assert!(unpack(&[2], None).unwrap_err().contains("version 2"));
        assert!(unpack(&[], None).is_err(), "no version byte");
        let mut bad = row.clone();
        // version, base, 2 names ("ctr_a", "it"), 1 part, then the part's centre: make it name 99
        bad[1 + 1 + 1 + (1 + 5) + (1 + 2) + 1] = 99;
        assert!(unpack(&bad, None).is_err());
        assert!(
            unpack(&[VERSION, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], None).is_err(),
            "an overlong varint"
        );
    }

    proptest! {
        #[test]
        fn any_readings_read_back(parts in prop::collection::vec(
            (0u8..3, 0u8..3, prop::collection::vec((any::<i64>(), any::<u64>()), 1..40)), 0..12), base in any::<i64>()) {
            let names = ["ctr_a", "ctr_b", "m"];
            let parts: Vec<Part> = parts
                .iter()
                .map(|(c, m, rs)| (names[*c as usize], names[*m as usize], rs.iter().map(|(t, b)| (*t, f64::from_bits(*b))).collect()))
                .collect();
            let want: Vec<(String, String, i64, u64)> = parts
                .iter()
                .flat_map(|(c, m, rs)| rs.iter().map(move |(t, v)| (c.to_string(), m.to_string(), *t, v.to_bits())))
                .collect();
            prop_assert_eq!(unpack(&pack(&[(base, parts)]), None).unwrap(), want);
        }
    }
}
