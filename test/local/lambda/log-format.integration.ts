import { join, resolve } from "node:path";
import { GetFunctionCommand, InvokeCommand } from "@aws-sdk/client-lambda";
import t from "tap";
import { billedDurationMs } from "../../../core/billing";
import { isInvalidInputError } from "../../../core/errors";
import { type LogFormat, parseReport } from "../../../core/lambda-logs";
import { startTestRuntime } from "../../helpers/lambda-runtime";

const FIXTURES = resolve(__dirname, "../../fixtures/lambda");
const RUN_ID = "run_1700000000000_abc123";

const start = (t: tap.Test) => startTestRuntime(t);

async function createAndInvokeTwice(
  t: tap.Test,
  logFormat: LogFormat | undefined,
  fixture: string,
) {
  const { rt, client } = await start(t);
  const name = `fmt-${logFormat ?? "default"}-${fixture}`;
  await rt.createFunction({
    functionName: name,
    memoryMb: 256,
    timeoutSeconds: 5,
    environment: {},
    bundlePath: join(FIXTURES, `${fixture}.js`),
    ...(logFormat === undefined ? {} : { logFormat }),
  });
  const send = () =>
    client.send(
      new InvokeCommand({
        FunctionName: name,
        Payload: Buffer.from(JSON.stringify({ run_id: RUN_ID })),
        LogType: "Tail",
      }),
    );
  const cold = await send();
  const warm = await send();
  const tails = [cold, warm].map((r) => Buffer.from(r.LogResult ?? "", "base64").toString("utf8"));
  const config = await client.send(new GetFunctionCommand({ FunctionName: name }));
  const events = await rt.logs.getLogEvents(`/aws/lambda/${name}`);
  return { tails, config, events: events.map((e) => e.message) };
}

t.test(
  "a JSON-format function writes Lambda's JSON system records, in the tail and the log",
  async (t) => {
    const { tails, config, events } = await createAndInvokeTwice(t, "JSON", "console-emf");
    t.same(
      config.Configuration?.LoggingConfig,
      { LogFormat: "JSON", LogGroup: "/aws/lambda/fmt-JSON-console-emf" },
      "GetFunction shows the log format",
    );
    const [coldTail = "", warmTail = ""] = tails;
    const coldLines = coldTail.trimEnd().split("\n");
    const types = coldLines.map((l) => {
      const v = JSON.parse(l) as { type?: string; level?: string; run_id?: string };
      return (
        v.type ??
        (v.level !== undefined ? `console:${v.level}` : v.run_id !== undefined ? "emf" : "?")
      );
    });
    t.same(
      types,
      [
        "platform.initStart",
        "platform.start",
        "console:INFO",
        "emf",
        "platform.runtimeDone",
        "platform.report",
      ],
      "cold start: every line is a JSON object, in Lambda's order; no REPORT RequestId text",
    );
    t.notOk(coldTail.includes("REPORT RequestId:"), "no text REPORT line");
    const consoleLine = JSON.parse(coldLines[2] ?? "{}") as Record<string, unknown>;
    t.match(
      consoleLine,
      { level: "INFO", message: "hello { n: 1 }" },
      "console.log becomes a JSON object with level and message",
    );
    t.match(consoleLine.requestId, /^[0-9a-f-]{36}$/, "…and the request id");
    t.same(
      JSON.parse(coldLines[3] ?? "{}").run_id,
      RUN_ID,
      "the EMF line written with process.stdout.write stays raw",
    );

    const report = JSON.parse(coldLines[5] ?? "{}") as {
      record: {
        status: string;
        metrics: {
          durationMs: number;
          billedDurationMs: number;
          initDurationMs: number;
          memorySizeMB: number;
        };
      };
    };
    t.equal(report.record.status, "success", "status success");
    t.equal(report.record.metrics.memorySizeMB, 256, "memory size");
    t.ok(report.record.metrics.initDurationMs > 0, "a cold start reports its INIT duration");
    t.equal(
      report.record.metrics.billedDurationMs,
      billedDurationMs(report.record.metrics.durationMs, report.record.metrics.initDurationMs),
      "billed duration includes INIT, once",
    );
    const parsed = parseReport(coldTail);
    t.equal(
      parsed?.billed_duration_ms,
      report.record.metrics.billedDurationMs,
      "parseReport reads the real tail",
    );
    t.equal(
      parsed?.init_duration_ms,
      report.record.metrics.initDurationMs,
      "…and its INIT duration",
    );

    const warmReport = parseReport(warmTail);
    t.ok(warmReport !== undefined, "a warm tail carries REPORT data");
    t.notOk(
      warmReport !== undefined && "init_duration_ms" in warmReport,
      "no INIT on a warm start",
    );
    t.equal(
      warmTail.trimEnd().split("\n")[0]?.includes('"platform.start"'),
      true,
      "no initStart when warm",
    );
    t.equal(
      events.filter((m) => m.includes('"type":"platform.report"')).length,
      2,
      "the log store holds both platform.report records",
    );
    t.equal(events.filter((m) => m.startsWith('{"_aws"')).length, 2, "…and both raw EMF lines");
  },
);

t.test("a Text-format function (CreateFunction's default) keeps Lambda's text lines", async (t) => {
  const { tails, config } = await createAndInvokeTwice(t, undefined, "console-emf");
  t.equal(config.Configuration?.LoggingConfig?.LogFormat, "Text", "default format Text");
  const lines = (tails[0] ?? "").trimEnd().split("\n");
  t.match(lines[0], /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/, "START line first");
  t.match(
    lines[1],
    /^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\thello \{ n: 1 \}$/,
    "console.log as Lambda's text line",
  );
  t.match(
    lines.at(-1),
    /^REPORT RequestId: .*\tInit Duration: \d+\.\d\d ms$/,
    "REPORT text line last",
  );
  const report = parseReport(tails[0] ?? "");
  t.ok(
    report !== undefined &&
      report.billed_duration_ms === billedDurationMs(report.duration_ms, report.init_duration_ms),
    "Billed Duration includes INIT",
  );
});

t.test("a function error is status error in JSON, with its error type", async (t) => {
  const { tails } = await createAndInvokeTwice(t, "JSON", "throws");
  const last = JSON.parse((tails[0] ?? "").trimEnd().split("\n").at(-1) ?? "{}");
  t.match(
    last,
    { type: "platform.report", record: { status: "error", errorType: "IngestFailed" } },
    "platform.report of a handler error",
  );
});

t.test("an unknown log format is refused naming the input", async (t) => {
  const { rt } = await start(t);
  const error = await rt
    .createFunction({
      functionName: "bad-format",
      memoryMb: 256,
      timeoutSeconds: 5,
      environment: {},
      bundlePath: join(FIXTURES, "echo.js"),
      logFormat: "XML" as LogFormat,
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.ok(isInvalidInputError(error), "InvalidInputError");
  t.match(
    String(error),
    /logFormat.*"XML".*one of Text, JSON/,
    "names the input, its value and what is allowed",
  );
});
