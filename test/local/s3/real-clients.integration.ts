import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { MIB } from "../../../core/constants";
import { startS3Server } from "../../../local/s3/server";
import { AWS_CLI, type ClientRun, realClients, runClient, S3CMD } from "../../helpers/real-clients";

/** Writes `size` bytes of a deterministic pattern (each MiB differs) and returns its MD5. */
async function writePatternFile(path: string, size: number): Promise<string> {
  const md5 = createHash("md5");
  const out = createWriteStream(path);
  const base = Buffer.alloc(MIB);
  for (let i = 0; i < MIB; i += 4) base.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let off = 0, n = 0; off < size; off += MIB, n++) {
    const piece = Buffer.from(base.subarray(0, Math.min(MIB, size - off)));
    piece.writeUInt32BE(n, 0);
    md5.update(piece);
    if (!out.write(piece)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
  return md5.digest("hex");
}

async function md5File(path: string): Promise<string> {
  const md5 = createHash("md5");
  for await (const chunk of createReadStream(path)) md5.update(chunk as Buffer);
  return md5.digest("hex");
}

function ok(t: Test, run: ClientRun, what: string): void {
  t.equal(run.code, 0, `${what} exits 0${run.code === 0 ? "" : `: ${run.stderr}`}`);
}

t.test("aws-cli and s3cmd work against the server", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "s3-real-clients-files-"));
  const server = await startS3Server();
  const clients = realClients(server, {
    awsS3Settings: { multipart_chunksize: "8MB", multipart_threshold: "8MB" },
  });
  t.teardown(async () => {
    await server.stop();
    clients.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const aws = (...args: string[]) =>
    runClient(AWS_CLI, [...clients.aws.args, ...args], clients.aws.env);
  const awsJson = async (...args: string[]): Promise<Record<string, unknown>> => {
    const run = await runClient(
      AWS_CLI,
      [...clients.aws.args, "--output", "json", ...args],
      clients.aws.env,
    );
    t.equal(
      run.code,
      0,
      `aws ${args.slice(0, 2).join(" ")} exits 0${run.code === 0 ? "" : `: ${run.stderr}`}`,
    );
    return run.stdout.trim() === "" ? {} : (JSON.parse(run.stdout) as Record<string, unknown>);
  };
  const s3cmd = (...args: string[]) =>
    runClient(S3CMD, [...clients.s3cmd.args, ...args], clients.s3cmd.env);

  t.test("aws s3 mb, cp of 100 MiB as 13 parts, head-object, ls, cp back, rm", async (t) => {
    const big = join(dir, "big.bin");
    const md5 = await writePatternFile(big, 100 * MIB);
    ok(t, await aws("s3", "mb", "s3://cli-bucket"), "aws s3 mb");
    ok(
      t,
      await aws("s3", "cp", "--no-progress", big, "s3://cli-bucket/data/big.bin"),
      "aws s3 cp (upload)",
    );
    const head = await awsJson(
      "s3api",
      "head-object",
      "--bucket",
      "cli-bucket",
      "--key",
      "data/big.bin",
    );
    t.equal(head.ContentLength, 100 * MIB, "head-object ContentLength");
    t.match(
      String(head.ETag),
      /^"[0-9a-f]{32}-13"$/,
      "head-object ETag ends with -13 (8 MiB parts)",
    );
    const ls = await aws("s3", "ls", "s3://cli-bucket/data/");
    ok(t, ls, "aws s3 ls");
    t.match(
      ls.stdout,
      new RegExp(`\\s${100 * MIB} big\\.bin`),
      "aws s3 ls lists the object with its size",
    );
    const back = join(dir, "back.bin");
    ok(
      t,
      await aws("s3", "cp", "--no-progress", "s3://cli-bucket/data/big.bin", back),
      "aws s3 cp (download)",
    );
    t.equal(await md5File(back), md5, "the downloaded file equals the uploaded one");
    await rm(back);
    ok(t, await aws("s3", "rm", "s3://cli-bucket/data/big.bin"), "aws s3 rm");
    const after = await aws("s3", "ls", "s3://cli-bucket/data/");
    t.equal(after.stdout.trim(), "", "nothing is listed after rm");
  });

  t.test(
    "aws s3api multipart: create, upload-part, list-multipart-uploads, list-parts, abort",
    async (t) => {
      const part = join(dir, "part.bin");
      await writeFile(part, Buffer.alloc(MIB + 7, 5));
      const created = await awsJson(
        "s3api",
        "create-multipart-upload",
        "--bucket",
        "cli-bucket",
        "--key",
        "mp",
      );
      const uploadId = String(created.UploadId);
      t.match(uploadId, /^[0-9a-f]{32}$/, "an upload id");
      const base = ["--bucket", "cli-bucket", "--key", "mp", "--upload-id", uploadId];
      const uploaded = await awsJson(
        "s3api",
        "upload-part",
        ...base,
        "--part-number",
        "1",
        "--body",
        part,
      );
      t.match(String(uploaded.ETag), /^"[0-9a-f]{32}"$/, "upload-part returns an ETag");
      const uploads = await awsJson("s3api", "list-multipart-uploads", "--bucket", "cli-bucket");
      t.same(
        (uploads.Uploads as { UploadId: string; Key: string }[]).map((u) => [u.Key, u.UploadId]),
        [["mp", uploadId]],
        "list-multipart-uploads shows the upload",
      );
      const parts = await awsJson("s3api", "list-parts", ...base);
      t.same(
        (parts.Parts as { PartNumber: number; Size: number; ETag: string }[]).map((p) => [
          p.PartNumber,
          p.Size,
          p.ETag,
        ]),
        [[1, MIB + 7, uploaded.ETag]],
        "list-parts shows the part",
      );
      await awsJson("s3api", "abort-multipart-upload", ...base);
      const again = await runClient(
        AWS_CLI,
        [
          ...clients.aws.args,
          "s3api",
          "upload-part",
          ...base,
          "--part-number",
          "2",
          "--body",
          part,
        ],
        clients.aws.env,
      );
      t.not(again.code, 0, "upload-part after abort fails");
      t.match(again.stderr, /NoSuchUpload/, "with NoSuchUpload");
      const none = await awsJson("s3api", "list-multipart-uploads", "--bucket", "cli-bucket");
      t.equal(
        (none.Uploads as unknown[] | undefined)?.length ?? 0,
        0,
        "no upload left after abort",
      );
    },
  );

  t.test("s3cmd put, multipart put, ls, get", async (t) => {
    const small = join(dir, "small.txt");
    await writeFile(small, "hello from s3cmd\n");
    const mid = join(dir, "mid.bin");
    const md5 = await writePatternFile(mid, 12 * MIB);
    ok(t, await s3cmd("mb", "s3://s3cmd-bucket"), "s3cmd mb");
    ok(t, await s3cmd("put", small, "s3://s3cmd-bucket/small.txt"), "s3cmd put");
    const put = await s3cmd("put", "--multipart-chunk-size-mb=5", mid, "s3://s3cmd-bucket/mid.bin");
    ok(t, put, "s3cmd multipart put");
    const ls = await s3cmd("ls", "s3://s3cmd-bucket");
    ok(t, ls, "s3cmd ls");
    t.match(
      ls.stdout,
      new RegExp(`\\s${12 * MIB}\\s+s3://s3cmd-bucket/mid\\.bin`),
      "ls shows the multipart object",
    );
    t.match(ls.stdout, /\s17\s+s3:\/\/s3cmd-bucket\/small\.txt/, "ls shows the small object");
    const back = join(dir, "mid.back");
    ok(t, await s3cmd("get", "--force", "s3://s3cmd-bucket/mid.bin", back), "s3cmd get");
    t.equal(await md5File(back), md5, "the downloaded file equals the uploaded one");
    const head = await awsJson(
      "s3api",
      "head-object",
      "--bucket",
      "s3cmd-bucket",
      "--key",
      "mid.bin",
    );
    t.match(String(head.ETag), /-3"$/, "the object was stored as 3 parts");
  });
});
