//! Streaming readers over a caller's `BufRead`: CSV (RFC 4180; UTF-8, GBK, GB18030) and JSON Lines,
//! in bounded memory, reporting every malformed row with its line number.
//!
//! Memory is bounded by `Limits::max_record_bytes`: a longer record is skipped to its end (and
//! reported), never buffered whole. A NUL byte means the input is binary: reading stops there.

use crate::error::{DataError, RowErrorKind};
use memchr::{memchr, memchr2, memchr3};
use std::borrow::Cow;
use std::io::BufRead;

/// The input's character encoding. GBK and GB18030 share ASCII's bytes for `,`, `"` and newlines, so
/// records are split before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gbk,
    Gb18030,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "gbk" | "cp936" => Some(Encoding::Gbk),
            "gb18030" | "gb-18030" => Some(Encoding::Gb18030),
            _ => None,
        }
    }

    fn decode(self, bytes: &[u8]) -> Result<Cow<'_, str>, String> {
        match self {
            // simdutf8 validates a whole record at once (std's validator goes a character at a time
            // through Chinese text); std's finds where it breaks, for the message.
            Encoding::Utf8 => match simdutf8::basic::from_utf8(bytes) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(_) => {
                    let at = std::str::from_utf8(bytes).err().map_or(0, |e| e.valid_up_to());
                    Err(format!("not valid UTF-8 (at byte {}); if the file is GBK or GB18030, pass --encoding gbk", at + 1))
                }
            },
            // encoding_rs decodes GBK with the GB18030 decoder (GBK is its two-byte subset).
            Encoding::Gbk | Encoding::Gb18030 => encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .ok_or_else(|| format!("not valid {} text", if self == Encoding::Gbk { "GBK" } else { "GB18030" })),
        }
    }
}

/// Size limits of one record.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_field_bytes: usize,
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_field_bytes: 1 << 20, max_record_bytes: 4 << 20 }
    }
}

/// One row as read: its first line number (1-based) and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<String>,
}

/// The raw bytes of one record and how it ended.
struct Raw {
    line: u64,
    lines: u64,
    overflow: bool,
    open_quote: bool,
    /// Whether the record holds a quote at all (without one, its fields are what lies between commas).
    quoted: bool,
}

/// Reads raw records (lines; with `quotes`, newlines inside quotes do not end one).
struct RawReader<R> {
    r: R,
    line: u64,
    quotes: bool,
    limit: usize,
    buf: Vec<u8>,
    bytes: u64,
    at_start: bool,
}

impl<R: BufRead> RawReader<R> {
    fn new(r: R, quotes: bool, limit: usize) -> RawReader<R> {
        RawReader { r, line: 1, quotes, limit, buf: Vec::new(), bytes: 0, at_start: true }
    }

    /// The next record into `self.buf`, or None at the end.
    fn next(&mut self) -> Result<Option<Raw>, DataError> {
        self.buf.clear();
        let mut raw = Raw { line: self.line, lines: 0, overflow: false, open_quote: false, quoted: false };
        let mut any = false;
        loop {
            let chunk = self.r.fill_buf().map_err(|e| DataError::Read(format!("line {}: {e}", self.line)))?;
            if chunk.is_empty() {
                self.line += raw.lines;
                return Ok(any.then_some(raw));
            }
            any = true;
            let mut take = chunk.len();
            let mut done = false;
            // Only NULs, quotes and newlines matter here: memchr jumps from one to the next.
            let mut p = 0;
            while let Some(k) = if self.quotes { memchr3(0, b'"', b'\n', &chunk[p..]) } else { memchr2(0, b'\n', &chunk[p..]) } {
                let i = p + k;
                p = i + 1;
                match chunk[i] {
                    0 => {
                        return Err(DataError::row(
                            self.line + raw.lines,
                            RowErrorKind::BinaryInput,
                            "holds a NUL byte: the input is binary, not text",
                        ));
                    }
                    b'"' => {
                        raw.open_quote = !raw.open_quote;
                        raw.quoted = true;
                    }
                    _ => {
                        raw.lines += 1;
                        if !raw.open_quote {
                            take = i + 1;
                            done = true;
                            break;
                        }
                    }
                }
            }
            let room = self.limit.saturating_sub(self.buf.len());
            if take > room {
                raw.overflow = true;
            }
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            self.r.consume(take);
            self.bytes += take as u64;
            if done {
                self.line += raw.lines;
                return Ok(Some(raw));
            }
        }
    }

    /// The record without its line ending (and a UTF-8 BOM on the first).
    fn text(&mut self) -> &[u8] {
        let mut b = &self.buf[..];
        if self.at_start {
            self.at_start = false;
            b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
        }
        let b = b.strip_suffix(b"\n").unwrap_or(b);
        b.strip_suffix(b"\r").unwrap_or(b)
    }
}

/// The field starting at `i` up to the next comma (or the end), as a byte offset.
fn field_end(b: &[u8], i: usize) -> usize {
    memchr(b',', &b[i..]).map_or(b.len(), |p| i + p)
}

/// A record's fields in one buffer reused from record to record (no allocation per field): field
/// `i` is `text[starts[i]..ends[i]]`.
#[derive(Debug, Default, Clone)]
pub struct RecordBuf {
    pub line: u64,
    /// No field held a quote or a carriage return, so none needs quoting when written back
    /// (unless a value written in its place holds one, which no operator's output does).
    plain: bool,
    text: String,
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl RecordBuf {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn field(&self, i: usize) -> &str {
        &self.text[self.starts[i]..self.ends[i]]
    }

    /// Whether the record came without quotes and carriage returns (see the field's note).
    pub fn plain(&self) -> bool {
        self.plain
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.starts.iter().zip(&self.ends).map(|(&s, &e)| &self.text[s..e])
    }

    fn clear(&mut self) {
        self.text.clear();
        self.starts.clear();
        self.ends.clear();
    }

    fn start_field(&mut self) {
        self.starts.push(self.text.len());
    }

    fn end_field(&mut self) {
        self.ends.push(self.text.len());
    }
}

/// Splits an RFC 4180 record into fields (quotes removed, `""` unescaped; text after a closing quote is kept).
fn split_fields(rec: &str, quoted: bool, buf: &mut RecordBuf) {
    buf.clear();
    let b = rec.as_bytes();
    buf.plain = !quoted && memchr(b'\r', b).is_none();
    if !quoted {
        // No quotes (most records): the record is copied whole and its fields lie between commas.
        buf.text.push_str(rec);
        buf.starts.push(0);
        for i in memchr::memchr_iter(b',', b) {
            buf.ends.push(i);
            buf.starts.push(i + 1);
        }
        buf.ends.push(b.len());
        return;
    }
    let mut i = 0;
    loop {
        buf.start_field();
        if b.get(i) == Some(&b'"') {
            i += 1;
            let mut start = i;
            loop {
                match memchr(b'"', &b[i..]) {
                    None => {
                        buf.text.push_str(&rec[start..]);
                        i = b.len();
                        break;
                    }
                    Some(p) => {
                        buf.text.push_str(&rec[start..i + p]);
                        i += p + 1;
                        if b.get(i) != Some(&b'"') {
                            break;
                        }
                        buf.text.push('"');
                        i += 1;
                        start = i;
                    }
                }
            }
        }
        let end = field_end(b, i);
        buf.text.push_str(&rec[i..end]);
        buf.end_field();
        i = end;
        if i >= b.len() {
            return;
        }
        i += 1;
    }
}

/// A CSV reader: the first record is the header; each later one must have as many fields.
pub struct CsvReader<R> {
    raw: RawReader<R>,
    encoding: Encoding,
    limits: Limits,
    header: Option<Vec<String>>,
    failed: bool,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(r: R, encoding: Encoding, limits: Limits) -> CsvReader<R> {
        CsvReader { raw: RawReader::new(r, true, limits.max_record_bytes), encoding, limits, header: None, failed: false }
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.raw.bytes
    }

    /// Reads the header (the first non-blank record).
    pub fn header(&mut self) -> Result<Vec<String>, DataError> {
        if let Some(h) = &self.header {
            return Ok(h.clone());
        }
        match self.record(None) {
            Some(Ok(r)) => {
                self.header = Some(r.fields.clone());
                Ok(r.fields)
            }
            Some(Err(e)) => Err(e),
            None => Err(DataError::row(1, RowErrorKind::RaggedRow, "the input is empty: a CSV needs a header row")),
        }
    }

    fn record(&mut self, expected: Option<usize>) -> Option<Result<Record, DataError>> {
        let mut buf = RecordBuf::default();
        self.fill(expected, &mut buf).map(|r| r.map(|()| Record { line: buf.line, fields: buf.fields().map(str::to_string).collect() }))
    }

    /// Reads the next data record into `buf` (the header first, with [`CsvReader::header`]).
    pub fn read_into(&mut self, buf: &mut RecordBuf) -> Option<Result<(), DataError>> {
        if self.failed {
            return None;
        }
        let expected = self.header.as_ref().map(Vec::len);
        let item = self.fill(expected, buf);
        if let Some(Err(DataError::Row { kind, .. })) = &item
            && kind.is_fatal()
        {
            self.failed = true;
        }
        item
    }

    fn fill(&mut self, expected: Option<usize>, buf: &mut RecordBuf) -> Option<Result<(), DataError>> {
        loop {
            let raw = match self.raw.next() {
                Ok(Some(raw)) => raw,
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            let line = raw.line;
            let err = |kind, msg: String| Some(Err(DataError::row(line, kind, msg)));
            if raw.overflow {
                return err(RowErrorKind::RecordTooLarge, format!("the record is longer than {} bytes", self.limits.max_record_bytes));
            }
            if raw.open_quote {
                return err(RowErrorKind::UnterminatedQuote, "a quoted field opens here and never closes".into());
            }
            let text = self.raw.text();
            if text.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            match self.encoding.decode(text) {
                Ok(text) => split_fields(&text, raw.quoted, buf),
                Err(why) => return err(RowErrorKind::InvalidEncoding, format!("the record is {why}")),
            };
            buf.line = line;
            let max = self.limits.max_field_bytes;
            if let Some((i, f)) = buf.fields().enumerate().find(|(_, f)| f.len() > max) {
                return err(RowErrorKind::FieldTooLarge, format!("field {} has {} bytes, over the limit of {max}", i + 1, f.len()));
            }
            if let Some(n) = expected.filter(|&n| n != buf.len()) {
                return err(RowErrorKind::RaggedRow, format!("has {} fields, the header has {n}", buf.len()));
            }
            return Some(Ok(()));
        }
    }
}

impl<R: BufRead> Iterator for CsvReader<R> {
    type Item = Result<Record, DataError>;

    /// Data records after the header (read it first with [`CsvReader::header`]).
    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = RecordBuf::default();
        let item = self.read_into(&mut buf)?;
        Some(item.map(|()| Record { line: buf.line, fields: buf.fields().map(str::to_string).collect() }))
    }
}

/// A JSON Lines reader: each non-blank line must be one JSON object.
pub struct JsonLinesReader<R> {
    raw: RawReader<R>,
    encoding: Encoding,
    failed: bool,
}

/// One JSON Lines row.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRecord {
    pub line: u64,
    pub value: serde_json::Map<String, serde_json::Value>,
}

impl<R: BufRead> JsonLinesReader<R> {
    pub fn new(r: R, encoding: Encoding, limits: Limits) -> JsonLinesReader<R> {
        JsonLinesReader { raw: RawReader::new(r, false, limits.max_record_bytes), encoding, failed: false }
    }

    pub fn bytes_read(&self) -> u64 {
        self.raw.bytes
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<JsonRecord, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            let raw = match self.raw.next() {
                Ok(Some(raw)) => raw,
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            let line = raw.line;
            let err = |kind, msg: String| Some(Err(DataError::row(line, kind, msg)));
            if raw.overflow {
                return err(RowErrorKind::RecordTooLarge, format!("the line is longer than {} bytes", self.raw.limit));
            }
            let text = self.raw.text();
            if text.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let text = match self.encoding.decode(text) {
                Ok(t) => t.into_owned(),
                Err(why) => return err(RowErrorKind::InvalidEncoding, format!("the line is {why}")),
            };
            return match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(value)) => Some(Ok(JsonRecord { line, value })),
                Ok(_) => err(RowErrorKind::NotAnObject, "is JSON but not an object".into()),
                Err(e) => err(RowErrorKind::MalformedJson, format!("is not valid JSON: {e}")),
            };
        }
    }
}

/// Whether a field must be quoted: it holds a comma, a quote or a line break.
fn needs_quotes(f: &[u8]) -> bool {
    const SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        t[b',' as usize] = true;
        t[b'"' as usize] = true;
        t[b'\n' as usize] = true;
        t[b'\r' as usize] = true;
        t
    };
    // A short field is quicker to walk than to hand to memchr twice.
    if f.len() < 64 {
        f.iter().any(|&c| SPECIAL[c as usize])
    } else {
        memchr3(b',', b'"', b'\n', f).is_some() || memchr(b'\r', f).is_some()
    }
}

/// A field as written to CSV, in pieces: itself, or quoted with its quotes doubled (RFC 4180).
fn csv_pieces(f: &str) -> impl Iterator<Item = &str> {
    let q = if needs_quotes(f.as_bytes()) { "\"" } else { "" };
    let parts = f.split_inclusive('"').flat_map(move |p| [p, if !q.is_empty() && p.ends_with('"') { "\"" } else { "" }]);
    std::iter::once(q).chain(parts).chain(std::iter::once(q))
}

/// Appends one CSV field, quoted when it must be (RFC 4180).
pub fn write_csv_field(f: &str, out: &mut Vec<u8>) {
    csv_pieces(f).for_each(|p| out.extend_from_slice(p.as_bytes()));
}

/// [`write_csv_field`] into text.
pub fn push_csv_field(f: &str, out: &mut String) {
    csv_pieces(f).for_each(|p| out.push_str(p));
}

/// Appends one CSV record (RFC 4180 quoting, CRLF) to `out`.
pub fn write_csv_record(fields: &[impl AsRef<str>], out: &mut Vec<u8>) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_csv_field(f.as_ref(), out);
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
