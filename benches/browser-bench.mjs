// Drives public/bench.html in headless Chromium (the same harness as the e2e tests) and
// prints its JSON report. Build the benchmark variant first (`TOPOACT_BENCH=1 tools/build.sh`:
// the page's protocol client and the layout measure are left out of the default build), or
// use `tools/bench.sh`, which does.
//   node benches/browser-bench.mjs [parse [FILES] | mapper [NxD,...] | mapper-umap [NxD] | layout [N,...]
//                                   | render [N] | render-projection [N] | embed [N,...]]
// `parse` takes an optional list of files to write, `kind:NxD:dtype` (kind npy or npz, dtype
// float16 or float32), e.g. `npz:300000x1024:float16`; default: the four files below.
// `mapper-umap` maps the synthetic NxD set (all rows) and then projects it with UMAP on the
// same page (the peak-memory row). `render-projection` opens the app on an .npz of N points
// with their own 2-D coordinates (`proj_points_umap`), maps all of them, selects the largest
// node (its members are highlighted in the projection) and records frame intervals while the
// projection canvas is zoomed with the wheel and panned by dragging.
// Every report carries `memory`: the peak resident memory (VmHWM) of each Chromium process
// the driver started (Linux /proc), read before the page closes; each BENCH_THREADS entry
// runs in a browser of its own, so the renderer's peak is that page's.
// BENCH_COVERS=uniform limits the mapper suite's covers (default uniform,balanced).
// BENCH_PEERS=none skips the embed suite's peers on the page (umap-js, Embedding Atlas): for
// comparing two builds of ours (BENCH_DIST) without the peers' minutes.
// `embed` writes activation-like N x 256 data with the native CLI (`topoact synth`), hands the
// same file to our worker (UMAP, t-SNE) and to umap-js on the page (same browser run).
// `layout` compares our layout with d3-force (served to the page from node_modules) in the
// same browser run; `render` opens the app on a synthetic graph and records frame intervals
// while it is zoomed with the wheel and panned by dragging.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { launchBrowser, npyBytes, npyHeader, npzBytes, startServer, waitForDataset, waitForGraph } from '../tests/e2e/harness.mjs';

/** Activation-like bytes (a third zeros) for `dtype`, one 4 MiB block reused. */
function block(dtype) {
  const bytes = Buffer.alloc(4 << 20);
  let state = 12345;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
  if (dtype === 'float16') {
    for (let i = 0; i < bytes.length; i += 2) bytes.writeUInt16LE(random() < 0.33 ? 0 : 0x2c00 + Math.floor(random() * 0x1800), i);
  } else {
    for (let i = 0; i < bytes.length; i += 4) bytes.writeFloatLE(random() < 0.33 ? 0 : random() * 4, i);
  }
  return bytes;
}

/** Writes the npy payload (header + data) to `fd` and returns [bytes written, crc32]. */
function writeNpyPayload(fd, rows, cols, dtype) {
  const header = npyHeader(dtype === 'float16' ? '<f2' : '<f4', [rows, cols]);
  const data = block(dtype);
  let crc = crc32(header);
  writeSync(fd, header);
  const total = rows * cols * (dtype === 'float16' ? 2 : 4);
  for (let written = 0; written < total; written += data.length) {
    const part = data.subarray(0, Math.min(data.length, total - written));
    crc = crc32(part, crc);
    writeSync(fd, part);
  }
  return [header.length + total, crc];
}

function writeNpy(dir, rows, cols, dtype) {
  const file = path.join(dir, `synthetic-${rows}x${cols}-${dtype}.npy`);
  const fd = openSync(file, 'w');
  writeNpyPayload(fd, rows, cols, dtype);
  closeSync(fd);
  return file;
}

/** A stored (uncompressed) ZIP64 .npz with one `act_synthetic` entry. */
function writeNpz(dir, rows, cols, dtype) {
  const file = path.join(dir, `synthetic-${rows}x${cols}-${dtype}.npz`);
  const name = Buffer.from('act_synthetic.npy');
  const fd = openSync(file, 'w');
  const localExtraLength = 20;
  const payloadOffset = 30 + name.length + localExtraLength;
  writeSync(fd, Buffer.alloc(payloadOffset)); // header written after the payload is known
  const [size, crc] = writeNpyPayload(fd, rows, cols, dtype);
  const zip64 = (withOffset) => {
    const extra = Buffer.alloc(withOffset ? 28 : 20);
    extra.writeUInt16LE(0x0001, 0); extra.writeUInt16LE(withOffset ? 24 : 16, 2);
    extra.writeBigUInt64LE(BigInt(size), 4); extra.writeBigUInt64LE(BigInt(size), 12);
    return extra;
  };
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(45, 4); local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(0xffffffff, 18); local.writeUInt32LE(0xffffffff, 22); local.writeUInt16LE(name.length, 26); local.writeUInt16LE(localExtraLength, 28);
  writeSync(fd, Buffer.concat([local, name, zip64(false)]), 0, payloadOffset, 0);
  const centralOffset = payloadOffset + size;
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(45, 4); central.writeUInt16LE(45, 6); central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(0xffffffff, 20); central.writeUInt32LE(0xffffffff, 24); central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(28, 30); central.writeUInt32LE(0xffffffff, 42);
  const centralRecord = Buffer.concat([central, name, zip64(true)]);
  const end = Buffer.alloc(98);
  end.writeUInt32LE(0x06064b50, 0); end.writeBigUInt64LE(44n, 4); end.writeUInt16LE(45, 12); end.writeUInt16LE(45, 14);
  end.writeBigUInt64LE(1n, 24); end.writeBigUInt64LE(1n, 32); end.writeBigUInt64LE(BigInt(centralRecord.length), 40);
  end.writeBigUInt64LE(BigInt(centralOffset), 48);
  end.writeUInt32LE(0x07064b50, 56); end.writeBigUInt64LE(BigInt(centralOffset + centralRecord.length), 64); end.writeUInt32LE(1, 72);
  end.writeUInt32LE(0x06054b50, 76); end.writeUInt16LE(0xffff, 84); end.writeUInt16LE(0xffff, 86);
  end.writeUInt32LE(0xffffffff, 88); end.writeUInt32LE(0xffffffff, 92);
  writeSync(fd, Buffer.concat([centralRecord, end]), 0, centralRecord.length + end.length, centralOffset);
  closeSync(fd);
  return file;
}

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Serves /vendor/<package>.min.js from node_modules/<package>/dist (d3-force and its deps). */
async function serveVendor(page) {
  // Embedding Atlas's UMAP (Rust -> WASM, npm `embedding-atlas`): its ES modules as shipped.
  await page.route('**/vendor/embedding-atlas/*.js', (route) => {
    const name = path.basename(new URL(route.request().url()).pathname);
    if (!/^[\w.-]+\.js$/.test(name)) return route.fulfill({ status: 404 });
    try {
      const body = readFileSync(path.join(repoRoot, 'node_modules/embedding-atlas/dist', name));
      return route.fulfill({ status: 200, contentType: 'text/javascript', body });
    } catch {
      return route.fulfill({ status: 404 });
    }
  });
  await page.route('**/vendor/*.min.js', (route) => {
    const name = path.basename(new URL(route.request().url()).pathname, '.min.js');
    if (!/^[\w-]+$/.test(name)) return route.fulfill({ status: 404 });
    for (const folder of ['dist', 'lib']) {
      try {
        const body = readFileSync(path.join(repoRoot, 'node_modules', name, folder, `${name}.min.js`));
        return route.fulfill({ status: 200, contentType: 'text/javascript', body });
      } catch {
        // try the next folder
      }
    }
    return route.fulfill({ status: 404 });
  });
}

/** Frame intervals of the app's graph view with `n` synthetic nodes while zooming and panning. */
async function renderSuite(page, baseUrl, n) {
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`${baseUrl}?synthetic-graph=${n}`);
  await page.waitForFunction((n) => (document.querySelector('[data-testid="graph-summary"]')?.textContent ?? '').startsWith(`${n} nodes`), n, { timeout: 300_000 });
  const svg = page.locator('[data-testid="graph-view"]');
  await svg.scrollIntoViewIfNeeded();
  const box = await svg.boundingBox();
  const centre = [box.x + box.width / 2, box.y + box.height / 2];
  const record = (name, interact) => recordFrames(page, { name, n_nodes: n }, interact);
  const results = [];
  results.push(await record(`wheel zoom, ${n} nodes`, async () => {
    await page.mouse.move(...centre);
    for (let i = 0; i < 40; i++) { await page.mouse.wheel(0, i < 20 ? -60 : 60); await page.waitForTimeout(16); }
  }));
  results.push(await record(`drag pan, ${n} nodes`, async () => {
    await page.mouse.move(centre[0] - 200, centre[1]);
    await page.mouse.down();
    for (let i = 0; i < 60; i++) { await page.mouse.move(centre[0] - 200 + i * 6, centre[1] + (i % 20) * 3); await page.waitForTimeout(16); }
    await page.mouse.up();
  }));
  return results;
}

/** Frame intervals (requestAnimationFrame timestamps on the page) while `interact` runs:
 *  `fields` plus frames, wall time, median / p95 / max frame ms and fps at the median. */
async function recordFrames(page, fields, interact) {
  await page.evaluate(() => {
    // One recorder per generation: a loop from an earlier recording stops itself.
    const generation = (window.__recordGeneration ?? 0) + 1;
    window.__recordGeneration = generation;
    window.__frames = [];
    const loop = (t) => { if (window.__recordGeneration !== generation) return; window.__frames.push(t); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  });
  const started = Date.now();
  await interact();
  const frames = await page.evaluate(() => { window.__recordGeneration += 1; return window.__frames; });
  const intervals = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => a - b);
  const at = (q) => intervals[Math.min(intervals.length - 1, Math.floor(q * intervals.length))];
  return {
    ...fields, frames: frames.length, wall_ms: Date.now() - started,
    median_frame_ms: at(0.5), p95_frame_ms: at(0.95), max_frame_ms: intervals[intervals.length - 1],
    fps_at_median: 1000 / at(0.5),
  };
}

/** Wheel zoom (20 steps in, 20 out) and drag pan (60 moves) over `locator`'s box. */
async function zoomAndPan(page, locator, what, fields) {
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  const centre = [box.x + box.width / 2, box.y + box.height / 2];
  const step = Math.min(6, (box.width * 0.8) / 60);
  const results = [];
  results.push(await recordFrames(page, { name: `wheel zoom, ${what}`, ...fields }, async () => {
    await page.mouse.move(...centre);
    for (let i = 0; i < 40; i++) { await page.mouse.wheel(0, i < 20 ? -60 : 60); await page.waitForTimeout(16); }
  }));
  results.push(await recordFrames(page, { name: `drag pan, ${what}`, ...fields }, async () => {
    const x0 = centre[0] - step * 30;
    await page.mouse.move(x0, centre[1]);
    await page.mouse.down();
    for (let i = 0; i < 60; i++) { await page.mouse.move(x0 + i * step, centre[1] + (i % 20) * 3); await page.waitForTimeout(16); }
    await page.mouse.up();
  }));
  return results;
}

/** Peak resident memory (VmHWM, Linux /proc) of every Chromium process descending from this
 *  driver, by process type; `renderer_peak_mib` is the largest renderer's (the page, its
 *  compute worker and the worker's thread pool live in one renderer process). */
function chromiumMemory() {
  const parentOf = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const descends = (pid) => { for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf.get(p), hops++) if (p === process.pid) return true; return false; };
  const processes = [];
  for (const pid of parentOf.keys()) {
    if (pid === process.pid || !descends(pid)) continue;
    try {
      // Chromium rewrites its argv: the arguments may be separated by spaces, not NULs.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!/chrom/i.test(cmdline.split(' ')[0])) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (key) => Number((status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm')) ?? [])[1] ?? 0);
      const type = (cmdline.match(/--type=([\w-]+)/) ?? [null, 'browser'])[1];
      processes.push({ pid, type, vm_hwm_mib: Math.round(kib('VmHWM') / 1024), vm_rss_mib: Math.round(kib('VmRSS') / 1024) });
    } catch { /* gone */ }
  }
  const renderers = processes.filter((p) => p.type === 'renderer');
  return {
    method: 'VmHWM from /proc/<pid>/status of the Chromium processes this driver started, read before the page closed',
    renderer_peak_mib: renderers.length ? Math.max(...renderers.map((p) => p.vm_hwm_mib)) : null,
    processes,
  };
}

/** An .npz of `n` points in ten Gaussian blobs: `act_points` (n x 2, the coordinates
 *  themselves, so mapping them is cheap), `labels` (the blob) and `proj_points_umap`. */
function writeProjectionNpz(dir, n) {
  let state = 987654321;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
  const coords = new Float32Array(2 * n);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const blob = i % 10;
    const r = Math.sqrt(-2 * Math.log(1 - random())) * (0.6 + 0.1 * blob);
    const theta = 2 * Math.PI * random();
    coords[2 * i] = 6 * Math.cos(blob * 0.628) + r * Math.cos(theta);
    coords[2 * i + 1] = 6 * Math.sin(blob * 0.628) + r * Math.sin(theta);
    labels[i] = blob;
  }
  const file = path.join(dir, `projection-${n}.npz`);
  writeFileSync(file, npzBytes({
    act_points: npyBytes('<f4', [n, 2], coords),
    labels: npyBytes('<u4', [n], labels),
    proj_points_umap: npyBytes('<f4', [n, 2], coords),
  }));
  return file;
}

/** The app's projection canvas on `n` points with their own coordinates: opened through the
 *  file input, all samples mapped (Samples: all), the largest node selected so its members
 *  are highlighted; then frame intervals during wheel zoom and drag pan on the canvas. */
async function renderProjectionSuite(page, baseUrl, n, dir, threads = 'auto') {
  await page.setViewportSize({ width: 1400, height: 900 });
  // `?threads=N` reaches the compute worker (1: the single-threaded build); drawing is on the
  // UI thread either way, but the mapping of all N points before it is not.
  await page.goto(threads === 'auto' ? baseUrl : `${baseUrl}?threads=${encodeURIComponent(threads)}`);
  await waitForDataset(page);
  const file = writeProjectionNpz(dir, n);
  const started = Date.now();
  await page.setInputFiles('[data-testid="file-input"]', file);
  await waitForDataset(page, `projection-${n}`, 600_000);
  const loadedMs = Date.now() - started;
  await waitForGraph(page, undefined, 1_800_000);
  const pointsShown = (n) => page.waitForFunction((n) => new RegExp(`of ${n} points`).test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''), n, { timeout: 1_800_000 });
  if (n > 50_000) {
    await page.selectOption('[data-testid="param-subsample"]', String(n));
    await waitForGraph(page, undefined, 1_800_000);
  }
  await pointsShown(n);
  const shownMs = Date.now() - started;
  await waitForGraph(page, undefined, 1_800_000);
  const graphSummary = await page.textContent('[data-testid="graph-summary"]');
  const node = await page.evaluate(() => {
    const nodes = [...document.querySelectorAll('[data-testid="graph-view"] .graph-node')];
    nodes.sort((a, b) => Number(b.getAttribute('data-size')) - Number(a.getAttribute('data-size')));
    // The largest node a person can click: on big graphs (1M points, thousands of nodes) the
    // largest may lie under smaller ones, so take the largest that is on top at its centre.
    const onTop = nodes.find((element) => {
      const box = element.getBoundingClientRect();
      return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === element;
    });
    return (onTop ?? nodes[0])?.getAttribute('data-node-id');
  });
  if (!node) throw new Error('no graph node to select');
  await page.click(`[data-testid="graph-view"] [data-node-id="${node}"]`);
  await page.waitForFunction(() => /^[1-9]\d* of \d+ points highlighted/.test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''), null, { timeout: 600_000 });
  const summary = await page.textContent('[data-testid="projection-summary"]');
  await page.click('[data-testid="mode-pan"]');
  const canvas = page.locator('[data-testid="projection-view"]');
  const fields = { n_points: n };
  const results = await zoomAndPan(page, canvas, `projection of ${n} points, a node's members highlighted`, fields);
  return { file_loaded_ms: loadedMs, all_points_shown_ms: shownMs, graph: graphSummary, projection: summary, results };
}

const suite = process.argv[2] || 'parse';
// mapper: optional sizes, e.g. `node benches/browser-bench.mjs mapper 20000x1024,50000x256`.
const sizes = process.argv[3];
// BENCH_THREADS=1,auto runs the suite once per entry, each in a fresh browser: `1` is the
// single-threaded worker, `auto` one thread per core (the default), a number that many.
const threadRuns = (process.env.BENCH_THREADS || 'auto').split(',').map((t) => t.trim());
// BENCH_JSON=compact prints each report on one line (benches/table.mjs reads them).
const printReport = (report) => console.log(process.env.BENCH_JSON === 'compact' ? JSON.stringify(report) : JSON.stringify(report, null, 2));
// BENCH_DIST serves another build folder than dist/ (relative to the repository).
const server = await startServer(process.env.BENCH_DIST ? { root: process.env.BENCH_DIST } : {});
let scratch;
for (const threads of threadRuns) {
const browser = await launchBrowser();
try {
  const page = await browser.browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error') console.error(`[page] ${message.text()}`); });
  if (suite === 'render' || suite === 'render-projection') {
    let report;
    try {
      if (suite === 'render') {
        report = { suite, results: await renderSuite(page, server.url, Number(sizes || 5000)) };
      } else {
        scratch = mkdtempSync(path.join(tmpdir(), 'topoact-bench-'));
        report = { suite, threads_asked: threads, ...(await renderProjectionSuite(page, server.url, Number(sizes || 300_000), scratch, threads)) };
      }
    } catch (error) {
      report = { suite, error: String(error) };
      process.exitCode = 1;
    }
    report.user_agent = await page.evaluate(() => navigator.userAgent);
    report.memory = chromiumMemory();
    printReport(report);
  } else {
  await serveVendor(page);
  const sizesQuery = sizes && suite !== 'parse' ? `&sizes=${encodeURIComponent(sizes)}` : '';
  const threadsQuery = (threads === 'auto' ? '' : `&threads=${encodeURIComponent(threads)}`)
    + (process.env.BENCH_METHODS ? `&methods=${encodeURIComponent(process.env.BENCH_METHODS)}` : '')
    + (process.env.BENCH_COVERS ? `&covers=${encodeURIComponent(process.env.BENCH_COVERS)}` : '')
    + (process.env.BENCH_PEERS === 'none' ? '&peers=none' : '');
  await page.goto(`${server.url}bench.html?suite=${encodeURIComponent(suite)}${sizesQuery}${threadsQuery}`);
  if (suite === 'embed') {
    scratch = mkdtempSync(path.join(tmpdir(), 'topoact-bench-'));
    const files = (sizes || '5000,20000,50000').split(',').map((n) => {
      const file = path.join(scratch, `synthetic-${n}x256.npy`);
      const made = spawnSync(path.join(repoRoot, 'target/release/topoact'), ['synth', '--n', n, '--dim', '256', '--out', file], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`topoact synth failed (build it with cargo build --release -p topoact-cli): ${made.stderr}`);
      return file;
    });
    await page.setInputFiles('#bench-files', files);
  }
  if (suite === 'parse') {
    scratch = mkdtempSync(path.join(tmpdir(), 'topoact-bench-'));
    const specs = sizes ? sizes.split(',') : ['npy:50000x256:float32', 'npy:50000x1000:float32', 'npy:300000x1024:float16', 'npz:300000x1024:float16'];
    const files = specs.map((spec) => {
      const [kind, shape, dtype = 'float16'] = spec.split(':');
      const [rows, cols] = shape.split('x').map(Number);
      if (!['npy', 'npz'].includes(kind) || !['float16', 'float32'].includes(dtype) || !(rows > 0 && cols > 0)) throw new Error(`parse: '${spec}' is not kind:NxD:dtype (npy|npz, float16|float32)`);
      return (kind === 'npz' ? writeNpz : writeNpy)(scratch, rows, cols, dtype);
    });
    await page.setInputFiles('#bench-files', files);
  }
  const handle = await page.waitForFunction(() => window.__benchResult, null, { timeout: 60 * 60_000, polling: 500 });
  const report = await handle.jsonValue();
  report.memory = chromiumMemory();
  printReport(report);
  if (report.error) process.exitCode = 1;
  }
  await page.close();
} finally {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
  await browser.stop();
}
}
server.stop();
