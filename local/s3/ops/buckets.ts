/** The bucket operations: ListBuckets, CreateBucket, HeadBucket, GetBucketLocation, GetBucketVersioning, DeleteBucket. */
import { readSmallBody } from "../small-body";
import { xmlDocument } from "../xml";
import { isoSeconds, OWNER, type S3Request, sendEmpty, sendXml, XML_BODY_LIMIT } from "./request";

/** ListBuckets. */
export async function listBuckets(r: S3Request): Promise<void> {
  const buckets = r.store
    .listBuckets()
    .map((b) => ({ Name: b.name, CreationDate: isoSeconds(b.created) }));
  sendXml(
    r.res,
    200,
    xmlDocument("ListAllMyBucketsResult", { Owner: { ...OWNER }, Buckets: { Bucket: buckets } }),
  );
}

/** CreateBucket (any CreateBucketConfiguration body is read and ignored: one region). */
export async function createBucket(r: S3Request): Promise<void> {
  await readSmallBody(r.req, XML_BODY_LIMIT, r.signed);
  await r.store.createBucket(r.bucket);
  sendEmpty(r.res, 200, { Location: `/${r.bucket}` });
}

/** HeadBucket. */
export async function headBucket(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  sendEmpty(r.res, 200, { "x-amz-bucket-region": r.region });
}

/** GetBucketLocation (s3cmd asks before its first request to a bucket). */
export async function getBucketLocation(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const region = r.region === "us-east-1" ? "" : r.region;
  sendXml(
    r.res,
    200,
    `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region}</LocationConstraint>`,
  );
}

/** GetBucketVersioning: buckets here are never versioned, so the configuration has no Status. */
export async function getBucketVersioning(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  sendXml(r.res, 200, xmlDocument("VersioningConfiguration", {}));
}

/** DeleteBucket: only an empty bucket (no objects, no unfinished uploads). */
export async function deleteBucket(r: S3Request): Promise<void> {
  await r.store.deleteBucket(r.bucket);
  sendEmpty(r.res, 204);
}
