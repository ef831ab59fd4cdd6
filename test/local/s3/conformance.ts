/**
 * The local S3 server behaves as S3 does where it once did not (issue 15's numbered bugs), each
 * sent by the real client that sends it (the SDK, aws-cli) or as a raw signed request.
 */
import { request } from "node:http";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import t from "tap";
import { MIB } from "../../../core/constants";
import { AWS_CLI, realClients, runClient } from "../../helpers/real-clients";
import {
  codeOf,
  errorOf,
  rawRequest,
  serverWithBucket,
  signRequest,
} from "../../helpers/s3-server";

t.test("1. DeleteObjects deletes keys exactly as named, whitespace included", async (t) => {
  const { s3 } = await serverWithBucket(t, "exact");
  for (const key of ["a", " a", "a ", "\ta"]) {
    await s3.send(new PutObjectCommand({ Bucket: "exact", Key: key, Body: key }));
  }
  const result = await s3.send(
    new DeleteObjectsCommand({
      Bucket: "exact",
      Delete: { Objects: [{ Key: " a" }, { Key: "a " }] },
    }),
  );
  t.same(
    result.Deleted?.map((d) => d.Key),
    [" a", "a "],
    "the response names the keys as sent",
  );
  const left = await s3.send(new ListObjectsV2Command({ Bucket: "exact" }));
  t.same(
    left.Contents?.map((c) => c.Key),
    ["\ta", "a"],
    '"a" and "\\ta" are kept; " a" and "a " are gone',
  );
});

t.test(
  "2. object sub-resources answer 501 NotImplemented, never the object operation",
  async (t) => {
    const { s3, server } = await serverWithBucket(t, "subres");
    await s3.send(new PutObjectCommand({ Bucket: "subres", Key: "k", Body: "body" }));
    t.same(
      await errorOf(s3.send(new GetObjectAclCommand({ Bucket: "subres", Key: "k" }))),
      { name: "NotImplemented", status: 501 },
      "GET ?acl",
    );
    // GET ?tagging is the real operation: objects here have no tags (aws-cli asks before a copy).
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: "subres", Key: "k" }));
    t.same(tags.TagSet, [], "GET ?tagging: an empty tag set, not the body");
    t.same(
      await errorOf(
        s3.send(
          new PutObjectTaggingCommand({
            Bucket: "subres",
            Key: "k",
            Tagging: { TagSet: [{ Key: "a", Value: "b" }] },
          }),
        ),
      ),
      { name: "NotImplemented", status: 501 },
      "PUT ?tagging",
    );
    t.same(
      await errorOf(
        s3.send(
          new GetObjectAttributesCommand({
            Bucket: "subres",
            Key: "k",
            ObjectAttributes: ["ETag"],
          }),
        ),
      ),
      { name: "NotImplemented", status: 501 },
      "GET ?attributes",
    );
    t.same(
      await errorOf(s3.send(new DeleteObjectTaggingCommand({ Bucket: "subres", Key: "k" }))),
      { name: "NotImplemented", status: 501 },
      "DELETE ?tagging",
    );
    const bucketAcl = await rawRequest(server, {
      method: "PUT",
      path: "/subres",
      query: { acl: "" },
    });
    t.equal(bucketAcl.status, 501, "PUT bucket?acl is not CreateBucket");
    const got = await s3.send(new GetObjectCommand({ Bucket: "subres", Key: "k" }));
    t.equal(await got.Body?.transformToString(), "body", "the object is still there, intact");
  },
);

t.test(
  "3. a repeated CompleteMultipartUpload with the same parts answers 200, same ETag",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "retry");
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: "retry", Key: "k" }),
    );
    const base = { Bucket: "retry", Key: "k", UploadId };
    const p1 = await s3.send(
      new UploadPartCommand({ ...base, PartNumber: 1, Body: Buffer.alloc(5 * MIB, 1) }),
    );
    const p2 = await s3.send(new UploadPartCommand({ ...base, PartNumber: 2, Body: "end" }));
    const parts = [
      { PartNumber: 1, ETag: p1.ETag },
      { PartNumber: 2, ETag: p2.ETag },
    ];
    const first = await s3.send(
      new CompleteMultipartUploadCommand({ ...base, MultipartUpload: { Parts: parts } }),
    );
    const again = await s3.send(
      new CompleteMultipartUploadCommand({ ...base, MultipartUpload: { Parts: parts } }),
    );
    t.match(first.ETag, /^"[0-9a-f]{32}-2"$/, "first completion");
    t.equal(again.ETag, first.ETag, "the retry gets the same ETag");
    t.same(
      await errorOf(
        s3.send(
          new CompleteMultipartUploadCommand({
            ...base,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
          }),
        ),
      ),
      { name: "NoSuchUpload", status: 404 },
      "a different part list after completion is NoSuchUpload",
    );
  },
);

t.test(
  "4. presigned URLs work for every operation; bad expiry and future dates are refused",
  async (t) => {
    const { s3, server } = await serverWithBucket(t, "presigned");
    const put = await rawRequest(server, {
      method: "PUT",
      path: "/presigned/up.txt",
      body: "presigned body",
      auth: "presign",
    });
    t.equal(put.status, 200, `presigned PutObject: ${put.body}`);
    const got = await s3.send(new GetObjectCommand({ Bucket: "presigned", Key: "up.txt" }));
    t.equal(
      await got.Body?.transformToString(),
      "presigned body",
      "the presigned PUT stored its body",
    );
    const mb = await rawRequest(server, { method: "PUT", path: "/presigned-new", auth: "presign" });
    t.equal(mb.status, 200, `presigned CreateBucket: ${mb.body}`);
    const list = await rawRequest(server, { method: "GET", path: "/presigned", auth: "presign" });
    t.equal(list.status, 200, "presigned ListObjects (v1)");
    t.match(list.body, /<Key>up\.txt<\/Key>/, "lists the object");

    const clients = realClients(server);
    t.teardown(() => clients.cleanup());
    const url = await runClient(
      AWS_CLI,
      [...clients.aws.args, "s3", "presign", "s3://presigned/up.txt", "--expires-in", "300"],
      clients.aws.env,
    );
    t.equal(url.code, 0, `aws s3 presign exits 0: ${url.stderr}`);
    const viaCli = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      request(url.stdout.trim(), (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on("error", reject)
        .end();
    });
    t.same(
      viaCli,
      { status: 200, body: "presigned body" },
      "aws s3 presign's URL downloads the object",
    );

    const tooLong = await rawRequest(server, {
      method: "GET",
      path: "/presigned/up.txt",
      auth: "presign",
      tamperQuery: (q) => {
        q["X-Amz-Expires"] = "604801";
      },
    });
    t.same(
      [tooLong.status, codeOf(tooLong.body)],
      [400, "AuthorizationQueryParametersError"],
      "X-Amz-Expires over 604,800 s",
    );
    t.match(tooLong.body, /X-Amz-Expires must be less than a week/, "says why");
    const nan = await rawRequest(server, {
      method: "GET",
      path: "/presigned/up.txt",
      auth: "presign",
      tamperQuery: (q) => {
        q["X-Amz-Expires"] = "soon";
      },
    });
    t.same(
      [nan.status, codeOf(nan.body)],
      [400, "AuthorizationQueryParametersError"],
      "non-numeric X-Amz-Expires",
    );
    t.match(nan.body, /X-Amz-Expires should be a number/, "says why");
    const future = await rawRequest(server, {
      method: "GET",
      path: "/presigned/up.txt",
      auth: "presign",
      signingDate: new Date(Date.now() + 60 * 60 * 1000),
    });
    t.same([future.status, codeOf(future.body)], [403, "AccessDenied"], "signed an hour ahead");
    t.match(future.body, /Request is not valid yet/, "says why");
    const expired = await rawRequest(server, {
      method: "GET",
      path: "/presigned/up.txt",
      auth: "presign",
      expiresIn: 60,
      signingDate: new Date(Date.now() - 5 * 60 * 1000),
    });
    t.same([expired.status, codeOf(expired.body)], [403, "AccessDenied"], "expired");
    t.match(expired.body, /Request has expired/, "says why");
  },
);

t.test(
  "5. SigV4: Date without x-amz-date is accepted; skew, region and service are checked",
  async (t) => {
    const { server } = await serverWithBucket(t, "sigv4");
    const dated = await rawRequest(server, { method: "GET", path: "/sigv4", auth: "date-header" });
    t.equal(dated.status, 200, `signed with Date and no x-amz-date: ${dated.body}`);
    const skewed = await rawRequest(server, {
      method: "GET",
      path: "/sigv4",
      signingDate: new Date(Date.now() - 16 * 60 * 1000),
    });
    t.same(
      [skewed.status, codeOf(skewed.body)],
      [403, "RequestTimeTooSkewed"],
      "16 minutes behind",
    );
    const ahead = await rawRequest(server, {
      method: "GET",
      path: "/sigv4",
      signingDate: new Date(Date.now() + 16 * 60 * 1000),
    });
    t.same([ahead.status, codeOf(ahead.body)], [403, "RequestTimeTooSkewed"], "16 minutes ahead");
    const near = await rawRequest(server, {
      method: "GET",
      path: "/sigv4",
      signingDate: new Date(Date.now() - 14 * 60 * 1000),
    });
    t.equal(near.status, 200, "14 minutes behind is within S3's 15");
    const region = await rawRequest(server, { method: "GET", path: "/sigv4", region: "eu-west-1" });
    t.same(
      [region.status, codeOf(region.body)],
      [400, "AuthorizationHeaderMalformed"],
      "scope region eu-west-1 on a us-east-1 server",
    );
    t.match(
      region.body,
      /the region &apos;eu-west-1&apos; is wrong; expecting &apos;us-east-1&apos;/,
      "names both",
    );
    const service = await rawRequest(server, { method: "GET", path: "/sigv4", service: "ec2" });
    t.same(
      [service.status, codeOf(service.body)],
      [400, "AuthorizationHeaderMalformed"],
      "scope service ec2",
    );
    const presignedRegion = await rawRequest(server, {
      method: "GET",
      path: "/sigv4",
      auth: "presign",
      region: "eu-west-1",
    });
    t.same(
      [presignedRegion.status, codeOf(presignedRegion.body)],
      [400, "AuthorizationQueryParametersError"],
      "a presigned URL scoped to eu-west-1",
    );
  },
);

t.test("6. GET/HEAD ?partNumber=N returns that part (206) with x-amz-mp-parts-count", async (t) => {
  const { s3 } = await serverWithBucket(t, "parts");
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "parts", Key: "mp" }),
  );
  const base = { Bucket: "parts", Key: "mp", UploadId };
  const one = Buffer.alloc(5 * MIB, 7);
  const p1 = await s3.send(new UploadPartCommand({ ...base, PartNumber: 1, Body: one }));
  const p2 = await s3.send(new UploadPartCommand({ ...base, PartNumber: 2, Body: "second part" }));
  await s3.send(
    new CompleteMultipartUploadCommand({
      ...base,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ],
      },
    }),
  );
  const part2 = await s3.send(new GetObjectCommand({ Bucket: "parts", Key: "mp", PartNumber: 2 }));
  t.equal(part2.$metadata.httpStatusCode, 206, "206 Partial Content");
  t.equal(part2.PartsCount, 2, "x-amz-mp-parts-count");
  t.equal(part2.ContentRange, `bytes ${5 * MIB}-${5 * MIB + 10}/${5 * MIB + 11}`, "Content-Range");
  t.equal(await part2.Body?.transformToString(), "second part", "only part 2's bytes");
  const head1 = await s3.send(new HeadObjectCommand({ Bucket: "parts", Key: "mp", PartNumber: 1 }));
  t.equal(head1.ContentLength, 5 * MIB, "HEAD part 1 size");
  t.equal(head1.PartsCount, 2, "HEAD part 1 parts count");
  const plainHead = await s3.send(new HeadObjectCommand({ Bucket: "parts", Key: "mp" }));
  t.equal(plainHead.PartsCount, undefined, "no parts count without partNumber");
  t.same(
    await errorOf(s3.send(new GetObjectCommand({ Bucket: "parts", Key: "mp", PartNumber: 3 }))),
    { name: "InvalidPartNumber", status: 416 },
    "beyond the last part",
  );
  await s3.send(new PutObjectCommand({ Bucket: "parts", Key: "plain", Body: "plain" }));
  t.same(
    await errorOf(s3.send(new GetObjectCommand({ Bucket: "parts", Key: "plain", PartNumber: 2 }))),
    { name: "InvalidPartNumber", status: 416 },
    "part 2 of a plain object",
  );
  const whole = await s3.send(
    new GetObjectCommand({ Bucket: "parts", Key: "plain", PartNumber: 1 }),
  );
  t.equal(await whole.Body?.transformToString(), "plain", "part 1 of a plain object is all of it");
});

t.test(
  "7. system metadata is stored and returned; aws-chunked is stripped from Content-Encoding",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "sysmeta");
    const { Readable } = await import("node:stream");
    const expires = new Date("2030-01-02T03:04:05Z");
    await s3.send(
      new PutObjectCommand({
        Bucket: "sysmeta",
        Key: "k",
        // A stream body of known length: the SDK sends it aws-chunked with a trailing checksum.
        Body: Readable.from([Buffer.from("compressed?")]),
        ContentLength: 11,
        CacheControl: "max-age=60",
        ContentDisposition: 'attachment; filename="k.txt"',
        ContentLanguage: "de",
        ContentEncoding: "gzip",
        Expires: expires,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sysmeta", Key: "k" }));
    t.equal(head.CacheControl, "max-age=60", "Cache-Control");
    t.equal(head.ContentDisposition, 'attachment; filename="k.txt"', "Content-Disposition");
    t.equal(head.ContentLanguage, "de", "Content-Language");
    t.equal(head.ContentEncoding, "gzip", "Content-Encoding without aws-chunked");
    t.equal(head.Expires?.toISOString(), expires.toISOString(), "Expires");
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: "sysmeta", Key: "mp", CacheControl: "no-cache" }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket: "sysmeta", Key: "mp", UploadId, PartNumber: 1, Body: "x" }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "sysmeta",
        Key: "mp",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const mp = await s3.send(new GetObjectCommand({ Bucket: "sysmeta", Key: "mp" }));
    t.equal(mp.CacheControl, "no-cache", "a multipart object keeps CreateMultipartUpload's");
  },
);

t.test(
  "8. Expect: 100 Continue only after authentication; other Expect values are ignored",
  async (t) => {
    const { server } = await serverWithBucket(t, "expect");
    const body = Buffer.alloc(1024 * 1024, 1);
    /** Sends headers with Expect: 100-continue, and the body only once the server asks. */
    const expectingContinue = (path: string, headers: Record<string, string>) =>
      new Promise<{ status: number; continued: boolean; code: string }>((resolve, reject) => {
        let continued = false;
        const req = request(`${server.endpoint}${path}`, {
          method: "PUT",
          headers: { ...headers, Expect: "100-continue", "Content-Length": String(body.length) },
          agent: false,
        });
        req.on("continue", () => {
          continued = true;
          req.end(body);
        });
        req.on("response", (res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += c.toString();
          });
          res.on("end", () => {
            // A body never asked for is never sent: the connection is dropped instead.
            if (!continued) req.destroy();
            resolve({ status: res.statusCode ?? 0, continued, code: codeOf(text) });
          });
        });
        req.on("error", (e) => (continued ? reject(e) : undefined));
        req.flushHeaders();
      });
    const outcome = await expectingContinue("/expect/k", {});
    t.same(
      outcome,
      { status: 403, continued: false, code: "AccessDenied" },
      "an unsigned PUT gets its 403 without 100 Continue",
    );
    const missing = await signRequest(server, { method: "PUT", path: "/absent/k", body });
    t.same(
      await expectingContinue(missing.path, missing.headers),
      { status: 404, continued: false, code: "NoSuchBucket" },
      "a signed PUT into a missing bucket gets NoSuchBucket without 100 Continue",
    );
    const stored = await signRequest(server, { method: "PUT", path: "/expect/big", body });
    t.same(
      await expectingContinue(stored.path, stored.headers),
      { status: 200, continued: true, code: "" },
      "a signed PUT is asked for its body and stored",
    );
    const signed = await rawRequest(server, {
      method: "PUT",
      path: "/expect/k",
      headers: { expect: "something-else" },
      body: "x",
    });
    t.equal(signed.status, 200, "Expect: something-else is ignored (not 417)");
    const continuedPut = await rawRequest(server, {
      method: "PUT",
      path: "/expect/k2",
      headers: { expect: "100-continue" },
      body: "y",
    });
    t.equal(continuedPut.status, 200, "a signed PUT with Expect: 100-continue is stored");
  },
);

t.test(
  "9. listing details: max-keys=0, empty delimiter, fetch-owner, v1 Owner and Prefix",
  async (t) => {
    const { s3, server } = await serverWithBucket(t, "listing");
    for (const key of ["a b/1", "a b/2", "c"]) {
      await s3.send(new PutObjectCommand({ Bucket: "listing", Key: key, Body: key }));
    }
    const none = await s3.send(new ListObjectsV2Command({ Bucket: "listing", MaxKeys: 0 }));
    t.equal(none.IsTruncated, false, "max-keys=0 is not truncated");
    t.equal(none.NextContinuationToken, undefined, "and has no token");
    const empty = await rawRequest(server, {
      method: "GET",
      path: "/listing",
      query: { "list-type": "2", delimiter: "" },
    });
    t.notMatch(empty.body, /<Delimiter>/, "an empty delimiter is not echoed");
    const withOwner = await s3.send(
      new ListObjectsV2Command({ Bucket: "listing", FetchOwner: true }),
    );
    t.ok(
      withOwner.Contents?.every((c) => c.Owner?.ID !== undefined),
      "fetch-owner=true: Owner",
    );
    const noOwner = await s3.send(new ListObjectsV2Command({ Bucket: "listing" }));
    t.ok(
      noOwner.Contents?.every((c) => c.Owner === undefined),
      "no fetch-owner: no Owner",
    );
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: "listing" }));
    t.ok(
      v1.Contents?.every((c) => c.Owner?.ID !== undefined),
      "v1 entries have Owner",
    );
    const prefixed = await rawRequest(server, {
      method: "GET",
      path: "/listing",
      query: { prefix: "a b/" },
    });
    t.match(prefixed.body, /<Prefix>a b\/<\/Prefix>/, "v1 Prefix as given without encoding-type");
    t.match(prefixed.body, /<Key>a b\/1<\/Key>/, "v1 keys as they are");
    const encoded = await rawRequest(server, {
      method: "GET",
      path: "/listing",
      query: { prefix: "a b/", "encoding-type": "url" },
    });
    t.match(encoded.body, /<Prefix>a%20b\/<\/Prefix>/, "encoded with encoding-type=url");
    const paged = await s3.send(new ListObjectsCommand({ Bucket: "listing", MaxKeys: 1 }));
    t.equal(paged.IsTruncated, true, "v1 page of 1 is truncated");
    t.equal(paged.NextMarker, undefined, "v1 NextMarker only with a delimiter");
    const pagedDelimited = await s3.send(
      new ListObjectsCommand({ Bucket: "listing", MaxKeys: 1, Delimiter: "/" }),
    );
    t.equal(pagedDelimited.NextMarker, "a b/", "v1 NextMarker with a delimiter");
  },
);

t.test("10. limits: key length, reserved bucket names, 1,000 keys per DeleteObjects", async (t) => {
  const { s3 } = await serverWithBucket(t, "limits");
  t.same(
    await errorOf(
      s3.send(new PutObjectCommand({ Bucket: "limits", Key: "k".repeat(1025), Body: "x" })),
    ),
    { name: "KeyTooLongError", status: 400 },
    "a 1,025-byte key",
  );
  await s3.send(new PutObjectCommand({ Bucket: "limits", Key: "k".repeat(1024), Body: "x" }));
  t.pass("a 1,024-byte key is stored");
  t.same(
    await errorOf(
      s3.send(new PutObjectCommand({ Bucket: "limits", Key: "é".repeat(513), Body: "x" })),
    ),
    { name: "KeyTooLongError", status: 400 },
    "513 two-byte characters are 1,026 bytes",
  );
  for (const name of ["192.168.1.1", "xn--abc", "sthree-abc", "abc-s3alias", "abc--ol-s3"]) {
    t.same(
      await errorOf(s3.send(new CreateBucketCommand({ Bucket: name }))),
      { name: "InvalidBucketName", status: 400 },
      `bucket name ${name}`,
    );
  }
  const objects = Array.from({ length: 1001 }, (_, i) => ({ Key: `k${i}` }));
  t.same(
    await errorOf(
      s3.send(new DeleteObjectsCommand({ Bucket: "limits", Delete: { Objects: objects } })),
    ),
    { name: "MalformedXML", status: 400 },
    "1,001 keys in one DeleteObjects",
  );
  const thousand = await s3.send(
    new DeleteObjectsCommand({ Bucket: "limits", Delete: { Objects: objects.slice(0, 1000) } }),
  );
  t.equal(thousand.Deleted?.length, 1000, "1,000 keys are fine");
});

t.test(
  "11. DeleteBucket with only unfinished uploads deletes the bucket and its uploads",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "uploads-only");
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: "uploads-only", Key: "k" }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: "uploads-only",
        Key: "k",
        UploadId,
        PartNumber: 1,
        Body: "x",
      }),
    );
    await s3.send(new DeleteBucketCommand({ Bucket: "uploads-only" }));
    const buckets = await s3.send(new ListBucketsCommand({}));
    t.same(buckets.Buckets?.map((b) => b.Name) ?? [], [], "the bucket is gone");
    t.same(
      await errorOf(
        s3.send(new AbortMultipartUploadCommand({ Bucket: "uploads-only", Key: "k", UploadId })),
      ),
      { name: "NoSuchBucket", status: 404 },
      "and its upload with it",
    );
  },
);
