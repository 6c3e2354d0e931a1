/**
 * A real SMTP server on loopback (smtp-server) that keeps every message it accepts, parsed by
 * mailparser, for tests to read back. No TLS (STARTTLS disabled), AUTH optional (any credentials
 * are accepted, and recorded). Recipients can be refused for good (550) or deferred (450).
 */
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMessage extends ParsedMail {
  envelope: { mailFrom: string; rcptTo: string[] };
  /** The user an AUTH command logged in as, if any. */
  authUser: string | undefined;
  raw: string;
}

export interface TestSmtpServer {
  host: '127.0.0.1';
  port: number;
  messages: ReceivedMessage[];
  /** Lower-cased addresses answered with `550 5.1.1` on RCPT TO. Mutable. */
  rejectRecipients: Set<string>;
  /** Lower-cased addresses answered with `450 4.2.1` on RCPT TO. Mutable. */
  deferRecipients: Set<string>;
  /** Every RCPT TO attempt seen, accepted or not (lower-cased). */
  rcptAttempts: string[];
  waitForMessage(predicate?: (m: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  stop(): Promise<void>;
}

export async function startSmtpServer(options: { rejectRecipients?: Iterable<string>; deferRecipients?: Iterable<string> } = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const rcptAttempts: string[] = [];
  const rejectRecipients = new Set([...(options.rejectRecipients ?? [])].map((a) => a.toLowerCase()));
  const deferRecipients = new Set([...(options.deferRecipients ?? [])].map((a) => a.toLowerCase()));
  const arrivals = new EventEmitter();

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? '' });
    },
    onRcptTo(address, _session, callback) {
      const addr = address.address.toLowerCase();
      rcptAttempts.push(addr);
      if (rejectRecipients.has(addr)) {
        callback(Object.assign(new Error(`5.1.1 <${addr}>: mailbox does not exist`), { responseCode: 550 }));
      } else if (deferRecipients.has(addr)) {
        callback(Object.assign(new Error(`4.2.1 <${addr}>: mailbox busy, try again later`), { responseCode: 450 }));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed: ParsedMail) => {
            const envelope = session.envelope;
            const message: ReceivedMessage = Object.assign(parsed, {
              envelope: {
                mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
                rcptTo: envelope.rcptTo.map((r) => r.address),
              },
              authUser: typeof session.user === 'string' ? session.user : undefined,
              raw,
            });
            messages.push(message);
            arrivals.emit('message', message);
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  server.on('error', () => {}); // a client dropping mid-session is not a test failure

  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as net.AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    messages,
    rejectRecipients,
    deferRecipients,
    rcptAttempts,
    waitForMessage(predicate = () => true, timeoutMs = 5_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const onMessage = (m: ReceivedMessage) => {
          if (!predicate(m)) return;
          clearTimeout(timer);
          arrivals.off('message', onMessage);
          resolve(m);
        };
        const timer = setTimeout(() => {
          arrivals.off('message', onMessage);
          reject(new Error(`no matching e-mail within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        arrivals.on('message', onMessage);
      });
    },
    stop() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (bound, then released): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says a word: an SMTP server hung before its greeting. */
export async function startSilentServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
