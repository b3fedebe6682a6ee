//! Embedding the engine in a Rust application: start a node from a config, define a campaign,
//! load contacts, start the job and follow its attempts as events.
//!
//! Run with a SIP peer to dial into, e.g. `outdial peer --bind 127.0.0.1:5070` in another
//! shell, then `cargo run --example embed -- 127.0.0.1:5070`.

use std::sync::Arc;
use std::time::Duration;

use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::{Clock, SystemClock};
use outdial_node::actors::director::JobAction;
use outdial_node::config::{Mpp, NodeConfig};
use outdial_node::storage::JobState;
use outdial_node::Node;

const CAMPAIGN: &str = r#"
name = "embedded"
mode = "agentless"
load_test = true
test_ranges = ["+1212555"]
ring_timeout_ms = 3000
[agentless]
rate_cps = 20
[calling_hours]
start = "00:00"
end = "00:00"
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let peer = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5070".into())
        .parse()?;
    actix::System::new().block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let dir = std::env::temp_dir().join(format!("outdial-embed-{}", clock.unix_ms()));
        let cfg = NodeConfig {
            cluster: None,
            name: "embedded".into(),
            data_dir: dir.clone(),
            zones: vec!["default".into()],
            log_phone_numbers: false,
            dnc_file: None,
            sip_bind: "127.0.0.1:0".parse()?,
            t1: Duration::from_millis(500),
            socket_buffer_bytes: 1 << 20,
            sip_guard: sip::GuardConfig::default(),
            rtp_ip: [127, 0, 0, 1].into(),
            rtp_ports: (40_000, 40_998),
            http_bind: "127.0.0.1:0".parse()?,
            mpps: vec![Mpp {
                name: "pbx".into(),
                address: peer,
                capacity: 100,
                options_interval: Duration::from_secs(5),
                down_after_missed: 3,
                trunk: None,
            }],
            trunks: Vec::new(),
            max_batch_writes: 1024,
            desktop: outdial_node::config::DesktopSettings::default(),
            agents: Vec::new(),
            chaos: None,
            http: outdial_node::config::HttpSettings::default(),
            access: outdial_node::auth::AccessSettings::default(),
            import: outdial_node::import::ImportLimits::default(),
            phone_networks: outdial_node::config::default_phone_networks(),
            media_dir: None,
        };
        let node = Node::start(&cfg, clock)?;
        let mut events = node.subscribe();
        let (_, job) = node.create_campaign(CampaignSpec::from_toml(CAMPAIGN)?).await?;
        let csv = "phone,name\n+12125550101,Ada\n+12125550102,Grace\n+12125550103,Linus\n";
        let report = node.import_csv(job, std::io::Cursor::new(csv.as_bytes().to_vec()), false).await?;
        println!("imported {} contacts", report.imported);
        node.control(job, JobAction::Start).await?;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(e) => println!("attempt {} (contact {}): {:?}", e.attempt, e.contact, e.state),
                    Err(e) => println!("events: {e}"),
                },
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    let r = node.job_report(job).await?;
                    if matches!(r.job.state, JobState::Finished | JobState::Stopped) {
                        println!("job {}: {:?}, by code {:?}", job, r.job.state, r.stats.by_code);
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    })
}
