//! Keywords inside a template: what `[name params]` means once parsed at load, and how each
//! renders for one call (SIPp's keyword list, with its +/- offsets and parameters).

use std::fmt::Write;

use super::msg::Received;
use super::template::{Names, RenderCx, RenderError, Template, TemplateError};
use super::vars::VarId;

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

pub(super) fn keyword_end(s: &str) -> Option<usize> {
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

pub(super) fn keyword(body: &str, names: &mut dyn Names) -> Result<Keyword, TemplateError> {
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

fn push_num(out: &mut String, n: impl std::fmt::Display) {
    // INVARIANT: writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

fn port(p: u16, off: i64) -> i64 {
    i64::from(p) + off
}

pub(super) fn render_keyword(
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
    use super::super::template::tests::{cx, env, N};
    use super::*;
    use crate::loadtest::scenario::vars::Vars;

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
