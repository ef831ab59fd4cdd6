import { createHash, createHmac } from "node:crypto";
import t from "tap";
import { AwsChunkedDecoder } from "../../../local/s3/aws-chunked";
import { S3Error } from "../../../local/s3/errors";
import { type SignedRequest, signingKey } from "../../../local/s3/sigv4";

/*
 * The worked example of "Signature Calculations for the Authorization Header: Transferring
 * Payload in Multiple Chunks" (sigv4-streaming) in the Amazon S3 API reference: PUT of 66560
 * bytes of 'a' as a 64 KiB chunk, a 1 KiB chunk and the final empty chunk. The signatures below
 * are the ones published there; they are the oracle for the decoder's chunk-signature chain.
 */
const EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EXAMPLE_DATETIME = "20130524T000000Z";
const EXAMPLE_SCOPE = "20130524/us-east-1/s3/aws4_request";
const SEED_SIGNATURE = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const CHUNK_SIGNATURES = [
  "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
const CHUNK_SIZES = [65536, 1024, 0];
/** The example's Content-Length: the encoded body's size. */
const EXAMPLE_CONTENT_LENGTH = 66824;
const EXAMPLE_DATA = Buffer.alloc(66560, "a");

function exampleSigned(overrides: Partial<SignedRequest> = {}): SignedRequest {
  return {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    datetime: EXAMPLE_DATETIME,
    scope: EXAMPLE_SCOPE,
    signingKey: signingKey(EXAMPLE_SECRET, "20130524", "us-east-1", "s3"),
    signature: SEED_SIGNATURE,
    payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    ...overrides,
  };
}

/** `<hex size>;chunk-signature=<sig>\r\n<data>\r\n` for each chunk, as the example shows. */
function signedBody(sizes: number[], signatures: string[], fill = "a"): Buffer {
  const parts: Buffer[] = [];
  sizes.forEach((size, i) => {
    parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${signatures[i]}\r\n`, "latin1"));
    parts.push(Buffer.alloc(size, fill), Buffer.from("\r\n", "latin1"));
  });
  return Buffer.concat(parts);
}

const EXAMPLE_BODY = signedBody(CHUNK_SIZES, CHUNK_SIGNATURES);

interface Decoded {
  data: Buffer;
  sinkCalls: number;
  emptySinkCalls: number;
  trailers: Map<string, string>;
}

/** Pushes `body` in pieces of the given sizes (the last one repeated), then calls end(). */
function decode(
  body: Buffer,
  signed: SignedRequest | undefined,
  pieceSizes: number[] = [body.length],
): Decoded {
  const trailers = new Map<string, string>();
  const decoder = new AwsChunkedDecoder(trailers, signed);
  const out: Buffer[] = [];
  let emptySinkCalls = 0;
  const sink = (data: Buffer): void => {
    if (data.length === 0) emptySinkCalls++;
    out.push(Buffer.from(data));
  };
  let off = 0;
  let i = 0;
  while (off < body.length) {
    const size = pieceSizes[Math.min(i, pieceSizes.length - 1)] ?? body.length;
    decoder.push(body.subarray(off, off + size), sink);
    off += size;
    i++;
  }
  decoder.end();
  return { data: Buffer.concat(out), sinkCalls: out.length, emptySinkCalls, trailers };
}

/** The S3Error `fn` throws, as { code, message }; anything else thrown fails the test. */
function s3ErrorOf(fn: () => void): { code: string; message: string } | string {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof S3Error) return { code: e.code, message: e.message };
    return `not an S3Error: ${String(e)}`;
  }
  return "nothing thrown";
}

const unsigned = (text: string): Buffer => Buffer.from(text, "latin1");

t.test(
  "the published example's signatures follow from the documented string to sign",
  async (t) => {
    // An HMAC chain written here from the documentation, independent of local/s3/sigv4, so that
    // the published values above are known to be the example's (and not mistyped).
    const hmac = (key: Buffer | string, data: string): Buffer =>
      createHmac("sha256", key).update(data, "utf8").digest();
    const key = hmac(
      hmac(hmac(hmac(`AWS4${EXAMPLE_SECRET}`, "20130524"), "us-east-1"), "s3"),
      "aws4_request",
    );
    t.ok(
      key.equals(signingKey(EXAMPLE_SECRET, "20130524", "us-east-1", "s3")),
      "signingKey() derives the documented key",
    );
    const emptyHash = createHash("sha256").update("").digest("hex");
    let previous = SEED_SIGNATURE;
    const computed: string[] = [];
    for (const size of CHUNK_SIZES) {
      const chunkHash = createHash("sha256").update(Buffer.alloc(size, "a")).digest("hex");
      const stringToSign = [
        "AWS4-HMAC-SHA256-PAYLOAD",
        EXAMPLE_DATETIME,
        EXAMPLE_SCOPE,
        previous,
        emptyHash,
        chunkHash,
      ].join("\n");
      previous = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
      computed.push(previous);
    }
    t.strictSame(computed, CHUNK_SIGNATURES, "the three published chunk signatures");
    t.equal(EXAMPLE_BODY.length, EXAMPLE_CONTENT_LENGTH, "the encoding has the example's length");
  },
);

t.test("the AWS sigv4-streaming example decodes to its 66560 bytes of 'a'", async (t) => {
  const { data, trailers } = decode(EXAMPLE_BODY, exampleSigned());
  t.equal(data.length, 66560, "decoded length is x-amz-decoded-content-length");
  t.ok(data.equals(EXAMPLE_DATA), "every decoded byte is 'a'");
  t.equal(trailers.size, 0, "no trailers");
});

t.test("the example decodes identically however it is split across pushes", async (t) => {
  const splits: [string, number[]][] = [
    ["one byte at a time", [1]],
    ["7-byte pieces", [7]],
    ["13-byte pieces", [13]],
    ["4099-byte pieces", [4099]],
    ["a header's CR and LF in different pushes", [87, 1, 65537, 3]],
    ["the CR and LF of a chunk end in different pushes", [88 + 65536 + 1, 1, 85, 1]],
    ["64 KiB + 1 pieces", [65537]],
  ];
  for (const [name, sizes] of splits) {
    const { data, emptySinkCalls } = decode(EXAMPLE_BODY, exampleSigned(), sizes);
    t.equal(data.length, 66560, `${name}: decoded length`);
    t.ok(data.equals(EXAMPLE_DATA), `${name}: same bytes`);
    t.equal(emptySinkCalls, 0, `${name}: the sink never gets an empty run`);
  }
  const byByte = decode(EXAMPLE_BODY, exampleSigned(), [1]);
  t.equal(byByte.sinkCalls, 66560, "one byte at a time: one sink call per data byte");
});

t.test("a tampered data byte fails the chunk signature", async (t) => {
  const tampered = Buffer.from(EXAMPLE_BODY);
  tampered[88 + 1000] = "b".charCodeAt(0);
  t.strictSame(
    s3ErrorOf(() => decode(tampered, exampleSigned())),
    { code: "SignatureDoesNotMatch", message: "The chunk signature does not match" },
    "first chunk tampered",
  );
  const lastChunkTampered = Buffer.from(EXAMPLE_BODY);
  lastChunkTampered[88 + 65536 + 2 + 86 + 5] = "b".charCodeAt(0);
  t.strictSame(
    s3ErrorOf(() => decode(lastChunkTampered, exampleSigned(), [1])),
    { code: "SignatureDoesNotMatch", message: "The chunk signature does not match" },
    "second chunk tampered, fed one byte at a time",
  );
});

t.test("the chunk signatures chain from the seed and from each other", async (t) => {
  t.strictSame(
    s3ErrorOf(() => decode(EXAMPLE_BODY, exampleSigned({ signature: CHUNK_SIGNATURES[2] ?? "" }))),
    { code: "SignatureDoesNotMatch", message: "The chunk signature does not match" },
    "another seed signature",
  );
  const swapped = signedBody(CHUNK_SIZES, [
    CHUNK_SIGNATURES[0] ?? "",
    CHUNK_SIGNATURES[0] ?? "",
    CHUNK_SIGNATURES[2] ?? "",
  ]);
  t.strictSame(
    s3ErrorOf(() => decode(swapped, exampleSigned())),
    { code: "SignatureDoesNotMatch", message: "The chunk signature does not match" },
    "a chunk carrying the previous chunk's signature",
  );
  const wrongFinal = signedBody(CHUNK_SIZES, [
    CHUNK_SIGNATURES[0] ?? "",
    CHUNK_SIGNATURES[1] ?? "",
    CHUNK_SIGNATURES[1] ?? "",
  ]);
  t.strictSame(
    s3ErrorOf(() => decode(wrongFinal, exampleSigned())),
    { code: "SignatureDoesNotMatch", message: "The chunk signature does not match" },
    "the final empty chunk is verified too",
  );
});

t.test("a signed stream without a chunk-signature is refused", async (t) => {
  t.strictSame(
    s3ErrorOf(() => decode(unsigned("5\r\nhello\r\n0\r\n\r\n"), exampleSigned())),
    { code: "SignatureDoesNotMatch", message: "Missing chunk signature" },
    "no extension at all",
  );
  const afterFirst = Buffer.concat([
    signedBody([65536], [CHUNK_SIGNATURES[0] ?? ""]),
    unsigned(`400\r\n${"a".repeat(1024)}\r\n`),
  ]);
  t.strictSame(
    s3ErrorOf(() => decode(afterFirst, exampleSigned())),
    { code: "SignatureDoesNotMatch", message: "Missing chunk signature" },
    "a valid first chunk, then one without a signature",
  );
});

t.test("an unsigned stream hands its trailer to the trailers map", async (t) => {
  const body = unsigned("5\r\nhello\r\n6\r\n world\r\n0\r\nX-Amz-Checksum-CRC32:DUoRhQ==\r\n\r\n");
  for (const sizes of [[body.length], [1], [4]]) {
    const { data, trailers } = decode(body, undefined, sizes);
    t.equal(data.toString("latin1"), "hello world", `decoded data, pieces of ${sizes[0]}`);
    t.strictSame(
      [...trailers],
      [["x-amz-checksum-crc32", "DUoRhQ=="]],
      `lower-cased trailer name and its value, pieces of ${sizes[0]}`,
    );
  }
  const unsignedTrailer = decode(
    body,
    exampleSigned({ payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER" }),
  );
  t.equal(
    unsignedTrailer.data.toString("latin1"),
    "hello world",
    "a verified request with STREAMING-UNSIGNED-PAYLOAD-TRAILER needs no chunk signatures",
  );
  t.equal(unsignedTrailer.trailers.get("x-amz-checksum-crc32"), "DUoRhQ==", "and has its trailer");
  for (const ending of ["\r", ""]) {
    const cut = unsigned(`5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==${ending}`);
    t.strictSame(
      [...decode(cut, undefined, [3]).trailers],
      [["x-amz-checksum-crc32", "NhCmhg=="]],
      `a trailer line the body ends in (ending ${JSON.stringify(ending)}) still counts`,
    );
  }
});

t.test("malformed bodies are IncompleteBody", async (t) => {
  t.strictSame(
    s3ErrorOf(() => decode(unsigned("zz\r\nhello\r\n0\r\n\r\n"), undefined)),
    { code: "IncompleteBody", message: "Malformed aws-chunked chunk header" },
    "a non-hex chunk size",
  );
  t.strictSame(
    s3ErrorOf(() => decode(unsigned("\r\n"), undefined)),
    { code: "IncompleteBody", message: "Malformed aws-chunked chunk header" },
    "an empty chunk header",
  );
  t.strictSame(
    s3ErrorOf(() => decode(unsigned("5\r\nhello\r\n0\r\n\r\nmore"), undefined)),
    { code: "IncompleteBody", message: "Data after the end of an aws-chunked body" },
    "data after the final CRLF",
  );
  t.strictSame(
    s3ErrorOf(() => decode(unsigned("5\r\nhello\r\n0\r\n\r\nmore"), undefined, [1])),
    { code: "IncompleteBody", message: "Data after the end of an aws-chunked body" },
    "data after the final CRLF, in a later push",
  );
  t.strictSame(
    s3ErrorOf(() => decode(unsigned("5\r\nhelloXY\r\n0\r\n\r\n"), undefined)),
    { code: "IncompleteBody", message: "Malformed aws-chunked chunk end" },
    "a chunk longer than its size: not followed by CRLF",
  );
  t.strictSame(
    s3ErrorOf(() => decode(unsigned(`${"0".repeat(8 * 1024)}5\r\nhello\r\n0\r\n\r\n`), undefined)),
    { code: "IncompleteBody", message: "aws-chunked line too long" },
    "a chunk header over 8 KiB",
  );
  t.strictSame(
    s3ErrorOf(() =>
      decode(unsigned(`0\r\nx-amz-meta-long:${"v".repeat(8 * 1024)}\r\n\r\n`), undefined, [1000]),
    ),
    { code: "IncompleteBody", message: "aws-chunked line too long" },
    "a trailer line over 8 KiB, spread over pushes",
  );
  // The limit counts the line with its CR: 8191 characters and the CR are 8 KiB.
  const atLimit = decode(unsigned(`${"0".repeat(8 * 1024 - 2)}5\r\nhello\r\n0\r\n\r\n`), undefined);
  t.equal(atLimit.data.toString("latin1"), "hello", "a chunk header line of exactly 8 KiB");
  t.strictSame(
    s3ErrorOf(() =>
      decode(unsigned(`${"0".repeat(8 * 1024 - 1)}5\r\nhello\r\n0\r\n\r\n`), undefined),
    ),
    { code: "IncompleteBody", message: "aws-chunked line too long" },
    "one byte more",
  );
});

t.test("end() needs the final chunk; the CRLF after it is optional", async (t) => {
  const ended = (text: string, signed?: SignedRequest) => () => decode(unsigned(text), signed);
  const early = {
    code: "IncompleteBody",
    message: "The request body ended before the last aws-chunked chunk",
  };
  t.strictSame(s3ErrorOf(ended("")), early, "an empty body");
  t.strictSame(s3ErrorOf(ended("5\r\nhel")), early, "ended inside a chunk's data");
  t.strictSame(s3ErrorOf(ended("5\r\nhello")), early, "ended before a chunk's CRLF");
  t.strictSame(s3ErrorOf(ended("5\r\nhello\r\n")), early, "ended before the final chunk");
  t.strictSame(s3ErrorOf(ended("5\r\nhello\r\n0")), early, "ended inside the final chunk header");
  t.strictSame(
    s3ErrorOf(() =>
      decode(EXAMPLE_BODY.subarray(0, 88 + 65536 + 2 + 86 + 1024 + 2), exampleSigned()),
    ),
    early,
    "the example without its final chunk",
  );
  t.equal(
    decode(unsigned("5\r\nhello\r\n0\r\n"), undefined).data.toString("latin1"),
    "hello",
    "ended right after the 0-size chunk, without the final CRLF",
  );
  const noFinalCrlf = decode(EXAMPLE_BODY.subarray(0, EXAMPLE_BODY.length - 2), exampleSigned());
  t.ok(noFinalCrlf.data.equals(EXAMPLE_DATA), "the signed example without its final CRLF");
  const trailerNoFinalCrlf = decode(
    unsigned("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n"),
    undefined,
  );
  t.strictSame(
    [...trailerNoFinalCrlf.trailers],
    [["x-amz-checksum-crc32", "NhCmhg=="]],
    "a trailer whose blank line never came is still kept",
  );
});
