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
  /** Student's t distribution with `dof` degrees of freedom. */
  interface StudentT {
    /** P(T ≤ x). */
    cdf(x: number, dof: number): number;
    /** The x with P(T ≤ x) = p. */
    inv(p: number, dof: number): number;
  }
  /** Studentized range of `nmeans` means with `dof` error degrees of freedom (R's ptukey/qtukey). */
  interface Tukey {
    /** P(Q ≤ q). */
    cdf(q: number, nmeans: number, dof: number): number;
    /** The q with P(Q ≤ q) = p. */
    inv(p: number, nmeans: number, dof: number): number;
  }
  /** The jStat namespace. */
  interface JStat {
    readonly centralF: CentralF;
    readonly studentt: StudentT;
    readonly tukey: Tukey;
    /** Regularized incomplete beta function I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
  }
  /** The jStat namespace, as a named export. */
  export const jStat: JStat;
}
