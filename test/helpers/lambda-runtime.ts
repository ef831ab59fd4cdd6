/**
 * A local Lambda runtime for a test: a temporary log directory, an SDK client with no retries,
 * both torn down with the test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { Test } from "tap";
import {
  type LambdaRuntime,
  type LambdaRuntimeOptions,
  startLambdaRuntime,
} from "../../local/lambda/runtime";

/** Starts a runtime; CPU quotas stay off unless asked (they make small cold starts slow). */
export async function startTestRuntime(
  t: Test,
  options: Omit<LambdaRuntimeOptions, "logDir"> = {},
): Promise<{ rt: LambdaRuntime; client: LambdaClient; logDir: string }> {
  const logDir = mkdtempSync(join(tmpdir(), "lambda-runtime-test-"));
  const rt = await startLambdaRuntime({ cpuScaling: "off", ...options, logDir });
  const client = new LambdaClient({
    endpoint: rt.endpoint,
    region: rt.region,
    maxAttempts: 1,
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" },
  });
  t.teardown(async () => {
    client.destroy();
    await rt.stop();
    rmSync(logDir, { recursive: true, force: true });
  });
  return { rt, client, logDir };
}
