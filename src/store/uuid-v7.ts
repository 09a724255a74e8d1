// Time-ordered ids (RFC 9562 UUIDv7) for flows, steps, attempts and events.
// The `uuid` package asks the CSPRNG for 16 fresh bytes per id, which cost
// ~10 µs each on the executor's hot path; this one draws from a pooled
// buffer refilled 4 KiB at a time. Ids made in one process are strictly
// increasing: within a millisecond a 32-bit counter (seeded at random each
// millisecond) follows the timestamp, and the clock never goes backwards.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
/** Random bytes one id takes from the pool: 4 for the counter seed, 6 for the tail. */
const BYTES_PER_ID = 10;

const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

let lastMs = -1;
let counter = 0;

function random(): number {
  if (poolOffset + BYTES_PER_ID > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += BYTES_PER_ID;
  return at;
}

/** A new UUIDv7, later than every one this process made before. */
export function uuidv7(now: number = Date.now()): string {
  const at = random();
  if (now > lastMs) {
    lastMs = now;
    // The top bit clear leaves 2^31 increments before the counter runs out.
    counter = pool.readUInt32BE(at) >>> 1;
  } else if (counter === 0xffffffff) {
    lastMs++;
    counter = pool.readUInt32BE(at) >>> 1;
  } else {
    counter++;
  }
  const ms = lastMs;
  const hi = Math.floor(ms / 0x100000000);
  const lo = ms >>> 0;
  const c = counter;
  const t = at + 4;
  return (
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[lo >>> 24]! +
    HEX[(lo >>> 16) & 0xff]! +
    '-' +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    '-' +
    // version 7, then the counter's top 12 bits
    HEX[0x70 | (c >>> 28)]! +
    HEX[(c >>> 20) & 0xff]! +
    '-' +
    // variant 0b10, then the counter's next 14 bits
    HEX[0x80 | ((c >>> 14) & 0x3f)]! +
    HEX[(c >>> 6) & 0xff]! +
    '-' +
    // the counter's last 6 bits, then 42 random bits
    HEX[((c & 0x3f) << 2) | (pool[t]! & 0x03)]! +
    HEX[pool[t + 1]!]! +
    HEX[pool[t + 2]!]! +
    HEX[pool[t + 3]!]! +
    HEX[pool[t + 4]!]! +
    HEX[pool[t + 5]!]!
  );
}
