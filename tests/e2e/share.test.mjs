// End-to-end tests of share links, exports and imports on the demo: a view set up in one
// browser context (layer, parameters, selected node, highlighted class, zoom, projection)
// is the same view when its link is opened in a fresh context; Back and Forward step
// through changes; a damaged link gives a message and a working view; the exported SVG
// holds the graph's nodes; the exported KeplerMapper JSON is the CLI's graph; an imported
// KeplerMapper graph shows the right node and edge counts.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, launchBrowser, openPage, repoRoot, smallNpy, startServer, waitForDataset, waitForGraph } from './harness.mjs';
import { spawnSync } from 'node:child_process';

let server;
let browser;
let page;
let errors;

const shot = (target, name) => target.screenshot({ path: path.join(artifactsDir, `share-${name}.png`) });
const VIEWPORT = { width: 1700, height: 1000 };

/** The view facts a link must restore. */
async function viewFacts(target) {
  return target.evaluate(() => {
    const graph = document.querySelector('[data-testid="graph-view"]');
    const group = graph?.querySelector('g');
    return {
      summary: document.querySelector('[data-testid="graph-summary"]')?.textContent,
      selected: [...document.querySelectorAll('[data-testid="graph-view"] .graph-node.selected')].map((n) => n.getAttribute('data-node-id')),
      highlighted: [...document.querySelectorAll('[data-testid="graph-view"] [data-highlighted="true"]')].map((n) => n.getAttribute('data-node-id')).sort(),
      zoom: Number(graph?.getAttribute('data-zoom')),
      transform: group?.getAttribute('transform'),
      layer: document.querySelector('.layer-item.selected')?.getAttribute('data-layer'),
      intervals: document.querySelector('[data-testid="param-intervals"]')?.value,
      projectionMethod: document.querySelector('[data-testid="projection-method"]')?.value,
      projectionZoom: Number(document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-zoom')),
      projectionSummary: document.querySelector('[data-testid="projection-summary"]')?.textContent,
    };
  });
}

/** Waits until the fragment holds a link and the page is idle; returns the URL. */
async function settledUrl(target) {
  await target.waitForFunction(() => location.hash.startsWith('#v1.') && !document.querySelector('[data-testid="progress"]'));
  await target.waitForTimeout(700);
  return target.url();
}

const translation = (transform) => transform.match(/translate\(([-\d.]+) ([-\d.]+)\) scale\(([-\d.]+)\)/).slice(1).map(Number);

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  ({ page, errors } = await openPage(browser.browser, server.url));
  await page.setViewportSize(VIEWPORT);
  await waitForDataset(page);
  await waitForGraph(page);
  await settledUrl(page); // the opening view's history entry
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

describe('share links', () => {
  let link;
  let facts;
  let zoomBefore;
  const reference = () => cliGraph([demoPath, '--layer', 'block10', '--intervals', '20']);

  test('a view set up in one context is the same view when its link is opened in a fresh one', async () => {
    await page.click('[data-testid="layer-list"] [data-layer="block10"]');
    await waitForGraph(page);
    await page.fill('[data-testid="param-intervals"]', '20');
    await page.locator('[data-testid="param-intervals"]').dispatchEvent('change');
    const expected = reference();
    await waitForGraph(page, [expected.nodes.length, expected.edges.length]);
    const chosen = [...expected.nodes].sort((a, b) => b.size - a.size)[0];
    await page.click(`[data-testid="graph-view"] [data-node-id="${chosen.name}"]`);
    // Highlight the second class of the chosen node (so some node carries it).
    const className = expected.class_names[chosen.top_classes[1].class_idx];
    await page.fill('[data-testid="class-search"]', className.toLowerCase());
    await page.click(`[data-testid="class-suggestion"][data-class="${className}"]`);
    await page.click('[data-testid="zoom-in"]');
    await page.click('[data-testid="zoom-in"]');
    // Zoom the projection too (its camera is part of the view).
    zoomBefore = (await viewFacts(page)).projectionZoom;
    const canvas = await page.locator('[data-testid="projection-view"]').boundingBox();
    await page.mouse.move(canvas.x + canvas.width * 0.6, canvas.y + canvas.height * 0.4);
    await page.mouse.wheel(0, -300);
    link = await settledUrl(page);
    facts = await viewFacts(page);
    assert.deepEqual(facts.selected, [chosen.name]);
    assert.ok(facts.highlighted.length > 0);

    const context = await browser.browser.newContext({ viewport: VIEWPORT });
    const fresh = await context.newPage();
    const freshErrors = [];
    fresh.on('pageerror', (error) => freshErrors.push(String(error)));
    await fresh.goto(link);
    await waitForDataset(fresh);
    await waitForGraph(fresh, [expected.nodes.length, expected.edges.length]);
    await fresh.waitForFunction((name) => document.querySelector(`[data-testid="graph-view"] [data-node-id="${name}"]`)?.classList.contains('selected'), chosen.name);
    const restored = await viewFacts(fresh);
    assert.equal(restored.layer, 'block10');
    assert.equal(restored.intervals, '20');
    assert.deepEqual(restored.selected, facts.selected);
    assert.deepEqual(restored.highlighted, facts.highlighted);
    assert.ok(Math.abs(restored.zoom - facts.zoom) < 1e-3, `${restored.zoom} vs ${facts.zoom}`);
    const [x0, y0, s0] = translation(facts.transform);
    const [x1, y1, s1] = translation(restored.transform);
    assert.ok(Math.abs(x0 - x1) < 1 && Math.abs(y0 - y1) < 1 && Math.abs(s0 - s1) < 1e-4, `${facts.transform} vs ${restored.transform}`);
    assert.ok((await fresh.textContent('[data-testid="node-details"]')).includes(chosen.name));
    await fresh.waitForFunction(() => document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-complete') === 'true');
    const projection = await viewFacts(fresh);
    assert.equal(projection.projectionMethod, facts.projectionMethod);
    assert.ok(facts.projectionZoom > zoomBefore * 1.2, `the projection was zoomed (${zoomBefore} -> ${facts.projectionZoom})`);
    assert.ok(Math.abs(projection.projectionZoom - facts.projectionZoom) < 1e-3, `${projection.projectionZoom} vs ${facts.projectionZoom}`);
    assert.equal(projection.projectionSummary, facts.projectionSummary, 'the same points are highlighted');
    await shot(fresh, 'restored');
    assert.deepEqual(freshErrors, []);
    await context.close();
  });

  test('Back and Forward step through the changes', async () => {
    const before = await viewFacts(page);
    assert.equal(before.selected.length, 1);
    await page.keyboard.press('Escape'); // clears the selected node first
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="graph-view"] .graph-node.selected').length === 0);
    await settledUrl(page);
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="graph-view"] .graph-node.selected').length === 1);
    assert.deepEqual((await viewFacts(page)).selected, before.selected);
    await page.goForward();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="graph-view"] .graph-node.selected').length === 0);
    // Further back, step by step, to the layer before block10 (the demo opens on block4).
    const layers = [];
    for (let step = 0; step < 8; step += 1) {
      await page.goBack();
      await page.waitForTimeout(600);
      layers.push(await page.getAttribute('.layer-item.selected', 'data-layer'));
      if (layers.at(-1) === 'block4') break;
    }
    assert.equal(layers.at(-1), 'block4', layers.join(' <- '));
    await waitForGraph(page);
    assert.deepEqual(errors, []);
  });

  test('a damaged or future-version link shows a message and a working view', async () => {
    for (const [fragment, message] of [[link.split('#')[1].slice(0, -9), /damaged/i], ['v9.AAAA', /newer version/i], ['<script>alert(1)</script>', /not a TopoAct view link|damaged/i]]) {
      const context = await browser.browser.newContext({ viewport: VIEWPORT });
      const fresh = await context.newPage();
      const freshErrors = [];
      fresh.on('pageerror', (error) => freshErrors.push(String(error)));
      fresh.on('dialog', (dialog) => { freshErrors.push(`dialog ${dialog.message()}`); dialog.dismiss(); });
      await fresh.goto(`${server.url}#${fragment}`);
      await waitForDataset(fresh);
      await waitForGraph(fresh);
      // The message is still there once the default view has been computed.
      assert.match(await fresh.textContent('[data-testid="error-message"]'), message);
      assert.equal(await fresh.getAttribute('[data-testid="error-message"]', 'data-kind'), 'LinkProblem');
      assert.equal(await fresh.getAttribute('[data-testid="error-message"]', 'role'), 'alert');
      assert.doesNotMatch(await fresh.getAttribute('[data-testid="error-message"]', 'class'), /banner-info/);
      assert.deepEqual(freshErrors, []);
      await context.close();
    }
  });

  test('a link to a dropped file asks for that file and refuses a different one', async () => {
    const context = await browser.browser.newContext({ viewport: VIEWPORT });
    const fresh = await context.newPage();
    // Drop the demo file itself, make a link, then open the link and drop another file.
    await fresh.goto(server.url);
    await waitForDataset(fresh);
    const demoLink = await settledUrl(fresh);
    await fresh.setInputFiles('[data-testid="file-input"]', demoPath);
    await fresh.waitForFunction((old) => location.href !== old, demoLink, { timeout: 120_000 });
    const fileLink = await settledUrl(fresh);
    await context.close();

    // The link opened elsewhere asks for the file; the same file restores the view.
    const second = await browser.browser.newContext({ viewport: VIEWPORT });
    const opened = await second.newPage();
    await opened.goto(fileLink);
    await opened.locator('[data-testid="error-message"][data-kind="NeedsFile"]').waitFor();
    assert.match(await opened.textContent('[data-testid="error-message"]'), /fashion-efficientnet-lite0\.npz/);
    await opened.setInputFiles('[data-testid="file-input"]', demoPath);
    await waitForGraph(opened);
    assert.equal(await opened.locator('[data-testid="error-message"]').count(), 0);
    await second.close();
    // A different file gets a warning and the link is not applied as if it matched.
    const other = path.join(artifactsDir, 'share-other.npy');
    writeFileSync(other, smallNpy(60, 4));
    const third = await browser.browser.newContext({ viewport: VIEWPORT });
    const wrong = await third.newPage();
    await wrong.goto(fileLink);
    await wrong.locator('[data-testid="error-message"][data-kind="NeedsFile"]').waitFor();
    await wrong.setInputFiles('[data-testid="file-input"]', other);
    await waitForDataset(wrong, 'share-other');
    await waitForGraph(wrong);
    assert.match(await wrong.textContent('[data-testid="error-message"]'), /not the data the link was made with/);
    await third.close();
  });
});

describe('opening data by URL', () => {
  test('?data= loads a file over HTTP with progress, and its link carries the address', async () => {
    const context = await browser.browser.newContext({ viewport: VIEWPORT });
    const opened = await context.newPage();
    const dataUrl = `${server.url}demo/fashion-efficientnet-lite0.npz`;
    await opened.goto(`${server.url}?data=${encodeURIComponent(dataUrl)}`);
    await opened.locator('[data-testid="progress"]').waitFor();
    await waitForDataset(opened);
    await waitForGraph(opened);
    const link = await settledUrl(opened);
    await context.close();
    // The link alone (no ?data=) opens the same address.
    const fragmentOnly = `${server.url}#${link.split('#')[1]}`;
    const second = await browser.browser.newContext({ viewport: VIEWPORT });
    const again = await second.newPage();
    await again.goto(fragmentOnly);
    await again.waitForFunction((url) => (document.querySelector('[data-testid="progress-label"]')?.textContent ?? '').includes(`Loading ${url}`), dataUrl);
    await waitForDataset(again);
    await waitForGraph(again);
    assert.equal(await again.locator('[data-testid="error-message"]').count(), 0);
    await second.close();
  });

  test('an unreachable or missing address gets a message that says what to do', async () => {
    for (const [address, message] of [[`${server.url}no-such-file.npz`, /HTTP 404/], ['https://127.0.0.1:1/activations.npz', /CORS|download it and drop it/]]) {
      const context = await browser.browser.newContext({ viewport: VIEWPORT });
      const opened = await context.newPage();
      await opened.goto(`${server.url}?data=${encodeURIComponent(address)}`);
      await opened.locator('[data-testid="error-message"]').waitFor({ timeout: 60_000 });
      assert.match(await opened.textContent('[data-testid="error-message"]'), message);
      assert.equal(await opened.getAttribute('[data-testid="error-message"]', 'data-kind'), 'Network');
      assert.equal(await opened.locator('[data-testid="drop-zone"]').count(), 1, 'the page still works: files can be dropped');
      await context.close();
    }
  });
});

describe('exports and imports', () => {
  test('the exported SVG holds every node of the graph and no markup from the data', async () => {
    const [nodes] = await waitForGraph(page);
    await page.click('[data-testid="export-graph"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-graph-svg"]')]);
    const svg = readFileSync(await download.path(), 'utf8');
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.equal((svg.match(/<circle /g) ?? []).length, nodes);
    assert.ok(!/<script/i.test(svg));
    writeFileSync(path.join(artifactsDir, 'share-export.svg'), svg);
  });

  test('the graph and the projection export as PNG pictures', async () => {
    const png = async (open, button) => {
      if (open) await page.click(open);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      const bytes = readFileSync(await download.path());
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      assert.ok(bytes.length > 5_000, `${bytes.length} bytes`);
      return download.suggestedFilename();
    };
    const details = page.locator('[data-testid="export-graph"]');
    if (!(await page.isVisible('[data-testid="export-graph-png"]'))) await details.click();
    assert.match(await png(null, '[data-testid="export-graph-png"]'), /^topoact-.*\.png$/);
    assert.match(await png(null, '[data-testid="export-projection-png"]'), /projection\.png$/);
  });

  test('the exported KeplerMapper JSON is the graph the CLI computes', async () => {
    const layer = await page.getAttribute('.layer-item.selected', 'data-layer');
    const intervals = await page.inputValue('[data-testid="param-intervals"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-graph-kmapper"]')]);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
    const out = path.join(artifactsDir, 'share-cli-kmapper.json');
    const run = spawnSync(path.join(repoRoot, 'target/release/topoact'), ['mapper', demoPath, '--layer', layer, '--intervals', intervals, '--format', 'kmapper', '--quiet', '--out', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const cli = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(exported.nodes, cli.nodes);
    assert.deepEqual(exported.links, cli.links);
  });

  test('an imported KeplerMapper graph shows its node and edge counts', async () => {
    const out = path.join(artifactsDir, 'share-import-kmapper.json');
    const run = spawnSync(path.join(repoRoot, 'target/release/topoact'), ['mapper', demoPath, '--layer', 'head', '--intervals', '15', '--format', 'kmapper', '--quiet', '--out', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const expected = cliGraph([demoPath, '--layer', 'head', '--intervals', '15']);
    await page.setInputFiles('[data-testid="file-input"]', out);
    await waitForGraph(page, [expected.nodes.length, expected.edges.length]);
    const names = await page.$$eval('[data-testid="graph-view"] [data-node-id]', (nodes) => nodes.map((n) => n.getAttribute('data-node-id')).sort());
    assert.deepEqual(names, expected.nodes.map((n) => n.name).sort());
    assert.match(await page.textContent('[data-testid="load-status"]'), /imported: share-import-kmapper\.json/);
    // Its members are the demo's samples: a node's classes are derived from the labels.
    const biggest = [...expected.nodes].sort((a, b) => b.size - a.size)[0];
    await page.hover(`[data-testid="graph-view"] [data-node-id="${biggest.name}"]`);
    const tooltip = await page.textContent('[data-testid="node-tooltip"]');
    const top = expected.class_names[biggest.top_classes[0].class_idx];
    assert.ok(tooltip.includes(`${top} ${(biggest.top_classes[0].fraction * 100).toFixed(1)} %`), tooltip);
    await shot(page, 'imported');
    // TopoAct's node-link JSON opens the same way.
    const nodeLink = path.join(artifactsDir, 'share-import-node-link.json');
    const made = spawnSync(path.join(repoRoot, 'target/release/topoact'), ['mapper', demoPath, '--layer', 'block7', '--format', 'node-link', '--quiet', '--out', nodeLink], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const block7 = cliGraph([demoPath, '--layer', 'block7']);
    await page.setInputFiles('[data-testid="file-input"]', nodeLink);
    await waitForGraph(page, [block7.nodes.length, block7.edges.length]);
    assert.match(await page.textContent('[data-testid="load-status"]'), /imported: share-import-node-link\.json/);
    assert.deepEqual(errors, []);
  });

  test('a file that is not a graph gets a message and the view stays', async () => {
    const before = await page.textContent('[data-testid="graph-summary"]');
    const broken = path.join(artifactsDir, 'share-broken-graph.json');
    writeFileSync(broken, '{"nodes": {"<img src=x onerror=alert(1)>": [0, 1]}, "links": {"<img src=x onerror=alert(1)>": ["nowhere"]}}');
    page.once('dialog', (dialog) => { errors.push(`dialog ${dialog.message()}`); dialog.dismiss(); });
    await page.setInputFiles('[data-testid="file-input"]', broken);
    await page.locator('[data-testid="error-message"]').waitFor();
    assert.match(await page.textContent('[data-testid="error-message"]'), /not a graph this app can open/);
    assert.equal(await page.locator('[data-testid="error-message"] img').count(), 0, 'names are shown as text');
    assert.equal(await page.textContent('[data-testid="graph-summary"]'), before);
    assert.deepEqual(errors, []);
  });
});
