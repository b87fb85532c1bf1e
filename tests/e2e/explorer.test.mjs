// End-to-end tests of the single-layer explorer on the demo: the graph agrees with the
// native CLI on the same parameters; hover, click, Escape, search (partial and fuzzy),
// Jaccard threshold, parameter changes, colour-by, zoom and pan work.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, launchBrowser, openPage, startServer, waitForDataset, waitForGraph } from './harness.mjs';

let server;
let browser;
let page;
let errors;
let reference;

const shot = (name) => page.screenshot({ path: path.join(artifactsDir, `explorer-${name}.png`) });
const nodeIds = (selector) => page.$$eval(selector, (nodes) => nodes.map((node) => node.getAttribute('data-node-id')).sort());

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  reference = cliGraph([demoPath]);
  ({ page, errors } = await openPage(browser.browser, server.url));
  await waitForDataset(page);
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

describe('single-layer explorer', () => {
  test('the demo graph has the nodes and edges the CLI computes for the same parameters', async () => {
    const [nodes, edges] = await waitForGraph(page);
    assert.equal(nodes, reference.nodes.length);
    assert.equal(edges, reference.edges.length);
    assert.deepEqual(await nodeIds('[data-testid="graph-view"] [data-node-id]'), reference.nodes.map((node) => node.name).sort());
    await shot('graph');
    assert.deepEqual(errors, []);
  });

  test('hover shows size, mean lens and top classes', async () => {
    const biggest = [...reference.nodes].sort((a, b) => b.size - a.size)[0];
    await page.hover(`[data-node-id="${biggest.name}"]`);
    const tooltip = page.locator('[data-testid="node-tooltip"]');
    await tooltip.waitFor();
    const text = await tooltip.textContent();
    assert.match(text, new RegExp(`${biggest.name}${biggest.size} samples · mean lens \\d+\\.\\d{4}`));
    assert.match(text, /\d+\.\d %/);
    await shot('hover');
  });

  test('click selects a node and shows its top classes; Escape clears', async () => {
    const biggest = [...reference.nodes].sort((a, b) => b.size - a.size)[0];
    await page.click(`[data-node-id="${biggest.name}"]`);
    const details = page.locator('[data-testid="node-details"]');
    await details.waitFor();
    const text = await details.textContent();
    assert.ok(text.includes(biggest.name));
    const share = biggest.top_classes[0];
    assert.ok(text.includes(`${(share.fraction * 100).toFixed(1)} %`), text);
    assert.ok(text.includes(`${share.count} / ${biggest.size}`), text);
    await shot('selected');
    await page.keyboard.press('Escape');
    await details.waitFor({ state: 'detached' });
  });

  test('fuzzy search highlights exactly the nodes with that class in their top three', async () => {
    await page.fill('[data-testid="class-search"]', 'sneakr');
    const suggestion = page.locator('[data-testid="class-suggestion"]').first();
    assert.equal(await suggestion.getAttribute('data-class'), 'Sneaker');
    await suggestion.click();
    const sneakerIdx = (await page.$$eval('[data-testid="class-list"] .class-name', (items) => items.map((item) => item.textContent))).indexOf('Sneaker');
    const expected = reference.nodes.filter((node) => node.top_classes.some((share) => share.class_idx === sneakerIdx)).map((node) => node.name).sort();
    assert.ok(expected.length > 0);
    assert.deepEqual(await nodeIds('[data-highlighted="true"]'), expected);
    await shot('search-sneaker');
  });

  test('partial search suggests every class containing the text, and several can be highlighted', async () => {
    await page.fill('[data-testid="class-search"]', 'shirt');
    const suggested = await page.$$eval('[data-testid="class-suggestion"]', (items) => items.map((item) => item.getAttribute('data-class')));
    assert.deepEqual(suggested.sort(), ['Shirt', 'T-shirt/top']);
    await page.click('[data-testid="class-suggestion"][data-class="Shirt"]');
    assert.equal(await page.locator('[data-testid="highlighted-class"]').count(), 2);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelectorAll('[data-highlighted="true"]').length === 0);
  });

  test('the Jaccard threshold hides the weaker links', async () => {
    await page.locator('[data-testid="jaccard-threshold"]').fill('0.5');
    const visible = await page.$$eval('.graph-link', (links) => links.filter((link) => link.getAttribute('visibility') === 'visible').length);
    assert.equal(visible, reference.edges.filter((edge) => edge.jaccard > 0.5).length);
    await shot('threshold');
    await page.locator('[data-testid="jaccard-threshold"]').fill('0');
  });

  test('colour by dominant class shows a class legend', async () => {
    await page.selectOption('[data-testid="colour-by"]', 'class');
    await page.locator('.legend-class').first().waitFor();
    assert.ok((await page.textContent('[data-testid="legend"]')).includes('Ankle boot'));
    await shot('colour-class');
    await page.selectOption('[data-testid="colour-by"]', 'lens');
  });

  test('wheel zooms at the pointer, drag pans, Fit restores', async () => {
    const svg = page.locator('[data-testid="graph-view"]');
    const zoomBefore = Number(await svg.getAttribute('data-zoom'));
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await svg.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction((before) => Number(document.querySelector('[data-testid="graph-view"]').getAttribute('data-zoom')) > before * 1.5, zoomBefore);
    const transformBefore = await page.getAttribute('[data-testid="graph-view"] > g', 'transform');
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.4);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.25 + 100, box.y + box.height * 0.4 + 60, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(
      (before) => document.querySelector('[data-testid="graph-view"] > g').getAttribute('transform') !== before,
      transformBefore,
      { timeout: 5_000 },
    );
    await page.click('[data-testid="zoom-fit"]');
    await page.waitForFunction((before) => Number(document.querySelector('[data-testid="graph-view"]').getAttribute('data-zoom')) === before, zoomBefore, { timeout: 5_000 });
  });

  test('dragging a node moves it and its links, not the camera', async () => {
    const biggest = [...reference.nodes].sort((a, b) => b.size - a.size)[0];
    const circle = page.locator(`[data-node-id="${biggest.name}"]`);
    await circle.scrollIntoViewIfNeeded();
    const cxBefore = Number(await circle.getAttribute('cx'));
    const cyBefore = Number(await circle.getAttribute('cy'));
    const transformBefore = await page.getAttribute('[data-testid="graph-view"] > g', 'transform');
    const box = await circle.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 90, box.y + box.height / 2 + 50, { steps: 6 });
    await page.mouse.up();
    const cxAfter = Number(await circle.getAttribute('cx'));
    const cyAfter = Number(await circle.getAttribute('cy'));
    assert.ok(cxAfter > cxBefore && cyAfter > cyBefore, `moved from ${cxBefore},${cyBefore} to ${cxAfter},${cyAfter}`);
    assert.equal(await page.getAttribute('[data-testid="graph-view"] > g', 'transform'), transformBefore, 'the camera stays');
    // Every link of the node follows it.
    const ends = await page.$$eval('.graph-link', (links) => links.map((l) => [l.getAttribute('x1'), l.getAttribute('y1'), l.getAttribute('x2'), l.getAttribute('y2')].map(Number)));
    const touching = ends.filter(([x1, y1, x2, y2]) => (x1 === cxAfter && y1 === cyAfter) || (x2 === cxAfter && y2 === cyAfter));
    const stale = ends.filter(([x1, y1, x2, y2]) => (x1 === cxBefore && y1 === cyBefore) || (x2 === cxBefore && y2 === cyBefore));
    const degree = reference.edges.filter((e) => e.source === biggest.node_id || e.target === biggest.node_id).length;
    assert.equal(touching.length, degree, 'links at the new position');
    assert.equal(stale.length, 0, 'no link left at the old position');
    await shot('node-dragged');
  });

  test('the diagnostics panel charts the lens under its cover, the norms against random vectors and the node sizes', async () => {
    const panel = page.locator('[data-testid="diagnostics-panel"]');
    await panel.scrollIntoViewIfNeeded();
    const lens = page.locator('[data-testid="lens-chart"] svg');
    await lens.waitFor();
    assert.ok((await lens.textContent()).includes('Lens (l2norm) and its uniform cover (30 intervals)'));
    // background + at least one bar + one segment per interval
    assert.ok((await lens.locator('rect').count()) >= 1 + 1 + 30);
    const norms = await page.textContent('[data-testid="norm-chart"] svg');
    assert.match(norms, /L2 norms, \d+ dimensions: layer vs random vectors/);
    assert.ok(norms.includes('random vectors') && norms.includes('layer'));
    assert.match(await page.textContent('[data-testid="zero-fraction"]'), /^\d+\.\d % of the layer's values are exactly zero/);
    const sizes = reference.nodes.map((node) => node.size);
    const summary = await page.textContent('[data-testid="node-size-summary"]');
    assert.ok(summary.includes(`min ${Math.min(...sizes).toLocaleString('en-US')},`), summary);
    assert.ok(summary.includes(`max ${Math.max(...sizes).toLocaleString('en-US')}.`), summary);
    assert.ok((await page.textContent('[data-testid="node-size-chart"] svg')).includes(`Node sizes (${sizes.length} nodes)`));
    await shot('diagnostics');
    // Other parameters, then back: the first graph comes again from the page's cache (it was
    // cached before its norms came) and still charts them.
    const other = cliGraph([demoPath, '--intervals', '25']);
    const setIntervals = async (value) => {
      await page.fill('[data-testid="param-intervals"]', value);
      await page.locator('[data-testid="param-intervals"]').dispatchEvent('change');
    };
    await setIntervals('25');
    await waitForGraph(page, [other.nodes.length, other.edges.length]);
    await setIntervals('30');
    await waitForGraph(page, [reference.nodes.length, reference.edges.length]);
    await page.locator('[data-testid="norm-chart"] svg').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="norms-pending"]').count(), 0);
    await page.evaluate(() => window.scrollTo(0, 0));
  });

  test('changing a parameter recomputes the graph as the CLI does', async () => {
    const expected = cliGraph([demoPath, '--intervals', '20', '--overlap', '0.5']);
    await page.fill('[data-testid="param-intervals"]', '20');
    await page.locator('[data-testid="param-intervals"]').dispatchEvent('change');
    await page.selectOption('[data-testid="preset"]', '2');
    const [nodes, edges] = await waitForGraph(page, [expected.nodes.length, expected.edges.length]);
    assert.equal(nodes, expected.nodes.length);
    assert.equal(edges, expected.edges.length);
    await shot('params-changed');
    assert.deepEqual(errors, []);
  });
});

describe('every mapper parameter is editable', () => {
  test('lens, epsilon and min_intersection changed in the panel give the CLI graph', async () => {
    const expected = cliGraph([demoPath, '--intervals', '20', '--overlap', '0.5', '--lens', 'pc1', '--eps-knn', '4', '--eps-quantile', '0.4', '--min-intersection', '2']);
    await page.selectOption('[data-testid="param-lens"]', 'pc1');
    await waitForGraph(page);
    await page.fill('[data-testid="param-eps-k"]', '4');
    await page.locator('[data-testid="param-eps-k"]').dispatchEvent('change');
    await waitForGraph(page);
    await page.fill('[data-testid="param-eps-quantile"]', '0.4');
    await page.locator('[data-testid="param-eps-quantile"]').dispatchEvent('change');
    await waitForGraph(page);
    await page.fill('[data-testid="param-min-intersection"]', '2');
    await page.locator('[data-testid="param-min-intersection"]').dispatchEvent('change');
    const [nodes, edges] = await waitForGraph(page, [expected.nodes.length, expected.edges.length]);
    assert.equal(nodes, expected.nodes.length);
    assert.equal(edges, expected.edges.length);
    assert.deepEqual(await nodeIds('[data-testid="graph-view"] [data-node-id]'), expected.nodes.map((node) => node.name).sort());
    await shot('all-params');
    // Back to the defaults the later tests expect.
    await page.selectOption('[data-testid="param-lens"]', 'l2');
    await waitForGraph(page);
    await page.fill('[data-testid="param-min-intersection"]', '1');
    await page.locator('[data-testid="param-min-intersection"]').dispatchEvent('change');
    await waitForGraph(page);
    await page.selectOption('[data-testid="param-eps-mode"]', 'knn');
    await waitForGraph(page);
    assert.deepEqual(errors, []);
  });
});

describe('node details', () => {
  test('examples, feature-visualisation images and an enlarged example for the selected node', async () => {
    // The page now shows the graph of the parameter-change test above.
    const current = cliGraph([demoPath, '--intervals', '20', '--overlap', '0.5']);
    const biggest = [...current.nodes].sort((a, b) => b.size - a.size)[0];
    await page.click(`[data-node-id="${biggest.name}"]`);
    await page.locator('[data-testid="node-examples"]').waitFor();
    const thumbnails = page.locator('[data-testid="example-thumbnail"]');
    const expectedCount = biggest.top_classes.reduce((sum, share) => sum + Math.min(5, share.count), 0);
    assert.equal(await thumbnails.count(), expectedCount);
    const members = new Set(biggest.members);
    for (const idx of await thumbnails.evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-sample-idx'))))) {
      assert.ok(members.has(idx), `example ${idx} is a member of ${biggest.name}`);
    }
    // The demo's first layer (block4) carries activation images.
    await page.locator('[data-testid="mean-activation-image"]').waitFor();
    assert.equal(await page.locator('[data-testid="activation-thumbnail"]').count(), expectedCount);
    await thumbnails.first().click();
    const enlarged = page.locator('[data-testid="example-enlarged"]');
    await enlarged.waitFor();
    assert.match(await enlarged.textContent(), /sample #\d+ · /);
    await shot('examples');
    await enlarged.click();
    await enlarged.waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
  });
});

describe('class directory', () => {
  test('lists the classes of the graph with node counts; selecting several highlights their nodes', async () => {
    const current = cliGraph([demoPath, '--intervals', '20', '--overlap', '0.5']);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.click('[data-testid="class-directory"] summary');
    const names = await page.$$eval('[data-testid="directory-class"]', (items) => items.map((item) => item.getAttribute('data-class')));
    const present = new Set(current.nodes.flatMap((node) => node.top_classes.map((share) => current.class_names[share.class_idx])));
    assert.deepEqual([...names].sort(), [...present].sort());
    await page.check('[data-testid="directory-class"][data-class="Bag"]');
    await page.check('[data-testid="directory-class"][data-class="Trouser"]');
    const wanted = new Set([current.class_names.indexOf('Bag'), current.class_names.indexOf('Trouser')]);
    const expected = current.nodes.filter((node) => node.top_classes.some((share) => wanted.has(share.class_idx))).map((node) => node.name).sort();
    assert.deepEqual(await nodeIds('[data-highlighted="true"]'), expected);
    await shot('directory');
  });
});

describe('glyph mode', () => {
  test('draws every node as its averaged activation image, and turns off again', async () => {
    const current = cliGraph([demoPath, '--intervals', '20', '--overlap', '0.5']);
    await page.check('[data-testid="glyph-toggle"]');
    await page.waitForFunction((count) => document.querySelectorAll('[data-testid="node-glyph"]').length === count, current.nodes.length);
    const glyphIds = await page.$$eval('[data-testid="node-glyph"]', (items) => items.map((item) => item.getAttribute('data-node-id')).sort());
    assert.deepEqual(glyphIds, current.nodes.map((node) => node.name).sort());
    assert.match(await page.getAttribute('[data-testid="node-glyph"]', 'href'), /^data:image\/bmp;base64,/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('glyphs');
    await page.uncheck('[data-testid="glyph-toggle"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="node-glyph"]').length === 0);
    assert.deepEqual(errors, []);
  });
});
