import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import t from "tap";
import { analyseRun } from "../../analysis/analyze";
import { outputPaths, writeOutputs } from "../../analysis/outputs";

const FIXTURE = join(__dirname, "..", "fixtures", "runs", "small-local");

t.test(
  "report.html renders offline in Chromium with every chart drawn and no request elsewhere",
  async (t) => {
    const out = t.testdir();
    const paths = outputPaths(out);
    writeOutputs(analyseRun(FIXTURE), paths, out);
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    const failed: string[] = [];
    const foreign: string[] = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    page.on("request", (r) => {
      if (!r.url().startsWith("file://")) foreign.push(r.url());
    });
    await page.goto(pathToFileURL(paths.report).href, { waitUntil: "load" });
    const charts = await page.$$eval("svg.chart", (svgs) =>
      svgs.map((s) => ({
        id: s.getAttribute("data-chart") ?? "",
        marks: s.querySelectorAll(".mark").length,
        width: s.getBoundingClientRect().width,
      })),
    );
    const byPrefix = (p: string) => charts.filter((c) => c.id.startsWith(p));
    t.equal(
      byPrefix("effect-").length,
      12,
      "effect plots: 2 workloads × 3 factors × (p95, throughput)",
    );
    t.equal(byPrefix("heatmap-").length, 2, "one p95 heat map per workload");
    t.equal(byPrefix("throughput-").length, 2, "one throughput-vs-memory chart per workload");
    t.equal(byPrefix("pareto-").length, 2, "one cost-vs-p95 scatter per workload");
    for (const c of byPrefix("effect-")) t.equal(c.marks, 3, `${c.id}: a point per level`);
    for (const c of byPrefix("heatmap-")) t.equal(c.marks, 27, `${c.id}: 27 cells`);
    for (const c of byPrefix("throughput-"))
      t.equal(c.marks, 9, `${c.id}: 3 sizes × 3 memory levels`);
    for (const c of byPrefix("pareto-")) t.equal(c.marks, 27, `${c.id}: a point per cell`);
    t.ok(
      charts.every((c) => c.width > 100),
      "every chart laid out with a visible width",
    );
    const paretoPoints = await page.$$eval(
      "svg[data-chart^=pareto] circle.pareto",
      (e) => e.length,
    );
    t.ok(paretoPoints >= 2, `Pareto-optimal points highlighted (${paretoPoints})`);
    const headline = (await page.textContent(".headline")) ?? "";
    t.match(headline, /events \(cost\): \d+ MB, .* per 1M events/, "headline: per-event answer");
    t.match(headline, /batch \(cost\): \d+ MB, .* per GB/, "headline: per-GB answer");
    t.match(headline, /Strategy: cost/, "headline: strategy");
    t.match(headline, /Basis: per-event latency/, "headline: basis");
    t.match(headline, /Uncertainty: /, "headline: uncertainty");
    t.equal(byPrefix("unit-cost-").length, 2, "one cost-per-unit scatter per workload");
    const tags = await page.$$eval("svg[data-chart^=unit-cost] text.tag", (e) => e.length);
    t.ok(tags >= 2, `cost-per-unit points labelled (${tags})`);
    t.match(await page.textContent("body"), /as of 2026-11-23/, "price date shown");
    t.same(failed, [], "no failed request");
    t.same(foreign, [], "no request to anything but the file itself");
  },
);
