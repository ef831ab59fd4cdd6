/**
 * Small inline-SVG chart builders for the self-contained report: no library, no fonts, no
 * network. Every chart is an `<svg class="chart" data-chart="…">` whose marks (points, bars,
 * cells) carry `class="mark"` so a test can count what was drawn.
 */

/** Escapes text for HTML and SVG. */
export function esc(s: string): string {
  return s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Series colours (Okabe–Ito, readable by colour-blind readers). */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"] as const;

function colour(i: number): string {
  return PALETTE[i % PALETTE.length] ?? "#333";
}

/** A compact number label: 3 significant digits, k/M suffixes. */
export function short(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(x / 1e3).toPrecision(3)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 1) return x.toPrecision(3);
  if (a === 0) return "0";
  return x.toPrecision(2);
}

interface Frame {
  readonly w: number;
  readonly h: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

const FRAME: Frame = { w: 360, h: 240, left: 56, right: 14, top: 28, bottom: 44 };

function extent(values: readonly number[], zero: boolean): [number, number] {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (zero) lo = Math.min(0, lo);
  if (lo === hi) {
    lo = lo === 0 ? 0 : lo * 0.9;
    hi = hi === 0 ? 1 : hi * 1.1;
  }
  const pad = (hi - lo) * 0.06;
  return [zero && lo === 0 ? 0 : lo - pad, hi + pad];
}

function ticks(lo: number, hi: number, n = 4): number[] {
  const out: number[] = [];
  for (let i = 0; i <= n; i++) out.push(lo + ((hi - lo) * i) / n);
  return out;
}

function axes(
  f: Frame,
  yLo: number,
  yHi: number,
  y: (v: number) => number,
  xLabel: string,
  yLabel: string,
): string {
  const parts: string[] = [];
  const x0 = f.left;
  const x1 = f.w - f.right;
  const yb = f.h - f.bottom;
  parts.push(`<line x1="${x0}" y1="${yb}" x2="${x1}" y2="${yb}" stroke="#555"/>`);
  parts.push(`<line x1="${x0}" y1="${f.top}" x2="${x0}" y2="${yb}" stroke="#555"/>`);
  for (const t of ticks(yLo, yHi)) {
    const yy = y(t).toFixed(1);
    parts.push(`<line x1="${x0}" y1="${yy}" x2="${x1}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${x0 - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" class="tick">${esc(short(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${(x0 + x1) / 2}" y="${f.h - 8}" text-anchor="middle" class="axis">${esc(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${(f.top + yb) / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(yLabel)}</text>`,
  );
  return parts.join("");
}

function open(id: string, title: string, f: Frame = FRAME): string {
  return `<svg class="chart" data-chart="${esc(id)}" viewBox="0 0 ${f.w} ${f.h}" width="${f.w}" height="${f.h}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title><text x="${f.w / 2}" y="16" text-anchor="middle" class="ctitle">${esc(title)}</text>`;
}

/** A named series of y values over categorical x positions. */
export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

/** Lines with points over categorical x levels (effect plots, throughput vs memory). */
export function lineChart(opts: {
  readonly id: string;
  readonly title: string;
  readonly xLevels: readonly string[];
  readonly series: readonly Series[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly zero?: boolean;
}): string {
  const f = FRAME;
  const [lo, hi] = extent(
    opts.series.flatMap((s) => s.values),
    opts.zero ?? false,
  );
  const n = opts.xLevels.length;
  const x = (i: number): number =>
    f.left + 20 + (f.w - f.left - f.right - 40) * (n === 1 ? 0.5 : i / (n - 1));
  const y = (v: number): number =>
    f.h - f.bottom - ((v - lo) / (hi - lo)) * (f.h - f.bottom - f.top);
  const parts = [open(opts.id, opts.title), axes(f, lo, hi, y, opts.xLabel, opts.yLabel)];
  opts.xLevels.forEach((l, i) => {
    parts.push(
      `<text x="${x(i).toFixed(1)}" y="${f.h - f.bottom + 14}" text-anchor="middle" class="tick">${esc(l)}</text>`,
    );
  });
  opts.series.forEach((s, si) => {
    const pts = s.values
      .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : ""))
      .filter((p) => p !== "");
    if (pts.length > 1) {
      parts.push(
        `<polyline points="${pts.join(" ")}" fill="none" stroke="${colour(si)}" stroke-width="2"/>`,
      );
    }
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      parts.push(
        `<circle class="mark" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="4" fill="${colour(si)}"><title>${esc(`${s.name} ${opts.xLevels[i] ?? ""}: ${short(v)}`)}</title></circle>`,
      );
    });
  });
  if (opts.series.length > 1) {
    opts.series.forEach((s, si) => {
      const lx = f.left + 8 + si * 92;
      parts.push(`<rect x="${lx}" y="${f.top - 6}" width="10" height="10" fill="${colour(si)}"/>`);
      parts.push(`<text x="${lx + 14}" y="${f.top + 3}" class="tick">${esc(s.name)}</text>`);
    });
  }
  parts.push("</svg>");
  return parts.join("");
}

function heatColour(t: number): string {
  // Light yellow (fast) to dark blue (slow), interpolated in RGB.
  const a = [255, 247, 188];
  const b = [8, 64, 129];
  const c = a.map((v, i) => Math.round(v + ((b[i] ?? 0) - v) * Math.min(1, Math.max(0, t))));
  return `rgb(${c.join(",")})`;
}

/** A heat map: rows × columns of values, colour on a log scale, each cell labelled. */
export function heatMap(opts: {
  readonly id: string;
  readonly title: string;
  readonly rows: readonly string[];
  readonly cols: readonly string[];
  readonly values: readonly (readonly number[])[];
  readonly xLabel: string;
}): string {
  const cw = 80;
  const ch = 24;
  const left = 150;
  const top = 30;
  const w = left + cw * opts.cols.length + 16;
  const h = top + ch * opts.rows.length + 40;
  const f: Frame = { w, h, left, right: 16, top, bottom: 40 };
  const all = opts.values.flat().filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.log(Math.min(...all, Number.POSITIVE_INFINITY));
  const hi = Math.log(Math.max(...all, 0));
  const parts = [open(opts.id, opts.title, f)];
  opts.rows.forEach((r, i) => {
    parts.push(
      `<text x="${left - 6}" y="${top + i * ch + ch / 2}" text-anchor="end" dominant-baseline="middle" class="tick">${esc(r)}</text>`,
    );
    opts.cols.forEach((_, j) => {
      const v = opts.values[i]?.[j] ?? Number.NaN;
      const t = Number.isFinite(v) && v > 0 && hi > lo ? (Math.log(v) - lo) / (hi - lo) : 0;
      const fill = Number.isFinite(v) ? heatColour(t) : "#f3f3f3";
      parts.push(
        `<rect class="mark" x="${left + j * cw}" y="${top + i * ch}" width="${cw - 2}" height="${ch - 2}" fill="${fill}"><title>${esc(`${r}, ${opts.cols[j] ?? ""}: ${short(v)}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${left + j * cw + cw / 2 - 1}" y="${top + i * ch + ch / 2}" text-anchor="middle" dominant-baseline="middle" class="cell" style="fill:${t > 0.5 ? "#fff" : "#111"}">${esc(short(v))}</text>`,
      );
    });
  });
  opts.cols.forEach((c, j) => {
    parts.push(
      `<text x="${left + j * cw + cw / 2}" y="${top + opts.rows.length * ch + 14}" text-anchor="middle" class="tick">${esc(c)}</text>`,
    );
  });
  parts.push(
    `<text x="${left + (cw * opts.cols.length) / 2}" y="${h - 8}" text-anchor="middle" class="axis">${esc(opts.xLabel)}</text>`,
  );
  parts.push("</svg>");
  return parts.join("");
}

/** A point of a scatter plot. */
export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  readonly label: string;
  readonly highlight: boolean;
  /** Drawn as a hollow grey ring: a point that was not eligible for the front. */
  readonly muted?: boolean;
  /** A short visible label drawn beside the point (e.g. `2048/b10/rc0`). */
  readonly tag?: string;
}

/** A scatter plot; highlighted points are joined by a step line (the Pareto front). */
export function scatterChart(opts: {
  readonly id: string;
  readonly title: string;
  readonly points: readonly ScatterPoint[];
  readonly xLabel: string;
  readonly yLabel: string;
}): string {
  const f: Frame = { ...FRAME, w: 440, h: 280, left: 72 };
  const pts = opts.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const [xlo, xhi] = extent(
    pts.map((p) => p.x),
    false,
  );
  const [ylo, yhi] = extent(
    pts.map((p) => p.y),
    false,
  );
  const x = (v: number): number => f.left + ((v - xlo) / (xhi - xlo)) * (f.w - f.left - f.right);
  const y = (v: number): number =>
    f.h - f.bottom - ((v - ylo) / (yhi - ylo)) * (f.h - f.bottom - f.top);
  const parts = [open(opts.id, opts.title, f), axes(f, ylo, yhi, y, opts.xLabel, opts.yLabel)];
  for (const t of ticks(xlo, xhi)) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${f.h - f.bottom + 14}" text-anchor="middle" class="tick">${esc(short(t))}</text>`,
    );
  }
  const front = pts.filter((p) => p.highlight).sort((a, b) => a.x - b.x);
  if (front.length > 1) {
    const step: string[] = [];
    front.forEach((p, i) => {
      if (i > 0) step.push(`${x(p.x).toFixed(1)},${y(front[i - 1]?.y ?? p.y).toFixed(1)}`);
      step.push(`${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`);
    });
    parts.push(
      `<polyline class="front" points="${step.join(" ")}" fill="none" stroke="#D55E00" stroke-width="2" stroke-dasharray="5 3"/>`,
    );
  }
  for (const p of pts) {
    const paint = p.highlight
      ? 'fill="#D55E00" fill-opacity="1"'
      : p.muted === true
        ? 'fill="none" stroke="#999" stroke-width="1.5"'
        : 'fill="#0072B2" fill-opacity="0.6"';
    parts.push(
      `<circle class="mark${p.highlight ? " pareto" : p.muted === true ? " muted" : ""}" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="${p.highlight ? 5.5 : 4}" ${paint}><title>${esc(`${p.label}: ${short(p.x)}, ${short(p.y)}`)}</title></circle>`,
    );
    if (p.tag !== undefined) {
      parts.push(
        `<text class="tag" x="${(x(p.x) + 6).toFixed(1)}" y="${(y(p.y) - 5).toFixed(1)}" font-size="9">${esc(p.tag)}</text>`,
      );
    }
  }
  parts.push("</svg>");
  return parts.join("");
}
