// Issue 22's benchmark table: runs every row BENCH_RUNS times (default 3) under each
// BENCH_THREADS entry (default `1,auto`: the single-threaded worker build, then one thread per
// core), each run in a fresh browser on a fresh page (a child `node benches/browser-bench.mjs`
// per run), with the row's peer measured in the same invocation, and prints one JSON object
// per row and thread setting on its own line:
//   {row, id, threads, runs: [...], median, unit, target, met, peer: {name, runs, median}, ratio,
//    details: [...], load_before, load_after}   (+ ratio_whole_process on the CLI row)
// A row that cannot be measured prints {row, id, threads, missing: "why"} (or `error`).
//
//   node benches/table.mjs [--quick] [--rows id,id,...]
//   BENCH_RUNS=1 BENCH_THREADS=auto BENCH_ROWS=umap-50k,tsne-50k node benches/table.mjs
//
// --quick runs every row on small sizes (a smoke test of the runner: a few minutes); its
// figures say nothing about the targets. Needs the benchmark build (`TOPOACT_BENCH=1
// tools/build.sh`), the release CLI (`cargo build --release -p topoact-cli`) and, for the
// KeplerMapper peers, the venv `.venv-py` of tools/setup.sh (or KMAPPER_PYTHON).
// The native peer (KeplerMapper + scikit-learn) runs once just before each of our runs, under
// every thread setting, so each (peer, ours) pair sees the same machine: `peer.paired_ratios`
// are the pairs' ratios; Embedding Atlas runs on the same page as each of our runs.
// No timing is asserted anywhere: `met` is informational.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const rowsArg = args.includes('--rows') ? args[args.indexOf('--rows') + 1] : process.env.BENCH_ROWS;
const runs = Number(process.env.BENCH_RUNS || 3);
const threadSettings = (process.env.BENCH_THREADS || '1,auto').split(',').map((t) => t.trim()).filter(Boolean);
const cli = path.join(repoRoot, 'target/release/topoact');
const python = process.env.KMAPPER_PYTHON || path.join(repoRoot, '.venv-py/bin/python');

const median = (values) => {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(digits + 2)) : v);
const load = () => loadavg().map((v) => Number(v.toFixed(2)));
const seconds = (ms) => (typeof ms === 'number' ? ms / 1000 : null);

/** One run of a browser suite in its own browser; resolves to its report (or throws). */
function browserRun(suite, sizes, threads, env = {}) {
  const started = Date.now();
  const child = spawnSync(process.execPath, [path.join(repoRoot, 'benches/browser-bench.mjs'), suite, ...(sizes ? [sizes] : [])], {
    cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 90 * 60_000,
    env: { ...process.env, BENCH_THREADS: threads, BENCH_JSON: 'compact', ...env },
  });
  const line = (child.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`browser-bench ${suite} ${sizes ?? ''} printed no report (status ${child.status}${child.signal ? `, ${child.signal}` : ''}): ${(child.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  const report = JSON.parse(line);
  if (report.error) throw new Error(`browser-bench ${suite}: ${report.error}`);
  report.driver_ms = Date.now() - started;
  return report;
}

/** `topoact synth` data (the generator the worker's synthetic set shares), cached per size. */
const synthCache = new Map();
let scratch;
function synth(n, dim) {
  const key = `${n}x${dim}`;
  if (!synthCache.has(key)) {
    scratch ??= mkdtempSync(path.join(tmpdir(), 'topoact-table-'));
    const file = path.join(scratch, `synth-${key}.npy`);
    const made = spawnSync(cli, ['synth', '--n', String(n), '--dim', String(dim), '--seed', '0', '--out', file], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`topoact synth failed (cargo build --release -p topoact-cli): ${made.stderr}`);
    synthCache.set(key, file);
  }
  return synthCache.get(key);
}

/** One run of KeplerMapper 2.1 + scikit-learn natively on the same data
 *  (tools/kmapper/bench_kmapper.py: lens + exact 5th-NN eps search + map, data in memory).
 *  The first run of a size writes its graph (`peerGraph`), for the CLI row's identity check. */
const peerGraphs = new Map();
function kmapperRun(n, dim) {
  if (!existsSync(python)) throw new Error(`no Python with kmapper at ${python} (run tools/setup.sh or set KMAPPER_PYTHON)`);
  const key = `${n}x${dim}`;
  const data = synth(n, dim);
  const out = peerGraphs.has(key) ? null : path.join(scratch, `kmapper-${key}.json`);
  const started = process.hrtime.bigint();
  const run = spawnSync(python, [path.join(repoRoot, 'tools/kmapper/bench_kmapper.py'), data, '--cover', 'uniform', ...(out ? ['--out', out] : [])], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const processSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`bench_kmapper.py failed: ${run.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  if (out) peerGraphs.set(key, out);
  const result = JSON.parse(run.stdout.trim().split('\n').pop());
  return { seconds: result.total_s, process_seconds: processSeconds, nodes: result.nodes, edges: result.edges, eps: result.eps };
}

/** The graph file KeplerMapper wrote for this size (after its first run). */
function peerGraph(n, dim) {
  const file = peerGraphs.get(`${n}x${dim}`);
  if (!file) throw new Error(`no KeplerMapper graph for ${n}x${dim} yet`);
  return file;
}

/** The native peer's figures from its runs (one before each of ours, so each pair of runs
 *  sees the same machine), with the ratio of each adjacent pair. */
function kmapperSummary(peerRuns, ours) {
  const paired = peerRuns.map((p, i) => (ours[i] ? round(p.seconds / ours[i]) : null));
  return {
    name: 'KeplerMapper 2.1.0 + scikit-learn (native, .venv-py; lens + eps search + map, data in memory)',
    runs: peerRuns.map((r) => round(r.seconds)), median: round(median(peerRuns.map((r) => r.seconds))), unit: 's',
    // The whole Python process too (interpreter start, imports, np.load, the graph's JSON
    // for the first run): the like-for-like figure for the CLI row's whole-process timing.
    whole_process_runs: peerRuns.map((r) => round(r.process_seconds)),
    whole_process_median: round(median(peerRuns.map((r) => r.process_seconds))),
    paired_ratios: paired, paired_ratio_median: round(median(paired)),
    nodes: peerRuns[0]?.nodes, edges: peerRuns[0]?.edges, eps: peerRuns[0]?.eps,
  };
}

/** Whether two KeplerMapper-format graphs have the same nodes (member sets) and links. */
function sameGraph(fileA, fileB) {
  const norm = (g) => JSON.stringify([
    Object.entries(g.nodes).map(([k, v]) => [k, [...v].sort((a, b) => a - b)]).sort(),
    Object.entries(g.links).filter(([, v]) => v.length).map(([k, v]) => [k, [...v].sort()]).sort(),
  ]);
  return norm(JSON.parse(readFileSync(fileA, 'utf8'))) === norm(JSON.parse(readFileSync(fileB, 'utf8')));
}

const Q = (full, small) => (quick ? small : full);
const mapperSize = (spec) => spec.split('x').map(Number);

// Every row of the issue's table. `measure(threads)` returns one run: { value, detail };
// `peer(threads)` (optional) the peer's { name, runs, median } for the ratio.
const ROWS = [
  {
    id: 'mapper-300k', row: 'mapper 300K x 1024 in the tab, eps searched (median 5th-NN), first run on a fresh page',
    size: Q('300000x1024', '20000x256'), unit: 's', target: (t) => (t === '1' ? '< 60 s (1 thread)' : '< 20 s (2 threads)'),
    met: (v, t) => v < (t === '1' ? 60 : 20),
    measure(threads) {
      const report = browserRun('mapper', this.size, threads, { BENCH_COVERS: 'uniform' });
      const r = report.results[0];
      return { value: seconds(r.wall_ms), detail: { compute_threads: report.compute_threads, mapper_ms: r.mapper_ms, layout_ms: r.layout_ms, nodes: r.nodes, edges: r.edges, stages_ms: r.stages_ms, renderer_peak_mib: report.memory?.renderer_peak_mib } };
    },
  },
  {
    id: 'mapper-50k-vs-kmapper', row: 'mapper 50K x 256 in the tab vs KeplerMapper 2.1 + scikit-learn natively, eps searched',
    size: Q('50000x256', '5000x256'), unit: 's', target: () => 'ratio >= 20x', met: (v, t, ratio) => ratio >= 20,
    measure(threads) {
      const report = browserRun('mapper', this.size, threads, { BENCH_COVERS: 'uniform' });
      const r = report.results[0];
      return { value: seconds(r.wall_ms), detail: { compute_threads: report.compute_threads, nodes: r.nodes, edges: r.edges, eps: r.eps, mapper_ms: r.mapper_ms, layout_ms: r.layout_ms, stages_ms: r.stages_ms } };
    },
    nativePeer() { return kmapperRun(...mapperSize(this.size)); },
  },
  {
    id: 'cli-20k-vs-kmapper', row: 'mapper natively (topoact CLI, whole process) vs KeplerMapper + scikit-learn, 20K x 256, eps searched',
    // `ratio`: against KeplerMapper's in-memory time (lens + eps search + map, the stricter
    // comparison); `ratio_whole_process`: against its whole Python process.
    size: Q('20000x256', '5000x256'), unit: 's', target: () => 'ratio >= 25x', met: (v, t, ratio) => ratio >= 25, wholeProcess: true,
    measure(threads) {
      const [n, dim] = mapperSize(this.size);
      const data = synth(n, dim);
      const out = path.join(scratch, `ours-${n}x${dim}-${threads}.json`);
      const env = { ...process.env };
      if (threads === 'auto') delete env.RAYON_NUM_THREADS; else env.RAYON_NUM_THREADS = threads;
      const started = process.hrtime.bigint();
      const run = spawnSync(cli, ['mapper', data, '--cover', 'uniform', '--intervals', '30', '--overlap', '0.3', '--eps-knn', '5', '--eps-quantile', '0.5',
        '--min-samples', '5', '--subsample', '0', '--format', 'kmapper', '--out', out], { encoding: 'utf8', env });
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (run.status !== 0) throw new Error(`topoact mapper failed: ${run.stderr}`);
      return { value: wall, detail: { rayon_threads: threads, identical_to_kmapper: sameGraph(out, peerGraph(n, dim)) } };
    },
    nativePeer() { return kmapperRun(...mapperSize(this.size)); },
  },
  {
    id: 'umap-50k', row: 'UMAP 50K x 256 (20 neighbours, min_dist 0.01) vs Embedding Atlas WASM UMAP in the same run',
    size: Q('50000', '5000'), unit: 's', target: () => '< 6 s; ratio >= 10x', met: (v, t, ratio) => v < 6 && ratio >= 10,
    measure(threads) {
      const report = browserRun('embed', this.size, threads, { BENCH_METHODS: 'umap' });
      const r = report.results[0];
      return {
        value: seconds(r.ours.umap.wall_ms),
        peer: r.embedding_atlas_0_26?.wall_ms != null ? seconds(r.embedding_atlas_0_26.wall_ms) : null,
        detail: { compute_threads: report.compute_threads, knn_ms: r.ours.umap.knn_ms, first_frame_ms: r.ours.umap.first_frame_ms, first_projection_frame_ms: r.ours.umap.first_projection_frame_ms, embedding_atlas: r.embedding_atlas_0_26, renderer_peak_mib: report.memory?.renderer_peak_mib },
      };
    },
    peerName: 'Embedding Atlas 0.26 UMAP (WASM, CPU) on the same page',
  },
  {
    id: 'tsne-50k', row: 't-SNE 50K x 256 (perplexity 50)',
    size: Q('50000', '5000'), unit: 's', target: () => '< 15 s', met: (v) => v < 15,
    measure(threads) {
      const report = browserRun('embed', this.size, threads, { BENCH_METHODS: 'tsne' });
      const r = report.results[0];
      return { value: seconds(r.ours.tsne.wall_ms), detail: { compute_threads: report.compute_threads, knn_ms: r.ours.tsne.knn_ms, first_frame_ms: r.ours.tsne.first_frame_ms, first_projection_frame_ms: r.ours.tsne.first_projection_frame_ms, renderer_peak_mib: report.memory?.renderer_peak_mib } };
    },
  },
  {
    id: 'umap-300k', row: 'UMAP 300K x 256 (first frame < 5 s)',
    size: Q('300000', '10000'), unit: 's', target: () => '< 120 s; first frame < 5 s', met: (v, t, ratio, d) => v < 120 && d.every((x) => x.first_frame_ms != null && x.first_frame_ms < 5000),
    measure(threads) {
      const report = browserRun('embed', this.size, threads, { BENCH_METHODS: 'umap' });
      const r = report.results[0];
      return { value: seconds(r.ours.umap.wall_ms), detail: { compute_threads: report.compute_threads, first_frame_ms: r.ours.umap.first_frame_ms, first_projection_frame_ms: r.ours.umap.first_projection_frame_ms, frames: r.ours.umap.frames, renderer_peak_mib: report.memory?.renderer_peak_mib } };
    },
  },
  {
    id: 'tsne-300k', row: 't-SNE 300K x 256 (first frame < 5 s)',
    size: Q('300000', '10000'), unit: 's', target: () => '< 300 s; first frame < 5 s', met: (v, t, ratio, d) => v < 300 && d.every((x) => x.first_frame_ms != null && x.first_frame_ms < 5000),
    measure(threads) {
      const report = browserRun('embed', this.size, threads, { BENCH_METHODS: 'tsne' });
      const r = report.results[0];
      return { value: seconds(r.ours.tsne.wall_ms), detail: { compute_threads: report.compute_threads, first_frame_ms: r.ours.tsne.first_frame_ms, first_projection_frame_ms: r.ours.tsne.first_projection_frame_ms, frames: r.ours.tsne.frames, renderer_peak_mib: report.memory?.renderer_peak_mib } };
    },
  },
  ...[['scatter-300k', Q('300000', '20000'), 60], ['scatter-1m', Q('1000000', '60000'), 30]].map(([id, size, fps]) => ({
    id, row: `projection scatter, wheel zoom and drag pan, ${Number(size).toLocaleString('en')} points, a node's members highlighted`,
    size, unit: 'fps', target: () => `>= ${fps} fps (median frame)`, met: (v) => v >= fps,
    measure(threads) {
      const report = browserRun('render-projection', this.size, threads);
      const [wheel, pan] = report.results;
      return {
        // The worse of the two interactions' median-frame fps.
        value: Math.min(wheel.fps_at_median, pan.fps_at_median),
        detail: {
          wheel: { median_frame_ms: wheel.median_frame_ms, p95_frame_ms: wheel.p95_frame_ms, frames: wheel.frames },
          pan: { median_frame_ms: pan.median_frame_ms, p95_frame_ms: pan.p95_frame_ms, frames: pan.frames },
          all_points_shown_ms: report.all_points_shown_ms, projection: report.projection, renderer_peak_mib: report.memory?.renderer_peak_mib,
        },
      };
    },
  })),
  {
    id: 'parse-300k', row: 'parse 300K x 1024 float16 npz (stored zip64)',
    size: Q('300000x1024', '20000x1024'), unit: 'MB/s', target: () => '>= 400 MB/s', met: (v) => v >= 400,
    // The ceiling: the browser reading the same file with the worker's calls, no parsing
    // (public/bench-read-worker.js), just before each of our parses. ratio = ours / it.
    peerName: "the browser's own read of the same file (FileReaderSync, 32 MiB slices, no parsing), same page",
    higherIsBetter: true,
    measure(threads) {
      const report = browserRun('parse', `npz:${this.size}:float16`, threads);
      const r = report.results[0];
      if (r.error) throw new Error(r.error);
      return { value: r.mb_per_s, peer: r.raw_read_mb_per_s, detail: { bytes: r.bytes, worker_ms: r.worker_ms, wall_ms: r.wall_ms, raw_read_ms: r.raw_read_ms, renderer_peak_mib: report.memory?.renderer_peak_mib } };
    },
  },
  {
    id: 'memory-300k', row: 'peak memory of the tab, 300K x 1024 mapper + UMAP (renderer VmHWM)',
    size: Q('300000x1024', '10000x256'), unit: 'MiB', target: () => '< 3072 MiB (3 GiB)', met: (v) => v < 3072,
    measure(threads) {
      const report = browserRun('mapper-umap', this.size, threads);
      const r = report.results[0];
      return { value: report.memory.renderer_peak_mib, detail: { compute_threads: report.compute_threads, mapper_wall_ms: r.mapper_wall_ms, umap_wall_ms: r.umap_wall_ms, umap_first_frame_ms: r.umap_first_frame_ms, processes: report.memory.processes.map(({ type, vm_hwm_mib }) => ({ type, vm_hwm_mib })) } };
    },
  },
];

const wanted = rowsArg ? rowsArg.split(',').map((s) => s.trim()) : null;
if (wanted) {
  const unknown = wanted.filter((id) => !ROWS.some((row) => row.id === id));
  if (unknown.length) { console.error(`unknown rows: ${unknown.join(', ')}; known: ${ROWS.map((r) => r.id).join(', ')}`); process.exit(2); }
}
// BENCH_DIST (passed on to browser-bench.mjs) serves another build folder than dist/.
const distDir = path.resolve(repoRoot, process.env.BENCH_DIST || 'dist');
if (!existsSync(path.join(distDir, 'bench.js'))) console.error(`[table] ${distDir} has no bench.js: run TOPOACT_BENCH=1 tools/build.sh first`);
try {
  for (const spec of ROWS.filter((row) => !wanted || wanted.includes(row.id))) {
    for (const threads of threadSettings) {
      const base = { row: spec.row, id: spec.id, size: spec.size, quick, threads };
      const loadBefore = load();
      const values = [];
      const details = [];
      const pagePeer = [];
      const peerRuns = [];
      let error = null;
      let peerError = null;
      for (let i = 0; i < runs && !error; i++) {
        // The native peer runs just before each of ours: a drift of the machine's speed
        // (these hosts are shared) then touches both sides of each pair alike.
        if (spec.nativePeer && !peerError) {
          try { peerRuns.push(spec.nativePeer()); } catch (e) { peerError = String(e.message ?? e); }
        }
        try {
          const run = spec.measure(threads);
          values.push(round(run.value));
          details.push(run.detail);
          if (spec.peerName) pagePeer.push(round(run.peer));
        } catch (e) {
          error = String(e.message ?? e);
        }
      }
      const out = { ...base, runs: values, median: round(median(values)), unit: spec.unit, target: spec.target(threads) };
      if (spec.peerName) {
        out.peer = { name: spec.peerName, runs: pagePeer, median: round(median(pagePeer)), unit: spec.unit };
      } else if (spec.nativePeer) {
        out.peer = peerError ? { error: peerError } : kmapperSummary(peerRuns, values);
      } else {
        out.peer = null;
      }
      // ratio > 1: ours is better (faster, or higher throughput for higherIsBetter units).
      out.ratio = out.peer?.median != null && out.median
        ? round(spec.higherIsBetter ? out.median / out.peer.median : out.peer.median / out.median)
        : null;
      if (spec.wholeProcess && out.peer?.whole_process_median != null && out.median) {
        out.ratio_whole_process = round(out.peer.whole_process_median / out.median);
      }
      out.met = out.median != null ? Boolean(spec.met(out.median, threads, out.ratio ?? 0, details)) : null;
      out.details = details;
      if (error) out.error = error;
      out.load_before = loadBefore;
      out.load_after = load();
      console.log(JSON.stringify(out));
    }
  }
} finally {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
