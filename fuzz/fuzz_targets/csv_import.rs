//! Fuzzes the contact importer as `POST /v1/jobs/{id}/contacts` drives it: any bytes as the
//! CSV body, imported into a job of their own in a sled store, with small limits so inputs
//! reach them. The properties are `engine/node/tests/fuzz_props`, shared with the seeded run of
//! `cargo test`.
#![no_main]

#[path = "../../engine/node/tests/fuzz_props/mod.rs"]
mod fuzz_props;

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;

fn target() -> &'static Mutex<fuzz_props::CsvTarget> {
    static TARGET: OnceLock<Mutex<fuzz_props::CsvTarget>> = OnceLock::new();
    TARGET.get_or_init(|| Mutex::new(fuzz_props::CsvTarget::new()))
}

fuzz_target!(|data: &[u8]| {
    let mut t = target().lock().unwrap_or_else(|e| e.into_inner());
    t.check(data);
});
