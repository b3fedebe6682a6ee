//! `outdial user ...`, `outdial token ...`, `outdial hash-password`: credentials of a node.
//!
//! Users and tokens are managed through the running node's API with an admin token, not by
//! opening its storage: sled lets one process hold a database, so that would need the node
//! stopped; through the API every change is checked, written to the audit log and in effect
//! at once (on every node of a cluster within seconds). The first start's admin token, in the
//! data directory, is found from `--config`.

use std::io::Read as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use outdial_tools::api_client::ApiClient;

/// Where the node's API is and the credentials to use it (given before or after the
/// subcommand: `outdial token create --role viewer --config node.toml`).
#[derive(Args, Debug, Clone)]
pub struct ApiArgs {
    /// The node's API (`http://HOST:PORT` or `https://HOST:PORT`). Default: from --config,
    /// else http://127.0.0.1:8080.
    #[arg(long, global = true)]
    pub api: Option<String>,
    /// The node's config: its API address, and its first-start admin token
    /// (`<data_dir>/admin.token`) when neither --token-file nor OUTDIAL_TOKEN is given.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Which `[[cluster.node]]` of a cluster file to talk to.
    #[arg(long, global = true)]
    pub node: Option<String>,
    /// A file holding the API token to use (its first line). Default: $OUTDIAL_TOKEN.
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// PEM file of the CAs to trust for https (default: the system's bundle).
    #[arg(long, global = true)]
    pub ca: Option<PathBuf>,
}

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

impl ApiArgs {
    /// The API address and the token, from the flags, the environment and the config.
    pub fn resolve(&self) -> CliResult<(String, Option<String>)> {
        let cfg = match &self.config {
            Some(p) => Some(outdial_node::config::NodeConfigFile::load_node(
                p,
                self.node.as_deref(),
            )?),
            None => None,
        };
        let api = match (&self.api, &cfg) {
            (Some(a), _) => a.clone(),
            (None, Some(c)) => {
                let mut addr = c.http_bind;
                if addr.ip().is_unspecified() {
                    addr.set_ip(if addr.is_ipv4() {
                        [127, 0, 0, 1].into()
                    } else {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    });
                }
                let scheme = if c.http.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{addr}")
            }
            (None, None) => "http://127.0.0.1:8080".to_owned(),
        };
        let token = match (&self.token_file, std::env::var("OUTDIAL_TOKEN").ok(), &cfg) {
            (Some(f), _, _) => Some(
                outdial_tools::status::read_token(f)
                    .ok_or_else(|| format!("--token-file {}: no token in it", f.display()))?,
            ),
            (None, Some(t), _) if !t.trim().is_empty() => Some(t.trim().to_owned()),
            (None, _, Some(c)) => outdial_tools::status::read_token(
                &c.data_dir.join(outdial_node::auth::ADMIN_TOKEN_FILE),
            ),
            _ => None,
        };
        Ok((api, token))
    }

    fn client(&self) -> CliResult<ApiClient> {
        let (api, token) = self.resolve()?;
        if token.is_none() {
            return Err(
                "no API token: give --token-file, set OUTDIAL_TOKEN, or --config of a node \
                        whose data directory holds its admin.token"
                    .into(),
            );
        }
        Ok(ApiClient::new(&api, token, self.ca.as_deref())?)
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Creates (or replaces) a user. Without --password-stdin a password is generated and
    /// printed once.
    Add {
        name: String,
        /// admin, supervisor, agent or viewer.
        #[arg(long)]
        role: String,
        /// For an agent: a zone it may log in to (repeat; default any zone).
        #[arg(long = "zone")]
        zones: Vec<String>,
        /// Read the password from stdin (its first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists the users (names, roles, zones).
    List,
    /// Removes a user and ends its sessions.
    Remove { name: String },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issues an API token and prints it once (store it: only its hash is kept).
    Create {
        /// admin, supervisor, agent or viewer.
        #[arg(long)]
        role: String,
        /// A name to know it by (default `<role>-token`).
        #[arg(long)]
        name: Option<String>,
    },
    /// Lists the tokens (ids, names, roles, revocations; never a secret).
    List,
    /// Revokes a token at once.
    Revoke { id: String },
}

fn stdin_line() -> CliResult<String> {
    let mut s = String::new();
    std::io::stdin().take(4096).read_to_string(&mut s)?;
    let line = s.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err("no password on stdin".into());
    }
    Ok(line)
}

fn print(v: &Value) -> CliResult<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn user(cmd: UserCmd, api: &ApiArgs) -> CliResult<()> {
    let c = api.client()?;
    match cmd {
        UserCmd::Add {
            name,
            role,
            zones,
            password_stdin,
        } => {
            let role: outdial_node::auth::Role = role.parse()?;
            let mut body = json!({ "name": name, "role": role, "zones": zones });
            if password_stdin {
                body["password"] = json!(stdin_line()?);
            }
            let v = c.json("POST", "/v1/users", Some(&body))?;
            match v["password"].as_str() {
                Some(p) => println!("user {name} ({role}) created; password (shown once): {p}"),
                None => println!("user {name} ({role}) created"),
            }
            Ok(())
        }
        UserCmd::List => print(&c.json("GET", "/v1/users", None)?),
        UserCmd::Remove { name } => {
            c.json("DELETE", &format!("/v1/users/{name}"), None)?;
            println!("user {name} removed");
            Ok(())
        }
    }
}

pub fn token(cmd: TokenCmd, api: &ApiArgs) -> CliResult<()> {
    let c = api.client()?;
    match cmd {
        TokenCmd::Create { role, name } => {
            let role: outdial_node::auth::Role = role.parse()?;
            let mut body = json!({ "role": role });
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            let v = c.json("POST", "/v1/tokens", Some(&body))?;
            eprintln!(
                "token {} ({}, {}) issued; it is shown once, below:",
                v["id"].as_str().unwrap_or("?"),
                v["name"].as_str().unwrap_or("?"),
                v["role"].as_str().unwrap_or("?")
            );
            println!("{}", v["token"].as_str().unwrap_or_default());
            Ok(())
        }
        TokenCmd::List => print(&c.json("GET", "/v1/tokens", None)?),
        TokenCmd::Revoke { id } => {
            c.json("DELETE", &format!("/v1/tokens/{id}"), None)?;
            println!("token {id} revoked");
            Ok(())
        }
    }
}

/// Prints `password_argon2 = "..."` for a password read from stdin.
pub fn hash_password() -> CliResult<()> {
    let pw = stdin_line()?;
    let hash = outdial_node::auth::PasswordHash::new(&pw)?;
    println!("password_argon2 = \"{}\"", hash.as_str());
    Ok(())
}
