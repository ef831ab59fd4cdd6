import { join, resolve } from "node:path";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import t from "tap";
import { parseReport } from "../../../core/lambda-logs";
import { startTestRuntime } from "../../helpers/lambda-runtime";

const FIXTURES = resolve(__dirname, "../../fixtures/lambda");

t.test(
  "an environment that died while idle is discarded: the next invocation cold-starts",
  async (t) => {
    const { rt, client } = await startTestRuntime(t);
    await rt.createFunction({
      functionName: "liveness-fn",
      memoryMb: 256,
      timeoutSeconds: 5,
      environment: {},
      bundlePath: join(FIXTURES, "echo.js"),
    });
    const invoke = () =>
      client.send(
        new InvokeCommand({
          FunctionName: "liveness-fn",
          Payload: Buffer.from("{}"),
          LogType: "Tail",
        }),
      );
    const first = await invoke();
    t.equal(first.FunctionError, undefined, "first invocation succeeds");
    const [pid] = rt.environmentPids();
    t.ok(pid !== undefined, "one warm environment");
    if (pid === undefined) return;
    process.kill(pid, "SIGKILL");
    // Wait until Node has seen the exit, as a real idle death would be seen before the next call.
    for (let i = 0; i < 100 && rt.environmentPids().includes(pid); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = await invoke();
    t.equal(second.FunctionError, undefined, "the next invocation succeeds (no Runtime.ExitError)");
    const report = parseReport(Buffer.from(second.LogResult ?? "", "base64").toString("utf8"));
    t.ok(report?.init_duration_ms !== undefined, "…as a cold start with an INIT duration");
    t.notOk(rt.environmentPids().includes(pid), "the dead environment is gone");
    t.equal(rt.environmentPids().length, 1, "one live environment again");
  },
);
