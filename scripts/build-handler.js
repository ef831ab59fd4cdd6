#!/usr/bin/env node
// Bundles the Lambda handler into dist/handler.js: the one artefact that the Pulumi cell
// deploys and the local Lambda runtime loads. The AWS SDK is bundled too (pinned versions,
// identical on both backends) rather than taken from the Lambda runtime.
const { build } = require("esbuild");
const { resolve } = require("node:path");

const root = resolve(__dirname, "..");

build({
  entryPoints: [resolve(root, "handlers", "handler.ts")],
  outfile: resolve(root, "dist", "handler.js"),
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
}).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
