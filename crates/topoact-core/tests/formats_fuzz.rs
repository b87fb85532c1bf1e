//! Mutates and truncates valid npy / npz / safetensors bytes and checks that loading never
//! panics (it may succeed or fail with a `FormatError`). A few hundred cases so CI stays
//! fast; `tools/fuzz.sh` runs the long cargo-fuzz campaign.

use proptest::prelude::*;
use topoact_core::formats::{LoadJob, LoadOptions, NamedSource};
use topoact_core::job::run_to_end;

const SEEDS: &[&str] = &[
    "basic.npz",
    "compressed_f16.npz",
    "bigendian_fortran.npz",
    "single.npy",
    "v2_header.npy",
    "tensors.safetensors",
    "numpy_savez.npz",
    "numpy_savez_compressed.npz",
    "nonfinite.npz",
];

fn seed_bytes(name: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name);
    std::fs::read(path).expect("fixture")
}

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Overwrite(usize, Vec<u8>),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (
            any::<usize>(),
            proptest::collection::vec(prop_oneof![Just(0u8), Just(0xFF), any::<u8>()], 1..9)
        )
            .prop_map(|(at, bytes)| Mutation::Overwrite(at, bytes)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..9))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove(at, len)),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len().max(1);
    match mutation {
        Mutation::Truncate(at) => bytes.truncate(at % len),
        Mutation::Flip(at, mask) => {
            if let Some(byte) = bytes.get_mut(at % len) {
                *byte ^= mask;
            }
        }
        Mutation::Overwrite(at, new) => {
            for (offset, value) in new.iter().enumerate() {
                if let Some(byte) = bytes.get_mut(at % len + offset) {
                    *byte = *value;
                }
            }
        }
        Mutation::Insert(at, new) => {
            let at = (at % len).min(bytes.len());
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Remove(at, count) => {
            let start = (at % len).min(bytes.len());
            let end = (start + count).min(bytes.len());
            bytes.drain(start..end);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic(
        seed_idx in 0..SEEDS.len(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        chunk_bytes in prop_oneof![Just(5usize), Just(64), Just(1 << 20)],
        drop_nonfinite in any::<bool>(),
    ) {
        let name = SEEDS[seed_idx];
        let mut bytes = seed_bytes(name);
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        // A small budget keeps a header that now claims gigabytes from allocating them.
        let options = LoadOptions { max_total_bytes: 8 << 20, drop_nonfinite };
        if let Ok(job) = LoadJob::new(vec![NamedSource::new(name, bytes)], options) {
            let mut job = job.with_chunk_bytes(chunk_bytes);
            let outcome = run_to_end(&mut job, |_| {});
            if let Err(error) = outcome {
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }
}
