/**
 * The few XML documents S3 exchanges with this server: rendering list results and parsing the
 * CompleteMultipartUpload and Delete request bodies (flat, known shapes, so no general parser).
 */
import { S3Error, xmlEscape } from "./errors";

/** S3's XML namespace. */
export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** A tree of elements to render: text, nested elements, or repeated elements (arrays). */
export type XmlValue = string | number | boolean | XmlNode | XmlNode[] | string[] | undefined;
/** Element name → value; undefined values are skipped. */
export interface XmlNode {
  [name: string]: XmlValue;
}

function renderValue(name: string, value: XmlValue): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    return (value as (XmlNode | string)[]).map((v) => renderValue(name, v)).join("");
  }
  if (typeof value === "object") return `<${name}>${renderNode(value)}</${name}>`;
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

function renderNode(node: XmlNode): string {
  return Object.entries(node)
    .map(([name, value]) => renderValue(name, value))
    .join("");
}

/** A complete XML document with the S3 namespace on its root element. */
export function xmlDocument(root: string, node: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_XMLNS}">${renderNode(node)}</${root}>`;
}

/** A character XML 1.0 allows (Char production): not NUL, controls, surrogates or beyond U+10FFFF. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** Reverses {@link xmlEscape} and numeric character references; MalformedXML for a reference to no XML character. */
export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith("#")) {
      const code = entity.startsWith("#x")
        ? Number.parseInt(entity.slice(2), 16)
        : Number.parseInt(entity.slice(1), 10);
      if (!isXmlChar(code)) throw malformed();
      return String.fromCodePoint(code);
    }
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[entity] ?? "";
  });
}

function malformed(): S3Error {
  return new S3Error(
    "MalformedXML",
    "The XML you provided was not well-formed or did not validate against our published schema.",
  );
}

function elements(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1] ?? "");
}

/** An element's text; trimmed unless `exact` (keys are exact bytes, whitespace included). */
function element(xml: string, name: string, exact = false): string | undefined {
  const found = elements(xml, name)[0];
  if (found === undefined) return undefined;
  return xmlUnescape(exact ? found : found.trim());
}

/** Checksum elements of a listed part, by lower-case algorithm name. */
const PART_CHECKSUMS = {
  ChecksumCRC32: "crc32",
  ChecksumCRC32C: "crc32c",
  ChecksumCRC64NVME: "crc64nvme",
  ChecksumSHA1: "sha1",
  ChecksumSHA256: "sha256",
} as const;

/** One part as listed in a CompleteMultipartUpload request. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
  /** A checksum the client listed for the part: lower-case algorithm and base64 value. */
  checksum?: { algorithm: string; value: string };
}

/** Most keys one DeleteObjects request may name. */
export const MAX_DELETE_KEYS = 1000;

/** Parses a CompleteMultipartUpload body: MalformedXML unless it lists at least one part. */
export function parseCompleteMultipartUpload(xml: string): CompletedPart[] {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) throw malformed();
  const parts = elements(xml, "Part").map((body) => {
    const number = element(body, "PartNumber");
    const etag = element(body, "ETag");
    if (number === undefined || !/^\d+$/.test(number) || etag === undefined) throw malformed();
    const part: CompletedPart = { partNumber: Number(number), etag };
    for (const [name, algorithm] of Object.entries(PART_CHECKSUMS)) {
      const value = element(body, name);
      if (value !== undefined) part.checksum = { algorithm, value };
    }
    return part;
  });
  if (parts.length === 0) throw malformed();
  return parts;
}

/** One object named in a DeleteObjects request. */
export interface DeleteTarget {
  key: string;
  versionId?: string;
}

/** Parses a DeleteObjects (multi-object delete) body: 1 to 1,000 objects, keys exactly as sent. */
export function parseDeleteObjects(xml: string): { objects: DeleteTarget[]; quiet: boolean } {
  if (!/<Delete[\s>]/.test(xml)) throw malformed();
  const objects = elements(xml, "Object").map((body) => {
    const key = element(body, "Key", true);
    if (key === undefined) throw malformed();
    const versionId = element(body, "VersionId");
    return versionId === undefined ? { key } : { key, versionId };
  });
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw malformed();
  return { objects, quiet: element(xml, "Quiet") === "true" };
}
