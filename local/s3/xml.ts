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

/** Reverses {@link xmlEscape} and numeric character references. */
export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
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

function element(xml: string, name: string): string | undefined {
  const found = elements(xml, name)[0];
  return found === undefined ? undefined : xmlUnescape(found.trim());
}

/** One part as listed in a CompleteMultipartUpload request. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** Parses a CompleteMultipartUpload body: MalformedXML unless it lists at least one part. */
export function parseCompleteMultipartUpload(xml: string): CompletedPart[] {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) throw malformed();
  const parts = elements(xml, "Part").map((body) => {
    const number = element(body, "PartNumber");
    const etag = element(body, "ETag");
    if (number === undefined || !/^\d+$/.test(number) || etag === undefined) throw malformed();
    return { partNumber: Number(number), etag };
  });
  if (parts.length === 0) throw malformed();
  return parts;
}

/** Parses a DeleteObjects (multi-object delete) body. */
export function parseDeleteObjects(xml: string): { keys: string[]; quiet: boolean } {
  if (!/<Delete[\s>]/.test(xml)) throw malformed();
  const keys = elements(xml, "Object").map((body) => {
    const key = element(body, "Key");
    if (key === undefined) throw malformed();
    return key;
  });
  return { keys, quiet: element(xml, "Quiet") === "true" };
}
