//! The first start: a node whose storage holds no admin credential issues an admin token and
//! writes it to `<data_dir>/admin.token`, readable by its owner only (mode 0600), so `outdial
//! run` works out of the box and nothing on the network can use it without that file.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::service::{Access, AccessError};
use super::Role;

/// The admin token's file in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// The token's name in listings and the audit log.
pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap-admin";

/// Why the first-start admin token could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(
        "{0} exists, but the store has no admin credential: it belongs to another store; \
         move it away and start again to get a new one"
    )]
    StaleFile(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Issues the admin token if the store has no admin credential; returns the file it went to.
pub fn bootstrap(access: &Access, data_dir: &Path) -> Result<Option<PathBuf>, BootstrapError> {
    if access.has_admin().map_err(AccessError::from)? {
        return Ok(None);
    }
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    let write_err = |source| BootstrapError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(write_err)?;
    let (rec, issued) = access.issue_token(BOOTSTRAP_TOKEN_NAME, Role::Admin)?;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| {
            writeln!(f, "{}", issued.bearer())?;
            f.sync_all()
        });
    if let Err(e) = written {
        // Nobody may hold a token that went nowhere.
        let _ = access.revoke_token(&rec.id);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            BootstrapError::StaleFile(path)
        } else {
            write_err(e)
        });
    }
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::service::AccessSettings;
    use crate::storage::SledStore;
    use std::os::unix::fs::PermissionsExt as _;
    use std::sync::Arc;

    #[test]
    fn the_first_start_writes_an_owner_only_admin_token_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SledStore::open(&dir.path().join("db")).expect("open"));
        let clock = Arc::new(outdial_core::clock::SystemClock);
        let access = Access::new(store, clock, &[], AccessSettings::default()).expect("access");
        let path = bootstrap(&access, dir.path())
            .expect("bootstrap")
            .expect("a token on the first start");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let bearer = std::fs::read_to_string(&path).expect("read");
        let p = access.bearer(bearer.trim()).expect("the token works");
        assert_eq!(p.role, Role::Admin);
        assert_eq!(bootstrap(&access, dir.path()).expect("again"), None);
        // A revoked admin token leaves no admin: a new start would write again, but the
        // old file is in the way, and that is said plainly.
        for t in access.tokens().expect("tokens") {
            access.revoke_token(&t.id).expect("revoke");
        }
        assert!(matches!(
            bootstrap(&access, dir.path()),
            Err(BootstrapError::StaleFile(_))
        ));
        assert!(
            !access.has_admin().expect("has admin"),
            "the orphan was revoked"
        );
    }
}
