/**
 * The buckets and objects of the store: the in-memory index and the files behind it. An object
 * is committed by renaming its received body files in as its data segments and then writing
 * its sidecar durably (see store.ts for the layout); {@link Store} adds multipart uploads.
 */
import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { S3Error } from "./errors";
import { fsyncPath, writeFileDurably } from "./store-files";
import {
  type BucketState,
  isValidBucketName,
  keyId,
  type ObjectMeta,
  type Segment,
} from "./store-meta";

/** Buckets and objects in a data directory, indexed in memory. */
export class ObjectStore {
  readonly dataDir: string;
  protected readonly buckets: Map<string, BucketState>;
  /** Keys being written by a conditional write (bucket/key). */
  private readonly claims = new Set<string>();

  protected constructor(dataDir: string, buckets: Map<string, BucketState>) {
    this.dataDir = dataDir;
    this.buckets = buckets;
  }

  protected bucketDir(name: string): string {
    return join(this.dataDir, "buckets", name);
  }

  /** Removes a received body that will not be committed. */
  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /** A fresh path under tmp/ for a body being received. */
  tempPath(): string {
    return join(this.dataDir, "tmp", randomUUID());
  }

  /** The bucket, or NoSuchBucket. */
  protected bucket(name: string): BucketState {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) {
      throw new S3Error("NoSuchBucket", "The specified bucket does not exist", {
        BucketName: name,
      });
    }
    return bucket;
  }

  /** Throws NoSuchBucket unless the bucket exists. */
  requireBucket(name: string): void {
    this.bucket(name);
  }

  /** Buckets, sorted by name. */
  listBuckets(): { name: string; created: string }[] {
    return [...this.buckets.values()]
      .map(({ name, created }) => ({ name, created }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Creates a bucket: InvalidBucketName, BucketAlreadyOwnedByYou. */
  async createBucket(name: string): Promise<void> {
    if (!isValidBucketName(name)) {
      throw new S3Error("InvalidBucketName", "The specified bucket is not valid.", {
        BucketName: name,
      });
    }
    if (this.buckets.has(name)) {
      throw new S3Error(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        { BucketName: name },
      );
    }
    const created = new Date().toISOString();
    const state: BucketState = { name, created, objects: new Map(), uploads: new Map() };
    this.buckets.set(name, state);
    const dir = this.bucketDir(name);
    for (const sub of ["objects", "data", "uploads"])
      await mkdir(join(dir, sub), { recursive: true });
    await writeFileDurably(dir, "bucket.json", JSON.stringify({ created }));
  }

  /**
   * Deletes a bucket without objects (NoSuchBucket, BucketNotEmpty); its unfinished multipart
   * uploads are deleted with it, as on S3.
   */
  async deleteBucket(name: string): Promise<void> {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0) {
      throw new S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", {
        BucketName: name,
      });
    }
    this.buckets.delete(name);
    await rm(join(this.bucketDir(name), "bucket.json"), { force: true });
    await rm(this.bucketDir(name), { recursive: true, force: true });
  }

  /** The object's metadata, or NoSuchKey. */
  getObject(bucketName: string, key: string): ObjectMeta {
    const meta = this.bucket(bucketName).objects.get(key);
    if (meta === undefined)
      throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: key });
    return meta;
  }

  /**
   * Claims a key for one conditional write until the returned function is called; a second
   * claim meanwhile fails with 409 ConditionalRequestConflict, as on S3.
   */
  claimKey(bucketName: string, key: string): () => void {
    const id = `${bucketName}/${key}`;
    if (this.claims.has(id)) {
      throw new S3Error(
        "ConditionalRequestConflict",
        "The conditional request cannot succeed due to a conflicting operation against this resource.",
        { Key: key },
      );
    }
    this.claims.add(id);
    return () => {
      this.claims.delete(id);
    };
  }

  /** The object's metadata, or undefined (NoSuchBucket for a missing bucket). */
  findObject(bucketName: string, key: string): ObjectMeta | undefined {
    return this.bucket(bucketName).objects.get(key);
  }

  /** Absolute path of an object's data segment. */
  segmentPath(bucketName: string, file: string): string {
    return join(this.bucketDir(bucketName), "data", file);
  }

  /** All keys of a bucket, sorted as S3 sorts them (by UTF-8 bytes). */
  sortedObjects(bucketName: string): ObjectMeta[] {
    return [...this.bucket(bucketName).objects.values()].sort((a, b) =>
      Buffer.compare(Buffer.from(a.key, "utf8"), Buffer.from(b.key, "utf8")),
    );
  }

  /**
   * Commits an object: moves the received body files in as its segments and writes the sidecar.
   * Replaces (and then removes) any previous version of the key.
   */
  async putObject(
    bucketName: string,
    meta: Omit<ObjectMeta, "segments">,
    bodies: { path: string; size: number }[],
  ): Promise<void> {
    const bucket = this.bucket(bucketName);
    const dir = this.bucketDir(bucketName);
    const segments: Segment[] = [];
    for (const body of bodies) {
      const file = randomUUID();
      await rename(body.path, join(dir, "data", file));
      segments.push({ file, size: body.size });
    }
    await fsyncPath(join(dir, "data"));
    const full: ObjectMeta = { ...meta, segments };
    await writeFileDurably(join(dir, "objects"), `${keyId(meta.key)}.json`, JSON.stringify(full));
    const previous = bucket.objects.get(meta.key);
    bucket.objects.set(meta.key, full);
    if (previous !== undefined) await this.removeSegments(bucketName, previous.segments);
  }

  private async removeSegments(bucketName: string, segments: Segment[]): Promise<void> {
    for (const s of segments) await rm(this.segmentPath(bucketName, s.file), { force: true });
  }

  /** Deletes an object; a missing key is not an error (as in S3). */
  async deleteObject(bucketName: string, key: string): Promise<void> {
    const bucket = this.bucket(bucketName);
    const meta = bucket.objects.get(key);
    if (meta === undefined) return;
    bucket.objects.delete(key);
    await rm(join(this.bucketDir(bucketName), "objects", `${keyId(key)}.json`), { force: true });
    await this.removeSegments(bucketName, meta.segments);
  }

  /**
   * Commits a copy of an object's data under a key (CopyObject): each segment is copied (a
   * reflink where the file system can), fsynced, then committed as {@link putObject} does.
   */
  async copyObject(
    source: { bucket: string; meta: ObjectMeta },
    bucketName: string,
    meta: Omit<ObjectMeta, "segments">,
  ): Promise<ObjectMeta> {
    this.bucket(bucketName);
    const bodies: { path: string; size: number }[] = [];
    try {
      for (const segment of source.meta.segments) {
        const tmp = this.tempPath();
        bodies.push({ path: tmp, size: segment.size });
        await copyFile(
          this.segmentPath(source.bucket, segment.file),
          tmp,
          constants.COPYFILE_FICLONE,
        );
        await fsyncPath(tmp);
      }
      await this.putObject(bucketName, meta, bodies);
    } catch (e: unknown) {
      for (const body of bodies) await rm(body.path, { force: true });
      throw e;
    }
    return this.getObject(bucketName, meta.key);
  }

  /** Total bytes in files under the data directory (tests use it to prove nothing is left). */
  async diskBytes(): Promise<number> {
    let total = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else total += (await stat(path)).size;
      }
    };
    await walk(this.dataDir);
    return total;
  }
}
