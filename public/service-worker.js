// The app's service worker. Two jobs, both for a static host that we do not control:
//
// 1. Cross-origin isolation without the host's help. wasm threads need a cross-origin-isolated
//    page (SharedArrayBuffer), which takes two response headers most static hosts (GitHub
//    Pages, for one) cannot send: Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy.
//    This worker re-serves the app's own files with those headers added, so once it controls
//    the page (after one reload, see app-loader.js) the compute worker runs on every core.
// 2. Offline after the first visit. The app shell (the page, its scripts, styles and
//    WebAssembly) is cached when the worker installs, the demo when it is first fetched; a
//    later visit is served from that cache, with or without a network. Data the person opens
//    (dropped files, `?data=` addresses) is never cached.
//
// The cache belongs to one build: tools/build.sh writes the build's file list and a hash of
// its contents below, so a new build is a new worker (browsers compare its bytes on every
// visit) with a new cache, and the old cache is deleted when it takes over.
//
// Only same-origin GET requests are touched; everything else goes to the network as if this
// worker did not exist. Nothing here contacts any other origin.

// tools/build.sh replaces the two lines below (the unbuilt file caches nothing).
const BUILD = 'unbuilt';
const SHELL_FILES = [];

const CACHE = `topoact-shell-${BUILD}`;
// Cached when first fetched, not when the worker installs (24 MB the page may never open).
const LAZY_DIRECTORIES = ['demo/'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One by one, so that a file that fails (a host's hiccup) costs only that file; the
    // headers (job 1) must work even when caching does not.
    await Promise.all(SHELL_FILES.map(async (path) => {
      try {
        const response = await fetch(new Request(path, { cache: 'reload' }));
        if (response.status === 200) await cache.put(new URL(path, self.registration.scope).href, response);
      } catch {
        // Left to the network.
      }
    }));
    // Takes over at once: it only adds headers and a cache, so a page served by the
    // previous version loses nothing.
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('topoact-shell-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** The path of `url` relative to this worker's scope, or null outside it. */
function scopedPath(url) {
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  return url.pathname.slice(scope.pathname.length);
}

/** The cache key of a request for the app's own files, or null for anything else. A
 *  navigation is the page itself whatever its query (`?data=`) or fragment (the link); the
 *  worker loader's `?threads=` is the one query a shell file is asked with. */
function shellKey(request, url, path) {
  const scope = self.registration.scope;
  if (request.mode === 'navigate') {
    return path === '' || path === 'index.html' ? new URL('index.html', scope).href : null;
  }
  if (url.search !== '' && path !== 'worker-loader.js') return null;
  const known = SHELL_FILES.includes(path) || LAZY_DIRECTORIES.some((directory) => path.startsWith(directory));
  return known ? new URL(path, scope).href : null;
}

/** The same response with the isolation headers added (the body is streamed, not copied). */
function isolated(response) {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) {
    return response;
  }
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function respond(event, key) {
  const request = event.request;
  if (key !== null) {
    const cached = await caches.match(key, { cacheName: CACHE });
    if (cached) return isolated(cached);
  }
  const response = await fetch(request);
  if (key !== null && response.status === 200) {
    const copy = response.clone();
    event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)).catch(() => {}));
  }
  return isolated(response);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  const path = scopedPath(url);
  if (path === null) return;
  // A range request (media seeking) passes through untouched; the app makes none.
  if (request.headers.has('range')) return;
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(respond(event, shellKey(request, url, path)));
});
