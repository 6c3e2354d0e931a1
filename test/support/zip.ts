/**
 * A strict ZIP reader for tests: walks the central directory, checks every local header, name and
 * CRC-32, and returns the entries (their bytes as stored: Moviola writes STORED entries only).
 */
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';

export interface ReadEntry {
  name: string;
  data: Buffer;
  method: number;
}

export function readZip(zip: Buffer): { entries: ReadEntry[]; zip64: boolean } {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'end of central directory');
  let count = zip.readUInt16LE(eocd + 10);
  let cdSize = zip.readUInt32LE(eocd + 12);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  const zip64 = count === 0xffff || cdOffset === 0xffffffff;
  if (zip64) {
    const locator = eocd - 20;
    assert.equal(zip.readUInt32LE(locator), 0x07064b50);
    const record = Number(zip.readBigUInt64LE(locator + 8));
    assert.equal(zip.readUInt32LE(record), 0x06064b50);
    count = Number(zip.readBigUInt64LE(record + 32));
    cdSize = Number(zip.readBigUInt64LE(record + 40));
    cdOffset = Number(zip.readBigUInt64LE(record + 48));
    assert.equal(record, cdOffset + cdSize);
  } else {
    assert.equal(eocd, cdOffset + cdSize);
  }
  const entries: ReadEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(p), 0x02014b50);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    let offset = zip.readUInt32LE(p + 42);
    const name = zip.toString('ascii', p + 46, p + 46 + nameLen);
    if (offset === 0xffffffff) {
      const extra = p + 46 + nameLen;
      assert.equal(zip.readUInt16LE(extra), 0x0001);
      offset = Number(zip.readBigUInt64LE(extra + 4));
    }
    assert.equal(zip.readUInt32LE(offset), 0x04034b50, `local header of ${name}`);
    assert.equal(zip.readUInt32LE(offset + 14), crc);
    const localName = zip.toString('ascii', offset + 30, offset + 30 + zip.readUInt16LE(offset + 26));
    assert.equal(localName, name);
    const start = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
    const data = zip.subarray(start, start + size);
    assert.equal(crc32(data), crc, `CRC of ${name}`);
    entries.push({ name, data, method });
    p += 46 + nameLen + extraLen + commentLen;
  }
  assert.equal(p, cdOffset + cdSize);
  return { entries, zip64 };
}
