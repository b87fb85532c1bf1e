// In-browser benchmarks: talks to the real compute worker through its protocol, on
// synthetic inputs built here, and publishes the figures as JSON in #result and in
// window.__benchResult (read by benches/browser-bench.mjs).
//
// Every request is built, and every answer read, by the worker crate's benchmark client
// (src/worker/bench.rs, feature `bench`: `TOPOACT_BENCH=1 tools/build.sh`, which
// tools/bench.sh runs), loaded on this page from pkg/worker.js: the protocol is not written
// out here, so a change of it breaks the build rather than this page.
import initProtocol, * as protocol from './pkg/worker.js';

const log = (line) => { document.getElementById('log').textContent += line + '\n'; };

/** Publishes a failure as the report (the driver stops waiting). */
function fail(error) {
  window.__benchResult = { error: String(error) };
  document.getElementById('result').textContent = JSON.stringify(window.__benchResult);
}

let worker = null;
const pending = new Map();
let nextRequestId = 1;

/** Starts the compute worker (after the protocol client is initialised, which reads its
 *  answers); resolves to its thread count once it is ready. `?threads=N` is passed on to the
 *  worker (1: the single-threaded build; default: one per core). */
function startWorker() {
  const threadsAsked = new URLSearchParams(location.search).get('threads');
  worker = new Worker(`./worker-loader.js${threadsAsked ? `?threads=${encodeURIComponent(threadsAsked)}` : ''}`, { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const arrivedAt = performance.now();
      let answer;
      try {
        answer = protocol.benchReadAnswer(event.data);
      } catch (error) {
        fail(error);
        return;
      }
      if (answer.type === 'Ready') return resolve(answer.compute_threads);
      if (answer.type === 'Progress') return noteStage(answer.request_id, answer.stage);
      if (answer.type === 'Frame') {
        framesSeen.set(answer.request_id, (framesSeen.get(answer.request_id) ?? 0) + 1);
        if (!firstFrameAt.has(answer.request_id)) firstFrameAt.set(answer.request_id, arrivedAt);
        if (!answer.stage.startsWith('preview') && !firstOwnFrameAt.has(answer.request_id)) firstOwnFrameAt.set(answer.request_id, arrivedAt);
        return;
      }
      if (answer.type === 'Failed' && answer.request_id == null) return reject(new Error(answer.message));
      const waiter = pending.get(answer.request_id);
      if (waiter) { pending.delete(answer.request_id); waiter({ ...answer, arrivedAt }); }
    };
  });
}

/** Intermediate projection frames received per request (progressive display), and when
 *  the first of them reached this page (performance.now()). */
const framesSeen = new Map();
const firstFrameAt = new Map();
/** The first frame of the projection itself (not the preview of the rows sent while the
 *  neighbours are searched). */
const firstOwnFrameAt = new Map();

/** Time per stage of each request, from its progress messages: request_id ->
 *  { lastAt, times }. A progress message reports a finished step, so the time since the
 *  previous message (or since the request was sent) is the step's and goes to its stage. */
const stageClocks = new Map();
function startStageClock(requestId) {
  stageClocks.set(requestId, { lastAt: performance.now(), times: {} });
}
function noteStage(requestId, stage) {
  const clock = stageClocks.get(requestId);
  if (!clock) return;
  const now = performance.now();
  clock.times[stage] = (clock.times[stage] ?? 0) + now - clock.lastAt;
  clock.lastAt = now;
}

/** Wall milliseconds spent in each stage of a request (see `stageClocks`), with the time
 *  after its last progress message up to `endedAt` as 'after last progress'. */
function stageTimes(requestId, endedAt) {
  const clock = stageClocks.get(requestId);
  stageClocks.delete(requestId);
  if (!clock) return {};
  const times = { ...clock.times, 'after last progress': endedAt - clock.lastAt };
  return Object.fromEntries(Object.entries(times).map(([stage, ms]) => [stage, Math.round(ms)]));
}

/** Sends the request `build(request_id)` makes (one of the protocol client's `bench*`
 *  builders) and resolves to its answer as `benchReadAnswer` reads it, with `arrivedAt`. */
function request(build) {
  const requestId = nextRequestId++;
  const message = build(requestId);
  startStageClock(requestId);
  return new Promise((resolve) => {
    pending.set(requestId, resolve);
    worker.postMessage(message);
  });
}

/** Resolves to the next answer to `requestId` (after its first one: a graph's request ends
 *  with its layer's norms when they were not summarised yet), with `arrivedAt`. */
function nextAnswer(requestId) {
  return new Promise((resolve) => pending.set(requestId, resolve));
}

/** Waits for a graph's request to end (its layer's norms follow the graph when they were not
 *  summarised yet), so that the next request starts on an idle worker; the milliseconds
 *  from `started` to the norms, or null when they came with the graph. */
async function graphRequestEnd(requestId, graph, started) {
  if (!graph.norms_pending) return null;
  const norms = expect(await nextAnswer(requestId), 'Other', `norms of request ${requestId}`);
  return norms.arrivedAt - started;
}

/** The answer, or an error naming `what` and why it failed. */
function expect(answer, type, what) {
  if (answer.type !== type) throw new Error(`${what}: ${answer.message ?? answer.answer ?? answer.type}`);
  return answer;
}

/** Parses the files the driver put in #bench-files (it writes them to disk: a page cannot
 *  build a 600 MB Blob reliably), each timed by the worker. */
async function parseSuite() {
  const input = document.getElementById('bench-files');
  const files = input.files.length ? [...input.files] : await new Promise((resolve) => input.addEventListener('change', () => resolve([...input.files]), { once: true }));
  const results = [];
  for (const file of files) {
    try {
      results.push(await timeParse(file, `parse ${file.name}`));
    } catch (error) {
      results.push({ name: `parse ${file.name}`, error: String(error) });
    }
  }
  return results;
}

/** Milliseconds the browser takes to read `file` with the calls our worker makes and no
 *  parsing (public/bench-read-worker.js): the ceiling the parse is measured against. */
function timeRawRead(file) {
  const reader = new Worker('./bench-read-worker.js');
  return new Promise((resolve, reject) => {
    reader.onmessage = (event) => { reader.terminate(); resolve(event.data.read_ms); };
    reader.onerror = (event) => { reader.terminate(); reject(new Error(`raw read of ${file.name}: ${event.message}`)); };
    reader.postMessage({ file });
  });
}

async function timeParse(file, name) {
  const rawReadMs = await timeRawRead(file);
  const started = performance.now();
  const answer = expect(await request((id) => protocol.benchLoadFiles(id, [file])), 'Loaded', file.name);
  const wallMs = answer.arrivedAt - started;
  const result = {
    name, bytes: file.size, worker_ms: answer.elapsed_ms, wall_ms: wallMs,
    mb_per_s: file.size / 1e6 / (answer.elapsed_ms / 1e3),
    raw_read_ms: rawReadMs, raw_read_mb_per_s: file.size / 1e6 / (rawReadMs / 1e3),
  };
  log(JSON.stringify(result));
  return result;
}

/** The mapper on the synthetic activation-like data of peers.md (the same generator as
 *  `topoact synth`), app defaults: L2 lens, 30 intervals, 30 % overlap, eps = median
 *  5th-NN distance (searched), min_samples 5; uniform and balanced covers. */
async function mapperSuite() {
  const sizes = (new URLSearchParams(location.search).get('sizes') || '50000x256,20000x1024')
    .split(',').map((size) => size.split('x').map(Number));
  const results = [];
  for (const [n, dim] of sizes) {
    expect(await request((id) => protocol.benchLoadSynthetic(id, n, dim, 0, 1)), 'Loaded', `synthetic ${n}x${dim}`);
    // `?covers=uniform` maps with one cover only (the app's default is uniform).
    const covers = (new URLSearchParams(location.search).get('covers') || 'uniform,balanced').split(',');
    for (const cover of covers) {
      const started = performance.now();
      const requestId = nextRequestId;
      const graph = expect(await request((id) => protocol.benchComputeGraph(id, 'synthetic', n, cover)), 'Graph', `mapper ${n}x${dim} ${cover}`);
      const wallMs = graph.arrivedAt - started;
      const result = {
        name: `mapper ${n}x${dim} ${cover}`, n, dim, cover, mapper_ms: graph.mapper_ms, layout_ms: graph.layout_ms,
        wall_ms: wallMs, nodes: graph.n_nodes, edges: graph.n_edges, eps: graph.eps_global,
        stages_ms: stageTimes(requestId, started + wallMs),
      };
      result.norms_after_ms = await graphRequestEnd(requestId, graph, started);
      log(JSON.stringify(result));
      results.push(result);
    }
  }
  return results;
}

/** Loads a classic script (the driver serves /vendor/ from node_modules). */
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src} (run the page through benches/browser-bench.mjs)`));
    document.head.append(script);
  });
}

/** Our layout (in the worker) against d3-force with TopoAct's settings (on this page, same
 *  browser run) on the seeded synthetic mapper-like graphs; both drawings are measured by
 *  the same core code (normalised stress, node overlaps, edge crossings). */
async function layoutSuite() {
  for (const name of ['d3-dispatch', 'd3-quadtree', 'd3-timer', 'd3-force']) await loadScript(`./vendor/${name}.min.js`);
  const sizes = (new URLSearchParams(location.search).get('sizes') || '1000,10000').split(',').map(Number);
  const results = [];
  for (const n of sizes) {
    const started = performance.now();
    const graph = expect(await request((id) => protocol.benchSyntheticGraph(id, n, 0)), 'Graph', `layout ${n}`);
    const wallMs = graph.arrivedAt - started;
    const ours = graph.positions;
    // d3-force as TopoAct configured it: default link force, charge -5, centre; 300 ticks.
    const nodes = graph.positions.map((_, index) => ({ index }));
    const links = graph.links.map(([source, target]) => ({ source, target }));
    const d3Started = performance.now();
    const simulation = d3.forceSimulation(nodes)
      .force('link', d3.forceLink(links))
      .force('charge', d3.forceManyBody().strength(-5))
      .force('center', d3.forceCenter(0, 0))
      .stop();
    const ticks = Math.ceil(Math.log(simulation.alphaMin()) / Math.log(1 - simulation.alphaDecay()));
    simulation.tick(ticks);
    const d3Ms = performance.now() - d3Started;
    const d3Positions = nodes.map((node) => [node.x, node.y]);
    const measure = async (positions) => expect(await request((id) => protocol.benchMeasureLayout(id, n, 0, new Float64Array(positions.flat()))), 'LayoutMeasured', `measure ${n}`).quality;
    const result = {
      name: `layout ${n} nodes`, n_nodes: n, n_edges: graph.links.length,
      ours: { layout_ms: graph.layout_ms, wall_ms: wallMs, ...(await measure(ours)) },
      d3_force: { layout_ms: d3Ms, ticks, ...(await measure(d3Positions)) },
    };
    result.time_ratio_d3_over_ours = result.d3_force.layout_ms / result.ours.layout_ms;
    result.stress_ratio_d3_over_ours = result.d3_force.normalized_stress / result.ours.normalized_stress;
    log(JSON.stringify(result));
    results.push(result);
  }
  return results;
}

/** Reads a float32 C-order .npy (as `topoact synth` writes it): [rows, cols, Float32Array]. */
async function readNpyF32(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const headerLength = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  const [rows, cols] = header.match(/'shape': \((\d+), (\d+)\)/).slice(1).map(Number);
  const data = new Float32Array(bytes.buffer.slice(10 + headerLength, 10 + headerLength + rows * cols * 4));
  return [rows, cols, data];
}

/** Our UMAP and t-SNE (worker) and umap-js (this page) on the same activation-like files. */
async function embedSuite() {
  await loadScript('./vendor/umap-js.min.js');
  const input = document.getElementById('bench-files');
  const files = input.files.length ? [...input.files] : await new Promise((resolve) => input.addEventListener('change', () => resolve([...input.files]), { once: true }));
  const results = [];
  for (const file of files) {
    const loaded = expect(await request((id) => protocol.benchLoadFiles(id, [file])), 'Loaded', file.name);
    const layer = loaded.layers[0];
    const n = loaded.n_samples;
    const ours = {};
    // `?methods=umap` runs only UMAP (t-SNE on 300K takes long).
    const methods = (new URLSearchParams(location.search).get('methods') || 'umap,tsne').split(',');
    // UMAP: 20 neighbours, min_dist 0.01; t-SNE: perplexity 50 (TopoAct's settings).
    for (const name of ['umap', 'tsne'].filter((name) => methods.includes(name))) {
      const started = performance.now();
      const requestId = nextRequestId;
      const answer = expect(await request((id) => protocol.benchComputeProjection(id, layer, n, name)), 'Projection', `${name} ${n}`);
      // first_frame_ms: from the request to the first intermediate frame's arrival on this
      // page (the app draws a frame as it arrives), null when the job posted none.
      ours[name] = {
        wall_ms: answer.arrivedAt - started, worker_ms: answer.elapsed_ms, knn_ms: answer.knn_ms,
        knn_exact: answer.knn_exact, frames: framesSeen.get(requestId) ?? 0,
        first_frame_ms: firstFrameAt.has(requestId) ? firstFrameAt.get(requestId) - started : null,
        first_projection_frame_ms: firstOwnFrameAt.has(requestId) ? firstOwnFrameAt.get(requestId) - started : null,
      };
      log(JSON.stringify({ n, method: name, ...ours[name] }));
    }
    let umapJs = null;
    // The UMAP peers run only when UMAP is measured (`?methods=tsne` is t-SNE alone), and
    // not at all with `?peers=none` (comparing two builds of ours).
    const peers = new URLSearchParams(location.search).get('peers') !== 'none';
    if (peers && n <= 20000 && methods.includes('umap')) {
      const [rows, cols, data] = await readNpyF32(file);
      const vectors = Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * cols, (i + 1) * cols)));
      let state = 1;
      const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
      const started = performance.now();
      new UMAP.UMAP({ nNeighbors: 20, minDist: 0.01, random }).fit(vectors);
      umapJs = { wall_ms: performance.now() - started };
      log(JSON.stringify({ n, method: 'umap-js', ...umapJs }));
    }
    // Embedding Atlas 0.26's UMAP (Rust -> WASM; NN-descent, then its layout), same
    // neighbours and min_dist, on the CPU (its WebGPU path is off by default).
    let atlas = null;
    if (peers && n <= 50000 && methods.includes('umap')) {
      try {
        const { createUMAP } = await import('./vendor/embedding-atlas/umap.js');
        const [rows, cols, data] = await readNpyF32(file);
        const started = performance.now();
        const umap = await createUMAP(rows, cols, 2, data, { nNeighbors: 20, minDist: 0.01, seed: 0 });
        await umap.run();
        atlas = { wall_ms: performance.now() - started, epochs: umap.epoch };
        umap.destroy?.();
      } catch (error) {
        atlas = { error: String(error) };
      }
      log(JSON.stringify({ n, method: 'embedding-atlas', ...atlas }));
    }
    const result = { name: `embed ${n}x256 activation-like`, n, dim: 256, ours, umap_js_1_4: umapJs, embedding_atlas_0_26: atlas };
    if (umapJs && ours.umap) result.umap_js_over_ours = umapJs.wall_ms / ours.umap.wall_ms;
    if (atlas?.wall_ms && ours.umap) result.embedding_atlas_over_ours = atlas.wall_ms / ours.umap.wall_ms;
    results.push(result);
  }
  return results;
}

/** Multilayer mode's cost: three synthetic activation-like layers of 50K x 256 (default),
 *  each graph computed and laid out as the app does with its defaults, one after another;
 *  then the comparison of all three (graphs without layout, norms). */
async function multilayerSuite() {
  const [n, dim] = (new URLSearchParams(location.search).get('sizes') || '50000x256').split('x').map(Number);
  const loaded = expect(await request((id) => protocol.benchLoadSynthetic(id, n, dim, 0, 3)), 'Loaded', `synthetic ${n}x${dim}x3`);
  const results = [];
  const started = performance.now();
  for (const layer of loaded.layers) {
    const layerStarted = performance.now();
    const requestId = nextRequestId;
    const graph = expect(await request((id) => protocol.benchComputeGraph(id, layer, undefined, 'uniform')), 'Graph', `graph of ${layer}`);
    const result = {
      name: `multilayer graph ${layer} ${n}x${dim}`, layer, n, dim, mapper_ms: graph.mapper_ms, layout_ms: graph.layout_ms,
      wall_ms: graph.arrivedAt - layerStarted, nodes: graph.n_nodes, edges: graph.n_edges,
    };
    result.norms_after_ms = await graphRequestEnd(requestId, graph, layerStarted);
    log(JSON.stringify(result));
    results.push(result);
  }
  results.push({ name: `multilayer three graphs ${n}x${dim}`, wall_ms: performance.now() - started });
  log(JSON.stringify(results.at(-1)));
  const compareStarted = performance.now();
  const comparison = expect(await request((id) => protocol.benchCompareLayers(id, undefined)), 'LayerComparison', 'comparison');
  results.push({ name: `layer comparison 3 x ${n}x${dim}`, wall_ms: comparison.arrivedAt - compareStarted, nodes: comparison.n_nodes });
  log(JSON.stringify(results.at(-1)));
  return results;
}

/** The peak-memory case: the synthetic N x D set (default 300K x 1024) generated in the
 *  worker, mapped on all rows (uniform cover, eps searched), then projected with UMAP on all
 *  rows, as a person would in one tab; the driver reads the renderer's peak memory after. */
async function mapperUmapSuite() {
  const [n, dim] = (new URLSearchParams(location.search).get('sizes') || '300000x1024').split('x').map(Number);
  const loadStarted = performance.now();
  expect(await request((id) => protocol.benchLoadSynthetic(id, n, dim, 0, 1)), 'Loaded', `synthetic ${n}x${dim}`);
  const loadMs = performance.now() - loadStarted;
  const started = performance.now();
  const graphRequestId = nextRequestId;
  const graph = expect(await request((id) => protocol.benchComputeGraph(id, 'synthetic', n, 'uniform')), 'Graph', `mapper ${n}x${dim}`);
  const mapperWallMs = graph.arrivedAt - started;
  await graphRequestEnd(graphRequestId, graph, started);
  const umapStarted = performance.now();
  const requestId = nextRequestId;
  const umap = expect(await request((id) => protocol.benchComputeProjection(id, 'synthetic', n, 'umap')), 'Projection', `umap ${n}x${dim}`);
  const result = {
    name: `mapper + umap ${n}x${dim}`, n, dim, load_ms: loadMs, mapper_wall_ms: mapperWallMs, nodes: graph.n_nodes, edges: graph.n_edges,
    umap_wall_ms: umap.arrivedAt - umapStarted, umap_first_frame_ms: firstFrameAt.has(requestId) ? firstFrameAt.get(requestId) - umapStarted : null,
    wall_ms: umap.arrivedAt - started,
  };
  log(JSON.stringify(result));
  return [result];
}

const SUITES = { 'mapper-umap': mapperUmapSuite, parse: parseSuite, mapper: mapperSuite, layout: layoutSuite, embed: embedSuite, multilayer: multilayerSuite };

async function main() {
  const suiteName = new URLSearchParams(location.search).get('suite') || 'parse';
  const suite = SUITES[suiteName];
  if (!suite) throw new Error(`unknown suite '${suiteName}'; known: ${Object.keys(SUITES).join(', ')}`);
  await initProtocol();
  if (typeof protocol.benchReadAnswer !== 'function') {
    throw new Error('this build has no benchmark client: build with TOPOACT_BENCH=1 tools/build.sh (tools/bench.sh does)');
  }
  const computeThreads = await startWorker();
  const results = await suite();
  const report = {
    suite: suiteName, user_agent: navigator.userAgent, hardware_concurrency: navigator.hardwareConcurrency,
    cross_origin_isolated: self.crossOriginIsolated, compute_threads: computeThreads, results,
  };
  document.getElementById('result').textContent = JSON.stringify(report, null, 2);
  window.__benchResult = report;
}

main().catch(fail);
