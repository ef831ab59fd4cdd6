/**
 * The local S3 server answers every request (S3 error XML, 500 InternalError at worst, its
 * cause in the log), closes idle and stalled connections, and starts despite a corrupt
 * metadata file.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import t from "tap";
import { MIB } from "../../../core/constants";
import { describeError } from "../../../local/s3/error-response";
import { OPERATIONS } from "../../../local/s3/operations";
import { startS3Server } from "../../../local/s3/server";
import {
  codeOf,
  errorOf,
  rawRequest,
  s3ClientFor,
  serverWithBucket,
  signRequest,
} from "../../helpers/s3-server";

/** Resolves with what the server sent on the socket once it closes, and how long that took. */
function untilClosed(socket: Socket): Promise<{ data: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let data = "";
    socket.on("data", (c: Buffer) => {
      data += c.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve({ data, ms: Date.now() - started }));
  });
}

/** What the server sent on the socket until `done(data)` holds or `ms` passed; then it is closed. */
function collect(socket: Socket, done: (data: string) => boolean, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data);
    };
    const timer = setTimeout(finish, ms);
    socket.on("data", (c: Buffer) => {
      data += c.toString("latin1");
      if (done(data)) finish();
    });
    socket.on("error", () => {});
    socket.on("close", finish);
  });
}

/** The error an SDK request failed with (see errorOf), or "no answer" when none came within 5 s. */
async function answerOf(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  let timer: NodeJS.Timeout | undefined;
  const none = new Promise<{ name: string }>((resolve) => {
    timer = setTimeout(() => resolve({ name: "no answer within 5 s" }), 5000);
  });
  try {
    return await Promise.race([errorOf(p), none]);
  } finally {
    clearTimeout(timer);
  }
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

t.test("an invalid character reference in CompleteMultipartUpload gets MalformedXML", async (t) => {
  const { s3, server } = await serverWithBucket(t, "xmlchars");
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: "xmlchars", Key: "k" }),
  );
  for (const ref of ["&#x110000;", "&#0;", "&#xD800;"]) {
    const res = await rawRequest(server, {
      method: "POST",
      path: "/xmlchars/k",
      query: { uploadId: UploadId ?? "" },
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${ref}</ETag></Part></CompleteMultipartUpload>`,
    });
    t.same([res.status, codeOf(res.body)], [400, "MalformedXML"], `ETag ${ref}`);
  }
});

t.test("an unexpected failure after the body was read is answered 500 and logged", async (t) => {
  const lines: string[] = [];
  const { s3, server } = await serverWithBucket(t, "broken", { log: (l) => lines.push(l) });
  // The data directory replaced by a file: committing the received body fails with ENOTDIR.
  const data = join(server.dataDir, "buckets", "broken", "data");
  await rm(data, { recursive: true });
  await writeFile(data, "not a directory");
  t.same(
    await errorOf(s3.send(new PutObjectCommand({ Bucket: "broken", Key: "k", Body: "hello" }))),
    { name: "InternalError", status: 500 },
    "PutObject is answered InternalError",
  );
  t.equal(lines.length, 1, "one log line");
  t.match(
    lines[0],
    /PUT \/broken\/k\?x-id=PutObject: InternalError: ENOTDIR: .*rename/,
    "the log names the request and cause",
  );
  const buckets = await s3.send(new ListBucketsCommand({}));
  t.same(
    buckets.Buckets?.map((b) => b.Name),
    ["broken"],
    "the server goes on answering",
  );
});

/** A 4 MiB tmpfs for the full-disk test, or why there is none (mounting needs root). */
const smallDisk = ((): { path: string } | { reason: string } => {
  const path = mkdtempSync(join(tmpdir(), "s3-enospc-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", path]);
  if (mounted.status === 0) return { path };
  rmSync(path, { recursive: true, force: true });
  return { reason: `a small tmpfs cannot be mounted here: ${String(mounted.stderr).trim()}` };
})();
t.teardown(() => {
  if (!("path" in smallDisk)) return;
  spawnSync("umount", [smallDisk.path]);
  rmSync(smallDisk.path, { recursive: true, force: true });
});

t.test(
  "a full disk is answered 500 InternalError promptly, ENOSPC in the log",
  { skip: "reason" in smallDisk ? smallDisk.reason : false },
  async (t) => {
    const mountPoint = "path" in smallDisk ? smallDisk.path : "";
    const lines: string[] = [];
    const { s3 } = await serverWithBucket(t, "full", {
      dataDir: mountPoint,
      log: (l) => lines.push(l),
    });
    const started = Date.now();
    t.same(
      await errorOf(
        s3.send(
          new PutObjectCommand({ Bucket: "full", Key: "big", Body: Buffer.alloc(8 * MIB, 1) }),
        ),
      ),
      { name: "InternalError", status: 500 },
      "an 8 MiB PutObject onto a 4 MiB file system",
    );
    t.ok(Date.now() - started < 10_000, "answered within 10 s");
    t.match(lines.join("\n"), /ENOSPC/, "the log names ENOSPC");
  },
);

t.test(
  "idle, stalled and keep-alive connections are closed; a stalled body gets RequestTimeout",
  async (t) => {
    const lines: string[] = [];
    const { server } = await serverWithBucket(t, "idle", {
      idleTimeoutMs: 300,
      headersTimeoutMs: 600,
      log: (l) => lines.push(l),
    });
    const silent = await openSocket(server.port);
    const partialHeaders = await openSocket(server.port);
    partialHeaders.write("GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const signed = await signRequest(server, {
      method: "PUT",
      path: "/idle/stalled",
      body: Buffer.alloc(1000, 1),
    });
    const stalledBody = await openSocket(server.port);
    const head = Object.entries(signed.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    stalledBody.write(`PUT ${signed.path} HTTP/1.1\r\n${head}\r\n`);
    stalledBody.write(signed.body.subarray(0, 10));
    const keptAlive = await openSocket(server.port);
    const list = await signRequest(server, { method: "GET", path: "/idle" });
    keptAlive.write(
      `GET ${list.path} HTTP/1.1\r\n${Object.entries(list.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("")}Connection: keep-alive\r\n\r\n`,
    );
    const [a, b, c, d] = await Promise.all(
      [silent, partialHeaders, stalledBody, keptAlive].map(untilClosed),
    );
    t.ok((a?.ms ?? 0) < 10_000, `a silent connection is closed (${a?.ms} ms)`);
    t.ok((b?.ms ?? 0) < 10_000, `a connection stalled in its headers is closed (${b?.ms} ms)`);
    t.match(c?.data, /^HTTP\/1\.1 400 /, "a stalled body is answered 400");
    t.match(c?.data, /<Code>RequestTimeout<\/Code>/, "with RequestTimeout");
    t.match(d?.data, /^HTTP\/1\.1 200 /, "the keep-alive request was answered");
    t.ok((d?.ms ?? 0) < 10_000, `then its idle connection is closed (${d?.ms} ms)`);
    t.equal(await server.openConnections(), 0, "no connection is left open");
    t.match(lines.join("\n"), /PUT \/idle\/stalled.*RequestTimeout/, "the timeout is logged");
    const tmp = await readdir(join(server.dataDir, "tmp"));
    t.same(tmp, [], "the stalled body's temp file is removed");
  },
);

t.test(
  "a corrupt metadata file is named in the log and quarantined; the server starts",
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), "s3-corrupt-"));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startS3Server({ dataDir });
    const s3a = s3ClientFor(first);
    await s3a.send(new CreateBucketCommand({ Bucket: "corrupt" }));
    await s3a.send(new PutObjectCommand({ Bucket: "corrupt", Key: "good", Body: "good" }));
    await s3a.send(new PutObjectCommand({ Bucket: "corrupt", Key: "bad", Body: "bad" }));
    const { UploadId } = await s3a.send(
      new CreateMultipartUploadCommand({ Bucket: "corrupt", Key: "pending" }),
    );
    await s3a.send(
      new UploadPartCommand({
        Bucket: "corrupt",
        Key: "pending",
        UploadId,
        PartNumber: 1,
        Body: "p",
      }),
    );
    s3a.destroy();
    await first.stop();
    const bucketDir = join(dataDir, "buckets", "corrupt");
    const sidecar = join(
      bucketDir,
      "objects",
      `${createHash("sha256").update("bad").digest("hex")}.json`,
    );
    await writeFile(sidecar, '{"key": "bad", "size": 3,');
    await writeFile(join(bucketDir, "uploads", UploadId ?? "", "upload.json"), "\u0000\u0000");
    await writeFile(join(bucketDir, "bucket.json"), "garbage");

    const lines: string[] = [];
    const second = await startS3Server({ dataDir, log: (l) => lines.push(l) });
    const s3b = s3ClientFor(second);
    t.teardown(async () => {
      s3b.destroy();
      await second.stop();
    });
    const good = await s3b.send(new GetObjectCommand({ Bucket: "corrupt", Key: "good" }));
    t.equal(await good.Body?.transformToString(), "good", "the intact object is served");
    t.same(
      await errorOf(s3b.send(new GetObjectCommand({ Bucket: "corrupt", Key: "bad" }))),
      { name: "NoSuchKey", status: 404 },
      "the object with the corrupt sidecar is skipped",
    );
    const buckets = await s3b.send(new ListBucketsCommand({}));
    t.same(
      buckets.Buckets?.map((b) => b.Name),
      ["corrupt"],
      "the bucket with a corrupt bucket.json is kept",
    );
    t.equal(lines.length, 3, "three files reported");
    t.ok(
      lines.some((l) => l.includes(`skipped corrupt metadata file ${sidecar}`)),
      "the log names the corrupt sidecar",
    );
    const quarantined = await readdir(join(dataDir, "quarantine"));
    t.equal(quarantined.length, 3, "three files quarantined");
    const moved = quarantined.find((f) => f.startsWith("buckets__corrupt__objects__"));
    t.ok(moved, "the sidecar's quarantined name says where it was");
    t.equal(
      await readFile(join(dataDir, "quarantine", moved ?? ""), "utf8"),
      '{"key": "bad", "size": 3,',
      "its content is kept for inspection",
    );
  },
);

t.test("pipelined requests on one connection are all answered, in order, errors too", async (t) => {
  const { s3, server } = await serverWithBucket(t, "pipelined");
  await s3.send(new PutObjectCommand({ Bucket: "pipelined", Key: "good", Body: "good" }));
  const wire = async (method: string, path: string): Promise<string> => {
    const r = await signRequest(server, { method, path });
    const head = Object.entries(r.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    return `${method} ${r.path} HTTP/1.1\r\n${head}\r\n`;
  };
  // Each error is answered before the GET ahead of it has ended its response (that waits for
  // its file stream to close): node queues the error's response, with no socket until then.
  const requests = [
    await wire("GET", "/pipelined/good"),
    await wire("GET", "/pipelined/missing"),
    await wire("GET", "/pipelined/good"),
    await wire("HEAD", "/pipelined/missing"),
    await wire("GET", "/nobucket/k"),
  ];
  const socket = await openSocket(server.port);
  const answered = collect(
    socket,
    (data) =>
      (data.match(/HTTP\/1\.1 \d{3} /g) ?? []).length === requests.length &&
      data.endsWith("</Error>"),
    5000,
  );
  socket.write(requests.join(""));
  const data = await answered;
  t.same(
    data.match(/HTTP\/1\.1 \d{3}/g),
    ["HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 404"],
    "five requests, five answers",
  );
  t.same(
    data.match(/<Code>\w+<\/Code>/g),
    ["<Code>NoSuchKey</Code>", "<Code>NoSuchBucket</Code>"],
    "the errors' documents (HEAD's has no body)",
  );
});

t.test(
  "a keep-alive GetObject error is answered while the previous GET's file is still closing",
  async (t) => {
    const { s3 } = await serverWithBucket(t, "keepalive");
    await s3.send(new PutObjectCommand({ Bucket: "keepalive", Key: "good", Body: "good" }));
    // A busy thread pool, as on a loaded machine: the GET's file stream closes (and its
    // response ends) only after the client has read the body and sent its next request.
    const fs = require("node:fs") as { close: (fd: number, cb: (e: unknown) => void) => void };
    const close = fs.close;
    fs.close = (fd, cb) => {
      setTimeout(() => close(fd, cb), 300);
    };
    t.teardown(() => {
      fs.close = close;
    });
    const good = await s3.send(new GetObjectCommand({ Bucket: "keepalive", Key: "good" }));
    t.equal(await good.Body?.transformToString(), "good", "the first GET's body");
    t.same(
      await answerOf(s3.send(new GetObjectCommand({ Bucket: "keepalive", Key: "bad" }))),
      { name: "NoSuchKey", status: 404 },
      "the next GET, on the same connection, is answered NoSuchKey",
    );
    t.same(
      await answerOf(s3.send(new HeadObjectCommand({ Bucket: "keepalive", Key: "bad" }))),
      { name: "NotFound", status: 404 },
      "and a HEAD after it",
    );
  },
);

t.test("an operation that settles without answering is answered 500 and logged", async (t) => {
  const lines: string[] = [];
  const { s3 } = await serverWithBucket(t, "silent", { log: (l) => lines.push(l) });
  const listBuckets = OPERATIONS.ListBuckets;
  OPERATIONS.ListBuckets = async () => {};
  t.teardown(() => {
    OPERATIONS.ListBuckets = listBuckets;
  });
  t.same(
    await answerOf(s3.send(new ListBucketsCommand({}))),
    { name: "InternalError", status: 500 },
    "ListBuckets is answered InternalError",
  );
  t.equal(lines.length, 1, "one log line");
  t.match(
    lines[0],
    /GET \/\?x-id=ListBuckets: InternalError: Error: ListBuckets settled without a response/,
  );
});

t.test("the log names a system call's error in one line, a defect with its stack", async (t) => {
  const full = Object.assign(new Error("ENOSPC: no space left on device, write"), {
    code: "ENOSPC",
    syscall: "write",
    errno: -28,
  });
  t.equal(describeError(full), "ENOSPC: no space left on device, write");
  const bare = Object.assign(new Error("stream ended"), { code: "EIO", syscall: "read" });
  t.equal(describeError(bare), "EIO: stream ended");
  const defect = new TypeError("x is not a function");
  t.match(describeError(defect), /^TypeError: x is not a function\n\s+at /);
  t.equal(describeError("plain"), "plain");
});
