//! A deliberately small HTTP/1.1 server on `std::net`: one request per connection
//! (`Connection: close`), so the emulator controls every byte on the wire (needed to drop a
//! connection half-way through a reply) and shuts down promptly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_HEADER_LINES: usize = 200;
const MAX_LINE: u64 = 16 * 1024;

/// A parsed request.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string (after `?`), possibly empty.
    pub query: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Send only half of the body, then close (fault injection).
    pub truncate: bool,
}

impl HttpResponse {
    /// A response with a body of the given content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
            truncate: false,
        }
    }

    /// Plain text.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    /// JSON.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", value.to_string().into_bytes())
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn read_line(r: &mut BufReader<&TcpStream>) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Reads one request; `Err` carries the status to answer with (400/413) or `None` when the
/// peer went away.
pub fn read_request(stream: &TcpStream) -> Result<HttpRequest, Option<u16>> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut r = BufReader::new(stream);
    let line = read_line(&mut r).map_err(|_| None)?.ok_or(None)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(Some(400));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        ..HttpRequest::default()
    };
    for _ in 0..MAX_HEADER_LINES {
        let line = read_line(&mut r).map_err(|_| None)?.ok_or(None)?;
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            req.headers
                .push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    // curl and others wait for a go-ahead before sending a large body.
    if req
        .header("Expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let mut w = stream;
        let _ = w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        let _ = w.flush();
    }
    let chunked = req
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let size_line = read_line(&mut r).map_err(|_| None)?.ok_or(Some(400))?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| Some(400))?;
            if size == 0 {
                let _ = read_line(&mut r);
                break;
            }
            if req.body.len() + size > MAX_BODY {
                return Err(Some(413));
            }
            let start = req.body.len();
            req.body.resize(start + size, 0);
            r.read_exact(&mut req.body[start..])
                .map_err(|_| Some(400))?;
            let _ = read_line(&mut r);
        }
    } else if let Some(len) = req.header("Content-Length") {
        let len: usize = len.trim().parse().map_err(|_| Some(400))?;
        if len > MAX_BODY {
            return Err(Some(413));
        }
        req.body.resize(len, 0);
        r.read_exact(&mut req.body).map_err(|_| Some(400))?;
    }
    Ok(req)
}

/// Writes a response and closes the connection.
pub fn write_response(mut stream: &TcpStream, resp: &HttpResponse) {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (n, v) in &resp.headers {
        // Header values come from our own code, but never let a newline through.
        let v = v.replace(['\r', '\n'], " ");
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    let body: &[u8] = if resp.truncate {
        &resp.body[..resp.body.len() / 2]
    } else {
        &resp.body
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}
