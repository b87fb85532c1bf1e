// End-to-end tests of the foundation: the demo loads, files reach the worker by drop and
// by the picker, progress and cancel work, the UI stays responsive during a big parse,
// bad input leaves the previous dataset loaded, and a worker that cannot start is reported.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, dropFiles, launchBrowser, openPage, repoRoot, smallNpy, startServer, waitForDataset, waitForGraph, writeSparseNpy } from './harness.mjs';

let server;
let browser;
let scratch;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  scratch = mkdtempSync(path.join(tmpdir(), 'topoact-e2e-'));
});

after(async () => {
  await browser?.stop();
  server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('foundation', () => {
  test('the demo dataset loads without console errors and shows name, layers and size', async () => {
    const { page, errors } = await openPage(browser.browser, server.url);
    await waitForDataset(page);
    const name = await page.textContent('[data-testid="dataset-name"]');
    const size = await page.textContent('[data-testid="dataset-size"]');
    const layers = await page.locator('[data-testid="layer-list"] [data-layer]').count();
    assert.match(size, /^[\d,]+ samples · \d+ layers · \d+ classes$/);
    const samples = Number(size.split(' ')[0].replaceAll(',', ''));
    assert.ok(samples >= 5000, `the demo has ${samples} samples`);
    assert.ok(layers >= 3, `the demo has ${layers} layers`);
    assert.ok(name.length > 0);
    await page.screenshot({ path: path.join(artifactsDir, 'foundation-demo.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a file dropped through a DataTransfer is parsed by the worker', async () => {
    const { page, errors } = await openPage(browser.browser, server.url);
    await waitForDataset(page);
    await dropFiles(page, [{ name: 'dropped.npy', bytes: smallNpy(123, 7) }]);
    await waitForDataset(page, 'dropped.npy');
    assert.equal(await page.textContent('[data-testid="dataset-size"]'), '123 samples · 1 layers · 0 classes');
    assert.equal(await page.getAttribute('[data-testid="layer-list"] [data-layer]', 'data-layer'), 'dropped');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a file that is not an activation file gives a message and keeps the dataset', async () => {
    const { page } = await openPage(browser.browser, server.url);
    await waitForDataset(page);
    const before = await page.textContent('[data-testid="dataset-name"]');
    await dropFiles(page, [{ name: 'notes.npy', bytes: Buffer.from('these are my notes, not a numpy file') }]);
    const banner = page.locator('[data-testid="error-message"]');
    await banner.waitFor();
    assert.match(await banner.textContent(), /notes\.npy/);
    assert.equal(await page.textContent('[data-testid="dataset-name"]'), before);
    await page.screenshot({ path: path.join(artifactsDir, 'foundation-bad-file.png') });
    await page.keyboard.press('Escape');
    await banner.waitFor({ state: 'detached' });
    await page.close();
  });

  test('NaN in the activations is reported, and the rows can be dropped in one click', async () => {
    const { page } = await openPage(browser.browser, server.url);
    await waitForDataset(page);
    const bytes = smallNpy(50, 4);
    const headerLength = bytes.length - 50 * 4 * 4;
    bytes.writeFloatLE(NaN, headerLength + (7 * 4 + 2) * 4);
    bytes.writeFloatLE(Infinity, headerLength + (30 * 4) * 4);
    await dropFiles(page, [{ name: 'with-nan.npy', bytes }]);
    const banner = page.locator('[data-testid="error-message"]');
    await banner.waitFor();
    const message = await banner.textContent();
    assert.match(message, /NaN or infinity/);
    assert.match(message, /7/);
    await page.screenshot({ path: path.join(artifactsDir, 'foundation-nonfinite.png') });
    await page.click('[data-testid="drop-nonfinite"]');
    await waitForDataset(page, 'with-nan.npy');
    assert.equal(await page.textContent('[data-testid="dataset-size"]'), '48 samples · 1 layers · 0 classes');
    await page.close();
  });

  test('a 200 MB .npy is parsed in the worker while the UI stays responsive', async () => {
    const { page, errors } = await openPage(browser.browser, server.url);
    await waitForDataset(page);
    const layerItems = page.locator('[data-testid="layer-list"] [data-layer]');
    const big = writeSparseNpy(path.join(scratch, 'big-200mb.npy'), 50_000, 1_000);
    await page.setInputFiles('[data-testid="file-input"]', big);
    await page.locator('[data-testid="progress"]').waitFor();
    // While the worker parses, a click on a layer must be answered by the UI thread.
    const target = layerItems.nth(1);
    await target.click();
    const reacted = await page.waitForFunction(() => {
      const item = document.querySelectorAll('[data-testid="layer-list"] [data-layer]')[1];
      return item?.getAttribute('aria-selected') === 'true' && { parsing: document.querySelector('[data-testid="progress"]') !== null };
    });
    assert.equal((await reacted.jsonValue()).parsing, true, 'the UI reacted while the parse was still running');
    await waitForDataset(page, 'big-200mb.npy');
    assert.equal(await page.textContent('[data-testid="dataset-size"]'), '50,000 samples · 1 layers · 0 classes');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('cancel stops a long parse and keeps the previous dataset', async () => {
    const { page } = await openPage(browser.browser, server.url);
    await waitForDataset(page);
    // The demo's first graph first, so the only work left is the parse (a graph the parse
    // interrupted is computed again after a cancel, and would write its own status line).
    await waitForGraph(page);
    const graphBefore = await page.textContent('[data-testid="graph-summary"]');
    const before = await page.textContent('[data-testid="dataset-name"]');
    const huge = writeSparseNpy(path.join(scratch, 'huge.npy'), 300_000, 1_024);
    await page.setInputFiles('[data-testid="file-input"]', huge);
    await page.locator('[data-testid="progress"]').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="progress"]')?.getAttribute('aria-valuenow') || 0) > 0);
    await page.screenshot({ path: path.join(artifactsDir, 'foundation-progress.png') });
    await page.click('[data-testid="cancel"]');
    await page.locator('[data-testid="progress"]').waitFor({ state: 'detached' });
    assert.match(await page.textContent('[data-testid="load-status"]'), /Cancelled/);
    assert.equal(await page.textContent('[data-testid="dataset-name"]'), before);
    assert.equal(await page.textContent('[data-testid="graph-summary"]'), graphBefore);
    await page.close();
  });

  test('a worker that cannot start says so in the banner', async () => {
    // dist/ as it is (symbolic links), except that neither worker build has its wasm: the
    // loader's start fails and it posts CouldNotStart.
    const dist = path.join(repoRoot, 'dist');
    const broken = path.join(scratch, 'dist-without-worker');
    mkdirSync(path.join(broken, 'pkg'), { recursive: true });
    for (const entry of readdirSync(dist)) {
      if (entry !== 'pkg' && entry !== 'pkg-threads') symlinkSync(path.join(dist, entry), path.join(broken, entry));
    }
    for (const entry of readdirSync(path.join(dist, 'pkg'))) {
      if (entry !== 'worker_bg.wasm') symlinkSync(path.join(dist, 'pkg', entry), path.join(broken, 'pkg', entry));
    }
    const brokenServer = await startServer({ root: broken });
    try {
      const { page } = await openPage(browser.browser, brokenServer.url);
      const banner = page.locator('[data-testid="error-message"]');
      await banner.waitFor({ timeout: 30_000 });
      assert.match(await banner.textContent(), /The compute worker could not start/);
      await page.screenshot({ path: path.join(artifactsDir, 'foundation-worker-cannot-start.png') });
      await page.close();
    } finally {
      brokenServer.stop();
    }
  });
});
