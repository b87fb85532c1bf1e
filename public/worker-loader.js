// The compute worker's module. It picks the worker build, initialises its wasm and calls the
// exported `startComputeWorker`, which installs the message handler and posts `Ready`.
//
// - The multi-threaded build (pkg-threads/) needs a cross-origin-isolated page (the host sends
//   Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp):
//   its memory is shared with rayon's pool of Web Workers (wasm-bindgen-rayon).
// - Otherwise, or when that build cannot start, the single-threaded build (pkg/).
// `?threads=N` on this script's address (the page passes its own `threads` parameter) asks
// for N threads; 1 forces the single-threaded build. The default is one per logical core.

const asked = Number.parseInt(new URL(self.location.href).searchParams.get('threads') ?? '', 10);
const wanted = Number.isFinite(asked) && asked > 0 ? Math.min(asked, 64) : Math.max(1, navigator.hardwareConcurrency || 1);

// The protocol's FromWorker::CouldNotStart (src/protocol.rs): the page shows `reason` in its
// banner (src/worker_client.rs).
function fail(error) {
  self.postMessage({ type: 'CouldNotStart', reason: String(error) });
}

async function startThreaded() {
  const pkg = await import('./pkg-threads/worker.js');
  await pkg.default();
  await pkg.initThreadPool(wanted);
  return () => pkg.startComputeWorker(wanted);
}

async function startSingle() {
  const pkg = await import('./pkg/worker.js');
  await pkg.default();
  return () => pkg.startComputeWorker(1);
}

async function start() {
  let begin = null;
  if (wanted > 1 && self.crossOriginIsolated) {
    try {
      begin = await startThreaded();
    } catch (error) {
      console.warn('TopoAct: wasm threads unavailable, computing on one thread:', error);
    }
  }
  if (begin === null) {
    begin = await startSingle();
  }
  begin();
}

start().catch(fail);
