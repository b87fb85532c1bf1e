// End-to-end tests of the app on the hosts people use for static pages:
// - a host that cannot send the cross-origin isolation headers (GitHub Pages) still gets wasm
//   threads, through the app's service worker, after one reload on the first visit;
// - where service workers are blocked the app computes on one thread and says why;
// - a second visit with the network gone opens the app from the service worker's cache, and a
//   dropped file is computed;
// - nothing leaves the machine: every request the page, its workers and the service worker
//   make during a whole session goes to the page's own origin (and, with `?data=<url>`, to
//   that URL's origin only). The browser is put behind a recording proxy that sees every
//   request at the network level, loopback included, so the check does not rely on the
//   browser's own instrumentation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  artifactsDir, cliGraph, demoPath, dropFiles, launchBrowser, npyBytes, npzBytes, startServer, synthRows,
  testId, waitForDataset, waitForGraph,
} from './harness.mjs';

const VIEWPORT = { width: 1400, height: 900 };
let browser;
let reference;

before(async () => {
  browser = await launchBrowser();
  reference = cliGraph([demoPath]);
});

after(async () => {
  await browser?.stop();
});

/** A new browser context (its own profile state, service workers included) and page; records
 *  the page's console errors and its document loads. */
async function freshPage(browserInstance, contextOptions = {}) {
  const context = await browserInstance.newContext({ viewport: VIEWPORT, ...contextOptions });
  const page = await context.newPage();
  const errors = [];
  const navigations = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  // Document loads (a fragment change is a navigation too, but loads nothing).
  page.on('load', () => navigations.push(page.url()));
  return { context, page, errors, navigations };
}

/** What the page says about its isolation and threads, once the demo's graph is drawn. */
async function threadFacts(page) {
  await waitForDataset(page);
  const [nodes, edges] = await waitForGraph(page);
  const facts = await page.evaluate(() => ({
    isolated: self.crossOriginIsolated,
    controlled: navigator.serviceWorker?.controller != null,
    cores: navigator.hardwareConcurrency,
    threads: document.querySelector('[data-testid="compute-threads"]')?.textContent,
    title: document.querySelector('[data-testid="compute-threads"]')?.getAttribute('title'),
    nodeIds: [...document.querySelectorAll('[data-testid="graph-view"] [data-node-id]')].map((n) => n.getAttribute('data-node-id')).sort(),
  }));
  return { ...facts, nodes, edges };
}

function assertDemoGraph(facts) {
  assert.equal(facts.nodes, reference.nodes.length);
  assert.equal(facts.edges, reference.edges.length);
  assert.deepEqual(facts.nodeIds, reference.nodes.map((node) => node.name).sort());
}

/** Waits until the service worker controls the page and has cached the whole app shell. */
async function waitForShellCached(page) {
  await page.waitForFunction(async () => {
    if (!navigator.serviceWorker?.controller) return false;
    const names = await caches.keys();
    const name = names.find((n) => n.startsWith('topoact-shell-'));
    if (!name) return false;
    const keys = await (await caches.open(name)).keys();
    const paths = keys.map((request) => new URL(request.url).pathname);
    return ['index.html', 'app-loader.js', 'worker-loader.js', 'pkg/app_bg.wasm', 'pkg/worker_bg.wasm']
      .every((file) => paths.some((p) => p.endsWith(`/${file}`)));
  }, null, { timeout: 60_000, polling: 250 });
}

/** A small labelled activation file (600 x 16 clustered rows), as an .npz. */
function heldOutFile() {
  const { rows, labels } = synthRows(600, 16, 7);
  return npzBytes({
    act_hidden: npyBytes('<f4', [600, 16], rows),
    labels: npyBytes('<u4', [600], labels),
  });
}

describe('static hosts', () => {
  test('a host without the isolation headers still computes on every core after one reload', async () => {
    const plain = await startServer({ isolation: false });
    const { context, page, errors, navigations } = await freshPage(browser.browser);
    try {
      await page.goto(plain.url);
      const first = await threadFacts(page);
      await page.screenshot({ path: path.join(artifactsDir, 'hosting-no-headers.png') });
      assert.equal(first.isolated, true, 'isolated through the service worker');
      assert.equal(first.controlled, true);
      assert.equal(first.threads, first.cores > 1 ? `${first.cores} threads` : '1 thread');
      assertDemoGraph(first);
      // One reload on the first visit, to come under the service worker; none after.
      assert.equal(navigations.length, 2, navigations.join(' '));
      await page.reload();
      const second = await threadFacts(page);
      assert.equal(second.isolated, true);
      assertDemoGraph(second);
      assert.equal(navigations.length, 3, navigations.join(' '));
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      plain.stop();
    }
  });

  test('where service workers are blocked, the app computes on one thread and says why', async () => {
    const plain = await startServer({ isolation: false });
    const { context, page, errors, navigations } = await freshPage(browser.browser, { serviceWorkers: 'block' });
    try {
      await page.goto(plain.url);
      const facts = await threadFacts(page);
      assert.equal(facts.isolated, false);
      assert.equal(facts.threads, '1 thread');
      assert.match(facts.title, /cross-origin-isolated/);
      assertDemoGraph(facts);
      assert.equal(navigations.length, 1, 'no reload');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      plain.stop();
    }
  });

  test('a second visit with the server gone opens the app, and a dropped file is computed', async () => {
    const server = await startServer();
    const { context, page, errors } = await freshPage(browser.browser);
    let stopped = false;
    try {
      await page.goto(server.url);
      await threadFacts(page);
      await waitForShellCached(page);
      await page.close();
      server.stop();
      stopped = true;
      // The server is gone: nothing answers at its address any more.
      const refused = await fetch(server.url).then(() => false, () => true);
      assert.ok(refused, 'the server no longer answers');

      const offline = await context.newPage();
      const offlineErrors = [];
      offline.on('pageerror', (error) => offlineErrors.push(String(error)));
      await offline.goto(server.url);
      await offline.waitForFunction(() => /thread/.test(document.querySelector('[data-testid="compute-threads"]')?.textContent ?? ''), null, { timeout: 60_000 });
      const file = heldOutFile();
      writeFileSync(path.join(artifactsDir, 'hosting-offline.npz'), file);
      await dropFiles(offline, [{ name: 'offline.npz', bytes: file }]);
      await waitForDataset(offline, 'offline');
      const expected = cliGraph([path.join(artifactsDir, 'hosting-offline.npz')]);
      const [nodes, edges] = await waitForGraph(offline, [expected.nodes.length, expected.edges.length]);
      assert.equal(nodes, expected.nodes.length);
      assert.equal(edges, expected.edges.length);
      await offline.screenshot({ path: path.join(artifactsDir, 'hosting-offline.png') });
      assert.deepEqual(offlineErrors, []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      if (!stopped) server.stop();
    }
  });
});

/** An HTTP proxy on loopback that records every request the browser makes: plain HTTP
 *  requests by absolute URL, HTTPS by the host:port of the tunnel. It forwards only to
 *  loopback addresses (everything in this test is local); anything else is refused. */
function startRecordingProxy() {
  const requests = [];
  const tunnels = [];
  const local = (host) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  const server = http.createServer((request, response) => {
    requests.push({ url: request.url, headers: request.headers });
    let target;
    try {
      target = new URL(request.url);
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (!local(target.hostname)) {
      response.writeHead(403).end();
      return;
    }
    const headers = { ...request.headers };
    delete headers['proxy-connection'];
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: request.method, headers },
      (answer) => {
        answer.on('error', () => response.destroy());
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      },
    );
    // The browser may abort a request mid-way (a navigation, a cancelled fetch): a reset on
    // either side closes the other, never an uncaught error.
    upstream.on('error', () => { if (!response.headersSent) response.writeHead(502); response.end(); });
    request.on('error', () => upstream.destroy());
    response.on('error', () => upstream.destroy());
    request.pipe(upstream);
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  server.on('connect', (request, socket, head) => {
    tunnels.push(request.url);
    const [host, port] = [request.url.slice(0, request.url.lastIndexOf(':')), Number(request.url.slice(request.url.lastIndexOf(':') + 1))];
    if (!local(host)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(port, host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, requests, tunnels, stop: () => server.close() }));
  });
}

/** An HTTPS server on localhost (a self-signed certificate made here) serving one file with
 *  CORS, as a data host would: `https://localhost:<port>/<name>`. */
async function startDataHost(name, bytes) {
  const dir = artifactsDir;
  const key = path.join(dir, 'hosting-data-key.pem');
  const cert = path.join(dir, 'hosting-data-cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const served = [];
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (request, response) => {
    served.push(request.url);
    if (request.url !== `/${name}`) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': bytes.length,
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    });
    response.end(bytes);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ url: `https://localhost:${server.address().port}/${name}`, served, stop: () => server.close() }));
  });
}

/** Chromium itself contacts Google's services while it runs, with or without a page open
 *  (measured: a blank page behind the same proxy for 15 s asks update.googleapis.com for
 *  component updates despite --disable-component-update, accounts.google.com, and during a
 *  session clients2.google.com for network time and content-autofill.googleapis.com). That
 *  traffic is the browser's, not the page's: a plain-HTTP request to those domains is set
 *  aside only without the marks every request from web content carries (a Referer or an
 *  Origin header, Fetch Metadata); an HTTPS tunnel to them (headers unseen) only because the
 *  page-attributed record (playwright's request events for pages, workers and the service
 *  worker) shows no such request. The proxy forwards nothing beyond loopback anyway. */
const isBrowserService = (host) => ['google.com', 'googleapis.com', 'gstatic.com'].some((domain) => host === domain || host.endsWith(`.${domain}`));

const fromWebContent = (headers) => Boolean(headers.referer || headers.origin || headers['sec-fetch-mode']);

describe('privacy', () => {
  test('nothing leaves the machine: every request of a whole session goes to the page\'s own origin', async () => {
    const proxy = await startRecordingProxy();
    const heldOut = heldOutFile();
    const dataHost = await startDataHost('held-out.npz', heldOut);
    // Every request through the proxy, loopback included (Chromium otherwise bypasses proxies
    // for loopback); the data host's certificate is self-signed.
    const proxied = await launchBrowser({ args: [`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>', '--ignore-certificate-errors'] });
    const server = await startServer();
    const origin = new URL(server.url).origin;
    const { context, page, errors } = await freshPage(proxied.browser, { acceptDownloads: true });
    // Every request playwright attributes to a page of this context, its workers or its
    // service worker.
    const contentRequests = [];
    context.on('request', (request) => contentRequests.push(request.url()));
    try {
      // The demo, its graph and its own projection.
      await page.goto(server.url);
      await threadFacts(page);
      // A dropped file, its graph, a UMAP computed in the tab.
      await dropFiles(page, [{ name: 'dropped.npz', bytes: heldOut }]);
      await waitForDataset(page, 'dropped');
      await waitForGraph(page);
      await page.selectOption(testId('projection-method'), 'umap');
      await page.waitForFunction(() => {
        const canvas = document.querySelector('[data-testid="projection-view"]');
        return canvas?.getAttribute('data-complete') === 'true' && !document.querySelector('[data-testid="projection-progress"]')
          && (document.querySelector('[data-testid="projection-stage"]')?.textContent ?? '').includes('UMAP');
      }, null, { timeout: 180_000 });
      // Exports: the graph's picture and the projection's.
      if (!(await page.isVisible(testId('export-graph-png')))) await page.click(testId('export-graph'));
      for (const button of ['export-graph-png', 'export-projection-png']) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(testId(button))]);
        assert.ok((await download.path()) !== null);
      }
      // The demo again, in three-layer mode.
      await page.click(testId('load-demo'));
      await waitForDataset(page, 'Fashion');
      await waitForGraph(page);
      await page.click(testId('mode-multilayer'));
      await page.waitForFunction(() => {
        const summaries = [...document.querySelectorAll('[data-testid="layer-graph"] [data-testid="graph-summary"]')].map((s) => s.textContent);
        return summaries.length === 3 && summaries.every((s) => /^\d+ nodes/.test(s)) && !document.querySelector('[data-testid="progress"]');
      }, null, { timeout: 180_000 });

      // The network's view (the proxy): web content asked only the page's origin; whatever
      // else crossed it is the browser's own service traffic (see isBrowserService).
      const foreignOf = (requests) => requests
        .filter(({ url }) => new URL(url).origin !== origin)
        .filter(({ url, headers }) => fromWebContent(headers) || !isBrowserService(new URL(url).hostname))
        .map(({ url }) => url);
      const tunnelHost = (tunnel) => tunnel.slice(0, tunnel.lastIndexOf(':'));
      assert.ok(proxy.requests.filter(({ url }) => new URL(url).origin === origin).length > 10, `the proxy saw the session (${proxy.requests.length} requests)`);
      assert.deepEqual(foreignOf(proxy.requests), [], 'every request from the page went to its own origin');
      assert.deepEqual(proxy.tunnels.filter((t) => !isBrowserService(tunnelHost(t))), [], 'no HTTPS connection was opened for the page');
      // The browser's view, attributed to the page and its workers (and service worker).
      assert.ok(contentRequests.length > 10);
      assert.deepEqual(contentRequests.filter((url) => !url.startsWith('blob:') && !url.startsWith('data:') && new URL(url).origin !== origin), []);

      // `?data=<url>`: that URL's host, and only for that URL.
      const requestsBefore = proxy.requests.length;
      const tunnelsBefore = proxy.tunnels.length;
      const contentBefore = contentRequests.length;
      const opened = await context.newPage();
      await opened.goto(`${server.url}?data=${encodeURIComponent(dataHost.url)}`);
      await waitForDataset(opened, 'held-out');
      await waitForGraph(opened);
      const dataOrigin = new URL(dataHost.url);
      assert.deepEqual([...new Set(proxy.tunnels.slice(tunnelsBefore).filter((t) => !isBrowserService(tunnelHost(t))))], [`localhost:${dataOrigin.port}`], 'the only HTTPS connection is to the data host');
      assert.deepEqual([...new Set(dataHost.served)], ['/held-out.npz'], 'the data host was asked for that file only');
      assert.deepEqual(foreignOf(proxy.requests.slice(requestsBefore)), []);
      assert.deepEqual([...new Set(contentRequests.slice(contentBefore).filter((url) => new URL(url).origin !== origin))], [dataHost.url]);
      writeFileSync(path.join(artifactsDir, 'hosting-requests.txt'), [...proxy.requests.map(({ url }) => url), ...proxy.tunnels.map((t) => `CONNECT ${t}`), '', '# attributed to the page', ...contentRequests].join('\n'));
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await proxied.stop();
      server.stop();
      proxy.stop();
      dataHost.stop();
    }
  });
});
