/** Mailer helpers without a server: the deterministic Message-ID and which SMTP errors are final. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPermanentRecipientRejection, messageIdFor } from '../../lib/notify/mailer.ts';

function smtpError(props: Record<string, unknown>): Error {
  return Object.assign(new Error(String(props.message ?? 'smtp error')), props);
}

describe('messageIdFor', () => {
  it('is the same for the same key and differs between keys', () => {
    assert.equal(messageIdFor('frames-123-done'), '<frames-123-done@moviola>');
    assert.equal(messageIdFor('frames-123-done'), messageIdFor('frames-123-done'));
    assert.notEqual(messageIdFor('frames-123-done'), messageIdFor('frames-123-failed'));
  });

  it('refuses keys that cannot be a Message-ID local part', () => {
    for (const bad of ['', 'a b', 'a@b', '<x>', 'a\r\nBcc: x', 'x'.repeat(201)]) {
      assert.throws(() => messageIdFor(bad), TypeError, JSON.stringify(bad));
    }
  });
});

describe('isPermanentRecipientRejection', () => {
  it('5xx on RCPT TO is final', () => {
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, permanent: true })), true);
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 553 })), true);
  });

  it('4xx and 503 on RCPT TO are not', () => {
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450, permanent: false })), false);
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 503 })), false);
  });

  it('a missing or invalid recipient address is final, an invalid sender is not (that is configuration)', () => {
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'API', message: 'No recipients defined' })), true);
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'API', message: 'Invalid sender "x"' })), false);
  });

  it('connection, timeout, auth and MAIL FROM errors are not', () => {
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ECONNREFUSED' })), false);
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'ETIMEDOUT', command: 'CONN' })), false);
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, permanent: true })), false);
    assert.equal(isPermanentRecipientRejection(smtpError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 550, permanent: true })), false);
    assert.equal(isPermanentRecipientRejection('550'), false);
    assert.equal(isPermanentRecipientRejection(undefined), false);
  });
});
