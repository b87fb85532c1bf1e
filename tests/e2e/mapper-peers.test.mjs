// The page's mapper graph against KeplerMapper 2.1 + scikit-learn directly (not against our
// own CLI): the peer fixtures of crates/topoact-core/tests/fixtures/kmapper (made by
// tools/kmapper/make_fixtures.py; provenance in PROVENANCE.md there) for the balanced cover
// and the adaptive (per-interval) epsilon, computed in the tab by the multi-threaded and the
// single-threaded worker. The fixture's data file is dropped on the page, every mapper
// parameter is set in the panel, and the page's "KeplerMapper JSON" export must hold
// KeplerMapper's nodes (names, members, order) and links.
//
// The demo file has a KeplerMapper fixture only for its first 1,500 rows of block4 with a
// uniform cover and one epsilon (already compared natively); the balanced and adaptive cases
// are on the fixtures' own data (1,200 x 64 activation-like tree, 1,500 x 12 low-dimensional).
//
// A subsample: on subsample6000.npz (6,000 x 32, 10 classes) the page maps the 5,000-sample,
// seed-7 stratified subsample with the app's defaults; subsample_case.json (made by
// tools/kmapper/make_subsample_case.py) holds the sample indices of that subsample and
// KeplerMapper's graph of exactly those rows in that order. The page's "Export projection
// (CSV)" (the file's own coordinates, drawn for the samples in use) must list those indices,
// and its "KeplerMapper JSON" export KeplerMapper's nodes (member ids mapped to samples through
// the indices), node order and links.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, dropFiles, launchBrowser, openPage, repoRoot, startServer, waitForDataset, waitForGraph } from './harness.mjs';

const FIXTURES = path.join(repoRoot, 'crates/topoact-core/tests/fixtures/kmapper');
const { cases } = JSON.parse(readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8'));
// Cases with a balanced cover or an adaptive epsilon whose lens the page computes (L2).
const CASES = ['tree_balanced30', 'low12_balanced_adaptive30', 'low12_adaptive40_q37', 'tree_adaptive30_q37'];

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

/** Sets a number input of the mapper panel (the page reacts to `change`). */
async function setNumber(page, id, value) {
  const input = page.locator(`[data-testid="${id}"]`);
  if ((await input.inputValue()) === String(value)) return;
  await input.fill(String(value));
  await input.dispatchEvent('change');
}

/** Sets a checkbox of the mapper panel. */
async function setChecked(page, id, on) {
  const box = page.locator(`[data-testid="${id}"]`);
  if ((await box.isChecked()) !== on) await box.setChecked(on);
}

/** The case's parameters, set in the panel. */
async function setParameters(page, kase) {
  assert.equal(kase.lens_kind, 'l2');
  await page.selectOption('[data-testid="param-lens"]', 'l2');
  await page.selectOption('[data-testid="param-cover"]', kase.cover);
  await setNumber(page, 'param-intervals', kase.n_cubes);
  await setNumber(page, 'param-overlap', Math.round(kase.perc_overlap * 100));
  await setNumber(page, 'param-min-samples', kase.min_samples);
  await setNumber(page, 'param-min-intersection', kase.min_intersection);
  await setChecked(page, 'param-dedup', kase.remove_duplicate_nodes);
  await page.selectOption('[data-testid="param-eps-mode"]', 'knn');
  const knn = kase.eps_adaptive ?? kase.eps_knn;
  assert.ok(knn, `${kase.name}: epsilon from k-NN distances`);
  await setNumber(page, 'param-eps-k', knn.k);
  await setNumber(page, 'param-eps-quantile', knn.quantile);
  await setChecked(page, 'param-eps-adaptive', Boolean(kase.eps_adaptive));
}

/** Exports the graph on screen as KeplerMapper JSON and parses it. */
async function exportKmapper(page) {
  await page.click('[data-testid="export-graph"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-graph-kmapper"]')]);
  await page.click('[data-testid="export-graph"]');
  return { text: readFileSync(await download.path(), 'utf8') };
}

/** Node names in the order they appear in a JSON text's `"nodes"` object (JSON.parse keeps
 *  insertion order for non-integer keys; node names are never integers). */
const nodeOrder = (graph) => Object.keys(graph.nodes);

function linkPairs(links) {
  return Object.entries(links).flatMap(([source, targets]) => targets.map((target) => [source, target].sort().join(' -- '))).sort();
}

async function checkCases(t, build, query) {
  const { page, errors } = await openPage(browser.browser, `${server.url}${query}`);
  await page.setViewportSize({ width: 1700, height: 1000 });
  for (const name of CASES) {
    const kase = cases.find((c) => c.name === name);
    assert.ok(kase, `case ${name} in cases.json`);
    const bytes = readFileSync(path.join(FIXTURES, kase.data));
    await dropFiles(page, [{ name: kase.data, bytes }]);
    await waitForDataset(page, kase.data.replace(/\.npy$/, ''));
    await setParameters(page, kase);
    const expectedEdges = Object.values(kase.links).reduce((sum, targets) => sum + targets.length, 0);
    // The graph of these parameters: KeplerMapper's counts, or (a different graph) whatever
    // the page settles on, which the comparison below then describes.
    await waitForGraph(page, [Object.keys(kase.nodes).length, expectedEdges], 60_000).catch(() => waitForGraph(page));
    assert.match(await page.textContent('[data-testid="param-eps"]'), kase.eps_adaptive ? /per interval/ : /whole layer/);
    const ours = JSON.parse((await exportKmapper(page)).text);
    assert.deepEqual(nodeOrder(ours), nodeOrder(kase), `${build} ${name}: node names and order`);
    for (const [node, members] of Object.entries(kase.nodes)) {
      assert.deepEqual([...ours.nodes[node]].sort((a, b) => a - b), [...members].sort((a, b) => a - b), `${build} ${name}: members of ${node}`);
    }
    assert.deepEqual(linkPairs(ours.links), linkPairs(kase.links), `${build} ${name}: links`);
    t.diagnostic(`${build} ${name}: ${Object.keys(ours.nodes).length} nodes, ${linkPairs(ours.links).length} links, as KeplerMapper's (${await page.textContent('[data-testid="param-eps"]')})`);
    await page.screenshot({ path: path.join(artifactsDir, `mapper-peers-${build}-${name}.png`) });
  }
  await page.close();
  assert.deepEqual(errors, []);
}

/** Clicks "Export projection (CSV)" and returns the `sample_idx` column. */
async function exportedSampleIndices(page) {
  const button = page.locator('[data-testid="export-projection-csv"]');
  await button.scrollIntoViewIfNeeded();
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const [header, ...rows] = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.equal(header, 'sample_idx,label,x,y,class');
  return rows.map((row) => Number(row.split(',')[0]));
}

/** The page maps the fixture's subsample; its graph must be KeplerMapper's on those rows. */
async function checkSubsample(t, build, query) {
  const { versions, case: kase } = JSON.parse(readFileSync(path.join(FIXTURES, 'subsample_case.json'), 'utf8'));
  assert.equal(versions.kmapper, '2.1.0');
  const { page, errors } = await openPage(browser.browser, `${server.url}${query}`);
  await page.setViewportSize({ width: 1700, height: 1000 });
  await dropFiles(page, [{ name: kase.data, bytes: readFileSync(path.join(FIXTURES, kase.data)) }]);
  await waitForDataset(page, kase.data.replace(/\.npz$/, ''));
  await setParameters(page, kase);
  await setNumber(page, 'param-seed', kase.subsample.seed);
  await page.selectOption('[data-testid="param-subsample"]', String(kase.subsample.size));
  const expectedEdges = Object.values(kase.links).reduce((sum, targets) => sum + targets.length, 0);
  await waitForGraph(page, [Object.keys(kase.nodes).length, expectedEdges], 60_000).catch(() => waitForGraph(page));
  // The samples in use: the projection from the file is drawn for exactly them, in row order.
  await page.waitForFunction((n) => new RegExp(`of ${n} points`).test(document.querySelector('[data-testid="projection-summary"]')?.textContent ?? ''), kase.subsample.size);
  const used = await exportedSampleIndices(page);
  assert.equal(used.length, kase.subsample.size, `${build}: ${used.length} samples in use`);
  assert.deepEqual(used, kase.indices, `${build}: the page's subsample is the fixture's (size ${kase.subsample.size}, seed ${kase.subsample.seed})`);
  assert.match(await page.textContent('[data-testid="param-eps"]'), /whole layer/);
  const ours = JSON.parse((await exportKmapper(page)).text);
  // Our eps (exact, over the subsample's rows) against scikit-learn's, which KeplerMapper used.
  const eps = Number(/DBSCAN\(eps=([^,]+),/.exec(ours.meta_data.clusterer)?.[1]);
  assert.ok(Math.abs(eps - kase.eps) <= 1e-12 * kase.eps, `${build} subsample: eps ${eps} vs scikit-learn's ${kase.eps}`);
  // KeplerMapper's ids are positions in the subsampled array; the page exports sample indices.
  const toSamples = (ids) => ids.map((id) => kase.indices[id]);
  assert.deepEqual(nodeOrder(ours), nodeOrder(kase), `${build} subsample: node names and order`);
  for (const [node, members] of Object.entries(kase.nodes)) {
    assert.deepEqual(ours.nodes[node], toSamples(members), `${build} subsample: members of ${node}`);
  }
  assert.deepEqual(linkPairs(ours.links), linkPairs(kase.links), `${build} subsample: links`);
  const nonEmpty = (links) => Object.fromEntries(Object.entries(links).filter(([, targets]) => targets.length > 0));
  assert.deepEqual(nonEmpty(ours.links), nonEmpty(kase.links), `${build} subsample: link lists in KeplerMapper's order`);
  t.diagnostic(`${build} subsample ${kase.subsample.size} of ${kase.n_samples} (seed ${kase.subsample.seed}): ${Object.keys(ours.nodes).length} nodes, ${linkPairs(ours.links).length} links, as KeplerMapper's (${await page.textContent('[data-testid="param-eps"]')})`);
  await page.screenshot({ path: path.join(artifactsDir, `mapper-peers-${build}-subsample.png`) });
  await page.close();
  assert.deepEqual(errors, []);
}

describe('the page against KeplerMapper 2.1 on a seeded subsample', () => {
  test('multi-threaded worker', async (t) => {
    await checkSubsample(t, 'threads', '');
  });

  test('single-threaded worker (?threads=1)', async (t) => {
    await checkSubsample(t, 'single', '?threads=1');
  });
});

describe('the page against KeplerMapper 2.1 (balanced cover, adaptive epsilon)', () => {
  test('multi-threaded worker', async (t) => {
    await checkCases(t, 'threads', '');
  });

  test('single-threaded worker (?threads=1)', async (t) => {
    await checkCases(t, 'single', '?threads=1');
  });
});
