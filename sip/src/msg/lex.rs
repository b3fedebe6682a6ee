//! Character classes and a cursor for the RFC 3261 §25 grammar, shared by header and URI parsers.

const TOKEN: u8 = 1;
const WORD: u8 = 2;
const UNRESERVED: u8 = 4;

/// Character classes by octet, so the hot loops test a bit instead of a chain of compares.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alnum = c.is_ascii_alphanumeric();
        let token = alnum
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        let word = token
            || matches!(
                c,
                b'(' | b')'
                    | b'<'
                    | b'>'
                    | b':'
                    | b'\\'
                    | b'"'
                    | b'/'
                    | b'['
                    | b']'
                    | b'?'
                    | b'{'
                    | b'}'
            );
        let unreserved = alnum
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            );
        t[b] = (token as u8 * TOKEN) | (word as u8 * WORD) | (unreserved as u8 * UNRESERVED);
        b += 1;
    }
    t
};

/// `token` characters (RFC 3261 §25.1).
#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    CLASS[usize::from(b)] & TOKEN != 0
}

/// `word` characters, the Call-ID alphabet.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    CLASS[usize::from(b)] & WORD != 0
}

#[inline]
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `unreserved` (alphanum / mark).
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    CLASS[usize::from(b)] & UNRESERVED != 0
}

pub(crate) fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// Characters a generic parameter value may hold besides a quoted string: token characters
/// plus what a host needs, so `received=2001:db8::1` (RFC 5118 §4.5) reads as one value.
fn is_gen_value(b: u8) -> bool {
    is_token(b) || matches!(b, b':' | b'[' | b']')
}

/// A position in a header value. Only ever advances over ASCII bytes or whole quoted strings,
/// so every slice it hands out starts and ends on a UTF-8 boundary.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// What was consumed since `start` (a value of [`pos`](Self::pos)).
    pub(crate) fn since(&self, start: usize) -> &'a str {
        self.s.get(start..self.pos).unwrap_or("")
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    /// Skips SP/HT; reports whether there was any.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_wsp) {
            self.pos += 1;
        }
        self.pos > start
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes ASCII bytes matching `f`.
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii() && f(b)) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    pub(crate) fn token(&mut self) -> &'a str {
        self.take_while(is_token)
    }

    /// A `quoted-string` including its quotes; the cursor must sit on the opening quote.
    pub(crate) fn quoted_string(&mut self) -> Result<&'a str, &'static str> {
        let start = self.pos;
        if !self.eat(b'"') {
            return Err("expected a quoted string");
        }
        let bytes = self.s.as_bytes();
        let mut i = self.pos;
        loop {
            match bytes.get(i) {
                None => return Err("unterminated quoted string"),
                Some(b'"') => break,
                // quoted-pair: any ASCII octet but CR and LF may be escaped, NUL included.
                Some(b'\\') => match bytes.get(i + 1) {
                    Some(&n) if n.is_ascii() && n != b'\r' && n != b'\n' => i += 2,
                    _ => return Err("bad escape in quoted string"),
                },
                Some(&b) if b < 0x20 && b != b'\t' || b == 0x7f => {
                    return Err("control character in quoted string")
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.s
            .get(start..self.pos)
            .ok_or("bad escape in quoted string")
    }

    /// `*( SEMI generic-param )`, LWS allowed around `;` and `=`. Stops before a `,` or at the
    /// end; anything else is an error. `f` sees each name and optional value.
    pub(crate) fn params(
        &mut self,
        mut f: impl FnMut(&'a str, Option<&'a str>) -> Result<(), &'static str>,
    ) -> Result<(), &'static str> {
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(b',') => return Ok(()),
                Some(b';') => self.pos += 1,
                Some(_) => return Err("unexpected character before parameter"),
            }
            self.skip_ws();
            let name = self.token();
            if name.is_empty() {
                return Err("empty parameter");
            }
            self.skip_ws();
            let value = if self.eat(b'=') {
                self.skip_ws();
                let v = if self.peek() == Some(b'"') {
                    self.quoted_string()?
                } else {
                    self.take_while(is_gen_value)
                };
                if v.is_empty() {
                    return Err("parameter without value after '='");
                }
                Some(v)
            } else {
                None
            };
            f(name, value)?;
        }
    }
}

/// Splits a header value at top-level commas (outside quotes and `<>`), the way list-valued
/// headers combine. Empty elements are kept so callers can reject `a,,b`.
pub(crate) fn split_list(s: &str) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut in_quote = false;
        let mut in_angle = false;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' if in_quote => i += 1,
                b'"' => in_quote = !in_quote,
                b'<' if !in_quote => in_angle = true,
                b'>' if !in_quote => in_angle = false,
                b',' if !in_quote && !in_angle => {
                    let item = s.get(start..i).unwrap_or("");
                    i += 1;
                    start = i;
                    return Some(item);
                }
                _ => {}
            }
            i += 1;
        }
        done = true;
        Some(s.get(start..).unwrap_or(""))
    })
}

/// Whether `s` is `%HH`-clean: every `%` followed by two hex digits.
pub(crate) fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_with_lws_and_quotes() {
        let mut c = Cursor::new(" ;   tag    = 1918181833n ; q=\"a;b\" ;lr");
        let mut got = Vec::new();
        c.params(|n, v| {
            got.push((n, v));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            [
                ("tag", Some("1918181833n")),
                ("q", Some("\"a;b\"")),
                ("lr", None)
            ]
        );
    }

    #[test]
    fn empty_params_are_errors() {
        assert!(Cursor::new(";;").params(|_, _| Ok(())).is_err());
        assert!(Cursor::new(";branch=").params(|_, _| Ok(())).is_err());
    }

    #[test]
    fn quoted_strings() {
        let mut c = Cursor::new(r#""J Rosenberg \\\"" rest"#);
        assert_eq!(c.quoted_string().unwrap(), r#""J Rosenberg \\\"""#);
        assert_eq!(c.rest(), " rest");
        assert!(Cursor::new("\"open").quoted_string().is_err());
        assert!(Cursor::new("\"a\\").quoted_string().is_err());
        // NUL may be escaped, never bare.
        assert!(Cursor::new("\"a\\\0b\"").quoted_string().is_ok());
        assert!(Cursor::new("\"a\0b\"").quoted_string().is_err());
        // An escaped multi-byte character must not split it.
        assert!(Cursor::new("\"\\é\"").quoted_string().is_err());
    }

    #[test]
    fn list_splitting_respects_quotes_and_brackets() {
        let v: Vec<_> = split_list(r#""a,b" <sip:x;y,z>, <sip:c>,,"#).collect();
        assert_eq!(v, [r#""a,b" <sip:x;y,z>"#, " <sip:c>", "", ""]);
        let v: Vec<_> = split_list("one").collect();
        assert_eq!(v, ["one"]);
    }

    #[test]
    fn classes() {
        assert!(is_token(b'~') && is_token(b'a') && !is_token(b':') && !is_token(0x80));
        assert!(is_word(b'{') && is_word(b'"') && !is_word(b'@') && !is_word(b' '));
        assert!(is_unreserved(b'(') && !is_unreserved(b'%'));
    }

    #[test]
    fn escapes() {
        assert!(escapes_ok("a%20b%00"));
        assert!(!escapes_ok("a%2"));
        assert!(!escapes_ok("%ZK"));
    }
}
