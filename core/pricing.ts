import { readFileSync } from "node:fs";
import type { Architecture } from "./cell";
import { InvalidInputError } from "./errors";

/** Prices the cost model uses, all in USD. Overridable as a whole by a JSON file (`--pricing`). */
export interface Pricing {
  /** Region the prices are for. */
  readonly region: string;
  /** Date the prices were checked against the sources (YYYY-MM-DD). */
  readonly asOf: string;
  /** Where the prices come from. */
  readonly sources: readonly string[];
  /** Lambda compute per GB-second, by architecture. Billed in 1 ms steps; INIT billed since 2025-08. */
  readonly lambdaGbSecond: Readonly<Record<Architecture, number>>;
  /** Lambda requests, per request. */
  readonly lambdaRequest: number;
  /** S3 PUT, COPY, POST, LIST class requests (incl. CreateMultipartUpload, UploadPart, Complete), per request. */
  readonly s3PutRequest: number;
  /** S3 Standard storage per GB-month. */
  readonly s3StorageGbMonth: number;
  /** CloudWatch Logs ingestion per GB. */
  readonly logsIngestGb: number;
  /** CloudWatch Logs Insights per GB scanned. */
  readonly insightsScanGb: number;
}

/** us-east-1 list prices, checked 2026-11-23 (docs/architecture.md "Facts built against"). */
export const DEFAULT_PRICING: Pricing = {
  region: "us-east-1",
  asOf: "2026-11-23",
  sources: [
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/s3/pricing/",
    "https://aws.amazon.com/cloudwatch/pricing/",
  ],
  lambdaGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
  lambdaRequest: 0.2 / 1_000_000,
  s3PutRequest: 0.005 / 1000,
  s3StorageGbMonth: 0.023,
  logsIngestGb: 0.5,
  insightsScanGb: 0.005,
};

/** Bytes in the "GB" of AWS prices (GB-s uses MB/1024; data prices use 2^30 bytes). */
const GB = 1024 ** 3;

/** Lambda compute cost of a billed duration at a memory size. */
export function lambdaComputeCost(
  billedMs: number,
  memoryMb: number,
  architecture: Architecture,
  pricing: Pricing = DEFAULT_PRICING,
): number {
  return (billedMs / 1000) * (memoryMb / 1024) * pricing.lambdaGbSecond[architecture];
}

/** Lambda request cost of `n` invocations (throttled ones are not billed). */
export function lambdaRequestCost(n: number, pricing: Pricing = DEFAULT_PRICING): number {
  return n * pricing.lambdaRequest;
}

/**
 * S3 PUT-class requests of one upload: 1 for a PutObject; parts + 2 for a multipart upload
 * (CreateMultipartUpload and CompleteMultipartUpload around the parts).
 */
export function s3PutRequests(multipartParts: number): number {
  return multipartParts > 0 ? multipartParts + 2 : 1;
}

/** S3 PUT-class request cost of `n` requests. */
export function s3PutCost(n: number, pricing: Pricing = DEFAULT_PRICING): number {
  return n * pricing.s3PutRequest;
}

/** S3 storage cost of `bytes` kept for `hours`. */
export function s3StorageCost(
  bytes: number,
  hours: number,
  pricing: Pricing = DEFAULT_PRICING,
): number {
  return (bytes / GB) * (hours / (24 * 30)) * pricing.s3StorageGbMonth;
}

/** CloudWatch Logs ingestion cost of `bytes`. */
export function logsIngestCost(bytes: number, pricing: Pricing = DEFAULT_PRICING): number {
  return (bytes / GB) * pricing.logsIngestGb;
}

/** CloudWatch Logs Insights cost of scanning `bytes`. */
export function insightsScanCost(bytes: number, pricing: Pricing = DEFAULT_PRICING): number {
  return (bytes / GB) * pricing.insightsScanGb;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const PRICE_KEYS = [
  "lambdaRequest",
  "s3PutRequest",
  "s3StorageGbMonth",
  "logsIngestGb",
  "insightsScanGb",
] as const;

/**
 * Validates a pricing override: any subset of {@link Pricing} fields over the defaults, every
 * price a finite number ≥ 0. `input` names the source in errors (e.g. `--pricing prices.json`).
 */
export function parsePricing(
  value: unknown,
  input: string,
  base: Pricing = DEFAULT_PRICING,
): Pricing {
  if (!isRecord(value))
    throw new InvalidInputError(input, value, "a JSON object of Pricing fields");
  const price = (key: string, v: unknown): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new InvalidInputError(`${input} ${key}`, v, "a number ≥ 0 (USD)");
    }
    return v;
  };
  const out: { -readonly [K in keyof Pricing]: Pricing[K] } = { ...base };
  for (const [key, v] of Object.entries(value)) {
    if ((PRICE_KEYS as readonly string[]).includes(key)) {
      out[key as (typeof PRICE_KEYS)[number]] = price(key, v);
    } else if (key === "lambdaGbSecond") {
      if (!isRecord(v))
        throw new InvalidInputError(`${input} ${key}`, v, "an object with arm64 and x86_64 prices");
      out.lambdaGbSecond = {
        arm64: v.arm64 === undefined ? base.lambdaGbSecond.arm64 : price(`${key}.arm64`, v.arm64),
        x86_64:
          v.x86_64 === undefined ? base.lambdaGbSecond.x86_64 : price(`${key}.x86_64`, v.x86_64),
      };
    } else if (key === "region" || key === "asOf") {
      if (typeof v !== "string") throw new InvalidInputError(`${input} ${key}`, v, "a string");
      out[key] = v;
    } else if (key === "sources") {
      if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
        throw new InvalidInputError(`${input} ${key}`, v, "an array of strings");
      }
      out.sources = v;
    } else {
      throw new InvalidInputError(`${input} key`, key, `one of ${Object.keys(base).join(", ")}`);
    }
  }
  return out;
}

/** Reads and validates a pricing override file. */
export function loadPricing(file: string): Pricing {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e: unknown) {
    throw new InvalidInputError(
      "--pricing",
      file,
      `a readable JSON file (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e: unknown) {
    throw new InvalidInputError(
      "--pricing",
      file,
      `valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return parsePricing(parsed, `--pricing ${file}`);
}
