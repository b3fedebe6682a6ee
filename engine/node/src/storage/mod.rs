//! Storage: the core's contract ([`outdial_core::store`]) and its implementations, the
//! embedded sled store and PostgreSQL for clusters, with the group commit that batches many
//! callers' writes into one durable commit.

pub mod access;
pub mod group;
pub mod pg_store;
pub mod sled_store;
pub mod writer;

pub use access::{AccessStore, AuditEntry, AuditRecord, TokenRecord, UserRecord};
pub use group::GroupCommit;
pub use outdial_core::store::*;
pub use pg_store::PgStore;
pub use sled_store::SledStore;
pub use writer::Writer;
