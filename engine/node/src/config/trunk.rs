//! `[[trunk]]`: a SIP trunk an `[[mpp]]` sends its calls through — the transport, the outbound
//! proxy, the registration and the caller identity a provider or a PBX edge wants.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// One `[[trunk]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSection {
    /// Name an `[[mpp]]` gives as its `trunk`, and the `trunk` label in status and metrics.
    /// Required; letters, digits, '-' and '_'.
    pub name: String,
    /// `udp`, `tcp` or `tls`: how requests reach the next hop (one connection per hop over
    /// TCP and TLS, reused). Default `udp`.
    #[serde(default)]
    pub transport: Option<String>,
    /// CA certificates (PEM) the TLS next hop's certificate must chain to; the certificate
    /// must name `domain` (or its address, when `domain` is one). Default: the webpki
    /// (Mozilla) roots. Only with `transport = "tls"`.
    #[serde(default)]
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// The trunk's domain: the host of Request-URIs, From and the registration's address of
    /// record (`trunk.example.com`, or `127.0.0.1:5060`). Required.
    pub domain: String,
    /// Outbound proxy every request goes through (`sip:127.0.0.1:5070;lr`): the next hop, and
    /// a Route header. A literal `IP:port`. Default none: requests go to `domain`, which
    /// must then be a literal `IP:port`.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Digest user name for REGISTER and for challenged INVITEs. Default none.
    #[serde(default)]
    pub username: Option<String>,
    /// Digest password. Required with `username`.
    #[serde(default)]
    pub password: Option<String>,
    /// Register `username@domain` with the trunk. Default false; needs `username`.
    #[serde(default)]
    pub register: bool,
    /// The binding's life asked for, in seconds (60..=86400). Default 3600; the registrar's
    /// answer wins, and the binding is refreshed before it lapses.
    #[serde(default = "default_expires")]
    pub register_expires_s: u64,
    /// First retry after a failed registration, in ms (100..=600000). Default 2000; doubled
    /// per failure up to `register_retry_max_ms`.
    #[serde(default = "default_retry_min")]
    pub register_retry_min_ms: u64,
    /// Longest wait between registration retries, in ms (1000..=3600000). Default 300000.
    #[serde(default = "default_retry_max")]
    pub register_retry_max_ms: u64,
    /// User part of From on outbound INVITEs (`+14155550123`). Default: the campaign's caller
    /// id, else `username`, else `outdial`.
    #[serde(default)]
    pub from_user: Option<String>,
    /// Display name of From (`"Acme Sales"`). Default none.
    #[serde(default)]
    pub from_display: Option<String>,
    /// P-Asserted-Identity (RFC 3325) on outbound INVITEs: a number (`+14155550123`,
    /// written as `<sip:+14155550123@domain>`) or a URI. Default none.
    #[serde(default)]
    pub asserted_identity: Option<String>,
    /// Privacy header (RFC 3323): `none`, `id`, `header`, `user`, `session`, joined by `;`.
    /// Default none.
    #[serde(default)]
    pub privacy: Option<String>,
    /// Write dialled numbers with a leading `+` (E.164) when true, without when false.
    /// Default true.
    #[serde(default = "default_true")]
    pub e164_plus: bool,
    /// Offer an RFC 4028 session timer of this many seconds on INVITEs (90..=86400). The
    /// answer's interval and refresher rule: we refresh with UPDATE at half the interval, or
    /// hang up when the peer should and does not; a 422 is answered with its Min-SE.
    /// Default none (a timer the peer imposes is still kept).
    #[serde(default)]
    pub session_expires_s: Option<u64>,
}

fn default_expires() -> u64 {
    3600
}
fn default_retry_min() -> u64 {
    2000
}
fn default_retry_max() -> u64 {
    300_000
}
fn default_true() -> bool {
    true
}

/// A trunk's registration, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRegistration {
    pub expires: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
}

/// A trunk as the node uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    pub name: String,
    pub transport: sip::Transport,
    /// The CA a TLS next hop's certificate must chain to (PEM), from `tls_ca_file`.
    pub tls_ca_pem: Option<Vec<u8>>,
    pub domain: String,
    /// Where every request goes first: the proxy, or the domain's address.
    pub next_hop: SocketAddr,
    /// The outbound proxy's URI, written as a Route header (with `;lr`).
    pub proxy: Option<String>,
    pub credentials: Option<sip::auth::Credentials>,
    pub registration: Option<TrunkRegistration>,
    pub from_user: Option<String>,
    pub from_display: Option<String>,
    pub asserted_identity: Option<String>,
    pub privacy: Option<String>,
    pub e164_plus: bool,
    pub session_expires: Option<Duration>,
}

const PRIVACY_VALUES: [&str; 6] = ["none", "id", "header", "user", "session", "critical"];

impl TrunkSection {
    /// Checks the section (`trunk[i].key: why` into `problems`), resolving it when it is sound.
    pub fn resolve(&self, i: usize, problems: &mut Vec<String>) -> Option<Trunk> {
        let before = problems.len();
        let mut bad = |key: &str, why: String| problems.push(format!("trunk[{i}].{key}: {why}"));
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bad(
                "name",
                "letters, digits, '-' and '_' only, not empty".into(),
            );
        }
        let transport = match self.transport.as_deref().unwrap_or("udp") {
            "udp" => Some(sip::Transport::Udp),
            "tcp" => Some(sip::Transport::Tcp),
            "tls" => Some(sip::Transport::Tls),
            other => {
                bad(
                    "transport",
                    format!("{other:?} is not one of udp, tcp, tls"),
                );
                None
            }
        };
        let tls_ca_pem = match &self.tls_ca_file {
            Some(path) => match std::fs::read(path) {
                Ok(pem) => Some(pem),
                Err(e) => {
                    bad(
                        "tls_ca_file",
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            },
            None => None,
        };
        if self.tls_ca_file.is_some() && transport != Some(sip::Transport::Tls) {
            bad("tls_ca_file", "only for transport = \"tls\"".into());
        }
        if self.domain.is_empty() || self.domain.contains(['<', '>', '@', ';', ' ']) {
            bad(
                "domain",
                "a host or host:port, without user or parameters".into(),
            );
        }
        let next_hop = match &self.proxy {
            Some(p) => match proxy_addr(p) {
                Some(a) => Some(a),
                None => {
                    bad(
                        "proxy",
                        format!("{p:?} is not a sip: URI with a literal IP:port"),
                    );
                    None
                }
            },
            None => match self.domain.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    bad(
                        "domain",
                        "must be a literal IP:port when no proxy is given (no DNS lookup here)"
                            .into(),
                    );
                    None
                }
            },
        };
        let credentials = match (&self.username, &self.password) {
            (Some(u), Some(p)) if !u.is_empty() => Some(sip::auth::Credentials {
                username: u.clone(),
                password: p.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                bad("password", "required with username".into());
                None
            }
            _ => {
                bad("username", "required (not empty) with password".into());
                None
            }
        };
        if self.register && credentials.is_none() {
            bad("register", "needs username and password".into());
        }
        for (key, v, lo, hi) in [
            ("register_expires_s", self.register_expires_s, 60, 86_400),
            (
                "register_retry_min_ms",
                self.register_retry_min_ms,
                100,
                600_000,
            ),
            (
                "register_retry_max_ms",
                self.register_retry_max_ms,
                1000,
                3_600_000,
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                bad(key, format!("{v} is outside {lo}..={hi}"));
            }
        }
        if let Some(v) = self
            .session_expires_s
            .filter(|v| !(90..=86_400).contains(v))
        {
            bad("session_expires_s", format!("{v} is outside 90..=86400"));
        }
        if self.register_retry_max_ms < self.register_retry_min_ms {
            bad(
                "register_retry_max_ms",
                "below register_retry_min_ms".into(),
            );
        }
        for (key, v) in [
            ("from_user", &self.from_user),
            ("asserted_identity", &self.asserted_identity),
            ("from_display", &self.from_display),
        ] {
            if v.as_deref()
                .is_some_and(|v| v.is_empty() || v.contains(['\r', '\n', '"']))
            {
                bad(key, "not empty, no quotes or line breaks".into());
            }
        }
        if let Some(p) = &self.privacy {
            if !p.split(';').all(|v| PRIVACY_VALUES.contains(&v.trim())) {
                bad(
                    "privacy",
                    format!("{p:?}: values from {PRIVACY_VALUES:?} joined by ';'"),
                );
            }
        }
        if problems.len() > before {
            return None;
        }
        Some(Trunk {
            name: self.name.clone(),
            transport: transport?,
            tls_ca_pem,
            domain: self.domain.clone(),
            next_hop: next_hop?,
            proxy: self.proxy.clone(),
            registration: self.register.then(|| TrunkRegistration {
                expires: Duration::from_secs(self.register_expires_s),
                retry_min: Duration::from_millis(self.register_retry_min_ms),
                retry_max: Duration::from_millis(self.register_retry_max_ms),
            }),
            credentials,
            from_user: self.from_user.clone(),
            from_display: self.from_display.clone(),
            asserted_identity: self.asserted_identity.clone(),
            privacy: self.privacy.clone(),
            e164_plus: self.e164_plus,
            session_expires: self.session_expires_s.map(Duration::from_secs),
        })
    }
}

/// The `IP:port` of a `sip:IP:port;params` proxy URI.
fn proxy_addr(uri: &str) -> Option<SocketAddr> {
    let rest = uri.trim().strip_prefix('<').unwrap_or(uri.trim());
    let rest = rest.strip_suffix('>').unwrap_or(rest);
    let hostport = rest.strip_prefix("sip:")?.split(';').next()?;
    hostport.parse().ok()
}

impl Trunk {
    /// The Request-URI for dialling `phone` through this trunk (the transport to the next
    /// hop is the trunk's, not a URI parameter: the proxy picks its own onward).
    pub fn request_uri(&self, phone: &str) -> String {
        format!("sip:{}@{}", self.number(phone), self.domain)
    }

    /// `phone` with or without its leading `+`, as the trunk wants.
    pub fn number(&self, phone: &str) -> String {
        let digits = phone.trim_start_matches('+');
        if self.e164_plus {
            format!("+{digits}")
        } else {
            digits.to_owned()
        }
    }

    /// From for an outbound INVITE, as a name-addr: `"Display" <sip:user@domain>`.
    /// `caller` is the campaign's caller id number, used when the trunk names no user.
    pub fn from(&self, caller: Option<&str>) -> String {
        let user = match (&self.from_user, caller) {
            (Some(u), _) => u.clone(),
            (None, Some(c)) => self.number(c),
            (None, None) => self
                .credentials
                .as_ref()
                .map_or_else(|| "outdial".to_owned(), |c| c.username.clone()),
        };
        let uri = format!("sip:{user}@{}", self.domain);
        match &self.from_display {
            Some(d) => format!("\"{d}\" <{uri}>"),
            None => format!("<{uri}>"),
        }
    }

    /// The registration's address of record.
    pub fn aor(&self) -> Option<String> {
        let user = &self.credentials.as_ref()?.username;
        Some(format!("sip:{user}@{}", self.domain))
    }

    /// The Route header naming the outbound proxy (loose routing, `;lr` added if missing).
    pub fn route(&self) -> Option<String> {
        let p = self.proxy.as_deref()?.trim();
        let p = p.strip_prefix('<').unwrap_or(p);
        let p = p.strip_suffix('>').unwrap_or(p);
        let lr = if p.split(';').any(|x| x.eq_ignore_ascii_case("lr")) {
            ""
        } else {
            ";lr"
        };
        // The proxy's URI names the transport we reach it over, so in-dialog requests routed
        // back through it keep that transport.
        let has_transport = p.to_ascii_lowercase().contains(";transport=");
        let transport = match self.transport {
            _ if has_transport => "",
            sip::Transport::Udp => "",
            sip::Transport::Tcp => ";transport=tcp",
            sip::Transport::Tls => ";transport=tls",
        };
        Some(format!("<{p}{transport}{lr}>"))
    }

    /// Headers every outbound INVITE through this trunk carries: Route, P-Asserted-Identity,
    /// Privacy.
    pub fn invite_headers(&self) -> Vec<(String, String)> {
        let mut h = Vec::new();
        if let Some(r) = self.route() {
            h.push(("Route".to_owned(), r));
        }
        if let Some(id) = &self.asserted_identity {
            let v = if id.starts_with("sip:") || id.starts_with("sips:") || id.starts_with("tel:") {
                format!("<{id}>")
            } else {
                format!("<sip:{}@{}>", self.number(id), self.domain)
            };
            h.push(("P-Asserted-Identity".to_owned(), v));
        }
        if let Some(p) = &self.privacy {
            h.push(("Privacy".to_owned(), p.clone()));
        }
        if let Some(se) = self.session_expires {
            h.push(("Session-Expires".to_owned(), se.as_secs().to_string()));
            h.push(("Supported".to_owned(), "timer".to_owned()));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(extra: &str) -> Result<TrunkSection, toml::de::Error> {
        toml::from_str(&format!("name = \"edge\"\ndomain = \"pbx.test\"\n{extra}"))
    }

    fn resolve(extra: &str) -> Result<Trunk, Vec<String>> {
        let s = section(extra).map_err(|e| vec![e.to_string()])?;
        let mut p = Vec::new();
        s.resolve(0, &mut p).ok_or(p)
    }

    #[test]
    fn a_kamailio_edge_resolves_with_identity_headers() {
        let t = resolve(
            "proxy = \"sip:127.0.0.1:5070\"\nusername = \"trunk1\"\npassword = \"s\"\nregister = true\n\
             from_display = \"Acme\"\nasserted_identity = \"14155550123\"\nprivacy = \"id\"",
        )
        .expect("valid");
        assert_eq!(t.next_hop, "127.0.0.1:5070".parse().expect("addr"));
        assert_eq!(t.request_uri("33123456789"), "sip:+33123456789@pbx.test");
        assert_eq!(
            t.from(Some("+14155550100")),
            "\"Acme\" <sip:+14155550100@pbx.test>"
        );
        assert_eq!(t.aor().as_deref(), Some("sip:trunk1@pbx.test"));
        assert_eq!(
            t.invite_headers(),
            vec![
                ("Route".to_owned(), "<sip:127.0.0.1:5070;lr>".to_owned()),
                (
                    "P-Asserted-Identity".to_owned(),
                    "<sip:+14155550123@pbx.test>".to_owned()
                ),
                ("Privacy".to_owned(), "id".to_owned()),
            ]
        );
        assert_eq!(
            t.registration.map(|r| r.expires),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e = resolve("transport = \"sctp\"").expect_err("bad transport");
        assert!(
            e.iter()
                .any(|p| p.starts_with("trunk[0].transport: \"sctp\"")),
            "{e:?}"
        );
        let e = resolve("register = true").expect_err("no credentials");
        assert!(
            e.iter().any(|p| p.starts_with("trunk[0].register:")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|p| p.starts_with("trunk[0].domain: must be a literal")),
            "{e:?}"
        );
        let e = resolve("proxy = \"kamailio.test\"").expect_err("bad proxy");
        assert!(e.iter().any(|p| p.starts_with("trunk[0].proxy:")), "{e:?}");
        let e = resolve("proxy = \"sip:127.0.0.1:5\"\nsession_expires_s = 30")
            .expect_err("too brief a session");
        assert!(
            e.iter()
                .any(|p| p.starts_with("trunk[0].session_expires_s:")),
            "{e:?}"
        );
        let e = resolve("proxy = \"sip:127.0.0.1:5\"\nprivacy = \"everything\"")
            .expect_err("bad privacy");
        assert!(
            e.iter().any(|p| p.starts_with("trunk[0].privacy:")),
            "{e:?}"
        );
        let e = section("passwrd = \"x\"").expect_err("unknown key");
        assert!(e.to_string().contains("passwrd"), "{e}");
    }

    #[test]
    fn numbers_follow_the_trunks_plus_rule() {
        let t = resolve("proxy = \"sip:127.0.0.1:5070;lr\"\ne164_plus = false").expect("valid");
        assert_eq!(t.request_uri("+4930123"), "sip:4930123@pbx.test");
        assert_eq!(t.route().as_deref(), Some("<sip:127.0.0.1:5070;lr>"));
        assert_eq!(t.from(None), "<sip:outdial@pbx.test>");
        let t = resolve("proxy = \"sip:127.0.0.1:5070\"\ntransport = \"tcp\"").expect("valid");
        assert_eq!(
            t.route().as_deref(),
            Some("<sip:127.0.0.1:5070;transport=tcp;lr>"),
            "in-dialog requests routed back through the proxy keep the trunk's transport"
        );
        assert_eq!(t.request_uri("+1"), "sip:+1@pbx.test");
        let e = resolve("proxy = \"sip:127.0.0.1:5070\"\ntls_ca_file = \"/nonexistent.pem\"")
            .expect_err("CA for a UDP trunk, and unreadable");
        assert!(
            e.iter()
                .filter(|p| p.starts_with("trunk[0].tls_ca_file:"))
                .count()
                == 2,
            "{e:?}"
        );
    }

    #[test]
    fn the_shipped_kamailio_edge_config_resolves() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../configs/trunk-kamailio.toml"
        );
        let cfg = crate::config::NodeConfigFile::load(std::path::Path::new(path))
            .expect("configs/trunk-kamailio.toml is valid");
        let trunk = cfg.mpps[0].trunk.as_ref().expect("the MPP names its trunk");
        assert_eq!(trunk.name, "kamailio");
        assert!(trunk.registration.is_some());
        assert_eq!(cfg.trunks.len(), 1);
    }

    #[test]
    fn an_mpp_naming_no_trunk_is_refused() {
        let text = "[node]\nname = \"a\"\ndata_dir = \"/tmp/x\"\n\
                    [[mpp]]\nname = \"m\"\naddress = \"127.0.0.1:5070\"\ntrunk = \"nope\"\n";
        let err = crate::config::NodeConfigFile::parse(text, "t")
            .and_then(|c| c.resolve("t"))
            .expect_err("unknown trunk");
        assert!(err.to_string().contains("mpp[0].trunk"), "{err}");
    }
}
