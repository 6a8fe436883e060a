//! Reading a Prometheus remote-write 1.0 `WriteRequest` in place: every label borrowed from the request's buffer, the labels and the samples each in one list, with no message objects built.
//!
//! The fields read are `WriteRequest.timeseries` (1), `TimeSeries.labels` (1) and `samples`
//! (2), `Label.name` (1) and `value` (2), `Sample.value` (1, a double) and `timestamp` (2, an
//! int64). Every other field (metadata, exemplars, native histograms) is skipped by its wire
//! type, as protobuf readers do; a field named twice keeps its last value, and a missing one is
//! zero. Every label's name and value must be UTF-8. The limits are checked while reading, so
//! a body of a million empty series is refused before its list grows that long.

use std::ops::Range;

/// One series as read: its labels' place in [`WriteRequest::labels`] and its samples' in
/// [`WriteRequest::samples`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Range<usize>,
    pub samples: Range<usize>,
}

/// A request as read: its series, and every label (name, value) and every sample (unix ms,
/// value) in series order. A request carries a few hundred series of a few samples each, so a
/// series owns no list of its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteRequest<'a> {
    pub series: Vec<Series>,
    pub labels: Vec<(&'a str, &'a str)>,
    pub samples: Vec<(i64, f64)>,
}

impl<'a> WriteRequest<'a> {
    /// The labels of `series`, one of this request's.
    pub fn labels_of(&self, series: &Series) -> &[(&'a str, &'a str)] {
        &self.labels[series.labels.clone()]
    }

    /// The value of the first label of `series` called `name`.
    pub fn label(&self, series: &Series, name: &str) -> Option<&'a str> {
        self.labels_of(series).iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// Why a body is not a request Suanli takes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("bad protobuf framing ({0})")]
    Framing(&'static str),
    #[error("a label is not UTF-8")]
    NotUtf8,
    #[error("more than {0} series in one request")]
    TooManySeries(usize),
    #[error("more than {0} samples in one request")]
    TooManySamples(usize),
}

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// A cursor over protobuf bytes.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for (i, b) in self.0.iter().take(10).enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(v);
            }
        }
        Err(WireError::Framing("a varint runs past its end"))
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Framing("a field runs past its message"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    /// The next field: its number, its wire type, its bytes (a length-delimited field's
    /// content, a fixed field's little-endian bytes) and a varint field's value.
    fn field(&mut self) -> Result<(u64, u64, &'a [u8], u64), WireError> {
        let key = self.varint()?;
        let (number, kind) = (key >> 3, key & 7);
        if number == 0 {
            return Err(WireError::Framing("field number 0"));
        }
        Ok(match kind {
            VARINT => (number, kind, &[][..], self.varint()?),
            FIXED64 => (number, kind, self.bytes(8)?, 0),
            LEN => {
                let n = usize::try_from(self.varint()?).map_err(|_| WireError::Framing("a length beyond memory"))?;
                (number, kind, self.bytes(n)?, 0)
            }
            FIXED32 => (number, kind, self.bytes(4)?, 0),
            _ => return Err(WireError::Framing("a group or an unknown wire type")),
        })
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads a decompressed `WriteRequest` under the given limits.
pub fn read(buf: &[u8], max_series: usize, max_samples: usize) -> Result<WriteRequest<'_>, WireError> {
    let mut out = WriteRequest::default();
    let mut wire = Wire(buf);
    while !wire.done() {
        let (number, kind, body, _) = wire.field()?;
        if number != 1 {
            continue;
        }
        expect(kind, LEN)?;
        if out.series.len() == max_series {
            return Err(WireError::TooManySeries(max_series));
        }
        let series = read_series(body, &mut out.labels, &mut out.samples, max_samples)?;
        out.series.push(series);
    }
    Ok(out)
}

fn expect(kind: u64, wanted: u64) -> Result<(), WireError> {
    if kind == wanted { Ok(()) } else { Err(WireError::Framing("a known field of the wrong wire type")) }
}

fn read_series<'a>(
    buf: &'a [u8],
    labels: &mut Vec<(&'a str, &'a str)>,
    samples: &mut Vec<(i64, f64)>,
    max_samples: usize,
) -> Result<Series, WireError> {
    let (first_label, start) = (labels.len(), samples.len());
    let mut wire = Wire(buf);
    while !wire.done() {
        let (number, kind, body, _) = wire.field()?;
        match number {
            1 => {
                expect(kind, LEN)?;
                labels.push(read_label(body)?);
            }
            2 => {
                expect(kind, LEN)?;
                if samples.len() == max_samples {
                    return Err(WireError::TooManySamples(max_samples));
                }
                samples.push(read_sample(body)?);
            }
            _ => {}
        }
    }
    Ok(Series { labels: first_label..labels.len(), samples: start..samples.len() })
}

fn read_label(buf: &[u8]) -> Result<(&str, &str), WireError> {
    let (mut name, mut value) = (&[][..], &[][..]);
    let mut wire = Wire(buf);
    while !wire.done() {
        let (number, kind, body, _) = wire.field()?;
        match number {
            1 => (expect(kind, LEN)?, name = body).1,
            2 => (expect(kind, LEN)?, value = body).1,
            _ => {}
        }
    }
    let text = |b| std::str::from_utf8(b).map_err(|_| WireError::NotUtf8);
    Ok((text(name)?, text(value)?))
}

fn read_sample(buf: &[u8]) -> Result<(i64, f64), WireError> {
    // As Prometheus and prost write a sample: the value (field 1, fixed64), then the time
    // (field 2, a varint) ending the message. Anything else is read field by field below.
    if buf.len() > 10 && buf[0] == 0x09 && buf[9] == 0x10 {
        let mut time = Wire(&buf[10..]);
        if let Ok(ts) = time.varint()
            && time.done()
        {
            let value: [u8; 8] = buf[1..9].try_into().unwrap_or_default();
            return Ok((ts as i64, f64::from_le_bytes(value)));
        }
    }
    let (mut ts, mut value) = (0i64, 0f64);
    let mut wire = Wire(buf);
    while !wire.done() {
        match wire.field()? {
            (1, FIXED64, bytes, _) => value = f64::from_le_bytes(bytes.try_into().unwrap_or_default()),
            (2, VARINT, _, v) => ts = v as i64,
            (1 | 2, _, _, _) => return Err(WireError::Framing("a known field of the wrong wire type")),
            _ => {}
        }
    }
    Ok((ts, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::energy::remote;
    use prost::Message;

    fn request() -> remote::WriteRequest {
        let series = |name: &str, centre: &str, samples: &[(i64, f64)]| remote::TimeSeries {
            labels: vec![remote::Label::new("__name__", name), remote::Label::new("centre", centre)],
            samples: samples.iter().map(|&(timestamp, value)| remote::Sample { value, timestamp }).collect(),
        };
        remote::WriteRequest {
            timeseries: vec![
                series("a", "ctr_1", &[(1_700_000_000_000, 1.5), (-5, f64::NAN)]),
                series("b", "中心", &[]),
                series("c", "", &[(0, 0.0), (i64::MAX, -2.25)]),
            ],
        }
    }

    #[test]
    fn reads_what_prost_wrote() {
        let req = request();
        let body = req.encode_to_vec();
        let got = read(&body, 10, 10).unwrap();
        assert_eq!(got.series.len(), 3);
        for (s, want) in got.series.iter().zip(&req.timeseries) {
            let labels: Vec<(&str, &str)> =
                want.labels.iter().map(|l| (std::str::from_utf8(&l.name).unwrap(), std::str::from_utf8(&l.value).unwrap())).collect();
            assert_eq!(got.labels_of(s), labels);
            let samples: Vec<(i64, f64)> = want.samples.iter().map(|x| (x.timestamp, x.value)).collect();
            let read = &got.samples[s.samples.clone()];
            assert_eq!(read.len(), samples.len());
            for (a, b) in read.iter().zip(&samples) {
                assert_eq!((a.0, a.1.to_bits()), (b.0, b.1.to_bits()));
            }
        }
        assert_eq!(got.label(&got.series[1], "centre"), Some("中心"));
        assert_eq!(got.label(&got.series[1], "meter"), None);
    }

    #[test]
    fn skips_fields_it_does_not_read_and_keeps_a_repeated_fields_last_value() {
        // WriteRequest.metadata (3); TimeSeries.exemplars (3); Sample with an unknown varint
        // field (7), a fixed32 (8) and its timestamp twice.
        let mut sample = vec![0x09];
        sample.extend(2.5f64.to_le_bytes());
        sample.extend([0x38, 0x96, 0x01, 0x45, 1, 2, 3, 4, 0x10, 0x05, 0x10, 0x07]);
        let mut series = vec![0x0a, 4, 0x0a, 0, 0x12, 0]; // a label with an empty name and value
        series.extend([0x1a, 2, 0xff, 0xff]);
        series.push(0x12);
        series.push(sample.len() as u8);
        series.extend(&sample);
        let mut body = vec![0x1a, 3, 1, 2, 3, 0x0a, series.len() as u8];
        body.extend(&series);
        let got = read(&body, 10, 10).unwrap();
        assert_eq!(got.series, vec![Series { labels: 0..1, samples: 0..1 }]);
        assert_eq!(got.labels, vec![("", "")]);
        assert_eq!(got.samples, vec![(7, 2.5)]);
    }

    #[test]
    fn refuses_broken_framing_bad_text_and_too_much() {
        let body = request().encode_to_vec();
        for cut in [1, 5, body.len() / 2, body.len() - 1] {
            assert!(matches!(read(&body[..cut], 10, 10), Err(WireError::Framing(_))), "cut at {cut}");
        }
        assert!(matches!(read(&[0x0b], 10, 10), Err(WireError::Framing(_))), "a group");
        assert!(matches!(read(&[0x08, 1], 10, 10), Err(WireError::Framing(_))), "timeseries as a varint");
        assert!(matches!(read(&[0xff; 11], 10, 10), Err(WireError::Framing(_))), "an endless varint");
        let bad = remote::WriteRequest {
            timeseries: vec![remote::TimeSeries {
                labels: vec![remote::Label { name: "centre".into(), value: prost::bytes::Bytes::from_static(&[0xc3, 0x28]) }],
                samples: vec![],
            }],
        };
        assert_eq!(read(&bad.encode_to_vec(), 10, 10), Err(WireError::NotUtf8));
        assert_eq!(read(&body, 2, 10), Err(WireError::TooManySeries(2)));
        assert_eq!(read(&body, 10, 3), Err(WireError::TooManySamples(3)));
        assert_eq!(read(&[], 10, 10), Ok(WriteRequest::default()));
    }
}
