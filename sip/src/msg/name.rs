//! Header field names: case-insensitive lookup, compact forms, and the rsip variant each maps to.

use rsip::headers::untyped::{self as h, UntypedHeader};
use rsip::Header;

/// A header name as the parser understands it. The rsip-known names get their own variant so
/// the validator can dispatch with a `match`; the rest are opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Accept,
    AcceptEncoding,
    AcceptLanguage,
    AlertInfo,
    Allow,
    AuthenticationInfo,
    Authorization,
    CSeq,
    CallId,
    CallInfo,
    Contact,
    ContentDisposition,
    ContentEncoding,
    ContentLanguage,
    ContentLength,
    ContentType,
    Date,
    ErrorInfo,
    Event,
    Expires,
    From,
    InReplyTo,
    MaxForwards,
    MimeVersion,
    MinExpires,
    Organization,
    Priority,
    ProxyAuthenticate,
    ProxyAuthorization,
    ProxyRequire,
    RecordRoute,
    ReplyTo,
    Require,
    RetryAfter,
    Route,
    Server,
    Subject,
    SubscriptionState,
    Supported,
    Timestamp,
    To,
    Unsupported,
    UserAgent,
    Via,
    Warning,
    WwwAuthenticate,
    /// A name rsip has no variant for but that has a compact form; carries the full name so
    /// `r:` and `Refer-To:` come out the same.
    Extension(&'static str),
    /// Anything else; the name is kept as it was on the wire.
    Other,
}

/// Most frequent first: the scan stops at the first match.
const TABLE: &[(&str, Name)] = &[
    ("Via", Name::Via),
    ("From", Name::From),
    ("To", Name::To),
    ("Call-ID", Name::CallId),
    ("CSeq", Name::CSeq),
    ("Contact", Name::Contact),
    ("Max-Forwards", Name::MaxForwards),
    ("Content-Length", Name::ContentLength),
    ("Content-Type", Name::ContentType),
    ("Record-Route", Name::RecordRoute),
    ("Route", Name::Route),
    ("User-Agent", Name::UserAgent),
    ("Allow", Name::Allow),
    ("Supported", Name::Supported),
    ("Server", Name::Server),
    ("Expires", Name::Expires),
    ("Accept", Name::Accept),
    ("Accept-Encoding", Name::AcceptEncoding),
    ("Accept-Language", Name::AcceptLanguage),
    ("Alert-Info", Name::AlertInfo),
    ("Authentication-Info", Name::AuthenticationInfo),
    ("Authorization", Name::Authorization),
    ("Call-Info", Name::CallInfo),
    ("Content-Disposition", Name::ContentDisposition),
    ("Content-Encoding", Name::ContentEncoding),
    ("Content-Language", Name::ContentLanguage),
    ("Date", Name::Date),
    ("Error-Info", Name::ErrorInfo),
    ("Event", Name::Event),
    ("In-Reply-To", Name::InReplyTo),
    ("MIME-Version", Name::MimeVersion),
    ("Min-Expires", Name::MinExpires),
    ("Organization", Name::Organization),
    ("Priority", Name::Priority),
    ("Proxy-Authenticate", Name::ProxyAuthenticate),
    ("Proxy-Authorization", Name::ProxyAuthorization),
    ("Proxy-Require", Name::ProxyRequire),
    ("Reply-To", Name::ReplyTo),
    ("Require", Name::Require),
    ("Retry-After", Name::RetryAfter),
    ("Subject", Name::Subject),
    ("Subscription-State", Name::SubscriptionState),
    ("Timestamp", Name::Timestamp),
    ("Unsupported", Name::Unsupported),
    ("Warning", Name::Warning),
    ("WWW-Authenticate", Name::WwwAuthenticate),
    ("Refer-To", Name::Extension("Refer-To")),
    ("Allow-Events", Name::Extension("Allow-Events")),
    ("Referred-By", Name::Extension("Referred-By")),
    ("Session-Expires", Name::Extension("Session-Expires")),
    ("Accept-Contact", Name::Extension("Accept-Contact")),
    ("Reject-Contact", Name::Extension("Reject-Contact")),
    (
        "Request-Disposition",
        Name::Extension("Request-Disposition"),
    ),
    ("Identity", Name::Extension("Identity")),
    ("Identity-Info", Name::Extension("Identity-Info")),
];

/// RFC 3261 §7.3.3 and the IANA registry of compact forms.
fn compact(c: u8) -> Name {
    match c.to_ascii_lowercase() {
        b'v' => Name::Via,
        b'i' => Name::CallId,
        b'm' => Name::Contact,
        b'f' => Name::From,
        b't' => Name::To,
        b'l' => Name::ContentLength,
        b'c' => Name::ContentType,
        b'e' => Name::ContentEncoding,
        b'k' => Name::Supported,
        b's' => Name::Subject,
        b'o' => Name::Event,
        b'r' => Name::Extension("Refer-To"),
        b'u' => Name::Extension("Allow-Events"),
        b'b' => Name::Extension("Referred-By"),
        b'x' => Name::Extension("Session-Expires"),
        b'a' => Name::Extension("Accept-Contact"),
        b'j' => Name::Extension("Reject-Contact"),
        b'd' => Name::Extension("Request-Disposition"),
        b'y' => Name::Extension("Identity"),
        b'n' => Name::Extension("Identity-Info"),
        _ => Name::Other,
    }
}

/// Case-insensitive lookup; comparing lengths first keeps the scan to a handful of byte compares.
pub(crate) fn lookup(raw: &str) -> Name {
    if let [c] = raw.as_bytes() {
        return compact(*c);
    }
    TABLE
        .iter()
        .find(|(n, _)| n.len() == raw.len() && n.eq_ignore_ascii_case(raw))
        .map_or(Name::Other, |(_, name)| *name)
}

impl Name {
    /// Wraps a normalised value in the rsip variant for this name.
    pub(crate) fn into_header(self, raw_name: &str, value: String) -> Header {
        match self {
            Name::Accept => Header::Accept(h::Accept::new(value)),
            Name::AcceptEncoding => Header::AcceptEncoding(h::AcceptEncoding::new(value)),
            Name::AcceptLanguage => Header::AcceptLanguage(h::AcceptLanguage::new(value)),
            Name::AlertInfo => Header::AlertInfo(h::AlertInfo::new(value)),
            Name::Allow => Header::Allow(h::Allow::new(value)),
            Name::AuthenticationInfo => {
                Header::AuthenticationInfo(h::AuthenticationInfo::new(value))
            }
            Name::Authorization => Header::Authorization(h::Authorization::new(value)),
            Name::CSeq => Header::CSeq(h::CSeq::new(value)),
            Name::CallId => Header::CallId(h::CallId::new(value)),
            Name::CallInfo => Header::CallInfo(h::CallInfo::new(value)),
            Name::Contact => Header::Contact(h::Contact::new(value)),
            Name::ContentDisposition => {
                Header::ContentDisposition(h::ContentDisposition::new(value))
            }
            Name::ContentEncoding => Header::ContentEncoding(h::ContentEncoding::new(value)),
            Name::ContentLanguage => Header::ContentLanguage(h::ContentLanguage::new(value)),
            Name::ContentLength => Header::ContentLength(h::ContentLength::new(value)),
            Name::ContentType => Header::ContentType(h::ContentType::new(value)),
            Name::Date => Header::Date(h::Date::new(value)),
            Name::ErrorInfo => Header::ErrorInfo(h::ErrorInfo::new(value)),
            Name::Event => Header::Event(h::Event::new(value)),
            Name::Expires => Header::Expires(h::Expires::new(value)),
            Name::From => Header::From(h::From::new(value)),
            Name::InReplyTo => Header::InReplyTo(h::InReplyTo::new(value)),
            Name::MaxForwards => Header::MaxForwards(h::MaxForwards::new(value)),
            Name::MimeVersion => Header::MimeVersion(h::MimeVersion::new(value)),
            Name::MinExpires => Header::MinExpires(h::MinExpires::new(value)),
            Name::Organization => Header::Organization(h::Organization::new(value)),
            Name::Priority => Header::Priority(h::Priority::new(value)),
            Name::ProxyAuthenticate => Header::ProxyAuthenticate(h::ProxyAuthenticate::new(value)),
            Name::ProxyAuthorization => {
                Header::ProxyAuthorization(h::ProxyAuthorization::new(value))
            }
            Name::ProxyRequire => Header::ProxyRequire(h::ProxyRequire::new(value)),
            Name::RecordRoute => Header::RecordRoute(h::RecordRoute::new(value)),
            Name::ReplyTo => Header::ReplyTo(h::ReplyTo::new(value)),
            Name::Require => Header::Require(h::Require::new(value)),
            Name::RetryAfter => Header::RetryAfter(h::RetryAfter::new(value)),
            Name::Route => Header::Route(h::Route::new(value)),
            Name::Server => Header::Server(h::Server::new(value)),
            Name::Subject => Header::Subject(h::Subject::new(value)),
            Name::SubscriptionState => Header::SubscriptionState(h::SubscriptionState::new(value)),
            Name::Supported => Header::Supported(h::Supported::new(value)),
            Name::Timestamp => Header::Timestamp(h::Timestamp::new(value)),
            Name::To => Header::To(h::To::new(value)),
            Name::Unsupported => Header::Unsupported(h::Unsupported::new(value)),
            Name::UserAgent => Header::UserAgent(h::UserAgent::new(value)),
            Name::Via => Header::Via(h::Via::new(value)),
            Name::Warning => Header::Warning(h::Warning::new(value)),
            Name::WwwAuthenticate => Header::WwwAuthenticate(h::WwwAuthenticate::new(value)),
            Name::Extension(full) => Header::Other(full.into(), value),
            Name::Other => Header::Other(raw_name.into(), value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_long_forms_agree() {
        for (short, long) in [
            ("v", "Via"),
            ("I", "call-id"),
            ("m", "CONTACT"),
            ("f", "From"),
            ("t", "to"),
            ("L", "Content-Length"),
            ("c", "content-type"),
            ("e", "Content-Encoding"),
            ("k", "Supported"),
            ("s", "Subject"),
            ("o", "Event"),
            ("r", "Refer-To"),
            ("u", "Allow-Events"),
            ("b", "Referred-By"),
            ("x", "Session-Expires"),
            ("a", "Accept-Contact"),
            ("j", "Reject-Contact"),
            ("d", "Request-Disposition"),
            ("y", "Identity"),
            ("n", "Identity-Info"),
        ] {
            assert_eq!(lookup(short), lookup(long), "{short} vs {long}");
            assert_ne!(lookup(short), Name::Other, "{short}");
        }
    }

    #[test]
    fn unknown_names_stay_opaque_with_their_spelling() {
        assert_eq!(lookup("C%6Fntact"), Name::Other);
        assert_eq!(lookup("z"), Name::Other);
        let h = lookup("X-Foo").into_header("X-Foo", "bar".into());
        assert_eq!(h.to_string(), "X-Foo: bar");
        let h = lookup("r").into_header("r", "<sip:a@b>".into());
        assert_eq!(h.to_string(), "Refer-To: <sip:a@b>");
    }
}
