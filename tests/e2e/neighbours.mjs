// Reading the demo file in node and the 10-NN preservation measure of the peer checks
// (tests/e2e/peers.test.mjs): the same definition as tools/embed/make_seed_spread.py.
import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';

/** Neighbours per point in the measure. */
export const K = 10;

/** The entries of a zip file (an .npz) by name: { name -> Buffer of the uncompressed bytes }.
 *  Reads the central directory (zip64 sizes and offsets included), then each local header. */
export function readZip(bytes) {
  let end = bytes.length - 22;
  while (end >= 0 && bytes.readUInt32LE(end) !== 0x06054b50) end -= 1;
  assert.ok(end >= 0, 'zip: no end of central directory');
  let count = bytes.readUInt16LE(end + 10);
  let offset = bytes.readUInt32LE(end + 16);
  if (offset === 0xffffffff || count === 0xffff) {
    const locator = end - 20;
    assert.equal(bytes.readUInt32LE(locator), 0x07064b50, 'zip64 end locator');
    const end64 = Number(bytes.readBigUInt64LE(locator + 8));
    count = Number(bytes.readBigUInt64LE(end64 + 32));
    offset = Number(bytes.readBigUInt64LE(end64 + 48));
  }
  const out = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(bytes.readUInt32LE(offset), 0x02014b50, 'zip: central header');
    const method = bytes.readUInt16LE(offset + 10);
    let compressed = bytes.readUInt32LE(offset + 20);
    let size = bytes.readUInt32LE(offset + 24);
    const nameLength = bytes.readUInt16LE(offset + 28);
    const extraLength = bytes.readUInt16LE(offset + 30);
    const commentLength = bytes.readUInt16LE(offset + 32);
    let local = bytes.readUInt32LE(offset + 42);
    const name = bytes.toString('utf8', offset + 46, offset + 46 + nameLength);
    // zip64 extra field: the 64-bit values, in this order, of the fields that are 0xffffffff.
    for (let at = offset + 46 + nameLength; at + 4 <= offset + 46 + nameLength + extraLength;) {
      const id = bytes.readUInt16LE(at);
      const length = bytes.readUInt16LE(at + 2);
      if (id === 0x0001) {
        let field = at + 4;
        if (size === 0xffffffff) { size = Number(bytes.readBigUInt64LE(field)); field += 8; }
        if (compressed === 0xffffffff) { compressed = Number(bytes.readBigUInt64LE(field)); field += 8; }
        if (local === 0xffffffff) { local = Number(bytes.readBigUInt64LE(field)); }
      }
      at += 4 + length;
    }
    assert.equal(bytes.readUInt32LE(local), 0x04034b50, 'zip: local header');
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const raw = bytes.subarray(start, start + compressed);
    const data = method === 0 ? raw : inflateRawSync(raw);
    assert.equal(data.length, size, `zip: size of ${name}`);
    out.set(name, data);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** A float16 value (its bits) as a number. */
function halfToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** A 2-D little-endian float16 .npy matrix as { rows, dim, values: Float64Array }. */
export function readNpyHalfMatrix(bytes) {
  assert.equal(bytes.toString('latin1', 0, 6), '\x93NUMPY');
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  assert.match(header, /'descr': '<f2'/);
  assert.match(header, /'fortran_order': False/);
  const [rows, dim] = header.match(/'shape': \((\d+), (\d+)\)/).slice(1).map(Number);
  const values = new Float64Array(rows * dim);
  for (let i = 0; i < values.length; i++) values[i] = halfToNumber(bytes.readUInt16LE(start + 2 * i));
  return { rows, dim, values };
}

/** The `k` nearest other rows of every row, as Int32Array(n * k): float64 squared distances
 *  summed over the coordinates in index order, ties to the lower index (the fixture's rule).
 *  Each pair is measured once (the square of a difference does not depend on its sign) and
 *  offered to both rows; every row still sees its candidates in increasing index order (those
 *  below it while they are the outer row, then those above it), so an equal distance never
 *  displaces an earlier index. */
export function exactNeighbours(values, n, dim, k = K) {
  const bestD = new Float64Array(n * k).fill(Infinity);
  const bestJ = new Int32Array(n * k).fill(-1);
  const offer = (row, candidate, d) => {
    const base = row * k;
    if (!(d < bestD[base + k - 1])) return;
    let p = k - 1;
    while (p > 0 && bestD[base + p - 1] > d) {
      bestD[base + p] = bestD[base + p - 1];
      bestJ[base + p] = bestJ[base + p - 1];
      p -= 1;
    }
    bestD[base + p] = d;
    bestJ[base + p] = candidate;
  };
  for (let i = 0; i < n; i++) {
    const a = i * dim;
    for (let j = i + 1; j < n; j++) {
      const b = j * dim;
      let d = 0;
      for (let c = 0; c < dim; c++) {
        const diff = values[b + c] - values[a + c];
        d += diff * diff;
      }
      offer(i, j, d);
      offer(j, i, d);
    }
  }
  return bestJ;
}

/** 10-NN preservation of 2-D `coords` (Float64Array, x, y per sample index). */
export function preservation(highNeighbours, coords, n) {
  const low = exactNeighbours(coords, n, 2);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const mine = new Set(low.subarray(i * K, (i + 1) * K));
    for (const j of highNeighbours.subarray(i * K, (i + 1) * K)) if (mine.has(j)) kept += 1;
  }
  return kept / (n * K);
}
