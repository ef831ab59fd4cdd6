import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { Test } from "tap";
import { type S3Server, type S3ServerOptions, startS3Server } from "../../local/s3/server";

/** An SDK client for the local S3 server: path-style, its credentials, no retries (a test sees every answer). */
export function s3ClientFor(
  server: S3Server,
  credentials: { accessKeyId: string; secretAccessKey: string } = server.credentials,
): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
}

/**
 * Starts a local S3 server with one bucket and a client for it, both torn down when the test
 * ends.
 */
export async function serverWithBucket(
  t: Test,
  bucket: string,
  options: S3ServerOptions = {},
): Promise<{ server: S3Server; s3: S3Client }> {
  const server = await startS3Server(options);
  const s3 = s3ClientFor(server);
  t.teardown(async () => {
    s3.destroy();
    await server.stop();
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { server, s3 };
}

/** The error name and HTTP status an SDK request failed with; throws if it succeeded. */
export async function errorOf(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (e: unknown) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name ?? "?", status: err.$metadata?.httpStatusCode };
  }
  throw new Error("expected the request to fail");
}
