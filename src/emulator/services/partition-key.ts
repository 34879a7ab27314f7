/**
 * The service's partition-key hash. Event Hubs maps a partition key to a partition with Bob
 * Jenkins' lookup3 `hashlittle2` (both seeds 0) over the key's UTF-8 bytes, folds the two 32-bit
 * results to a signed 16-bit value (`c ^ b`), and takes its absolute value modulo the partition
 * count. The SDK's buffered producer computes the same on the client, so the two must agree bit
 * for bit or keyed events would land in different partitions depending on how they were sent.
 */

/** Rotates a 32-bit value left by `k` bits. */
function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Returns `[b, c]` of lookup3's hashlittle2 over `data`, seeds 0, as int32 values. */
function hashLittle2(data: Buffer): [number, number] {
  let a = (0xdeadbeef + data.length) | 0;
  let b = a;
  let c = a;
  let i = 0;
  let left = data.length;
  while (left > 12) {
    a = (a + data.readUInt32LE(i)) | 0;
    b = (b + data.readUInt32LE(i + 4)) | 0;
    c = (c + data.readUInt32LE(i + 8)) | 0;
    // lookup3 mix()
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    i += 12;
    left -= 12;
  }
  // lookup3 returns the initial values untouched for an empty tail (only possible for empty input).
  if (left === 0) return [b, c];
  // The tail is read as little-endian words padded with zeros, which is what the byte-wise
  // fall-through switch of the reference implementation amounts to.
  a = (a + tailWord(data, i, left, 0)) | 0;
  b = (b + tailWord(data, i, left, 4)) | 0;
  c = (c + tailWord(data, i, left, 8)) | 0;
  // lookup3 final()
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return [b, c];
}

/** The little-endian word at `start + wordOffset` of the final `left` (1..12) bytes, zero-padded. */
function tailWord(data: Buffer, start: number, left: number, wordOffset: number): number {
  let word = 0;
  for (let k = 3; k >= 0; k--) {
    const pos = wordOffset + k;
    word = (word << 8) | (pos < left ? (data[start + pos] ?? 0) : 0);
  }
  return word;
}

/** The service's hash of a partition key: a signed 16-bit value (-32768..32767). */
export function partitionKeyHash(key: string): number {
  const [b, c] = hashLittle2(Buffer.from(key, "utf8"));
  return ((c ^ b) << 16) >> 16;
}

/** The zero-based partition index a key maps to: `abs(hash) mod partitionCount`. */
export function partitionIndexForKey(key: string, partitionCount: number): number {
  return Math.abs(partitionKeyHash(key) % partitionCount);
}
