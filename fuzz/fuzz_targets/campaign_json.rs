//! Fuzzes a campaign definition as `POST /v1/campaigns` reads it: JSON into `CampaignSpec`,
//! its stored form read back, both resolved, a prompt name checked against a media directory.
//! The properties are `engine/node/tests/fuzz_props`, shared with the seeded run of `cargo test`.
#![no_main]

#[path = "../../engine/node/tests/fuzz_props/mod.rs"]
mod fuzz_props;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A media directory made once per process (kept for its life).
fn media() -> &'static PathBuf {
    static MEDIA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &MEDIA
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let media = fuzz_props::media_dir(dir.path());
            (dir, media)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    fuzz_props::campaign_json(data, media());
});
