//! Reading a `multipart/form-data` body (RFC 7578), the way a browser posts a form with files: its parts by name, each with its file name when it is a file. Only what the web UI's upload forms need: no nested parts, no transfer encodings.

/// One part of a form: its field name, the file name when it is a file, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub body: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type; `None` for any other type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// A parameter of a `Content-Disposition` header (`name="x"`), quotes removed.
fn disposition_param(header: &str, key: &str) -> Option<String> {
    header.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').replace("%22", "\""))
    })
}

/// The parts of a body; `None` when it is not well formed.
pub fn parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    let mut out = Vec::new();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(out);
        }
        at = find(body, b"\r\n", at)? + 2;
        let head_end = find(body, b"\r\n\r\n", at)?;
        let head = std::str::from_utf8(&body[at..head_end]).ok()?;
        let disposition = head.split("\r\n").find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let start = head_end + 4;
        let mut close = b"\r\n".to_vec();
        close.extend_from_slice(&delimiter);
        let end = find(body, &close, start)?;
        out.push(Part {
            name: disposition_param(disposition, "name")?,
            filename: disposition_param(disposition, "filename"),
            body: body[start..end].to_vec(),
        });
        at = end + close.len();
    }
}

/// The text of the field `name` (the first one), empty when missing.
pub fn text(parts: &[Part], name: &str) -> String {
    parts.iter().find(|p| p.name == name).map_or(String::new(), |p| String::from_utf8_lossy(&p.body).into_owned())
}

/// The text fields (not the files) as a urlencoded body, the way a form without files posts them.
pub fn urlencoded(parts: &[Part]) -> String {
    let text: Vec<(&str, String)> =
        parts.iter().filter(|p| p.filename.is_none()).map(|p| (p.name.as_str(), String::from_utf8_lossy(&p.body).into_owned())).collect();
    serde_urlencoded::to_string(&text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browsers_form_with_a_file_reads_as_its_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k\r\n--XyZ\r\nContent-Disposition: form-data; name=\"doc_file_1\"; filename=\"audit.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n\x00bytes\r\n--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\n";
        let p = parts(body, "XyZ").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(text(&p, "csrf"), "t0k");
        assert_eq!((p[1].filename.as_deref(), p[1].body.as_slice()), (Some("audit.pdf"), &b"%PDF\r\n\x00bytes"[..]));
        assert_eq!(text(&p, "empty"), "");
        assert_eq!(text(&p, "missing"), "");
        assert_eq!(parts(b"--XyZ\r\nno end", "XyZ"), None);
    }

    #[test]
    fn only_form_data_has_a_boundary() {
        assert_eq!(boundary("multipart/form-data; boundary=----a1").as_deref(), Some("----a1"));
        assert_eq!(boundary("multipart/form-data; boundary=\"q b\"").as_deref(), Some("q b"));
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/mixed; boundary=a"), None);
    }
}
