// Shared end-to-end test harness: serves dist/ on a free loopback port, drives Debian's
// Chromium with playwright-core (no browser download), and collects console errors.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readZip } from './neighbours.mjs';
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

/** The page keeps the person's choice of open or closed panels (the side bar) here. */
export const PANELS_STORAGE_KEY = 'topoact.panels';

/** Launches Chromium (playwright gives it a fresh temporary profile); resolves to { browser, stop }.
 *  `args` are added to the command line (e.g. a proxy). With `openPanels` (the default) every
 *  page starts with the side bar of panels open, as a person who opened it once finds it (the
 *  page remembers the choice in localStorage), so the tests reach the parameters; a page that
 *  closes it keeps it closed. layout.test.mjs turns it off to see the page as a first visit
 *  does. */
export async function launchBrowser({ args = [], openPanels = true } = {}) {
  // CHROMIUM_EXTRA_ARGS (space-separated) is for diagnosing benchmarks, e.g. V8's tiering.
  const extra = (process.env.CHROMIUM_EXTRA_ARGS || '').split(' ').filter(Boolean);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...args, ...extra] });
  if (openPanels) {
    // browser.newPage makes its context through newContext too.
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (options) => {
      const context = await newContext(options);
      await context.addInitScript((key) => {
        try {
          if (localStorage.getItem(key) === null) localStorage.setItem(key, 'open');
        } catch {
          // Storage refused (an opaque origin): the page keeps its default.
        }
      }, PANELS_STORAGE_KEY);
      return context;
    };
  }
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

// ---------------------------------------------------------------------------------------------
// Browser-neutral page objects: the operations the cross-browser tests use, with a Chromium
// backend (playwright-core, as above) and a Firefox backend (Debian's Firefox ESR through
// geckodriver, over WebDriver classic). Selectors are CSS; `testId('x')` is `[data-testid="x"]`.
// `waitForFunction(fn, arg, { timeout })` and `evaluate(fn, arg)` take playwright's argument
// order in both, so the helpers above (`waitForDataset`, `waitForGraph`, `dropFiles`) accept
// either kind of page.
//
// Why not WebDriver BiDi for Firefox: every BiDi session makes Firefox watch worker creation
// (the remote agent's WorkerDebuggerManager listener), and with it Firefox ESR 153 now and then
// (about 1 page load in 50 on a loaded machine) never starts a worker that another worker
// creates, so the compute worker's thread pool never comes up. Without a BiDi session (a user's
// Firefox, or Marionette under geckodriver) not once in 960 loads.

export const testId = (id) => `[data-testid="${id}"]`;

/** Firefox preferences on top of the ones Marionette sets for automation (no updates,
 *  telemetry, safe browsing, ...): every request that is not for loopback goes to a dead
 *  proxy, and the background services that would try the network are off. */
const FIREFOX_PREFS = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.share_proxy_settings': true,
  'network.proxy.allow_hijacking_localhost': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'dom.push.connection.enabled': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'identity.fxaccounts.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.startup.homepage': 'about:blank',
  'browser.backup.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.backup.scheduled.enabled': false,
};

const DEFAULT_VIEWPORT = { width: 1280, height: 800 };

/** Launches `name` ('chromium' or 'firefox'; default $E2E_BROWSER, else 'firefox') and resolves
 *  to { name, newPage(url, { viewport, freshContext }), stop }. Every browser profile is fresh
 *  and temporary. In Firefox every page is a browser of its own (geckodriver, Firefox and
 *  profile), so `freshContext` is always true there. */
export async function launchNeutral(name = process.env.E2E_BROWSER || 'firefox') {
  if (name === 'chromium') {
    const { browser, stop } = await launchBrowser();
    return {
      name,
      async newPage(url, { viewport = DEFAULT_VIEWPORT, freshContext = false } = {}) {
        const context = freshContext ? await browser.newContext({ viewport }) : null;
        const raw = context ? await context.newPage() : await browser.newPage({ viewport });
        const page = new ChromiumPage(name, raw, context);
        await page.goto(url);
        return page;
      },
      stop,
    };
  }
  if (name === 'firefox') {
    // geckodriver serves one session at a time: every page gets its own geckodriver and Firefox.
    const pages = new Set();
    return {
      name,
      async newPage(url, { viewport = DEFAULT_VIEWPORT } = {}) {
        const driver = await GeckoDriver.start();
        let page;
        try {
          page = new FirefoxPage(name, driver, await driver.newSession());
        } catch (error) {
          driver.stop();
          throw error;
        }
        pages.add(page);
        page.onClose = () => pages.delete(page);
        await page.setViewport(viewport);
        await page.goto(url);
        // As with Chromium (launchBrowser's openPanels): the side bar of panels open.
        await page.waitForSelector(testId('panels-toggle'), { timeout: 120_000 });
        await page.evaluate(() => {
          const toggle = document.querySelector('[data-testid="panels-toggle"]');
          if (toggle.getAttribute('aria-expanded') === 'false') toggle.click();
        });
        return page;
      },
      async stop() {
        for (const page of [...pages]) await page.close().catch(() => {});
      },
    };
  }
  throw new Error(`unknown browser ${name}: chromium or firefox`);
}

/** What both backends share; subclasses supply the driver calls. */
class NeutralPage {
  constructor(browserName) {
    this.browserName = browserName;
  }

  /** The page's address, fragment included. */
  url() { return this.evaluate(() => location.href); }

  text(selector) { return this.evaluate((selector) => document.querySelector(selector)?.textContent ?? null, selector); }

  attribute(selector, name) {
    return this.evaluate(([selector, name]) => document.querySelector(selector)?.getAttribute(name) ?? null, [selector, name]);
  }

  count(selector) { return this.evaluate((selector) => document.querySelectorAll(selector).length, selector); }

  /** Waits until `selector` matches ('attached') or matches nothing ('detached'). */
  async waitForSelector(selector, { state = 'attached', timeout = 30_000 } = {}) {
    await this.waitForFunction(
      ([selector, attached]) => (document.querySelector(selector) !== null) === attached,
      [selector, state === 'attached'],
      { timeout },
    );
  }

  /** Sets an input's value as typing would and commits it (`input`, then `change`). */
  async fill(selector, value) {
    await this.evaluate(([selector, value]) => {
      const input = document.querySelector(selector);
      input.focus();
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    }, [selector, value]);
  }

  dropFiles(files) { return dropFiles(this, files); }

  /** Intercepts downloads the page offers (an `<a download>` clicked on a blob: address) and
   *  keeps their text: `takeDownload()` resolves to { name, text } of the next one. */
  async captureDownloads() {
    await this.evaluate(() => {
      if (window.__e2eDownloads) return;
      window.__e2eDownloads = [];
      const blobs = new Map();
      const createObjectURL = URL.createObjectURL;
      URL.createObjectURL = (object) => {
        const url = createObjectURL(object);
        if (object instanceof Blob) blobs.set(url, object);
        return url;
      };
      const click = HTMLElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () {
        const blob = blobs.get(this.href);
        if (!this.download || !blob) return click.call(this);
        const name = this.download;
        window.__e2eDownloads.push(blob.text().then((text) => ({ name, text })));
      };
    });
  }

  async takeDownload(timeout = 30_000) {
    await this.waitForFunction(() => window.__e2eDownloads.length > 0, null, { timeout });
    return this.evaluate(() => window.__e2eDownloads.shift());
  }

  screenshotPath(name) { return path.join(artifactsDir, `${this.browserName}-${name}.png`); }
}

class ChromiumPage extends NeutralPage {
  constructor(browserName, raw, context) {
    super(browserName);
    this.raw = raw;
    this.context = context;
    this.errors = [];
    raw.on('console', (message) => { if (message.type() === 'error') this.errors.push(message.text()); });
    raw.on('pageerror', (error) => this.errors.push(String(error)));
    raw.on('worker', (worker) => worker.on('console', (message) => { if (message.type() === 'error') this.errors.push(`[worker] ${message.text()}`); }));
  }

  /** Console errors and uncaught exceptions of the page and its workers. */
  async consoleErrors() { return [...this.errors]; }
  goto(url) { return this.raw.goto(url); }
  click(selector) { return this.raw.click(selector); }
  setInputFile(selector, filePath) { return this.raw.setInputFiles(selector, filePath); }
  select(selector, value) { return this.raw.selectOption(selector, value); }
  press(key) { return this.raw.keyboard.press(key); }
  evaluate(fn, arg) { return this.raw.evaluate(fn, arg); }
  waitForFunction(fn, arg = null, options = {}) { return this.raw.waitForFunction(fn, arg, options); }
  screenshot(name) { return this.raw.screenshot({ path: this.screenshotPath(name) }); }

  /** Turns the mouse wheel over the middle of `selector`'s element. */
  async wheel(selector, deltaY) {
    const box = await this.raw.locator(selector).boundingBox();
    await this.raw.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await this.raw.mouse.wheel(0, deltaY);
  }

  async close() {
    await this.raw.close();
    await this.context?.close();
  }
}

/** geckodriver on a free loopback port: a minimal client of the W3C WebDriver (classic) API. */
class GeckoDriver {
  static async start() {
    const binary = process.env.GECKODRIVER || 'geckodriver';
    const port = await new Promise((resolve, reject) => {
      const probe = createServer().listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
      probe.on('error', reject);
    });
    // geckodriver's and Firefox's own output goes to a log file beside the screenshots.
    const log = openSync(path.join(artifactsDir, 'firefox-driver.log'), 'a');
    const child = spawn(binary, ['--port', String(port), '--host', '127.0.0.1', '--log', 'error'], { stdio: ['ignore', log, log] });
    closeSync(log);
    let failure = null;
    child.on('error', (error) => { failure = new Error(`${binary} did not start (tools/setup.sh installs it): ${error.message}`); });
    child.on('exit', (code) => { failure ??= new Error(`geckodriver exited with ${code}`); });
    const driver = new GeckoDriver(child, `http://127.0.0.1:${port}`);
    for (let attempt = 0; ; attempt++) {
      if (failure) throw failure;
      try {
        await driver.command('GET', '/status');
        return driver;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  constructor(child, base) {
    this.child = child;
    this.base = base;
  }

  async command(method, route, body) {
    const response = await fetch(`${this.base}${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const { value } = await response.json();
    if (!response.ok) {
      const error = new Error(`WebDriver ${method} ${route}: ${value?.error}: ${value?.message}`);
      error.code = value?.error;
      throw error;
    }
    return value;
  }

  /** A new Firefox (headless, a fresh temporary profile); resolves to the session's id. */
  async newSession() {
    const { sessionId } = await this.command('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'firefox',
          pageLoadStrategy: 'normal',
          unhandledPromptBehavior: 'dismiss',
          timeouts: { script: 600_000, pageLoad: 120_000, implicit: 0 },
          'moz:firefoxOptions': {
            binary: process.env.FIREFOX || '/usr/bin/firefox-esr',
            args: ['-headless'],
            prefs: FIREFOX_PREFS,
            // No crash reporter: it would try to send its pings (and fail, loopback only).
            env: { MOZ_CRASHREPORTER_DISABLE: '1', MOZ_CRASHREPORTER: '0' },
            log: { level: 'error' },
          },
        },
      },
    });
    return sessionId;
  }

  stop() { this.child.kill(); }
}

const WEBDRIVER_KEYS = { Escape: '\uE00C', Enter: '\uE007', Tab: '\uE004' };
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

class FirefoxPage extends NeutralPage {
  constructor(browserName, driver, sessionId) {
    super(browserName);
    this.driver = driver;
    this.session = `/session/${sessionId}`;
    this.onClose = () => {};
  }

  command(method, route, body) { return this.driver.command(method, `${this.session}${route}`, body); }

  /** Sizes the window so that the page's viewport is `width` x `height`. */
  async setViewport({ width, height }) {
    await this.command('POST', '/window/rect', { width, height });
    const inner = await this.evaluate(() => [window.innerWidth, window.innerHeight]);
    await this.command('POST', '/window/rect', { width: 2 * width - inner[0], height: 2 * height - inner[1] });
  }

  /** Navigates and starts recording console errors, uncaught exceptions and unhandled
   *  rejections of the page (WebDriver classic has no console events; the compute worker's
   *  failures reach the page as the app's error banner). */
  async goto(url) {
    await this.command('POST', '/url', { url });
    await this.installErrorHooks().catch((error) => {
      // The service worker's first-visit reload; waitForFunction installs them again.
      if (!/Document was unloaded/.test(String(error))) throw error;
    });
  }

  /** Records the document's console errors and uncaught exceptions (again after a reload). */
  async installErrorHooks() {
    await this.evaluate(() => {
      if (window.__e2eErrors) return;
      window.__e2eErrors = window.__e2eErrors ?? [];
      const error = console.error.bind(console);
      console.error = (...args) => { window.__e2eErrors.push(args.map(String).join(' ')); error(...args); };
      window.addEventListener('error', (event) => window.__e2eErrors.push(String(event.error ?? event.message)));
      window.addEventListener('unhandledrejection', (event) => window.__e2eErrors.push(String(event.reason)));
    });
  }

  consoleErrors() { return this.evaluate(() => window.__e2eErrors ?? []); }

  /** Runs `fn(arg)` in the page (awaiting a returned promise); resolves to its JSON value. */
  async evaluate(fn, arg = null) {
    const script = `const [arg, done] = arguments;
      Promise.resolve().then(() => (${fn})(arg)).then(
        (value) => done({ value: value === undefined ? null : value }),
        (error) => done({ error: String(error) + '\\n' + ((error && error.stack) || '') }));`;
    const result = await this.command('POST', '/execute/async', { script, args: [arg] });
    if (result.error !== undefined) throw new Error(`evaluate failed in the page: ${result.error}`);
    return result.value;
  }

  /** Polls `fn(arg)` in the page every 100 ms until it is truthy; resolves to a handle whose
   *  `jsonValue()` is that value (as playwright's does). */
  async waitForFunction(fn, arg = null, { timeout = 30_000 } = {}) {
    const script = `const [arg, timeout, done] = arguments;
      const started = performance.now();
      const check = () => {
        let value;
        try { value = (${fn})(arg); } catch (error) { done({ error: String(error) + '\\n' + ((error && error.stack) || '') }); return; }
        if (value) done({ value });
        else if (performance.now() - started > timeout) done({ timedOut: true });
        else setTimeout(check, 100);
      };
      check();`;
    const started = Date.now();
    let result;
    for (;;) {
      try {
        result = await this.command('POST', '/execute/async', { script, args: [arg, Math.max(0, timeout - (Date.now() - started))] });
        break;
      } catch (error) {
        // The document reloaded while we waited (the service worker's one reload on a host
        // without isolation headers): wait on the new document.
        if (!/Document was unloaded/.test(String(error)) || Date.now() - started > timeout) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
        await this.installErrorHooks().catch(() => {});
      }
    }
    if (result.error !== undefined) throw new Error(`waitForFunction failed in the page: ${result.error}`);
    if (result.timedOut) throw new Error(`waitForFunction: ${timeout} ms exceeded waiting for ${String(fn).slice(0, 200)}`);
    return { jsonValue: async () => result.value };
  }

  async element(selector) {
    const found = await this.command('POST', '/element', { using: 'css selector', value: selector });
    return found[ELEMENT];
  }

  /** Clicks the element's centre once it exists and nothing covers it (WebDriver scrolls it
   *  into view), retrying for up to `timeout` ms as playwright's click waits. */
  async click(selector, { timeout = 30_000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        const element = await this.element(selector);
        await this.command('POST', `/element/${element}/click`, {});
        return;
      } catch (error) {
        const retry = ['no such element', 'element not interactable', 'element click intercepted', 'stale element reference'].includes(error.code);
        if (!retry || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Chooses the file at `filePath` in the file input `selector`, as the file picker would. */
  async setInputFile(selector, filePath) {
    const element = await this.element(selector);
    await this.command('POST', `/element/${element}/value`, { text: filePath });
  }

  /** Chooses the option `value` of a <select> as a user would (`input`, then `change`). */
  async select(selector, value) {
    await this.evaluate(([selector, value]) => {
      const select = document.querySelector(selector);
      select.value = value;
      select.dispatchEvent(new Event('input', { bubbles: true }));
      select.dispatchEvent(new Event('change', { bubbles: true }));
    }, [selector, value]);
  }

  async press(key) {
    const value = WEBDRIVER_KEYS[key] ?? key;
    await this.command('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions: [{ type: 'keyDown', value }, { type: 'keyUp', value }] }] });
  }

  /** Turns the mouse wheel over the middle of `selector`'s element. */
  async wheel(selector, deltaY) {
    const element = await this.element(selector);
    await this.command('POST', '/actions', {
      actions: [{ type: 'wheel', id: 'wheel', actions: [{ type: 'scroll', x: 0, y: 0, deltaX: 0, deltaY, origin: { [ELEMENT]: element } }] }],
    });
  }

  async screenshot(name) {
    const png = await this.command('GET', '/screenshot');
    writeFileSync(this.screenshotPath(name), Buffer.from(png, 'base64'));
  }

  async close() {
    this.onClose();
    try {
      await this.command('DELETE', '');
    } finally {
      this.driver.stop();
    }
  }
}

/** Reads an `.npz` file (stored or deflated entries, zip64 too: `readZip`) into `{ key: { descr, shape, data } }`,
 *  `data` a typed array (float16 widened to Float64Array; int64 to Float64Array; strings as
 *  an array): the tests' own reader, independent of the app's. */
export function readNpz(filePath) {
  const arrays = {};
  for (const [name, npy] of readZip(readFileSync(filePath))) arrays[name.replace(/\.npy$/, '')] = parseNpy(npy);
  return arrays;
}

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** One `.npy` array: `{ descr, shape, data }` (C order only). */
export function parseNpy(bytes) {
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerAt = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerAt, headerAt + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('Fortran order is not read here');
  const body = bytes.subarray(headerAt + headerLength);
  const count = shape.reduce((a, b) => a * b, 1);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let data;
  if (descr === '<f2') data = Float64Array.from({ length: count }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
  else if (descr === '<f4') data = Float64Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  else if (descr === '<f8') data = Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
  else if (descr === '<i8') data = Float64Array.from({ length: count }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  else if (descr === '<i4') data = Float64Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
  else if (descr === '|u1') data = Uint8Array.from(body.subarray(0, count));
  else if (/^<U\d+$/.test(descr)) {
    const width = Number(descr.slice(2));
    data = Array.from({ length: count }, (_, i) => {
      let text = '';
      for (let c = 0; c < width; c += 1) {
        const code = view.getUint32(4 * (i * width + c), true);
        if (code === 0) break;
        text += String.fromCodePoint(code);
      }
      return text;
    });
  } else throw new Error(`dtype ${descr} is not read here`);
  return { descr, shape, data };
}
