/**
 * What the store keeps of buckets, objects and multipart uploads, and the rules of their names:
 * S3's bucket naming rules, an object's sidecar name, a part's data file name (which carries
 * the part's metadata).
 */
import { createHash, randomUUID } from "node:crypto";

/** One stored piece of an object's data. */
export interface Segment {
  /** File name under the bucket's data/ directory. */
  file: string;
  size: number;
}

/** An object's metadata, as stored in its sidecar. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Quoted ETag, e.g. "\"9e107d9d372bb6826bd81d3542a419d6\"" or "\"…-13\"". */
  etag: string;
  lastModified: string;
  contentType: string;
  /** x-amz-meta-* headers, names without the prefix. */
  metadata: Record<string, string>;
  segments: Segment[];
  /**
   * Flexible checksum: of a single-part object as given by the client and verified; of a
   * multipart object the composite one ("<base64>-<parts>"), with type COMPOSITE.
   */
  checksum?: { algorithm: string; value: string; type?: "COMPOSITE" | "FULL_OBJECT" };
  /**
   * System metadata stored and returned as sent: cache-control, content-disposition,
   * content-encoding (without aws-chunked), content-language, expires.
   */
  headers?: Record<string, string>;
  /** For an object made by CompleteMultipartUpload: which upload and parts (a retried Complete is answered from it). */
  multipart?: { uploadId: string; parts: { partNumber: number; etag: string }[] };
}

/** One uploaded part of a multipart upload. */
export interface PartMeta {
  partNumber: number;
  /** Quoted MD5 ETag. */
  etag: string;
  size: number;
  lastModified: string;
  file: string;
  /** The part's verified flexible checksum, if the upload has an algorithm or the client sent one. */
  checksum?: { algorithm: string; value: string };
}

/** A multipart upload in progress. */
export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  contentType: string;
  metadata: Record<string, string>;
  /** System metadata given at creation (see {@link ObjectMeta.headers}). */
  headers?: Record<string, string>;
  /** x-amz-checksum-algorithm given at creation (lower-case), and its x-amz-checksum-type. */
  checksumAlgorithm?: string;
  checksumType?: "COMPOSITE" | "FULL_OBJECT";
  parts: Map<number, PartMeta>;
}

/** A bucket as the store indexes it. */
export interface BucketState {
  name: string;
  created: string;
  objects: Map<string, ObjectMeta>;
  uploads: Map<string, UploadMeta>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Prefixes and suffixes S3 reserves (general purpose bucket naming rules). */
const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** True when S3 accepts the name for a general purpose bucket. */
export function isValidBucketName(name: string): boolean {
  return (
    BUCKET_NAME.test(name) &&
    !name.includes("..") &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(name) &&
    !RESERVED_PREFIXES.some((p) => name.startsWith(p)) &&
    !RESERVED_SUFFIXES.some((p) => name.endsWith(p))
  );
}

export function keyId(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

const PART_FILE =
  /^p(\d+)-([0-9a-f]{32})-(\d+)-(\d+)-[0-9a-f-]{36}(?:\.([a-z0-9]+)\.([A-Za-z0-9_-]+))?$/;

/** The data file name of a part, which carries its metadata. */
export function partFileName(part: Omit<PartMeta, "file">): string {
  const md5 = /^"([0-9a-f]{32})"$/.exec(part.etag)?.[1];
  if (md5 === undefined) throw new Error(`a part ETag must be a quoted MD5: ${part.etag}`);
  const base = `p${part.partNumber}-${md5}-${part.size}-${Date.parse(part.lastModified)}-${randomUUID()}`;
  if (part.checksum === undefined) return base;
  const value = Buffer.from(part.checksum.value, "base64").toString("base64url");
  return `${base}.${part.checksum.algorithm}.${value}`;
}

/** The metadata of a part from its data file name; undefined for other files. */
export function partFromFileName(file: string): PartMeta | undefined {
  const m = PART_FILE.exec(file);
  if (m === null) return undefined;
  const part: PartMeta = {
    partNumber: Number(m[1]),
    etag: `"${m[2]}"`,
    size: Number(m[3]),
    lastModified: new Date(Number(m[4])).toISOString(),
    file,
  };
  if (m[5] !== undefined && m[6] !== undefined) {
    part.checksum = { algorithm: m[5], value: Buffer.from(m[6], "base64url").toString("base64") };
  }
  return part;
}
