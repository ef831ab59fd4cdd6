/**
 * The server's storage: buckets, objects and multipart uploads in a directory it owns.
 * Layout (all below dataDir):
 *   tmp/                              bodies being received (same filesystem, so rename is atomic)
 *   buckets/<b>/bucket.json           creation date
 *   buckets/<b>/objects/<sha256(key)>.json   object metadata sidecar, names its data segments
 *   buckets/<b>/data/<uuid>           data segments (one for PutObject, one per part after Complete)
 *   buckets/<b>/uploads/<id>/upload.json, p<n>-<md5>-<size>-<ms>-<uuid>   multipart uploads
 *     (a part's data file; its name is its metadata: number, ETag, size, Last-Modified)
 * An object exists once its sidecar is renamed into place (after its data was fsynced), so an
 * acknowledged object survives a restart. An index of everything is kept in memory.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { S3Error } from "./errors";
import { fsyncPath, writeFileDurably } from "./store-files";
import { loadIndex } from "./store-load";
import { type ObjectMeta, type PartMeta, partFileName, type UploadMeta } from "./store-meta";
import { ObjectStore } from "./store-objects";

export type { ObjectMeta, PartMeta, UploadMeta } from "./store-meta";

/** The file system store behind the S3 server: buckets, objects and multipart uploads. */
export class Store extends ObjectStore {
  /**
   * Opens (and creates) a data directory and loads its index. A metadata file that does not
   * parse is reported through `log`, moved to quarantine/ and skipped.
   */
  static async open(dataDir: string, log: (line: string) => void = () => {}): Promise<Store> {
    await mkdir(join(dataDir, "buckets"), { recursive: true });
    await rm(join(dataDir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dataDir, "tmp"), { recursive: true });
    return new Store(dataDir, await loadIndex(dataDir, log));
  }

  /** Starts a multipart upload and returns it. */
  async createUpload(
    bucketName: string,
    key: string,
    fields: Pick<
      UploadMeta,
      "contentType" | "metadata" | "headers" | "checksumAlgorithm" | "checksumType"
    >,
  ): Promise<UploadMeta> {
    const bucket = this.bucket(bucketName);
    const uploadId = randomUUID().replace(/-/g, "");
    const upload: UploadMeta = {
      ...fields,
      uploadId,
      bucket: bucketName,
      key,
      initiated: new Date().toISOString(),
      parts: new Map(),
    };
    const dir = join(this.bucketDir(bucketName), "uploads", uploadId);
    await mkdir(dir, { recursive: true });
    const { parts: _parts, ...persisted } = upload;
    await writeFileDurably(dir, "upload.json", JSON.stringify(persisted));
    bucket.uploads.set(uploadId, upload);
    return upload;
  }

  /** The upload, or NoSuchUpload (also when it belongs to another key). */
  getUpload(bucketName: string, key: string, uploadId: string): UploadMeta {
    const upload = this.bucket(bucketName).uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) {
      throw new S3Error(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        { UploadId: uploadId },
      );
    }
    return upload;
  }

  /** Unfinished uploads of a bucket, sorted by key then initiation. */
  listUploads(bucketName: string): UploadMeta[] {
    return [...this.bucket(bucketName).uploads.values()].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated < b.initiated ? -1 : 1,
    );
  }

  /** Stores a received part (replacing an earlier one with the same number). */
  async putPart(
    bucketName: string,
    key: string,
    uploadId: string,
    part: Omit<PartMeta, "file">,
    bodyPath: string,
  ): Promise<void> {
    // The upload may have been aborted while the body streamed in.
    const upload = this.getUpload(bucketName, key, uploadId);
    const dir = join(this.bucketDir(bucketName), "uploads", uploadId);
    const file = partFileName(part);
    // The body was fsynced when received: the rename and its directory's fsync make the part
    // durable, and its name carries its metadata (one fsync less per part than a sidecar).
    await rename(bodyPath, join(dir, file));
    await fsyncPath(dir);
    const meta: PartMeta = { ...part, file };
    const previous = upload.parts.get(part.partNumber);
    upload.parts.set(part.partNumber, meta);
    if (previous !== undefined) await rm(join(dir, previous.file), { force: true });
    if (!this.buckets.get(bucketName)?.uploads.has(uploadId)) {
      // Aborted during the rename: make sure no part is left behind.
      await rm(dir, { recursive: true, force: true });
      this.getUpload(bucketName, key, uploadId);
    }
  }

  /** Removes an upload and every part file it holds. */
  async removeUpload(bucketName: string, uploadId: string): Promise<void> {
    this.bucket(bucketName).uploads.delete(uploadId);
    await rm(join(this.bucketDir(bucketName), "uploads", uploadId), {
      recursive: true,
      force: true,
    });
  }

  /**
   * Completes an upload with already validated parts: the part files become the object's
   * segments without copying, then the upload directory is removed.
   */
  async completeUpload(
    upload: UploadMeta,
    parts: PartMeta[],
    etag: string,
    checksum?: ObjectMeta["checksum"],
  ): Promise<ObjectMeta> {
    const dir = join(this.bucketDir(upload.bucket), "uploads", upload.uploadId);
    this.bucket(upload.bucket).uploads.delete(upload.uploadId);
    const size = parts.reduce((sum, p) => sum + p.size, 0);
    const meta: Omit<ObjectMeta, "segments"> = {
      key: upload.key,
      size,
      etag,
      lastModified: new Date().toISOString(),
      contentType: upload.contentType,
      metadata: upload.metadata,
      multipart: {
        uploadId: upload.uploadId,
        parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      },
    };
    if (upload.headers !== undefined) meta.headers = upload.headers;
    if (checksum !== undefined) meta.checksum = checksum;
    await this.putObject(
      upload.bucket,
      meta,
      parts.map((p) => ({ path: join(dir, p.file), size: p.size })),
    );
    await rm(dir, { recursive: true, force: true });
    return this.getObject(upload.bucket, upload.key);
  }
}
