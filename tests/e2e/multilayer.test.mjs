// End-to-end tests of multilayer mode on the demo: three graphs side by side that agree
// with the CLI layer by layer; class search highlights in all three; a node selected in one
// layer shades the nodes holding its members in the other two by the share they hold
// (checked against the CLI's membership); ribbons between adjacent layers follow their
// threshold; a projection selection shades all three; the comparison of all layers has one
// entry per layer, matching the CLI's node counts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, launchBrowser, openPage, startServer, waitForDataset, waitForGraph } from './harness.mjs';

let server;
let browser;
let page;
let errors;

const DEMO_LAYERS = ['block4', 'block7', 'block10', 'block14', 'head'];
// The layer list is clicked on block7, so the row holds it and its neighbours.
const ROW = ['block4', 'block7', 'block10'];
const reference = {};
const shot = (name) => page.screenshot({ path: path.join(artifactsDir, `multilayer-${name}.png`), fullPage: true });

/** The shading attribute of every node of a layer's graph: { name: "0.1234" | null }. */
const shadingOf = (layer) =>
  page.$$eval(`[data-testid="layer-graph"][data-layer="${layer}"] [data-node-id]`, (nodes) =>
    Object.fromEntries(nodes.map((n) => [n.getAttribute('data-node-id'), n.getAttribute('data-selection-fraction')])));

const intersection = (a, b) => {
  const set = new Set(b);
  return a.filter((s) => set.has(s)).length;
};

/** The ribbons the app should draw between two CLI graphs above `threshold` (capped as the app caps them). */
function expectedRibbons(left, right, threshold) {
  let count = 0;
  for (const u of left.nodes) {
    for (const v of right.nodes) {
      const shared = intersection(u.members, v.members);
      if (shared > 0 && shared / (u.members.length + v.members.length - shared) > threshold) count += 1;
    }
  }
  return Math.min(count, 1500);
}

async function setRibbonThreshold(value) {
  await page.$eval('[data-testid="ribbon-threshold"]', (input, value) => {
    input.value = String(value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
  await page.waitForFunction((value) => document.querySelector('[data-testid="ribbon-threshold-value"]')?.textContent === value.toFixed(2), value);
}

before(async () => {
  for (const layer of DEMO_LAYERS) reference[layer] = cliGraph([demoPath, '--layer', layer]);
  server = await startServer();
  browser = await launchBrowser();
  ({ page, errors } = await openPage(browser.browser, server.url));
  await page.setViewportSize({ width: 1700, height: 1000 });
  await waitForDataset(page);
  await waitForGraph(page);
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

describe('multilayer mode', () => {
  test('three graphs side by side, each the graph the CLI computes for its layer', async () => {
    await page.click('[data-testid="layer-list"] [data-layer="block7"]');
    await waitForGraph(page, [reference.block7.nodes.length, reference.block7.edges.length]);
    await page.click('[data-testid="mode-multilayer"]');
    await page.waitForFunction((n) => {
      const summaries = [...document.querySelectorAll('[data-testid="layer-graph"] [data-testid="graph-summary"]')].map((s) => s.textContent);
      return summaries.length === n && summaries.every((s) => /^\d+ nodes/.test(s)) && !document.querySelector('[data-testid="progress"]');
    }, ROW.length, { timeout: 180_000 });
    const layers = await page.$$eval('[data-testid="layer-graph"]', (graphs) => graphs.map((g) => g.getAttribute('data-layer')));
    assert.deepEqual(layers, ROW);
    for (const layer of ROW) {
      const names = Object.keys(await shadingOf(layer)).sort();
      assert.deepEqual(names, reference[layer].nodes.map((n) => n.name).sort(), layer);
      const links = await page.$$eval(`[data-testid="layer-graph"][data-layer="${layer}"] .graph-link`, (l) => l.length);
      assert.equal(links, reference[layer].edges.length, layer);
    }
    await shot('row');
    assert.deepEqual(errors, []);
  });

  test('class search highlights nodes in all three layers by their top three classes', async () => {
    await page.fill('[data-testid="class-search"]', 'sneaker');
    await page.click('[data-testid="class-suggestion"][data-class="Sneaker"]');
    const sneaker = reference.block4.class_names.indexOf('Sneaker');
    for (const layer of ROW) {
      const highlighted = await page.$$eval(`[data-testid="layer-graph"][data-layer="${layer}"] [data-highlighted="true"]`, (n) => n.map((x) => x.getAttribute('data-node-id')).sort());
      const expected = reference[layer].nodes.filter((n) => n.top_classes.some((s) => s.class_idx === sneaker)).map((n) => n.name).sort();
      assert.ok(expected.length > 0, layer);
      assert.deepEqual(highlighted, expected, layer);
    }
    await shot('search');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelectorAll('[data-highlighted="true"]').length === 0);
  });

  test('the class directory counts the nodes of all three layers', async () => {
    await page.click('[data-testid="class-directory"] summary');
    const sneaker = reference.block4.class_names.indexOf('Sneaker');
    const expected = ROW.reduce((sum, layer) => sum + reference[layer].nodes.filter((n) => n.top_classes.some((s) => s.class_idx === sneaker)).length, 0);
    assert.equal(await page.textContent('label.directory-entry:has([data-class="Sneaker"]) .directory-count'), `${expected} nodes`);
    await page.click('[data-testid="class-directory"] summary');
  });

  test('a node selected in one layer shades the nodes holding its members in the others', async () => {
    const middle = reference.block7;
    const chosen = [...middle.nodes].sort((a, b) => b.size - a.size)[1];
    await page.click(`[data-testid="layer-graph"][data-layer="block7"] [data-node-id="${chosen.name}"]`);
    await page.locator('[data-testid="node-details"]').waitFor();
    assert.ok((await page.textContent('[data-testid="node-details"]')).includes(chosen.name));
    for (const layer of ['block4', 'block10']) {
      const shown = await shadingOf(layer);
      let holders = 0;
      for (const node of reference[layer].nodes) {
        const share = intersection(chosen.members, node.members) / chosen.members.length;
        assert.equal(shown[node.name], share.toFixed(4), `${layer} ${node.name}`);
        if (share > 0) holders += 1;
      }
      assert.ok(holders > 0, `some node of ${layer} holds members of ${chosen.name}`);
    }
    // In its own layer nothing is shaded; the node is marked selected.
    assert.ok(Object.values(await shadingOf('block7')).every((v) => v === null));
    assert.equal(await page.getAttribute(`[data-testid="layer-graph"][data-layer="block7"] [data-node-id="${chosen.name}"]`, 'class'), 'graph-node selected');
    await shot('selected');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('[data-testid="node-details"]'));
  });

  test('ribbons join nodes of adjacent layers that share samples and follow the threshold', async () => {
    const counted = () => page.$$eval('[data-testid="ribbon"]', (r) => r.map((x) => Number(x.getAttribute('data-jaccard'))));
    for (const threshold of [0.2, 0.5, 0.05]) {
      await setRibbonThreshold(threshold);
      const jaccards = await counted();
      const expected = expectedRibbons(reference.block4, reference.block7, threshold) + expectedRibbons(reference.block7, reference.block10, threshold);
      assert.equal(jaccards.length, expected, `threshold ${threshold}`);
      assert.ok(jaccards.every((j) => j > threshold), `threshold ${threshold}`);
      assert.match(await page.textContent('[data-testid="ribbon-count"]'), new RegExp(`^${expected} links shown`));
    }
    assert.ok((await counted()).length > 0);
    await shot('ribbons');
    await page.click('[data-testid="ribbons-toggle"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="ribbon"]').length === 0);
    await page.click('[data-testid="ribbons-toggle"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="ribbon"]').length > 0);
  });

  test('a rectangle on the projection shades the nodes holding the selected samples in all three layers', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-complete') === 'true', null, { timeout: 300_000 });
    await page.click('[data-testid="mode-rectangle"]');
    const canvas = page.locator('[data-testid="projection-view"]');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.7, { steps: 5 });
    await page.mouse.up();
    await page.locator('[data-testid="selection-details"]').waitFor();
    for (const layer of ROW) {
      const shown = Object.values(await shadingOf(layer));
      assert.ok(shown.every((v) => v !== null), layer);
      assert.ok(shown.some((v) => Number(v) > 0), `${layer} holds selected samples`);
    }
    await page.click('[data-testid="mode-pan"]');
    await page.keyboard.press('Escape');
  });

  test('the comparison of all layers has one entry per layer with the CLI node counts', async () => {
    await page.click('[data-testid="layer-comparison"] summary');
    await page.click('[data-testid="compare-layers"]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="comparison-row"]').length === n, DEMO_LAYERS.length, { timeout: 180_000 });
    const rows = await page.$$eval('[data-testid="comparison-row"]', (rows) =>
      rows.map((r) => [r.getAttribute('data-layer'), Number(r.getAttribute('data-nodes')), Number(r.getAttribute('data-edges')), Number(r.getAttribute('data-components'))]));
    assert.deepEqual(rows.map((r) => r[0]), DEMO_LAYERS);
    for (const [layer, nodes, edges, components] of rows) {
      assert.equal(nodes, reference[layer].nodes.length, layer);
      assert.equal(edges, reference[layer].edges.length, layer);
      assert.equal(components, reference[layer].stats.n_components, layer);
    }
    const structure = await page.innerHTML('[data-testid="structure-chart"]');
    const norms = await page.innerHTML('[data-testid="layer-norms-chart"]');
    for (const layer of DEMO_LAYERS) {
      assert.ok(structure.includes(layer), `structure chart names ${layer}`);
      assert.ok(norms.includes(layer), `norm chart names ${layer}`);
    }
    assert.equal((norms.match(/<polygon/g) ?? []).length, DEMO_LAYERS.length, 'one ridge per layer');
    await page.locator('[data-testid="layer-comparison"]').scrollIntoViewIfNeeded();
    await shot('comparison');
    assert.deepEqual(errors, []);
  });
});
