/**
 * Writes a ZIP archive of STORED (uncompressed) entries as a sequence of byte chunks, one entry at a
 * time, so the archive can be streamed without ever holding it whole. Each entry's bytes are known
 * when it is added (CRC-32 and sizes go in its local header: no data descriptors). ZIP64 records
 * are written only when needed (an entry starting at or past 4 GiB, more than 65 535 entries, or a
 * central directory past 4 GiB), or always with `zip64: 'always'` (for tests).
 *
 * Only the central directory (about 60 bytes per entry) is kept in memory.
 */
import { crc32 } from 'node:zlib';

const U32 = 0xffffffff;
const U16 = 0xffff;

export interface StoredZipOptions {
  /** Modification time written for every entry (DOS date/time, local time). Default: now. */
  mtime?: Date;
  zip64?: 'auto' | 'always';
}

interface CentralEntry {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
}

/** DOS date and time fields; years before 1980 are written as 1980-01-01. */
export function dosDateTime(date: Date): { time: number; date: number } {
  if (date.getFullYear() < 1980) return { time: 0, date: (1 << 5) | 1 };
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

export class StoredZipWriter {
  private readonly entries: CentralEntry[] = [];
  private readonly names = new Set<string>();
  private bytes = 0;
  private finished = false;
  private readonly dos: { time: number; date: number };
  private readonly forceZip64: boolean;

  constructor(options: StoredZipOptions = {}) {
    this.dos = dosDateTime(options.mtime ?? new Date());
    this.forceZip64 = options.zip64 === 'always';
  }

  /** Bytes produced so far. */
  get size(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.entries.length;
  }

  /**
   * Returns the chunks for one entry (local header, then `data` itself, not copied). Names are
   * ASCII paths with `/` separators; duplicates are refused.
   */
  addEntry(name: string, data: Buffer): Buffer[] {
    if (this.finished) throw new Error('the ZIP is already finished');
    if (!/^[\x21-\x7e]+$/.test(name) || name.startsWith('/') || name.split('/').includes('..')) {
      throw new Error(`invalid ZIP entry name ${JSON.stringify(name)}`);
    }
    if (this.names.has(name)) throw new Error(`duplicate ZIP entry name ${name}`);
    if (data.length >= U32) throw new Error(`ZIP entry ${name} is too large for a stored entry (${data.length} bytes)`);
    this.names.add(name);
    const nameBytes = Buffer.from(name, 'ascii');
    const crc = crc32(data);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(this.forceZip64 ? 45 : 10, 4); // version needed: 1.0 (stored), 4.5 when ZIP64
    header.writeUInt16LE(0, 6); // flags
    header.writeUInt16LE(0, 8); // method: stored
    header.writeUInt16LE(this.dos.time, 10);
    header.writeUInt16LE(this.dos.date, 12);
    header.writeUInt32LE(crc, 14);
    header.writeUInt32LE(data.length, 18); // compressed size
    header.writeUInt32LE(data.length, 22); // uncompressed size
    header.writeUInt16LE(nameBytes.length, 26);
    header.writeUInt16LE(0, 28); // extra field length
    this.entries.push({ name: nameBytes, crc, size: data.length, offset: this.bytes });
    this.bytes += header.length + nameBytes.length + data.length;
    return [header, nameBytes, data];
  }

  /** The central directory and end records; no entry can be added afterwards. */
  finish(): Buffer {
    if (this.finished) throw new Error('the ZIP is already finished');
    this.finished = true;
    const chunks: Buffer[] = [];
    const cdOffset = this.bytes;
    let cdSize = 0;
    for (const entry of this.entries) {
      const needs64 = this.forceZip64 || entry.offset >= U32;
      const extra = needs64 ? Buffer.alloc(12) : Buffer.alloc(0);
      if (needs64) {
        extra.writeUInt16LE(0x0001, 0); // ZIP64 extended information
        extra.writeUInt16LE(8, 2);
        extra.writeBigUInt64LE(BigInt(entry.offset), 4);
      }
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE((3 << 8) | 45, 4); // made by: Unix, spec 4.5
      header.writeUInt16LE(needs64 ? 45 : 10, 6);
      header.writeUInt16LE(0, 8);
      header.writeUInt16LE(0, 10);
      header.writeUInt16LE(this.dos.time, 12);
      header.writeUInt16LE(this.dos.date, 14);
      header.writeUInt32LE(entry.crc, 16);
      header.writeUInt32LE(entry.size, 20);
      header.writeUInt32LE(entry.size, 24);
      header.writeUInt16LE(entry.name.length, 28);
      header.writeUInt16LE(extra.length, 30);
      header.writeUInt16LE(0, 32); // comment length
      header.writeUInt16LE(0, 34); // disk number start
      header.writeUInt16LE(0, 36); // internal attributes
      header.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: regular file, rw-r--r--
      header.writeUInt32LE(needs64 ? U32 : entry.offset, 42);
      chunks.push(header, entry.name, extra);
      cdSize += header.length + entry.name.length + extra.length;
    }
    const count = this.entries.length;
    const zip64 = this.forceZip64 || count >= U16 || cdOffset >= U32 || cdSize >= U32 || cdOffset + cdSize >= U32;
    if (zip64) {
      const record = Buffer.alloc(56);
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4); // size of the rest of this record
      record.writeUInt16LE((3 << 8) | 45, 12);
      record.writeUInt16LE(45, 14);
      record.writeUInt32LE(0, 16); // this disk
      record.writeUInt32LE(0, 20); // disk with the central directory
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(cdSize), 40);
      record.writeBigUInt64LE(BigInt(cdOffset), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeUInt32LE(0, 4);
      locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8); // where the ZIP64 end record starts
      locator.writeUInt32LE(1, 16); // total disks
      chunks.push(record, locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0, 4);
    end.writeUInt16LE(0, 6);
    end.writeUInt16LE(zip64 ? U16 : count, 8);
    end.writeUInt16LE(zip64 ? U16 : count, 10);
    end.writeUInt32LE(zip64 ? U32 : cdSize, 12);
    end.writeUInt32LE(zip64 ? U32 : cdOffset, 16);
    end.writeUInt16LE(0, 20); // comment length
    chunks.push(end);
    const out = Buffer.concat(chunks);
    this.bytes += out.length;
    return out;
  }
}
