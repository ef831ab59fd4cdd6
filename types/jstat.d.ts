/**
 * The small part of jStat (https://jstat.github.io) this project uses. jstat ships no types;
 * its CommonJS export is the jStat object, which also carries itself as `jStat`.
 */
declare module "jstat" {
  /** Central F distribution with `df1` and `df2` degrees of freedom. */
  interface CentralF {
    /** P(X ≤ x). */
    cdf(x: number, df1: number, df2: number): number;
  }
  /** The jStat namespace. */
  interface JStat {
    readonly centralF: CentralF;
    /** Regularized incomplete beta function I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
  }
  /** The jStat namespace, as a named export. */
  export const jStat: JStat;
}
