//! The labelled AMD set (built with espeak-ng and sox) and its scoring, shared by the AMD tests
//! and the accuracy harness.
#![allow(dead_code)] // each test file uses a different subset

pub mod build;
pub mod plan;
pub mod score;

use std::path::PathBuf;

/// Where sets are cached: the integration tests' scratch directory under the target dir.
pub fn cache_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}
