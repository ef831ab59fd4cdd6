/**
 * The flexible checksums of S3 (x-amz-checksum-*), computed incrementally while a body streams.
 * CRC32 uses zlib's native implementation; CRC32C has a table-driven fallback because Node has
 * none; CRC64NVME is accepted but not verified (no client used by this project sends it).
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
  /** Base64 of the big-endian digest, or undefined when this algorithm is not verified. */
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
    case "crc64nvme":
      return { update: () => {}, digestBase64: () => undefined };
  }
}
