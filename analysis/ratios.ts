import { hasAnova, holm } from "./anova";
import type { EffectAnalysis, MainEffect } from "./effects";
import { tQuantile } from "./intervals";

/** One factor's main effect as ratios of geometric means to the grand geometric mean. */
export interface EffectRatios {
  readonly workload: string;
  readonly factor: string;
  /** p of the factor's F test, Holm-adjusted over the workload's three main effects. */
  readonly pHolm: number;
  readonly levels: readonly {
    readonly level: number;
    readonly runs: number;
    /** exp(ȳ_level − ȳ): the level's geometric-mean warm p95 ÷ the grand geometric mean. */
    readonly ratio: number;
    readonly low: number;
    readonly high: number;
  }[];
}

/**
 * Main effects on ln warm p95 as ratios to the grand geometric mean, with 95% t intervals from
 * the ANOVA's residual (trial as block): Var(ȳ_level − ȳ) = MS_res · (1/n_level − 1/N) in a
 * balanced design, df = residual df. Ratios say "this level is 0.8× the average cell" instead
 * of a share of variance; a factor is only worth naming when its Holm-adjusted p < 0.05.
 */
export function effectRatios(
  effects: readonly EffectAnalysis[],
  main: readonly MainEffect[],
): EffectRatios[] {
  const out: EffectRatios[] = [];
  for (const e of effects.filter((x) => x.response === "log_p95")) {
    const mine = main.filter((m) => m.workload === e.workload);
    if (!hasAnova(e.result)) continue;
    const rows = e.result.rows;
    const res = rows.find((r) => r.term === "residual");
    const total = rows.find((r) => r.term === "total");
    if (res === undefined || total === undefined) continue;
    const n = total.df + 1;
    const ps = holm(mine.map((m) => rows.find((r) => r.term === m.factor)?.p ?? Number.NaN));
    const t = res.df > 0 ? tQuantile(0.95, res.df) : Number.NaN;
    // Grand mean of ln p95 over the runs the ANOVA used equals the mean of the level means.
    mine.forEach((m, f) => {
      const logs = m.levels.map((l) => Math.log(l.p95GeoMeanMs));
      const grand = logs.reduce((a, b) => a + b, 0) / logs.length;
      out.push({
        workload: e.workload,
        factor: m.factor,
        pHolm: ps[f] ?? Number.NaN,
        levels: m.levels.map((l, i) => {
          const d = (logs[i] ?? Number.NaN) - grand;
          const perLevel = n / m.levels.length;
          const half = t * Math.sqrt(res.ms * (1 / perLevel - 1 / n));
          return {
            level: l.level,
            runs: l.runs,
            ratio: Math.exp(d),
            low: Math.exp(d - half),
            high: Math.exp(d + half),
          };
        }),
      });
    });
  }
  return out;
}
