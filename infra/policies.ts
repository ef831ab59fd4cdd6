/**
 * The IAM and bucket policy documents of one cell, as pure functions of ARNs, so that what a
 * cell grants can be read and tested without deploying it.
 */

/** One IAM policy statement, as far as this project writes them. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: "*" | { readonly Service: string };
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

/** What the function may do in its bucket: write objects and abort its own multipart uploads. */
export const BUCKET_OBJECT_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"] as const;

/**
 * What the function may do in its log group. No `logs:CreateLogGroup`: the group is created by
 * the stack (with a retention), never by Lambda.
 */
export const LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"] as const;

/** The trust policy that lets Lambda assume the function's role. */
export function lambdaTrustPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "lambda.amazonaws.com" },
        Action: "sts:AssumeRole",
      },
    ],
  };
}

/**
 * The function's permissions, least privilege: objects of this cell's bucket and streams of
 * this cell's log group, nothing else. Multipart uploads need only `s3:PutObject` (create,
 * upload part, complete) plus `s3:AbortMultipartUpload` to clean up after a failed part.
 */
export function functionPolicy(bucketArn: string, logGroupArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriteObjects",
        Effect: "Allow",
        Action: BUCKET_OBJECT_ACTIONS,
        Resource: `${bucketArn}/*`,
      },
      { Sid: "WriteLogs", Effect: "Allow", Action: LOG_ACTIONS, Resource: `${logGroupArn}:*` },
    ],
  };
}

/** A bucket policy denying every request that does not use TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}
