// The end-to-end suite's cross-browser subset, run in Firefox (Debian's Firefox ESR through
// geckodriver) by the test command: the demo loads on the cross-origin-isolated page and
// computes on wasm threads; its graph is the CLI's; a selected node lights up exactly its
// members in the projection; a share link reopens the same view in a fresh browser; three
// layers side by side are the CLI's graphs; a dropped file and a file chosen with the picker
// reach the worker and give the CLI's graphs; on a host without the isolation headers the
// service worker still gives wasm threads. Written against the harness's browser-neutral page objects:
// `E2E_BROWSER=chromium node --test tests/e2e/firefox.test.mjs` runs the same flows in Chromium.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, launchNeutral, smallNpy, startServer, testId, waitForDataset, waitForGraph } from './harness.mjs';

const VIEWPORT = { width: 1700, height: 1000 };
const DEMO_SAMPLES = 5000;

let server;
let browser;
let page;
const reference = {};

const nodeIds = (target, scope = testId('graph-view')) =>
  target.evaluate((scope) => [...document.querySelectorAll(`${scope} [data-node-id]`)].map((n) => n.getAttribute('data-node-id')).sort(), scope);
const sortedNames = (graph) => graph.nodes.map((node) => node.name).sort();
const biggest = (graph, rank = 0) => [...graph.nodes].sort((a, b) => b.size - a.size)[rank];

/** No console error or uncaught exception, and no error banner. */
async function assertNoErrors(target) {
  assert.deepEqual(await target.consoleErrors(), []);
  assert.equal(await target.count(testId('error-message')), 0, await target.text(testId('error-message')));
}

/** The view facts a share link must restore. */
function viewFacts(target) {
  return target.evaluate(() => {
    const graph = document.querySelector('[data-testid="graph-view"]');
    return {
      summary: document.querySelector('[data-testid="graph-summary"]')?.textContent,
      selected: [...document.querySelectorAll('[data-testid="graph-view"] .graph-node.selected')].map((n) => n.getAttribute('data-node-id')),
      highlighted: [...document.querySelectorAll('[data-testid="graph-view"] [data-highlighted="true"]')].map((n) => n.getAttribute('data-node-id')).sort(),
      zoom: Number(graph?.getAttribute('data-zoom')),
      transform: graph?.querySelector('g')?.getAttribute('transform'),
      layer: document.querySelector('.layer-item.selected')?.getAttribute('data-layer'),
      intervals: document.querySelector('[data-testid="param-intervals"]')?.value,
      projectionMethod: document.querySelector('[data-testid="projection-method"]')?.value,
      projectionZoom: Number(document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-zoom')),
    };
  });
}

/** Waits until the fragment holds a link and the page is idle; returns the address. */
async function settledUrl(target) {
  await target.waitForFunction(() => location.hash.startsWith('#v1.') && !document.querySelector('[data-testid="progress"]'));
  await new Promise((resolve) => setTimeout(resolve, 700));
  return target.url();
}

const projectionSummary = (target) => target.text(testId('projection-summary'));

before(async () => {
  reference.demo = cliGraph([demoPath]);
  for (const layer of ['block4', 'block7', 'block10']) reference[layer] = cliGraph([demoPath, '--layer', layer]);
  reference.block10i20 = cliGraph([demoPath, '--layer', 'block10', '--intervals', '20']);
  server = await startServer();
  browser = await launchNeutral();
});

after(async () => {
  await page?.close().catch(() => {});
  await browser?.stop();
  server?.stop();
});

describe(`${process.env.E2E_BROWSER || 'firefox'}: the main flows`, () => {
  test('the demo loads on the cross-origin-isolated page and computes on wasm threads', async () => {
    page = await browser.newPage(server.url, { viewport: VIEWPORT });
    await waitForDataset(page);
    assert.match(await page.text(testId('dataset-size')), new RegExp(`^${DEMO_SAMPLES.toLocaleString('en-US')} samples · 5 layers · 10 classes$`));
    assert.equal(await page.count(`${testId('layer-list')} [data-layer]`), 5);
    await page.waitForFunction(() => document.querySelector('[data-testid="compute-threads"]')?.textContent);
    const facts = await page.evaluate(() => ({
      isolated: self.crossOriginIsolated,
      cores: navigator.hardwareConcurrency,
      threads: document.querySelector('[data-testid="compute-threads"]').textContent,
    }));
    assert.equal(facts.isolated, true);
    assert.equal(facts.threads, facts.cores > 1 ? `${facts.cores} threads` : '1 thread');
    await page.screenshot('demo');
    await assertNoErrors(page);
  });

  test('the demo graph is the graph the CLI computes', async () => {
    const [nodes, edges] = await waitForGraph(page);
    assert.equal(nodes, reference.demo.nodes.length);
    assert.equal(edges, reference.demo.edges.length);
    assert.deepEqual(await nodeIds(page), sortedNames(reference.demo));
    await page.screenshot('graph');
  });

  test('a selected node lights up exactly its members in the projection', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-complete') === 'true', null, { timeout: 120_000 });
    assert.equal(await projectionSummary(page), `0 of ${DEMO_SAMPLES} points highlighted`);
    const node = biggest(reference.demo, 3);
    await page.click(`${testId('graph-view')} [data-node-id="${node.name}"]`);
    await page.waitForFunction((size) => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith(`${size} of`), node.size);
    assert.ok((await page.text(testId('node-details'))).includes(node.name));
    // The exported selection names exactly the node's members.
    await page.captureDownloads();
    await page.click(testId('export-selection'));
    const { text } = await page.takeDownload();
    const [header, ...rows] = text.trim().split('\n');
    assert.equal(header, 'sample_idx,label,x,y,class,prediction,predicted_class,confidence');
    assert.deepEqual(rows.map((row) => Number(row.split(',')[0])).sort((a, b) => a - b), [...node.members].sort((a, b) => a - b));
    await page.screenshot('node-members');
    await page.press('Escape');
    await page.waitForFunction(() => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith('0 of'));
    await assertNoErrors(page);
  });

  test('a view set up here is the same view when its link is opened in a fresh browser', async () => {
    const expected = reference.block10i20;
    await page.click(`${testId('layer-list')} [data-layer="block10"]`);
    await waitForGraph(page, [reference.block10.nodes.length, reference.block10.edges.length]);
    await page.fill(testId('param-intervals'), '20');
    await waitForGraph(page, [expected.nodes.length, expected.edges.length]);
    const chosen = biggest(expected);
    await page.click(`${testId('graph-view')} [data-node-id="${chosen.name}"]`);
    // Highlight the second class of the chosen node (so some node carries it).
    const className = expected.class_names[chosen.top_classes[1].class_idx];
    await page.fill(testId('class-search'), className.toLowerCase());
    await page.click(`${testId('class-suggestion')}[data-class="${className}"]`);
    await page.click(testId('zoom-in'));
    await page.click(testId('zoom-in'));
    // Zoom the projection with the wheel (its camera is part of the view).
    const projectionZoom = (await viewFacts(page)).projectionZoom;
    await page.wheel(testId('projection-view'), -300);
    await page.waitForFunction((before) => Number(document.querySelector('[data-testid="projection-view"]').getAttribute('data-zoom')) > before * 1.2, projectionZoom);
    const link = await settledUrl(page);
    const facts = await viewFacts(page);
    assert.deepEqual(facts.selected, [chosen.name]);
    assert.ok(facts.highlighted.length > 0);
    await page.screenshot('share-original');

    const fresh = await browser.newPage(link, { viewport: VIEWPORT, freshContext: true });
    try {
      await waitForDataset(fresh);
      await waitForGraph(fresh, [expected.nodes.length, expected.edges.length]);
      await fresh.waitForFunction((name) => document.querySelector(`[data-testid="graph-view"] [data-node-id="${name}"]`)?.classList.contains('selected'), chosen.name);
      await fresh.waitForFunction(() => document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-complete') === 'true', null, { timeout: 120_000 });
      const restored = await viewFacts(fresh);
      assert.equal(restored.layer, 'block10');
      assert.equal(restored.intervals, '20');
      assert.equal(restored.summary, facts.summary);
      assert.deepEqual(restored.selected, facts.selected);
      assert.deepEqual(restored.highlighted, facts.highlighted);
      assert.ok(Math.abs(restored.zoom - facts.zoom) < 1e-3, `${restored.zoom} vs ${facts.zoom}`);
      assert.equal(restored.transform, facts.transform);
      assert.equal(restored.projectionMethod, facts.projectionMethod);
      assert.ok(Math.abs(restored.projectionZoom - facts.projectionZoom) < 1e-3, `${restored.projectionZoom} vs ${facts.projectionZoom}`);
      assert.equal(await projectionSummary(fresh), await projectionSummary(page), 'the same points are highlighted');
      assert.ok((await fresh.text(testId('node-details'))).includes(chosen.name));
      await fresh.screenshot('share-restored');
      await assertNoErrors(fresh);
    } finally {
      await fresh.close();
    }
    await page.close();
    page = null;
  });

  test('three layers side by side are the graphs the CLI computes for them', async () => {
    page = await browser.newPage(server.url, { viewport: VIEWPORT });
    await waitForDataset(page);
    // (A layer clicked before the first graph is in stays without a graph: see the report.)
    await waitForGraph(page);
    await page.click(`${testId('layer-list')} [data-layer="block7"]`);
    await waitForGraph(page, [reference.block7.nodes.length, reference.block7.edges.length]);
    await page.click(testId('mode-multilayer'));
    await page.waitForFunction(() => {
      const summaries = [...document.querySelectorAll('[data-testid="layer-graph"] [data-testid="graph-summary"]')].map((s) => s.textContent);
      return summaries.length === 3 && summaries.every((s) => /^\d+ nodes/.test(s)) && !document.querySelector('[data-testid="progress"]');
    }, null, { timeout: 180_000 });
    const layers = await page.evaluate(() => [...document.querySelectorAll('[data-testid="layer-graph"]')].map((g) => g.getAttribute('data-layer')));
    assert.deepEqual(layers, ['block4', 'block7', 'block10']);
    for (const layer of layers) {
      const scope = `${testId('layer-graph')}[data-layer="${layer}"]`;
      assert.deepEqual(await nodeIds(page, scope), sortedNames(reference[layer]), layer);
      assert.equal(await page.count(`${scope} .graph-link`), reference[layer].edges.length, layer);
    }
    // A node selected in the middle layer shades the nodes holding its members in the others.
    const chosen = biggest(reference.block7, 1);
    await page.click(`${testId('layer-graph')}[data-layer="block7"] [data-node-id="${chosen.name}"]`);
    await page.waitForSelector(testId('node-details'));
    const members = new Set(chosen.members);
    for (const layer of ['block4', 'block10']) {
      const shown = await page.evaluate((scope) => Object.fromEntries([...document.querySelectorAll(`${scope} [data-node-id]`)]
        .map((n) => [n.getAttribute('data-node-id'), n.getAttribute('data-selection-fraction')])), `${testId('layer-graph')}[data-layer="${layer}"]`);
      for (const node of reference[layer].nodes) {
        const share = node.members.filter((s) => members.has(s)).length / chosen.members.length;
        assert.equal(shown[node.name], share.toFixed(4), `${layer} ${node.name}`);
      }
    }
    await page.screenshot('multilayer');
    await assertNoErrors(page);
  });

  test('a dropped file and a chosen file reach the worker and give the graphs the CLI computes', async () => {
    const bytes = smallNpy(600, 8);
    const file = path.join(artifactsDir, 'firefox-dropped.npy');
    writeFileSync(file, bytes);
    const expected = cliGraph([file]);
    await page.click(testId('mode-single'));
    await page.dropFiles([{ name: 'dropped.npy', bytes }]);
    await waitForDataset(page, 'dropped.npy');
    assert.equal(await page.text(testId('dataset-size')), '600 samples · 1 layers · 0 classes');
    assert.equal(await page.attribute(`${testId('layer-list')} [data-layer]`, 'data-layer'), 'dropped');
    await waitForGraph(page, [expected.nodes.length, expected.edges.length]);
    assert.deepEqual(await nodeIds(page), sortedNames(expected));
    await page.screenshot('dropped');
    // A file on disk chosen with the picker (read in the worker slice by slice) works too.
    await page.setInputFile(testId('file-input'), demoPath);
    await waitForDataset(page, 'Fashion-MNIST');
    await waitForGraph(page, [reference.demo.nodes.length, reference.demo.edges.length]);
    assert.deepEqual(await nodeIds(page), sortedNames(reference.demo));
    await assertNoErrors(page);
  });
});

describe(`${process.env.E2E_BROWSER || 'firefox'}: a host without the isolation headers`, () => {
  test('the service worker isolates the page after the first load: wasm threads, the CLI graph', async () => {
    const plain = await startServer({ isolation: false });
    const visitor = await browser.newPage(plain.url, { viewport: VIEWPORT, freshContext: true });
    try {
      await waitForDataset(visitor);
      await waitForGraph(visitor, [reference.demo.nodes.length, reference.demo.edges.length]);
      const facts = await visitor.evaluate(() => ({
        isolated: self.crossOriginIsolated,
        controlled: Boolean(navigator.serviceWorker?.controller),
        cores: navigator.hardwareConcurrency,
        threads: document.querySelector('[data-testid="compute-threads"]')?.textContent,
      }));
      assert.equal(facts.isolated, true);
      assert.equal(facts.controlled, true);
      assert.equal(facts.threads, facts.cores > 1 ? `${facts.cores} threads` : '1 thread');
      assert.deepEqual(await nodeIds(visitor), sortedNames(reference.demo));
      await visitor.screenshot('no-isolation-headers');
      await assertNoErrors(visitor);
    } finally {
      await visitor.close();
      plain.stop();
    }
  });
});
