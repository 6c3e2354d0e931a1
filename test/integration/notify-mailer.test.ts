/**
 * E-mail through a real SMTP server on loopback (smtp-server), read back with mailparser:
 * the mailer and the sendFramesEmail activity (run in MockActivityEnvironment so Context works).
 * Also the faults: a closed port and a server that never greets fail fast with retryable errors;
 * a refused recipient is a non-retryable EMAIL_REJECTED; a deferred one is retried.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { createNotifyActivities, type SendFramesEmailInput } from '../../activities/notify/send-email.ts';
import type { SmtpConfig } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { createMailer, GREETING_TIMEOUT_MS, type Mailer } from '../../lib/notify/mailer.ts';
import { closedPort, startSilentServer, startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const FROM = 'Moviola <no-reply@moviola.test>';
const JOB = '7d1c8f0e-3b9a-4e52-8a43-1c2b3d4e5f60';

function smtpConfig(port: number, over: Partial<SmtpConfig> = {}): SmtpConfig {
  return { host: '127.0.0.1', port, secure: false, user: '', password: '', from: FROM, ...over };
}

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const doneInput = (over: Partial<SendFramesEmailInput> = {}): SendFramesEmailInput => ({
  kind: 'done',
  to: 'ana@example.com',
  name: 'Ana',
  filename: '<script>.mp4',
  jobId: JOB,
  frameCount: 12,
  expiresAt: '2026-12-01T10:30:00.000Z',
  appUrl: 'http://127.0.0.1:3000',
  ...over,
});

/** Runs the activity the way a worker would, with a Temporal activity Context. */
function runActivity(mailer: Mailer, logger: Logger, input: SendFramesEmailInput, attempt = 1): Promise<{ messageId: string }> {
  const env = new MockActivityEnvironment({ attempt });
  const { sendFramesEmail } = createNotifyActivities({ mailer, logger });
  return env.run(sendFramesEmail, input);
}

describe('notify over a real loopback SMTP server', () => {
  let smtp: TestSmtpServer;
  let mailer: Mailer;
  let log: ReturnType<typeof capturingLogger>;

  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp?.stop();
  });
  beforeEach(() => {
    smtp.messages.length = 0;
    smtp.rcptAttempts.length = 0;
    smtp.rejectRecipients.clear();
    smtp.deferRecipients.clear();
    log = capturingLogger();
    mailer?.close();
    mailer = createMailer(smtpConfig(smtp.port), log.logger);
  });

  it('mailer.send delivers the message; the receiver reads subject, to, from, text, html and the deterministic Message-ID', async () => {
    const sent = await mailer.send({
      to: 'bob@example.com',
      subject: 'Hello from Moviola',
      text: `job ${JOB} is done`,
      html: '<p>done</p>',
      idempotencyKey: `frames-${JOB}-done`,
    });
    assert.equal(sent.messageId, `<frames-${JOB}-done@moviola>`);

    const m = await smtp.waitForMessage((x) => x.subject === 'Hello from Moviola', 5_000);
    assert.equal(m.messageId, `<frames-${JOB}-done@moviola>`);
    assert.deepEqual(m.from?.value.map((a) => [a.name, a.address]), [['Moviola', 'no-reply@moviola.test']]);
    assert.deepEqual(Array.isArray(m.to) ? m.to.map((a) => a.text) : [m.to?.text], ['bob@example.com']);
    assert.ok(m.text?.includes(JOB), m.text);
    assert.equal(m.html, '<p>done</p>');
    assert.deepEqual(m.envelope, { mailFrom: 'no-reply@moviola.test', rcptTo: ['bob@example.com'] });
    assert.equal(m.authUser, undefined, 'no AUTH without a configured user');
    assert.ok(log.lines.some((l) => l.msg === 'e-mail accepted by the SMTP server' && l.messageId === sent.messageId));
  });

  it('a retried send carries the same Message-ID (SMTP cannot dedupe; the receiver can recognise the repeat)', async () => {
    const msg = { to: 'bob@example.com', subject: 'twice', text: 'same', idempotencyKey: 'frames-x-done' };
    await mailer.send(msg);
    await mailer.send(msg);
    const both = smtp.messages.filter((m) => m.subject === 'twice');
    assert.equal(both.length, 2, 'SMTP delivers both');
    assert.equal(both[0].messageId, '<frames-x-done@moviola>');
    assert.equal(both[1].messageId, both[0].messageId);
    // a different key is a different message
    await mailer.send({ ...msg, idempotencyKey: 'frames-x-failed' });
    assert.equal(smtp.messages.at(-1)?.messageId, '<frames-x-failed@moviola>');
  });

  it('authenticates only when a user is configured', async () => {
    const withAuth = createMailer(smtpConfig(smtp.port, { user: 'moviola', password: 's3cret' }), log.logger);
    try {
      await withAuth.verify();
      await withAuth.send({ to: 'bob@example.com', subject: 'auth', text: 't', idempotencyKey: 'auth-1' });
    } finally {
      withAuth.close();
    }
    assert.equal((await smtp.waitForMessage((m) => m.subject === 'auth')).authUser, 'moviola');
    await mailer.verify();
  });

  it('sendFramesEmail (done): the user gets the ready e-mail with the download path and key frames-<jobId>-done', async () => {
    const sent = await runActivity(mailer, log.logger, doneInput());
    assert.equal(sent.messageId, `<frames-${JOB}-done@moviola>`);
    const m = await smtp.waitForMessage((x) => x.messageId === sent.messageId);
    assert.equal(m.subject, 'Your frames are ready: <script>.mp4');
    assert.deepEqual(m.envelope.rcptTo, ['ana@example.com']);
    assert.ok(m.text?.includes(`GET http://127.0.0.1:3000/api/v1/jobs/${JOB}/download`), m.text);
    assert.ok(m.text?.includes('12 frames'));
    assert.ok(m.text?.includes('2026-12-01 10:30 UTC'));
    assert.ok(typeof m.html === 'string' && m.html.includes('&lt;script&gt;.mp4') && !m.html.includes('<script>'), String(m.html));
    const ok = log.lines.find((l) => l.msg === 'frames e-mail sent');
    assert.equal(ok?.jobId, JOB);
  });

  it('sendFramesEmail (failed): reason and the retry endpoint', async () => {
    const sent = await runActivity(
      mailer,
      log.logger,
      { kind: 'failed', to: 'ana@example.com', name: 'Ana', filename: 'broken.mp4', jobId: JOB, errorCode: 'INVALID_MEDIA', errorMessage: 'moov atom not found', appUrl: 'http://127.0.0.1:3000' },
    );
    assert.equal(sent.messageId, `<frames-${JOB}-failed@moviola>`);
    const m = await smtp.waitForMessage((x) => x.messageId === sent.messageId);
    assert.equal(m.subject, 'Frame extraction failed: broken.mp4');
    assert.ok(m.text?.includes('Reason (INVALID_MEDIA)'));
    assert.ok(m.text?.includes('moov atom not found'));
    assert.ok(m.text?.includes(`POST http://127.0.0.1:3000/api/v1/jobs/${JOB}/retry`), m.text);
  });

  it('a recipient refused with 550 → non-retryable EMAIL_REJECTED, nothing delivered, failure logged', async () => {
    smtp.rejectRecipients.add('gone@example.com');
    await assert.rejects(runActivity(mailer, log.logger, doneInput({ to: 'gone@example.com' })), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'EMAIL_REJECTED');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /550/);
      return true;
    });
    assert.deepEqual(smtp.rcptAttempts, ['gone@example.com'], 'the server was asked');
    assert.equal(smtp.messages.length, 0);
    assert.ok(log.lines.some((l) => l.level === 50 && l.msg === 'frames e-mail rejected for good; not retrying' && l.jobId === JOB));
  });

  it('a recipient deferred with 450 → the error is thrown as-is (retryable), not an ApplicationFailure', async () => {
    smtp.deferRecipients.add('busy@example.com');
    await assert.rejects(runActivity(mailer, log.logger, doneInput({ to: 'busy@example.com' }), 2), (err: unknown) => {
      assert.ok(!(err instanceof ApplicationFailure), 'retryable: a plain error');
      assert.equal((err as { responseCode?: number }).responseCode, 450);
      return true;
    });
    const warn = log.lines.find((l) => l.msg === 'frames e-mail failed; Temporal retries it');
    assert.equal(warn?.attempt, 2);
    // once the mailbox frees up, the same activity succeeds
    smtp.deferRecipients.clear();
    await runActivity(mailer, log.logger, doneInput({ to: 'busy@example.com' }), 3);
    assert.equal(smtp.messages.length, 1);
  });

  it('bad input (done without frameCount, unparsable date) → non-retryable EMAIL_INPUT_INVALID, nothing sent', async () => {
    for (const input of [doneInput({ frameCount: undefined }), doneInput({ expiresAt: 'tomorrow' }), doneInput({ jobId: 'a b' })]) {
      await assert.rejects(runActivity(mailer, log.logger, input), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, 'EMAIL_INPUT_INVALID');
        assert.equal(err.nonRetryable, true);
        return true;
      });
    }
    assert.equal(smtp.rcptAttempts.length, 0);
  });
});

describe('notify with the SMTP server down', () => {
  it('a closed port: send rejects within a few seconds with a connection error (retryable), and it is logged', async () => {
    const port = await closedPort();
    const { logger, lines } = capturingLogger();
    const mailer = createMailer(smtpConfig(port), logger);
    try {
      const started = Date.now();
      await assert.rejects(mailer.send({ to: 'a@example.com', subject: 's', text: 't', idempotencyKey: 'down-1' }), (err: unknown) => {
        const e = err as { code?: string; originalCode?: string };
        assert.ok(!(err instanceof ApplicationFailure));
        assert.equal(e.code, 'ESOCKET');
        assert.equal(e.originalCode, 'ECONNREFUSED');
        return true;
      });
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.ok(lines.some((l) => l.msg === 'e-mail not sent' && l.code === 'ESOCKET'));

      // through the activity: the same error, not an ApplicationFailure, so Temporal retries it
      await assert.rejects(runActivity(mailer, logger, doneInput()), (err: unknown) => {
        assert.ok(!(err instanceof ApplicationFailure), String(err));
        assert.equal((err as { code?: string }).code, 'ESOCKET');
        return true;
      });
      await assert.rejects(mailer.verify(), { code: 'ESOCKET' });
    } finally {
      mailer.close();
    }
  });

  it('a server that accepts but never greets: send rejects with ETIMEDOUT after the greeting timeout, not minutes', async () => {
    const silent = await startSilentServer();
    const mailer = createMailer(smtpConfig(silent.port), capturingLogger().logger);
    try {
      const started = Date.now();
      await assert.rejects(mailer.send({ to: 'a@example.com', subject: 's', text: 't', idempotencyKey: 'silent-1' }), (err: unknown) => {
        assert.ok(!(err instanceof ApplicationFailure));
        assert.equal((err as { code?: string }).code, 'ETIMEDOUT');
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took >= GREETING_TIMEOUT_MS - 500 && took < GREETING_TIMEOUT_MS + 2_500, `took ${took} ms`);
    } finally {
      mailer.close();
      await silent.stop();
    }
  });
});
