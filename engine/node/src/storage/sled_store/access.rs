//! [`AccessStore`] on sled: users under `u/{name}`, tokens under `o/{id}`, the audit log under
//! `l/{seq}` (16 hex digits, from sled's persistent id generator, so the log stays in order
//! across restarts). Each write is flushed before it returns.

use super::{decode, sled_err, SledStore};
use crate::storage::access::{AccessStore, AuditEntry, AuditRecord, TokenRecord, UserRecord};
use crate::storage::{StoreError, StoreResult};
use outdial_core::domain::UnixMs;

fn user_key(name: &str) -> String {
    format!("u/{name}")
}

fn token_key(id: &str) -> String {
    format!("o/{id}")
}

fn json<T: serde::Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::io("encoding an access record", e))
}

impl SledStore {
    fn put_flushed(&self, key: &str, value: Vec<u8>) -> StoreResult<()> {
        self.db.insert(key.as_bytes(), value).map_err(sled_err)?;
        self.db.flush().map_err(sled_err)?;
        Ok(())
    }
}

impl AccessStore for SledStore {
    fn put_user(&self, user: &UserRecord) -> StoreResult<()> {
        self.put_flushed(&user_key(&user.name), json(user)?)
    }

    fn user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        self.get_json(&user_key(name))
    }

    fn users(&self) -> StoreResult<Vec<UserRecord>> {
        self.scan_json("u/")
    }

    fn remove_user(&self, name: &str) -> StoreResult<bool> {
        let had = self
            .db
            .remove(user_key(name).as_bytes())
            .map_err(sled_err)?
            .is_some();
        self.db.flush().map_err(sled_err)?;
        Ok(had)
    }

    fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
        let key = token_key(&token.id);
        let swapped = self
            .db
            .compare_and_swap(key.as_bytes(), None::<&[u8]>, Some(json(token)?))
            .map_err(sled_err)?;
        self.db.flush().map_err(sled_err)?;
        Ok(swapped.is_ok())
    }

    fn revoke_token(&self, id: &str, at: UnixMs) -> StoreResult<bool> {
        let key = token_key(id);
        let Some(mut t) = self.get_json::<TokenRecord>(&key)? else {
            return Ok(false);
        };
        if t.revoked_at.is_none() {
            t.revoked_at = Some(at);
            self.put_flushed(&key, json(&t)?)?;
        }
        Ok(true)
    }

    fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.scan_json("o/")
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let seq = self.db.generate_id().map_err(sled_err)? + 1;
        self.put_flushed(&format!("l/{seq:016x}"), json(record)?)?;
        Ok(seq)
    }

    fn audit(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let start = format!("l/{:016x}", after.saturating_add(1));
        let mut out = Vec::new();
        for item in self
            .db
            .range(start.as_bytes()..b"l0".as_slice())
            .take(limit)
        {
            let (k, v) = item.map_err(sled_err)?;
            let seq = std::str::from_utf8(&k[2..])
                .ok()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    why: "not an audit key".into(),
                })?;
            out.push(AuditEntry {
                seq,
                record: decode(&k, &v)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn users_tokens_and_audit_round_trip_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = SledStore::open(dir.path()).expect("open");
            let u = UserRecord {
                name: "alice".into(),
                role: Role::Supervisor,
                password: "$argon2id$x".into(),
                zones: vec![],
                created_at: 5,
            };
            s.put_user(&u).expect("put");
            assert_eq!(s.user("alice").expect("get"), Some(u));
            assert_eq!(s.user("bob").expect("get"), None);
            let t = TokenRecord {
                id: "0123456789abcdef".into(),
                name: "ci".into(),
                role: Role::Viewer,
                secret_sha256: "ab".into(),
                created_at: 1,
                revoked_at: None,
            };
            assert!(s.insert_token(&t).expect("insert"));
            assert!(!s.insert_token(&t).expect("insert again"), "ids are unique");
            assert!(s.revoke_token(&t.id, 9).expect("revoke"));
            assert!(!s.revoke_token("ffffffffffffffff", 9).expect("revoke"));
            for i in 0..5 {
                s.append_audit(&AuditRecord {
                    at: i,
                    who: "user alice".into(),
                    role: Some(Role::Supervisor),
                    action: format!("POST /v1/x/{i}"),
                    outcome: 200,
                    source: "127.0.0.1".into(),
                })
                .expect("audit");
            }
            assert!(s.remove_user("alice").expect("remove"));
            assert!(!s.remove_user("alice").expect("remove"));
        }
        let s = SledStore::open(dir.path()).expect("reopen");
        let toks = s.tokens().expect("tokens");
        assert_eq!(toks.len(), 1);
        assert_eq!(toks[0].revoked_at, Some(9));
        let log = s.audit(0, 100).expect("audit");
        assert_eq!(log.len(), 5);
        assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
        let tail = s.audit(log[2].seq, 100).expect("audit");
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[0].record.action, "POST /v1/x/3");
        s.append_audit(&log[0].record).expect("after reopen");
        assert!(
            s.audit(0, 100).expect("audit")[5].seq > log[4].seq,
            "ids grow across runs"
        );
    }
}
