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
import { createHash, randomUUID } from "node:crypto";
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from "node:fs/promises";
import { join } from "node:path";
import { S3Error } from "./errors";

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
  /** Flexible checksum of a single-part object, as given by the client and verified. */
  checksum?: { algorithm: string; value: string };
}

/** One uploaded part of a multipart upload. */
export interface PartMeta {
  partNumber: number;
  /** Quoted MD5 ETag. */
  etag: string;
  size: number;
  lastModified: string;
  file: string;
}

/** A multipart upload in progress. */
export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  contentType: string;
  metadata: Record<string, string>;
  parts: Map<number, PartMeta>;
}

interface BucketState {
  name: string;
  created: string;
  objects: Map<string, ObjectMeta>;
  uploads: Map<string, UploadMeta>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function keyId(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

async function fsyncPath(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } finally {
    await handle?.close();
  }
}

const PART_FILE = /^p(\d+)-([0-9a-f]{32})-(\d+)-(\d+)-[0-9a-f-]{36}$/;

/** The data file name of a part, which carries its metadata. */
function partFileName(part: Omit<PartMeta, "file">): string {
  const md5 = /^"([0-9a-f]{32})"$/.exec(part.etag)?.[1];
  if (md5 === undefined) throw new Error(`a part ETag must be a quoted MD5: ${part.etag}`);
  return `p${part.partNumber}-${md5}-${part.size}-${Date.parse(part.lastModified)}-${randomUUID()}`;
}

/** The metadata of a part from its data file name; undefined for other files. */
function partFromFileName(file: string): PartMeta | undefined {
  const m = PART_FILE.exec(file);
  if (m === null) return undefined;
  return {
    partNumber: Number(m[1]),
    etag: `"${m[2]}"`,
    size: Number(m[3]),
    lastModified: new Date(Number(m[4])).toISOString(),
    file,
  };
}

/** Writes a small file durably: temp file, fsync, rename, fsync of the directory. */
async function writeFileDurably(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.${randomUUID()}.tmp`);
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncPath(dir);
}

function isNotFound(e: unknown): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === "ENOENT";
}

/** The file system store behind the S3 server. */
export class Store {
  readonly dataDir: string;
  private readonly buckets = new Map<string, BucketState>();

  private constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  /** Opens (and creates) a data directory and loads its index. */
  static async open(dataDir: string): Promise<Store> {
    const store = new Store(dataDir);
    await mkdir(join(dataDir, "buckets"), { recursive: true });
    await rm(join(dataDir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dataDir, "tmp"), { recursive: true });
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    for (const name of await readdir(join(this.dataDir, "buckets"))) {
      const dir = this.bucketDir(name);
      let created: string;
      try {
        created = (
          JSON.parse(await readFile(join(dir, "bucket.json"), "utf8")) as { created: string }
        ).created;
      } catch (e: unknown) {
        if (isNotFound(e)) continue;
        throw e;
      }
      const bucket: BucketState = { name, created, objects: new Map(), uploads: new Map() };
      for (const file of await readdir(join(dir, "objects"))) {
        if (!file.endsWith(".json") || file.startsWith(".")) continue;
        const meta = JSON.parse(await readFile(join(dir, "objects", file), "utf8")) as ObjectMeta;
        bucket.objects.set(meta.key, meta);
      }
      for (const id of await readdir(join(dir, "uploads"))) {
        const udir = join(dir, "uploads", id);
        let upload: UploadMeta;
        try {
          const raw = JSON.parse(await readFile(join(udir, "upload.json"), "utf8")) as Omit<
            UploadMeta,
            "parts"
          >;
          upload = { ...raw, parts: new Map() };
        } catch (e: unknown) {
          if (isNotFound(e)) continue;
          throw e;
        }
        for (const file of await readdir(udir)) {
          let part: PartMeta | undefined;
          if (/^part-\d+\.json$/.test(file)) {
            // Written by earlier versions: a JSON sidecar per part.
            part = JSON.parse(await readFile(join(udir, file), "utf8")) as PartMeta;
          } else part = partFromFileName(file);
          if (part === undefined) continue;
          const known = upload.parts.get(part.partNumber);
          // Two files for one part number: a crash between storing a replacement and
          // removing the replaced one; the later upload wins, as it did before the crash.
          if (known === undefined || known.lastModified < part.lastModified) {
            upload.parts.set(part.partNumber, part);
          }
        }
        bucket.uploads.set(id, upload);
      }
      this.buckets.set(name, bucket);
    }
  }

  private bucketDir(name: string): string {
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
  private bucket(name: string): BucketState {
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
    if (!BUCKET_NAME.test(name) || name.includes("..")) {
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

  /** Deletes an empty bucket: NoSuchBucket, BucketNotEmpty (objects or unfinished uploads). */
  async deleteBucket(name: string): Promise<void> {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0) {
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

  /** Starts a multipart upload and returns it. */
  async createUpload(
    bucketName: string,
    key: string,
    contentType: string,
    metadata: Record<string, string>,
  ): Promise<UploadMeta> {
    const bucket = this.bucket(bucketName);
    const uploadId = randomUUID().replace(/-/g, "");
    const upload: UploadMeta = {
      uploadId,
      bucket: bucketName,
      key,
      initiated: new Date().toISOString(),
      contentType,
      metadata,
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
  async completeUpload(upload: UploadMeta, parts: PartMeta[], etag: string): Promise<ObjectMeta> {
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
    };
    await this.putObject(
      upload.bucket,
      meta,
      parts.map((p) => ({ path: join(dir, p.file), size: p.size })),
    );
    await rm(dir, { recursive: true, force: true });
    return this.getObject(upload.bucket, upload.key);
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
