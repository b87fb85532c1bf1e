// The compute worker's module: initialising the wasm runs the worker binary's `main`,
// which installs the message handler and posts `Ready`.
import init from './pkg/worker.js';

init().catch((error) => {
  self.postMessage({ type: 'Failed', request_id: 0, kind: 'Internal', message: 'The compute worker could not start: ' + error });
});
