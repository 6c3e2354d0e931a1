/**
 * sendFramesEmail: the DONE / FAILED e-mail of a frames job, as a Temporal activity.
 *
 * Errors: connection failures, timeouts and 4xx replies are thrown unchanged, so Temporal retries
 * them under the caller's retry policy; a recipient the server refuses for good (5xx on RCPT TO)
 * becomes a non-retryable ApplicationFailure of type EMAIL_REJECTED. Either way the workflow
 * decides what a failed notification means; it must never fail the job itself.
 *
 * The idempotency key `frames-<jobId>-<kind>` fixes the Message-ID, so every attempt (and a retry
 * of the job that ends the same way) sends the same message as far as the receiver can tell.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from '../../lib/logger.ts';
import { framesDoneEmail, framesFailedEmail } from '../../lib/notify/frames-emails.ts';
import { isPermanentRecipientRejection, messageIdFor, type Mailer } from '../../lib/notify/mailer.ts';

export const EMAIL_REJECTED = 'EMAIL_REJECTED';
export const EMAIL_INPUT_INVALID = 'EMAIL_INPUT_INVALID';

export interface NotifyDeps {
  mailer: Mailer;
  logger: Logger;
}

export interface SendFramesEmailInput {
  kind: 'done' | 'failed';
  to: string;
  name: string;
  filename: string;
  jobId: string;
  /** Required for kind 'done'. */
  frameCount?: number;
  /** Required for kind 'done' (ISO-8601). */
  expiresAt?: string;
  /** Required for kind 'failed'. */
  errorCode?: string;
  errorMessage?: string;
  appUrl: string;
}

export function framesEmailIdempotencyKey(jobId: string, kind: 'done' | 'failed'): string {
  return `frames-${jobId}-${kind}`;
}

export function createNotifyActivities(deps: NotifyDeps) {
  return {
    async sendFramesEmail(input: SendFramesEmailInput): Promise<{ messageId: string }> {
      const ctx = Context.current();
      const { attempt } = ctx.info;
      const workflowId = ctx.info.workflowExecution?.workflowId;
      const log = deps.logger.child({ activity: 'sendFramesEmail', workflowId, jobId: input.jobId, kind: input.kind, attempt });

      // A bad input (no frame count, unparsable date, a job id unfit for a Message-ID) fails the
      // same way on every attempt: say so once instead of retrying it.
      let email: ReturnType<typeof buildEmail>;
      const idempotencyKey = framesEmailIdempotencyKey(input.jobId, input.kind);
      try {
        email = buildEmail(input);
        messageIdFor(idempotencyKey);
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        throw ApplicationFailure.nonRetryable((err as Error).message, EMAIL_INPUT_INVALID);
      }
      try {
        const sent = await deps.mailer.send({ ...email, idempotencyKey }, { signal: ctx.cancellationSignal });
        log.info({ messageId: sent.messageId }, 'frames e-mail sent');
        return sent;
      } catch (err) {
        if (isPermanentRecipientRejection(err)) {
          log.error({ err: (err as Error).message }, 'frames e-mail rejected for good; not retrying');
          throw ApplicationFailure.nonRetryable(`The mail server refused the recipient: ${(err as Error).message}`, EMAIL_REJECTED);
        }
        log.warn({ err: (err as Error).message, code: (err as NodeJS.ErrnoException).code }, 'frames e-mail failed; Temporal retries it');
        throw err;
      }
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;

function buildEmail(input: SendFramesEmailInput) {
  if (input.kind === 'done') {
    if (typeof input.frameCount !== 'number' || !input.expiresAt) {
      throw ApplicationFailure.nonRetryable('A done e-mail needs frameCount and expiresAt', EMAIL_INPUT_INVALID);
    }
    return framesDoneEmail({
      to: input.to,
      name: input.name,
      filename: input.filename,
      jobId: input.jobId,
      frameCount: input.frameCount,
      expiresAt: input.expiresAt,
      appUrl: input.appUrl,
    });
  }
  if (input.kind === 'failed') {
    if (!input.errorCode) throw ApplicationFailure.nonRetryable('A failed e-mail needs errorCode', EMAIL_INPUT_INVALID);
    return framesFailedEmail({
      to: input.to,
      name: input.name,
      filename: input.filename,
      jobId: input.jobId,
      errorCode: input.errorCode,
      errorMessage: input.errorMessage ?? '',
      appUrl: input.appUrl,
    });
  }
  throw ApplicationFailure.nonRetryable(`Unknown e-mail kind ${JSON.stringify((input as { kind: unknown }).kind)}`, EMAIL_INPUT_INVALID);
}
