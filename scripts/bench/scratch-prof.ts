// scratch (not committed): profile the relay under one workload

import { Agent, request } from 'node:http';
import { benchEvent, clockMs, markerBytes, pace, stampOf } from './events.ts';
import { BenchClient, freePorts, startRelayProcess, waitUntil } from './kit.ts';
import { startSource } from './source-process.ts';

const which = process.argv[2];
const source = await startSource(10001);
if (which === 'rtt') {
  const relay = await startRelayProcess([source.url]);
  const [client] = await BenchClient.connectAll([relay.url]);
  let got = 0;
  client!.onFrame = (d) => {
    if (d.includes('"echo":"rtt-')) got++;
  };
  const calls = 20000;
  await pace(2000, calls, (n) =>
    client!.ws.send(
      `{"action":"send_group_msg","params":{"group_id":123456,"message":[{"type":"text","data":{"text":"hello ${n}"}}]},"echo":"rtt-${n}"}`,
    ),
  );
  await waitUntil(() => got === calls, 'answers', 20000);
  client!.close();
  await relay.stop();
} else if (which === 'post') {
  const [postPort] = await freePorts(1);
  const relay = await startRelayProcess([`http://127.0.0.1:${source.port}`], { upstreamPostListen: `127.0.0.1:${postPort}` });
  const clients = await BenchClient.connectAll([relay.url, relay.url, relay.url, relay.url]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const filler = 'x'.repeat(7800);
  const t = clockMs();
  for (let i = 0; i < 10000; i++) {
    const body = Buffer.from(benchEvent(10001, i, 'p', 0, `"${filler}"`));
    await new Promise<void>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${postPort}/`, { method: 'POST', agent, headers: { 'Content-Length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  console.log('post rate', 10000 / ((clockMs() - t) / 1000));
  for (const c of clients) c.close();
  await relay.stop();
} else if (which === 'large') {
  const relay = await startRelayProcess([source.url]);
  const [client] = await BenchClient.connectAll([relay.url]);
  let got = 0;
  client!.onFrame = (d) => {
    if (d.length < 1000 && d.includes('"echo":"big')) got++;
  };
  const text = `{"action":"send_group_msg","params":{"group_id":123456,"message":[{"type":"image","data":{"file":"base64://${'A'.repeat(4 * 1024 * 1024)}"}}]},"echo":"big"}`;
  for (let i = 0; i < 30; i++) {
    const before = got;
    client!.ws.send(text);
    await waitUntil(() => got > before, 'reply', 10000);
  }
  for (let i = 0; i < 30; i++) await source.command({ cmd: 'large', marker: 'x', bytes: 4 * 1024 * 1024 });
  await new Promise((r) => setTimeout(r, 500));
  client!.close();
  await relay.stop();
} else if (which === 'cpu') {
  const { processCpu } = await import('./kit.ts');
  const relay = await startRelayProcess([source.url]);
  const cpu = () => { const c = processCpu(relay.pid); return c.user + c.system; };
  const clients = await BenchClient.connectAll(Array.from({ length: 8 }, () => relay.url));
  let got = 0; for (const c of clients) c.onFrame = () => got++;
  let t = cpu();
  await source.command({ cmd: 'burst', marker: 'f', count: 50000, batch: 500 });
  await waitUntil(() => got >= 400000, 'fanout', 60000);
  const fan = cpu() - t;
  for (const c of clients.slice(4)) c.close();
  t = cpu();
  await source.command({ cmd: 'pace', marker: 'l', rate: 1000, total: 10000 });
  await new Promise((r) => setTimeout(r, 300));
  console.log(process.env.BENCH_RELAY_NODE_ARGS ?? 'default', 'fan-out CPU', fan, 'ms; latency CPU', cpu() - t, 'ms');
  for (const c of clients.slice(0, 4)) c.close();
  await relay.stop();
} else if (which === 'latency') {
  const relay = await startRelayProcess([source.url]);
  const clients = await BenchClient.connectAll([relay.url, relay.url, relay.url, relay.url]);
  await source.command({ cmd: 'pace', marker: 'lat', rate: 1000, total: 15000 });
  for (const c of clients) c.close();
  await relay.stop();
}
await source.stop();
