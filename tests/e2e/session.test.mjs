// End-to-end tests of the session state, acting as a person at any moment, not only after
// everything settled: the address read while a projection is still computing restores the
// same view (a dropped held-out file, the demo, a `?data=` URL); so does the link "Copy link"
// puts on the clipboard at once (and, without a clipboard, shows to copy by hand); the
// projection follows the chosen subsample on a file with its own coordinates.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  artifactsDir, cliGraph, dropFiles, launchBrowser, npyBytes, npzBytes, openPage, repoRoot, startServer, synthRows,
  unicodeNpy, waitForDataset, waitForGraph,
} from './harness.mjs';

let server;
let browser;
const VIEWPORT = { width: 1700, height: 1000 };
const CLASS_NAMES = ['Rocket', 'Falcon', 'Otter', 'Cactus', 'Lantern', 'Glacier', 'Violin', 'Comet', 'Harbour', 'Meadow'];

/** A held-out two-layer activation file (not the demo): 12,000 activation-like samples. */
function heldOutNpz() {
  const early = synthRows(12_000, 32, 21);
  const late = synthRows(12_000, 48, 22);
  const n_classes = Math.max(...early.labels) + 1;
  return npzBytes({
    act_early: npyBytes('<f4', [12_000, 32], early.rows),
    act_late: npyBytes('<f4', [12_000, 48], late.rows),
    labels: npyBytes('<u4', [12_000], early.labels),
    class_names: unicodeNpy(CLASS_NAMES.slice(0, n_classes)),
  });
}

/** What a restored link must show again. */
async function viewFacts(target) {
  return target.evaluate(() => {
    const graph = document.querySelector('[data-testid="graph-view"]');
    return {
      summary: document.querySelector('[data-testid="graph-summary"]')?.textContent,
      layer: document.querySelector('.layer-item.selected')?.getAttribute('data-layer'),
      selected: [...document.querySelectorAll('[data-testid="graph-view"] .graph-node.selected')].map((n) => n.getAttribute('data-node-id')),
      highlighted: [...document.querySelectorAll('[data-testid="graph-view"] [data-highlighted="true"]')].map((n) => n.getAttribute('data-node-id')).sort(),
      transform: graph?.querySelector('g')?.getAttribute('transform'),
      details: document.querySelector('[data-testid="node-details"] h2, [data-testid="node-details"] .node-name')?.textContent ?? document.querySelector('[data-testid="node-details"]')?.textContent?.slice(0, 80),
      projectionMethod: document.querySelector('[data-testid="projection-method"]')?.value,
    };
  });
}

/** Selects the largest node of the graph on screen; returns its name. */
async function selectLargestNode(page) {
  const name = await page.evaluate(() => {
    const nodes = [...document.querySelectorAll('[data-testid="graph-view"] .graph-node')];
    nodes.sort((a, b) => Number(b.getAttribute('data-size')) - Number(a.getAttribute('data-size')));
    return nodes[0].getAttribute('data-node-id');
  });
  await page.click(`[data-testid="graph-view"] [data-node-id="${name}"]`);
  await page.waitForFunction((name) => document.querySelector(`[data-testid="graph-view"] [data-node-id="${name}"]`)?.classList.contains('selected'), name);
  return name;
}

/** Acts as a person: layer, t-SNE (it starts computing), a node, a class, a zoom; then reads
 *  the address while the projection is still computing. */
async function actAndReadAddressWhileComputing(page, layer, className) {
  await page.click(`[data-testid="layer-list"] [data-layer="${layer}"]`);
  await waitForGraph(page);
  await page.selectOption('[data-testid="projection-method"]', 'tsne');
  await page.waitForSelector('[data-testid="projection-progress"]');
  const node = await selectLargestNode(page);
  await page.fill('[data-testid="class-search"]', className.toLowerCase());
  await page.click(`[data-testid="class-suggestion"][data-class="${className}"]`);
  await page.click('[data-testid="zoom-in"]');
  await page.waitForTimeout(700); // the fragment is written within 400 ms of a change
  const computing = await page.evaluate(() => document.querySelector('[data-testid="projection-progress"]') !== null);
  const url = page.url();
  const facts = await viewFacts(page);
  assert.ok(computing, 'the address was read while the projection was still computing');
  assert.match(url, /#v1\./);
  assert.equal(facts.layer, layer);
  assert.deepEqual(facts.selected, [node]);
  assert.ok(facts.highlighted.length > 0, 'the class highlights nodes');
  return { url, facts, node };
}

/** Opens `url` in a fresh context; `give` hands over a file when the link asks for one. */
async function reopen(url, expected, give) {
  const context = await browser.browser.newContext({ viewport: VIEWPORT });
  const fresh = await context.newPage();
  const errors = [];
  fresh.on('pageerror', (error) => errors.push(String(error)));
  await fresh.goto(url);
  if (give) await give(fresh);
  await waitForDataset(fresh);
  const counts = expected.facts.summary.match(/^(\d+) nodes, (\d+) edges/).slice(1).map(Number);
  await waitForGraph(fresh, counts);
  await fresh.waitForFunction((name) => document.querySelector(`[data-testid="graph-view"] [data-node-id="${name}"]`)?.classList.contains('selected'), expected.node);
  const restored = await viewFacts(fresh);
  assert.equal(restored.layer, expected.facts.layer);
  assert.deepEqual(restored.selected, expected.facts.selected);
  assert.deepEqual(restored.highlighted, expected.facts.highlighted);
  assert.equal(restored.transform, expected.facts.transform, 'the same camera');
  assert.equal(restored.projectionMethod, 'tsne', 'the projection the link names is computed');
  assert.ok((await fresh.textContent('[data-testid="node-details"]')).includes(expected.node), 'the same node details');
  assert.deepEqual(errors, []);
  await fresh.screenshot({ path: path.join(artifactsDir, `session-reopened-${expected.facts.layer}.png`) });
  await context.close();
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.stop();
  server?.stop();
  rmSync(path.join(repoRoot, 'dist/e2e-heldout.npz'), { force: true });
});

describe('the link is the session, at every moment', () => {
  const file = heldOutNpz();
  const filePath = path.join(artifactsDir, 'heldout.npz');
  writeFileSync(filePath, file);

  test('a dropped file: the address read while a projection computes reopens the same view once the file is given', async () => {
    const { page, errors } = await openPage(browser.browser, server.url);
    await page.setViewportSize(VIEWPORT);
    await waitForDataset(page);
    await dropFiles(page, [{ name: 'heldout.npz', bytes: file }]);
    await waitForDataset(page, 'heldout');
    await waitForGraph(page);
    const expected = await actAndReadAddressWhileComputing(page, 'late', 'Falcon');
    await reopen(expected.url, expected, async (fresh) => {
      await fresh.waitForSelector('[data-testid="error-message"][data-kind="NeedsFile"]');
      await fresh.setInputFiles('[data-testid="file-input"]', filePath);
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the demo: the same, without giving anything', async () => {
    const { page, errors } = await openPage(browser.browser, server.url);
    await page.setViewportSize(VIEWPORT);
    await waitForDataset(page);
    await waitForGraph(page);
    const className = await page.evaluate(() => document.querySelector('[data-testid="class-list"] .class-name')?.textContent);
    const layer = await page.evaluate(() => [...document.querySelectorAll('[data-testid="layer-list"] [data-layer]')].at(-1).getAttribute('data-layer'));
    const expected = await actAndReadAddressWhileComputing(page, layer, className);
    await reopen(expected.url, expected);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a ?data= URL: the same, fetched again', async () => {
    writeFileSync(path.join(repoRoot, 'dist/e2e-heldout.npz'), file);
    const { page, errors } = await openPage(browser.browser, `${server.url}?data=./e2e-heldout.npz`);
    await page.setViewportSize(VIEWPORT);
    await waitForDataset(page, 'e2e-heldout');
    await waitForGraph(page);
    const expected = await actAndReadAddressWhileComputing(page, 'late', 'Otter');
    assert.ok(expected.url.includes('?data=./e2e-heldout.npz'));
    await reopen(expected.url, expected);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('Copy link', () => {
  test('while a projection computes, Copy link puts the address of the view on the clipboard at once, and it reopens that view', async () => {
    const context = await browser.browser.newContext({ viewport: VIEWPORT, permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(server.url);
    await waitForDataset(page);
    await waitForGraph(page);
    const layer = await page.evaluate(() => [...document.querySelectorAll('[data-testid="layer-list"] [data-layer]')].at(-1).getAttribute('data-layer'));
    await page.click(`[data-testid="layer-list"] [data-layer="${layer}"]`);
    await waitForGraph(page);
    await page.selectOption('[data-testid="projection-method"]', 'tsne');
    await page.waitForSelector('[data-testid="projection-progress"]');
    const node = await selectLargestNode(page);
    // No waiting for the address to catch up: the click writes the view into it.
    await page.click('[data-testid="copy-link"]');
    const facts = await viewFacts(page);
    await page.waitForFunction(() => document.querySelector('[data-testid="copy-link-status"]')?.textContent === 'Link copied');
    const computing = await page.evaluate(() => document.querySelector('[data-testid="projection-progress"]') !== null);
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.ok(computing, 'the link was copied while the projection was still computing');
    assert.equal(copied, await page.evaluate(() => location.href));
    assert.match(copied, /#v1\./);
    assert.equal(facts.layer, layer);
    assert.deepEqual(facts.selected, [node]);
    await page.screenshot({ path: path.join(artifactsDir, 'session-copy-link.png') });
    await page.waitForFunction(() => document.querySelector('[data-testid="copy-link-status"]') === null, null, { timeout: 10_000 });
    await reopen(copied, { url: copied, facts, node });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('where the clipboard refuses or is missing, the link is shown selected, to copy by hand', async () => {
    const context = await browser.browser.newContext({ viewport: VIEWPORT });
    // A clipboard that refuses (as without permission or focus).
    await context.addInitScript(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'));
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(server.url);
    await waitForDataset(page);
    await waitForGraph(page);
    const byHand = async () => {
      await page.click('[data-testid="copy-link"]');
      await page.waitForSelector('[data-testid="copy-link-field"]');
      assert.equal(await page.textContent('[data-testid="copy-link-status"]'), 'Copy this link');
      const field = await page.evaluate(() => {
        const input = document.querySelector('[data-testid="copy-link-field"]');
        return { value: input.value, readOnly: input.readOnly, focused: document.activeElement === input, selected: input.selectionEnd - input.selectionStart };
      });
      assert.equal(field.value, await page.evaluate(() => location.href));
      assert.match(field.value, /#v1\./);
      assert.ok(field.readOnly);
      assert.ok(field.focused, 'the field has the focus');
      assert.equal(field.selected, field.value.length, 'the whole link is selected');
    };
    await byHand();
    await page.screenshot({ path: path.join(artifactsDir, 'session-copy-link-by-hand.png') });
    await page.click('[data-testid="copy-link-close"]');
    await page.waitForSelector('[data-testid="copy-link-field"]', { state: 'detached' });
    // No clipboard at all (a page that is not secure).
    await page.evaluate(() => Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined, configurable: true }));
    await byHand();
    // Another view: the link shown was the old view's, so it goes.
    await page.click('[data-testid="zoom-in"]');
    await page.click('[data-testid="mode-multilayer"]');
    await page.waitForSelector('[data-testid="copy-link-field"]', { state: 'detached' });
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('the projection follows the session', () => {
  test('on a file with more than 50,000 samples and its own coordinates, all samples are projected and a node lights up all its members', async () => {
    const n = 60_000;
    const { rows, labels } = synthRows(n, 16, 5);
    const coords = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) { coords[2 * i] = rows[16 * i]; coords[2 * i + 1] = rows[16 * i + 1]; }
    const bytes = npzBytes({
      act_big: npyBytes('<f4', [n, 16], rows),
      labels: npyBytes('<u4', [n], labels),
      proj_big_umap: npyBytes('<f4', [n, 2], coords),
    });
    const { page, errors } = await openPage(browser.browser, server.url);
    await page.setViewportSize(VIEWPORT);
    await waitForDataset(page);
    await dropFiles(page, [{ name: 'big.npz', bytes }]);
    await waitForDataset(page, 'big');
    await waitForGraph(page);
    const points = () => page.evaluate(() => document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '');
    await page.waitForFunction(() => /of 50000 points/.test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''));
    await page.selectOption('[data-testid="param-subsample"]', String(n));
    await waitForGraph(page);
    await page.waitForFunction(() => /of 60000 points/.test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''));
    assert.equal(await page.locator('[data-testid="projection-stale"]').count(), 0, 'the file\'s own coordinates follow at once');
    const node = await selectLargestNode(page);
    const size = Number(await page.getAttribute(`[data-testid="graph-view"] [data-node-id="${node}"]`, 'data-size'));
    await page.waitForFunction((size) => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith(`${size} of`), size);
    assert.match(await points(), new RegExp(`^${size} of 60000 points highlighted`));
    await page.screenshot({ path: path.join(artifactsDir, 'session-all-samples.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('graph files over loaded data', () => {
  test('a KeplerMapper and a TopoAct node-link graph of other data open on their own; Back returns to the demo', async () => {
    const { page, errors } = await openPage(browser.browser, server.url);
    await page.setViewportSize(VIEWPORT);
    await waitForDataset(page);
    const demoCounts = await waitForGraph(page);
    const demoName = await page.textContent('[data-testid="dataset-name"]');
    const demoSamples = Number((await page.textContent('[data-testid="fact-samples"]')).replace(/\D/g, ''));
    // Other data: more samples than the demo, so the graphs cannot be the demo's.
    const n = demoSamples + 5_000;
    const binary = path.join(repoRoot, 'target/release/topoact');
    const data = path.join(artifactsDir, 'session-other.npy');
    const made = spawnSync(binary, ['synth', '--n', String(n), '--dim', '24', '--seed', '9', '--out', data], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    for (const [format, intervals] of [['kmapper', '12'], ['node-link', '16']]) {
      const file = path.join(artifactsDir, `session-other-${format}.json`);
      const run = spawnSync(binary, ['mapper', data, '--intervals', intervals, '--format', format, '--quiet', '--out', file], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const reference = cliGraph([data, '--intervals', intervals]);
      await page.setInputFiles('[data-testid="file-input"]', file);
      await waitForGraph(page, [reference.nodes.length, reference.edges.length]);
      const notice = page.locator('[data-testid="error-message"][data-kind="Notice"]');
      await notice.waitFor();
      assert.match(await notice.textContent(), /opened on its own.*Back/);
      // A notice is not a failure: announced politely, not in the failure colour.
      assert.equal(await notice.getAttribute('role'), 'status');
      assert.match(await notice.getAttribute('class'), /banner-info/);
      assert.match(await page.textContent('[data-testid="dataset-name"]'), new RegExp(`session-other-${format}\\.json`));
      // The mapper panel says what the graph is instead of offering parameters it ignores.
      const panel = await page.textContent('[data-testid="imported-graph-panel"]');
      assert.ok(panel.includes(`session-other-${format}.json`) && panel.includes('on its own'), panel);
      assert.equal(await page.isVisible('[data-testid="param-intervals"]'), false);
      await page.waitForTimeout(700); // its own history entry
      await page.screenshot({ path: path.join(artifactsDir, `session-graph-alone-${format}.png`) });
      await page.goBack();
      await waitForDataset(page, demoName);
      assert.deepEqual(await waitForGraph(page, demoCounts), demoCounts, 'the demo\'s view again');
      assert.equal(await page.isVisible('[data-testid="param-intervals"]'), true);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
});
