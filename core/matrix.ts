import type { Cell, Workload } from "./cell";
import { LEVELS, WORKLOADS } from "./constants";
import { InvalidInputError } from "./errors";

/** Every cell of one workload's 3×3×3 grid, in a stable order (memory, size factor, rc). */
export function workloadCells(workload: Workload): Cell[] {
  const cells: Cell[] = [];
  for (const memoryMb of LEVELS.memoryMb) {
    const sizes = workload === "events" ? LEVELS.batchEvents : LEVELS.multipartMb;
    for (const size of sizes) {
      for (const reservedConcurrency of LEVELS.reservedConcurrency) {
        cells.push(
          workload === "events"
            ? { workload, memoryMb, batchEvents: size, reservedConcurrency }
            : { workload, memoryMb, multipartMb: size, reservedConcurrency },
        );
      }
    }
  }
  return cells;
}

/** All 54 cells: the events grid, then the batch grid. */
export function fullMatrix(): Cell[] {
  return [...workloadCells("events"), ...workloadCells("batch")];
}

/** Filter keys accepted by {@link parseMatrix}, with the levels each may take. */
const FILTER_KEYS = {
  workload: WORKLOADS,
  memory: LEVELS.memoryMb,
  batch: LEVELS.batchEvents,
  part: LEVELS.multipartMb,
  rc: LEVELS.reservedConcurrency,
} as const;

type FilterKey = keyof typeof FILTER_KEYS;

const ALIASES: Record<string, FilterKey> = {
  workload: "workload",
  memory: "memory",
  memory_mb: "memory",
  batch: "batch",
  batch_events: "batch",
  part: "part",
  multipart: "part",
  multipart_mb: "part",
  rc: "rc",
  reserved: "rc",
  reserved_concurrency: "rc",
};

/** What `--matrix` accepts, for messages and `--help`. */
export const MATRIX_SYNTAX =
  "full, events, batch, or a filter such as workload=batch,memory=512|1024,rc=0 " +
  "(keys: workload, memory, batch, part, rc; values separated by |)";

/**
 * Parses a matrix spec: `full`, `events`, `batch`, or a comma-separated filter
 * `key=v1|v2,...` over the full grid. A cell is kept when it matches every key; `batch` (events
 * per object) only constrains events cells and `part` (multipart MiB) only batch cells.
 * Throws {@link InvalidInputError} naming `--matrix` for unknown keys, levels outside the grid
 * or a filter that selects nothing.
 */
export function parseMatrix(spec: string, input = "--matrix"): Cell[] {
  const trimmed = spec.trim();
  if (trimmed === "full") return fullMatrix();
  if (trimmed === "events" || trimmed === "batch") return workloadCells(trimmed);
  if (trimmed === "" || !trimmed.includes("="))
    throw new InvalidInputError(input, spec, MATRIX_SYNTAX);

  const wanted = new Map<FilterKey, Set<string>>();
  for (const clause of trimmed.split(",")) {
    const [rawKey, rawValues, ...rest] = clause.split("=");
    const key = ALIASES[(rawKey ?? "").trim().toLowerCase()];
    if (key === undefined || rawValues === undefined || rest.length > 0) {
      throw new InvalidInputError(input, spec, MATRIX_SYNTAX);
    }
    const allowed = FILTER_KEYS[key].map(String);
    const values = rawValues.split("|").map((v) => v.trim());
    for (const v of values) {
      if (!allowed.includes(v)) {
        throw new InvalidInputError(`${input} ${key}`, v, `one of ${allowed.join(", ")}`);
      }
    }
    const previous = wanted.get(key);
    wanted.set(key, new Set(previous ? values.filter((v) => previous.has(v)) : values));
  }

  const matches = (key: FilterKey, value: string | number): boolean => {
    const set = wanted.get(key);
    return set === undefined || set.has(String(value));
  };
  const cells = fullMatrix().filter(
    (c) =>
      matches("workload", c.workload) &&
      matches("memory", c.memoryMb) &&
      matches("rc", c.reservedConcurrency) &&
      (c.workload === "events"
        ? matches("batch", c.batchEvents)
        : matches("part", c.multipartMb)) &&
      // A size key of the other workload excludes this workload entirely.
      (c.workload === "events"
        ? !wanted.has("part") || wanted.has("batch")
        : !wanted.has("batch") || wanted.has("part")),
  );
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
