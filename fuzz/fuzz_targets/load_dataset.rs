//! Feeds arbitrary bytes to the loader as one file. The first input byte picks the file
//! type (`selector % 5`), whether non-finite rows are dropped (`selector / 5 % 2`) and
//! the chunk size (`selector / 10 % 3`); the rest is the file. Loading may fail, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use topoact_core::formats::{LoadJob, LoadOptions, NamedSource};
use topoact_core::job::run_to_end;

const FILE_NAMES: [&str; 5] = ["fuzz.npz", "fuzz.npy", "fuzz.safetensors", "fuzz.csv", "fuzz.json"];
const CHUNK_BYTES: [usize; 3] = [7, 4096, 8 << 20];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file_bytes)) = data.split_first() else { return };
    let selector = selector as usize;
    let file_name = FILE_NAMES[selector % FILE_NAMES.len()];
    let options = LoadOptions { max_total_bytes: 16 << 20, drop_nonfinite: selector / 5 % 2 == 1 };
    let chunk_bytes = CHUNK_BYTES[selector / 10 % CHUNK_BYTES.len()];
    if let Ok(job) = LoadJob::new(vec![NamedSource::new(file_name, file_bytes)], options) {
        let mut job = job.with_chunk_bytes(chunk_bytes);
        let _ = run_to_end(&mut job, |_| {});
    }
});
