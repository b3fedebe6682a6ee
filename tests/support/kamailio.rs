//! Kamailio for the end-to-end tests: a registrar and record-routing outbound proxy started
//! from a config generated into the test's temp dir, on loopback ports of its own, and
//! stopped by its PID (SIGTERM, so its main process takes its children down with it).

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{free_udp_port, wall_now, Proc};

const KAMAILIO: &str = "/usr/sbin/kamailio";
const KAMCMD: &str = "/usr/sbin/kamcmd";
const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// What the generated config does.
pub struct KamailioConf<'a> {
    /// REGISTERs must answer a digest challenge (realm = the To domain) with this user and
    /// password; the binding is kept at most `max_expires_s`.
    pub user: &'a str,
    pub password: &'a str,
    pub max_expires_s: u32,
    /// Where initial INVITEs go after their own digest challenge (realm = the From domain).
    pub invite_to: SocketAddr,
    /// A TLS listener too, presenting this certificate chain and key (PEM files); its
    /// address is [`Kamailio::tls_addr`].
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// A running Kamailio.
pub struct Kamailio {
    /// UDP and TCP.
    pub addr: SocketAddr,
    /// TLS, when configured.
    pub tls_addr: Option<SocketAddr>,
    ctl: PathBuf,
    log: PathBuf,
    proc: Option<Proc>,
}

impl Kamailio {
    /// Writes `dir/kamailio.cfg` and starts Kamailio in the foreground (`-DD -E`), waiting
    /// (bounded) until it answers on its control socket.
    pub fn start(dir: &Path, conf: &KamailioConf<'_>) -> Kamailio {
        assert!(
            Path::new(KAMAILIO).exists() && Path::new(KAMCMD).exists(),
            "Kamailio is required for this test: apt-get install -y kamailio"
        );
        let port = free_udp_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let ctl = dir.join("kamailio_ctl");
        let cfg = dir.join("kamailio.cfg");
        let mut text = config(addr, &ctl, conf);
        let mut tls_addr = None;
        if let Some((cert, key)) = &conf.tls {
            assert!(
                Path::new(MODULES).join("tls.so").exists(),
                "Kamailio's TLS module is required for this test: apt-get install -y kamailio-tls-modules"
            );
            let tls: SocketAddr = format!("127.0.0.1:{}", free_udp_port())
                .parse()
                .expect("addr");
            let tls_cfg = dir.join("tls.cfg");
            std::fs::write(
                &tls_cfg,
                format!(
                    "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n\
                     require_certificate = no\nprivate_key = {}\ncertificate = {}\n\n\
                     [client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n",
                    key.display(),
                    cert.display()
                ),
            )
            .expect("write tls.cfg");
            text = text.replacen(
                "mpath=",
                &format!(
                    "enable_tls=yes\nlisten=tls:{tls}\nloadmodule \"{MODULES}/tls.so\"\n\
                     modparam(\"tls\", \"config\", \"{}\")\nmpath=",
                    tls_cfg.display()
                ),
                1,
            );
            tls_addr = Some(tls);
        }
        std::fs::write(&cfg, text).expect("write kamailio.cfg");
        let check = Command::new(KAMAILIO)
            .arg("-c")
            .arg("-f")
            .arg(&cfg)
            .output()
            .expect("run kamailio -c");
        assert!(
            check.status.success(),
            "kamailio rejects the generated config:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let mut cmd = Command::new(KAMAILIO);
        cmd.args(["-DD", "-E", "-m", "32", "-M", "4"])
            .arg("-f")
            .arg(&cfg)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .arg("-Y")
            .arg(dir)
            .arg("-w")
            .arg(dir)
            .current_dir(dir);
        // Its log goes to a file (a pipe nobody drains would block it), read on failures.
        let log = dir.join("kamailio.log");
        let file = std::fs::File::create(&log).expect("create kamailio.log");
        cmd.stderr(file).stdout(Stdio::null()).stdin(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start kamailio: {e}"));
        let mut k = Kamailio {
            addr,
            tls_addr,
            ctl,
            log,
            proc: Some(Proc {
                child,
                name: "kamailio".into(),
            }),
        };
        let deadline = wall_now() + Duration::from_secs(10);
        loop {
            if UdpSocket::bind(addr).is_err() && k.rpc(&["core.version"]).is_some() {
                return k;
            }
            if let Some(p) = k.proc.as_mut() {
                if let Ok(Some(st)) = p.child.try_wait() {
                    panic!("kamailio exited with {st}: {}", k.log_tail());
                }
            }
            assert!(wall_now() < deadline, "kamailio did not start within 10 s");
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }

    /// Runs `kamcmd` against this Kamailio's control socket; its stdout, or `None` on failure.
    pub fn rpc(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(KAMCMD)
            .arg("-s")
            .arg(format!("unix:{}", self.ctl.display()))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Kamailio's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of Kamailio's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The location table (`ul.dump`).
    pub fn bindings(&self) -> String {
        self.rpc(&["ul.dump"]).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            // SIGTERM to the main process: it stops its children before exiting.
            drop(p.terminate());
        }
    }
}

fn config(addr: SocketAddr, ctl: &Path, c: &KamailioConf<'_>) -> String {
    format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:{addr}
listen=tcp:{addr}
alias="trunk.test"
mpath="{MODULES}"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "ctl.so"
modparam("ctl", "binrpc", "unix:{ctl}")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", {max})
modparam("registrar", "min_expires", 1)
modparam("rr", "enable_full_lr", 1)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) t_relay();
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) t_relay();
        exit;
    }}
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "Keepalive");
        exit;
    }}
    if (is_method("REGISTER")) {{
        if ($au != "{user}" || !pv_www_authenticate("$td", "{password}", "0")) {{
            www_challenge("$td", "1");
            exit;
        }}
        if (!save("location")) sl_reply_error();
        exit;
    }}
    if (is_method("INVITE")) {{
        if ($au != "{user}" || !pv_proxy_authenticate("$fd", "{password}", "0")) {{
            proxy_challenge("$fd", "1");
            exit;
        }}
        consume_credentials();
        xlog("L_NOTICE", "trunk INVITE $ru from $fu PAI=$hdr(P-Asserted-Identity) Privacy=$hdr(Privacy)\n");
        remove_hf("Route");
        record_route();
        $du = "sip:{to}";
        t_relay();
        exit;
    }}
    sl_send_reply("405", "Method Not Allowed");
}}
"#,
        ctl = ctl.display(),
        max = c.max_expires_s,
        user = c.user,
        password = c.password,
        to = c.invite_to,
    )
}

/// A CA and a server certificate for `name` signed by it, made with `openssl` in `dir`:
/// (CA certificate, server certificate, server key), PEM files.
pub fn certificates(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("openssl is required for this test (apt-get install -y openssl): {e}")
            });
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=outdial test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                &format!("/CN={name}"),
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        format!(
            "subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .expect("write server.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}
