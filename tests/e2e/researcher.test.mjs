// End-to-end tests of what a researcher asks next, on the demo (which holds the network's
// predictions and softmax confidence): colour by a column, a node's mistakes, the most
// confused pairs, "misclassified", and a sample's nearest neighbours. Every figure the
// page shows is checked against an independent computation here: the file read by the
// tests' own npz reader, the CLI's node members, and a brute-force nearest-neighbour search.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, dropFiles, launchBrowser, npyBytes, npzBytes, openPage, readNpz, startServer, synthRows, waitForDataset, waitForGraph } from './harness.mjs';

let server;
let browser;
let page;
let errors;
let reference;
let file;

const shot = (name) => page.screenshot({ path: path.join(artifactsDir, `researcher-${name}.png`) });

/** A value as the legend writes it (the page's `format_value`). */
function legendValue(value) {
  if (Number.isInteger(value)) return value.toFixed(0);
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(3);
}

/** Error rate and most frequent (label, prediction) pair among `members`, as the page writes
 *  them; ties go to the smaller label, then the smaller prediction. */
function mistakesLine(members) {
  const labels = file.labels.data;
  const preds = file.preds.data;
  const counts = new Map();
  let errorsFound = 0;
  for (const m of members) {
    if (labels[m] !== preds[m]) {
      errorsFound += 1;
      const key = `${labels[m]},${preds[m]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const names = file.class_names.data;
  let line = `error rate ${(errorsFound / members.length * 100).toFixed(1)} % (${errorsFound} of ${members.length})`;
  const pairs = [...counts.entries()].map(([key, count]) => [...key.split(',').map(Number), count]);
  pairs.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  if (pairs.length > 0) {
    const [label, pred, count] = pairs[0];
    line += ` · most confused: ${names[label]} → ${names[pred]} ${count} (${(count / errorsFound * 100).toFixed(0)} % of errors)`;
  }
  return line;
}

/** The `k` nearest samples to `sampleIdx` in `layer` (itself excluded), by brute force in
 *  float64; ties go to the smaller index. */
function bruteForceNeighbours(layer, sampleIdx, k) {
  const { data, shape } = file[`act_${layer}`];
  const [n, dim] = shape;
  const distances = [];
  for (let other = 0; other < n; other += 1) {
    if (other === sampleIdx) continue;
    let sum = 0;
    for (let d = 0; d < dim; d += 1) {
      const diff = data[sampleIdx * dim + d] - data[other * dim + d];
      sum += diff * diff;
    }
    distances.push([sum, other]);
  }
  distances.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return distances.slice(0, k).map(([sum, other]) => ({ sampleIdx: other, distance: Math.sqrt(sum) }));
}

before(async () => {
  file = readNpz(demoPath);
  server = await startServer();
  browser = await launchBrowser();
  reference = cliGraph([demoPath]);
  ({ page, errors } = await openPage(browser.browser, server.url));
  await waitForDataset(page);
  await waitForGraph(page);
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

describe('what a researcher asks next', () => {
  test('the dataset panel lists the predictions and the columns', async () => {
    assert.equal(await page.textContent('[data-testid="fact-predictions"]'), 'yes');
    assert.match(await page.textContent('[data-testid="fact-columns"]'), /confidence \(numbers\)/);
  });

  test('colour by confidence: a legend over the file\'s range, and each node\'s mean is the mean over its members', async () => {
    await page.selectOption('[data-testid="colour-by"]', 'column:confidence');
    await page.waitForFunction(() => document.querySelector('[data-testid="legend-title"]')?.textContent === 'confidence (node mean)');
    const confidence = file.confidence.data;
    const finite = [...confidence].filter(Number.isFinite);
    assert.equal(await page.textContent('[data-testid="legend-low"]'), legendValue(Math.min(...finite)));
    assert.equal(await page.textContent('[data-testid="legend-high"]'), legendValue(Math.max(...finite)));
    // The link names the column.
    await page.waitForFunction(() => location.hash.length > 1);
    // Nodes take different colours (the column varies across the graph).
    const fills = await page.$$eval('[data-testid="graph-view"] [data-node-id]', (nodes) => new Set(nodes.map((n) => n.getAttribute('fill'))).size);
    assert.ok(fills > 3, `${fills} distinct fills`);
    // Each of the five largest nodes: its details give the mean over the CLI's members.
    const largest = [...reference.nodes].sort((a, b) => b.size - a.size || a.name.localeCompare(b.name)).slice(0, 5);
    for (const node of largest) {
      await page.click(`[data-node-id="${node.name}"]`);
      await page.waitForFunction((name) => document.querySelector('[data-testid="node-details"] h2')?.textContent === name, node.name);
      const mean = node.members.reduce((sum, m) => sum + confidence[m], 0) / node.members.length;
      const columns = await page.textContent('[data-testid="node-columns"]');
      assert.ok(columns.includes(`confidence`) && columns.includes(`mean ${mean.toFixed(4)} (${node.members.length} values)`), `${node.name}: ${columns} vs ${mean}`);
      assert.equal(await page.textContent('[data-testid="node-mistakes"]'), mistakesLine(node.members));
    }
    await shot('confidence');
    await page.keyboard.press('Escape');
  });

  test('the tooltip gives a node\'s error rate and top confusion, as the CLI\'s members and the file\'s predictions give', async () => {
    await page.selectOption('[data-testid="colour-by"]', 'errors');
    await page.waitForFunction(() => (document.querySelector('[data-testid="legend-title"]')?.textContent ?? '').startsWith('Error rate'));
    const withErrors = reference.nodes
      .filter((node) => node.members.some((m) => file.labels.data[m] !== file.preds.data[m]))
      .sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
    assert.ok(withErrors.length > 0, 'the demo network makes mistakes');
    for (const node of withErrors.slice(0, 3)) {
      await page.hover(`[data-node-id="${node.name}"]`);
      await page.waitForFunction((name) => document.querySelector('[data-testid="node-tooltip"] strong')?.textContent === name, node.name);
      assert.equal(await page.textContent('[data-testid="tooltip-mistakes"]'), mistakesLine(node.members));
    }
    await shot('errors');
  });

  test('"misclassified" highlights exactly the nodes with a mistake; a confused pair the nodes where it happens', async () => {
    const highlightedIds = () => page.$$eval('[data-testid="graph-view"] [data-node-id][data-highlighted="true"]', (nodes) => nodes.map((n) => n.getAttribute('data-node-id')).sort());
    const labels = file.labels.data;
    const preds = file.preds.data;
    await page.fill('[data-testid="class-search"]', 'misclass');
    await page.click('[data-testid="search-misclassified"]');
    await page.locator('[data-testid="highlighted-mistakes"]').waitFor();
    const expected = reference.nodes.filter((node) => node.members.some((m) => labels[m] !== preds[m])).map((n) => n.name).sort();
    assert.deepEqual(await highlightedIds(), expected);
    await page.click('[data-testid="highlighted-mistakes"] .chip-remove');

    // The class directory's first pair is the file's most frequent confusion.
    const counts = new Map();
    for (let i = 0; i < labels.length; i += 1) {
      if (labels[i] !== preds[i]) counts.set(`${labels[i]},${preds[i]}`, (counts.get(`${labels[i]},${preds[i]}`) ?? 0) + 1);
    }
    const [[topKey, topCount]] = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'en', { numeric: true }));
    const [label, pred] = topKey.split(',').map(Number);
    const names = file.class_names.data;
    await page.click('[data-testid="class-directory"] summary');
    const first = page.locator('[data-testid="confused-pair"]').first();
    assert.ok((await first.textContent()).startsWith(`${names[label]} → ${names[pred]}: ${topCount} samples`));
    await first.click();
    const where = reference.nodes.filter((node) => node.members.some((m) => labels[m] === label && preds[m] === pred)).map((n) => n.name).sort();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="graph-view"] [data-highlighted="true"]').length === n, where.length);
    assert.deepEqual(await highlightedIds(), where);
    assert.ok((await first.textContent()).includes(`${where.length} nodes`));
    await shot('confused-pair');
    await page.keyboard.press('Escape');
    await page.click('[data-testid="class-directory"] summary');
  });

  test('a clicked point lists its exact 10 nearest neighbours, nearest first, highlighted in both views and kept by the link', async () => {
    const layer = await page.getAttribute('.layer-item.selected', 'data-layer');
    const canvas = page.locator('[data-testid="projection-view"]');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    let sampleIdx = null;
    for (let i = 0; i < 400 && sampleIdx === null; i++) {
      const fx = 0.1 + 0.8 * ((i * 37) % 100) / 100;
      const fy = 0.1 + 0.8 * ((i * 61) % 100) / 100;
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
      if (await page.locator('[data-testid="point-tooltip"]').count() > 0) {
        sampleIdx = Number(/sample (\d+)/.exec(await page.textContent('[data-testid="point-tooltip"]'))[1]);
        await page.mouse.down();
        await page.mouse.up();
      }
    }
    assert.notEqual(sampleIdx, null, 'some point was clicked');
    await page.locator('[data-testid="neighbours"] li').first().waitFor();
    const listed = await page.$$eval('[data-testid="neighbours"] [data-sample-idx]', (items) => items.map((item) => ({ sampleIdx: Number(item.getAttribute('data-sample-idx')), distance: Number(item.getAttribute('data-distance')) })));
    const expected = bruteForceNeighbours(layer, sampleIdx, 10);
    assert.deepEqual(listed.map((n) => n.sampleIdx), expected.map((n) => n.sampleIdx));
    listed.forEach((n, i) => assert.ok(Math.abs(n.distance - expected[i].distance) < 1e-5, `${n.distance} vs ${expected[i].distance}`));
    // Thumbnails are listed; the projection highlights the sample and its ten neighbours.
    assert.equal(await page.locator('[data-testid="neighbours"] img').count(), 10);
    await page.waitForFunction(() => /^11 of \d+ points highlighted/.test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''));
    // The graph outlines the nodes holding them.
    const holding = reference.nodes.filter((node) => node.members.some((m) => expected.some((n) => n.sampleIdx === m))).map((n) => n.name).sort();
    const outlined = await page.$$eval('[data-testid="graph-view"] .graph-node.holds-neighbour', (nodes) => nodes.map((n) => n.getAttribute('data-node-id')).sort());
    assert.deepEqual(outlined, holding);
    await shot('neighbours');

    // "Export highlighted (CSV)" writes the eleven samples with the file's predictions and
    // confidence.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-selection"]')]);
    const [header, ...rows] = readFileSync(await download.path(), 'utf8').trim().split('\n');
    assert.equal(header, 'sample_idx,label,x,y,class,prediction,predicted_class,confidence');
    const exported = rows.map((row) => row.split(','));
    assert.deepEqual(exported.map((r) => Number(r[0])).sort((a, b) => a - b), [sampleIdx, ...expected.map((n) => n.sampleIdx)].sort((a, b) => a - b));
    for (const r of exported) {
      const s = Number(r[0]);
      assert.equal(Number(r[5]), file.preds.data[s]);
      assert.equal(r[6], file.class_names.data[file.preds.data[s]]);
      assert.ok(Math.abs(Number(r[7]) - file.confidence.data[s]) < 1e-6, `${r[7]} vs ${file.confidence.data[s]}`);
    }

    // The link reopens the list in a fresh context.
    await page.waitForTimeout(600);
    const link = page.url();
    assert.ok(link.includes('#'), link);
    const fresh = await openPage(browser.browser, link);
    await fresh.page.locator('[data-testid="neighbours"] li').first().waitFor({ timeout: 120_000 });
    const reopened = await fresh.page.$$eval('[data-testid="neighbours"] [data-sample-idx]', (items) => items.map((item) => Number(item.getAttribute('data-sample-idx'))));
    assert.deepEqual(reopened, expected.map((n) => n.sampleIdx));
    assert.match(await fresh.page.textContent('[data-testid="neighbours-panel"] h2'), new RegExp(`#${sampleIdx}$`));
    await fresh.page.context().close();

    // Three layers side by side: the sample's node is outlined in each layer.
    await page.click('[data-testid="mode-multilayer"]');
    await page.waitForFunction(() => {
      const summaries = [...document.querySelectorAll('[data-testid="layer-graph"] [data-testid="graph-summary"]')].map((s) => s.textContent);
      return summaries.length === 3 && summaries.every((s) => /^\d+ nodes/.test(s)) && !document.querySelector('[data-testid="progress"]');
    }, null, { timeout: 180_000 });
    const row = await page.$$eval('[data-testid="layer-graph"]', (graphs) => graphs.map((g) => g.getAttribute('data-layer')));
    for (const rowLayer of row) {
      const graph = cliGraph([demoPath, '--layer', rowLayer]);
      const holding = graph.nodes.filter((node) => node.members.includes(sampleIdx)).map((n) => n.name).sort();
      const shown = await page.$$eval(`[data-testid="layer-graph"][data-layer="${rowLayer}"] .graph-node.holds-sample`, (nodes) => nodes.map((n) => n.getAttribute('data-node-id')).sort());
      assert.deepEqual(shown, holding, rowLayer);
    }
    await shot('multilayer-sample');
    await page.click('[data-testid="mode-single"]');

    // Escape closes the list; nothing is highlighted any more.
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('[data-testid="neighbours-panel"]'));
    assert.deepEqual(errors, []);
  });

  test('points coloured right / wrong: the legend counts the file\'s mistakes among the projected points', async () => {
    await page.selectOption('[data-testid="point-colour"]', 'errors');
    const labels = file.labels.data;
    const preds = file.preds.data;
    const wrong = [...labels].filter((label, i) => label !== preds[i]).length;
    await page.waitForFunction((wrong) => (document.querySelector('[data-testid="projection-legend"]')?.textContent ?? '').includes(`wrong (${wrong} of ${5000})`), wrong);
    await shot('points-wrong');
    // Coloured by confidence: a sequential legend from the file's smallest to its largest value.
    await page.selectOption('[data-testid="point-colour"]', 'column:confidence');
    const finite = [...file.confidence.data].filter(Number.isFinite);
    const range = `confidence ${legendValue(Math.min(...finite))}`;
    await page.waitForFunction((range) => (document.querySelector('[data-testid="projection-legend"]')?.textContent ?? '').includes(range), range);
    assert.ok((await page.textContent('[data-testid="projection-legend"]')).includes(legendValue(Math.max(...finite))));
    assert.deepEqual(errors, []);
  });
});

describe('a file without thumbnails', () => {
  test('a node\'s examples are listed by sample index, the panel says the file has no images, and no image is broken', async () => {
    const { rows, labels } = synthRows(1500, 32, 3);
    const bytes = npzBytes({
      act_fc: npyBytes('<f4', [1500, 32], rows),
      labels: npyBytes('<u4', [1500], labels),
    });
    await dropFiles(page, [{ name: 'no-images.npz', bytes }]);
    await waitForDataset(page, 'no-images');
    await waitForGraph(page);
    const biggest = await page.$$eval('[data-testid="graph-view"] [data-node-id]', (nodes) => nodes.sort((a, b) => Number(b.getAttribute('data-size')) - Number(a.getAttribute('data-size')))[0].getAttribute('data-node-id'));
    await page.click(`[data-node-id="${biggest}"]`);
    await page.locator('[data-testid="no-images"]').waitFor();
    assert.ok(await page.locator('[data-testid="example-index"]').count() > 0);
    assert.equal(await page.locator('[data-testid="node-examples"] img, [data-testid="feature-vis"] img').count(), 0);
    // An example's index lists its neighbours.
    const sampleIdx = await page.getAttribute('[data-testid="example-index"] >> nth=0', 'data-sample-idx');
    await page.click('[data-testid="example-index"] >> nth=0');
    await page.locator('[data-testid="neighbours"] li').first().waitFor();
    assert.match(await page.textContent('[data-testid="neighbours-panel"] h2'), new RegExp(`#${sampleIdx}$`));
    await shot('no-images');
    assert.deepEqual(errors, []);
  });
});
