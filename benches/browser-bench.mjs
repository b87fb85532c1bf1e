// Drives public/bench.html in headless Chromium (the same harness as the e2e tests) and
// prints its JSON report. Build the benchmark variant first (`TOPOACT_BENCH=1 tools/build.sh`:
// the page's protocol client and the layout measure are left out of the default build), or
// use `tools/bench.sh`, which does.
//   node benches/browser-bench.mjs [parse | mapper [NxD,...] | layout [N,...] | render [N] | embed [N,...]]
// `embed` writes activation-like N x 256 data with the native CLI (`topoact synth`), hands the
// same file to our worker (UMAP, t-SNE) and to umap-js on the page (same browser run).
// `layout` compares our layout with d3-force (served to the page from node_modules) in the
// same browser run; `render` opens the app on a synthetic graph and records frame intervals
// while it is zoomed with the wheel and panned by dragging.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { launchBrowser, npyHeader, startServer } from '../tests/e2e/harness.mjs';

/** Activation-like bytes (a third zeros) for `dtype`, one 4 MiB block reused. */
function block(dtype) {
  const bytes = Buffer.alloc(4 << 20);
  let state = 12345;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 4294967296);
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
  const record = async (name, interact) => {
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
      name, n_nodes: n, frames: frames.length, wall_ms: Date.now() - started,
      median_frame_ms: at(0.5), p95_frame_ms: at(0.95), max_frame_ms: intervals[intervals.length - 1],
      fps_at_median: 1000 / at(0.5),
    };
  };
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

const suite = process.argv[2] || 'parse';
// mapper: optional sizes, e.g. `node benches/browser-bench.mjs mapper 20000x1024,50000x256`.
const sizes = process.argv[3];
// BENCH_THREADS=1,auto runs the suite once per entry, each on a fresh page: `1` is the
// single-threaded worker, `auto` one thread per core (the default), a number that many.
const threadRuns = (process.env.BENCH_THREADS || 'auto').split(',').map((t) => t.trim());
const server = await startServer();
const browser = await launchBrowser();
let scratch;
for (const threads of threadRuns) {
try {
  const page = await browser.browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error') console.error(`[page] ${message.text()}`); });
  if (suite === 'render') {
    const results = await renderSuite(page, server.url, Number(sizes || 5000));
    const userAgent = await page.evaluate(() => navigator.userAgent);
    console.log(JSON.stringify({ suite, user_agent: userAgent, results }, null, 2));
  } else {
  await serveVendor(page);
  const sizesQuery = sizes ? `&sizes=${encodeURIComponent(sizes)}` : '';
  const threadsQuery = (threads === 'auto' ? '' : `&threads=${encodeURIComponent(threads)}`)
    + (process.env.BENCH_METHODS ? `&methods=${encodeURIComponent(process.env.BENCH_METHODS)}` : '');
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
    const files = [
      writeNpy(scratch, 50_000, 256, 'float32'),
      writeNpy(scratch, 50_000, 1_000, 'float32'),
      writeNpy(scratch, 300_000, 1_024, 'float16'),
      writeNpz(scratch, 300_000, 1_024, 'float16'),
    ];
    await page.setInputFiles('#bench-files', files);
  }
  const handle = await page.waitForFunction(() => window.__benchResult, null, { timeout: 30 * 60_000, polling: 500 });
  const report = await handle.jsonValue();
  console.log(JSON.stringify(report, null, 2));
  if (report.error) process.exitCode = 1;
  }
  await page.close();
} finally {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}
}
await browser.stop();
server.stop();
