import { type Cell, makeCell, sizeFactor } from "./cell";
import { LEVELS } from "./constants";
import { InvalidInputError } from "./errors";
import { WORKLOAD_SPECS, WORKLOADS, type Workload, workloadSpec } from "./workloads";

/** Every cell of one workload's 3×3×3 grid, in a stable order (memory, size factor, rc). */
export function workloadCells(workload: Workload): Cell[] {
  const cells: Cell[] = [];
  for (const memoryMb of LEVELS.memoryMb) {
    for (const size of workloadSpec(workload).factor.levels) {
      for (const reservedConcurrency of LEVELS.reservedConcurrency) {
        cells.push(makeCell(workload, memoryMb, size, reservedConcurrency));
      }
    }
  }
  return cells;
}

/** All cells: each workload's grid in the order of core/workloads.ts (events, then batch). */
export function fullMatrix(): Cell[] {
  return WORKLOADS.flatMap(workloadCells);
}

/**
 * Filter keys accepted by {@link parseMatrix}, with the levels each may take: workload, memory,
 * rc and each workload's size-factor key (`batch`, `part`).
 */
const FILTER_KEYS: Readonly<Record<string, readonly (string | number)[]>> = {
  workload: WORKLOADS,
  memory: LEVELS.memoryMb,
  ...Object.fromEntries(
    WORKLOADS.map((w) => [WORKLOAD_SPECS[w].factor.filterKey, WORKLOAD_SPECS[w].factor.levels]),
  ),
  rc: LEVELS.reservedConcurrency,
};

const ALIASES: Readonly<Record<string, string>> = {
  workload: "workload",
  memory: "memory",
  memory_mb: "memory",
  ...Object.fromEntries(
    WORKLOADS.flatMap((w) => {
      const f = WORKLOAD_SPECS[w].factor;
      return [f.filterKey, ...f.aliases].map((alias) => [alias, f.filterKey]);
    }),
  ),
  rc: "rc",
  reserved: "rc",
  reserved_concurrency: "rc",
};

const KEY_NAMES = Object.keys(FILTER_KEYS).join(", ");

/** What `--matrix` accepts, for messages and `--help`. */
export const MATRIX_SYNTAX =
  `full, ${WORKLOADS.join(", ")}, or a filter such as workload=batch,memory=512|1024,rc=0 ` +
  `(keys: ${KEY_NAMES}; values separated by |)`;

/**
 * Parses a matrix spec: `full`, a workload's name, or a comma-separated filter
 * `key=v1|v2,...` over the full grid. A cell is kept when it matches every key; a size-factor
 * key (`batch`: events per object, `part`: multipart MiB) only constrains its workload's cells,
 * and one given without the cell's own excludes the cell's workload entirely.
 * Throws {@link InvalidInputError} naming `--matrix` for unknown keys, levels outside the grid
 * or a filter that selects nothing.
 */
export function parseMatrix(spec: string, input = "--matrix"): Cell[] {
  const trimmed = spec.trim();
  if (trimmed === "full") return fullMatrix();
  const workload = WORKLOADS.find((w) => w === trimmed);
  if (workload !== undefined) return workloadCells(workload);
  if (trimmed === "" || !trimmed.includes("="))
    throw new InvalidInputError(input, spec, MATRIX_SYNTAX);

  const wanted = new Map<string, Set<string>>();
  for (const clause of trimmed.split(",")) {
    const [rawKey, rawValues, ...rest] = clause.split("=");
    const key = ALIASES[(rawKey ?? "").trim().toLowerCase()];
    const levels = key === undefined ? undefined : FILTER_KEYS[key];
    if (key === undefined || levels === undefined || rawValues === undefined || rest.length > 0) {
      throw new InvalidInputError(input, spec, MATRIX_SYNTAX);
    }
    const allowed = levels.map(String);
    const values = rawValues.split("|").map((v) => v.trim());
    for (const v of values) {
      if (!allowed.includes(v)) {
        throw new InvalidInputError(`${input} ${key}`, v, `one of ${allowed.join(", ")}`);
      }
    }
    const previous = wanted.get(key);
    wanted.set(key, new Set(previous ? values.filter((v) => previous.has(v)) : values));
  }

  const matches = (key: string, value: string | number): boolean => {
    const set = wanted.get(key);
    return set === undefined || set.has(String(value));
  };
  const sizeKeys = WORKLOADS.map((w) => WORKLOAD_SPECS[w].factor.filterKey);
  const cells = fullMatrix().filter((c) => {
    const own = workloadSpec(c.workload).factor.filterKey;
    return (
      matches("workload", c.workload) &&
      matches("memory", c.memoryMb) &&
      matches("rc", c.reservedConcurrency) &&
      matches(own, sizeFactor(c)) &&
      // A size key of another workload, without this one's, excludes this workload entirely.
      (wanted.has(own) || !sizeKeys.some((k) => wanted.has(k)))
    );
  });
  if (cells.length === 0)
    throw new InvalidInputError(
      input,
      spec,
      `a filter that selects at least one cell (${MATRIX_SYNTAX})`,
    );
  return cells;
}

/**
 * A deterministic pseudo-random generator (mulberry32) in [0, 1): the cell order is
 * randomised with a recorded seed so that a run can be reproduced.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher–Yates shuffle of a copy of `items`, driven by `seed`. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}
