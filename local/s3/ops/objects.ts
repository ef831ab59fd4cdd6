/** Writing and deleting objects: PutObject, DeleteObject, DeleteObjects; and GetObjectTagging. */
import { receiveBody } from "../body";
import { checkWriteConditions } from "../conditions";
import { readSmallBody } from "../small-body";
import type { ObjectMeta } from "../store";
import { parseDeleteObjects, type XmlNode, xmlDocument } from "../xml";
import {
  checksumHeader,
  commitConditionally,
  contentType,
  quoted,
  requireNullVersion,
  type S3Request,
  sendEmpty,
  sendXml,
  systemHeaders,
  userMetadata,
  XML_BODY_LIMIT,
} from "./request";

/** Largest PutObject body, as on S3. */
const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;

/**
 * PutObject: the body streams to a temp file, is verified, then committed. If-None-Match: * and
 * If-Match are checked before the body is read and again before the commit.
 */
export async function putObject(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  checkWriteConditions(r.req, r.store.findObject(r.bucket, r.key), r.key);
  const tmp = r.store.tempPath();
  const body = await receiveBody(r.req, tmp, { signed: r.signed, maxBytes: MAX_PUT_BYTES });
  const etag = quoted(body.md5);
  const meta: Omit<ObjectMeta, "segments"> = {
    key: r.key,
    size: body.size,
    etag,
    lastModified: new Date().toISOString(),
    contentType: contentType(r.req),
    metadata: userMetadata(r.req),
  };
  const headers = systemHeaders(r.req);
  if (headers !== undefined) meta.headers = headers;
  // A single-part object's checksum is of the whole object (S3: type FULL_OBJECT).
  if (body.checksum !== undefined) meta.checksum = { ...body.checksum, type: "FULL_OBJECT" };
  try {
    await commitConditionally(r, () =>
      r.store.putObject(r.bucket, meta, [{ path: tmp, size: body.size }]),
    );
  } catch (e: unknown) {
    await r.store.discard(tmp);
    throw e;
  }
  sendEmpty(r.res, 200, {
    ETag: etag,
    ...checksumHeader(body.checksum),
    ...(body.checksum === undefined ? {} : { "x-amz-checksum-type": "FULL_OBJECT" }),
  });
}

/**
 * GetObjectTagging: objects here never have tags (PutObjectTagging answers 501), so the tag set
 * is empty; aws-cli asks for it before copying an object in parts.
 */
export async function getObjectTagging(r: S3Request): Promise<void> {
  requireNullVersion(r);
  r.store.getObject(r.bucket, r.key);
  sendXml(r.res, 200, xmlDocument("Tagging", { TagSet: {} }));
}

/** DeleteObject: 204 whether or not the key existed. */
export async function deleteObject(r: S3Request): Promise<void> {
  requireNullVersion(r);
  await r.store.deleteObject(r.bucket, r.key);
  sendEmpty(r.res, 204);
}

/** DeleteObjects (aws s3 rm --recursive uses it). */
export async function deleteObjects(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const { objects, quiet } = parseDeleteObjects(
    await readSmallBody(r.req, XML_BODY_LIMIT, r.signed),
  );
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  for (const { key, versionId } of objects) {
    if (versionId !== undefined && versionId !== "null") {
      errors.push({
        Key: key,
        VersionId: versionId,
        Code: "NoSuchVersion",
        Message: "The specified version does not exist.",
      });
      continue;
    }
    await r.store.deleteObject(r.bucket, key);
    deleted.push({ Key: key, VersionId: versionId });
  }
  sendXml(
    r.res,
    200,
    xmlDocument("DeleteResult", { Deleted: quiet ? [] : deleted, Error: errors }),
  );
}
