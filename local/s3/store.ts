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
import { constants } from "node:fs";
import {
  copyFile,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from "node:fs/promises";
import { join, relative } from "node:path";
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

interface BucketState {
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

const PART_FILE =
  /^p(\d+)-([0-9a-f]{32})-(\d+)-(\d+)-[0-9a-f-]{36}(?:\.([a-z0-9]+)\.([A-Za-z0-9_-]+))?$/;

/** The data file name of a part, which carries its metadata. */
function partFileName(part: Omit<PartMeta, "file">): string {
  const md5 = /^"([0-9a-f]{32})"$/.exec(part.etag)?.[1];
  if (md5 === undefined) throw new Error(`a part ETag must be a quoted MD5: ${part.etag}`);
  const base = `p${part.partNumber}-${md5}-${part.size}-${Date.parse(part.lastModified)}-${randomUUID()}`;
  if (part.checksum === undefined) return base;
  const value = Buffer.from(part.checksum.value, "base64").toString("base64url");
  return `${base}.${part.checksum.algorithm}.${value}`;
}

/** The metadata of a part from its data file name; undefined for other files. */
function partFromFileName(file: string): PartMeta | undefined {
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

/** A directory's entries; none when it is missing (a bucket directory left half-made). */
async function readdirIfPresent(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e: unknown) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** The file system store behind the S3 server. */
export class Store {
  readonly dataDir: string;
  private readonly buckets = new Map<string, BucketState>();
  /** Keys being written by a conditional write (bucket/key). */
  private readonly claims = new Set<string>();

  private constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  /**
   * Opens (and creates) a data directory and loads its index. A metadata file that does not
   * parse is reported through `log`, moved to quarantine/ and skipped.
   */
  static async open(dataDir: string, log: (line: string) => void = () => {}): Promise<Store> {
    const store = new Store(dataDir);
    await mkdir(join(dataDir, "buckets"), { recursive: true });
    await rm(join(dataDir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dataDir, "tmp"), { recursive: true });
    await store.load(log);
    return store;
  }

  /**
   * Parses a JSON metadata file; undefined when it is missing, null when it is corrupt (then it
   * is moved to quarantine/ under a name that says where it was, and the log names it).
   */
  private async readMeta<T>(
    path: string,
    log: (line: string) => void,
  ): Promise<T | undefined | null> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e: unknown) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as T;
    } catch (e: unknown) {
      const dir = join(this.dataDir, "quarantine");
      await mkdir(dir, { recursive: true });
      const name = relative(this.dataDir, path).replace(/[\\/]/g, "__");
      const moved = join(dir, `${name}.${Date.now()}`);
      await rename(path, moved);
      log(
        `skipped corrupt metadata file ${path} (${e instanceof Error ? e.message : String(e)}); moved to ${moved}`,
      );
      return null;
    }
  }

  private async load(log: (line: string) => void): Promise<void> {
    for (const name of await readdir(join(this.dataDir, "buckets"))) {
      const dir = this.bucketDir(name);
      const bucketFile = join(dir, "bucket.json");
      let info = await this.readMeta<{ created: string }>(bucketFile, log);
      if (info === undefined) continue; // not a bucket, or one being deleted
      if (info === null) {
        // Its bucket.json was corrupt: the bucket and its objects are kept, dated by its directory.
        info = { created: (await stat(dir)).mtime.toISOString() };
        await writeFileDurably(dir, "bucket.json", JSON.stringify(info));
      }
      const created = info.created;
      const bucket: BucketState = { name, created, objects: new Map(), uploads: new Map() };
      for (const file of await readdirIfPresent(join(dir, "objects"))) {
        if (!file.endsWith(".json") || file.startsWith(".")) continue;
        const meta = await this.readMeta<ObjectMeta>(join(dir, "objects", file), log);
        if (meta !== undefined && meta !== null) bucket.objects.set(meta.key, meta);
      }
      for (const id of await readdirIfPresent(join(dir, "uploads"))) {
        const udir = join(dir, "uploads", id);
        const raw = await this.readMeta<Omit<UploadMeta, "parts">>(join(udir, "upload.json"), log);
        if (raw === undefined || raw === null) continue;
        const upload: UploadMeta = { ...raw, parts: new Map() };
        for (const file of await readdir(udir)) {
          let part: PartMeta | undefined;
          if (/^part-\d+\.json$/.test(file)) {
            // Written by earlier versions: a JSON sidecar per part.
            part = (await this.readMeta<PartMeta>(join(udir, file), log)) ?? undefined;
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
