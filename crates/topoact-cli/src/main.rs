//! `topoact`: the native command line over topoact-core.
//!
//! - `topoact mapper INPUT... [options] --out FILE`: a mapper graph of one layer, as
//!   KeplerMapper's graph dict, NetworkX node-link JSON (TopoAct's format) or our own graph.
//! - `topoact embed INPUT... --method tsne|umap [--perplexity P | --neighbors K --min-dist D]
//!   [--subsample N --seed S] --out coords.npy|coords.csv`: a 2-D projection of one layer
//!   (float32 N x 2 .npy, or CSV `sample_idx,x,y`).
//! - `topoact synth --n N --dim D --out FILE.npy`: synthetic activation-like data (the
//!   benchmarks' data, shared with `tools/kmapper/bench_kmapper.py`).
//!
//! Progress goes to stderr. Every failure is a message and a nonzero exit, never a panic.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use topoact_core::dataset::{Dataset, Layer, Matrix};
use topoact_core::formats::{LoadJob, LoadOptions, NamedSource, ReadSeekSource};
use topoact_core::job::{run_to_end, Progress};
use topoact_core::mapper::{
    compute_mapper_with_progress, to_kmapper_json, to_node_link_json, CoverKind, Epsilon, Lens,
    MapperParams,
};
use topoact_core::pipeline::{
    choose_samples, find_layer, mapper_input, EmbedMethod, EmbedSetup, ProjectionRows,
};

#[derive(Parser)]
#[command(
    name = "topoact",
    version,
    about = "TopoAct command line: mapper graphs and projections of neural-network activations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute a mapper graph of one layer (KeplerMapper 2.1.0 semantics).
    Mapper(MapperArgs),
    /// Project one layer to 2-D with t-SNE or UMAP (float32 .npy or CSV coordinates).
    Embed(EmbedArgs),
    /// Write synthetic activation-like data (float32 .npy, optional labels .npy).
    Synth(SynthArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    /// t-SNE (FFT-accelerated gradient, openTSNE's defaults).
    Tsne,
    /// UMAP (umap-learn 0.5.12's defaults, 20 neighbours, min_dist 0.01).
    Umap,
}

#[derive(clap::Args)]
struct EmbedArgs {
    /// Activation file(s): .npz (act_<layer>, labels, class_names), .npy, .safetensors.
    #[arg(required = true)]
    input: Vec<PathBuf>,
    /// Layer name (default: the first layer).
    #[arg(long)]
    layer: Option<String>,
    #[arg(long, value_enum)]
    method: MethodArg,
    /// t-SNE perplexity (default 50).
    #[arg(long)]
    perplexity: Option<f64>,
    /// UMAP neighbourhood size, counting the point itself as umap-learn does (default 20).
    #[arg(long)]
    neighbors: Option<usize>,
    /// UMAP minimum distance (default 0.01).
    #[arg(long)]
    min_dist: Option<f64>,
    /// Stratified subsample size (0 = all samples). Default: all up to 50,000, else 50,000.
    #[arg(long)]
    subsample: Option<usize>,
    /// Seed of the subsample and of the projection.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Label side file (.csv, .json or .npy).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Leave out samples with NaN or infinite activations (else they are an error).
    #[arg(long)]
    drop_nonfinite: bool,
    /// Also print the 10-NN preservation of the result (1,000 sampled points).
    #[arg(long)]
    quality: bool,
    /// Output: .npy (float32 N x 2) or .csv (sample_idx,x,y).
    #[arg(long)]
    out: PathBuf,
    /// No progress on stderr.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LensArg {
    L2,
    L1,
    Mean,
    Zeros,
    Pc1,
    Knn,
}

#[derive(Clone, Copy, ValueEnum)]
enum CoverArg {
    Uniform,
    Balanced,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// KeplerMapper's `map()` dict: nodes, links, simplices, meta_data.
    Kmapper,
    /// NetworkX node-link JSON as TopoAct's graph files.
    NodeLink,
    /// topoact's full graph (nodes with statistics, edges, intervals, parameters).
    Graph,
}

#[derive(clap::Args)]
struct MapperArgs {
    /// Activation file(s): .npz (act_<layer>, labels, class_names), .npy, .safetensors.
    #[arg(required = true)]
    input: Vec<PathBuf>,
    /// Layer name (default: the first layer).
    #[arg(long)]
    layer: Option<String>,
    #[arg(long, value_enum, default_value = "l2")]
    lens: LensArg,
    /// k of the k-NN lens (mean distance to the k nearest other samples).
    #[arg(long, default_value_t = 5)]
    lens_k: usize,
    #[arg(long, value_enum, default_value = "uniform")]
    cover: CoverArg,
    /// Number of intervals.
    #[arg(long, default_value_t = 30)]
    intervals: usize,
    /// Overlap fraction in [0, 1).
    #[arg(long, default_value_t = 0.3)]
    overlap: f64,
    /// Explicit DBSCAN epsilon (else a quantile of the k-th-NN distance).
    #[arg(long, conflicts_with_all = ["eps_knn", "eps_quantile", "eps_per_interval"])]
    eps: Option<f64>,
    /// k of the k-th-nearest-neighbour distance (self not counted).
    #[arg(long, default_value_t = 5)]
    eps_knn: usize,
    /// Quantile of the k-th-NN distances (0.5 = median, as np.median).
    #[arg(long, default_value_t = 0.5)]
    eps_quantile: f64,
    /// Compute epsilon inside each interval (adaptive) instead of once (fixed).
    #[arg(long)]
    eps_per_interval: bool,
    #[arg(long, default_value_t = 5)]
    min_samples: usize,
    #[arg(long, default_value_t = 1)]
    min_intersection: usize,
    /// Merge nodes with identical members (KeplerMapper's `remove_duplicate_nodes=True`).
    #[arg(long)]
    remove_duplicate_nodes: bool,
    /// Stratified subsample size (0 = all samples). Default: all up to 50,000, else 50,000.
    #[arg(long)]
    subsample: Option<usize>,
    /// Subsample seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Label side file (.csv, .json or .npy).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Leave out samples with NaN or infinite activations (else they are an error).
    #[arg(long)]
    drop_nonfinite: bool,
    #[arg(long, value_enum, default_value = "kmapper")]
    format: FormatArg,
    /// Output file ("-" = standard output).
    #[arg(long)]
    out: PathBuf,
    /// No progress on stderr.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct SynthArgs {
    #[arg(long, default_value_t = 50_000)]
    n: usize,
    #[arg(long, default_value_t = 256)]
    dim: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output .npy (float32, n x dim).
    #[arg(long)]
    out: PathBuf,
    /// Also write the labels (uint32 .npy).
    #[arg(long)]
    labels_out: Option<PathBuf>,
}

/// glibc's allocator settings for this short-lived process: allocations up to 32 MiB come
/// from the heap instead of fresh `mmap`s, and freed memory stays with the process. Large
/// buffers are allocated and freed in turn (the file's bytes, the rows, the projection, the
/// join's pairs); each fresh mapping is zero-filled by the kernel a page fault per 4 KiB
/// page. At 20K x 256 (mapper, eps searched) this cut the page faults from 20.3K to 15.3K
/// and the mean wall time over 20 interleaved runs from 0.228 to 0.212 s (sys 0.066 ->
/// 0.051 s). The results do not depend on it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // From glibc's <malloc.h>.
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: `mallopt` only changes the allocator's parameters; called before any thread
    // starts. A refused value (return 0) leaves the default, which is only slower.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mapper(args) => run_mapper(args),
        Command::Embed(args) => run_embed(args),
        Command::Synth(args) => run_synth(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("topoact: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Bytes of array data read (and converted) per load step. The core's default (32 MiB,
/// sized for the browser's reads) reads a 20K x 256 float32 file in one chunk, then
/// converts it with nothing to overlap; in chunks of this size the conversion of one chunk
/// runs beside the read of the next and the read buffers (two chunks) stay in cache. The
/// dataset does not depend on it.
const LOAD_CHUNK_BYTES: usize = 2 << 20;

fn load(
    paths: &[PathBuf],
    labels: Option<&PathBuf>,
    drop_nonfinite: bool,
) -> Result<Dataset, String> {
    let mut sources = Vec::new();
    for path in paths.iter().chain(labels) {
        let file =
            File::open(path).map_err(|e| format!("cannot open '{}': {e}", path.display()))?;
        let source = ReadSeekSource::new(file)
            .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
        let file_name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        sources.push(NamedSource::new(file_name, source));
    }
    let options = LoadOptions {
        drop_nonfinite,
        ..LoadOptions::default()
    };
    // Chunks of `LOAD_CHUNK_BYTES`: each chunk is converted on another thread while the
    // next is read, and the read buffers stay small (see `LOAD_CHUNK_BYTES`).
    let mut job = LoadJob::new(sources, options)
        .map_err(|e| e.to_string())?
        .with_chunk_bytes(LOAD_CHUNK_BYTES);
    let dataset = run_to_end(&mut job, |_| {}).map_err(|e| e.to_string())?;
    for notice in &dataset.notices {
        eprintln!("topoact: note: {notice}");
    }
    Ok(dataset)
}

/// Prints a progress line when the stage changes or every 10 %.
struct ProgressPrinter {
    quiet: bool,
    last_stage: String,
    last_tenth: i64,
    started: Instant,
}

impl ProgressPrinter {
    fn report(&mut self, p: &Progress) {
        if self.quiet {
            return;
        }
        let tenth = (p.fraction() * 10.0).floor() as i64;
        let family = p.stage.split(' ').next().unwrap_or("").to_string();
        if family != self.last_stage || tenth != self.last_tenth {
            eprintln!(
                "[{:7.2} s] {} ({}/{})",
                self.started.elapsed().as_secs_f64(),
                p.stage,
                p.done,
                p.total
            );
            self.last_stage = family;
            self.last_tenth = tenth;
        }
    }
}

/// The layer named `name`, or the first one; an error lists the layers there are.
fn pick_layer<'a>(dataset: &'a Dataset, name: Option<&str>) -> Result<&'a Layer, String> {
    match name {
        Some(name) => find_layer(dataset, name).map_err(|e| e.to_string()),
        None => dataset
            .layers
            .first()
            .ok_or_else(|| "the input has no activation layer".to_string()),
    }
}

fn run_mapper(args: MapperArgs) -> Result<(), String> {
    let started = Instant::now();
    let dataset = load(&args.input, args.labels.as_ref(), args.drop_nonfinite)?;
    let layer = pick_layer(&dataset, args.layer.as_deref())?;
    let matrix: &Matrix = &layer.activations;
    let n_samples = matrix.n_rows();
    if !args.quiet {
        eprintln!(
            "[{:7.2} s] loaded '{}': layer '{}' {} x {} ({}), {} classes",
            started.elapsed().as_secs_f64(),
            dataset.name,
            layer.name,
            n_samples,
            matrix.n_cols(),
            matrix.dtype().name(),
            dataset.class_names.len()
        );
    }
    let subset = choose_samples(
        dataset.labels.as_deref(),
        n_samples,
        args.subsample,
        args.seed,
    );
    if let (Some(s), false) = (&subset, args.quiet) {
        eprintln!(
            "[{:7.2} s] stratified subsample of {} samples (seed {})",
            started.elapsed().as_secs_f64(),
            s.len(),
            args.seed
        );
    }
    let lens = match args.lens {
        LensArg::L2 => Lens::L2Norm,
        LensArg::L1 => Lens::L1Norm,
        LensArg::Mean => Lens::Mean,
        LensArg::Zeros => Lens::FractionZeros,
        LensArg::Pc1 => Lens::FirstPrincipalComponent,
        LensArg::Knn => Lens::KnnDistance { k: args.lens_k },
    };
    let epsilon = Epsilon::explicit_or_searched(
        args.eps,
        args.eps_knn,
        args.eps_quantile,
        args.eps_per_interval,
    );
    let params = MapperParams {
        lens,
        cover: match args.cover {
            CoverArg::Uniform => CoverKind::Uniform,
            CoverArg::Balanced => CoverKind::Balanced,
        },
        n_intervals: args.intervals,
        overlap: args.overlap,
        epsilon,
        min_samples: args.min_samples,
        min_intersection: args.min_intersection,
        seed: args.seed,
        remove_duplicate_nodes: args.remove_duplicate_nodes,
    }
    .validate()
    .map_err(|e| e.to_string())?;
    let input = mapper_input(&dataset, layer, subset.as_deref());
    let mapper_started = Instant::now();
    let mut printer = ProgressPrinter {
        quiet: args.quiet,
        last_stage: String::new(),
        last_tenth: -1,
        started,
    };
    let graph = compute_mapper_with_progress(input, &params, |p| printer.report(p))
        .map_err(|e| e.to_string())?;
    let mapper_secs = mapper_started.elapsed().as_secs_f64();
    let text = match args.format {
        FormatArg::Kmapper => to_kmapper_json(&graph),
        FormatArg::NodeLink => to_node_link_json(&graph).to_string(),
        FormatArg::Graph => serde_json::to_string(&graph).map_err(|e| e.to_string())?,
    };
    write_output(&args.out, text.as_bytes())?;
    if !args.quiet {
        let s = &graph.stats;
        eprintln!(
            "[{:7.2} s] mapper {:.3} s: {} nodes, {} edges, {} components, {} branch nodes, {} leaves, {} cycles, {:.1} % covered, eps {}",
            started.elapsed().as_secs_f64(),
            mapper_secs,
            s.n_nodes,
            s.n_edges,
            s.n_components,
            s.n_branch_nodes,
            s.n_leaves,
            s.n_cycles,
            100.0 * s.fraction_covered,
            graph.params.eps_global.map_or("per interval".to_string(), |e| format!("{e}")),
        );
    }
    Ok(())
}

/// The output format, from the file extension.
enum CoordsFormat {
    Npy,
    Csv,
}

fn run_embed(args: EmbedArgs) -> Result<(), String> {
    use std::sync::Arc;
    use topoact_core::embed::knn::{estimate_recall, KnnJob};
    use topoact_core::embed::Embedding;

    let format = match args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("npy") => CoordsFormat::Npy,
        Some("csv") => CoordsFormat::Csv,
        _ => {
            return Err(format!(
                "--out '{}' must end in .npy or .csv",
                args.out.display()
            ))
        }
    };
    match args.method {
        MethodArg::Tsne if args.neighbors.is_some() || args.min_dist.is_some() => {
            return Err("--neighbors and --min-dist apply to --method umap, not tsne".into())
        }
        MethodArg::Umap if args.perplexity.is_some() => {
            return Err("--perplexity applies to --method tsne, not umap".into())
        }
        _ => {}
    }
    let started = Instant::now();
    let dataset = load(&args.input, args.labels.as_ref(), args.drop_nonfinite)?;
    let layer = pick_layer(&dataset, args.layer.as_deref())?;
    let matrix: &Matrix = &layer.activations;
    let n_samples = matrix.n_rows();
    if !args.quiet {
        eprintln!(
            "[{:7.2} s] loaded '{}': layer '{}' {} x {} ({})",
            started.elapsed().as_secs_f64(),
            dataset.name,
            layer.name,
            n_samples,
            matrix.n_cols(),
            matrix.dtype().name()
        );
    }
    let subset = choose_samples(
        dataset.labels.as_deref(),
        n_samples,
        args.subsample,
        args.seed,
    );
    if let (Some(s), false) = (&subset, args.quiet) {
        eprintln!(
            "[{:7.2} s] stratified subsample of {} samples (seed {})",
            started.elapsed().as_secs_f64(),
            s.len(),
            args.seed
        );
    }
    let rows = ProjectionRows::gather(matrix, subset).map_err(|e| e.to_string())?;
    let n_points = rows.n_points();

    let setup = EmbedSetup {
        method: match args.method {
            MethodArg::Tsne => EmbedMethod::Tsne {
                perplexity: args.perplexity.unwrap_or(50.0),
            },
            MethodArg::Umap => EmbedMethod::Umap {
                n_neighbors: args.neighbors.unwrap_or(20),
                min_dist: args.min_dist.unwrap_or(0.01),
            },
        },
        seed: args.seed,
    };
    // Check the parameters before the (long) neighbour search.
    setup.validate(n_points).map_err(|e| e.to_string())?;
    let knn_params = setup.knn_params(n_points);
    let k = knn_params.k;
    let mut printer = ProgressPrinter {
        quiet: args.quiet,
        last_stage: String::new(),
        last_tenth: -1,
        started,
    };
    let knn_started = Instant::now();
    let mut knn_job = KnnJob::new(rows.rows.clone(), knn_params).map_err(|e| e.to_string())?;
    let graph = run_to_end(&mut knn_job, |p| printer.report(p)).map_err(|e| e.to_string())?;
    if !args.quiet {
        let how = if graph.exact {
            "exact".to_string()
        } else {
            format!(
                "approximate, recall {:.4} on 200 sampled points",
                estimate_recall(&rows.rows, &graph, k, 200, args.seed)
            )
        };
        eprintln!(
            "[{:7.2} s] {k} nearest neighbours in {:.2} s ({how})",
            started.elapsed().as_secs_f64(),
            knn_started.elapsed().as_secs_f64()
        );
    }
    let graph = Arc::new(graph);
    let projection_started = Instant::now();
    let mut job = setup
        .job(rows.rows.clone(), graph)
        .map_err(|e| e.to_string())?;
    let embedding: Embedding =
        run_to_end(&mut job, |p| printer.report(p)).map_err(|e| e.to_string())?;
    if let (Some(used), false) = (job.umap_init_used(), args.quiet) {
        match used.spectral_failure {
            Some(why) => eprintln!(
                "topoact: note: UMAP started from PCA (spectral start unavailable: {why:?})"
            ),
            None => eprintln!("topoact: note: UMAP started from a {:?} layout", used.init),
        }
    }
    let method = setup.name();
    if !args.quiet {
        eprintln!(
            "[{:7.2} s] {method} in {:.2} s",
            started.elapsed().as_secs_f64(),
            projection_started.elapsed().as_secs_f64()
        );
    }
    if args.quality {
        let quality = topoact_core::embed::quality::knn_preservation(
            &rows.rows,
            &embedding.coords,
            10,
            Some((1000, args.seed)),
        );
        eprintln!("10-NN preservation (1000 sampled points): {quality:.4}");
    }
    let sample_idx = |row: usize| rows.sample_indices[row];
    let bytes = match format {
        CoordsFormat::Npy => {
            let data: Vec<u8> = embedding
                .coords
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            npy_bytes("<f4", &[n_points, 2], &data)
        }
        CoordsFormat::Csv => {
            let mut text = String::from("sample_idx,x,y\n");
            for row in 0..n_points {
                text.push_str(&format!(
                    "{},{},{}\n",
                    sample_idx(row),
                    embedding.coords[2 * row],
                    embedding.coords[2 * row + 1]
                ));
            }
            text.into_bytes()
        }
    };
    write_output(&args.out, &bytes)?;
    if !args.quiet {
        eprintln!(
            "[{:7.2} s] wrote {n_points} x 2 coordinates to '{}'",
            started.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    Ok(())
}

fn write_output(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if path.as_os_str() == "-" {
        std::io::stdout()
            .write_all(bytes)
            .map_err(|e| format!("cannot write to standard output: {e}"))
    } else {
        std::fs::write(path, bytes).map_err(|e| format!("cannot write '{}': {e}", path.display()))
    }
}

/// A version-1.0 .npy file: magic, header padded to a multiple of 64 bytes, data.
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn run_synth(args: SynthArgs) -> Result<(), String> {
    if args.n == 0 || args.dim == 0 {
        return Err("--n and --dim must be at least 1".into());
    }
    let started = Instant::now();
    let (x, labels, _names) =
        topoact_core::mapper::synth::activation_like(args.n, args.dim, args.seed);
    let data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_output(&args.out, &npy_bytes("<f4", &[args.n, args.dim], &data))?;
    if let Some(path) = &args.labels_out {
        let data: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
        write_output(path, &npy_bytes("<u4", &[args.n], &data))?;
    }
    let zeros = x.iter().filter(|&&v| v == 0.0).count() as f64 / x.len() as f64;
    eprintln!(
        "wrote {} x {} float32 to '{}' ({:.1} % zeros) in {:.2} s",
        args.n,
        args.dim,
        args.out.display(),
        100.0 * zeros,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
