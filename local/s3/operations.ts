/**
 * The S3 operations, by the name the router gives them: one function per operation (in ops/,
 * one file per family), each given the parsed request and the store.
 * Path-style addressing only: /<bucket>/<key>.
 */
import type { S3Operation } from "./faults";
import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
} from "./ops/buckets";
import { completeMultipartUpload } from "./ops/complete";
import { copyObject, uploadPartCopy } from "./ops/copy";
import { listObjects, listObjectsV2, listObjectVersions } from "./ops/listing";
import {
  abortMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
} from "./ops/multipart";
import { deleteObject, deleteObjects, getObjectTagging, putObject } from "./ops/objects";
import { getObject, headObject } from "./ops/read";
import type { S3Request } from "./ops/request";

/** The implementation of each operation. */
export const OPERATIONS: Record<S3Operation, (r: S3Request) => Promise<void>> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  DeleteObjects: deleteObjects,
  ListObjectsV2: listObjectsV2,
  ListObjects: listObjects,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CopyObject: copyObject,
  ListObjectVersions: listObjectVersions,
  GetObjectTagging: getObjectTagging,
  GetBucketVersioning: getBucketVersioning,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListMultipartUploads: listMultipartUploads,
  ListParts: listParts,
};
