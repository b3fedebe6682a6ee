//! Grammar of the header fields the validator interprets: Via, name-addr, CSeq, Call-ID,
//! media types. Each returns borrowed pieces and a reason in words when the value is malformed.

use std::net::{IpAddr, Ipv6Addr};

use super::lex::{is_token, is_word, is_wsp, Cursor};
use super::uri::{self, parse_host, parse_port, scheme_len, Place};

/// One `via-parm`, with its canonical spelling for rsip (whose typed Via wants no LWS).
#[derive(Debug)]
pub(crate) struct ViaParm<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    pub branch: Option<&'a str>,
    pub rport: bool,
    pub received: Option<&'a str>,
    pub canonical: String,
}

fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

fn ip_literal(s: &str) -> bool {
    let inner = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    inner.parse::<IpAddr>().is_ok()
}

/// `sent-protocol LWS sent-by *( SEMI via-params )`, LWS allowed around `/`, `:`, `;`, `=`.
pub(crate) fn via_parm(s: &str) -> Result<ViaParm<'_>, &'static str> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let name = c.token();
    c.skip_ws();
    let slash1 = c.eat(b'/');
    c.skip_ws();
    let version = c.token();
    c.skip_ws();
    let slash2 = c.eat(b'/');
    c.skip_ws();
    let transport = c.token();
    if !slash1 || !slash2 || transport.is_empty() {
        return Err("malformed sent-protocol");
    }
    if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
        return Err("sent-protocol is not SIP/2.0");
    }
    if !c.skip_ws() {
        return Err("no whitespace between sent-protocol and sent-by");
    }

    let start = c.pos();
    let host = if c.eat(b'[') {
        let inner = c.take_while(|b| b != b']');
        if !c.eat(b']') {
            return Err("unterminated IPv6 reference in sent-by");
        }
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err("malformed IPv6 reference in sent-by");
        }
        // With the brackets: they are part of how sent-by is written and compared.
        c.since(start)
    } else {
        let h = c.take_while(is_host_char);
        parse_host(h).map_err(|_| "malformed host in sent-by")?;
        h
    };
    c.skip_ws();
    let mut port = None;
    if c.eat(b':') {
        c.skip_ws();
        let digits = c.take_while(|b| b.is_ascii_digit());
        port = Some(parse_port(digits).map_err(|_| "malformed port in sent-by")?);
    }

    let mut canonical = String::with_capacity(s.len());
    canonical.push_str("SIP/2.0/");
    canonical.push_str(transport);
    canonical.push(' ');
    canonical.push_str(host);
    if let Some(p) = port {
        canonical.push(':');
        canonical.push_str(&p.to_string());
    }
    let (mut branch, mut rport, mut received) = (None, false, None);
    c.params(|n, v| {
        if n.eq_ignore_ascii_case("branch") {
            match v {
                Some(v) if v.bytes().all(is_token) => branch = Some(v),
                _ => return Err("branch is not a token"),
            }
        } else if n.eq_ignore_ascii_case("rport") {
            if v.is_some_and(|v| parse_port(v).is_err()) {
                return Err("rport is not a port number");
            }
            rport = true;
        } else if n.eq_ignore_ascii_case("received") {
            match v {
                Some(v) if ip_literal(v) => received = Some(v),
                _ => return Err("received is not an IP address"),
            }
        }
        canonical.push(';');
        canonical.push_str(n);
        if let Some(v) = v {
            canonical.push('=');
            canonical.push_str(v);
        }
        Ok(())
    })?;
    c.skip_ws();
    if !c.at_end() {
        return Err("unexpected characters after Via parameters");
    }
    Ok(ViaParm {
        host,
        port,
        branch,
        rport,
        received,
        canonical,
    })
}

/// A parsed `name-addr` / `addr-spec` with its header parameters.
#[derive(Debug)]
pub(crate) struct Addr<'a> {
    /// The URI text (without `<>`), or `*` for a wildcard Contact.
    pub uri: &'a str,
    pub tag: Option<&'a str>,
}

/// `(name-addr / addr-spec) *(SEMI param)` over the whole of `s` (From, To) or one element
/// of a list (Contact). RFC 3261 §20.10: a URI holding `,`, `;` or `?` must be in `<>`, and
/// whitespace inside `<>` is not allowed (RFC 4475 §3.1.2.14 rejects it).
pub(crate) fn addr(s: &str) -> Result<Addr<'_>, &'static str> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let bracketed = match c.peek() {
        None => return Err("empty value"),
        Some(b'"') => {
            c.quoted_string()?;
            c.skip_ws();
            true
        }
        Some(b'<') => true,
        Some(_) if scheme_len(c.rest()).is_some() => false,
        Some(_) => {
            // Display name as a token sequence; no LWS before `<` is tolerated
            // (RFC 4475 §3.1.1.6).
            loop {
                if c.token().is_empty() {
                    return Err("display name is neither tokens nor a quoted string");
                }
                c.skip_ws();
                match c.peek() {
                    Some(b'<') => break,
                    Some(b) if is_token(b) => {}
                    _ => return Err("display name is neither tokens nor a quoted string"),
                }
            }
            true
        }
    };
    let uri_text = if bracketed {
        if !c.eat(b'<') {
            return Err("expected '<' after the display name");
        }
        let u = c.take_while(|b| b != b'>');
        if !c.eat(b'>') {
            return Err("unterminated '<'");
        }
        if u.bytes().any(|b| is_wsp(b) || b == b'<' || b == b'"') {
            return Err("whitespace or delimiter inside <>");
        }
        u
    } else {
        let u = c.take_while(|b| !is_wsp(b) && !matches!(b, b';' | b',' | b'<' | b'>' | b'"'));
        if u.contains('?') {
            return Err("URI with escaped headers must be enclosed in <>");
        }
        u
    };
    uri::check(uri_text, Place::Header)?;
    let mut tag = None;
    c.params(|n, v| {
        if n.eq_ignore_ascii_case("tag") {
            match v {
                Some(v) if v.bytes().all(is_token) => tag = Some(v),
                _ => return Err("tag is not a token"),
            }
        }
        Ok(())
    })?;
    c.skip_ws();
    if !c.at_end() {
        return Err("more than one address, or junk after the address");
    }
    Ok(Addr { uri: uri_text, tag })
}

/// `1*DIGIT LWS Method`; the number is `None` when it exceeds 2^32-1.
pub(crate) fn cseq(s: &str) -> Result<(Option<u32>, &str), &'static str> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let digits = c.take_while(|b| b.is_ascii_digit());
    if digits.is_empty() {
        return Err("sequence number missing");
    }
    if !c.skip_ws() {
        return Err("no whitespace after the sequence number");
    }
    let method = c.token();
    c.skip_ws();
    if method.is_empty() || !c.at_end() {
        return Err("method missing or followed by junk");
    }
    Ok((decimal_u32(digits), method))
}

/// A run of ASCII digits as u32, `None` on overflow; leading zeros are legal.
pub(crate) fn decimal_u32(digits: &str) -> Option<u32> {
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    if significant.is_empty() {
        return Some(0);
    }
    significant.parse().ok()
}

/// `word ["@" word]` (RFC 3261 §25.1).
pub(crate) fn call_id_ok(s: &str) -> bool {
    let mut parts = s.splitn(2, '@');
    let ok = |w: Option<&str>| w.is_some_and(|w| !w.is_empty() && w.bytes().all(is_word));
    let (a, b) = (parts.next(), parts.next());
    ok(a) && (b.is_none() || ok(b))
}

/// `m-type "/" m-subtype *(SEMI m-parameter)`; returns type and subtype as written.
pub(crate) fn media_type(s: &str) -> Result<(&str, &str), &'static str> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let t = c.token();
    c.skip_ws();
    let slash = c.eat(b'/');
    c.skip_ws();
    let st = c.token();
    if t.is_empty() || !slash || st.is_empty() {
        return Err("not type/subtype");
    }
    c.params(|_, _| Ok(()))?;
    c.skip_ws();
    if !c.at_end() {
        return Err("junk after the media type");
    }
    Ok((t, st))
}

/// `rfc1123-date` must end in GMT (RFC 3261 §20.17; RFC 4475 §3.1.2.12).
pub(crate) fn date_ok(s: &str) -> bool {
    s.len() > 4
        && s.get(s.len() - 4..)
            .is_some_and(|z| z.eq_ignore_ascii_case(" GMT"))
}

/// The comma-separated tokens of Require, Supported and friends; empty items are skipped.
pub(crate) fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws_everywhere_is_canonicalised() {
        let v =
            via_parm("SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8  ")
                .unwrap();
        assert_eq!(
            v.canonical,
            "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8"
        );
        assert_eq!(v.branch, Some("z9hG4bK9ikj8"));
        let v = via_parm("SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;rport").unwrap();
        assert_eq!(
            (v.host, v.port, v.rport),
            ("[2001:db8::9:1]", Some(6050), true)
        );
        assert_eq!(
            v.canonical,
            "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;rport"
        );
        for ok in [
            "SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3",
            "SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3",
            "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
            "SIP/2.0/UDP iftgw.example.com",
        ] {
            via_parm(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP 193.175.133.193;branch=",
            "SIP/2.0/UDP bat.iptel.org:9;rport=",
            "SIP/7.0/UDP c.example.com",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP h;received=nothost",
            "SIP/2.0/UDP h extra",
        ] {
            assert!(via_parm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn name_addr_forms() {
        let a = addr("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(
            (a.uri, a.tag),
            ("sip:vivekg@chair-dnrc.example.com", Some("1918181833n"))
        );
        let a =
            addr(r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#).unwrap();
        assert_eq!(a.tag, Some("98asjd8"));
        assert!(addr("caller<sip:caller@example.com>;tag=323").is_ok());
        assert!(addr("isbn:2983792873").is_ok());
        assert!(addr("<http://www.example.com>;tag=3234233").is_ok());
        assert!(addr("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;x=\"é\"").is_ok());
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:a@b>, <sip:c@d>",
            "",
        ] {
            assert!(addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cseq_and_scalars() {
        assert_eq!(cseq("0009 INVITE").unwrap(), (Some(9), "INVITE"));
        assert_eq!(
            cseq("36893488147419103232 REGISTER").unwrap(),
            (None, "REGISTER")
        );
        assert_eq!(cseq("4294967295 BYE").unwrap().0, Some(u32::MAX));
        assert_eq!(cseq("4294967296 BYE").unwrap().0, None);
        assert!(cseq("INVITE").is_err());
        assert!(cseq("1INVITE").is_err());
        assert!(cseq("1 INVITE x").is_err());
    }

    #[test]
    fn call_ids_and_dates() {
        assert!(call_id_ok("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
        assert!(!call_id_ok("a b"));
        assert!(!call_id_ok("a@b@c"));
        assert!(!call_id_ok(""));
        assert!(date_ok("Sat, 15 Oct 2005 04:44:56 GMT"));
        assert!(!date_ok("Fri, 01 Jan 2010 16:00:00 EST"));
        assert_eq!(
            media_type("text/html ; charset=ISO-8859-4").unwrap(),
            ("text", "html")
        );
        assert!(media_type("application").is_err());
    }
}
