import { DoneEventHold } from '../src/v1/doneEventHold.js';

/** Feeds `stream` cut at `cuts`; returns what was sent before the end and what was held for it. */
function feed(stream: Buffer, cuts: number[]) {
  const hold = new DoneEventHold();
  const sent: Buffer[] = [];
  let from = 0;
  for (const at of [...cuts, stream.length]) {
    sent.push(hold.push(stream.subarray(from, at)));
    from = at;
  }
  return { sent: Buffer.concat(sent), held: hold.rest(), holdsDone: hold.holdsDone };
}

/** For every way of cutting `stream` into two or three reads: `held` is exactly `expectHeld`. */
function expectHeldEverywhere(stream: string, expectHeld: string) {
  const bytes = Buffer.from(stream, 'utf8');
  for (let a = 1; a < bytes.length; a++) {
    for (const b of [a + 1, a + 5, a + 23]) {
      const { sent, held, holdsDone } = feed(bytes, b < bytes.length ? [a, b] : [a]);
      expect(Buffer.concat([sent, held]).equals(bytes)).toBe(true);
      expect([a, b, held.toString('utf8')]).toEqual([a, b, expectHeld]);
      expect(holdsDone).toBe(expectHeld !== '');
    }
  }
}

const chunk = (content: string) => `data: {"choices":[{"delta":{"content":${JSON.stringify(content)}}}]}`;

describe('DoneEventHold', () => {
  it('holds exactly the [DONE] line, wherever the reads are cut, never a [DONE] inside text', () => {
    expectHeldEverywhere(`${chunk('the marker is data: [DONE] — ünïcödé')}\n\n${chunk('data:[DONE]')}\r\n\r\ndata: [DONE]\n\n`, 'data: [DONE]\n\n');
  });

  it('reads CR-only and mixed line endings, extra blank lines, and no space after the colon', () => {
    expectHeldEverywhere(`${chunk('a')}\r\r\rdata: [DONE]\r\r`, 'data: [DONE]\r\r');
    expectHeldEverywhere(`\n${chunk('a')}\n\r\n\n\ndata:[DONE]\r\n\r\n`, 'data:[DONE]\r\n\r\n');
  });

  it('holds a [DONE] event that has id, event, retry or comment lines before its data line', () => {
    expectHeldEverywhere(`${chunk('a')}\n\nid: 9\nevent: done\n: keepalive\nretry: 100\ndata: [DONE]\n\n`, 'data: [DONE]\n\n');
  });

  it('does not hold [DONE] that is a later data line of another event, nor a stream without one', () => {
    expectHeldEverywhere(`data: {"a":1}\ndata: [DONE]\n\n${chunk('b')}\n\n`, '');
    expectHeldEverywhere(`${chunk('a')}\n\ndata: [DONE]x\n\n`, '');
  });

  it('sends a read at once when it cannot start the [DONE] line; a possible start waits one read', () => {
    const hold = new DoneEventHold();
    const first = Buffer.from('data: {"a":1}\n\ndata: {"b":"data: [DONE]"}\n\n');
    expect(hold.push(first).equals(first)).toBe(true);
    expect(hold.push('data: [DO').length).toBe(0);
    expect(hold.push('NE]\n\n').length).toBe(0);
    expect(hold.rest().toString()).toBe('data: [DONE]\n\n');
  });
});
