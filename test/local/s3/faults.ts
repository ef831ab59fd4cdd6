import { HeadBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import t from "tap";
import { FaultRules } from "../../../local/s3/faults";
import { serverWithBucket } from "../../helpers/s3-server";

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e: unknown) {
    const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    return status === undefined
      ? `network:${err.code ?? err.name ?? "?"}`
      : `${err.name}:${status}`;
  }
}

t.test("a rule with nth hits only the nth matching request after it was added", async (t) => {
  const rules = new FaultRules();
  rules.decide("PutObject");
  rules.inject({ operation: "PutObject", nth: 2, action: "error" });
  const fails = ["PutObject", "GetObject", "PutObject", "PutObject"].map(
    (op) => rules.decide(op as "PutObject" | "GetObject").fail !== undefined,
  );
  t.same(fails, [false, false, true, false], "only the second PutObject after inject fails");
  rules.clear();
  t.equal(rules.decide("PutObject").fail, undefined, "clear() removes every rule");
  t.throws(
    () => rules.inject({ operation: "*", nth: 0, action: "drop" }),
    RangeError,
    "nth must be >= 1",
  );
});

t.test("no fault is active unless injected", async (t) => {
  const rules = new FaultRules();
  t.same(rules.decide("UploadPart"), { latencyMs: 0 }, "no latency, no failure");
});

t.test(
  "an injected error fails exactly the nth request with the given status and code",
  async (t) => {
    const { server, s3 } = await serverWithBucket(t, "faults");
    server.faults.inject({
      operation: "PutObject",
      nth: 2,
      action: "error",
      status: 503,
      code: "SlowDown",
    });
    const results: string[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(
        await outcome(s3.send(new PutObjectCommand({ Bucket: "faults", Key: `k${i}`, Body: "x" }))),
      );
    }
    t.same(
      results,
      ["ok", "SlowDown:503", "ok"],
      "only the second PutObject fails, with SlowDown 503",
    );
    server.faults.inject({ operation: "*", action: "error" });
    t.equal(
      await outcome(s3.send(new PutObjectCommand({ Bucket: "faults", Key: "k", Body: "x" }))),
      "InternalError:500",
      "defaults: every request, InternalError 500",
    );
    server.faults.clear();
    t.equal(
      await outcome(s3.send(new HeadBucketCommand({ Bucket: "faults" }))),
      "ok",
      "clear() ends the faults",
    );
  },
);

t.test("a dropped request gets no response and the next one is served", async (t) => {
  const { server, s3 } = await serverWithBucket(t, "drops");
  server.faults.inject({ operation: "PutObject", nth: 1, action: "drop" });
  const dropped = await outcome(
    s3.send(new PutObjectCommand({ Bucket: "drops", Key: "k", Body: Buffer.alloc(256 * 1024, 1) })),
  );
  t.match(dropped, /^network:/, `the dropped PutObject fails without an HTTP status (${dropped})`);
  t.equal(
    await outcome(s3.send(new PutObjectCommand({ Bucket: "drops", Key: "k", Body: "x" }))),
    "ok",
    "the next PutObject succeeds",
  );
});

t.test("injected latency delays the matching requests", async (t) => {
  const { server, s3 } = await serverWithBucket(t, "slow");
  server.faults.inject({ operation: "HeadBucket", action: "latency", latencyMs: 300 });
  const started = Date.now();
  t.equal(
    await outcome(s3.send(new HeadBucketCommand({ Bucket: "slow" }))),
    "ok",
    "the delayed request succeeds",
  );
  // A lower bound only: the delay is a sleep on the server, so it cannot be shorter.
  t.ok(Date.now() - started >= 300, "the response came no sooner than the injected 300 ms");
});
