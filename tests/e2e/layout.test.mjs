// End-to-end tests of the page layout, where the graph leads, on the demo as a first visit
// sees it (no remembered side-bar choice):
// - at 1280 x 720, 1500 x 950 and 2560 x 1440 the graph view is the largest view (at
//   1500 x 950 at least 60 % of the window's width and 70 % of the height below the header),
//   its view box has its box's aspect, the fitted graph fills it, and the page never scrolls
//   sideways (screenshots layout-<w>x<h>.png in the artifacts);
// - the divider resizes the split with the mouse and with the arrow keys; the split is in
//   the link (a fresh browser opening it shows the same split);
// - the side bar of panels opens and closes and the page still fits the window;
// - a node of 5 samples lights up in the projection: in the exported PNG its points differ
//   from the faded background and from the other points, each a ringed mark at least 7 px wide.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { artifactsDir, launchBrowser, startServer, waitForDataset, waitForGraph } from './harness.mjs';

let server;
let browser;

const SIZES = [
  { width: 1280, height: 720 },
  { width: 1500, height: 950 },
  { width: 2560, height: 1440 },
];

/** A fresh browser context at `viewport` on `url` (the demo by default), with the graph drawn. */
async function openDemo(viewport, url = server.url) {
  const context = await browser.browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(url);
  await waitForDataset(page);
  await waitForGraph(page);
  return { context, page, errors };
}

/** Boxes of the views and what the page measures of itself. */
function measure(page) {
  return page.evaluate(() => {
    const box = (selector) => {
      const rect = document.querySelector(selector)?.getBoundingClientRect();
      return rect ? { x: rect.x, y: rect.y, width: rect.width, height: rect.height, right: rect.right, bottom: rect.bottom } : null;
    };
    const svg = document.querySelector('[data-testid="graph-view"]');
    const nodes = svg.querySelector('g.nodes')?.getBoundingClientRect();
    return {
      innerWidth,
      innerHeight,
      scrollWidth: document.scrollingElement.scrollWidth,
      headerBottom: document.querySelector('.header').getBoundingClientRect().bottom,
      graph: box('[data-testid="graph-view"]'),
      projection: box('[data-testid="projection-view"]'),
      sidePanel: box('[data-testid="side-panel"]'),
      nodes: nodes && { x: nodes.x, y: nodes.y, right: nodes.right, bottom: nodes.bottom, width: nodes.width, height: nodes.height },
      viewBox: svg.getAttribute('viewBox').split(' ').map(Number),
      split: Number(document.querySelector('[data-testid="views-split"]').getAttribute('data-split')),
      panelsOpen: document.querySelector('[data-testid="panels-toggle"]').getAttribute('aria-expanded') === 'true',
    };
  });
}

const area = (box) => box.width * box.height;
const pct = (x) => `${(100 * x).toFixed(1)} %`;

/** The view box has the SVG's aspect, and the fitted graph lies inside the SVG and fills it
 *  in one direction at least (fit leaves a 30-unit margin). */
function assertFittedInItsBox(m, label) {
  const [, , vbWidth, vbHeight] = m.viewBox;
  assert.ok(Math.abs(vbWidth / vbHeight - m.graph.width / m.graph.height) < 0.01 * (vbWidth / vbHeight), `${label}: view box ${m.viewBox} for ${m.graph.width} x ${m.graph.height}`);
  assert.ok(m.nodes.x >= m.graph.x - 1 && m.nodes.right <= m.graph.right + 1 && m.nodes.y >= m.graph.y - 1 && m.nodes.bottom <= m.graph.bottom + 1, `${label}: nodes ${JSON.stringify(m.nodes)} inside ${JSON.stringify(m.graph)}`);
  const fills = Math.max(m.nodes.width / m.graph.width, m.nodes.height / m.graph.height);
  assert.ok(fills > 0.8, `${label}: the graph fills ${pct(fills)} of its box`);
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG: { width, height, pixel(x, y) -> [r, g, b] }. */
function decodePng(bytes) {
  assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
  let offset = 8;
  let header;
  const data = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.subarray(offset + 4, offset + 8).toString('latin1');
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8], colour: body[9], interlace: body[12] };
    if (type === 'IDAT') data.push(body);
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  assert.equal(header.depth, 8);
  assert.equal(header.interlace, 0);
  const channels = { 2: 3, 6: 4 }[header.colour];
  assert.ok(channels, `colour type ${header.colour}`);
  const raw = inflateSync(Buffer.concat(data));
  const stride = header.width * channels;
  const out = Buffer.alloc(stride * header.height);
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? out[y * stride + i - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels] : 0;
      let predicted;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
          predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`PNG filter ${filter}`);
      }
      out[y * stride + i] = (x + predicted) & 0xff;
    }
  }
  return {
    width: header.width,
    height: header.height,
    pixel: (x, y) => [...out.subarray((y * header.width + x) * channels, (y * header.width + x) * channels + 3)],
  };
}

/** The 4-connected components of the pixels for which `marked(x, y)` holds: their boxes. */
function components(image, marked) {
  const seen = new Uint8Array(image.width * image.height);
  const found = [];
  for (let y0 = 0; y0 < image.height; y0++) {
    for (let x0 = 0; x0 < image.width; x0++) {
      if (seen[y0 * image.width + x0] || !marked(x0, y0)) continue;
      const box = { x0, y0, x1: x0, y1: y0, pixels: 0, ring: 0 };
      const stack = [[x0, y0]];
      seen[y0 * image.width + x0] = 1;
      while (stack.length) {
        const [x, y] = stack.pop();
        box.pixels += 1;
        const [r, g, b] = image.pixel(x, y);
        if (r < 60 && g < 60 && b < 60) box.ring += 1;
        box.x0 = Math.min(box.x0, x); box.x1 = Math.max(box.x1, x);
        box.y0 = Math.min(box.y0, y); box.y1 = Math.max(box.y1, y);
        for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]]) {
          if (nx < 0 || ny < 0 || nx >= image.width || ny >= image.height) continue;
          if (seen[ny * image.width + nx] || !marked(nx, ny)) continue;
          seen[ny * image.width + nx] = 1;
          stack.push([nx, ny]);
        }
      }
      found.push(box);
    }
  }
  return found;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser({ openPanels: false });
});

after(async () => {
  await browser?.stop();
  server?.stop();
});

describe('a layout where the graph leads', () => {
  for (const size of SIZES) {
    test(`at ${size.width} x ${size.height} the graph is the largest view and nothing scrolls sideways`, async (t) => {
      const { context, page, errors } = await openDemo(size);
      try {
        // The fitted graph follows its measured box (the observer reports after layout).
        await page.waitForFunction(() => {
          const svg = document.querySelector('[data-testid="graph-view"]');
          const [, , w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
          const rect = svg.getBoundingClientRect();
          return Math.abs(w / h - rect.width / rect.height) < 0.01 * (w / h);
        });
        const m = await measure(page);
        const belowHeader = m.innerHeight - m.headerBottom;
        const widthShare = m.graph.width / m.innerWidth;
        const heightShare = m.graph.height / belowHeader;
        t.diagnostic(`graph ${Math.round(m.graph.width)} x ${Math.round(m.graph.height)} px: ${pct(widthShare)} of the width, ${pct(heightShare)} of the height below the header; projection ${Math.round(m.projection.width)} x ${Math.round(m.projection.height)}; panels ${m.panelsOpen ? 'open' : 'closed'}`);
        await page.screenshot({ path: path.join(artifactsDir, `layout-${size.width}x${size.height}.png`) });
        assert.ok(m.scrollWidth <= m.innerWidth, `no horizontal scrolling: ${m.scrollWidth} > ${m.innerWidth}`);
        assert.ok(area(m.graph) > 2 * area(m.projection), `graph ${area(m.graph)} px² vs projection ${area(m.projection)} px²`);
        assert.ok(area(m.graph) > area(m.sidePanel), 'the graph is larger than the side bar');
        assert.ok(m.graph.right <= m.innerWidth && m.graph.bottom <= m.innerHeight, 'the whole graph view is in the window');
        if (size.width === 1500) {
          assert.ok(widthShare >= 0.6, `at 1500 x 950 the graph takes ${pct(widthShare)} of the width`);
          assert.ok(heightShare >= 0.7, `at 1500 x 950 the graph takes ${pct(heightShare)} of the height below the header`);
        }
        assertFittedInItsBox(m, `${size.width} x ${size.height}`);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  }

  test('the divider resizes the split, by mouse and by keyboard, and the split is in the link', async () => {
    const size = { width: 1500, height: 950 };
    const { context, page, errors } = await openDemo(size);
    try {
      const before = await measure(page);
      assert.equal(before.split, 0.7);
      const divider = await page.locator('[data-testid="split-divider"]').boundingBox();
      const y = divider.y + divider.height / 2;
      await page.mouse.move(divider.x + divider.width / 2, y);
      await page.mouse.down();
      await page.mouse.move(divider.x + divider.width / 2 - 250, y, { steps: 8 });
      await page.mouse.up();
      await page.waitForFunction((x) => Number(document.querySelector('[data-testid="views-split"]').getAttribute('data-split')) < x, before.split - 0.1);
      // The keyboard: focused, the arrow keys move it in steps of 0.02.
      await page.focus('[data-testid="split-divider"]');
      const dragged = (await measure(page)).split;
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction((x) => Math.abs(Number(document.querySelector('[data-testid="views-split"]').getAttribute('data-split')) - x) < 1e-9, Math.round((dragged + 0.04) * 1000) / 1000);
      await page.waitForFunction(() => {
        const svg = document.querySelector('[data-testid="graph-view"]');
        const [, , w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
        const rect = svg.getBoundingClientRect();
        return Math.abs(w / h - rect.width / rect.height) < 0.01 * (w / h);
      });
      const after = await measure(page);
      assert.equal(await page.getAttribute('[data-testid="split-divider"]', 'aria-valuenow'), String(Math.round(after.split * 100)));
      assert.ok(after.graph.width < before.graph.width - 150, `the graph narrowed: ${before.graph.width} -> ${after.graph.width}`);
      assert.ok(after.projection.width > before.projection.width + 100, `the projection widened: ${before.projection.width} -> ${after.projection.width}`);
      assertFittedInItsBox(after, 'after the drag');
      await page.screenshot({ path: path.join(artifactsDir, 'layout-divider-dragged.png') });
      // The link is written after a quiet moment; a fresh browser opening it shows the split.
      await page.waitForFunction(() => location.hash.length > 1);
      const linkBefore = page.url();
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction((previous) => location.href !== previous, linkBefore);
      const expected = Math.round((after.split - 0.02) * 1000) / 1000;
      assert.equal((await measure(page)).split, expected);
      const link = page.url();
      assert.deepEqual(errors, []);
      const reopened = await openDemo(size, link);
      try {
        const m = await measure(reopened.page);
        assert.equal(m.split, expected, 'the link restores the split');
        const shown = await measure(page);
        assert.ok(Math.abs(m.graph.width - shown.graph.width) <= 2, `same graph width: ${m.graph.width} vs ${shown.graph.width}`);
        assert.deepEqual(reopened.errors, []);
      } finally {
        await reopened.context.close();
      }
    } finally {
      await context.close();
    }
  });

  test('the side bar of panels opens and closes, and the page still fits the window', async () => {
    const size = { width: 1500, height: 950 };
    const { context, page, errors } = await openDemo(size);
    try {
      const closed = await measure(page);
      assert.equal(closed.panelsOpen, false, 'a first visit at 1500 px starts with the panels closed');
      assert.equal(await page.locator('[data-testid="layer-list"]').isVisible(), false);
      await page.click('[data-testid="panels-toggle"]');
      await page.locator('[data-testid="layer-list"]').waitFor({ state: 'visible' });
      await page.waitForFunction((width) => document.querySelector('[data-testid="graph-view"]').getBoundingClientRect().width < width - 100, closed.graph.width);
      const open = await measure(page);
      assert.ok(open.scrollWidth <= open.innerWidth, 'no horizontal scrolling with the panels open');
      assert.ok(area(open.graph) > area(open.projection) && area(open.graph) > area(open.sidePanel), 'the graph is still the largest view');
      await page.screenshot({ path: path.join(artifactsDir, 'layout-1500x950-panels-open.png') });
      // The choice is remembered: a reload keeps the panels open.
      await page.reload();
      await waitForGraph(page);
      assert.equal((await measure(page)).panelsOpen, true);
      await page.click('[data-testid="panels-toggle"]');
      await page.locator('[data-testid="layer-list"]').waitFor({ state: 'hidden' });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test("a node of 5 samples lights up in the projection's exported PNG", async () => {
    const { context, page, errors } = await openDemo({ width: 1500, height: 950 });
    try {
      await page.waitForFunction(() => document.querySelector('[data-testid="projection-view"]')?.getAttribute('data-complete') === 'true');
      // The node whose size is nearest to 5.
      const nodes = await page.$$eval('[data-testid="graph-view"] [data-node-id]', (circles) =>
        circles.map((c) => ({ name: c.getAttribute('data-node-id'), size: Number(c.getAttribute('data-size')) })));
      const node = nodes.reduce((best, n) => (Math.abs(n.size - 5) < Math.abs(best.size - 5) ? n : best));
      assert.ok(node.size >= 3 && node.size <= 8, `a small node: ${node.name} of ${node.size}`);
      await page.locator(`[data-node-id="${node.name}"]`).dispatchEvent('pointerdown', { button: 0, pointerId: 1, isPrimary: true });
      await page.locator(`[data-node-id="${node.name}"]`).dispatchEvent('pointerup', { button: 0, pointerId: 1, isPrimary: true });
      await page.waitForFunction((size) => (document.querySelector('[data-testid="projection-summary"]')?.textContent ?? '').startsWith(`${size} of`), node.size);
      // The selected node keeps an outline above the graph.
      assert.equal(await page.locator('[data-testid="node-outline"].selected').count(), 1);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-projection-png"]')]);
      const image = decodePng(readFileSync(await download.path()));
      await page.locator('[data-testid="projection-panel"]').screenshot({ path: path.join(artifactsDir, 'layout-five-points.png') });
      // The background and the faded points are light (every channel at least 200); the
      // highlighted points are in full colour inside a dark ring.
      const light = (x, y) => image.pixel(x, y).every((c) => c >= 200);
      const marks = components(image, (x, y) => !light(x, y));
      assert.ok(marks.length >= 1 && marks.length <= node.size, `${marks.length} marks for ${node.size} points`);
      for (const mark of marks) {
        const side = Math.min(mark.x1 - mark.x0, mark.y1 - mark.y0) + 1;
        assert.ok(side >= 7, `each mark is at least 7 px wide: ${JSON.stringify(mark)}`);
        assert.ok(mark.ring > 0 && mark.ring < mark.pixels, `a ring and a coloured middle: ${JSON.stringify(mark)}`);
      }
      const marked = marks.reduce((sum, mark) => sum + mark.pixels, 0);
      assert.ok(marked < 0.01 * image.width * image.height, `only the highlighted points stand out: ${marked} px`);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
