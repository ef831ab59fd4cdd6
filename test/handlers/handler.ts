import { createServer, type Server, type Socket } from "node:net";
import t from "tap";
import { asEmfRecord, type EmfRecord } from "../../core/emf";
import { handler } from "../../handlers/handler";
import { captureOutput, HANDLER_ENV_KEYS, useEnv } from "../helpers/process-state";

// Unit tests of the handler that need no S3 server: a refused port, a silent server and bad
// settings. The round trips against the local S3 server are in handler.integration.ts.

/** Sets the handler's environment for one test (dummy credentials) and restores it afterwards. */
function useHandlerEnv(t: tap.Test, env: Record<string, string>): void {
  useEnv(t, HANDLER_ENV_KEYS, {
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    ...env,
  });
}

function onlyRecord(t: tap.Test, writes: string[]): EmfRecord | null {
  t.equal(writes.length, 1, "exactly one stdout write");
  const line = writes[0] ?? "";
  t.ok(line.endsWith("\n") && line.indexOf("\n") === line.length - 1, "one line");
  return asEmfRecord(JSON.parse(line));
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

t.test(
  "with nothing listening at S3_ENDPOINT the handler rejects with a clear error and emits ok:false",
  async (t) => {
    const server = createServer();
    const port = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    useHandlerEnv(t, {
      OUTPUT_BUCKET: "ingest-bucket",
      WORKLOAD: "events",
      MEMORY_MB: "512",
      BATCH_EVENTS: "3",
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    const context = {
      functionName: "fn-under-test",
      awsRequestId: "req-1",
      getRemainingTimeInMillis: () => 20_000,
    };
    const { stdout: writes, result } = await captureOutput(() =>
      handler({ run_id: "run_1700000000000_abc123" }, context),
    );
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(result.reason, { name: "S3OperationError" }, "an S3OperationError");
      t.match(
        String(result.reason.message),
        /^S3 PutObject s3:\/\/ingest-bucket\/events\/512mb\/run_1700000000000_abc123\/\d+-[0-9a-f-]{36}\.jsonl failed: .*ECONNREFUSED/,
        "the message names the operation, the object and the refused connection",
      );
    }
    const record = onlyRecord(t, writes);
    t.match(
      record,
      {
        ok: false,
        error: /ECONNREFUSED/,
        object_bytes: 0,
        events_generated: 3,
        batch_events: 3,
        event_bytes: 1024,
        multipart_parts: 0,
        multipart_part_mb: 0,
        object_mb: 0,
        function_name: "fn-under-test",
        request_id: "req-1",
        run_id: "run_1700000000000_abc123",
        cold_start: true,
      },
      "the EMF record of the failure, cold on the first invocation",
    );
  },
);

t.test(
  "a server that accepts and never answers fails the handler at its deadline, upload aborted",
  async (t) => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.resume();
    });
    const port = await listen(server);
    t.teardown(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    useHandlerEnv(t, {
      OUTPUT_BUCKET: "ingest-bucket",
      WORKLOAD: "batch",
      MEMORY_MB: "512",
      MULTIPART_MB: "5",
      OBJECT_MB: "12",
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    // 1.5 s left: the deadline (less a 0.5 s margin) fires long before the client's own timeouts.
    const context = {
      functionName: "fn-silent",
      awsRequestId: "req-2",
      getRemainingTimeInMillis: () => 1_500,
    };
    const { stdout: writes, result } = await captureOutput(() => handler({}, context));
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(
        String(result.reason.message),
        /^S3 CreateMultipartUpload s3:\/\/ingest-bucket\/batch\/512mb\/run_\d{13}_[a-z0-9]{6}\/\d+-[0-9a-f-]{36}\.bin failed: deadline reached: no answer within 1000 ms \(function timeout less 500 ms to report\)$/,
        "the message says which request hit the deadline",
      );
    }
    const record = onlyRecord(t, writes);
    t.match(
      record,
      {
        ok: false,
        error: /deadline reached/,
        object_bytes: 0,
        multipart_part_mb: 5,
        object_mb: 12,
        cold_start: false,
      },
      "the EMF record of the failure, warm on the second invocation",
    );
  },
);

for (const [what, env, message] of [
  [
    "bad settings",
    { WORKLOAD: "batch", MEMORY_MB: "512", MULTIPART_MB: "4" },
    'MULTIPART_MB="4" is invalid: allowed an integer from 5 to 5120',
  ],
  [
    "MEMORY_MB other than the memory Lambda set",
    {
      WORKLOAD: "events",
      MEMORY_MB: "1024",
      BATCH_EVENTS: "1",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
    },
    'MEMORY_MB="1024" is invalid: allowed 512, the memory Lambda runs the function with (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512)',
  ],
] as const) {
  t.test(`${what}: the handler rejects before any S3 call and writes nothing`, async (t) => {
    useHandlerEnv(t, {
      OUTPUT_BUCKET: "ingest-bucket",
      S3_ENDPOINT: "http://127.0.0.1:9",
      ...env,
    });
    const { stdout: writes, result } = await captureOutput(() => handler({}));
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(result.reason, { name: "InvalidInputError", message }, "the settings error");
    }
    t.equal(writes.length, 0, "no EMF line for a misconfigured cell");
  });
}

t.test("a run_id that cannot be part of an S3 key is rejected", async (t) => {
  useHandlerEnv(t, {
    OUTPUT_BUCKET: "ingest-bucket",
    WORKLOAD: "events",
    MEMORY_MB: "512",
    BATCH_EVENTS: "1",
  });
  for (const runId of ["../etc", "..", ""]) {
    const { stdout: writes, result } = await captureOutput(() => handler({ run_id: runId }));
    t.equal(result.status, "rejected", `run_id ${JSON.stringify(runId)}: the handler rejects`);
    if (result.status === "rejected") {
      t.match(
        result.reason,
        {
          name: "InvalidInputError",
          message: `run_id=${JSON.stringify(runId)} is invalid: allowed 1 to 128 letters, digits, '.', '_' and '-', starting with a letter or digit`,
        },
        `run_id ${JSON.stringify(runId)}: the event error`,
      );
    }
    t.equal(writes.length, 0, `run_id ${JSON.stringify(runId)}: nothing written`);
  }
});
