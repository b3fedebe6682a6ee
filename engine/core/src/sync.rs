//! The one door through which lock-free engine code takes its atomics, so it can be
//! model-checked with loom by building with `RUSTFLAGS="--cfg loom"` (tokio does the same).
//!
//! loom is not a dependency yet: the `cfg(loom)` arm names it so that enabling it is one line
//! in engine/core/Cargo.toml (`[target.'cfg(loom)'.dev-dependencies] loom = "0.7"`) and nothing
//! here changes. Code that uses these types must not reach for `std::sync::atomic` directly.

// `loom` is not a declared cfg of this crate until loom becomes a dependency.
#![allow(unexpected_cfgs)]

// Not every name is used yet: this is the surface lock-free code may take its atomics from.
#[cfg(not(loom))]
#[allow(unused_imports)]
pub use std::sync::{
    atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc,
};

#[cfg(loom)]
#[allow(unused_imports)]
pub use loom::sync::{
    atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc,
};
