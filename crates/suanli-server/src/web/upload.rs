//! Forms that post a file (`multipart/form-data`, RFC 7578): the boundary from the request's content type, and each part's name, file name and bytes. The session guard reads the CSRF token from them; the upload handlers read the rest.

use axum::http::{HeaderMap, header};

/// The most a form with a file may be: a data set's largest content (64 MiB, more than an
/// incentive application's three evidence documents of 8 MiB) and room for its fields.
pub const MAX_UPLOAD: usize = suanli_data::catalogue::MAX_CONTENT_BYTES + (1 << 20);

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The file's name as the browser sent it (`None` for a plain field).
    pub filename: Option<String>,
    pub body: Vec<u8>,
}

/// The boundary of a `multipart/form-data` request, or `None` for any other body.
pub fn boundary(headers: &HeaderMap) -> Option<String> {
    let ctype = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = ctype.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| k.eq_ignore_ascii_case("boundary")).map(|(_, v)| {
        let v = v.trim();
        v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v).to_string()
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A parameter of a `Content-Disposition` header (`name="…"`).
fn param(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(key) {
            return None;
        }
        let v = v.trim();
        Some(v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v).replace("%22", "\""))
    })
}

/// The parts of a body; `None` if it is not well-formed multipart with this boundary.
pub fn parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = [b"\r\n".as_slice(), &delim].concat();
    let mut pos = find(body, &delim)? + delim.len();
    let mut out = Vec::new();
    loop {
        let rest = body.get(pos..)?;
        if rest.starts_with(b"--") {
            return Some(out);
        }
        pos += 2; // the CRLF after the delimiter
        let head_len = find(body.get(pos..)?, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&body[pos..pos + head_len]).ok()?;
        let start = pos + head_len + 4;
        let len = find(body.get(start..)?, &next_delim)?;
        let disposition = head
            .split("\r\n")
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition")).map(|(_, v)| v))?;
        out.push(Part {
            name: param(disposition, "name")?,
            filename: param(disposition, "filename"),
            body: body[start..start + len].to_vec(),
        });
        pos = start + len + next_delim.len();
    }
}

/// A plain field of the parts, as text (empty when missing).
pub fn field(parts: &[Part], name: &str) -> String {
    parts.iter().find(|p| p.name == name && p.filename.is_none()).map_or(String::new(), |p| String::from_utf8_lossy(&p.body).into_owned())
}

/// The file of the parts under `name`, if one was chosen (a browser sends an empty part with an empty name otherwise).
pub fn file<'a>(parts: &'a [Part], name: &str) -> Option<&'a Part> {
    parts.iter().find(|p| p.name == name && p.filename.as_deref().is_some_and(|f| !f.is_empty()))
}

/// The plain fields (not the files) as a urlencoded body, the way a form without files posts them.
pub fn urlencoded(parts: &[Part]) -> String {
    let text: Vec<(&str, String)> =
        parts.iter().filter(|p| p.filename.is_none()).map(|p| (p.name.as_str(), String::from_utf8_lossy(&p.body).into_owned())).collect();
    serde_urlencoded::to_string(&text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_browser_form_with_a_file_reads_back_into_its_parts() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("multipart/form-data; boundary=----WebKitFormBoundaryX1"));
        let b = boundary(&h).unwrap();
        assert_eq!(b, "----WebKitFormBoundaryX1");
        let body = "------WebKitFormBoundaryX1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k\r\n\
------WebKitFormBoundaryX1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\nContent-Type: text/csv\r\n\r\n\
centre_id,meter\r\nctr_1,it\r\n\r\n------WebKitFormBoundaryX1\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\r\n\r\n\
------WebKitFormBoundaryX1--\r\n";
        let p = parts(body.as_bytes(), &b).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(field(&p, "csrf"), "t0k");
        let f = file(&p, "file").unwrap();
        assert_eq!((f.filename.as_deref(), f.body.as_slice()), (Some("m.csv"), b"centre_id,meter\r\nctr_1,it\r\n".as_slice()));
        assert!(file(&p, "empty").is_none(), "no file chosen");
        assert_eq!(field(&p, "missing"), "");
        assert!(parts(b"not multipart", &b).is_none());
        assert!(parts(&body.as_bytes()[..80], &b).is_none(), "cut short");
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        assert!(boundary(&h).is_none());
    }
}
