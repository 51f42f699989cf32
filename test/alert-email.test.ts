// The email alert channel against a real SMTP server (aiosmtpd, test/frameworks/smtp_server.py, installed with the
// Python frameworks by scripts/ensure-frameworks.mjs): STARTTLS required and implicit TLS, each with AUTH and a
// certificate made for the test; a wrong password is a failed result whose message never holds the password.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { freePort, startTestRelay, waitFor } from './helpers.ts';
import { frameworkPython } from './python-bot.ts';

const USER = 'relay';
const PASSWORD = 'smtp-pass-0123';

interface SmtpServer {
  port: number;
  messages: Record<string, any>[];
  stop(): Promise<void>;
}

/** aiosmtpd on a free port of 127.0.0.1; resolves once it listens. */
async function smtpServer(mode: 'starttls' | 'tls', cert: string, key: string): Promise<SmtpServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(frameworkPython(), ['test/frameworks/smtp_server.py', String(port), mode, cert, key, USER, PASSWORD], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  let output = '';
  child.stdout!.on('data', (data: Buffer) => {
    output += data;
    for (const line of data.toString().split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line));
  });
  child.stderr!.on('data', (data: Buffer) => (output += data));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => lines.some((l) => l.what === 'listening') || child.exitCode !== null, `the SMTP server (${mode})`, 15_000).catch(
    (err) => {
      throw new Error(`${(err as Error).message}; its output:\n${output}`);
    },
  );
  return {
    port,
    get messages() {
      return lines.filter((l) => l.what === 'message');
    },
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('email alerts', { timeout: 60_000 }, () => {
  let dir: string;
  before(() => {
    frameworkPython(); // without the environment, every test fails here with why
    dir = mkdtempSync(join(tmpdir(), 'onebot-relay-smtp-'));
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1'],
        ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      ],
      { stdio: 'ignore' },
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const security of ['starttls', 'tls'] as const) {
    it(`sends over ${security === 'tls' ? 'implicit TLS' : 'STARTTLS'} with AUTH: the alert's title as subject, its text as body`, async () => {
      const server = await smtpServer(security, join(dir, 'cert.pem'), join(dir, 'key.pem'));
      const fake = await FakeImplementation.start();
      const mail = {
        type: 'email' as const,
        host: '127.0.0.1',
        port: server.port,
        security,
        from: 'bot@example.com',
        to: ['ops@example.com', 'me@example.com'],
        ca: join(dir, 'cert.pem'),
      };
      const relay = await startTestRelay(fake.url, {
        alerts: [
          { ...mail, name: 'mail', user: USER, pass: PASSWORD, events: ['test'] },
          { ...mail, name: 'wrong password', user: USER, pass: 'not-the-password', events: ['test'] },
        ],
      });
      try {
        const response = await fetch(`${relay.adminUrl}/alerts/test`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        const { results } = (await response.json()) as { results: { channel: string; ok: boolean; error?: string }[] };
        assert.deepEqual(
          results.map(({ channel, ok }) => [channel, ok]),
          [
            ['mail', true],
            ['wrong password', false],
          ],
        );
        assert.equal(results[1]!.error, 'Invalid login: 535 5.7.8 Authentication credentials invalid');
        const [message] = server.messages;
        assert.equal(server.messages.length, 1);
        assert.equal(message!.mail_from, 'bot@example.com');
        assert.deepEqual(message!.rcpt_tos, ['ops@example.com', 'me@example.com']);
        assert.equal(message!.login, USER);
        assert.equal(message!.tls, true, 'the session was encrypted');
        const data = message!.data as string;
        const [head, body] = [data.slice(0, data.indexOf('\r\n\r\n')), data.slice(data.indexOf('\r\n\r\n') + 4)];
        assert.match(head!, new RegExp(`^Subject: \\[onebot-relay\\] ${hostname()}: test alert$`, 'm'));
        assert.match(head!, /^From: bot@example\.com$/m);
        assert.match(head!, /^To: ops@example\.com, me@example\.com$/m);
        assert.match(body!, /^This is a test alert from onebot-relay: this channel works\./);
        assert.match(body!, /^event: test$/m);
        const shown = [relay.logs.join('\n'), JSON.stringify(relay.relay.status())].join('\n');
        assert.ok(!shown.includes(PASSWORD) && !shown.includes('not-the-password'), 'no password shown');
      } finally {
        await relay.stop();
        await fake.stop();
        await server.stop();
      }
    });
  }
});
