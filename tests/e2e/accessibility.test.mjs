// Keyboard use and screen-reader names: Tab reaches the graph, the arrow keys move between
// nodes, Enter selects, Escape clears; the projection's drag modes have keys; axe-core
// (the accessibility engine, run in the page) finds no serious or critical violation on the
// demo's view, with a node selected and the panels open.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, launchBrowser, repoRoot, startServer, waitForDataset, waitForGraph } from './harness.mjs';

let server;
let browser;
let page;
let errors;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // axe-core is injected as a script: the page's CSP (no inline scripts) is bypassed for it.
  const context = await browser.browser.newContext({ bypassCSP: true, viewport: { width: 1500, height: 950 } });
  page = await context.newPage();
  errors = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(server.url);
  await waitForDataset(page);
  await waitForGraph(page);
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

/** Serious and critical violations axe-core finds in the page, as readable lines. */
async function axeViolations() {
  await page.addScriptTag({ path: path.join(repoRoot, 'node_modules/axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describe('keyboard and screen readers', () => {
  test('Tab reaches the graph; arrows move between nodes, Enter selects, Escape clears', async () => {
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'graph-view');
    }
    assert.ok(reached, 'Tab reaches the graph');
    assert.match(await page.getAttribute('[data-testid="graph-view"]', 'aria-label'), /Mapper graph of \w+: \d+ nodes/);
    await page.keyboard.press('ArrowRight');
    const first = await page.getAttribute('[data-testid="node-focus"]', 'data-node-idx');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const focused = await page.getAttribute('[data-testid="node-focus"]', 'data-node-idx');
    assert.notEqual(first, null);
    // The focused node's tooltip is shown, as on hover.
    const name = await page.getAttribute(`[data-testid="graph-view"] .graph-node[data-node-idx="${focused}"]`, 'data-node-id');
    assert.equal(await page.textContent('[data-testid="node-tooltip"] strong'), name);
    await page.keyboard.press('Enter');
    await page.waitForFunction((name) => document.querySelector('[data-testid="node-details"] h2')?.textContent === name, name);
    await page.screenshot({ path: path.join(artifactsDir, 'accessibility-keyboard.png') });
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('[data-testid="node-details"]'));
  });

  test('the projection\'s drag modes have keys', async () => {
    await page.focus('[data-testid="projection-view"]');
    await page.keyboard.press('r');
    assert.match(await page.getAttribute('[data-testid="mode-rectangle"]', 'class'), /active/);
    await page.keyboard.press('l');
    assert.match(await page.getAttribute('[data-testid="mode-lasso"]', 'class'), /active/);
    await page.keyboard.press('p');
    assert.match(await page.getAttribute('[data-testid="mode-pan"]', 'class'), /active/);
  });

  test('axe-core finds no serious or critical violation, with a node selected and the panels open', async () => {
    const biggest = await page.$$eval('[data-testid="graph-view"] .graph-node', (nodes) => nodes.sort((a, b) => Number(b.getAttribute('data-size')) - Number(a.getAttribute('data-size')))[0].getAttribute('data-node-id'));
    await page.click(`[data-testid="graph-view"] [data-node-id="${biggest}"]`);
    await page.locator('[data-testid="node-details"]').waitFor();
    for (const summary of await page.$$('details:not([open]) > summary')) await summary.click().catch(() => {});
    const violations = await axeViolations();
    assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
    assert.deepEqual(errors, []);
  });
});
