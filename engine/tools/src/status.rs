//! `outdial status`: the component table of one or more nodes, in the shape of the
//! deployment tables (a row per component, a column per node, MASTER / DORMANT / RUNNING /
//! STOPPED), read from each node's `GET /v1/node` (a viewer token is enough). A node that
//! does not answer is shown STOPPED in every row, as the deployment tables show a failed
//! server.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::api_client::ApiClient;

/// How to reach the nodes: the token to send and the CAs to trust over https.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub token: Option<String>,
    pub ca: Option<PathBuf>,
}

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
///
/// Without a token in `reach`, the cluster's first-start admin token is used
/// (`<data_dir>/admin.token` of the file), when it can be read.
pub fn collect_cluster(path: &std::path::Path, reach: &Reach) -> Result<Vec<NodeColumn>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = outdial_node::config::NodeConfigFile::parse(&text, &path.display().to_string())
        .map_err(|e| e.to_string())?;
    let scheme = if file.http.tls_cert_file.is_some() {
        "https"
    } else {
        "http"
    };
    let mut reach = reach.clone();
    if reach.token.is_none() {
        reach.token = read_token(
            &file
                .node
                .data_dir
                .join(outdial_node::auth::ADMIN_TOKEN_FILE),
        );
    }
    let cluster = file
        .cluster
        .ok_or_else(|| format!("{}: no [cluster] section", path.display()))?;
    let apis: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("{scheme}://{}", n.http))
        .collect();
    let mut cols = collect(&apis, &reach);
    for (c, n) in cols.iter_mut().zip(&cluster.nodes) {
        if c.status.is_none() {
            c.name = n.name.clone();
        }
    }
    Ok(cols)
}

/// How long one node may take to answer.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The token in `path` (its first line), if it can be read.
pub fn read_token(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let t = text.lines().next()?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Asks each API (`http://host:port`, `https://host:port` or `host:port`) for its status.
pub fn collect(apis: &[String], reach: &Reach) -> Vec<NodeColumn> {
    apis.iter()
        .map(|api| match fetch(api, reach) {
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

fn fetch(api: &str, reach: &Reach) -> Result<Value, String> {
    ApiClient::new(api, reach.token.clone(), reach.ca.as_deref())
        .map_err(|e| e.to_string())?
        .with_timeout(TIMEOUT)
        .json("GET", "/v1/node", None)
        .map_err(|e| e.to_string())
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
}
