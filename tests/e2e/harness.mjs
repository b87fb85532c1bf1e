// Shared end-to-end test harness: serves dist/ on a free loopback port, drives Debian's
// Chromium with playwright-core (no browser download), and collects console errors.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const artifactsDir = path.join(repoRoot, 'tests/e2e/artifacts');
mkdirSync(artifactsDir, { recursive: true });

const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
];

/** Starts the static server on dist/ (or `root`); resolves to { url, stop }. With
 *  `isolation: false` it omits the COOP/COEP headers (the page is then not cross-origin
 *  isolated: one compute thread). */
export function startServer({ isolation = true, root = 'dist' } = {}) {
  return new Promise((resolve, reject) => {
    const args = ['tools/serve.py', '--root', root, '--port', '0', ...(isolation ? [] : ['--no-isolation'])];
    const server = spawn('python3', args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    server.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = buffered.match(/Serving TopoAct at (http:\/\/[^\s]+)/);
      if (match) resolve({ url: match[1], stop: () => server.kill() });
    });
    server.on('exit', (code) => reject(new Error(`static server exited with ${code}`)));
  });
}

/** Launches Chromium (playwright gives it a fresh temporary profile); resolves to { browser, stop }. */
export async function launchBrowser() {
  // CHROMIUM_EXTRA_ARGS (space-separated) is for diagnosing benchmarks, e.g. V8's tiering.
  const extra = (process.env.CHROMIUM_EXTRA_ARGS || '').split(' ').filter(Boolean);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extra] });
  return { browser, stop: () => browser.close() };
}

/** Opens a page and records its console errors and uncaught exceptions. */
export async function openPage(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('worker', (worker) => worker.on('console', (message) => { if (message.type() === 'error') errors.push(`[worker] ${message.text()}`); }));
  await page.goto(url);
  return { page, errors };
}

/** Bytes of a .npy file header (version 1.0) for a C-order little-endian matrix. */
export function npyHeader(descr, shape) {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const header = Buffer.alloc(10 + dict.length);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = 1; header[7] = 0;
  header.writeUInt16LE(dict.length, 8);
  header.write(dict, 10, 'latin1');
  return header;
}

/** A small float32 .npy matrix whose values follow a simple pattern. */
export function smallNpy(rows, cols) {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 0.37) + (i % cols) * 0.01;
  return Buffer.concat([npyHeader('<f4', [rows, cols]), Buffer.from(values.buffer)]);
}

/** Drops in-memory files on the page's drop zone through a real DataTransfer. */
export async function dropFiles(page, files) {
  const payload = files.map(({ name, bytes }) => ({ name, data: Array.from(bytes) }));
  await page.evaluate((payload) => {
    const transfer = new DataTransfer();
    for (const { name, data } of payload) transfer.items.add(new File([new Uint8Array(data)], name));
    const zone = document.querySelector('[data-testid="drop-zone"]');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, payload);
}

/** Waits until the header names a dataset whose name contains `expected` (any, if omitted). */
export async function waitForDataset(page, expected = '', timeout = 120_000) {
  await page.waitForFunction(
    (expected) => {
      const name = document.querySelector('[data-testid="dataset-name"]')?.textContent ?? '';
      return name !== 'No dataset loaded' && name !== '' && name.includes(expected);
    },
    expected,
    { timeout },
  );
}

/** Writes a .npy of `rows x cols` float32 zeros as a sparse file (instant, any size). */
export function writeSparseNpy(filePath, rows, cols) {
  const header = npyHeader('<f4', [rows, cols]);
  const fd = openSync(filePath, 'w');
  writeSync(fd, header);
  ftruncateSync(fd, header.length + rows * cols * 4);
  closeSync(fd);
  return filePath;
}

/** Runs the native CLI (built by tools/test.sh) and returns its full graph JSON. */
export function cliGraph(args) {
  const out = path.join(artifactsDir, `cli-${args.join('_').replace(/[^\w.-]+/g, '')}.json`);
  const binary = path.join(repoRoot, 'target/release/topoact');
  const result = spawnSync(binary, ['mapper', ...args, '--format', 'graph', '--quiet', '--out', out], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`topoact mapper failed: ${result.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** The demo dataset's path. */
export const demoPath = path.join(repoRoot, 'public/demo/fashion-efficientnet-lite0.npz');

/** Waits until the graph summary says `<nodes> nodes, <edges> edges`; returns [nodes, edges]. */
export async function waitForGraph(page, expected, timeout = 180_000) {
  const handle = await page.waitForFunction(
    (expected) => {
      const text = document.querySelector('[data-testid="graph-summary"]')?.textContent ?? '';
      const match = text.match(/^(\d+) nodes, (\d+) edges/);
      if (!match) return false;
      if (expected && (Number(match[1]) !== expected[0] || Number(match[2]) !== expected[1])) return false;
      return document.querySelector('[data-testid="progress"]') === null && [Number(match[1]), Number(match[2])];
    },
    expected ?? null,
    { timeout },
  );
  return handle.jsonValue();
}

/** CRC-32 (IEEE 802.3, as zip uses) of a buffer. */
function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A .npy file: header plus the raw little-endian data of a typed array. */
export function npyBytes(descr, shape, typed) {
  return Buffer.concat([npyHeader(descr, shape), Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)]);
}

/** A .npy of unicode strings (NumPy's `<U`, UTF-32LE padded to the longest). */
export function unicodeNpy(strings) {
  const width = Math.max(1, ...strings.map((s) => [...s].length));
  const data = new Uint32Array(strings.length * width);
  strings.forEach((s, row) => [...s].forEach((ch, col) => { data[row * width + col] = ch.codePointAt(0); }));
  return npyBytes(`<U${width}`, [strings.length], data);
}

/** An .npz (what `np.savez` writes: a zip of stored .npy entries) of `{ key: npyBuffer }`. */
export function npzBytes(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [key, data] of Object.entries(entries)) {
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(centrals.length / 2, 8); end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** `n x dim` activation-like float32 rows and their labels from the native `topoact synth`
 *  (the benchmarks' data: clustered, class-structured). */
export function synthRows(n, dim, seed) {
  const stem = path.join(artifactsDir, `synth-${n}x${dim}-${seed}`);
  const binary = path.join(repoRoot, 'target/release/topoact');
  const result = spawnSync(binary, ['synth', '--n', String(n), '--dim', String(dim), '--seed', String(seed), '--out', `${stem}.npy`, '--labels-out', `${stem}-labels.npy`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`topoact synth failed: ${result.stderr}`);
  const body = (file) => { const bytes = readFileSync(file); const headerLength = 10 + bytes.readUInt16LE(8); return bytes.subarray(headerLength); };
  const rows = body(`${stem}.npy`);
  const labels = body(`${stem}-labels.npy`);
  return {
    rows: new Float32Array(rows.buffer.slice(rows.byteOffset, rows.byteOffset + rows.length)),
    labels: new Uint32Array(labels.buffer.slice(labels.byteOffset, labels.byteOffset + labels.length)),
  };
}
