// The parse benchmark's reference: the browser's own read of a dropped file, with the same
// calls the compute worker makes (FileReaderSync over 32 MiB slices, each copied out of its
// ArrayBuffer) and nothing else, so `parse` can report its throughput against the ceiling
// the browser sets for reading that file on this machine, measured in the same run.
const SLICE_BYTES = 32 << 20; // topoact_core::formats::CHUNK_BYTES
onmessage = (event) => {
  const file = event.data.file;
  const reader = new FileReaderSync();
  const copy = new Uint8Array(SLICE_BYTES);
  let checksum = 0;
  const started = performance.now();
  for (let offset = 0; offset < file.size; offset += SLICE_BYTES) {
    const bytes = new Uint8Array(reader.readAsArrayBuffer(file.slice(offset, Math.min(file.size, offset + SLICE_BYTES))));
    copy.set(bytes);
    checksum = (checksum + copy[0] + copy[bytes.length - 1]) | 0;
  }
  postMessage({ read_ms: performance.now() - started, bytes: file.size, checksum });
};
