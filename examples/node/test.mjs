// End-to-end test of the component in Node (jco + preview2-shim) against the Discord emulator.
//
//   npm ci && npm run transpile && node --test test.mjs
//
// ALERTER_BIN may point at the `alerter` binary (default ../../target/release/alerter), which
// serves the emulator. `ask` blocks the main thread, so in its test the simulated human runs in a
// worker thread and talks to the emulator's control API on its own. The `open` / `wait` / `close`
// tests need no worker: `wait` returns after each short slice, and the human acts from the main
// thread in between.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

import { createAlerter, AlertError } from './alerter.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const BIN = process.env.ALERTER_BIN ?? `${here}../../target/release/alerter`;
const TOKEN = 'node-example-token';

let emu; // { proc, base, control, host, channel }

function startEmulator() {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ['emulator', '--port', '0', '--token', TOKEN], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => reject(new Error('the emulator did not start in 10 s')), 10_000);
    proc.on('error', (e) => reject(new Error(`cannot run ${BIN}: ${e.message}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /listening on (http:\/\/[^/\s]+)(\/\S*)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[1] + m[2], control: `${m[1]}/_emulator`, host: new URL(m[1]).host });
      }
    });
  });
}

async function control(method, path, body) {
  const res = await fetch(emu.control + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** A port nothing listens on (bound, then released). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const alerterFor = (extra = {}) =>
  createAlerter({
    token: TOKEN,
    apiBaseUrl: emu.base,
    defaultChannelId: emu.channel,
    allowedHosts: [emu.host],
    ...extra,
  });

before(async () => {
  emu = await startEmulator();
  emu.channel = (await control('GET', '/state')).default_channel_id;
});

/** The question message as the emulator stores it now. */
async function storedMessage(id) {
  const msg = (await control('GET', `/channels/${emu.channel}/messages`)).find((m) => m.id === id);
  assert.ok(msg, `message ${id} is in the channel`);
  return msg;
}

/** The embed `close` appended to a question (its last one), as "title | description". */
const outcomeText = (msg) => {
  const e = msg.embeds.at(-1);
  return e ? `${e.title ?? ''} | ${e.description ?? ''}` : '';
};

after(() => emu?.proc.kill());

test('post delivers a structured message as an embed', async () => {
  const receipt = alerterFor().post(
    {
      title: 'Training finished',
      body: 'Model v3 reached the target accuracy.',
      metadata: { accuracy: 0.93, epochs: 12, early_stop: false },
    },
    { severity: 'success' },
  );
  assert.equal(receipt.channelId, emu.channel);
  assert.equal(receipt.messageIds.length, 1);

  const stored = await control('GET', `/channels/${emu.channel}/messages`);
  const msg = stored.find((m) => m.id === receipt.messageIds[0]);
  assert.ok(msg, 'the message is in the channel');
  assert.equal(msg.author.bot, true);
  assert.equal(msg.embeds.length, 1);
  const [embed] = msg.embeds;
  assert.equal(embed.title, 'Training finished');
  assert.equal(embed.description, 'Model v3 reached the target accuracy.');
  assert.deepEqual(
    embed.fields.map((f) => [f.name, f.value]),
    [['accuracy', '0.93'], ['epochs', '12'], ['early_stop', 'false']],
  );
});

test('a file rides along and shows in the embed; a webhook posts without a bot', async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
  const receipt = alerterFor().post(
    { title: 'Loss curve', body: 'epoch 12', images: ['attachment://loss.png'] },
    { attachments: [{ filename: 'loss.png', data: png }] },
  );
  const msg = await storedMessage(receipt.messageIds[0]);
  const url = msg.embeds[0].image.url;
  assert.match(url, /\/_emulator\/files\/.*\/loss\.png$/);
  const served = new Uint8Array(await (await fetch(url)).arrayBuffer());
  assert.deepEqual([...served], [...png], 'the bytes arrive unchanged');

  const hook = await control('POST', `/channels/${emu.channel}/webhooks`, { name: 'CI' });
  const viaHook = createAlerter({ webhookUrl: hook.url, allowedHosts: [emu.host] }).post('deployed v3', {});
  const posted = await storedMessage(viaHook.messageIds[0]);
  assert.equal(posted.webhook_id, hook.id);
  assert.equal(posted.content, 'deployed v3');
});

test('ask is approved by a human replying LGTM', async () => {
  const alice = await control('POST', '/users', { username: 'alice', bot: false });
  const marker = `Deploy model v3? [${Date.now()}]`;

  // The human: a worker thread (the main thread is blocked inside `ask`) that waits for the
  // question to appear, then replies to it through the control API.
  const human = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    const { control, channel, user, marker } = workerData;
    (async () => {
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline) {
        const msgs = await (await fetch(control + '/channels/' + channel + '/messages')).json();
        const q = msgs.find((m) => m.author.bot && m.content.includes(marker));
        if (q) {
          await new Promise((r) => setTimeout(r, 300));
          const res = await fetch(control + '/channels/' + channel + '/messages', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user_id: user, content: 'LGTM', reply_to: q.id }),
          });
          parentPort.postMessage({ replied: res.ok, question: q.id });
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      parentPort.postMessage({ replied: false });
    })().catch((e) => parentPort.postMessage({ replied: false, error: String(e) }));
    `,
    { eval: true, workerData: { control: emu.control, channel: emu.channel, user: alice.id, marker } },
  );
  const done = new Promise((resolve, reject) => {
    human.once('message', resolve);
    human.once('error', reject);
  });

  const answer = alerterFor().ask(marker, { ask: { timeoutMs: 20_000, pollIntervalMs: 500 } });
  const report = await done;
  await human.terminate();

  assert.equal(report.replied, true, `the human replied (${report.error ?? ''})`);
  assert.equal(answer.decision, 'approved');
  assert.equal(answer.approved, true);
  assert.deepEqual(answer.responder, { id: alice.id, username: 'alice' });
  assert.equal(answer.via, 'reply');
  assert.equal(answer.keyword, 'LGTM');
  assert.equal(answer.questionMessageId, report.question);
});

test('a host not on the allow-list is denied before any request is made', async () => {
  const before = (await control('GET', '/requests')).length;
  const otherPort = await freePort();

  // The API base points at a port that is not allowed.
  const wrongBase = alerterFor({ apiBaseUrl: `http://127.0.0.1:${otherPort}/api/v10` });
  assert.throws(
    () => wrongBase.post('should never leave the host'),
    (e) => e instanceof AlertError && e.kind === 'transport' && /denied/i.test(e.message),
  );
  // The emulator itself, with an allow-list that does not name it.
  const notListed = alerterFor({ allowedHosts: [`127.0.0.1:${otherPort}`, 'discord.com'] });
  assert.throws(
    () => notListed.post('should never leave the host'),
    (e) => e instanceof AlertError && e.kind === 'transport' && /denied/i.test(e.message),
  );
  assert.equal((await control('GET', '/requests')).length, before, 'the emulator saw no request');
});

test('a missing token is invalid-config (secrets not-found)', () => {
  assert.throws(
    () => alerterFor({ token: undefined }).post('hi'),
    (e) => e instanceof AlertError && e.kind === 'invalid-config' && /discord_token/.test(e.message),
  );
});

test('open, then wait in 300 ms slices on the main thread: the event loop runs between slices; close marks it Approved', async () => {
  const alice = await control('POST', '/users', { username: 'alice-slices', bot: false });
  const alerter = alerterFor();
  const params = { ask: { timeoutMs: 30_000, pollIntervalMs: 100 } };
  const marker = `Promote model v4? [${Date.now()}]`;

  const opened = alerter.open(marker, params);
  assert.equal(opened.posted, true);
  assert.equal(opened.answer, undefined);
  assert.equal(opened.question.channelId, emu.channel);
  assert.match(opened.askedAt, /^\d{4}-\d\d-\d\dT/);
  const question = { ...opened.question }; // only the two ids travel from here on

  // A timer that can only fire while the event loop is free, i.e. never inside a `wait` call.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const slices = []; // per slice: how long `wait` blocked, and the timer ticks just before it
  let status;
  let replied = false;
  try {
    for (let i = 0; i < 60 && !status?.done; i++) {
      const ticksBefore = ticks;
      const start = Date.now();
      status = alerter.wait(question, params, 300, status); // carries the resume hint on
      slices.push({ ms: Date.now() - start, ticksBefore, ticksAfter: ticks });
      if (status.done) break;
      assert.ok(status.open, 'wait returns {open: progress} while undecided');
      assert.deepEqual(status.open.approvers, []);
      assert.equal(status.open.remindersSent, 0);
      assert.equal(status.open.escalated, false);
      assert.equal(typeof status.open.resume, 'string');
      // Between slices the event loop runs: give the timer a chance, then, after two undecided
      // slices, let the human reply through the control API (a fetch, also on this thread).
      await new Promise((r) => setTimeout(r, 30));
      if (slices.length === 2 && !replied) {
        await control('POST', `/channels/${emu.channel}/messages`, {
          user_id: alice.id,
          content: 'LGTM',
          reply_to: question.messageId,
        });
        replied = true;
      }
    }
  } finally {
    clearInterval(timer);
  }

  assert.ok(replied, `the human got to reply between slices (${slices.length} slices)`);
  assert.ok(status?.done, 'the decision arrived through wait');
  assert.ok(slices.length >= 3, `two undecided slices, then the decision: ${JSON.stringify(slices)}`);
  for (const s of slices) {
    assert.equal(s.ticksAfter, s.ticksBefore, 'no timer fires inside a wait call (it is synchronous)');
    assert.ok(s.ms < 300 + 2_000, `a slice is bounded by maxWaitMs: ${s.ms} ms`);
  }
  for (let i = 1; i < slices.length; i++) {
    assert.ok(slices[i].ticksBefore > slices[i - 1].ticksAfter, `the timer fired between slices ${i} and ${i + 1}`);
  }
  assert.ok(slices[0].ms >= 200, `an undecided slice waits about maxWaitMs: ${slices[0].ms} ms`);

  const answer = status.done;
  assert.equal(answer.decision, 'approved');
  assert.equal(answer.approved, true);
  assert.deepEqual(answer.responder, { id: alice.id, username: 'alice-slices' });
  assert.equal(answer.via, 'reply');
  assert.equal(answer.questionMessageId, question.messageId);
  assert.equal(answer.remindersSent, 0);
  assert.equal(answer.escalated, false);

  alerter.close(question, params, answer);
  const text = outcomeText(await storedMessage(question.messageId));
  assert.match(text.split(' | ')[0], /Approved/, `the question shows the outcome: ${text}`);
});

test('close with a cancellation text marks the question Cancelled', async () => {
  const alerter = alerterFor();
  const params = { ask: { timeoutMs: 30_000, pollIntervalMs: 100 } };
  const opened = alerter.open(`Rotate the keys? [${Date.now()}]`, params);
  assert.equal(opened.posted, true);
  assert.ok(alerter.wait(opened, params, 0).open, 'undecided after one look');

  alerter.close(opened, params, 'interrupted');
  const text = outcomeText(await storedMessage(opened.question.messageId));
  assert.match(text.split(' | ')[0], /Cancelled/, `the question says it was cancelled: ${text}`);
  assert.match(text, /interrupted/, `and why: ${text}`);
});

test('the emulator recorded no violations', async () => {
  assert.deepEqual(await control('GET', '/violations'), []);
});
