// End-to-end tests of the compute worker's two builds: on a cross-origin-isolated page the
// multi-threaded one (wasm threads, one per core), with `?threads=1` the single-threaded one.
// Both give the CLI's graph. (Hosts without the isolation headers: hosting.test.mjs.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, cliGraph, demoPath, launchBrowser, openPage, startServer, waitForDataset, waitForGraph } from './harness.mjs';

let isolated;
let browser;
let reference;

before(async () => {
  isolated = await startServer();
  browser = await launchBrowser();
  reference = cliGraph([demoPath]);
});

after(async () => {
  await browser?.stop();
  isolated?.stop();
});

/** Opens `url`, waits for the demo's graph; returns what the page says about its threads. */
async function demoGraphAt(url, shotName) {
  const { page, errors } = await openPage(browser.browser, url);
  await waitForDataset(page);
  const [nodes, edges] = await waitForGraph(page);
  const facts = await page.evaluate(() => ({
    isolated: self.crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
    threads: document.querySelector('[data-testid="compute-threads"]')?.textContent,
    title: document.querySelector('[data-testid="compute-threads"]')?.getAttribute('title'),
    nodeIds: [...document.querySelectorAll('[data-testid="graph-view"] [data-node-id]')].map((n) => n.getAttribute('data-node-id')).sort(),
  }));
  await page.screenshot({ path: path.join(artifactsDir, `threads-${shotName}.png`) });
  await page.close();
  return { ...facts, nodes, edges, errors };
}

function assertCliGraph(facts) {
  assert.equal(facts.nodes, reference.nodes.length);
  assert.equal(facts.edges, reference.edges.length);
  assert.deepEqual(facts.nodeIds, reference.nodes.map((node) => node.name).sort());
  assert.deepEqual(facts.errors, []);
}

describe('compute threads', () => {
  test('a cross-origin-isolated page computes on one thread per core and gives the CLI graph', async () => {
    const facts = await demoGraphAt(isolated.url, 'isolated');
    assert.equal(facts.isolated, true);
    assert.equal(facts.threads, facts.cores > 1 ? `${facts.cores} threads` : '1 thread');
    assertCliGraph(facts);
  });

  test('?threads=1 uses the single-threaded worker and gives the same graph', async () => {
    const facts = await demoGraphAt(`${isolated.url}?threads=1`, 'forced-single');
    assert.equal(facts.threads, '1 thread');
    assertCliGraph(facts);
  });
});
