/**
 * Development mail catcher for `npm start` when no SMTP_HOST is given: a real SMTP server on
 * loopback that accepts every message, writes it to `.data/mail/<time>-<n>.eml` and prints one
 * line per message (the job e-mails of a local stack end up here instead of failing).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface MailCatcher {
  port: number;
  stop(): Promise<void>;
}

export async function startMailCatcher(options: { port: number; dir: string; log: (line: string) => void }): Promise<MailCatcher> {
  mkdirSync(options.dir, { recursive: true });
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        count += 1;
        const file = path.join(options.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${count}.eml`);
        writeFileSync(file, raw);
        const subject = /^Subject: (.*)$/im.exec(raw.toString('utf8'))?.[1] ?? '(no subject)';
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        options.log(`[mail] to ${to}: ${subject} (${path.relative(process.cwd(), file)})`);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return { port: options.port, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
