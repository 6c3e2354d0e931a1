/** A small ZIP reader for tests: the entries' names and, for stored (uncompressed) entries, their bytes. */
export interface ZipEntry {
  name: string;
  method: number;
  size: number;
  data: Buffer | null;
}

export function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a ZIP: no end of central directory');
  let count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  // ZIP64: the counts live in the ZIP64 end record.
  if (count === 0xffff || offset === 0xffffffff) {
    const locator = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]), eocd);
    const record = Number(zip.readBigUInt64LE(locator + 8));
    count = Number(zip.readBigUInt64LE(record + 32));
    offset = Number(zip.readBigUInt64LE(record + 48));
  }
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const method = zip.readUInt16LE(offset + 10);
    let compressed = zip.readUInt32LE(offset + 20);
    let size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    let local = zip.readUInt32LE(offset + 42);
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8');
    // ZIP64 extra field (id 1): the 0xffffffff fields in order.
    let extra = offset + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = zip.readUInt16LE(extra);
      const len = zip.readUInt16LE(extra + 2);
      if (id === 1) {
        let p = extra + 4;
        if (size === 0xffffffff) { size = Number(zip.readBigUInt64LE(p)); p += 8; }
        if (compressed === 0xffffffff) { compressed = Number(zip.readBigUInt64LE(p)); p += 8; }
        if (local === 0xffffffff) { local = Number(zip.readBigUInt64LE(p)); }
      }
      extra += 4 + len;
    }
    const localNameLength = zip.readUInt16LE(local + 26);
    const localExtraLength = zip.readUInt16LE(local + 28);
    const start = local + 30 + localNameLength + localExtraLength;
    entries.push({ name, method, size, data: method === 0 ? zip.subarray(start, start + compressed) : null });
    offset = extraEnd + commentLength;
  }
  return entries;
}
