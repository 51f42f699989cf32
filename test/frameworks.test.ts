// Several real frameworks on one relay at once, as operators run them: NoneBot2 over forward WS, NoneBot2 over
// reverse WS and aiocqhttp over reverse WS. All three answer the same "ping" with the same echo values (each counts
// from 1), so a reply that crossed to another framework would show. Then the implementation, and then the relay,
// restart under them: each comes back by itself and answers the next ping.
import { after, before, describe, it } from 'node:test';
import { FakeImplementation } from './fake-impl.ts';
import { assertLifecycle, FRAMEWORK, pingPong, TOKEN } from './framework-kit.ts';
import { freePort, startTestRelay, type TestRelay, waitFor } from './helpers.ts';
import { frameworkPython, PythonBot } from './python-bot.ts';

describe('two NoneBot2 and one aiocqhttp on one relay', { timeout: 90_000 }, () => {
  let fake: FakeImplementation;
  let relay: TestRelay | undefined;
  const bots: PythonBot[] = [];

  before(async () => {
    frameworkPython(); // without them, fail here with why, before anything is opened
    fake = await FakeImplementation.start();
    const [wsPort, reversePort, aiocqhttpPort] = await Promise.all([freePort(), freePort(), freePort()]);
    bots.push(
      PythonBot.nonebot('nb-forward', {
        DRIVER: '~websockets',
        ONEBOT_WS_URLS: `["ws://127.0.0.1:${wsPort}/"]`,
        ONEBOT_ACCESS_TOKEN: TOKEN,
      }),
      PythonBot.nonebot('nb-reverse', { DRIVER: '~fastapi', HOST: '127.0.0.1', PORT: String(reversePort), ONEBOT_ACCESS_TOKEN: TOKEN }),
      PythonBot.aiocqhttp('aiocqhttp', aiocqhttpPort, { ACCESS_TOKEN: TOKEN }),
    );
    relay = await startTestRelay(fake.url, {
      ...FRAMEWORK,
      ws: [`127.0.0.1:${wsPort}`],
      reverse: [`ws://127.0.0.1:${reversePort}/onebot/v11/ws`, `ws://127.0.0.1:${aiocqhttpPort}/ws/`],
      token: TOKEN,
      // Three pongs to one group per ping, three pings within seconds: more than a group's default send limit.
      sendLimit: { group: 'off' },
    });
  });

  after(async () => {
    await relay?.stop();
    await Promise.all(bots.map((bot) => bot.stop()));
    await fake?.stop();
  });

  /** Each bot has had its `n`th lifecycle connect (n from 1). */
  const allConnected = (n: number) => Promise.all(bots.map((bot) => assertLifecycle(bot, fake, 'connect', n - 1)));

  it('all three answer one ping, each with its own pong and its own reply', async () => {
    await allConnected(1);
    await pingPong(fake, ...bots);
  });

  it('all three answer the next ping after the implementation was killed and restarted', async () => {
    await fake.kill();
    await waitFor(() => relay!.relay.hub.health().link.state !== 'up', 'the relay to see the link down');
    await fake.restart();
    await waitFor(() => relay!.relay.hub.health().link.state === 'up', 'the link back', 10_000);
    await pingPong(fake, ...bots);
  });

  it('all three reconnect by themselves to a restarted relay and answer the next ping', async () => {
    const settings = relay!.settings;
    await relay!.stop();
    relay = undefined;
    relay = await startTestRelay(undefined, settings);
    await allConnected(2);
    await pingPong(fake, ...bots);
  });
});
