//! Message templates: a `<send>`'s text split once, at load, into literal runs and keywords,
//! so that sending is a walk over pieces rather than a search for brackets.
//!
//! The text is cleaned as SIPp cleans CDATA (outer whitespace and each line's indentation
//! dropped, a blank line ensured), line ends become CRLF, `\xHH` escapes become bytes. A
//! keyword that renders to nothing at the start of a line takes the line's whitespace with it
//! (SIPp's rule that lets `[last_Record-Route:]` vanish when the header was absent).

use super::inject::InjectionFile;
use super::keyword::{keyword, keyword_end, render_keyword, Keyword};
use super::vars::{VarId, Vars};
use super::Env;

/// A literal run (a range of `literals`) or a keyword.
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
    #[error("the message is longer than 4 GiB")]
    TooLong,
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
                // Like SIPp, a `\x` not followed by a hex digit swallows the next character.
                let skip = if n > 0 {
                    n
                } else {
                    hex.chars().next().map_or(0, char::len_utf8)
                };
                rest = &hex[skip..];
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
            return Err(TemplateError::TooLong);
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    pub(crate) struct N {
        pub vars: HashMap<String, VarId>,
        pub files: Vec<String>,
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

    pub(crate) fn env() -> Env {
        Env::for_tests()
    }

    pub(crate) fn cx<'a>(env: &'a Env, vars: &'a Vars, last: Option<&'a str>) -> RenderCx<'a> {
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
    fn hex_escapes_never_split_a_character() {
        let mut n = N::default();
        for src in ["a\\x", "a\\xé", "\\x5", "\\x5bz", "\\xzz"] {
            assert!(Template::compile_message(src, &mut n).is_ok(), "{src:?}");
        }
    }

    #[test]
    fn random_text_never_panics_when_compiled_or_rendered() {
        // Hostile scenario text: brackets, quotes, escapes and multi-byte characters.
        const ALPHABET: [&str; 16] = [
            "[",
            "]",
            "\"",
            "\\",
            "x",
            "5",
            "\n",
            " ",
            "é",
            "$",
            "last_Via:",
            "len",
            "+",
            "-",
            "field0",
            "=",
        ];
        let mut rng = super::super::dist::Rng::new(3);
        let e = env();
        let v = Vars::new(8);
        let last = "SIP/2.0 200 OK\r\nVia: a\r\nTo: <sip:b>;tag=t\r\nCSeq: 1 INVITE\r\n\r\n";
        for _ in 0..20_000 {
            let len = (rng.next_u64() % 24) as usize;
            let src: String = (0..len)
                .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize])
                .collect();
            let mut n = N::default();
            if let Ok(t) = Template::compile_message(&src, &mut n) {
                let mut out = String::new();
                let _ = t.render(&cx(&e, &v, Some(last)), "INVITE", &mut out);
            }
            let _ = super::super::msg::Received::parse(&src);
        }
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
}
