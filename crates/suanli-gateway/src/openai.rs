//! The OpenAI API as clients send and expect it: reading a request's model, prompt and limits, the error body, and the SSE framing.

use serde_json::{Value, json};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::model::{Endpoint, estimate_tokens};

/// The largest request body the gateway reads (prompts are text; 4 MiB is far past any context).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Output tokens assumed when a request names no limit (and the model's context allows).
pub const DEFAULT_MAX_TOKENS: u64 = 4_096;

/// What the gateway needs to know of a request before forwarding it.
#[derive(Debug, Clone)]
pub struct Request {
    pub endpoint: Endpoint,
    pub body: serde_json::Map<String, Value>,
    pub model: String,
    pub stream: bool,
    /// The client asked for the usage chunk at the end of a stream.
    pub include_usage: bool,
    /// The client wants embeddings as base64 (the upstream is always asked for floats).
    pub base64: bool,
    pub prompt_tokens: u64,
    /// The most output tokens the request allows (`max_tokens`, `max_completion_tokens`).
    pub max_tokens: Option<u64>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidBody, message)
}

/// Parses a request body for an endpoint. Unknown fields pass through to the upstream (OpenAI
/// adds fields often); the ones the gateway reads must have the right types.
pub fn parse(endpoint: Endpoint, bytes: &[u8]) -> Result<Request, Error> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(Error::new(ErrorCode::PayloadTooLarge, format!("the request body is larger than {MAX_REQUEST_BYTES} bytes")));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::new(ErrorCode::MalformedJson, format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(body) = value else { return Err(invalid("the request body must be a JSON object")) };
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(invalid("'model' is required and must be a string")),
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        _ => return Err(invalid("'stream' must be a boolean")),
    };
    if stream && endpoint == Endpoint::Embeddings {
        return Err(invalid("embeddings are not streamed"));
    }
    let include_usage = match body.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) => match o.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            _ => return Err(invalid("'stream_options.include_usage' must be a boolean")),
        },
        _ => return Err(invalid("'stream_options' must be an object")),
    };
    let mut max_tokens = None;
    for field in ["max_tokens", "max_completion_tokens"] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => max_tokens = Some(max_tokens.map_or(n, |m: u64| m.min(n))),
                _ => return Err(invalid(format!("'{field}' must be a positive integer"))),
            },
        }
    }
    let n = match body.get("n") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=16) => n,
            _ => return Err(invalid("'n' must be an integer from 1 to 16")),
        },
    };
    let base64 = match body.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "float" => false,
        Some(Value::String(s)) if s == "base64" => true,
        _ => return Err(invalid("'encoding_format' must be 'float' or 'base64'")),
    };
    let prompt_tokens = match endpoint {
        Endpoint::Chat => chat_prompt_tokens(body.get("messages"))?,
        Endpoint::Completions => text_tokens("prompt", body.get("prompt"))?,
        Endpoint::Embeddings => text_tokens("input", body.get("input"))?,
    };
    Ok(Request { endpoint, model, stream, include_usage, base64, prompt_tokens, max_tokens: max_tokens.map(|m| m.saturating_mul(n)), body })
}

/// Tokens of a chat prompt: each message's text plus a few for its role and framing.
fn chat_prompt_tokens(messages: Option<&Value>) -> Result<u64, Error> {
    let Some(Value::Array(messages)) = messages else { return Err(invalid("'messages' must be a non-empty array")) };
    if messages.is_empty() {
        return Err(invalid("'messages' must be a non-empty array"));
    }
    let mut total = 3u64;
    for (i, m) in messages.iter().enumerate() {
        let Value::Object(m) = m else { return Err(invalid(format!("messages[{i}] must be an object"))) };
        match m.get("role") {
            Some(Value::String(_)) => {}
            _ => return Err(invalid(format!("messages[{i}].role must be a string"))),
        }
        total += 4;
        match m.get("content") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => total += estimate_tokens(s),
            Some(Value::Array(parts)) => {
                for p in parts {
                    match p.get("text") {
                        Some(Value::String(s)) => total += estimate_tokens(s),
                        // Images and audio: a flat allowance per part.
                        _ => total += 765,
                    }
                }
            }
            _ => return Err(invalid(format!("messages[{i}].content must be a string or an array of parts"))),
        }
        if let Some(Value::String(s)) = m.get("name") {
            total += estimate_tokens(s);
        }
    }
    Ok(total)
}

/// Tokens of a `prompt` or `input`: a string, an array of strings, or token ids.
fn text_tokens(field: &str, v: Option<&Value>) -> Result<u64, Error> {
    let bad = || invalid(format!("'{field}' must be a string, an array of strings, or an array of token ids"));
    match v {
        Some(Value::String(s)) => Ok(estimate_tokens(s)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut total = 0u64;
            for item in items {
                total += match item {
                    Value::String(s) => estimate_tokens(s),
                    Value::Number(_) => 1,
                    Value::Array(ids) if ids.iter().all(Value::is_number) => ids.len() as u64,
                    _ => return Err(bad()),
                };
            }
            Ok(total)
        }
        _ => Err(bad()),
    }
}

/// OpenAI's error `type` for a platform error code.
pub fn error_type(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthenticated => "authentication_error",
        ErrorCode::Forbidden => "permission_error",
        ErrorCode::RateLimited => "rate_limit_error",
        ErrorCode::InsufficientQuota => "insufficient_quota",
        ErrorCode::ModelNotFound => "invalid_request_error",
        c if c.http_status() >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// The HTTP status OpenAI uses: request errors are 400, whatever status the platform's table
/// gives them elsewhere (422 there); auth, not found, rate limits and server errors keep theirs.
pub fn status(code: ErrorCode) -> u16 {
    match code.http_status() {
        401 | 403 | 404 | 429 => code.http_status(),
        s if s >= 500 => s,
        413 => 413,
        _ => 400,
    }
}

/// `{"error": {"message", "type", "param", "code"}}`.
pub fn error_body(e: &Error, param: Option<&str>) -> Value {
    json!({"error": {"message": e.message, "type": error_type(e.code), "param": param, "code": e.code.as_str()}})
}

/// One SSE event carrying JSON.
pub fn sse(value: &Value) -> bytes::Bytes {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"data: ");
    serde_json::to_writer(&mut out, value).unwrap_or_default();
    out.extend_from_slice(b"\n\n");
    out.into()
}

/// The end of a stream.
pub const SSE_DONE: &[u8] = b"data: [DONE]\n\n";

/// Splits SSE bytes into events' `data` payloads, across chunk boundaries.
#[derive(Debug, Default)]
pub struct SseReader {
    buf: Vec<u8>,
}

impl SseReader {
    /// Feeds bytes; returns the data of every event completed by them.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some((end, sep)) = find_event_end(&self.buf) {
            let event: Vec<u8> = self.buf.drain(..end + sep).collect();
            let mut data = Vec::new();
            for line in event[..end].split(|b| *b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if let Some(d) = line.strip_prefix(b"data:") {
                    if !data.is_empty() {
                        data.push(b'\n');
                    }
                    data.extend_from_slice(d.strip_prefix(b" ").unwrap_or(d));
                }
            }
            if !data.is_empty() {
                events.push(data);
            }
        }
        events
    }

    /// Bytes received that do not yet end an event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    for i in 0..buf.len() {
        if buf[i..].starts_with(b"\n\n") {
            return Some((i, 2));
        }
        if buf[i..].starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
    }
    None
}

/// The text a response carries (all choices), for counting tokens when the upstream did not.
pub fn response_text(v: &Value) -> String {
    let mut out = String::new();
    if let Some(Value::Array(choices)) = v.get("choices") {
        for c in choices {
            for path in [&["message", "content"][..], &["delta", "content"][..], &["text"][..]] {
                let mut cur = c;
                let mut ok = true;
                for p in path {
                    match cur.get(*p) {
                        Some(x) => cur = x,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if let (true, Some(s)) = (ok, cur.as_str()) {
                    out.push_str(s);
                }
            }
        }
    }
    out
}

/// `(prompt_tokens, completion_tokens)` from a `usage` object, if it is one.
pub fn usage_of(v: &Value) -> Option<(u64, u64)> {
    let u = v.get("usage")?;
    let prompt = u.get("prompt_tokens")?.as_u64()?;
    let completion = u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0);
    Some((prompt, completion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_requests_are_read_and_checked() {
        let r = parse(
            Endpoint::Chat,
            br#"{"model":"m","messages":[{"role":"user","content":"hello there"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":16,"temperature":0.2}"#,
        )
        .unwrap();
        assert_eq!(r.model, "m");
        assert!(r.stream && r.include_usage);
        assert_eq!(r.max_tokens, Some(16));
        assert_eq!(r.prompt_tokens, 3 + 4 + 3);
        for (body, code) in [
            (&b"{"[..], ErrorCode::MalformedJson),
            (br#"[]"#, ErrorCode::InvalidBody),
            (br#"{"messages":[]}"#, ErrorCode::InvalidBody),
            (br#"{"model":"m","messages":[]}"#, ErrorCode::InvalidBody),
            (br#"{"model":"m","messages":[{"role":"user","content":1}]}"#, ErrorCode::InvalidBody),
            (br#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, ErrorCode::InvalidBody),
            (br#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, ErrorCode::InvalidBody),
        ] {
            assert_eq!(parse(Endpoint::Chat, body).unwrap_err().code, code, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn embeddings_take_strings_or_token_ids_and_an_encoding() {
        let r = parse(Endpoint::Embeddings, br#"{"model":"e","input":["a b","c"],"encoding_format":"base64"}"#).unwrap();
        assert!(r.base64);
        assert_eq!(r.prompt_tokens, 3);
        assert_eq!(parse(Endpoint::Embeddings, br#"{"model":"e","input":[[1,2,3]]}"#).unwrap().prompt_tokens, 3);
        assert!(parse(Endpoint::Embeddings, br#"{"model":"e","input":"x","stream":true}"#).is_err());
        assert!(parse(Endpoint::Embeddings, br#"{"model":"e","input":"x","encoding_format":"hex"}"#).is_err());
    }

    #[test]
    fn sse_events_split_across_chunks() {
        let mut r = SseReader::default();
        assert!(r.feed(b"data: {\"a\":").is_empty());
        let events = r.feed(b"1}\n\ndata: [DONE]\r\n\r\n: comment\n\n");
        assert_eq!(events, vec![b"{\"a\":1}".to_vec(), b"[DONE]".to_vec()]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn errors_have_openai_shapes_and_statuses() {
        let e = Error::new(ErrorCode::InvalidBody, "bad");
        assert_eq!(status(e.code), 400);
        assert_eq!(error_body(&e, Some("model"))["error"]["type"], "invalid_request_error");
        assert_eq!(status(ErrorCode::InsufficientQuota), 429);
        assert_eq!(status(ErrorCode::ModelNotFound), 404);
        assert_eq!(status(ErrorCode::UpstreamError), 502);
        assert_eq!(error_type(ErrorCode::Unauthenticated), "authentication_error");
    }
}
