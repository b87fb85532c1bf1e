// In-browser benchmarks: talks to the real compute worker through its protocol, on
// synthetic inputs built here, and publishes the figures as JSON in #result and in
// window.__benchResult (read by benches/browser-bench.mjs).
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };

const worker = new Worker('./worker-loader.js', { type: 'module' });
const pending = new Map();
let nextRequestId = 1;
const ready = new Promise((resolve) => {
  worker.onmessage = (event) => {
    const answer = event.data;
    if (answer.type === 'Ready') return resolve();
    if (answer.type === 'Progress') return;
    const waiter = pending.get(answer.request_id);
    if (waiter) { pending.delete(answer.request_id); waiter(answer); }
  };
});

function request(message, files) {
  const request_id = nextRequestId++;
  return new Promise((resolve) => {
    pending.set(request_id, resolve);
    const payload = { ...message, request_id };
    if (files) payload.files = files;
    worker.postMessage(payload);
  });
}

/** The header of a version-1 .npy file. */
function npyHeader(descr, shape) {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const bytes = new Uint8Array(10 + dict.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(bytes.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) bytes[10 + i] = dict.charCodeAt(i);
  return bytes;
}

/** A .npy File of rows x cols random activation-like values (a 4 MiB block repeated, so the
 *  page never holds the whole file). float16 values are built from their bit patterns. */
function syntheticNpy(rows, cols, dtype) {
  const itemSize = dtype === 'float16' ? 2 : 4;
  const block = new Uint8Array(4 << 20);
  let state = 12345;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 4294967296);
  if (dtype === 'float16') {
    const view = new Uint16Array(block.buffer);
    // ReLU-like: a third zeros, the rest positive values in [2^-4, 4).
    for (let i = 0; i < view.length; i++) view[i] = random() < 0.33 ? 0 : (0x2c00 + Math.floor(random() * 0x1800));
  } else {
    const view = new Float32Array(block.buffer);
    for (let i = 0; i < view.length; i++) view[i] = random() < 0.33 ? 0 : random() * 4;
  }
  const total = rows * cols * itemSize;
  const parts = [npyHeader(dtype === 'float16' ? '<f2' : '<f4', [rows, cols])];
  for (let written = 0; written < total; written += block.length) {
    parts.push(block.subarray(0, Math.min(block.length, total - written)));
  }
  return new File(parts, `synthetic-${rows}x${cols}-${dtype}.npy`);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Update(crc, bytes) {
  let c = crc ^ 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored (uncompressed) ZIP64 .npz holding one `act_<layer>` entry: the npy parts of
 *  `syntheticNpy`, with the CRC-32 computed here. */
async function syntheticNpz(rows, cols, dtype, layer) {
  const npy = syntheticNpy(rows, cols, dtype);
  const name = new TextEncoder().encode(`act_${layer}.npy`);
  const size = npy.size;
  let crc = 0;
  for (let offset = 0; offset < size; offset += 64 << 20) {
    crc = crc32Update(crc, new Uint8Array(await npy.slice(offset, Math.min(size, offset + (64 << 20))).arrayBuffer()));
  }
  const zip64Extra = (withOffset) => {
    const extra = new DataView(new ArrayBuffer(withOffset ? 28 : 20));
    extra.setUint16(0, 0x0001, true);
    extra.setUint16(2, withOffset ? 24 : 16, true);
    extra.setBigUint64(4, BigInt(size), true);
    extra.setBigUint64(12, BigInt(size), true);
    if (withOffset) extra.setBigUint64(20, 0n, true);
    return new Uint8Array(extra.buffer);
  };
  const local = new DataView(new ArrayBuffer(30));
  local.setUint32(0, 0x04034b50, true); local.setUint16(4, 45, true);
  local.setUint32(14, crc, true); local.setUint32(18, 0xffffffff, true); local.setUint32(22, 0xffffffff, true);
  local.setUint16(26, name.length, true); local.setUint16(28, 20, true);
  const localExtra = zip64Extra(false);
  const centralOffset = 30 + name.length + localExtra.length + size;
  const central = new DataView(new ArrayBuffer(46));
  central.setUint32(0, 0x02014b50, true); central.setUint16(4, 45, true); central.setUint16(6, 45, true);
  central.setUint32(16, crc, true); central.setUint32(20, 0xffffffff, true); central.setUint32(24, 0xffffffff, true);
  central.setUint16(28, name.length, true); central.setUint16(30, 28, true); central.setUint32(42, 0xffffffff, true);
  const centralExtra = zip64Extra(true);
  const centralSize = 46 + name.length + centralExtra.length;
  const end64 = new DataView(new ArrayBuffer(56 + 20 + 22));
  end64.setUint32(0, 0x06064b50, true); end64.setBigUint64(4, 44n, true); end64.setUint16(12, 45, true); end64.setUint16(14, 45, true);
  end64.setBigUint64(24, 1n, true); end64.setBigUint64(32, 1n, true); end64.setBigUint64(40, BigInt(centralSize), true);
  end64.setBigUint64(48, BigInt(centralOffset), true);
  end64.setUint32(56, 0x07064b50, true); end64.setBigUint64(64, BigInt(centralOffset + centralSize), true); end64.setUint32(72, 1, true);
  end64.setUint32(76, 0x06054b50, true); end64.setUint16(84, 0xffff, true); end64.setUint16(86, 0xffff, true);
  end64.setUint32(88, 0xffffffff, true); end64.setUint32(92, 0xffffffff, true);
  return new File([local, name, localExtra, npy, central, name, centralExtra, end64], `synthetic-${rows}x${cols}-${dtype}.npz`);
}

async function parseSuite() {
  const cases = [
    { rows: 50_000, cols: 256, dtype: 'float32' },
    { rows: 50_000, cols: 1_000, dtype: 'float32' },
    { rows: 300_000, cols: 1_024, dtype: 'float16' },
  ];
  const results = [];
  for (const { rows, cols, dtype } of cases) {
    const file = syntheticNpy(rows, cols, dtype);
    results.push(await timeParse(file, `parse npy ${rows}x${cols} ${dtype}`));
  }
  const npz = await syntheticNpz(300_000, 1_024, 'float16', 'synthetic');
  results.push(await timeParse(npz, 'parse npz (stored, zip64) 300000x1024 float16'));
  return results;
}

async function timeParse(file, name) {
  {
    const started = performance.now();
    const answer = await request({ type: 'LoadFiles', drop_nonfinite: false }, [file]);
    const wallMs = performance.now() - started;
    if (answer.type !== 'Loaded') throw new Error(`${file.name}: ${answer.type} ${answer.message ?? ''}`);
    const result = {
      name, bytes: file.size, worker_ms: answer.elapsed_ms, wall_ms: wallMs,
      mb_per_s: file.size / 1e6 / (answer.elapsed_ms / 1e3),
    };
    log(JSON.stringify(result));
    return result;
  }
}

/** The mapper on the synthetic activation-like data of peers.md (the same generator as
 *  `topoact synth`), app defaults: L2 lens, 30 intervals, 30 % overlap, eps = median
 *  5th-NN distance (searched), min_samples 5; uniform and balanced covers. */
async function mapperSuite() {
  const sizes = (new URLSearchParams(location.search).get('sizes') || '50000x256,20000x1024')
    .split(',').map((size) => size.split('x').map(Number));
  const results = [];
  for (const [n, dim] of sizes) {
    const loaded = await request({ type: 'LoadSynthetic', n_samples: n, dim, seed: 0 });
    if (loaded.type !== 'Loaded') throw new Error(`synthetic ${n}x${dim}: ${loaded.message ?? loaded.type}`);
    for (const cover of ['uniform', 'balanced']) {
      const params = {
        lens: 'l2_norm', cover, n_intervals: 30, overlap: 0.3,
        epsilon: { knn_quantile: { k: 5, quantile: 0.5, per_interval: false } },
        min_samples: 5, min_intersection: 1, seed: 0,
      };
      const started = performance.now();
      const answer = await request({ type: 'ComputeGraph', request: { layer: 'synthetic', subsample: { size: n, seed: 0 }, params }, previous_positions: [] });
      const wallMs = performance.now() - started;
      if (answer.type !== 'Graph') throw new Error(`mapper ${n}x${dim} ${cover}: ${answer.message ?? answer.type}`);
      const result = {
        name: `mapper ${n}x${dim} ${cover}`, n, dim, cover, mapper_ms: answer.graph.mapper_ms, layout_ms: answer.graph.layout_ms,
        wall_ms: wallMs, nodes: answer.graph.stats.n_nodes, edges: answer.graph.stats.n_edges, eps: answer.graph.eps_global,
      };
      log(JSON.stringify(result));
      results.push(result);
    }
  }
  return results;
}

const SUITES = { parse: parseSuite, mapper: mapperSuite };

async function main() {
  const suiteName = new URLSearchParams(location.search).get('suite') || 'parse';
  const suite = SUITES[suiteName];
  if (!suite) throw new Error(`unknown suite '${suiteName}'; known: ${Object.keys(SUITES).join(', ')}`);
  await ready;
  const results = await suite();
  const report = { suite: suiteName, user_agent: navigator.userAgent, hardware_concurrency: navigator.hardwareConcurrency, results };
  document.getElementById('result').textContent = JSON.stringify(report, null, 2);
  window.__benchResult = report;
}

main().catch((error) => {
  window.__benchResult = { error: String(error) };
  document.getElementById('result').textContent = JSON.stringify(window.__benchResult);
});
