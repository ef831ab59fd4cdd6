/** A CloudWatch Logs client for the local server. */
import {
  CloudWatchLogsClient,
  type CloudWatchLogsClientConfig,
} from "@aws-sdk/client-cloudwatch-logs";

/** Credentials the local client signs with; the server accepts any. */
export const LOCAL_LOGS_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

/**
 * A CloudWatchLogsClient pointed at a local server, signing with dummy credentials so that no
 * credential chain is consulted. Retries (`maxAttempts`) and the rest are the caller's.
 */
export function localLogsClient(
  endpoint: string,
  region: string,
  config: Omit<CloudWatchLogsClientConfig, "endpoint" | "region" | "credentials"> = {},
): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    ...config,
    endpoint,
    region,
    credentials: { ...LOCAL_LOGS_CREDENTIALS },
  });
}
