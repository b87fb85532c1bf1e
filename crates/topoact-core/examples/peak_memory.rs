//! Peak live heap of the browser worker's mapper-then-UMAP sequence (the `mapper-umap` bench
//! suite), natively, with a counting global allocator: the dataset (`Matrix::F32`), the mapper
//! with eps searched as the worker runs it (`MapperJob` with bounded steps on the pool, graph
//! kept), then the projection's rows, the k-NN graph and UMAP as `pipeline.rs` sets them up
//! (all rows, UMAP 20 neighbours, min_dist 0.01, seed 0). Prints, per stage (named by the
//! jobs' progress), the peak of live bytes and the live bytes when the stage ends. Byte counts
//! do not depend on the machine's load. Not a test.
//!
//! Run: `cargo run --release -p topoact-core --example peak_memory` with `N` (rows, default
//! 50000), `DIM` (1024), `THREADS` (the mapper's step threads, default 2),
//! `RAYON_NUM_THREADS`, `SKIP_UMAP=1` to stop after the k-NN graph, `MAPPER_ONLY=1` to stop after the
//! mapper, `SKIP_MAPPER=1` to go straight to the projection, `KNN_SEARCH_STEPS=s` to stop the
//! k-NN search after `s` of its steps (its peak is reached when the search starts; implies
//! `SKIP_UMAP`), `STEPS=prefix` to print
//! every step of the stages whose name starts with `prefix` (e.g. `mapper: neighbour`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use topoact_core::dataset::{Dataset, Layer, Matrix};
use topoact_core::embed::knn::{KnnJob, KnnParams};
use topoact_core::job::{Job, Step};
use topoact_core::mapper::synth::activation_like;
use topoact_core::mapper::{CoverKind, MapperJob, MapperParams};
use topoact_core::pipeline::{
    choose_samples, find_layer, mapper_input, EmbedMethod, EmbedSetup, ProjectionRows,
};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let out = unsafe { System.realloc(ptr, layout, new_size) };
        if !out.is_null() {
            if new_size >= layout.size() {
                // Old and new blocks may coexist during the move: count both.
                grew(new_size);
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        out
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Per stage, in order of first appearance: (name, peak live bytes, live bytes at its end,
/// seconds). A step's peak is charged to the stage its progress names.
struct Stages {
    rows: Vec<(String, usize, usize, f64)>,
}

impl Stages {
    fn new() -> Self {
        Stages { rows: Vec::new() }
    }

    fn begin_step() -> Instant {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        Instant::now()
    }

    fn charge(&mut self, name: &str, since: Instant) {
        let peak = PEAK.load(Ordering::Relaxed);
        let live = LIVE.load(Ordering::Relaxed);
        let secs = since.elapsed().as_secs_f64();
        if std::env::var("STEPS").is_ok_and(|prefix| name.starts_with(&prefix)) {
            println!(
                "    step {name}: peak {:.1} MiB, live after {:.1} MiB",
                mib(peak),
                mib(live)
            );
        }
        match self.rows.last_mut() {
            Some(row) if row.0 == name => {
                row.1 = row.1.max(peak);
                row.2 = live;
                row.3 += secs;
            }
            _ => {
                if let Some(done) = self.rows.last() {
                    print_row(done);
                }
                self.rows.push((name.to_string(), peak, live, secs))
            }
        }
    }

    /// Runs `f` as one step of stage `name`.
    fn once<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let since = Self::begin_step();
        let out = f();
        self.charge(name, since);
        out
    }

    fn print_last(&self) {
        if let Some(done) = self.rows.last() {
            print_row(done);
        }
    }
}

fn print_row((name, peak, live, secs): &(String, usize, usize, f64)) {
    println!(
        "  {name:<44} peak {:9.1} MiB   live after {:9.1} MiB   {secs:7.2} s",
        mib(*peak),
        mib(*live)
    );
}

/// A stage name without its counts (digits), so steps of one stage group.
fn stage_key(stage: &str) -> String {
    stage
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

fn run<J: Job>(stages: &mut Stages, prefix: &str, job: &mut J) -> J::Output
where
    J::Error: std::fmt::Debug,
{
    loop {
        let since = Stages::begin_step();
        match job.step().expect("the job runs") {
            Step::Running(progress) => {
                stages.charge(&format!("{prefix}{}", stage_key(&progress.stage)), since)
            }
            Step::Done(output) => {
                stages.charge(&format!("{prefix}done"), since);
                return output;
            }
        }
    }
}

fn main() {
    let n: usize = env_or("N", 50_000);
    let dim: usize = env_or("DIM", 1024);
    let threads: usize = env_or("THREADS", 2);
    let skip_umap = std::env::var("SKIP_UMAP").is_ok();
    println!(
        "{n} x {dim} f32 ({:.1} MiB of values), mapper step threads {threads}, rayon threads {}",
        mib(n * dim * 4),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
    );
    let mut stages = Stages::new();
    let dataset = stages.once("load: activation_like", || {
        let (activations, labels, class_names) = activation_like(n, dim, 0);
        Dataset {
            name: "synthetic".into(),
            layers: vec![Layer {
                name: "synthetic".into(),
                activations: Matrix::F32(activations.into()),
            }],
            labels: Some(labels),
            class_names,
            ..Dataset::default()
        }
    });

    // The mapper as the bench page asks for it (`MapperParams::benchmark`, uniform cover).
    let params = MapperParams::benchmark(CoverKind::Uniform)
        .validate()
        .expect("valid parameters");
    let layer = find_layer(&dataset, "synthetic").expect("the layer");
    let subset = choose_samples(dataset.labels.as_deref(), n, Some(n), 0);
    let mut job = stages.once("mapper: copying rows (MapperJob::new)", || {
        MapperJob::new(mapper_input(&dataset, layer, subset.as_deref()), &params)
            .expect("mapper input")
            .with_step_threads(threads)
    });
    if std::env::var("SKIP_MAPPER").is_err() {
        let graph = run(&mut stages, "mapper: ", &mut job);
        println!(
            "graph: {} nodes, {} edges",
            graph.nodes.len(),
            graph.edges.len()
        );
    }
    stages.once("mapper: dropping the job", || drop(job));
    if std::env::var("MAPPER_ONLY").is_ok() {
        stages.print_last();
        return;
    }

    // The projection as the worker sets it up (projection.rs: rows_for, neighbours, job).
    let setup = EmbedSetup {
        method: EmbedMethod::Umap {
            n_neighbors: 20,
            min_dist: 0.01,
        },
        seed: 0,
    };
    let (rows, labels_by_row, norms) = stages.once("projection: gathering rows", || {
        let gathered = ProjectionRows::gather(&layer.activations, subset.clone()).expect("rows");
        let labels_by_row = gathered.labels(dataset.labels.as_deref());
        let norms = gathered.norms();
        (gathered.rows, labels_by_row, norms)
    });
    setup.validate(rows.n_points).expect("valid projection");
    let k = setup
        .neighbours_needed(rows.n_points)
        .min(rows.n_points - 1);
    let mut knn_job = KnnJob::new(rows.clone(), KnnParams::new(k)).expect("k-NN parameters");
    if let Some(limit) = std::env::var("KNN_SEARCH_STEPS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut searched = 0;
        while searched < limit {
            let since = Stages::begin_step();
            match knn_job.step().expect("the job runs") {
                Step::Running(progress) => {
                    searched += usize::from(progress.stage.contains("searching"));
                    stages.charge(&format!("k-NN: {}", stage_key(&progress.stage)), since);
                }
                Step::Done(_) => {
                    stages.charge("k-NN: done", since);
                    break;
                }
            }
        }
        stages.print_last();
        let overall = stages.rows.iter().map(|row| row.1).max().unwrap_or(0);
        println!(
            "stopped after {searched} search steps; overall peak {:.1} MiB",
            mib(overall)
        );
        return;
    }
    let knn = Arc::new(run(&mut stages, "k-NN: ", &mut knn_job));
    stages.once("k-NN: dropping the job", || drop(knn_job));
    let mut fingerprint = 0xcbf2_9ce4_8422_2325u64;
    if !skip_umap {
        let mut umap_job = stages.once("umap: new", || {
            setup.job(rows.clone(), knn.clone()).expect("UMAP job")
        });
        let embedding = run(&mut stages, "umap: ", &mut umap_job);
        for v in &embedding.coords {
            for byte in v.to_bits().to_le_bytes() {
                fingerprint = (fingerprint ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    stages.print_last();
    let overall = stages.rows.iter().map(|row| row.1).max().unwrap_or(0);
    println!(
        "overall peak {:.1} MiB ({:.3} GiB); umap fingerprint {fingerprint:#018x}; kept: graph, {} labels, {} norms",
        mib(overall),
        overall as f64 / (1024.0 * 1024.0 * 1024.0),
        labels_by_row.len(),
        norms.len()
    );
}
