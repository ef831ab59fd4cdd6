/**
 * A local CloudWatch Logs server over a fresh log store, plus an SDK client without retries,
 * for the tests of local/logs/ (not a test file: it has no `t.test`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CloudWatchLogsClient,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { LogStore } from "../../local/lambda/log-store";
import {
  type LogsFaults,
  type LogsServer,
  localLogsClient,
  startLogsServer,
} from "../../local/logs";

/** A running server, the store it reads and a client for it. */
export interface LogsFixture {
  readonly dir: string;
  readonly store: LogStore;
  readonly server: LogsServer;
  readonly client: CloudWatchLogsClient;
}

/** Starts a server (faults as given) on a temp log dir; the test's teardown stops everything. */
export async function logsFixture(
  t: { teardown(fn: () => unknown): void },
  faults?: LogsFaults,
): Promise<LogsFixture> {
  const dir = mkdtempSync(join(tmpdir(), "logs-server-test-"));
  const store = new LogStore(dir);
  const server = await startLogsServer({
    logDir: dir,
    ...(faults === undefined ? {} : { faults }),
  });
  const client = localLogsClient(server.endpoint, server.region, { maxAttempts: 1 });
  t.teardown(async () => {
    client.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, store, server, client };
}

/** Lambda's log group of the fixtures' function. */
export const GROUP = "/aws/lambda/s3-experiment-events-512mb-b1-rc0";
export const STREAM_A = "2023/11/14/[$LATEST]aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
export const STREAM_B = "2023/11/14/[$LATEST]bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/** Starts a query and polls it until it leaves Scheduled/Running; returns the last answer. */
export async function runQuery(
  client: CloudWatchLogsClient,
  input: {
    queryString: string;
    startTime?: number;
    endTime?: number;
    limit?: number;
    logGroupName?: string;
  },
): Promise<GetQueryResultsCommandOutput> {
  const { queryId } = await client.send(
    new StartQueryCommand({
      logGroupName: input.logGroupName ?? GROUP,
      startTime: input.startTime ?? 0,
      endTime: input.endTime ?? 4_000_000_000,
      queryString: input.queryString,
      ...(input.limit === undefined ? {} : { limit: input.limit }),
    }),
  );
  for (;;) {
    const out = await client.send(new GetQueryResultsCommand({ queryId }));
    if (out.status !== "Scheduled" && out.status !== "Running") return out;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Rows as plain `{field: value}` objects (without @ptr), for exact comparison. */
export function rowObjects(out: GetQueryResultsCommandOutput): Record<string, string>[] {
  return (out.results ?? []).map((row) =>
    Object.fromEntries(
      row.filter((f) => f.field !== "@ptr").map((f) => [f.field ?? "", f.value ?? ""]),
    ),
  );
}
