/**
 * The flexible checksums of S3 (x-amz-checksum-*), computed incrementally while a body streams.
 * CRC32 uses zlib's native implementation; CRC32C and CRC64NVME are table-driven because Node
 * has neither (they run only for clients that choose them). Also the checksums of multipart
 * objects: COMPOSITE (a checksum of the part checksums) and FULL_OBJECT (CRCs combined).
 */
import { createHash, type Hash } from "node:crypto";
import { crc32 } from "node:zlib";

/** Checksum algorithms S3 accepts, lower-case as in the header names. */
export const CHECKSUM_ALGORITHMS = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] as const;

/** One S3 checksum algorithm. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** True for a supported algorithm name (lower-case). */
export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/** An incremental checksum: feed bytes, then read the base64 value S3 puts in headers. */
export interface Checksum {
  update(data: Buffer): void;
  /** Base64 of the big-endian digest (undefined is kept for callers; every algorithm is verified). */
  digestBase64(): string | undefined;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function crc32cUpdate(crc: number, data: Buffer): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = (CRC32C_TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/** CRC64NVME (reflected polynomial 0x9a6c9329ac4bc9b5), as two 32-bit halves per table entry. */
const CRC64_POLY = 0x9a6c9329ac4bc9b5n;
const CRC64_TABLE = (() => {
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? CRC64_POLY ^ (c >> 1n) : c >> 1n;
    lo[i] = Number(c & 0xffffffffn);
    hi[i] = Number(c >> 32n);
  }
  return { lo, hi };
})();

function crc64nvmeUpdate(state: { lo: number; hi: number }, data: Buffer): void {
  let lo = ~state.lo >>> 0;
  let hi = ~state.hi >>> 0;
  const tlo = CRC64_TABLE.lo;
  const thi = CRC64_TABLE.hi;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ (data[i] ?? 0)) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ (tlo[idx] ?? 0)) >>> 0;
    hi = ((hi >>> 8) ^ (thi[idx] ?? 0)) >>> 0;
  }
  state.lo = ~lo >>> 0;
  state.hi = ~hi >>> 0;
}

function uint32Base64(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString("base64");
}

/** A new incremental checksum of the given algorithm. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case "crc32": {
      let value = 0;
      return {
        update: (data) => {
          value = crc32(data, value);
        },
        digestBase64: () => uint32Base64(value),
      };
    }
    case "crc32c": {
      let value = 0;
      return {
        update: (data) => {
          value = crc32cUpdate(value, data);
        },
        digestBase64: () => uint32Base64(value),
      };
    }
    case "sha1":
    case "sha256": {
      const hash: Hash = createHash(algorithm);
      return {
        update: (data) => {
          hash.update(data);
        },
        digestBase64: () => hash.digest("base64"),
      };
    }
    case "crc64nvme": {
      const state = { lo: 0, hi: 0 };
      return {
        update: (data) => crc64nvmeUpdate(state, data),
        digestBase64: () => {
          const out = Buffer.alloc(8);
          out.writeUInt32BE(state.hi, 0);
          out.writeUInt32BE(state.lo, 4);
          return out.toString("base64");
        },
      };
    }
  }
}

/** The CRC algorithms, which can be combined into a full-object checksum: reflected polynomial and width. */
const CRC_PARAMETERS: Partial<Record<ChecksumAlgorithm, { poly: bigint; width: bigint }>> = {
  crc32: { poly: 0xedb88320n, width: 32n },
  crc32c: { poly: 0x82f63b78n, width: 32n },
  crc64nvme: { poly: CRC64_POLY, width: 64n },
};

/** True for the algorithms whose multipart checksum can be of type FULL_OBJECT. */
export function isCrcAlgorithm(algorithm: ChecksumAlgorithm): boolean {
  return CRC_PARAMETERS[algorithm] !== undefined;
}

/** a·b modulo the CRC polynomial, in the reflected bit order CRCs are computed in. */
function multModP(a: bigint, b: bigint, poly: bigint, width: bigint): bigint {
  let m = 1n << (width - 1n);
  let p = 0n;
  let bb = b;
  while (m !== 0n) {
    if ((a & m) !== 0n) p ^= bb;
    m >>= 1n;
    bb = (bb & 1n) !== 0n ? (bb >> 1n) ^ poly : bb >> 1n;
  }
  return p;
}

/** x^(8·bytes) modulo the polynomial: what appending `bytes` zero bytes multiplies a CRC by. */
function xPowBytes(bytes: number, poly: bigint, width: bigint): bigint {
  let result = 1n << (width - 1n); // x^0
  let square = 1n << (width - 2n); // x^1, squared below to x^8, x^16, …
  for (let k = 0; k < 3; k++) square = multModP(square, square, poly, width);
  for (let n = BigInt(bytes); n > 0n; n >>= 1n) {
    if ((n & 1n) !== 0n) result = multModP(square, result, poly, width);
    square = multModP(square, square, poly, width);
  }
  return result;
}

/**
 * The CRC of the concatenation of parts from the parts' CRCs (base64) and sizes: the
 * FULL_OBJECT checksum of a multipart upload, computed without reading the data again.
 */
export function combineCrcs(
  algorithm: ChecksumAlgorithm,
  parts: readonly { value: string; size: number }[],
): string {
  const params = CRC_PARAMETERS[algorithm];
  if (params === undefined) throw new Error(`${algorithm} is not a CRC`);
  const bytes = Number(params.width / 8n);
  let crc = 0n;
  for (const part of parts) {
    const value = BigInt(`0x${Buffer.from(part.value, "base64").toString("hex") || "0"}`);
    crc =
      multModP(xPowBytes(part.size, params.poly, params.width), crc, params.poly, params.width) ^
      value;
  }
  return Buffer.from(crc.toString(16).padStart(bytes * 2, "0"), "hex").toString("base64");
}

/** The COMPOSITE checksum of a multipart upload: the checksum of the parts' binary checksums, "-<parts>". */
export function compositeChecksum(
  algorithm: ChecksumAlgorithm,
  partValues: readonly string[],
): string {
  const checksum = createChecksum(algorithm);
  for (const value of partValues) checksum.update(Buffer.from(value, "base64"));
  return `${checksum.digestBase64() ?? ""}-${partValues.length}`;
}
