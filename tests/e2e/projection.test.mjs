// End-to-end tests of the projections on the demo: the file's own t-SNE appears at once;
// UMAP and t-SNE are computed in the tab with progress and intermediate frames; a selected
// node lights up exactly its members (checked through the exported selection); a rectangle
// and a lasso select samples and the graph shades the nodes holding them by the right share;
// hovering a point shows its thumbnail, label and sample index; from 20,000 points a preview
// of the rows is drawn while the neighbour search runs, then replaced by the projection.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, dropFiles, launchBrowser, npyBytes, npzBytes, openPage, startServer, synthRows, waitForDataset, waitForGraph } from './harness.mjs';

let server;
let browser;
let page;
let errors;
let reference;

const N_DEMO = 5000;
const shot = (name) => page.screenshot({ path: path.join(artifactsDir, `projection-${name}.png`) });
const summary = () => page.textContent('[data-testid="projection-summary"]');
const highlightedCount = async () => Number((await summary()).match(/^(\d+) of (\d+) points highlighted/)?.[1]);

/** Waits for a finished projection whose stage line mentions `label`. */
async function waitForProjection(label, timeout = 300_000) {
  await page.waitForFunction(
    (label) => {
      const canvas = document.querySelector('[data-testid="projection-view"]');
      const stage = document.querySelector('[data-testid="projection-stage"]')?.textContent ?? '';
      return canvas?.getAttribute('data-complete') === 'true' && stage.includes(label) && !document.querySelector('[data-testid="projection-progress"]');
    },
    label,
    { timeout },
  );
}

/** Clicks "Export highlighted (CSV)" and parses the file: [{ sample, label, x, y }]. */
async function exportSelection() {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-selection"]')]);
  const text = readFileSync(await download.path(), 'utf8');
  const [header, ...rows] = text.trim().split('\n');
  // The demo holds predictions and a confidence column: they follow the fixed fields.
  assert.equal(header, 'sample_idx,label,x,y,class,prediction,predicted_class,confidence');
  return rows.map((row) => {
    const [sample, label, x, y] = row.split(',');
    return { sample: Number(sample), label: label === '' ? null : Number(label), x: Number(x), y: Number(y) };
  });
}

/** Drags on the projection canvas between fractions of its box. */
async function dragOnCanvas(points) {
  const canvas = page.locator('[data-testid="projection-view"]');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const at = ([fx, fy]) => [box.x + box.width * fx, box.y + box.height * fy];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const point of points.slice(1)) await page.mouse.move(...at(point), { steps: 4 });
  await page.mouse.up();
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  reference = cliGraph([demoPath]);
  ({ page, errors } = await openPage(browser.browser, server.url));
  await page.setViewportSize({ width: 1700, height: 1000 });
  await waitForDataset(page);
  await waitForGraph(page);
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

describe('projections', () => {
  test("the file's own t-SNE of the layer appears without computing", async () => {
    await waitForProjection('t-SNE from the file');
    assert.equal(await summary(), `0 of ${N_DEMO} points highlighted`);
    assert.ok((await page.textContent('[data-testid="projection-legend"]')).includes('Ankle boot'));
    await shot('file-tsne');
  });

  test('UMAP is computed in the tab with progress, and its final picture replaces the frames', async () => {
    const versionBefore = Number(await page.getAttribute('[data-testid="projection-view"]', 'data-version'));
    await page.selectOption('[data-testid="projection-method"]', 'umap');
    await page.locator('[data-testid="projection-progress"]').waitFor({ timeout: 30_000 });
    await shot('umap-progress');
    await waitForProjection('UMAP (20 neighbours');
    assert.ok(Number(await page.getAttribute('[data-testid="projection-view"]', 'data-version')) > versionBefore);
    await shot('umap');
  });

  test('t-SNE streams intermediate frames while it runs, then finishes', async () => {
    const versionBefore = Number(await page.getAttribute('[data-testid="projection-view"]', 'data-version'));
    await page.selectOption('[data-testid="projection-method"]', 'tsne');
    // An intermediate frame: a new version while the computation is still running.
    await page.waitForFunction(
      (before) => {
        const canvas = document.querySelector('[data-testid="projection-view"]');
        return Number(canvas.getAttribute('data-version')) > before && canvas.getAttribute('data-complete') === 'false';
      },
      versionBefore,
      { timeout: 120_000 },
    );
    await shot('tsne-frame');
    await waitForProjection('t-SNE (perplexity 50)');
    await shot('tsne');
    assert.deepEqual(errors, []);
  });

  test('a selected node lights up exactly its members', async () => {
    const node = [...reference.nodes].sort((a, b) => b.size - a.size)[3];
    await page.locator(`[data-node-id="${node.name}"]`).scrollIntoViewIfNeeded();
    await page.click(`[data-node-id="${node.name}"]`);
    await page.waitForFunction((size) => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith(`${size} of`), node.size);
    const exported = await exportSelection();
    assert.deepEqual(exported.map((row) => row.sample).sort((a, b) => a - b), [...node.members].sort((a, b) => a - b));
    await shot('node-members');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith('0 of'));
  });

  test('a rectangle selects samples; the graph shades the nodes holding them by their share', async () => {
    await page.click('[data-testid="mode-rectangle"]');
    await dragOnCanvas([[0.3, 0.3], [0.65, 0.7]]);
    await page.locator('[data-testid="selection-details"]').waitFor();
    const selected = await highlightedCount();
    assert.ok(selected > 0, await summary());
    const samples = new Set((await exportSelection()).map((row) => row.sample));
    assert.equal(samples.size, selected);
    const shown = Object.fromEntries(await page.$$eval('[data-testid="graph-view"] [data-node-id]', (nodes) =>
      nodes.map((n) => [n.getAttribute('data-node-id'), n.getAttribute('data-selection-fraction')])));
    let shaded = 0;
    for (const node of reference.nodes) {
      const share = node.members.filter((s) => samples.has(s)).length / node.members.length;
      assert.equal(shown[node.name], share.toFixed(4), node.name);
      if (share > 0) shaded += 1;
    }
    assert.ok(shaded > 0, 'some node holds selected samples');
    assert.match(await page.textContent('[data-testid="selection-details"]'), new RegExp(`Selection: ${selected.toLocaleString('en-US')} samples`));
    await page.locator('[data-testid="selection-example"]').first().waitFor();
    await shot('rectangle-selection');
  });

  test('a lasso selects the samples inside it', async () => {
    await page.click('[data-testid="mode-lasso"]');
    await dragOnCanvas([[0.2, 0.2], [0.8, 0.25], [0.75, 0.8], [0.25, 0.75]]);
    await page.waitForFunction(() => /^[1-9]\d* of/.test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''));
    await shot('lasso-selection');
    await page.click('[data-testid="mode-pan"]');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith('0 of'));
  });

  test('hovering a point shows its thumbnail, label and sample index', async () => {
    const canvas = page.locator('[data-testid="projection-view"]');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    let found = false;
    for (let i = 0; i < 400 && !found; i++) {
      const fx = 0.1 + 0.8 * ((i * 37) % 100) / 100;
      const fy = 0.1 + 0.8 * ((i * 61) % 100) / 100;
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
      found = await page.locator('[data-testid="point-tooltip"]').count() > 0;
    }
    assert.ok(found, 'some point was hovered');
    await page.locator('[data-testid="point-thumbnail"]').waitFor();
    const text = await page.textContent('[data-testid="point-tooltip"]');
    assert.match(text, /sample \d+/);
    assert.ok(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'].some((name) => text.includes(name)), text);
    assert.match(await page.getAttribute('[data-testid="point-thumbnail"]', 'src'), /^data:image\//);
    await shot('hover');
    assert.deepEqual(errors, []);
  });

  test("colour by lens uses the graph's own lens, whichever it is", async () => {
    const legend = () => page.textContent('[data-testid="projection-legend"]');
    await page.selectOption('[data-testid="point-colour"]', 'lens');
    await page.waitForFunction(() => (document.querySelector('[data-testid="projection-legend"]')?.textContent ?? '').includes('l2norm'));
    await page.selectOption('[data-testid="param-lens"]', 'pc1');
    await waitForGraph(page);
    await page.waitForFunction(() => (document.querySelector('[data-testid="projection-legend"]')?.textContent ?? '').includes('pc1'));
    assert.doesNotMatch(await legend(), /l2norm/);
    await shot('colour-by-pc1-lens');
    assert.deepEqual(errors, []);
  });
});

describe('a projection of many points', () => {
  test('a preview of the rows is drawn while the neighbours are searched, then the projection replaces it', async () => {
    const n = 24_000;
    const { rows, labels } = synthRows(n, 32, 11);
    const bytes = npzBytes({
      act_wide: npyBytes('<f4', [n, 32], rows),
      labels: npyBytes('<u4', [n], labels),
    });
    await dropFiles(page, [{ name: 'many-points.npz', bytes }]);
    await waitForDataset(page, 'many-points');
    await waitForGraph(page);
    const versionBefore = Number(await page.getAttribute('[data-testid="projection-view"]', 'data-version'));
    await page.selectOption('[data-testid="projection-method"]', 'umap');
    // The preview: a drawn frame, not complete, whose stage says what it is.
    await page.waitForFunction(
      (before) => {
        const canvas = document.querySelector('[data-testid="projection-view"]');
        const stage = document.querySelector('[data-testid="projection-stage"]')?.textContent ?? '';
        return Number(canvas.getAttribute('data-version')) > before && canvas.getAttribute('data-complete') === 'false' && stage.includes('preview: principal components');
      },
      versionBefore,
      { timeout: 120_000 },
    );
    assert.match(await summary(), /of 24000 points highlighted/);
    await shot('preview');
    await waitForProjection('UMAP (20 neighbours');
    assert.doesNotMatch(await page.textContent('[data-testid="projection-stage"]'), /preview/);
    assert.match(await summary(), /of 24000 points highlighted/);
    assert.deepEqual(errors, []);
  });
});
