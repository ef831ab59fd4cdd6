#!/usr/bin/env node
// Reads a tap run's output and prints the plain closing line CI looks for:
// "tests: N passed, N failed, N skipped". Exits 1 when the run executed no test.
const { readFileSync } = require("node:fs");

const text = readFileSync(process.argv[2] ?? "/dev/stdin", "utf8");
const summaries = text.split("\n").filter((l) => /^# \{ total: \d+/.test(l));
const last = summaries.at(-1);
const count = (key) => Number(new RegExp(`${key}: (\\d+)`).exec(last ?? "")?.[1] ?? 0);
const total = count("total");
const passed = count("pass");
const failed = count("fail");
const skipped = count("skip") + count("todo");
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (last === undefined || total === 0) {
  console.error("ci: the test run executed no test");
  process.exit(1);
}
