/** The listings of a bucket's keys: ListObjectsV2, ListObjects (v1), ListObjectVersions. */
import { S3Error } from "../errors";
import type { ObjectMeta } from "../store";
import { type XmlNode, xmlDocument } from "../xml";
import { intParam, isoSeconds, maybeEncode, OWNER, type S3Request, sendXml } from "./request";

interface Listing {
  contents: ObjectMeta[];
  prefixes: string[];
  truncated: boolean;
  /** Last key or common prefix returned (the next marker). */
  last?: string;
}

function listKeys(r: S3Request, after: string, maxKeys: number): Listing {
  const prefix = r.query.get("prefix") ?? "";
  const delimiter = r.query.get("delimiter") ?? "";
  const listing: Listing = { contents: [], prefixes: [], truncated: false };
  // max-keys=0 asks for nothing, and nothing is left out (S3: IsTruncated false).
  if (maxKeys === 0) return listing;
  const seen = new Set<string>();
  for (const meta of r.store.sortedObjects(r.bucket)) {
    if (!meta.key.startsWith(prefix)) continue;
    let entry = meta.key;
    let common: string | undefined;
    if (delimiter !== "") {
      const at = meta.key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        common = meta.key.slice(0, at + delimiter.length);
        entry = common;
      }
    }
    if (after !== "" && Buffer.compare(Buffer.from(entry), Buffer.from(after)) <= 0) continue;
    if (common !== undefined && seen.has(common)) continue;
    if (listing.contents.length + listing.prefixes.length >= maxKeys) {
      listing.truncated = true;
      break;
    }
    if (common !== undefined) {
      seen.add(common);
      listing.prefixes.push(common);
    } else {
      listing.contents.push(meta);
    }
    listing.last = entry;
  }
  return listing;
}

function contentsXml(listing: Listing, encode: boolean, owner: boolean): XmlNode {
  return {
    Contents: listing.contents.map((m) => ({
      Key: maybeEncode(m.key, encode),
      LastModified: isoSeconds(m.lastModified),
      ETag: m.etag,
      ...checksumAlgorithmXml(m),
      Size: m.size,
      Owner: owner ? { ...OWNER } : undefined,
      StorageClass: "STANDARD",
    })),
    CommonPrefixes: listing.prefixes.map((p) => ({ Prefix: maybeEncode(p, encode) })),
  };
}

/** A listed object's ChecksumAlgorithm element, when it has a checksum. */
function checksumAlgorithmXml(meta: ObjectMeta): XmlNode {
  return meta.checksum === undefined
    ? {}
    : { ChecksumAlgorithm: meta.checksum.algorithm.toUpperCase() };
}

/** The Delimiter element: echoed when given and not empty. */
function delimiterXml(r: S3Request, encode: boolean): string | undefined {
  const delimiter = r.query.get("delimiter") ?? "";
  return delimiter === "" ? undefined : maybeEncode(delimiter, encode);
}

/** ListObjectsV2: prefix, delimiter, max-keys, continuation-token, start-after, fetch-owner. */
export async function listObjectsV2(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const maxKeys = intParam(r.query, "max-keys", 1000, 1000);
  const token = r.query.get("continuation-token");
  const startAfter = r.query.get("start-after") ?? "";
  let after = startAfter;
  if (token !== null) {
    after = Buffer.from(token, "base64url").toString("utf8");
    if (token === "")
      throw new S3Error("InvalidArgument", "The continuation token provided is incorrect");
  }
  const encode = r.query.get("encoding-type") === "url";
  const listing = listKeys(r, after, maxKeys);
  sendXml(
    r.res,
    200,
    xmlDocument("ListBucketResult", {
      Name: r.bucket,
      Prefix: maybeEncode(r.query.get("prefix") ?? "", encode),
      Delimiter: delimiterXml(r, encode),
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      KeyCount: listing.contents.length + listing.prefixes.length,
      ContinuationToken: token ?? undefined,
      NextContinuationToken:
        listing.truncated && listing.last !== undefined
          ? Buffer.from(listing.last, "utf8").toString("base64url")
          : undefined,
      StartAfter: r.query.has("start-after") ? maybeEncode(startAfter, encode) : undefined,
      IsTruncated: listing.truncated,
      ...contentsXml(listing, encode, r.query.get("fetch-owner") === "true"),
    }),
  );
}

/** ListObjects (version 1, still used by s3cmd): prefix, delimiter, marker, max-keys. */
export async function listObjects(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const maxKeys = intParam(r.query, "max-keys", 1000, 1000);
  const marker = r.query.get("marker") ?? "";
  const encode = r.query.get("encoding-type") === "url";
  const listing = listKeys(r, marker, maxKeys);
  sendXml(
    r.res,
    200,
    xmlDocument("ListBucketResult", {
      Name: r.bucket,
      Prefix: maybeEncode(r.query.get("prefix") ?? "", encode),
      Marker: maybeEncode(marker, encode),
      // Only with a delimiter, as S3 documents (without one the last Key is the next marker).
      NextMarker:
        listing.truncated && listing.last !== undefined && (r.query.get("delimiter") ?? "") !== ""
          ? maybeEncode(listing.last, encode)
          : undefined,
      Delimiter: delimiterXml(r, encode),
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      IsTruncated: listing.truncated,
      ...contentsXml(listing, encode, true),
    }),
  );
}

/**
 * ListObjectVersions of a bucket that is never versioned: every object is its one version,
 * VersionId "null" and latest (bucket-emptying tools list versions before deleting).
 */
export async function listObjectVersions(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const maxKeys = intParam(r.query, "max-keys", 1000, 1000);
  const keyMarker = r.query.get("key-marker") ?? "";
  const encode = r.query.get("encoding-type") === "url";
  const listing = listKeys(r, keyMarker, maxKeys);
  const truncated = listing.truncated && listing.last !== undefined;
  sendXml(
    r.res,
    200,
    xmlDocument("ListVersionsResult", {
      Name: r.bucket,
      Prefix: maybeEncode(r.query.get("prefix") ?? "", encode),
      KeyMarker: maybeEncode(keyMarker, encode),
      VersionIdMarker: r.query.get("version-id-marker") ?? "",
      NextKeyMarker: truncated ? maybeEncode(listing.last ?? "", encode) : undefined,
      NextVersionIdMarker: truncated ? "null" : undefined,
      Delimiter: delimiterXml(r, encode),
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      IsTruncated: listing.truncated,
      Version: listing.contents.map((m) => ({
        Key: maybeEncode(m.key, encode),
        VersionId: "null",
        IsLatest: true,
        LastModified: isoSeconds(m.lastModified),
        ETag: m.etag,
        ...checksumAlgorithmXml(m),
        Size: m.size,
        Owner: { ...OWNER },
        StorageClass: "STANDARD",
      })),
      CommonPrefixes: listing.prefixes.map((p) => ({ Prefix: maybeEncode(p, encode) })),
    }),
  );
}
