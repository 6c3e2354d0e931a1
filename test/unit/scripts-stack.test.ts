/** Pure helpers of the `npm start` / `npm test` scripts (scripts/stack/). */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { parseFfmpegMajor } from '../../scripts/stack/ffmpeg.ts';
import { canBind, findFreePort } from '../../scripts/stack/ports.ts';
import { databaseOf, parseTestDatabaseName, quoteIdent, testDatabaseName, withDatabase } from '../../scripts/stack/postgres.ts';
import { weedArgs, weedS3Config, storagePlan } from '../../scripts/stack/storage.ts';
import { temporalDevArgs } from '../../scripts/stack/temporal.ts';
import { selectTestFiles, splitTestArgs } from '../../scripts/stack/test-files.ts';

describe('parseFfmpegMajor', () => {
  it('reads Debian, n-prefixed and plain versions', () => {
    assert.equal(parseFfmpegMajor('ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024'), 5);
    assert.equal(parseFfmpegMajor('ffprobe version n6.1 Copyright'), 6);
    assert.equal(parseFfmpegMajor('ffmpeg version 4.4.2-0ubuntu0.22.04.1'), 4);
  });
  it('gives undefined for git builds and garbage', () => {
    assert.equal(parseFfmpegMajor('ffmpeg version N-112233-gabcdef Copyright'), undefined);
    assert.equal(parseFfmpegMajor('command not found'), undefined);
  });
});

describe('findFreePort', () => {
  it('skips ports that cannot be bound and never hands out a port twice', async () => {
    const busy = new Set([40001, 40002]);
    const range = { min: 40001, max: 40004 };
    const bindable = async (port: number) => !busy.has(port);
    const first = await findFreePort(range, bindable);
    const second = await findFreePort(range, bindable);
    assert.deepEqual([first, second].sort(), [40003, 40004]);
    await assert.rejects(findFreePort(range, bindable), /no free TCP port/);
  });
  it('returns a port that is really free', async () => {
    const port = await findFreePort();
    assert.equal(await canBind(port), true);
    const server = net.createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      assert.equal(await canBind(port), false);
    } finally {
      server.close();
    }
  });
});

describe('database URLs', () => {
  it('swaps the database and keeps credentials and host', () => {
    const url = withDatabase('postgres://u:p%40ss@db.example:6543/moviola?sslmode=require', 'moviola_test_1_2');
    assert.equal(url, 'postgres://u:p%40ss@db.example:6543/moviola_test_1_2?sslmode=require');
    assert.equal(databaseOf(url), 'moviola_test_1_2');
    assert.equal(databaseOf('postgres://postgres@127.0.0.1:5432'), 'postgres');
  });
  it('names test databases after time and pid, and parses them back', () => {
    const name = testDatabaseName(4242, new Date('2026-01-02T03:04:05Z'));
    assert.equal(name, 'moviola_test_1767323045_4242');
    assert.deepEqual(parseTestDatabaseName(name), { createdAt: new Date('2026-01-02T03:04:05Z'), pid: 4242 });
    assert.equal(parseTestDatabaseName('moviola'), undefined);
  });
  it('quotes identifiers', () => {
    assert.equal(quoteIdent('a"b'), '"a""b"');
  });
});

describe('SeaweedFS', () => {
  it('builds an S3 identity with the configured keys and admin rights', () => {
    const config = weedS3Config({ accessKey: 'AK', secretKey: 'SK' }) as {
      identities: { credentials: { accessKey: string; secretKey: string }[]; actions: string[] }[];
    };
    assert.equal(config.identities.length, 1);
    assert.deepEqual(config.identities[0].credentials, [{ accessKey: 'AK', secretKey: 'SK' }]);
    assert.ok(config.identities[0].actions.includes('Admin'));
  });
  it('passes every port explicitly and binds to loopback', () => {
    const ports = { master: 1, masterGrpc: 2, volume: 3, volumeGrpc: 4, filer: 5, filerGrpc: 6, s3: 7, s3Grpc: 8 };
    const args = weedArgs('/d', ports, '/c/s3.json');
    for (const flag of ['-master.port=1', '-master.port.grpc=2', '-volume.port=3', '-volume.port.grpc=4',
      '-filer.port=5', '-filer.port.grpc=6', '-s3.port=7', '-s3.port.grpc=8', '-ip.bind=127.0.0.1',
      '-dir=/d', '-s3.config=/c/s3.json', '-s3.port.iceberg=0', '-s3.port.lance=0']) {
      assert.ok(args.includes(flag), `missing ${flag}`);
    }
  });
  it('prefers S3_ENDPOINT, then minio on PATH, then weed', () => {
    assert.deepEqual(storagePlan({ S3_ENDPOINT: 'http://s3:9000', PATH: '' }), { kind: 'external', endpoint: 'http://s3:9000' });
    assert.deepEqual(storagePlan({ PATH: '/nonexistent' }), { kind: 'weed' });
  });
});

describe('temporalDevArgs', () => {
  it('persists and serves the UI for npm start', () => {
    const args = temporalDevArgs({ port: 7233, uiPort: 8233, dbFile: '.data/temporal/dev.sqlite' });
    assert.deepEqual(args.slice(0, 6), ['server', 'start-dev', '--ip', '127.0.0.1', '--port', '7233']);
    assert.ok(args.join(' ').includes('--ui-port 8233'));
    assert.ok(args.join(' ').includes('--db-filename .data/temporal/dev.sqlite'));
    assert.ok(args.join(' ').includes('--search-attribute TenantId=Keyword'));
    assert.ok(args.join(' ').includes('--search-attribute StageSince=Datetime'));
  });
  it('runs headless and in memory for npm test', () => {
    const args = temporalDevArgs({ port: 20001 });
    assert.ok(args.includes('--headless'));
    assert.ok(!args.includes('--db-filename'));
    assert.ok(!args.includes('--ui-port'));
  });
});

describe('test file selection', () => {
  const all = ['test/e2e/a.test.ts', 'test/unit/b.test.ts', 'test/unit/c.test.ts', 'test/unitx/d.test.ts'];
  it('runs everything without filters', () => {
    assert.deepEqual(selectTestFiles(all, [], '/r'), all);
  });
  it('selects by directory (not by name prefix) and by file, relative to the invoking directory', () => {
    assert.deepEqual(selectTestFiles(all, ['test/unit/'], '/r'), ['test/unit/b.test.ts', 'test/unit/c.test.ts']);
    assert.deepEqual(selectTestFiles(all, ['b.test.ts', '../e2e'], '/r', '/r/test/unit'), ['test/e2e/a.test.ts', 'test/unit/b.test.ts']);
  });
  it('rejects a filter that matches nothing', () => {
    assert.throws(() => selectTestFiles(all, ['test/nope'], '/r'), /no test files match test\/nope/);
  });
  it('separates node --test options from paths', () => {
    assert.deepEqual(splitTestArgs(['test/unit', '--test-name-pattern=x', '--', 'test/e2e']), {
      filters: ['test/unit', 'test/e2e'],
      nodeOptions: ['--test-name-pattern=x'],
    });
  });
});
