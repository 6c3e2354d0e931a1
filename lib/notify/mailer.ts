/**
 * Outgoing e-mail over SMTP (nodemailer), one short-lived connection per message.
 *
 * Timeouts are short on purpose: a notification must never hold an activity slot for minutes.
 * A closed port fails at once (ECONNREFUSED), an unreachable host after CONNECTION_TIMEOUT_MS, a
 * server that accepts but never greets after GREETING_TIMEOUT_MS. Those errors are transient and
 * are thrown unchanged so the caller (a Temporal activity) retries them.
 *
 * Idempotency: SMTP has no way to deduplicate, so a send that times out after the server took the
 * message and is then retried can deliver twice. To make such a duplicate recognisable, the
 * Message-ID is derived from the caller's idempotency key (`<key@moviola>`): the same logical
 * e-mail always carries the same Message-ID, and mail clients and many MTAs collapse repeats.
 */
import nodemailer from 'nodemailer';
import type { NodemailerError, SMTPTransportOptions } from 'nodemailer';
import type { SmtpConfig } from '../config.ts';
import type { Logger } from '../logger.ts';

export const CONNECTION_TIMEOUT_MS = 5_000;
export const GREETING_TIMEOUT_MS = 5_000;
export const SOCKET_TIMEOUT_MS = 15_000;
export const DNS_TIMEOUT_MS = 5_000;

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Same key ⇒ same Message-ID. Letters, digits, `.`, `_`, `-` only (it becomes a Message-ID local part). */
  idempotencyKey: string;
}

export interface SendOptions {
  /** Aborts a send that has not been handed to the server yet (e.g. the activity's cancellationSignal). */
  signal?: AbortSignal;
}

export interface Mailer {
  send(message: OutgoingEmail, options?: SendOptions): Promise<{ messageId: string }>;
  /** Connects and (when configured) authenticates, then disconnects; throws what send would throw. */
  verify(): Promise<void>;
  close(): void;
}

const KEY_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

/** `<key@moviola>`: deterministic, so a retried send is the same message to the receiver. */
export function messageIdFor(idempotencyKey: string): string {
  if (!KEY_PATTERN.test(idempotencyKey)) {
    throw new TypeError(`idempotencyKey must match ${KEY_PATTERN}: ${JSON.stringify(idempotencyKey)}`);
  }
  return `<${idempotencyKey}@moviola>`;
}

export function createMailer(config: SmtpConfig, logger: Logger): Mailer {
  const options: SMTPTransportOptions = {
    host: config.host,
    port: config.port,
    secure: config.secure,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    dnsTimeout: DNS_TIMEOUT_MS,
    ...(config.user ? { auth: { user: config.user, pass: config.password } } : {}),
  };
  const transport = nodemailer.createTransport(options);
  const log = logger.child({ component: 'mailer' });

  return {
    async send(message, sendOptions = {}) {
      const messageId = messageIdFor(message.idempotencyKey);
      const started = Date.now();
      try {
        const info = await transport.sendMail({
          from: config.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
          messageId,
          ...(sendOptions.signal ? { signal: sendOptions.signal } : {}),
        });
        log.info({ messageId: info.messageId, ms: Date.now() - started }, 'e-mail accepted by the SMTP server');
        return { messageId: info.messageId };
      } catch (err) {
        const e = err as NodemailerError;
        log.warn(
          { messageId, ms: Date.now() - started, code: e.code, command: e.command, responseCode: e.responseCode, err: e.message },
          'e-mail not sent',
        );
        throw err;
      }
    },
    async verify() {
      await transport.verify();
    },
    close() {
      transport.close();
    },
  };
}

/**
 * True when the server refused every recipient for good (5xx, not 503, on RCPT TO), or nodemailer
 * refused the address itself before connecting: retrying the same message cannot succeed.
 * A 4xx (mailbox busy, greylisting) is not permanent.
 */
export function isPermanentRecipientRejection(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as NodemailerError;
  if (e.code !== 'EENVELOPE') return false;
  if (e.command === 'API') return /recipient/i.test(e.message); // no or unparsable recipient address (not a bad sender)
  if (e.command !== 'RCPT TO') return false;
  if (typeof e.permanent === 'boolean') return e.permanent;
  return typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode !== 503;
}
