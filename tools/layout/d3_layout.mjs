// Lays out a graph with d3-force using the original TopoAct's settings, for comparison with
// the Rust layout engine (crates/topoact-core/src/layout).
//
//   node d3_layout.mjs graph.json positions.json
//
// graph.json:     {"nodes": [{"radius": r}, ...], "links": [{"source": i, "target": j, "weight": w}, ...]}
// positions.json: {"positions": [[x, y], ...], "millis": <layout time in ms>, "ticks": 300,
//                  "d3_force_version": "..."}
//
// Settings (TopoAct, D3 v5): forceLink (default distance 30 and strength 1/min(degree)),
// forceManyBody().strength(-5), forceCenter; 300 ticks = d3's default alpha decay
// (1 - 0.001^(1/300)) from alpha 1 down to alphaMin 0.001. d3-force v3 seeds its own
// linear congruential generator, so the result is deterministic for a given input.
// Setup: `npm install` in this folder (installs d3-force 3 from package-lock.json).

import { readFileSync, writeFileSync } from "node:fs";
import { forceSimulation, forceLink, forceManyBody, forceCenter } from "d3-force";

const [inputPath, outputPath] = process.argv.slice(2);
if (!inputPath || !outputPath) {
  console.error("usage: node d3_layout.mjs graph.json positions.json");
  process.exit(2);
}
const graph = JSON.parse(readFileSync(inputPath, "utf8"));
const nodes = graph.nodes.map((node, index) => ({ index, radius: node.radius }));
const links = graph.links.map((link) => ({ source: link.source, target: link.target, weight: link.weight }));

const started = performance.now();
const simulation = forceSimulation(nodes)
  .force("link", forceLink(links))
  .force("charge", forceManyBody().strength(-5))
  .force("center", forceCenter(0, 0))
  .stop();
const ticks = Math.ceil(Math.log(simulation.alphaMin()) / Math.log(1 - simulation.alphaDecay()));
simulation.tick(ticks);
const millis = performance.now() - started;

const version = JSON.parse(readFileSync(new URL("./node_modules/d3-force/package.json", import.meta.url), "utf8")).version;
writeFileSync(outputPath, JSON.stringify({ positions: nodes.map((node) => [node.x, node.y]), millis, ticks, d3_force_version: version }));
