//! RFC 3263: which transport, address and port a SIP URI is reached at.
//!
//! Sans-IO: the shell does DNS through a [`Dns`] it supplies; this module only decides, from
//! a URI and from the records it is given: a literal address needs no lookup at all, NAPTR
//! records pick transports by order and preference, SRV records order by priority and then by
//! weight (RFC 2782), and A/AAAA give the addresses. [`resolve`] strings them together.

use std::net::{IpAddr, SocketAddr};

use crate::peer::{Peer, Transport};

/// The parts of a SIP or SIPS URI that target selection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTarget<'a> {
    /// `sips:` (TLS required end to end).
    pub secure: bool,
    /// The host, without brackets around an IPv6 literal.
    pub host: &'a str,
    pub port: Option<u16>,
    /// The `transport` URI parameter, as written.
    pub transport_param: Option<&'a str>,
    /// The `maddr` URI parameter, which overrides the host.
    pub maddr: Option<&'a str>,
}

/// Reads the scheme, host, port and `transport`/`maddr` parameters of `uri` (a Request-URI or
/// the URI of a name-addr, brackets allowed). `None` when it is not a `sip:`/`sips:` URI.
pub fn uri_target(uri: &str) -> Option<UriTarget<'_>> {
    let uri = uri.trim().trim_start_matches('<');
    let uri = uri.split('>').next().unwrap_or(uri);
    let (secure, rest) = if let Some(r) = strip_prefix_ci(uri, "sips:") {
        (true, r)
    } else {
        (false, strip_prefix_ci(uri, "sip:")?)
    };
    // URI headers (`?...`) end the parameters; a user part may hold `;` and `?`-free params.
    let rest = rest.split('?').next().unwrap_or(rest);
    let hostport_params = match rest.rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let mut parts = hostport_params.split(';');
    let hostport = parts.next().unwrap_or_default();
    let (host, port) = split_host_port(hostport)?;
    let mut target = UriTarget {
        secure,
        host,
        port,
        transport_param: None,
        maddr: None,
    };
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        if k.trim().eq_ignore_ascii_case("transport") {
            target.transport_param = Some(v.trim());
        } else if k.trim().eq_ignore_ascii_case("maddr") {
            target.maddr = Some(v.trim());
        }
    }
    Some(target)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// `host[:port]`, the host of an IPv6 reference without its brackets.
fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    if let Some(v6) = hostport.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if rest.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match hostport.split_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((hostport, None)),
    }
    .filter(|(host, _)| !host.is_empty())
}

/// The transport RFC 3263 §4.1 picks for `uri` without asking DNS: its `transport` parameter
/// if it names one we speak (TLS whenever the URI is `sips:`), else TLS for `sips:` and UDP
/// for `sip:`. Anything unreadable is UDP, as before this crate spoke streams.
pub fn uri_transport(uri: &str) -> Transport {
    // The dialer's hot path: a `sip:` URI with no parameter at all is UDP, found with one
    // scan for `;` rather than a parse.
    let bytes = uri.as_bytes();
    if !bytes.contains(&b';')
        && bytes
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"sip:"))
    {
        return Transport::Udp;
    }
    let Some(t) = uri_target(uri) else {
        return Transport::Udp;
    };
    if t.secure {
        return Transport::Tls;
    }
    t.transport_param
        .and_then(Transport::from_name)
        .unwrap_or(Transport::Udp)
}

/// A NAPTR record as RFC 3263 §4.1 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    pub order: u16,
    pub preference: u16,
    /// `s` for records that lead to SRV lookups.
    pub flags: String,
    /// `SIP+D2U`, `SIP+D2T`, `SIPS+D2T` ...
    pub service: String,
    /// The SRV name to look up.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// The transport a NAPTR service field names, if we speak it.
fn naptr_service(service: &str) -> Option<(Transport, bool)> {
    let s = service.to_ascii_uppercase();
    match s.as_str() {
        "SIP+D2U" => Some((Transport::Udp, false)),
        "SIP+D2T" => Some((Transport::Tcp, false)),
        "SIPS+D2T" => Some((Transport::Tls, true)),
        _ => None,
    }
}

/// The SRV names to look up, in order, from NAPTR `records` (RFC 3263 §4.1): only `s`-flag
/// records for services we speak, only SIPS ones for a `sips:` URI, by order then preference.
pub fn naptr_order(records: &[Naptr], secure: bool) -> Vec<(Transport, String)> {
    let mut usable: Vec<&Naptr> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter(|r| naptr_service(&r.service).is_some_and(|(_, sips)| sips || !secure))
        .collect();
    usable.sort_by_key(|r| (r.order, r.preference));
    usable
        .into_iter()
        .filter_map(|r| Some((naptr_service(&r.service)?.0, r.replacement.clone())))
        .collect()
}

/// The SRV names RFC 3263 §4.1 tries when a domain has no NAPTR records: TLS first for a
/// `sips:` URI (only TLS), else TCP and UDP (and TLS) in the order the RFC lists them.
pub fn srv_fallback(domain: &str, secure: bool) -> Vec<(Transport, String)> {
    let sips = (Transport::Tls, format!("_sips._tcp.{domain}"));
    if secure {
        return vec![sips];
    }
    vec![
        sips,
        (Transport::Tcp, format!("_sip._tcp.{domain}")),
        (Transport::Udp, format!("_sip._udp.{domain}")),
    ]
}

/// The SRV name for one transport, when a URI's `transport` parameter fixed it (§4.2).
pub fn srv_name(domain: &str, transport: Transport) -> String {
    match transport {
        Transport::Udp => format!("_sip._udp.{domain}"),
        Transport::Tcp => format!("_sip._tcp.{domain}"),
        Transport::Tls => format!("_sips._tcp.{domain}"),
    }
}

/// `records` in the order to try them (RFC 2782): by priority, and within a priority a
/// weighted random order, `random(n)` giving a number in `0..=n` (the caller's seeded or
/// system randomness: this module has none). Records of weight 0 come first among equals,
/// as RFC 2782 asks, and a target of `.` (service not offered) is dropped.
pub fn srv_order(records: &[Srv], mut random: impl FnMut(u32) -> u32) -> Vec<&Srv> {
    let mut sorted: Vec<&Srv> = records.iter().filter(|r| r.target != ".").collect();
    sorted.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(sorted.len());
    let mut i = 0;
    while i < sorted.len() {
        let prio = sorted[i].priority;
        let end = sorted[i..]
            .iter()
            .position(|r| r.priority != prio)
            .map_or(sorted.len(), |n| i + n);
        let mut group: Vec<&Srv> = sorted[i..end].to_vec();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = random(total).min(total);
            let mut running = 0;
            let at = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(at));
        }
        i = end;
    }
    out
}

/// What a URI needs before it has addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A numeric address: no DNS at all (§4.2).
    Literal(Peer),
    /// A host name with an explicit port: A/AAAA only, over this transport (§4.2).
    Host {
        host: String,
        port: u16,
        transport: Transport,
    },
    /// A host name with no port: SRV (after NAPTR unless the transport is fixed).
    Domain {
        domain: String,
        secure: bool,
        transport: Option<Transport>,
    },
}

/// How `uri` is to be resolved (RFC 3263 §4.1, §4.2). `None` when it is not a SIP URI.
pub fn plan(uri: &str) -> Option<Plan> {
    let t = uri_target(uri)?;
    let host = t.maddr.unwrap_or(t.host);
    let fixed = t.transport_param.and_then(Transport::from_name).map(|tr| {
        if t.secure {
            Transport::Tls
        } else {
            tr
        }
    });
    let transport = fixed.unwrap_or(if t.secure {
        Transport::Tls
    } else {
        Transport::Udp
    });
    if let Ok(ip) = host.parse::<IpAddr>() {
        let port = t.port.unwrap_or(transport.default_port());
        return Some(Plan::Literal(Peer {
            transport,
            addr: SocketAddr::new(ip, port),
        }));
    }
    Some(match t.port {
        Some(port) => Plan::Host {
            host: host.to_owned(),
            port,
            transport,
        },
        None => Plan::Domain {
            domain: host.to_owned(),
            secure: t.secure,
            transport: fixed,
        },
    })
}

/// The DNS lookups RFC 3263 needs, done by the shell (a system resolver, a DNS client, a
/// table in a test). Empty answers are `Ok(vec![])`.
#[allow(async_fn_in_trait)] // called generically by `resolve`, never as a trait object
pub trait Dns {
    type Error;
    async fn naptr(&mut self, name: &str) -> Result<Vec<Naptr>, Self::Error>;
    async fn srv(&mut self, name: &str) -> Result<Vec<Srv>, Self::Error>;
    async fn addresses(&mut self, host: &str) -> Result<Vec<IpAddr>, Self::Error>;
}

/// Every peer `uri` may be reached at, best first (RFC 3263 §4): the caller tries them in
/// order until one answers. `random` orders SRV records of equal priority (see [`srv_order`]).
pub async fn resolve<D: Dns>(
    dns: &mut D,
    uri: &str,
    mut random: impl FnMut(u32) -> u32,
) -> Result<Vec<Peer>, D::Error> {
    let Some(plan) = plan(uri) else {
        return Ok(Vec::new());
    };
    let (domain, secure, fixed) = match plan {
        Plan::Literal(peer) => return Ok(vec![peer]),
        Plan::Host {
            host,
            port,
            transport,
        } => {
            let ips = dns.addresses(&host).await?;
            return Ok(peers(&ips, port, transport));
        }
        Plan::Domain {
            domain,
            secure,
            transport,
        } => (domain, secure, transport),
    };
    let names = match fixed {
        Some(t) => vec![(t, srv_name(&domain, t))],
        None => {
            let naptr = naptr_order(&dns.naptr(&domain).await?, secure);
            if naptr.is_empty() {
                srv_fallback(&domain, secure)
            } else {
                naptr
            }
        }
    };
    let mut out = Vec::new();
    for (transport, name) in &names {
        let records = dns.srv(name).await?;
        for srv in srv_order(&records, &mut random) {
            let ips = dns.addresses(&srv.target).await?;
            out.extend(peers(&ips, srv.port, *transport));
        }
    }
    if out.is_empty() {
        // No SRV at all: the domain's own addresses, on the default port (§4.2).
        let transport = fixed.unwrap_or(if secure {
            Transport::Tls
        } else {
            Transport::Udp
        });
        let ips = dns.addresses(&domain).await?;
        out = peers(&ips, transport.default_port(), transport);
    }
    Ok(out)
}

fn peers(ips: &[IpAddr], port: u16, transport: Transport) -> Vec<Peer> {
    ips.iter()
        .map(|ip| Peer {
            transport,
            addr: SocketAddr::new(*ip, port),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_uri_names_the_transport() {
        assert_eq!(uri_transport("sip:+1555@192.0.2.1:5060"), Transport::Udp);
        assert_eq!(uri_transport("sip:+1555@pbx;transport=TCP"), Transport::Tcp);
        assert_eq!(uri_transport("SIPS:+1555@pbx"), Transport::Tls);
        assert_eq!(
            uri_transport("sips:+1555@pbx;transport=tcp"),
            Transport::Tls
        );
        assert_eq!(
            uri_transport("sip:user;transport=tcp@pbx"),
            Transport::Udp,
            "a user param"
        );
        assert_eq!(uri_transport("<sip:pbx;lr;transport=tls>"), Transport::Tls);
        assert_eq!(uri_transport("tel:+1555"), Transport::Udp);
    }

    #[test]
    fn literal_addresses_need_no_dns() {
        let lit = |s: &str| s.parse::<SocketAddr>().expect("addr");
        assert_eq!(
            plan("sip:a@192.0.2.1"),
            Some(Plan::Literal(Peer::udp(lit("192.0.2.1:5060"))))
        );
        assert_eq!(
            plan("sips:a@[2001:db8::1]"),
            Some(Plan::Literal(Peer::tls(lit("[2001:db8::1]:5061"))))
        );
        assert_eq!(
            plan("sip:a@pbx.example.com;maddr=192.0.2.9;transport=tcp"),
            Some(Plan::Literal(Peer::tcp(lit("192.0.2.9:5060"))))
        );
        assert_eq!(
            plan("sip:a@pbx.example.com:5070"),
            Some(Plan::Host {
                host: "pbx.example.com".into(),
                port: 5070,
                transport: Transport::Udp
            })
        );
        assert_eq!(plan("mailto:a@b"), None);
    }

    fn naptr(order: u16, pref: u16, service: &str, repl: &str) -> Naptr {
        Naptr {
            order,
            preference: pref,
            flags: "s".into(),
            service: service.into(),
            replacement: repl.into(),
        }
    }

    #[test]
    fn naptr_orders_by_order_then_preference_and_keeps_what_we_speak() {
        let records = [
            naptr(90, 50, "SIP+D2U", "_sip._udp.example.com"),
            naptr(50, 60, "SIP+D2T", "_sip._tcp.example.com"),
            naptr(50, 50, "SIPS+D2T", "_sips._tcp.example.com"),
            naptr(10, 10, "SIP+D2S", "_sip._sctp.example.com"),
        ];
        let names: Vec<_> = naptr_order(&records, false);
        assert_eq!(
            names,
            [
                (Transport::Tls, "_sips._tcp.example.com".to_string()),
                (Transport::Tcp, "_sip._tcp.example.com".to_string()),
                (Transport::Udp, "_sip._udp.example.com".to_string()),
            ]
        );
        assert_eq!(naptr_order(&records, true).len(), 1, "sips: only SIPS+D2T");
    }

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 5060,
            target: target.into(),
        }
    }

    #[test]
    fn srv_orders_by_priority_then_weight() {
        let records = [
            srv(20, 0, "backup"),
            srv(10, 60, "big"),
            srv(10, 20, "small"),
            srv(10, 0, "zero"),
            srv(5, 0, "."),
        ];
        let names = |picks: &[u32]| {
            let mut picks = picks.iter().copied();
            srv_order(&records, |_| picks.next().unwrap_or(0))
                .into_iter()
                .map(|r| r.target.clone())
                .collect::<Vec<_>>()
        };
        // Priority 10 first, `.` dropped, backup last. Within 10 (sorted zero, big, small):
        // a pick of 0 lands on the weight-0 record, 50 on big (running 60), then small.
        assert_eq!(names(&[0, 50, 20, 0]), ["zero", "big", "small", "backup"]);
        // A pick of 70 of 80 lands on small (0 + 60 + 20 reaches it).
        assert_eq!(names(&[70, 0, 0, 0]), ["small", "zero", "big", "backup"]);
    }

    /// DNS answers from a table.
    #[derive(Default)]
    struct Table {
        naptr: HashMap<String, Vec<Naptr>>,
        srv: HashMap<String, Vec<Srv>>,
        a: HashMap<String, Vec<IpAddr>>,
        asked: Vec<String>,
    }

    impl Dns for Table {
        type Error = std::convert::Infallible;
        async fn naptr(&mut self, name: &str) -> Result<Vec<Naptr>, Self::Error> {
            self.asked.push(format!("NAPTR {name}"));
            Ok(self.naptr.get(name).cloned().unwrap_or_default())
        }
        async fn srv(&mut self, name: &str) -> Result<Vec<Srv>, Self::Error> {
            self.asked.push(format!("SRV {name}"));
            Ok(self.srv.get(name).cloned().unwrap_or_default())
        }
        async fn addresses(&mut self, host: &str) -> Result<Vec<IpAddr>, Self::Error> {
            self.asked.push(format!("A {host}"));
            Ok(self.a.get(host).cloned().unwrap_or_default())
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread().build();
        rt.expect("runtime").block_on(f)
    }

    #[test]
    fn resolve_follows_naptr_srv_and_addresses() {
        let mut dns = Table::default();
        dns.naptr.insert(
            "example.com".into(),
            vec![
                naptr(10, 20, "SIP+D2U", "_sip._udp.example.com"),
                naptr(10, 10, "SIP+D2T", "_sip._tcp.example.com"),
            ],
        );
        dns.srv.insert(
            "_sip._tcp.example.com".into(),
            vec![srv(0, 0, "pbx1.example.com")],
        );
        dns.srv.insert(
            "_sip._udp.example.com".into(),
            vec![srv(0, 0, "pbx2.example.com")],
        );
        dns.a
            .insert("pbx1.example.com".into(), vec![[192, 0, 2, 1].into()]);
        dns.a
            .insert("pbx2.example.com".into(), vec![[192, 0, 2, 2].into()]);
        let got = block_on(resolve(&mut dns, "sip:+1555@example.com", |_| 0));
        let want = [
            Peer::tcp("192.0.2.1:5060".parse().expect("addr")),
            Peer::udp("192.0.2.2:5060".parse().expect("addr")),
        ];
        assert_eq!(got, Ok(want.to_vec()));
        // A literal address asks DNS nothing.
        let mut quiet = Table::default();
        let got = block_on(resolve(
            &mut quiet,
            "sip:+1555@192.0.2.7;transport=tcp",
            |_| 0,
        ));
        assert_eq!(
            got,
            Ok(vec![Peer::tcp("192.0.2.7:5060".parse().expect("addr"))])
        );
        assert!(quiet.asked.is_empty());
        // No NAPTR and no SRV: the domain's addresses on the default port.
        let mut bare = Table::default();
        bare.a
            .insert("pbx.test".into(), vec![[192, 0, 2, 3].into()]);
        let got = block_on(resolve(&mut bare, "sips:+1555@pbx.test", |_| 0));
        assert_eq!(
            got,
            Ok(vec![Peer::tls("192.0.2.3:5061".parse().expect("addr"))])
        );
        assert_eq!(
            bare.asked,
            ["NAPTR pbx.test", "SRV _sips._tcp.pbx.test", "A pbx.test"]
        );
    }
}
