/**
 * Features clients send by default: conditional writes and reads, CopyObject / UploadPartCopy
 * (aws s3 cp between keys, mv), response-* overrides, ListObjectVersions, multipart checksums.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import t from "tap";
import { MIB } from "../../../core/constants";
import { AWS_CLI, realClients, runClient, S3CMD } from "../../helpers/real-clients";
import { errorOf, serverWithBucket } from "../../helpers/s3-server";

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await got.Body?.transformToString()) ?? "";
}

t.test("conditional writes: If-None-Match: * and If-Match on PutObject and Complete", async (t) => {
  const { s3 } = await serverWithBucket(t, "cond-write");
  const first = await s3.send(
    new PutObjectCommand({ Bucket: "cond-write", Key: "k", Body: "one", IfNoneMatch: "*" }),
  );
  t.ok(first.ETag, "If-None-Match: * on a new key succeeds");
  t.same(
    await errorOf(
      s3.send(
        new PutObjectCommand({ Bucket: "cond-write", Key: "k", Body: "two", IfNoneMatch: "*" }),
      ),
    ),
    { name: "PreconditionFailed", status: 412 },
    "If-None-Match: * on an existing key",
  );
  t.same(
    await errorOf(
      s3.send(
        new PutObjectCommand({ Bucket: "cond-write", Key: "k", Body: "two", IfMatch: '"0000"' }),
      ),
    ),
    { name: "PreconditionFailed", status: 412 },
    "If-Match with another ETag",
  );
  await s3.send(
    new PutObjectCommand({ Bucket: "cond-write", Key: "k", Body: "three", IfMatch: first.ETag }),
  );
  t.equal(await text(s3, "cond-write", "k"), "three", "If-Match with its ETag replaces it");
  t.same(
    await errorOf(
      s3.send(new PutObjectCommand({ Bucket: "cond-write", Key: "none", Body: "x", IfMatch: "*" })),
    ),
    { name: "NoSuchKey", status: 404 },
    "If-Match on a missing key",
  );
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "cond-write", Key: "k" }),
  );
  const part = await s3.send(
    new UploadPartCommand({ Bucket: "cond-write", Key: "k", UploadId, PartNumber: 1, Body: "mp" }),
  );
  t.same(
    await errorOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: "cond-write",
          Key: "k",
          UploadId,
          IfNoneMatch: "*",
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      ),
    ),
    { name: "PreconditionFailed", status: 412 },
    "CompleteMultipartUpload with If-None-Match: * onto an existing key",
  );
  t.equal(await text(s3, "cond-write", "k"), "three", "the object is unchanged");
  const racers = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) =>
      s3.send(
        new PutObjectCommand({
          Bucket: "cond-write",
          Key: "race",
          Body: Buffer.alloc(256 * 1024, i),
          IfNoneMatch: "*",
        }),
      ),
    ),
  );
  t.equal(
    racers.filter((r) => r.status === "fulfilled").length,
    1,
    "of 6 concurrent If-None-Match: * writes to a new key exactly one succeeds",
  );
  t.ok(
    racers.every(
      (r) =>
        r.status === "fulfilled" ||
        ["PreconditionFailed", "ConditionalRequestConflict"].includes(
          (r.reason as { name?: string }).name ?? "",
        ),
    ),
    "the others get PreconditionFailed or ConditionalRequestConflict",
  );
});

t.test(
  "conditional reads: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "cond-read");
    const put = await s3.send(new PutObjectCommand({ Bucket: "cond-read", Key: "k", Body: "v" }));
    const etag = put.ETag ?? "";
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const get = (extra: Record<string, unknown>) =>
      s3.send(new GetObjectCommand({ Bucket: "cond-read", Key: "k", ...extra }));
    // A 304, and any HEAD error, has no body: the SDK names those "Unknown"; the status is the answer.
    const head = (extra: Record<string, unknown>) =>
      s3.send(new HeadObjectCommand({ Bucket: "cond-read", Key: "k", ...extra }));
    t.same(
      await errorOf(get({ IfMatch: '"nope"' })),
      { name: "PreconditionFailed", status: 412 },
      "GET If-Match other",
    );
    t.equal((await get({ IfMatch: etag })).ETag, etag, "GET If-Match its ETag: 200");
    t.same(
      await errorOf(get({ IfNoneMatch: etag })),
      { name: "Unknown", status: 304 },
      "GET If-None-Match its ETag",
    );
    t.same(
      await errorOf(head({ IfNoneMatch: etag })),
      { name: "Unknown", status: 304 },
      "HEAD If-None-Match its ETag",
    );
    t.same(
      await errorOf(get({ IfModifiedSince: future })),
      { name: "Unknown", status: 304 },
      "GET If-Modified-Since later",
    );
    t.equal(
      (await get({ IfModifiedSince: past })).ETag,
      etag,
      "GET If-Modified-Since earlier: 200",
    );
    t.same(
      await errorOf(get({ IfUnmodifiedSince: past })),
      { name: "PreconditionFailed", status: 412 },
      "GET If-Unmodified-Since earlier",
    );
    t.same(
      await errorOf(head({ IfUnmodifiedSince: past })),
      { name: "Unknown", status: 412 },
      "HEAD If-Unmodified-Since earlier",
    );
    t.equal(
      (await get({ IfMatch: etag, IfUnmodifiedSince: past })).ETag,
      etag,
      "If-Match true outweighs If-Unmodified-Since false",
    );
    t.same(
      await errorOf(get({ IfNoneMatch: etag, IfModifiedSince: past })),
      { name: "Unknown", status: 304 },
      "If-None-Match false outweighs If-Modified-Since true",
    );
  },
);

t.test("response-* overrides set GetObject's headers", async (t) => {
  const { s3 } = await serverWithBucket(t, "overrides");
  await s3.send(
    new PutObjectCommand({ Bucket: "overrides", Key: "k", Body: "v", ContentType: "text/plain" }),
  );
  const expires = new Date("2031-05-06T07:08:09Z");
  const got = await s3.send(
    new GetObjectCommand({
      Bucket: "overrides",
      Key: "k",
      ResponseContentType: "application/json",
      ResponseContentDisposition: "attachment",
      ResponseCacheControl: "no-store",
      ResponseContentLanguage: "fr",
      ResponseContentEncoding: "identity",
      ResponseExpires: expires,
    }),
  );
  t.equal(got.ContentType, "application/json", "Content-Type");
  t.equal(got.ContentDisposition, "attachment", "Content-Disposition");
  t.equal(got.CacheControl, "no-store", "Cache-Control");
  t.equal(got.ContentLanguage, "fr", "Content-Language");
  t.equal(got.ContentEncoding, "identity", "Content-Encoding");
  t.equal(got.Expires?.toISOString(), expires.toISOString(), "Expires");
  const plain = await s3.send(new HeadObjectCommand({ Bucket: "overrides", Key: "k" }));
  t.equal(plain.ContentType, "text/plain", "the stored Content-Type is unchanged");
});

t.test(
  "ListObjectVersions of an unversioned bucket lists each object as version null",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "versions");
    for (const key of ["a", "b/c", "d"]) {
      await s3.send(new PutObjectCommand({ Bucket: "versions", Key: key, Body: key }));
    }
    const all = await s3.send(new ListObjectVersionsCommand({ Bucket: "versions" }));
    t.same(
      all.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
      [
        ["a", "null", true, 1],
        ["b/c", "null", true, 3],
        ["d", "null", true, 1],
      ],
      "every object, VersionId null, latest",
    );
    t.equal(all.DeleteMarkers, undefined, "no delete markers");
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: "versions" }));
    t.equal(versioning.Status, undefined, "GetBucketVersioning: never enabled");
    t.same(
      await errorOf(
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: "versions",
            VersioningConfiguration: { Status: "Enabled" },
          }),
        ),
      ),
      { name: "NotImplemented", status: 501 },
      "PutBucketVersioning is not implemented",
    );
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: "versions", MaxKeys: 2 }));
    t.equal(page.IsTruncated, true, "a page of 2 is truncated");
    t.equal(page.NextKeyMarker, "b/c", "NextKeyMarker");
    const rest = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: "versions",
        KeyMarker: page.NextKeyMarker,
        VersionIdMarker: page.NextVersionIdMarker,
      }),
    );
    t.same(
      rest.Versions?.map((v) => v.Key),
      ["d"],
      "the next page",
    );
    const delimited = await s3.send(
      new ListObjectVersionsCommand({ Bucket: "versions", Delimiter: "/" }),
    );
    t.same(
      delimited.CommonPrefixes?.map((p) => p.Prefix),
      ["b/"],
      "common prefixes",
    );
    // As a bucket-emptying tool does: delete what ListObjectVersions listed, by version.
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: "versions",
        Delete: {
          Objects: [
            ...(all.Versions ?? []).map((v) => ({ Key: v.Key, VersionId: v.VersionId })),
            { Key: "a", VersionId: "3HL4kqtJlcpXroDTDmJ" },
          ],
        },
      }),
    );
    t.same(
      result.Deleted?.map((d) => [d.Key, d.VersionId]),
      [
        ["a", "null"],
        ["b/c", "null"],
        ["d", "null"],
      ],
      "versions null are deleted",
    );
    t.same(
      result.Errors?.map((e) => [e.Key, e.Code]),
      [["a", "NoSuchVersion"]],
      "another version id is NoSuchVersion",
    );
    const empty = await s3.send(new ListObjectVersionsCommand({ Bucket: "versions" }));
    t.equal(empty.Versions, undefined, "the bucket is empty");
  },
);

t.test(
  "CopyObject: metadata copied or replaced, self-copy needs REPLACE, source conditions",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "copies");
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "copies",
        Key: "src key",
        Body: "source bytes",
        ContentType: "text/plain",
        CacheControl: "max-age=5",
        Metadata: { color: "blue" },
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: "copies", Key: "dst", CopySource: "copies/src%20key" }),
    );
    t.equal(copied.CopyObjectResult?.ETag, put.ETag, "the copy has the source's ETag");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "copies", Key: "dst" }));
    t.equal(head.ContentType, "text/plain", "Content-Type copied");
    t.equal(head.CacheControl, "max-age=5", "Cache-Control copied");
    t.same(head.Metadata, { color: "blue" }, "user metadata copied");
    t.equal(await text(s3, "copies", "dst"), "source bytes", "the bytes copied");
    await s3.send(
      new CopyObjectCommand({
        Bucket: "copies",
        Key: "replaced",
        CopySource: "/copies/src%20key",
        MetadataDirective: "REPLACE",
        ContentType: "application/x-new",
        Metadata: { shape: "round" },
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: "copies", Key: "replaced" }));
    t.equal(replaced.ContentType, "application/x-new", "REPLACE: the request's Content-Type");
    t.same(replaced.Metadata, { shape: "round" }, "REPLACE: the request's metadata");
    t.same(
      await errorOf(
        s3.send(
          new CopyObjectCommand({
            Bucket: "copies",
            Key: "src key",
            CopySource: "copies/src%20key",
          }),
        ),
      ),
      { name: "InvalidRequest", status: 400 },
      "a copy onto itself without REPLACE",
    );
    t.same(
      await errorOf(
        s3.send(
          new CopyObjectCommand({
            Bucket: "copies",
            Key: "x",
            CopySource: "copies/src%20key",
            CopySourceIfMatch: '"other"',
          }),
        ),
      ),
      { name: "PreconditionFailed", status: 412 },
      "x-amz-copy-source-if-match with another ETag",
    );
    t.same(
      await errorOf(
        s3.send(new CopyObjectCommand({ Bucket: "copies", Key: "x", CopySource: "copies/absent" })),
      ),
      { name: "NoSuchKey", status: 404 },
      "a missing source",
    );
    await s3.send(new PutObjectCommand({ Bucket: "copies", Key: "src key", Body: "changed" }));
    t.equal(
      await text(s3, "copies", "dst"),
      "source bytes",
      "the copy is independent of its source",
    );
  },
);

t.test("UploadPartCopy copies ranges of an object into parts", async (t) => {
  const { s3 } = await serverWithBucket(t, "partcopy");
  const source = Buffer.alloc(6 * MIB);
  for (let i = 0; i < source.length; i += 4) source.writeUInt32BE(i, i);
  await s3.send(new PutObjectCommand({ Bucket: "partcopy", Key: "src", Body: source }));
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "partcopy", Key: "dst" }),
  );
  const base = { Bucket: "partcopy", Key: "dst", UploadId, CopySource: "partcopy/src" };
  const p1 = await s3.send(
    new UploadPartCopyCommand({
      ...base,
      PartNumber: 1,
      CopySourceRange: `bytes=0-${5 * MIB - 1}`,
    }),
  );
  const p2 = await s3.send(
    new UploadPartCopyCommand({
      ...base,
      PartNumber: 2,
      CopySourceRange: `bytes=${5 * MIB}-${6 * MIB - 1}`,
    }),
  );
  t.equal(
    p1.CopyPartResult?.ETag,
    `"${createHash("md5")
      .update(source.subarray(0, 5 * MIB))
      .digest("hex")}"`,
    "a copied part's ETag is its bytes' MD5",
  );
  t.same(
    await errorOf(
      s3.send(
        new UploadPartCopyCommand({
          ...base,
          PartNumber: 3,
          CopySourceRange: `bytes=0-${6 * MIB}`,
        }),
      ),
    ),
    { name: "InvalidArgument", status: 400 },
    "a range past the source's end",
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: "partcopy",
      Key: "dst",
      UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: p1.CopyPartResult?.ETag },
          { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
        ],
      },
    }),
  );
  const got = await s3.send(new GetObjectCommand({ Bucket: "partcopy", Key: "dst" }));
  const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
  t.ok(bytes.equals(source), "the completed object equals the source");
});

t.test(
  "aws s3 cp between keys (CopyObject and UploadPartCopy), aws s3 mv, s3cmd cp/mv/modify",
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "s3-copy-cli-"));
    const { s3, server } = await serverWithBucket(t, "cli-copy");
    const clients = realClients(server, {
      awsS3Settings: { multipart_chunksize: "8MB", multipart_threshold: "8MB" },
    });
    t.teardown(async () => {
      clients.cleanup();
      await rm(dir, { recursive: true, force: true });
    });
    const aws = (...args: string[]) =>
      runClient(AWS_CLI, [...clients.aws.args, ...args], clients.aws.env);
    const small = join(dir, "small.txt");
    await writeFile(small, "small file");
    const big = join(dir, "big.bin");
    const bigData = Buffer.alloc(20 * MIB);
    for (let i = 0; i < bigData.length; i += 4) bigData.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(big, bigData);
    for (const [file, key] of [
      [small, "small.txt"],
      [big, "big.bin"],
    ] as const) {
      const up = await aws("s3", "cp", "--no-progress", file, `s3://cli-copy/${key}`);
      t.equal(up.code, 0, `upload ${key}: ${up.stderr}`);
    }
    const cpSmall = await aws(
      "s3",
      "cp",
      "--no-progress",
      "s3://cli-copy/small.txt",
      "s3://cli-copy/copy/small.txt",
    );
    t.equal(cpSmall.code, 0, `aws s3 cp of a small object (CopyObject): ${cpSmall.stderr}`);
    t.equal(await text(s3, "cli-copy", "copy/small.txt"), "small file", "the small copy's bytes");
    const cpBig = await aws(
      "s3",
      "cp",
      "--no-progress",
      "s3://cli-copy/big.bin",
      "s3://cli-copy/copy/big.bin",
    );
    t.equal(cpBig.code, 0, `aws s3 cp of a 20 MiB object (UploadPartCopy): ${cpBig.stderr}`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "cli-copy", Key: "copy/big.bin" }));
    t.match(head.ETag, /-3"$/, "copied as 3 parts of 8 MiB");
    const got = await s3.send(new GetObjectCommand({ Bucket: "cli-copy", Key: "copy/big.bin" }));
    t.ok(
      Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(bigData),
      "the big copy's bytes",
    );
    const mv = await aws(
      "s3",
      "mv",
      "--no-progress",
      "s3://cli-copy/small.txt",
      "s3://cli-copy/moved.txt",
    );
    t.equal(mv.code, 0, `aws s3 mv: ${mv.stderr}`);
    const keys = await s3.send(new ListObjectsV2Command({ Bucket: "cli-copy" }));
    t.same(
      keys.Contents?.map((c) => c.Key),
      ["big.bin", "copy/big.bin", "copy/small.txt", "moved.txt"],
      "mv removed its source",
    );
    const s3cmd = (...args: string[]) =>
      runClient(S3CMD, [...clients.s3cmd.args, ...args], clients.s3cmd.env);
    const scp = await s3cmd("cp", "s3://cli-copy/moved.txt", "s3://cli-copy/s3cmd/copy.txt");
    t.equal(scp.code, 0, `s3cmd cp: ${scp.stderr}`);
    const smv = await s3cmd("mv", "s3://cli-copy/s3cmd/copy.txt", "s3://cli-copy/s3cmd/moved.txt");
    t.equal(smv.code, 0, `s3cmd mv: ${smv.stderr}`);
    const modify = await s3cmd(
      "modify",
      "--add-header=Cache-Control:max-age=9",
      "s3://cli-copy/s3cmd/moved.txt",
    );
    t.equal(modify.code, 0, `s3cmd modify (a copy onto itself with REPLACE): ${modify.stderr}`);
    const modified = await s3.send(
      new HeadObjectCommand({ Bucket: "cli-copy", Key: "s3cmd/moved.txt" }),
    );
    t.equal(modified.CacheControl, "max-age=9", "s3cmd modify set Cache-Control");
    t.equal(
      await text(s3, "cli-copy", "s3cmd/moved.txt"),
      "small file",
      "s3cmd's copies keep the bytes",
    );
    const after = await s3.send(new ListObjectsV2Command({ Bucket: "cli-copy", Prefix: "s3cmd/" }));
    t.same(
      after.Contents?.map((c) => c.Key),
      ["s3cmd/moved.txt"],
      "s3cmd mv removed its source",
    );
  },
);

/** The COMPOSITE CRC32 of parts: the CRC32 of their binary CRC32s, "-N". */
function compositeCrc32(parts: Buffer[]): string {
  const joined = Buffer.concat(
    parts.map((p) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc32(p));
      return b;
    }),
  );
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(joined));
  return `${out.toString("base64")}-${parts.length}`;
}

t.test(
  "multipart checksums: COMPOSITE CRC32 checked per part, FULL_OBJECT CRC64NVME",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "mpsums");
    const bodies = [Buffer.alloc(5 * MIB, 1), Buffer.from("the last part")];
    const create = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: "mpsums",
        Key: "crc32",
        ChecksumAlgorithm: "CRC32",
      }),
    );
    t.equal(create.ChecksumAlgorithm, "CRC32", "CreateMultipartUpload echoes the algorithm");
    t.equal(create.ChecksumType, "COMPOSITE", "CRC32 defaults to COMPOSITE");
    const base = { Bucket: "mpsums", Key: "crc32", UploadId: create.UploadId };
    const parts = [];
    for (const [i, body] of bodies.entries()) {
      const up = await s3.send(
        new UploadPartCommand({
          ...base,
          PartNumber: i + 1,
          Body: body,
          ChecksumAlgorithm: "CRC32",
        }),
      );
      const want = Buffer.alloc(4);
      want.writeUInt32BE(crc32(body));
      t.equal(up.ChecksumCRC32, want.toString("base64"), `part ${i + 1}'s CRC32`);
      parts.push({ PartNumber: i + 1, ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32 });
    }
    t.same(
      await errorOf(
        s3.send(
          new CompleteMultipartUploadCommand({
            ...base,
            MultipartUpload: {
              Parts: [{ ...parts[0], ChecksumCRC32: "AAAAAA==" }, parts[1] ?? {}],
            },
          }),
        ),
      ),
      { name: "InvalidPart", status: 400 },
      "a listed part checksum that differs from the uploaded part's",
    );
    t.same(
      await errorOf(
        s3.send(
          new CompleteMultipartUploadCommand({
            ...base,
            MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
          }),
        ),
      ),
      { name: "InvalidRequest", status: 400 },
      "parts listed without their checksums",
    );
    const listed = await s3.send(new ListPartsCommand(base));
    t.same(
      listed.Parts?.map((p) => p.ChecksumCRC32),
      parts.map((p) => p.ChecksumCRC32),
      "ListParts lists each part's CRC32",
    );
    t.equal(listed.ChecksumAlgorithm, "CRC32", "and the upload's algorithm");
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ ...base, MultipartUpload: { Parts: parts } }),
    );
    t.equal(done.ChecksumCRC32, compositeCrc32(bodies), "the composite CRC32 of the object");
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: "mpsums", Key: "crc32", ChecksumMode: "ENABLED" }),
    );
    t.equal(head.ChecksumCRC32, done.ChecksumCRC32, "HeadObject returns it with ChecksumMode");
    t.equal(head.ChecksumType, "COMPOSITE", "and its type");

    // FULL_OBJECT CRC64NVME: the SDK's own CRC64NVME of the whole body is the oracle.
    const whole = Buffer.concat(bodies);
    const single = await s3.send(
      new PutObjectCommand({
        Bucket: "mpsums",
        Key: "whole",
        Body: whole,
        ChecksumAlgorithm: "CRC64NVME",
      }),
    );
    t.ok(single.ChecksumCRC64NVME, "PutObject with the SDK's CRC64NVME is accepted (verified)");
    t.equal(single.ChecksumType, "FULL_OBJECT", "a single-part checksum is FULL_OBJECT");
    const full = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: "mpsums",
        Key: "crc64",
        ChecksumAlgorithm: "CRC64NVME",
        ChecksumType: "FULL_OBJECT",
      }),
    );
    const fullBase = { Bucket: "mpsums", Key: "crc64", UploadId: full.UploadId };
    const fullParts = [];
    for (const [i, body] of bodies.entries()) {
      const up = await s3.send(
        new UploadPartCommand({
          ...fullBase,
          PartNumber: i + 1,
          Body: body,
          ChecksumAlgorithm: "CRC64NVME",
        }),
      );
      fullParts.push({ PartNumber: i + 1, ETag: up.ETag, ChecksumCRC64NVME: up.ChecksumCRC64NVME });
    }
    const fullDone = await s3.send(
      new CompleteMultipartUploadCommand({ ...fullBase, MultipartUpload: { Parts: fullParts } }),
    );
    t.equal(
      fullDone.ChecksumCRC64NVME,
      single.ChecksumCRC64NVME,
      "the parts' CRC64NVMEs combine to the whole object's",
    );
    t.equal(fullDone.ChecksumType, "FULL_OBJECT", "of type FULL_OBJECT");
    t.same(
      await errorOf(
        s3.send(
          new PutObjectCommand({
            Bucket: "mpsums",
            Key: "bad",
            Body: "hello",
            ChecksumCRC64NVME: "AAAAAAAAAAA=",
          }),
        ),
      ),
      { name: "BadDigest", status: 400 },
      "a wrong CRC64NVME is refused",
    );
  },
);
