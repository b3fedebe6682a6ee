//! [`AccessStore`] on PostgreSQL (schema 4, `migrations/0004_access.sql`): `users` and
//! `api_tokens` keyed by name and id with the record as a JSON body (a token's revocation is
//! its own column, so revoking is one UPDATE), and `audit_log` numbered by an identity column.

use super::{col, decode_body, encode_json, from_db, to_db, PgStore};
use crate::storage::access::{AccessStore, AuditEntry, AuditRecord, TokenRecord, UserRecord};
use crate::storage::StoreResult;
use outdial_core::domain::UnixMs;

impl AccessStore for PgStore {
    fn put_user(&self, user: &UserRecord) -> StoreResult<()> {
        let params = (user.name.clone(), encode_json(user)?);
        self.execute("put_user", |s| &s.put_user, params).map(drop)
    }

    fn user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let rows = self.query("user", |s| &s.user, (name.to_owned(),))?;
        rows.first().map(|r| decode_body(r, "users")).transpose()
    }

    fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let rows = self.query("users", |s| &s.users, ())?;
        rows.iter().map(|r| decode_body(r, "users")).collect()
    }

    fn remove_user(&self, name: &str) -> StoreResult<bool> {
        Ok(self.execute("remove_user", |s| &s.remove_user, (name.to_owned(),))? > 0)
    }

    fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
        let body = TokenRecord {
            revoked_at: None,
            ..token.clone()
        };
        let params = (token.id.clone(), encode_json(&body)?);
        Ok(self.execute("insert_token", |s| &s.insert_token, params)? > 0)
    }

    fn revoke_token(&self, id: &str, at: UnixMs) -> StoreResult<bool> {
        let params = (id.to_owned(), to_db(at));
        Ok(self.execute("revoke_token", |s| &s.revoke_token, params)? > 0)
    }

    fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        let rows = self.query("tokens", |s| &s.tokens, ())?;
        rows.iter()
            .map(|r| {
                let mut t: TokenRecord = decode_body(r, "api_tokens")?;
                t.revoked_at = col::<Option<i64>>(r, 1, "api_tokens")?.map(from_db);
                Ok(t)
            })
            .collect()
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let rows = self.query("append_audit", |s| &s.append_audit, (encode_json(record)?,))?;
        match rows.first() {
            Some(r) => Ok(from_db(col(r, 0, "audit_log")?)),
            None => Err(crate::storage::StoreError::io_failed(
                "postgres: append_audit returned no row",
            )),
        }
    }

    fn audit(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query("audit", |s| &s.audit, (to_db(after), limit))?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    record: decode_body(r, "audit_log")?,
                    seq: from_db(col(r, 1, "audit_log")?),
                })
            })
            .collect()
    }
}
