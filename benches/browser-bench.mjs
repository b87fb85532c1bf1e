// Drives public/bench.html in headless Chromium (the same harness as the e2e tests) and
// prints its JSON report. Run `tools/build.sh` first, or use `tools/bench.sh`.
//   node benches/browser-bench.mjs [suite]
import { launchBrowser, startServer } from '../tests/e2e/harness.mjs';

const suite = process.argv[2] || 'parse';
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error') console.error(`[page] ${message.text()}`); });
  await page.goto(`${server.url}bench.html?suite=${encodeURIComponent(suite)}`);
  const handle = await page.waitForFunction(() => window.__benchResult, null, { timeout: 30 * 60_000, polling: 500 });
  const report = await handle.jsonValue();
  console.log(JSON.stringify(report, null, 2));
  if (report.error) process.exitCode = 1;
} finally {
  await browser.stop();
  server.stop();
}
