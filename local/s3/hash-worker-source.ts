/**
 * The source of the hashing worker thread (hashing.ts): MD5, SHA-256 and the flexible checksums
 * of a body's slots, read where they lie in shared memory.
 */
// Plain JavaScript evaluated in the worker, so that it runs the same under ts-node, tap and a bundle.
export const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { crc32 } = require("node:zlib");
const jobs = new Map();
// CRC32C and CRC64NVME (node has neither), table-driven as in checksums.ts; only bodies whose
// client chose them pay for them, here and not on the server's event loop.
const C32C = new Uint32Array(256);
const C64LO = new Uint32Array(256);
const C64HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  C32C[i] = c >>> 0;
  let w = BigInt(i);
  for (let k = 0; k < 8; k++) w = w & 1n ? 0x9a6c9329ac4bc9b5n ^ (w >> 1n) : w >> 1n;
  C64LO[i] = Number(w & 0xffffffffn);
  C64HI[i] = Number(w >> 32n);
}
function crc32c(b, crc) {
  let c = ~crc >>> 0;
  for (let i = 0; i < b.length; i++) c = C32C[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
function crc64(b, job) {
  let lo = ~job.crc >>> 0;
  let hi = ~job.crcHi >>> 0;
  for (let i = 0; i < b.length; i++) {
    const x = (lo ^ b[i]) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ C64LO[x]) >>> 0;
    hi = ((hi >>> 8) ^ C64HI[x]) >>> 0;
  }
  job.crc = ~lo >>> 0;
  job.crcHi = ~hi >>> 0;
}
parentPort.on("message", (m) => {
  if (m.type === "start") {
    jobs.set(m.id, {
      md5: createHash("md5"),
      sha: m.sha256 ? createHash("sha256") : null,
      alg: m.checksum || null,
      other: m.checksum === "sha1" || m.checksum === "sha256" ? createHash(m.checksum) : null,
      crc: 0,
      crcHi: 0,
    });
  } else if (m.type === "data") {
    const job = jobs.get(m.id);
    if (job) {
      const b = Buffer.from(m.memory, m.offset, m.length);
      job.md5.update(b);
      if (job.sha) job.sha.update(b);
      if (job.other) job.other.update(b);
      else if (job.alg === "crc32") job.crc = crc32(b, job.crc);
      else if (job.alg === "crc32c") job.crc = crc32c(b, job.crc);
      else if (job.alg === "crc64nvme") crc64(b, job);
    }
    // Read: the slot may be reused from now on.
    parentPort.postMessage({ type: "ack", id: m.id });
  } else if (m.type === "end") {
    const job = jobs.get(m.id);
    jobs.delete(m.id);
    if (!job) return;
    let checksum;
    if (job.other) checksum = job.other.digest("base64");
    else if (job.alg === "crc32" || job.alg === "crc32c") {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(job.crc >>> 0);
      checksum = out.toString("base64");
    } else if (job.alg === "crc64nvme") {
      const out = Buffer.alloc(8);
      out.writeUInt32BE(job.crcHi >>> 0, 0);
      out.writeUInt32BE(job.crc >>> 0, 4);
      checksum = out.toString("base64");
    }
    parentPort.postMessage({
      type: "done",
      id: m.id,
      md5: job.md5.digest("hex"),
      sha256: job.sha ? job.sha.digest("hex") : undefined,
      checksum,
    });
  } else if (m.type === "cancel") {
    jobs.delete(m.id);
  }
});
`;
