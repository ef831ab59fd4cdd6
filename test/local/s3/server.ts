import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import t from "tap";
import { MIB } from "../../../core/constants";
import { DEFAULT_S3_CREDENTIALS, startS3Server } from "../../../local/s3/server";
import { errorOf, s3ClientFor, serverWithBucket } from "../../helpers/s3-server";

/** A deterministic pseudo-random stream of `size` bytes in 1 MiB chunks, and its sha256. */
function patternStream(size: number, seed: string): { stream: Readable; sha256: string } {
  const block = createHash("sha512").update(seed).digest();
  const chunk = Buffer.alloc(MIB);
  for (let i = 0; i < MIB; i += block.length) block.copy(chunk, i);
  // Vary each chunk so that a misplaced part changes the hash.
  const chunks: Buffer[] = [];
  const whole = createHash("sha256");
  for (let off = 0, n = 0; off < size; off += MIB, n++) {
    const piece = Buffer.from(chunk.subarray(0, Math.min(MIB, size - off)));
    piece.writeUInt32BE(n, 0);
    whole.update(piece);
    chunks.push(piece);
  }
  return { stream: Readable.from(chunks), sha256: whole.digest("hex") };
}

async function sha256Of(
  body: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

t.test(
  "the server binds 127.0.0.1 with the default credentials and an ephemeral port",
  async (t) => {
    const server = await startS3Server();
    t.teardown(() => server.stop());
    t.match(server.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "endpoint is on loopback");
    t.not(server.port, 0, "a real port was picked");
    t.same(server.credentials, DEFAULT_S3_CREDENTIALS, "default credentials");
    t.equal(server.region, "us-east-1", "default region");
  },
);

t.test("a streamed multipart upload round-trips byte for byte", async (t) => {
  const { s3 } = await serverWithBucket(t, "round-trip");
  const size = 21 * MIB + 12345;
  const { stream, sha256 } = patternStream(size, "round-trip");
  const upload = new Upload({
    client: s3,
    params: { Bucket: "round-trip", Key: "dir/object.bin", Body: stream },
    partSize: 5 * MIB,
    queueSize: 2,
  });
  const done = await upload.done();
  t.match(done.ETag, /^"[0-9a-f]{32}-5"$/, "multipart ETag with 5 parts");
  const head = await s3.send(
    new HeadObjectCommand({ Bucket: "round-trip", Key: "dir/object.bin" }),
  );
  t.equal(head.ContentLength, size, "HeadObject size");
  t.equal(head.ETag, done.ETag, "HeadObject ETag equals the upload's");
  const got = await s3.send(new GetObjectCommand({ Bucket: "round-trip", Key: "dir/object.bin" }));
  const back = await sha256Of(got.Body as AsyncIterable<Uint8Array>);
  t.equal(back.size, size, "downloaded size");
  t.equal(back.sha256, sha256, "downloaded sha256 equals uploaded sha256");
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: "round-trip" }));
  t.equal(uploads.Uploads?.length ?? 0, 0, "no unfinished upload is left");
});

t.test(
  "PutObject with buffer and stream bodies (CRC32 header and aws-chunked trailer) stores the bytes",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "puts");
    const data = randomBytes(300_000);
    const put1 = await s3.send(new PutObjectCommand({ Bucket: "puts", Key: "buffer", Body: data }));
    t.equal(
      put1.ETag,
      `"${createHash("md5").update(data).digest("hex")}"`,
      "ETag is the body's MD5",
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: "puts",
        Key: "stream",
        Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
        ContentLength: data.length,
      }),
    );
    for (const key of ["buffer", "stream"]) {
      const got = await s3.send(new GetObjectCommand({ Bucket: "puts", Key: key }));
      const bytes = Buffer.from(
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      t.ok(bytes.equals(data), `${key}: the stored bytes equal the sent bytes`);
    }
    const range = await s3.send(
      new GetObjectCommand({ Bucket: "puts", Key: "buffer", Range: "bytes=1000-1009" }),
    );
    t.equal(range.ContentRange, `bytes 1000-1009/${data.length}`, "Content-Range of a range GET");
    const rangeBytes = Buffer.from(
      await (range.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    t.ok(rangeBytes.equals(data.subarray(1000, 1010)), "range GET returns exactly those 10 bytes");
    const suffix = await s3.send(
      new GetObjectCommand({ Bucket: "puts", Key: "buffer", Range: "bytes=-5" }),
    );
    t.equal(suffix.ContentLength, 5, "suffix range length");
  },
);

t.test("a verified CRC32 is returned by PutObject and, when asked for, by GetObject", async (t) => {
  const { s3 } = await serverWithBucket(t, "sums");
  const expected = Buffer.alloc(4);
  expected.writeUInt32BE(crc32("hello"));
  const put = await s3.send(
    new PutObjectCommand({ Bucket: "sums", Key: "k", Body: Buffer.from("hello") }),
  );
  t.equal(put.ChecksumCRC32, expected.toString("base64"), "PutObject echoes x-amz-checksum-crc32");
  const get = await s3.send(
    new GetObjectCommand({ Bucket: "sums", Key: "k", ChecksumMode: "ENABLED" }),
  );
  t.equal(get.ChecksumCRC32, expected.toString("base64"), "GetObject returns it with ChecksumMode");
  t.equal(await get.Body?.transformToString(), "hello", "body intact");
});

t.test(
  "a wrong checksum or Content-MD5 is rejected with BadDigest and nothing is stored",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "digests");
    const crc = await errorOf(
      s3.send(
        new PutObjectCommand({
          Bucket: "digests",
          Key: "k",
          Body: "hello",
          ChecksumCRC32: "AAAAAA==",
        }),
      ),
    );
    t.same(crc, { name: "BadDigest", status: 400 }, "wrong x-amz-checksum-crc32");
    const md5 = await errorOf(
      s3.send(
        new PutObjectCommand({
          Bucket: "digests",
          Key: "k",
          Body: "hello",
          ContentMD5: createHash("md5").update("other").digest("base64"),
        }),
      ),
    );
    t.same(md5, { name: "BadDigest", status: 400 }, "wrong Content-MD5");
    const missing = await errorOf(s3.send(new HeadObjectCommand({ Bucket: "digests", Key: "k" })));
    t.same(missing, { name: "NotFound", status: 404 }, "the rejected object does not exist");
  },
);

t.test(
  "a wrong secret gets SignatureDoesNotMatch and an unknown key InvalidAccessKeyId",
  async (t) => {
    const server = await startS3Server();
    const wrongSecret = s3ClientFor(server, {
      ...DEFAULT_S3_CREDENTIALS,
      secretAccessKey: "not-the-secret",
    });
    const unknownKey = s3ClientFor(server, {
      ...DEFAULT_S3_CREDENTIALS,
      accessKeyId: "AKIAUNKNOWN",
    });
    t.teardown(async () => {
      wrongSecret.destroy();
      unknownKey.destroy();
      await server.stop();
    });
    t.same(
      await errorOf(wrongSecret.send(new ListBucketsCommand({}))),
      { name: "SignatureDoesNotMatch", status: 403 },
      "wrong secret",
    );
    t.same(
      await errorOf(
        wrongSecret.send(new PutObjectCommand({ Bucket: "b", Key: "k", Body: Buffer.alloc(1024) })),
      ),
      { name: "SignatureDoesNotMatch", status: 403 },
      "wrong secret on a request with a body",
    );
    t.same(
      await errorOf(unknownKey.send(new ListBucketsCommand({}))),
      { name: "InvalidAccessKeyId", status: 403 },
      "unknown access key",
    );
  },
);

t.test(
  "a body that differs from its signed SHA-256 is rejected with XAmzContentSHA256Mismatch",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "tamper");
    // Swap the body after the request was signed, as a proxy corrupting it in flight would.
    type Middleware = Parameters<typeof s3.middlewareStack.addRelativeTo>[0];
    const tamper =
      (next: (args: { request: unknown }) => Promise<unknown>) =>
      async (args: { request: unknown }) => {
        (args.request as { body: unknown }).body = Buffer.from("HELLO");
        return next(args);
      };
    s3.middlewareStack.addRelativeTo(tamper as unknown as Middleware, {
      relation: "after",
      toMiddleware: "httpSigningMiddleware",
      name: "tamperBody",
    });
    t.same(
      await errorOf(s3.send(new PutObjectCommand({ Bucket: "tamper", Key: "k", Body: "hello" }))),
      { name: "XAmzContentSHA256Mismatch", status: 400 },
      "the tampered body is refused",
    );
  },
);

t.test("an unsigned request is denied", async (t) => {
  const server = await startS3Server();
  t.teardown(() => server.stop());
  const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
    request(`${server.endpoint}/`, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
  t.equal(status.code, 403, "HTTP 403");
  t.match(status.body, /<Code>AccessDenied<\/Code>/, "AWS error XML with AccessDenied");
});

t.test("errors carry S3's codes and statuses", async (t) => {
  const server = await startS3Server();
  const s3 = s3ClientFor(server);
  t.teardown(async () => {
    s3.destroy();
    await server.stop();
  });
  t.same(
    await errorOf(s3.send(new PutObjectCommand({ Bucket: "absent", Key: "k", Body: "x" }))),
    { name: "NoSuchBucket", status: 404 },
    "PutObject into a missing bucket",
  );
  await s3.send(new CreateBucketCommand({ Bucket: "errors" }));
  t.same(
    await errorOf(s3.send(new GetObjectCommand({ Bucket: "errors", Key: "absent" }))),
    { name: "NoSuchKey", status: 404 },
    "GetObject of a missing key",
  );
  t.same(
    await errorOf(
      s3.send(
        new UploadPartCommand({
          Bucket: "errors",
          Key: "k",
          UploadId: "nope",
          PartNumber: 1,
          Body: "x",
        }),
      ),
    ),
    { name: "NoSuchUpload", status: 404 },
    "UploadPart to an unknown upload",
  );
  await s3.send(new PutObjectCommand({ Bucket: "errors", Key: "k", Body: "x" }));
  t.same(
    await errorOf(s3.send(new DeleteBucketCommand({ Bucket: "errors" }))),
    { name: "BucketNotEmpty", status: 409 },
    "DeleteBucket of a bucket with an object",
  );
  await s3.send(new DeleteObjectCommand({ Bucket: "errors", Key: "k" }));
  await s3.send(new DeleteBucketCommand({ Bucket: "errors" }));
  const buckets = await s3.send(new ListBucketsCommand({}));
  t.same(buckets.Buckets?.map((b) => b.Name) ?? [], [], "the emptied bucket was deleted");
});

t.test(
  "CompleteMultipartUpload validates parts: InvalidPart, InvalidPartOrder, EntityTooSmall",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "complete");
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: "complete", Key: "k" }),
    );
    const base = { Bucket: "complete", Key: "k", UploadId };
    const small = await s3.send(
      new UploadPartCommand({ ...base, PartNumber: 1, Body: Buffer.alloc(1024, 1) }),
    );
    const last = await s3.send(
      new UploadPartCommand({ ...base, PartNumber: 2, Body: Buffer.alloc(10, 2) }),
    );
    const complete = (parts: { PartNumber: number; ETag: string | undefined }[]) =>
      errorOf(
        s3.send(new CompleteMultipartUploadCommand({ ...base, MultipartUpload: { Parts: parts } })),
      );
    t.same(
      await complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]),
      { name: "InvalidPart", status: 400 },
      "an ETag that does not match the part",
    );
    t.same(
      await complete([{ PartNumber: 3, ETag: small.ETag }]),
      { name: "InvalidPart", status: 400 },
      "a part that was never uploaded",
    );
    t.same(
      await complete([
        { PartNumber: 2, ETag: last.ETag },
        { PartNumber: 1, ETag: small.ETag },
      ]),
      { name: "InvalidPartOrder", status: 400 },
      "parts out of order",
    );
    t.same(
      await complete([
        { PartNumber: 1, ETag: small.ETag },
        { PartNumber: 2, ETag: last.ETag },
      ]),
      { name: "EntityTooSmall", status: 400 },
      "a part below 5 MiB that is not the last",
    );
    // A single small part is fine: it is the last one.
    const ok = await s3.send(
      new CompleteMultipartUploadCommand({
        ...base,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: small.ETag }] },
      }),
    );
    const md5 = createHash("md5")
      .update(Buffer.from((small.ETag ?? "").replace(/"/g, ""), "hex"))
      .digest("hex");
    t.equal(ok.ETag, `"${md5}-1"`, "ETag is the MD5 of the part MD5s, dash, part count");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "complete", Key: "k" }));
    t.equal(head.ContentLength, 1024, "only the listed part is in the object");
  },
);

t.test("an aborted upload leaves nothing behind and refuses further parts", async (t) => {
  const { server, s3 } = await serverWithBucket(t, "aborts");
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "aborts", Key: "k" }),
  );
  const base = { Bucket: "aborts", Key: "k", UploadId };
  await s3.send(new UploadPartCommand({ ...base, PartNumber: 1, Body: Buffer.alloc(5 * MIB, 1) }));
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: "aborts" }));
  t.same(
    listed.Uploads?.map((u) => u.UploadId),
    [UploadId],
    "the upload is listed",
  );
  await s3.send(new AbortMultipartUploadCommand(base));
  t.same(
    await errorOf(s3.send(new UploadPartCommand({ ...base, PartNumber: 2, Body: "x" }))),
    { name: "NoSuchUpload", status: 404 },
    "UploadPart after abort",
  );
  const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: "aborts" }));
  t.equal(after.Uploads?.length ?? 0, 0, "no upload is listed after abort");
  const { readdir } = await import("node:fs/promises");
  const left = await readdir(join(server.dataDir, "buckets", "aborts", "uploads"));
  t.same(left, [], "no part file is left on disk");
});

t.test(
  "ListObjectsV2 pages with max-keys and continuation tokens, and filters by prefix",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "lists");
    const keys = ["a/1", "a/2", "a/3", "b/1", "c"];
    for (const key of keys)
      await s3.send(new PutObjectCommand({ Bucket: "lists", Key: key, Body: key }));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: "lists", MaxKeys: 2, ContinuationToken: token }),
      );
      pages += 1;
      for (const c of page.Contents ?? []) seen.push(c.Key ?? "");
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    t.same(seen, keys, "every key once, in order");
    t.equal(pages, 3, "5 keys in pages of 2");
    const prefixed = await s3.send(new ListObjectsV2Command({ Bucket: "lists", Prefix: "a/" }));
    t.same(
      prefixed.Contents?.map((c) => c.Key),
      ["a/1", "a/2", "a/3"],
      "prefix filter",
    );
    t.equal(prefixed.KeyCount, 3, "KeyCount");
    const delimited = await s3.send(new ListObjectsV2Command({ Bucket: "lists", Delimiter: "/" }));
    t.same(
      delimited.CommonPrefixes?.map((p) => p.Prefix),
      ["a/", "b/"],
      "common prefixes",
    );
    t.same(
      delimited.Contents?.map((c) => c.Key),
      ["c"],
      "keys without the delimiter",
    );
  },
);

t.test("acknowledged objects and unfinished uploads survive a restart", async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), "s3-restart-"));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const first = await startS3Server({ dataDir });
  const s3a = s3ClientFor(first);
  await s3a.send(new CreateBucketCommand({ Bucket: "durable" }));
  const data = randomBytes(200_000);
  await s3a.send(
    new PutObjectCommand({
      Bucket: "durable",
      Key: "kept",
      Body: data,
      Metadata: { color: "blue" },
    }),
  );
  const { UploadId } = await s3a.send(
    new CreateMultipartUploadCommand({ Bucket: "durable", Key: "pending" }),
  );
  await s3a.send(
    new UploadPartCommand({
      Bucket: "durable",
      Key: "pending",
      UploadId,
      PartNumber: 1,
      Body: Buffer.alloc(5 * MIB, 3),
    }),
  );
  s3a.destroy();
  await first.stop();

  const second = await startS3Server({ dataDir });
  const s3b = s3ClientFor(second);
  t.teardown(async () => {
    s3b.destroy();
    await second.stop();
  });
  const got = await s3b.send(new GetObjectCommand({ Bucket: "durable", Key: "kept" }));
  const bytes = Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  t.ok(bytes.equals(data), "the object's bytes after restart");
  t.equal(got.Metadata?.color, "blue", "user metadata after restart");
  const uploads = await s3b.send(new ListMultipartUploadsCommand({ Bucket: "durable" }));
  t.same(
    uploads.Uploads?.map((u) => u.UploadId),
    [UploadId],
    "the unfinished upload after restart",
  );
  const last = await s3b.send(
    new UploadPartCommand({
      Bucket: "durable",
      Key: "pending",
      UploadId,
      PartNumber: 2,
      Body: "end",
    }),
  );
  const { ListPartsCommand } = await import("@aws-sdk/client-s3");
  const parts = await s3b.send(
    new ListPartsCommand({ Bucket: "durable", Key: "pending", UploadId }),
  );
  t.same(
    parts.Parts?.map((p) => [p.PartNumber, p.Size]),
    [
      [1, 5 * MIB],
      [2, 3],
    ],
    "parts after restart",
  );
  const firstEtag = parts.Parts?.[0]?.ETag;
  await s3b.send(
    new CompleteMultipartUploadCommand({
      Bucket: "durable",
      Key: "pending",
      UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: firstEtag },
          { PartNumber: 2, ETag: last.ETag },
        ],
      },
    }),
  );
  const head = await s3b.send(new HeadObjectCommand({ Bucket: "durable", Key: "pending" }));
  t.equal(head.ContentLength, 5 * MIB + 3, "completed after restart");
});

t.test("stop() is idempotent and closes the port", async (t) => {
  const server = await startS3Server();
  await server.stop();
  await server.stop();
  const refused = await new Promise<string>((resolve) => {
    request(`${server.endpoint}/`, () => resolve("answered"))
      .on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"))
      .end();
  });
  t.equal(refused, "ECONNREFUSED", "no one listens after stop()");
});
