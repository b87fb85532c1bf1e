// Loads the UI thread's WebAssembly. Kept as a file (not inline) so the page's
// Content-Security-Policy can forbid inline scripts.
//
// First it registers the app's service worker (service-worker.js): it keeps the app usable
// offline, and on a host that does not send the cross-origin isolation headers it adds them,
// so wasm threads work there too. That takes one reload on the first visit: a page only
// becomes isolated when its own response carries the headers. Where service workers are
// unavailable (file://, some private windows, a refused registration) the app starts as it is,
// computing on one thread.
import init from './pkg/app.js';

// Set before the one reload, so that a page that is still not isolated after it (a browser
// that ignores the worker's headers, a forced reload that bypassed the worker) starts at once
// instead of reloading again.
const RELOAD_FLAG = 'topoact-isolation-reload';
// How long to wait for a newly registered worker before starting without it.
const READY_TIMEOUT_MS = 4000;

function sessionFlag(action) {
  try {
    if (action === 'get') return sessionStorage.getItem(RELOAD_FLAG) !== null;
    if (action === 'set') sessionStorage.setItem(RELOAD_FLAG, '1');
    if (action === 'clear') sessionStorage.removeItem(RELOAD_FLAG);
  } catch {
    // No storage (a sandboxed frame): treat as already tried, never loop.
    return true;
  }
  return false;
}

/** Registers the service worker; resolves to true when the page is about to reload. */
async function prepareServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return false;
  try {
    await navigator.serviceWorker.register('./service-worker.js', { scope: './' });
  } catch (error) {
    console.warn('TopoAct: no service worker (offline use and threads on this host are off):', error);
    return false;
  }
  if (self.crossOriginIsolated) {
    sessionFlag('clear');
    return false;
  }
  if (sessionFlag('get')) return false;
  const ready = await Promise.race([
    navigator.serviceWorker.ready.then(() => true),
    new Promise((resolve) => setTimeout(() => resolve(false), READY_TIMEOUT_MS)),
  ]);
  if (!ready) return false;
  sessionFlag('set');
  location.reload();
  return true;
}

async function start() {
  const preparing = prepareServiceWorker().catch((error) => {
    console.warn('TopoAct: service worker set-up failed:', error);
    return false;
  });
  // An isolated page starts at once (the worker is then only for offline use); any other
  // waits to know whether it reloads.
  if (!self.crossOriginIsolated && await preparing) return;
  await init();
}

start().catch((error) => {
  const message = document.createElement('p');
  message.setAttribute('role', 'alert');
  message.setAttribute('data-testid', 'fatal-error');
  message.textContent = 'TopoAct could not start: ' + error + '. It needs a browser with WebAssembly (a current Chromium, Firefox or Safari).';
  document.body.appendChild(message);
});
