//! Message templates: a `<send>`'s text split once, at load, into literal runs and keywords,
//! so that sending is a walk over pieces rather than a search for brackets.
//!
//! The text is cleaned as SIPp cleans CDATA (outer whitespace and each line's indentation
//! dropped, a blank line ensured), line ends become CRLF, `\xHH` escapes become bytes. A
//! keyword that renders to nothing at the start of a line takes the line's whitespace with it
//! (SIPp's rule that lets `[last_Record-Route:]` vanish when the header was absent).

use std::fmt::Write;

use super::inject::InjectionFile;
use super::msg::Received;
use super::vars::{VarId, Vars};
use super::Env;

/// A keyword and what it needs to render.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Keyword {
    Service,
    RemoteIp,
    RemoteHost,
    RemotePort(i64),
    LocalIp,
    LocalIpType,
    LocalPort(i64),
    Transport,
    MediaIp,
    MediaIpType,
    MediaPort(i64),
    /// `[auto_media_port]`: the media port moved by 4 per call, wrapping at 10,000.
    AutoMediaPort(i64),
    CallNumber,
    CallId,
    Cseq(i64),
    Pid,
    Branch(i64),
    MsgIndex,
    Len(i64),
    PeerTagParam,
    Routes,
    NextUrl,
    /// `[last_Name:]`; the name is kept without its colon.
    LastHeader(Box<str>),
    LastRequestUri,
    LastCseqNumber(i64),
    LastMessage,
    Var(VarId),
    Field {
        file: usize,
        field: usize,
        line: Option<Box<Template>>,
    },
    Authentication {
        username: Box<Template>,
        password: Box<Template>,
    },
    Date,
    ClockTick,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal { start: u32, end: u32 },
    Keyword(Keyword),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Template {
    literals: Box<str>,
    pieces: Box<[Piece]>,
}

/// Why a template was refused at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("unterminated keyword (write \\x5b for a literal '[')")]
    Unterminated,
    #[error("keyword [{0}] is not supported")]
    Unsupported(String),
    #[error("keyword [{0}] takes no +/- offset")]
    Offset(String),
    #[error("[{0}] needs an injection file (--inf)")]
    NoInjectionFile(String),
    #[error("[{keyword}] names injection file {file:?}, which was not given with --inf")]
    UnknownInjectionFile { keyword: String, file: String },
    #[error("keyword [{0}] has a malformed parameter")]
    Parameter(String),
    #[error("the message is empty")]
    Empty,
}

/// Why a message could not be rendered for one call (the call fails, the run goes on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error("[authentication] before any challenge was received with auth=\"true\"")]
    NoChallenge,
    #[error("the challenge cannot be answered: {0}")]
    Challenge(#[source] sip::auth::ChallengeError),
}

/// What a template looks up while compiling.
pub(crate) trait Names {
    fn var(&mut self, name: &str) -> VarId;
    /// An injection file by the name a keyword gives, or the default (first) one.
    fn injection_file(&self, name: Option<&str>) -> Result<usize, Option<String>>;
}

/// Everything a keyword can render from, borrowed from one call.
#[derive(Debug)]
pub(crate) struct RenderCx<'a> {
    pub env: &'a Env,
    pub files: &'a [InjectionFile],
    pub number: u64,
    pub call_id: &'a str,
    pub cseq: u32,
    /// The scenario index the message is sent for (`[branch]`, `[msg_index]`).
    pub index: i64,
    pub last: Option<&'a str>,
    pub peer_tag: Option<&'a str>,
    pub routes: Option<&'a str>,
    pub next_url: Option<&'a str>,
    pub vars: &'a Vars,
    pub lines: &'a [usize],
    /// The challenge kept by `auth="true"`: status and header value.
    pub challenge: Option<(u16, &'a str)>,
    pub nonce_count: u32,
    pub elapsed_ms: u64,
}

/// SIPp's `clean_cdata` plus its end-of-message rules. `None` when nothing is left.
pub(crate) fn clean_message(raw: &str) -> Option<String> {
    let trimmed_start = raw.trim_start_matches([' ', '\t', '\n']);
    let trimmed = trimmed_start.trim_end_matches([' ', '\t', '\n']);
    if trimmed.is_empty() {
        return None;
    }
    let removed_newline = trimmed_start[trimmed.len()..].contains('\n');
    let mut msg = String::with_capacity(trimmed.len() + 4);
    for (i, line) in trimmed.split('\n').enumerate() {
        if i > 0 {
            msg.push('\n');
        }
        let line = if i > 0 {
            line.trim_start_matches([' ', '\t'])
        } else {
            line
        };
        msg.push_str(line.trim_end_matches([' ', '\t']));
    }
    if !msg.contains("\n\n") {
        msg.push_str("\n\n");
    } else if removed_newline && !msg.ends_with('\n') {
        msg.push('\n');
    }
    Some(msg)
}

/// Finds the `]` closing a keyword that starts at `s`, skipping quoted strings.
fn keyword_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b']' => return Some(i),
            b'\n' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of `key=` in a keyword's parameters: quoted (with `\` escapes) or bare.
fn param(params: &str, key: &str) -> Option<String> {
    let mut rest = params;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let (k, after) = rest.split_once('=')?;
        let k = k.trim();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    c => v.push(c),
                }
            }
            (v, &q[end.min(q.len())..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        if k == key {
            return Some(value);
        }
        rest = tail;
    }
}

/// Splits a trailing `+N` / `-N` off a keyword name.
fn split_offset(name: &str) -> (&str, Option<i64>) {
    if let Some(i) = name.rfind(['+', '-']) {
        let tail = &name[i + 1..];
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = tail.parse::<i64>() {
                return (&name[..i], Some(if &name[i..=i] == "-" { -n } else { n }));
            }
        }
    }
    (name, None)
}

fn keyword(body: &str, names: &mut dyn Names) -> Result<Keyword, TemplateError> {
    let (head, params) = body.split_once(' ').unwrap_or((body, ""));
    let unsupported = || TemplateError::Unsupported(body.to_owned());
    if let Some(var) = head.strip_prefix('$') {
        if var.is_empty() {
            return Err(unsupported());
        }
        return Ok(Keyword::Var(names.var(var)));
    }
    if head == "authentication" {
        let sub = |key: &str, names: &mut dyn Names| -> Result<Box<Template>, TemplateError> {
            let v = param(params, key).unwrap_or_default();
            Ok(Box::new(Template::compile_fragment(&v, names)?))
        };
        if param(params, "username").is_none() || param(params, "password").is_none() {
            // SIPp falls back to -au/-ap; the load tester has no such flags, so both are needed.
            return Err(TemplateError::Parameter(body.to_owned()));
        }
        return Ok(Keyword::Authentication {
            username: sub("username", names)?,
            password: sub("password", names)?,
        });
    }
    if let Some(n) = head.strip_prefix("field") {
        let field = n.parse().map_err(|_| unsupported())?;
        let file_name = param(params, "file");
        let file = names
            .injection_file(file_name.as_deref())
            .map_err(|name| match name {
                None => TemplateError::NoInjectionFile(body.to_owned()),
                Some(file) => TemplateError::UnknownInjectionFile {
                    keyword: body.to_owned(),
                    file,
                },
            })?;
        let line = match param(params, "line") {
            Some(l) => Some(Box::new(Template::compile_fragment(&l, names)?)),
            None => None,
        };
        return Ok(Keyword::Field { file, field, line });
    }
    if !params.trim().is_empty() {
        return Err(unsupported());
    }
    let (name, offset) = split_offset(head);
    let off = offset.unwrap_or(0);
    let kw = match name {
        "remote_port" => Keyword::RemotePort(off),
        "local_port" => Keyword::LocalPort(off),
        "media_port" => Keyword::MediaPort(off),
        "auto_media_port" => Keyword::AutoMediaPort(off),
        "cseq" => Keyword::Cseq(off),
        "branch" => Keyword::Branch(off),
        "len" => Keyword::Len(off),
        "last_cseq_number" => Keyword::LastCseqNumber(off),
        _ => {
            if offset.is_some() {
                return Err(TemplateError::Offset(body.to_owned()));
            }
            match name {
                "service" => Keyword::Service,
                "remote_ip" => Keyword::RemoteIp,
                "remote_host" => Keyword::RemoteHost,
                "local_ip" | "server_ip" => Keyword::LocalIp,
                "local_ip_type" => Keyword::LocalIpType,
                "transport" => Keyword::Transport,
                "media_ip" => Keyword::MediaIp,
                "media_ip_type" => Keyword::MediaIpType,
                "call_number" => Keyword::CallNumber,
                "call_id" => Keyword::CallId,
                "pid" => Keyword::Pid,
                "msg_index" => Keyword::MsgIndex,
                "peer_tag_param" => Keyword::PeerTagParam,
                "routes" => Keyword::Routes,
                "next_url" => Keyword::NextUrl,
                "last_Request_URI" => Keyword::LastRequestUri,
                "last_message" => Keyword::LastMessage,
                "date" => Keyword::Date,
                "clock_tick" => Keyword::ClockTick,
                _ => match name.strip_prefix("last_") {
                    Some(h) if !h.trim_end_matches(':').is_empty() => {
                        Keyword::LastHeader(h.trim_end_matches(':').into())
                    }
                    _ => return Err(unsupported()),
                },
            }
        }
    };
    Ok(kw)
}

impl Template {
    /// Compiles a cleaned message (see [`clean_message`]): `\n` becomes CRLF.
    pub fn compile_message(text: &str, names: &mut dyn Names) -> Result<Self, TemplateError> {
        Self::compile(text, true, names)
    }

    /// Compiles an attribute value or a keyword parameter: no line-end conversion.
    pub fn compile_fragment(text: &str, names: &mut dyn Names) -> Result<Self, TemplateError> {
        Self::compile(text, false, names)
    }

    fn compile(text: &str, crlf: bool, names: &mut dyn Names) -> Result<Self, TemplateError> {
        let mut literals = String::with_capacity(text.len() + 64);
        let mut pieces = Vec::new();
        let mut run_start = 0usize;
        let flush = |literals: &String, pieces: &mut Vec<Piece>, run_start: &mut usize| {
            if literals.len() > *run_start {
                pieces.push(Piece::Literal {
                    start: *run_start as u32,
                    end: literals.len() as u32,
                });
            }
            *run_start = literals.len();
        };
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if let Some(hex) = rest.strip_prefix("\\x") {
                let digits: String = hex
                    .chars()
                    .take(2)
                    .take_while(char::is_ascii_hexdigit)
                    .collect();
                let n = digits.len();
                if n > 0 {
                    let v =
                        u8::from_str_radix(&digits, 16).map_err(|_| TemplateError::Unterminated)?;
                    literals.push(char::from(v));
                }
                rest = &hex[n.max(1).min(hex.len())..];
                continue;
            }
            match c {
                '\n' if crlf => {
                    literals.push_str("\r\n");
                    rest = &rest[1..];
                }
                '[' => {
                    let end = keyword_end(&rest[1..]).ok_or(TemplateError::Unterminated)?;
                    let body = &rest[1..1 + end];
                    if body.is_empty() {
                        return Err(TemplateError::Unterminated);
                    }
                    flush(&literals, &mut pieces, &mut run_start);
                    pieces.push(Piece::Keyword(keyword(body, names)?));
                    rest = &rest[end + 2..];
                }
                c => {
                    literals.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        flush(&literals, &mut pieces, &mut run_start);
        if literals.len() > u32::MAX as usize {
            return Err(TemplateError::Empty);
        }
        Ok(Self {
            literals: literals.into(),
            pieces: pieces.into(),
        })
    }

    /// The literal text before the first keyword (the start line's method, for a send).
    pub fn leading_literal(&self) -> Option<&str> {
        match self.pieces.first()? {
            Piece::Literal { start, end } => Some(&self.literals[*start as usize..*end as usize]),
            Piece::Keyword(_) => None,
        }
    }

    /// Renders into `out` (appending). `method` is the request's, for `[authentication]`.
    pub fn render(
        &self,
        cx: &RenderCx<'_>,
        method: &str,
        out: &mut String,
    ) -> Result<(), RenderError> {
        let base = out.len();
        let mut suppress = false;
        let mut len_at: Option<(usize, i64)> = None;
        for p in self.pieces.iter() {
            match p {
                Piece::Literal { start, end } => {
                    let lit = &self.literals[*start as usize..*end as usize];
                    if suppress {
                        out.push_str(lit.trim_start());
                        suppress = false;
                    } else {
                        out.push_str(lit);
                    }
                }
                Piece::Keyword(Keyword::Len(off)) => {
                    len_at = Some((out.len(), *off));
                    out.push_str("     ");
                }
                Piece::Keyword(k) => {
                    let before = out.len();
                    render_keyword(k, cx, method, out)?;
                    let vanishing = matches!(
                        k,
                        Keyword::LastHeader(_)
                            | Keyword::Var(_)
                            | Keyword::Field { .. }
                            | Keyword::Routes
                    );
                    if vanishing && out.len() == before && out.len() > base && out.ends_with('\n') {
                        suppress = true;
                    }
                }
            }
        }
        if let Some((at, off)) = len_at {
            let body = out[at..]
                .find("\r\n\r\n")
                .map_or(0, |i| out.len() - (at + i + 4));
            let n = (body as i64 + off).max(0);
            let s = format!("{n:>5}");
            out.replace_range(at..at + 5, &s);
        }
        Ok(())
    }
}

fn push_num(out: &mut String, n: impl std::fmt::Display) {
    // INVARIANT: writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

fn port(p: u16, off: i64) -> i64 {
    i64::from(p) + off
}

fn render_keyword(
    k: &Keyword,
    cx: &RenderCx<'_>,
    method: &str,
    out: &mut String,
) -> Result<(), RenderError> {
    let env = cx.env;
    let last = || cx.last.and_then(Received::parse);
    match k {
        Keyword::Service => out.push_str(&env.service),
        Keyword::RemoteIp => out.push_str(&env.remote_ip),
        Keyword::RemoteHost => out.push_str(&env.remote_host),
        Keyword::RemotePort(o) => push_num(out, port(env.remote.port(), *o)),
        Keyword::LocalIp => out.push_str(&env.local_ip),
        Keyword::LocalIpType => out.push_str(if env.local.is_ipv6() { "6" } else { "4" }),
        Keyword::LocalPort(o) => push_num(out, port(env.local.port(), *o)),
        Keyword::Transport => out.push_str("UDP"),
        Keyword::MediaIp => push_num(out, env.media_ip),
        Keyword::MediaIpType => out.push_str(if env.media_ip.is_ipv6() { "6" } else { "4" }),
        Keyword::MediaPort(o) => push_num(out, port(env.media_port, *o)),
        Keyword::AutoMediaPort(o) => {
            let shift = (4 * cx.number.saturating_sub(1)) % 10_000;
            push_num(out, port(env.media_port, *o) + shift as i64)
        }
        Keyword::CallNumber => push_num(out, cx.number),
        Keyword::CallId => out.push_str(cx.call_id),
        Keyword::Cseq(o) => push_num(out, i64::from(cx.cseq) + o),
        Keyword::Pid => push_num(out, env.pid),
        Keyword::Branch(o) => {
            // INVARIANT: writing to a String cannot fail.
            let _ = write!(out, "z9hG4bK-{}-{}-{}", env.pid, cx.number, cx.index + o);
        }
        Keyword::MsgIndex => push_num(out, cx.index),
        Keyword::Len(_) => {}
        Keyword::PeerTagParam => {
            if let Some(t) = cx.peer_tag {
                out.push_str(";tag=");
                out.push_str(t);
            }
        }
        Keyword::Routes => {
            if let Some(r) = cx.routes {
                out.push_str("Route: ");
                out.push_str(r);
            }
        }
        Keyword::NextUrl => match cx.next_url {
            Some(u) if !u.is_empty() => out.push_str(u),
            _ => out.push_str(&last_request_uri(last())),
        },
        Keyword::LastHeader(name) => {
            if let Some(v) = last().and_then(|m| m.joined(name)) {
                out.push_str(name);
                out.push_str(": ");
                out.push_str(&v);
            }
        }
        Keyword::LastRequestUri => out.push_str(&last_request_uri(last())),
        Keyword::LastCseqNumber(o) => {
            let n = last()
                .and_then(|m| m.cseq())
                .map_or(0, |(n, _)| i64::from(n));
            push_num(out, n + o)
        }
        Keyword::LastMessage => out.push_str(cx.last.unwrap_or("")),
        Keyword::Var(id) => cx.vars.get(*id).render(out),
        Keyword::Field { file, field, line } => {
            let Some(f) = cx.files.get(*file) else {
                return Ok(());
            };
            let n = match line {
                None => cx.lines.get(*file).copied().unwrap_or(0),
                Some(t) => {
                    let mut s = String::new();
                    t.render(cx, method, &mut s)?;
                    match s.trim().parse::<f64>() {
                        Ok(v) if v >= 0.0 => v as usize,
                        _ => usize::MAX,
                    }
                }
            };
            f.write_field(n, *field, out);
        }
        Keyword::Authentication { username, password } => {
            let (status, value) = cx.challenge.ok_or(RenderError::NoChallenge)?;
            let challenge = sip::auth::parse_challenge(value).map_err(RenderError::Challenge)?;
            let (mut user, mut pass) = (String::new(), String::new());
            username.render(cx, method, &mut user)?;
            password.render(cx, method, &mut pass)?;
            let creds = sip::auth::Credentials {
                username: user,
                password: pass,
            };
            let uri = format!("sip:{}:{}", env.remote_ip, env.remote.port());
            let cnonce = format!("{:08x}{:08x}", cx.number, cx.nonce_count);
            out.push_str(if status == 401 {
                "Authorization: "
            } else {
                "Proxy-Authorization: "
            });
            out.push_str(&sip::auth::authorization(
                &challenge,
                &creds,
                method,
                &uri,
                &cnonce,
                cx.nonce_count,
            ));
        }
        Keyword::Date => {
            let secs = env.unix_start.as_secs() + cx.elapsed_ms / 1000;
            if let Some(t) = chrono::DateTime::from_timestamp(secs as i64, 0) {
                // INVARIANT: writing to a String cannot fail.
                let _ = write!(out, "{}", t.format("%a, %d %b %Y %H:%M:%S GMT"));
            }
        }
        Keyword::ClockTick => push_num(out, cx.elapsed_ms),
    }
    Ok(())
}

/// The URI inside `<>` of the last message's To, or nothing.
fn last_request_uri(last: Option<Received<'_>>) -> String {
    last.and_then(|m| m.first("To"))
        .and_then(|to| {
            let a = to.find('<')?;
            let b = to[a..].find('>')?;
            Some(to[a + 1..a + b].to_owned())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct N {
        vars: HashMap<String, VarId>,
        files: Vec<String>,
    }

    impl Names for N {
        fn var(&mut self, name: &str) -> VarId {
            let n = self.vars.len() as VarId;
            *self.vars.entry(name.into()).or_insert(n)
        }
        fn injection_file(&self, name: Option<&str>) -> Result<usize, Option<String>> {
            match name {
                None if self.files.is_empty() => Err(None),
                None => Ok(0),
                Some(n) => self.files.iter().position(|f| f == n).ok_or(Some(n.into())),
            }
        }
    }

    fn env() -> Env {
        Env::for_tests()
    }

    fn cx<'a>(env: &'a Env, vars: &'a Vars, last: Option<&'a str>) -> RenderCx<'a> {
        RenderCx {
            env,
            files: &[],
            number: 7,
            call_id: "7-42@127.0.0.1",
            cseq: 3,
            index: 2,
            last,
            peer_tag: Some("pt"),
            routes: None,
            next_url: None,
            vars,
            lines: &[],
            challenge: None,
            nonce_count: 1,
            elapsed_ms: 0,
        }
    }

    fn render(src: &str, last: Option<&str>, vars: &Vars) -> String {
        let msg = clean_message(src).expect("not empty");
        let t = Template::compile_message(&msg, &mut N::default()).expect("compiles");
        let e = env();
        let mut out = String::new();
        t.render(&cx(&e, vars, last), "INVITE", &mut out)
            .expect("renders");
        out
    }

    #[test]
    fn cleans_as_sipp_does() {
        assert_eq!(
            clean_message("\n   A\n   B  \n\n   "),
            Some("A\nB\n\n".into())
        );
        assert_eq!(clean_message("\n A\n\n b \n "), Some("A\n\nb\n".into()));
        assert_eq!(clean_message(" \n\t "), None);
    }

    #[test]
    fn substitutes_keywords_with_offsets_and_len() {
        let out = render(
            "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
             To: <sip:x>[peer_tag_param]
             Call-ID: [call_id]
             CSeq: [cseq+1] INVITE
             X: [branch-2] [local_port+3] \\x5bliteral]
             Content-Length: [len]

             v=0
             m=audio [media_port] RTP/AVP 0
            ",
            None,
            &Vars::new(0),
        );
        assert_eq!(
            out,
            "INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-42-7-2\r\n\
             To: <sip:x>;tag=pt\r\n\
             Call-ID: 7-42@127.0.0.1\r\n\
             CSeq: 4 INVITE\r\n\
             X: z9hG4bK-42-7-0 5064 [literal]\r\n\
             Content-Length:    29\r\n\r\n\
             v=0\r\nm=audio 6000 RTP/AVP 0\r\n"
        );
    }

    #[test]
    fn last_headers_copy_or_vanish_with_their_line() {
        let last =
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\nVia: SIP/2.0/UDP g\r\n\
                    To: Bob <sip:bob@h>\r\nCSeq: 9 INVITE\r\n\r\n";
        let out = render(
            "SIP/2.0 200 OK
             [last_Via:]
             [last_Record-Route:]
             [last_To:];tag=1
             CSeq: [last_cseq_number+1] X
             U: [last_Request_URI]
             Content-Length: 0
            ",
            Some(last),
            &Vars::new(0),
        );
        assert_eq!(
            out,
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=1, SIP/2.0/UDP g\r\n\
             To: Bob <sip:bob@h>;tag=1\r\nCSeq: 10 X\r\nU: sip:bob@h\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn variables_render_by_type() {
        let mut n = N::default();
        let msg = clean_message("X: [$a] [$b]\nY: 1\n").expect("text");
        let t = Template::compile_message(&msg, &mut n).expect("compiles");
        let mut v = Vars::new(2);
        v.set(n.vars["a"], super::super::vars::Value::Number(2.0));
        let e = env();
        let mut out = String::new();
        t.render(&cx(&e, &v, None), "X", &mut out).expect("renders");
        assert_eq!(out, "X: 2.000000 \r\nY: 1\r\n\r\n");
    }

    #[test]
    fn refuses_unknown_and_unterminated_keywords() {
        let mut n = N::default();
        assert_eq!(
            Template::compile_message("A [nonsense] B", &mut n),
            Err(TemplateError::Unsupported("nonsense".into()))
        );
        assert_eq!(
            Template::compile_message("A [service", &mut n),
            Err(TemplateError::Unterminated)
        );
        assert_eq!(
            Template::compile_message("A [pid+1]", &mut n),
            Err(TemplateError::Offset("pid+1".into()))
        );
        assert_eq!(
            Template::compile_message("A [field0]", &mut n),
            Err(TemplateError::NoInjectionFile("field0".into()))
        );
        n.files.push("a.csv".into());
        assert!(matches!(
            Template::compile_message("A [field1 file=\"b.csv\"]", &mut n),
            Err(TemplateError::UnknownInjectionFile { .. })
        ));
        assert!(
            Template::compile_message("A [field1 file=\"a.csv\" line=\"[$l]\"]", &mut n).is_ok()
        );
    }

    #[test]
    fn authentication_answers_the_kept_challenge() {
        let mut n = N::default();
        let t = Template::compile_message(
            "X\n[authentication username=alice password=\"se cret\"]",
            &mut n,
        )
        .expect("compiles");
        let e = env();
        let v = Vars::new(0);
        let mut c = cx(&e, &v, None);
        let mut out = String::new();
        assert_eq!(
            t.render(&c, "INVITE", &mut out),
            Err(RenderError::NoChallenge)
        );
        c.challenge = Some((407, "Digest realm=\"r\", nonce=\"n\", qop=\"auth\""));
        out.clear();
        t.render(&c, "INVITE", &mut out).expect("renders");
        assert!(out.starts_with("X\r\nProxy-Authorization: Digest username=\"alice\", realm=\"r\", nonce=\"n\", uri=\"sip:127.0.0.1:5060\""), "{out}");
        assert!(out.contains("qop=auth, nc=00000001"), "{out}");
    }
}
