import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import t from "tap";
import { MIB } from "../../../core/constants";
import { acquireSlot, MAX_POOLED_SLOTS, releaseSlot, slotCounts } from "../../../local/s3/slots";
import { errorOf, serverWithBucket } from "../../helpers/s3-server";

/** Rewrites the request body on the wire, after signing, as a faulty proxy would. */
function rewriteBody(s3: S3Client, rewrite: (body: Readable) => Readable): void {
  type Middleware = Parameters<typeof s3.middlewareStack.addRelativeTo>[0];
  const middleware =
    (next: (args: { request: unknown }) => Promise<unknown>) =>
    async (args: { request: unknown }) => {
      const request = args.request as { body: unknown };
      if (request.body instanceof Readable) request.body = rewrite(request.body);
      return next(args);
    };
  s3.middlewareStack.addRelativeTo(middleware as unknown as Middleware, {
    relation: "after",
    toMiddleware: "httpSigningMiddleware",
    name: "rewriteBody",
  });
}

/** Polls `read` (up to 2 s) until it returns `expected`; returns the last value read. */
async function settled<T>(read: () => Promise<T> | T, expected: T): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && JSON.stringify(value) !== JSON.stringify(expected); i++) {
    await sleep(20);
    value = await read();
  }
  return value;
}

const slotsInUse = (): number => slotCounts().inUse;
const slotsInUseSettle = (expected: number): Promise<number> => settled(slotsInUse, expected);

t.test(
  "a checksum announced in x-amz-trailer that never arrives is InvalidRequest and nothing is stored",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "trailer");
    // The SDK sends a streamed body aws-chunked with an x-amz-checksum-crc32 trailer; the trailer's
    // name is changed on the wire (same length, so Content-Length still holds).
    let renamed = 0;
    rewriteBody(s3, (body) =>
      body.pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            const text = chunk.toString("latin1");
            if (text.includes("x-amz-checksum-crc32:")) renamed += 1;
            done(
              null,
              Buffer.from(text.replace("x-amz-checksum-crc32:", "x-amz-checksum-crc3z:"), "latin1"),
            );
          },
        }),
      ),
    );
    const data = randomBytes(3000);
    const err = await errorOf(
      s3.send(
        new PutObjectCommand({
          Bucket: "trailer",
          Key: "k",
          Body: Readable.from([data]),
          ContentLength: data.length,
        }),
      ),
    );
    t.equal(renamed, 1, "the trailer went over the wire once, renamed");
    t.same(err, { name: "InvalidRequest", status: 400 }, "InvalidRequest");
    const missing = await errorOf(s3.send(new HeadObjectCommand({ Bucket: "trailer", Key: "k" })));
    t.same(missing, { name: "NotFound", status: 404 }, "no object was stored");
  },
);

t.test("a large body's slots are all given back, after success and after failures", async (t) => {
  const { server, s3 } = await serverWithBucket(t, "slots");
  const before = slotCounts().inUse;
  const data = randomBytes(9 * MIB + 4321);

  const put = await s3.send(
    new PutObjectCommand({ Bucket: "slots", Key: "ok", Body: data, ContentLength: data.length }),
  );
  t.equal(put.ETag, `"${createHash("md5").update(data).digest("hex")}"`, "stored with its MD5");
  t.equal(await slotsInUseSettle(before), before, "no slot held after a stored body");

  const bad = await errorOf(
    s3.send(
      new PutObjectCommand({
        Bucket: "slots",
        Key: "bad",
        Body: data,
        ContentMD5: createHash("md5").update("something else").digest("base64"),
      }),
    ),
  );
  t.same(bad, { name: "BadDigest", status: 400 }, "a wrong Content-MD5 fails after the whole body");
  t.equal(await slotsInUseSettle(before), before, "no slot held after BadDigest");

  // A part whose client gives up half way: the server sees the connection close mid-body.
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "slots", Key: "cut" }),
  );
  const abort = new AbortController();
  const cut = s3.send(
    new UploadPartCommand({
      Bucket: "slots",
      Key: "cut",
      UploadId,
      PartNumber: 1,
      ContentLength: 8 * MIB,
      Body: Readable.from(
        (async function* () {
          for (let i = 0; i < 3; i++) yield data.subarray(i * MIB, (i + 1) * MIB);
          await sleep(200);
          abort.abort();
          await sleep(10_000);
        })(),
      ),
    }),
    { abortSignal: abort.signal },
  );
  t.equal((await errorOf(cut)).name, "AbortError", "the client aborted the part");
  t.equal(await slotsInUseSettle(before), before, "no slot held after a body cut short");
  const parts = await s3.send(new ListPartsCommand({ Bucket: "slots", Key: "cut", UploadId }));
  t.equal(parts.Parts?.length ?? 0, 0, "the cut part was not stored");
  const tmp = await settled(() => readdir(join(server.dataDir, "tmp")), []);
  t.same(tmp, [], "no received-body file is left behind");
});

t.test(
  "with every pooled slot taken, a large body still lands through slots of its own",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "overflow");
    const held = Array.from({ length: MAX_POOLED_SLOTS - slotCounts().inUse }, () => acquireSlot());
    t.teardown(() => {
      for (const slot of held) releaseSlot(slot);
    });
    t.equal(slotCounts().inUse, MAX_POOLED_SLOTS, "the pool is exhausted");
    const data = randomBytes(3 * MIB + 777);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "overflow",
        Key: "k",
        Body: data,
        ContentLength: data.length,
      }),
    );
    t.equal(put.ETag, `"${createHash("md5").update(data).digest("hex")}"`, "ETag is the MD5");
    const got = await s3.send(new GetObjectCommand({ Bucket: "overflow", Key: "k" }));
    const back = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    t.equal(back.length, data.length, "exact length stored");
    t.ok(back.equals(data), "the same bytes");
    t.equal(await settled(() => slotCounts().overflowInUse, 0), 0, "its own slots were released");
  },
);
