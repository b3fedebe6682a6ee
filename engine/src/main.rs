//! The `outdial` command line: a thin shell over the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use outdial_tools::{loadtest, peer};

// mimalloc with `--features mimalloc` only: in the load tester it measured no better than
// glibc's malloc (bench/README.md, issue 18).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod access;

#[derive(Parser)]
#[command(
    name = "outdial",
    version,
    about = "Outbound contact-center dialer engine and SIP load tester"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The main job on embedded defaults: a node dials a campaign into our own customer network.
    Demo {
        /// Contacts in the generated campaign.
        #[arg(long, default_value_t = 1000)]
        contacts: u64,
        /// Simulated agents logged in over the desktop WebSocket (predictive campaign).
        #[arg(long, default_value_t = 30)]
        agents: u32,
        /// Run the agentless notification campaign instead (no agents).
        #[arg(long)]
        agentless: bool,
        /// Dialing mode for the agents' campaign: the baseline to compare predictive with.
        #[arg(long, value_parser = ["predictive", "progressive", "preview"], default_value = "predictive")]
        mode: String,
        /// Mean talk time of the simulated agents, ms (exponential).
        #[arg(long, default_value_t = 1500)]
        talk_ms: u64,
        /// Wrap-up time of the simulated agents, ms.
        #[arg(long, default_value_t = 300)]
        wrap_ms: u64,
        /// Data directory (must not exist); default a fresh one under the temp dir.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Inject this many zone faults during the run (panics in the zone's pacing loop and
        /// in agents' actors, alternately); the report times each takeover.
        #[arg(long, default_value_t = 0)]
        faults: u32,
        /// Print one JSON object at the end instead of the text report.
        #[arg(long)]
        json: bool,
        /// Keep the node, its agents and the wall-board serving after the campaign ends,
        /// until Ctrl-C.
        #[arg(long)]
        stay: bool,
    },
    /// Run a node: SIP, RTP, storage and the HTTP API, until SIGINT/SIGTERM.
    Run {
        /// Node configuration (TOML), e.g. configs/single-node.toml, or a cluster file
        /// (configs/ha-*.toml) with --node.
        #[arg(long)]
        config: PathBuf,
        /// Which `[[cluster.node]]` of a cluster file this process is.
        #[arg(long)]
        node: Option<String>,
    },
    /// The component table of one or more nodes, and each zone's takeovers.
    ///
    /// A row per component, a column per node, each cell MASTER, DORMANT, RUNNING or STOPPED;
    /// a node that does not answer is STOPPED throughout (exit status 2).
    Status {
        /// A node's HTTP API; repeat for each node of a cluster.
        #[arg(long)]
        api: Vec<String>,
        /// A cluster file (configs/ha-*.toml): ask every node it lists, in its order.
        #[arg(long, conflicts_with = "api")]
        config: Option<PathBuf>,
        /// Print the nodes' raw status as JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// A file holding an API token (a viewer's is enough). Default: $OUTDIAL_TOKEN, else
        /// with --config the cluster's first-start admin token.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// PEM file of the CAs to trust for https (default: the system's bundle).
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    /// Classify recordings as a person or an answering machine.
    ///
    /// WAV files, 8 kHz mono, 16-bit PCM or G.711: one line per file, or with --json one JSON
    /// object per line (file, verdict, decided_ms, beep_end_ms). Exit status 1 if a file
    /// could not be classified.
    Amd {
        /// Recordings to classify.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check campaign files against the rules of law before loading them.
    ///
    /// One line per file: `ok`, or every rule it breaks with the rule's code (as the API's
    /// 422 lists them). Exit status 1 if any file is refused.
    Check {
        /// Campaign files (TOML, as configs/campaign-*.toml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Users of the API and the desktop, through a running node's API with an admin token.
    User {
        #[command(subcommand)]
        cmd: access::UserCmd,
        #[command(flatten)]
        api: access::ApiArgs,
    },
    /// API tokens, through a running node's API with an admin token.
    Token {
        #[command(subcommand)]
        cmd: access::TokenCmd,
        #[command(flatten)]
        api: access::ApiArgs,
    },
    /// Prints the argon2id hash of a password read from stdin, as `[[agent]] password_argon2`.
    HashPassword,
    /// A SIP UAS that answers calls with a seeded mix of outcomes (the embedded customer network).
    Peer {
        /// Address to listen on, e.g. 127.0.0.1:5070.
        #[arg(long)]
        bind: SocketAddr,
        /// Outcome profile (TOML); without one every call is answered at once.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Append one line per INVITE dialog (Call-ID, Request-URI, outcome) to this file.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Print the final report as JSON on exit (SIGINT/SIGTERM).
        #[arg(long)]
        json: bool,
        /// Stop by itself after this many seconds.
        #[arg(long)]
        duration_s: Option<u64>,
    },
    /// Place calls at a rate against a SIP server and report rate, setup latency and failures.
    ///
    /// Exit status as SIPp's: 0 when every call succeeded, 1 when some failed.
    Loadtest {
        /// The SIP server, HOST:PORT.
        #[arg(long)]
        target: String,
        /// Calls per second.
        #[arg(long)]
        rate: f64,
        /// Total calls to place.
        #[arg(long)]
        calls: u64,
        /// Most calls in progress at once.
        #[arg(long, default_value_t = 10_000)]
        concurrency: u64,
        /// Hold each answered call this many ms before our BYE.
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
        /// Send and receive RTP on answered calls.
        #[arg(long)]
        media: bool,
        /// Print one JSON object at the end instead of the text report.
        #[arg(long)]
        json: bool,
        /// Local address to bind (default: an ephemeral port on the target's side).
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// CANCEL calls that are not answered within this many ms.
        #[arg(long, default_value_t = 30_000)]
        ring_timeout_ms: u64,
        /// SIP T1 in ms (retransmit base; Timer B = 64·T1).
        #[arg(long, default_value_t = 500)]
        t1_ms: u64,
        /// Socket receive and send buffers in bytes.
        #[arg(long, default_value_t = 4 << 20)]
        socket_buffer_bytes: usize,
        /// No progress line.
        #[arg(long)]
        quiet: bool,
        /// After a read that found datagrams, gather more for this many µs before the next
        /// read (fewer wake-ups under load; adds at most this to setup times). 0 = wake per datagram.
        #[arg(long, default_value_t = 1000)]
        coalesce_us: u64,
        /// Username for digest challenges (401/407).
        #[arg(long, requires = "auth_password")]
        auth_user: Option<String>,
        /// Password for digest challenges.
        #[arg(long, requires = "auth_user")]
        auth_password: Option<String>,
        /// Offer an RFC 4028 session timer of this many seconds (1..=86400) on each INVITE;
        /// refreshed by UPDATE at half the interval the answer settles when we refresh.
        #[arg(long)]
        session_expires_s: Option<u64>,
        /// Play this SIPp XML scenario (UAC side) instead of the fixed call shape; the exit
        /// status is then SIPp's: 0 when every call succeeded, 1 when some failed, 255 when
        /// the scenario is refused. The scenario's own messages replace the fixed shape's
        /// options (RTP, digest credentials, ring timeout, T1), so those are refused with it.
        #[arg(long, conflicts_with_all = ["media", "auth_user", "ring_timeout_ms", "t1_ms", "session_expires_s"])]
        scenario: Option<PathBuf>,
        /// Injection file for [fieldN] keywords (SIPp's -inf); repeat for several.
        #[arg(long = "inf", requires = "scenario")]
        injection_files: Vec<PathBuf>,
        /// [service] in scenarios (SIPp's -s).
        #[arg(long, default_value = "service", requires = "scenario")]
        service: String,
        /// How long a scenario's <recv> without timeout waits, ms (SIPp's -recv_timeout);
        /// 0 waits forever, as SIPp does.
        #[arg(long, default_value_t = 0, requires = "scenario")]
        recv_timeout_ms: u64,
        /// Seed of the scenario's random choices (lost, chance, RANDOM lines, distributions).
        #[arg(long, default_value_t = 1, requires = "scenario")]
        seed: u64,
        /// Raise the rate by this many calls/s every --rate-interval (SIPp's -rate_increase).
        #[arg(long, requires = "rate_interval")]
        rate_increase: Option<f64>,
        /// Seconds between two rate increases (SIPp's -rate_interval).
        #[arg(long, requires = "rate_increase")]
        rate_interval: Option<f64>,
        /// Stop raising the rate here and keep it (SIPp's -rate_max).
        #[arg(long, requires = "rate_increase")]
        rate_max: Option<f64>,
        /// Live control on this UDP address, one command per datagram: "rate N", "rate +N",
        /// "rate -N", "stop", "stats". Loopback addresses only, and unauthenticated: any local
        /// user can change the rate or stop the run.
        #[arg(long)]
        control: Option<SocketAddr>,
        /// Write SIPp's statistics file (-trace_stat columns, ';'-separated) here.
        #[arg(long)]
        stats_csv: Option<PathBuf>,
        /// Seconds between two lines of --stats-csv (SIPp's -fd).
        #[arg(long, default_value_t = 60.0, requires = "stats_csv")]
        stats_interval: f64,
        /// Spread the fixed call shape over this many sockets, one thread each, the rate and
        /// the calls split evenly. Not with --scenario, --media, --control, --stats-csv or a
        /// ramp, which follow one socket's calls; no progress screen while it runs.
        #[arg(long, default_value_t = 1,
              conflicts_with_all = ["scenario", "media", "control", "stats_csv", "rate_increase"])]
        threads: usize,
    },
    /// Simulate a zone in virtual time: predictive pacing against its baselines.
    ///
    /// Hours of a shift in seconds, with the node's own pacing and agent sessions. Checks that
    /// no contact is lost or dialed twice, every live answer reaches an agent or hears the
    /// message in time, and the nuisance rate stays under its cap (exit status 3 if not).
    Simulate {
        /// Workload (TOML), e.g. configs/workloads/small-team.toml.
        #[arg(long)]
        workload: PathBuf,
        /// RNG seed (default: the workload's).
        #[arg(long)]
        seed: Option<u64>,
        /// Meet faults drawn from the seed (zone takeovers, killed agent and call actors, media
        /// server outages, process kills; the workload's `[chaos]`), and check that every
        /// agent's state after a takeover is the right one.
        #[arg(long)]
        chaos: bool,
        /// Print one JSON object instead of the text report (and no progress).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    if matches!(cli.cmd, Cmd::Demo { .. } | Cmd::Run { .. }) {
        return match actix::System::new().block_on(run_node_command(cli.cmd)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("outdial: {}", outdial_core::error_chain(e.as_ref()));
                ExitCode::FAILURE
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("outdial: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A LocalSet: the peer and the load test run their media tasks beside them on one thread.
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, run(cli.cmd)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("outdial: {}", outdial_core::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// `demo` and `run`: commands that start a node inside an actix system.
async fn run_node_command(cmd: Cmd) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        Cmd::Demo {
            contacts,
            agents,
            agentless,
            mode,
            talk_ms,
            wrap_ms,
            data_dir,
            faults,
            json,
            stay,
        } => {
            let opts = outdial_tools::demo::DemoOptions {
                faults,
                stay,
                contacts,
                agents: if agentless { 0 } else { agents },
                talk_mean: Duration::from_millis(talk_ms),
                wrap: Duration::from_millis(wrap_ms),
                mode: match mode.as_str() {
                    "progressive" => "progressive",
                    "preview" => "preview",
                    _ => "predictive",
                },
            };
            let report = outdial_tools::demo::run(opts, data_dir, !json).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.render());
            }
            let ok = report.lost == 0
                && report.double_dialed == 0
                && report
                    .takeovers
                    .as_ref()
                    .is_none_or(|t| t.table9_violations == 0);
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Cmd::Run { config, node } => {
            let cfg = outdial_node::config::NodeConfigFile::load_node(&config, node.as_deref())?;
            let clock: std::sync::Arc<dyn outdial_core::clock::Clock> =
                std::sync::Arc::new(outdial_core::clock::SystemClock);
            let node = outdial_node::Node::start(&cfg, clock)?;
            let served = outdial_node::http::serve(node.clone(), &cfg.http, cfg.http_bind)?;
            let url = served.url();
            let handle = served.server.handle();
            actix::spawn(served.server);
            if let Some(path) = node.admin_token_file() {
                eprintln!(
                    "outdial: first start: an admin API token was written to {} (mode 0600); \
                     send it as `Authorization: Bearer ...`, or make others with \
                     `outdial token create --config ... --role ROLE`",
                    path.display()
                );
            }
            eprintln!(
                "outdial node {} running: SIP {} API {url}",
                cfg.name,
                node.sip_addr()
            );
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            eprintln!("outdial: stopping");
            // A cluster node hands its zones over first (its agents are logged out and the
            // leases released, so peers take them at once). It waits on this node's own
            // actors, so it runs off the actors' thread.
            let leaving = node.clone();
            let _ = tokio::task::spawn_blocking(move || {
                leaving.leave_cluster();
                // The trunks' registrars forget this node's bindings now, not at expiry.
                leaving.unregister_trunks(std::time::Duration::from_secs(1));
            })
            .await;
            node.begin_shutdown();
            handle.stop(true).await;
            node.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::FAILURE),
    }
}

async fn run(cmd: Cmd) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        Cmd::Demo { .. } | Cmd::Run { .. } => Ok(ExitCode::FAILURE),
        Cmd::Amd { files, json } => {
            let failed = outdial_tools::amd::run(
                &files,
                json,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Check { files } => {
            let mut refused = 0;
            for f in &files {
                let checked = outdial_core::campaign::CampaignSpec::load(f)
                    .map_err(|e| vec![e])
                    .and_then(|spec| spec.resolve());
                match checked {
                    Ok(c) if c.load_test() => println!("{}: ok (a load test)", f.display()),
                    Ok(_) => println!("{}: ok", f.display()),
                    Err(problems) => {
                        refused += 1;
                        println!("{}: refused", f.display());
                        for p in problems {
                            println!("  {p}");
                        }
                    }
                }
            }
            Ok(if refused == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Peer {
            bind,
            profile,
            record,
            json,
            duration_s,
        } => {
            let profile = match profile {
                Some(p) => peer::Profile::load(&p)?,
                None => peer::Profile::answer_all(),
            };
            let record: Option<Box<dyn std::io::Write + Send>> = match record {
                Some(p) => Some(Box::new(std::io::BufWriter::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&p)
                        .map_err(|e| format!("cannot open record file {}: {e}", p.display()))?,
                ))),
                None => None,
            };
            let stop = async move {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(s) => s,
                        Err(_) => return std::future::pending().await,
                    };
                let limit = async {
                    match duration_s {
                        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                    _ = limit => {}
                }
            };
            let report = peer::run(bind, profile, record, stop, |addr| {
                eprintln!("outdial peer listening on {addr}");
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "dialogs {}  answered {}  caller hangups {}  our hangups {}  cancelled {}  outcomes {:?}",
                    report.dialogs, report.answered, report.caller_hangups, report.our_hangups, report.cancelled, report.outcomes
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Loadtest {
            target,
            rate,
            calls,
            concurrency,
            hold_ms,
            media,
            json,
            bind,
            ring_timeout_ms,
            t1_ms,
            socket_buffer_bytes,
            quiet,
            coalesce_us,
            auth_user,
            auth_password,
            session_expires_s,
            scenario,
            injection_files,
            service,
            recv_timeout_ms,
            seed,
            rate_increase,
            rate_interval,
            rate_max,
            control,
            stats_csv,
            stats_interval,
            threads,
        } => {
            if !(1..=loadtest::MAX_THREADS).contains(&threads) {
                return Err(format!("--threads must be 1 to {}", loadtest::MAX_THREADS).into());
            }
            if !(rate > 0.0 && rate.is_finite()) {
                return Err("--rate must be a positive number of calls per second".into());
            }
            let monitor = monitor_config(
                (rate_increase, rate_interval, rate_max),
                control,
                stats_csv,
                stats_interval,
            )?;
            if t1_ms == 0 {
                return Err("--t1-ms must be at least 1".into());
            }
            let compiled = match scenario
                .as_deref()
                .map(|p| load_scenario(p, &injection_files))
            {
                Some(Ok(s)) => Some(std::sync::Arc::new(s)),
                Some(Err(e)) => {
                    eprintln!("outdial: {e}");
                    return Ok(ExitCode::from(255));
                }
                None => None,
            };
            let target_text = target.clone();
            let target: SocketAddr = tokio::net::lookup_host(&target)
                .await
                .map_err(|e| format!("cannot resolve --target {target}: {e}"))?
                .next()
                .ok_or_else(|| format!("--target {target} resolves to no address"))?;
            let mut cfg = loadtest::LoadTestConfig::new(target);
            cfg.scenario = compiled;
            cfg.service = service;
            cfg.remote_host = Some(
                target_text
                    .rsplit_once(':')
                    .map_or(target_text.clone(), |(h, _)| h.to_owned()),
            );
            cfg.recv_timeout =
                (recv_timeout_ms > 0).then(|| Duration::from_millis(recv_timeout_ms));
            cfg.seed = seed;
            cfg.monitor = monitor;
            cfg.threads = threads;
            cfg.rate = rate;
            cfg.calls = calls;
            cfg.concurrency = concurrency.max(1);
            cfg.hold = Duration::from_millis(hold_ms);
            cfg.media = media;
            cfg.ring_timeout = Duration::from_millis(ring_timeout_ms);
            cfg.timers.t1 = Duration::from_millis(t1_ms);
            cfg.socket.recv_buffer_bytes = socket_buffer_bytes;
            cfg.socket.send_buffer_bytes = socket_buffer_bytes;
            cfg.progress = !quiet && !json;
            if let (Some(username), Some(password)) = (auth_user, auth_password) {
                cfg.credentials = Some(sip::auth::Credentials { username, password });
            }
            if let Some(b) = bind {
                cfg.bind = b;
            }
            cfg.coalesce = Duration::from_micros(coalesce_us);
            if let Some(s) = session_expires_s {
                if !(1..=86_400).contains(&s) {
                    return Err("--session-expires-s must be 1..=86400".into());
                }
                cfg.session_expires = Some(Duration::from_secs(s));
            }
            let report = loadtest::run(cfg).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.render());
            }
            // SIPp's exit status: 0 when every call succeeded, 1 when some failed.
            Ok(if report.all_successful() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::User { cmd, api } => {
            let api = api.clone();
            tokio::task::spawn_blocking(move || access::user(cmd, &api).map_err(|e| e.to_string()))
                .await??;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Token { cmd, api } => {
            let api = api.clone();
            tokio::task::spawn_blocking(move || {
                access::token(cmd, &api).map_err(|e| e.to_string())
            })
            .await??;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::HashPassword => {
            access::hash_password()?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status {
            api,
            config,
            json,
            token_file,
            ca,
        } => {
            let token = match token_file {
                Some(f) => Some(
                    outdial_tools::status::read_token(&f)
                        .ok_or_else(|| format!("--token-file {}: no token in it", f.display()))?,
                ),
                None => std::env::var("OUTDIAL_TOKEN")
                    .ok()
                    .filter(|t| !t.trim().is_empty()),
            };
            let reach = outdial_tools::status::Reach { token, ca };
            let cols = match config {
                Some(path) => outdial_tools::status::collect_cluster(&path, &reach)?,
                None if api.is_empty() => {
                    outdial_tools::status::collect(&["http://127.0.0.1:8080".to_owned()], &reach)
                }
                None => outdial_tools::status::collect(&api, &reach),
            };
            if json {
                println!("{}", serde_json::to_string(&cols)?);
            } else {
                print!("{}", outdial_tools::status::render(&cols));
            }
            // Every node asked answered: 0; any silent: 2 (the table still printed).
            Ok(if cols.iter().all(|c| c.status.is_some()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Cmd::Simulate {
            workload,
            seed,
            chaos,
            json,
        } => {
            let report = outdial_tools::simulate::run_file(&workload, seed, chaos, !json)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
    }
}

/// Checks the ramp, control and statistics flags and gathers them.
fn monitor_config(
    (increase, interval_s, max): (Option<f64>, Option<f64>, Option<f64>),
    control: Option<SocketAddr>,
    stats_csv: Option<PathBuf>,
    stats_interval_s: f64,
) -> Result<loadtest::MonitorConfig, Box<dyn std::error::Error>> {
    let seconds = |flag: &str, s: f64| {
        if s.is_finite() && (0.001..=86_400.0).contains(&s) {
            Ok(Duration::from_secs_f64(s))
        } else {
            Err(format!("{flag} must be between 0.001 and 86400 seconds"))
        }
    };
    let ramp = match (increase, interval_s) {
        (Some(increase), Some(i)) => {
            if !increase.is_finite() || max.is_some_and(|m| !(m > 0.0 && m.is_finite())) {
                return Err(
                    "--rate-increase and --rate-max must be finite, --rate-max positive".into(),
                );
            }
            Some(loadtest::RampConfig {
                increase,
                interval: seconds("--rate-interval", i)?,
                max,
            })
        }
        _ => None,
    };
    if let Some(a) = control.filter(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "--control {a}: the control socket is unauthenticated; bind it to a loopback address"
        )
        .into());
    }
    Ok(loadtest::MonitorConfig {
        ramp,
        control,
        stats_csv,
        stats_interval: seconds("--stats-interval", stats_interval_s)?,
    })
}

/// Reads the injection files, then compiles the scenario against them.
fn load_scenario(
    path: &std::path::Path,
    injection_files: &[PathBuf],
) -> Result<loadtest::Scenario, Box<dyn std::error::Error>> {
    let files = injection_files
        .iter()
        .map(|f| loadtest::scenario::InjectionFile::load(f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(loadtest::Scenario::load(path, files)?)
}
