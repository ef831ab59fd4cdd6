/** The local CloudWatch Logs server: start it, and a client for it. */
export { LOCAL_LOGS_CREDENTIALS, localLogsClient } from "./client";
export type { LogsFaults, LogsOperation, ThrottleRule } from "./faults";
export { type LogsServer, type LogsServerOptions, startLogsServer } from "./server";
