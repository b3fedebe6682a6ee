//! A small blocking client of a node's HTTP API for the command line (`outdial status`,
//! `outdial token ...`, `outdial user ...`): one HTTP/1.1 request per connection, over TLS
//! for `https://`, with an API token as `Authorization: Bearer`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use serde_json::Value;

/// The longest answer read, bytes.
const MAX_ANSWER: u64 = 64 << 20;

/// What went wrong asking the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiClientError {
    #[error("{api}: not an API address (http://HOST:PORT or https://HOST:PORT)")]
    BadUrl { api: String },
    #[error("{api}: {source}")]
    Io {
        api: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("{api}: the answer is not HTTP")]
    NotHttp { api: String },
    #[error("{api}: {status}: {message}")]
    Refused {
        api: String,
        status: u16,
        message: String,
    },
    #[error("{api}: the answer is not JSON: {source}")]
    NotJson {
        api: String,
        #[source]
        source: serde_json::Error,
    },
}

/// A node's API and the credentials to use it.
#[derive(Clone)]
pub struct ApiClient {
    api: String,
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    token: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiClient({})", self.api)
    }
}

impl ApiClient {
    /// `api` is `http://HOST:PORT`, `https://HOST:PORT` or `HOST:PORT` (http); `ca` is the
    /// PEM file of CAs to trust for https (default: the system's bundle).
    pub fn new(
        api: &str,
        token: Option<String>,
        ca: Option<&Path>,
    ) -> Result<Self, ApiClientError> {
        let bad = || ApiClientError::BadUrl {
            api: api.to_owned(),
        };
        let (https, rest) = if let Some(r) = api.strip_prefix("https://") {
            (true, r)
        } else {
            (false, api.strip_prefix("http://").unwrap_or(api))
        };
        let hostport = rest.trim_end_matches('/');
        let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(bad());
        }
        let tls = if https {
            Some(crate::tls::client_config_or_system(ca)?)
        } else {
            None
        };
        Ok(ApiClient {
            api: api.trim_end_matches('/').to_owned(),
            host,
            port,
            tls,
            token,
            timeout: Duration::from_secs(10),
        })
    }

    /// The same API with another time limit per request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn api(&self) -> &str {
        &self.api
    }

    /// One request; returns the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<(u16, Vec<u8>), ApiClientError> {
        let io = |source| ApiClientError::Io {
            api: self.api.clone(),
            source,
        };
        let addr: SocketAddr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| io(std::io::Error::other("resolves to no address")))?;
        let tcp = TcpStream::connect_timeout(&addr, self.timeout).map_err(io)?;
        tcp.set_read_timeout(Some(self.timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let host_header = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nAccept: application/json\r\n"
        );
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let (ct, bytes) = body.unwrap_or(("", &[]));
        if !ct.is_empty() {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
        let mut raw = Vec::new();
        match &self.tls {
            None => {
                let mut s = tcp;
                s.write_all(head.as_bytes()).map_err(io)?;
                s.write_all(bytes).map_err(io)?;
                s.take(MAX_ANSWER).read_to_end(&mut raw).map_err(io)?;
            }
            Some(cfg) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                let conn = rustls::ClientConnection::new(Arc::clone(cfg), name)
                    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                let mut s = rustls::StreamOwned::new(conn, tcp);
                s.write_all(head.as_bytes()).map_err(io)?;
                s.write_all(bytes).map_err(io)?;
                match s.take(MAX_ANSWER).read_to_end(&mut raw) {
                    Ok(_) => {}
                    // A server that closes without close_notify after a complete answer.
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
                    Err(e) => return Err(io(e)),
                }
            }
        }
        parse_answer(&raw).ok_or_else(|| ApiClientError::NotHttp {
            api: self.api.clone(),
        })
    }

    /// A request with an optional JSON body whose answer must be 2xx JSON; a refusal carries
    /// the node's `error` message.
    pub fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiClientError> {
        let text = body.map(Value::to_string);
        let (status, raw) = self.request(
            method,
            path,
            text.as_deref().map(|t| ("application/json", t.as_bytes())),
        )?;
        let v: Result<Value, _> = serde_json::from_slice(&raw);
        if !(200..300).contains(&status) {
            let message = match &v {
                Ok(v) => v["error"].as_str().unwrap_or("").to_owned(),
                Err(_) => String::from_utf8_lossy(&raw).into_owned(),
            };
            return Err(ApiClientError::Refused {
                api: self.api.clone(),
                status,
                message,
            });
        }
        v.map_err(|source| ApiClientError::NotJson {
            api: self.api.clone(),
            source,
        })
    }
}

/// Status and body of an HTTP/1.1 answer (Content-Length, chunked or read-to-close).
pub fn parse_answer(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.truncate(n);
    }
    Some((status, body))
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..eol]).ok()?;
        let n = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..n)?);
        b = b.get(n + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_whole_chunked_and_by_length() {
        let (s, b) = parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx").expect("ok");
        assert_eq!((s, b.as_slice()), (200, &b"{}"[..]));
        let (s, b) = parse_answer(
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        )
        .expect("chunked");
        assert_eq!((s, b.as_slice()), (401, &b"{\"a\":1}"[..]));
        assert!(parse_answer(b"garbage").is_none());
        assert!(
            parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_none()
        );
    }

    #[test]
    fn urls_name_scheme_host_and_port() {
        let c = ApiClient::new("http://127.0.0.1:8080/", None, None).expect("http");
        assert_eq!(
            (c.host.as_str(), c.port, c.tls.is_none()),
            ("127.0.0.1", 8080, true)
        );
        let c = ApiClient::new("[::1]:9", None, None).expect("bare");
        assert_eq!(c.host, "::1");
        for bad in ["http://nohost", "http://:80", "x:y"] {
            assert!(ApiClient::new(bad, None, None).is_err(), "{bad}");
        }
    }
}
