//! Caller IDs as a campaign gives them: an E.164 number or a SIP URI, checked for shape.

use std::fmt;

/// A validated caller ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerId {
    /// `+` and 3 to 15 digits, the first not 0.
    E164(String),
    /// A `sip:` or `sips:` URI.
    Uri(String),
}

impl CallerId {
    /// Checks an E.164 number or a SIP URI; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(digits) = text.strip_prefix('+') {
            let ok = (3..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            return if ok {
                Ok(Self::E164(text.to_owned()))
            } else {
                Err("must be + and 3 to 15 digits, the first not 0 (E.164), or a sip: URI".into())
            };
        }
        let lower = text
            .get(..5)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let rest = if lower.starts_with("sip:") {
            &text[4..]
        } else if lower == "sips:" {
            &text[5..]
        } else {
            return Err("must be an E.164 number (+15551234567) or a sip:/sips: URI".into());
        };
        check_sip_uri_rest(rest)?;
        Ok(Self::Uri(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::E164(s) | Self::Uri(s) => s,
        }
    }
}

impl fmt::Display for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Caller IDs are personal data (STYLE.md): print them redacted.
        crate::domain::Redacted(self.as_str()).fmt(f)
    }
}

/// The part of a SIP URI after its scheme: `[user@]host[:port][;params][?headers]`, checked
/// for the characters RFC 3261 allows, not parsed into parts (the SIP layer does that).
fn check_sip_uri_rest(rest: &str) -> Result<(), String> {
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let (userhost, tail) = rest.split_at(end);
    let host_port = match userhost.rsplit_once('@') {
        Some((user, host)) => {
            let user_ok = !user.is_empty()
                && user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%&=+$,;?/:".contains(&b));
            if !user_ok {
                return Err("has an invalid user part".into());
            }
            host
        }
        None => userhost,
    };
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err("has an unclosed IPv6 bracket".into());
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("has an invalid IPv6 host".into());
        }
        match after.strip_prefix(':') {
            Some(port) => (None, Some(port)),
            None if after.is_empty() => (None, None),
            None => return Err("has text after its IPv6 host".into()),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, port)) => (Some(h), Some(port)),
            None => (Some(host_port), None),
        }
    };
    if let Some(host) = host {
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !host.starts_with(['.', '-']);
        if !ok {
            return Err("has an invalid host".into());
        }
    }
    if let Some(port) = port {
        if !port.bytes().all(|b| b.is_ascii_digit()) || !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err("has an invalid port".into());
        }
    }
    let tail_ok = tail.bytes().all(|b| {
        b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\' | b'`' | b'{' | b'}')
    });
    if !tail_ok {
        return Err("has invalid characters in its parameters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_ids() {
        for ok in [
            "+15551234567",
            "sip:alice@example.com",
            "SIP:1000@10.0.0.1:5060;user=phone",
            "sips:[::1]:5061",
            "sip:gw.example.com",
        ] {
            assert!(CallerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "15551234567",
            "+0123",
            "+1",
            "+1555123456789012",
            "sip:",
            "sip:a@",
            "sip:a b@x",
            "tel:+1555",
            "sip:x:99999",
            "sip:[::1",
            "é",
            "sip:host:",
        ] {
            assert!(CallerId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CallerId::parse("+15551234567").unwrap().to_string(),
            "***67"
        );
    }
}
