//! `outdial status`: the component table of one or more nodes, in the shape of the
//! deployment tables (a row per component, a column per node, MASTER / DORMANT / RUNNING /
//! STOPPED), read from each node's `GET /v1/node`. A node that does not answer is shown
//! STOPPED in every row, as the deployment tables show a failed server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// The table's rows, in the status table's order, with the names an operator knows them by.
const ROWS: [(&str, &str); 7] = [
    ("desktop-service", "Desktop Service"),
    ("agent-manager", "Agent Manager"),
    ("director", "Campaign Director"),
    ("campaign-manager", "Campaign Manager"),
    ("api", "API"),
    ("rule-engine", "Rule Engine"),
    ("load-monitor", "Load Monitor"),
];

/// One node's answer, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct NodeColumn {
    pub api: String,
    /// The node's name, or the API address when it did not answer.
    pub name: String,
    /// `GET /v1/node` as the node sent it; None when it did not answer.
    pub status: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every node of a cluster file, in the file's order (the table's column order), asked for its
/// status; a silent node's column keeps its configured name (a "failed server").
pub fn collect_cluster(path: &std::path::Path) -> Result<Vec<NodeColumn>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = outdial_node::config::NodeConfigFile::parse(&text, &path.display().to_string())
        .map_err(|e| e.to_string())?;
    let cluster = file
        .cluster
        .ok_or_else(|| format!("{}: no [cluster] section", path.display()))?;
    let apis: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("http://{}", n.http))
        .collect();
    let mut cols = collect(&apis);
    for (c, n) in cols.iter_mut().zip(&cluster.nodes) {
        if c.status.is_none() {
            c.name = n.name.clone();
        }
    }
    Ok(cols)
}

/// How long one node may take to answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Asks each API (`http://host:port` or `host:port`) for its status.
pub fn collect(apis: &[String]) -> Vec<NodeColumn> {
    apis.iter()
        .map(|api| match fetch(api) {
            Ok(v) => NodeColumn {
                api: api.clone(),
                name: v["name"].as_str().unwrap_or(api).to_owned(),
                status: Some(v),
                error: None,
            },
            Err(e) => NodeColumn {
                api: api.clone(),
                name: api.clone(),
                status: None,
                error: Some(e),
            },
        })
        .collect()
}

fn fetch(api: &str) -> Result<Value, String> {
    let hostport = api
        .strip_prefix("http://")
        .unwrap_or(api)
        .trim_end_matches('/');
    let addr: SocketAddr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("{api}: {e}"))?
        .next()
        .ok_or_else(|| format!("{api}: resolves to no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("{api}: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT)).ok();
    write!(
        s,
        "GET /v1/node HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| format!("{api}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("{api}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{api}: not an HTTP response"))?;
    if !head.starts_with("HTTP/1.1 200") {
        let line = head.lines().next().unwrap_or("");
        return Err(format!("{api}: {line}"));
    }
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body).ok_or_else(|| format!("{api}: a chunked body that does not parse"))?
    } else {
        body.to_owned()
    };
    serde_json::from_str(&body).map_err(|e| format!("{api}: {e}"))
}

fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..n)?);
        body = rest.get(n + 2..)?;
    }
}

/// One node's cell for a row: its role, with the zones an agent manager holds.
fn cell(col: &NodeColumn, component: &str) -> String {
    let Some(st) = &col.status else {
        return "STOPPED".to_owned();
    };
    let rows: Vec<&Value> = st["components"]
        .as_array()
        .map(|a| a.iter().filter(|c| c["component"] == component).collect())
        .unwrap_or_default();
    if rows.is_empty() {
        return "-".to_owned();
    }
    if component != "agent-manager" || rows.iter().all(|r| r["zone"].is_null()) {
        return rows[0]["role"].as_str().unwrap_or("?").to_owned();
    }
    // Zones grouped by role: "MASTER (north, south)", "DORMANT (east)".
    let mut by_role: Vec<(String, Vec<String>)> = Vec::new();
    for r in rows {
        let role = r["role"].as_str().unwrap_or("?").to_owned();
        let zone = r["zone"].as_str().unwrap_or("?").to_owned();
        match by_role.iter_mut().find(|(x, _)| *x == role) {
            Some((_, zs)) => zs.push(zone),
            None => by_role.push((role, vec![zone])),
        }
    }
    by_role
        .into_iter()
        .map(|(r, zs)| format!("{r} ({})", zs.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The component table, then each node's zones' takeovers.
pub fn render(cols: &[NodeColumn]) -> String {
    let mut table: Vec<Vec<String>> = vec![std::iter::once("Component".to_owned())
        .chain(cols.iter().map(|c| c.name.clone()))
        .collect()];
    for (key, label) in ROWS {
        table.push(
            std::iter::once(label.to_owned())
                .chain(cols.iter().map(|c| cell(c, key)))
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|i| table.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in table.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&format!("| {} |\n", rule.join(" | ")));
        }
    }
    for c in cols {
        match (&c.status, &c.error) {
            (Some(st), _) => {
                for z in st["zones"].as_array().into_iter().flatten() {
                    let ms = |k: &str| {
                        z[k].as_f64()
                            .map_or("-".to_owned(), |v| format!("{v:.1} ms"))
                    };
                    out.push_str(&format!(
                        "\n{} zone {}: {}, {} takeover(s), fault to dialing resumed p50 {} max {}, {} live answer(s) released as nuisance, {} desktop error(s)",
                        c.name,
                        z["zone"].as_str().unwrap_or("?"),
                        if z["in_service"].as_bool().unwrap_or(false) { "in service" } else { "TAKEOVER UNDER WAY" },
                        z["takeovers"].as_u64().unwrap_or(0),
                        ms("took_p50_ms"),
                        ms("took_max_ms"),
                        z["nuisance_released"].as_u64().unwrap_or(0),
                        z["desktop_errors"].as_u64().unwrap_or(0),
                    ));
                }
            }
            (None, Some(e)) => out.push_str(&format!("\n{}: no answer ({e})", c.name)),
            (None, None) => {}
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, components: Value) -> NodeColumn {
        NodeColumn {
            api: format!("{name}:1"),
            name: name.into(),
            status: Some(
                serde_json::json!({ "name": name, "components": components, "zones": [] }),
            ),
            error: None,
        }
    }

    #[test]
    fn the_table_has_a_column_per_node_and_stopped_for_the_silent_one() {
        let a = node(
            "pom1",
            serde_json::json!([
                {"component": "director", "role": "MASTER"},
                {"component": "agent-manager", "role": "MASTER", "zone": "zone1"},
                {"component": "agent-manager", "role": "DORMANT", "zone": "zone2"},
                {"component": "campaign-manager", "role": "RUNNING"},
            ]),
        );
        let b = NodeColumn {
            api: "pom2:1".into(),
            name: "pom2:1".into(),
            status: None,
            error: Some("refused".into()),
        };
        let t = render(&[a, b]);
        assert!(t.contains("| Component"), "{t}");
        let am = t
            .lines()
            .find(|l| l.starts_with("| Agent Manager"))
            .unwrap_or("");
        assert!(am.contains("MASTER (zone1); DORMANT (zone2)"), "{am}");
        assert!(am.contains("STOPPED"), "{am}");
        let cd = t
            .lines()
            .find(|l| l.starts_with("| Campaign Director"))
            .unwrap_or("");
        assert!(cd.contains("MASTER") && cd.contains("STOPPED"), "{cd}");
        assert!(t.contains("pom2:1: no answer (refused)"), "{t}");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk("4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n").as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(dechunk("zz\r\n"), None);
    }
}
