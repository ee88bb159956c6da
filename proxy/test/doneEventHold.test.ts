import { DoneEventHold } from '../src/proxy/doneEventHold.js';

const STREAM =
  'data: {"choices":[{"delta":{"content":"the marker is data: [DONE] — ünïcödé"}}]}\n\n' +
  'data: {"choices":[{"delta":{"content":"data:[DONE]"}}]}\r\n\r\n' +
  'data: {"choices":[],"usage":{"prompt_tokens":3}}\n\n' +
  'data: [DONE]\n\n';
const DONE_AT = STREAM.indexOf('data: [DONE]\n\n');

/** Feeds `stream` cut at `cuts`; returns what was sent before the end and what was held for it. */
function feed(stream: Buffer, cuts: number[]) {
  const hold = new DoneEventHold();
  const sent: Buffer[] = [];
  let from = 0;
  for (const at of [...cuts, stream.length]) {
    sent.push(hold.push(stream.subarray(from, at)));
    from = at;
  }
  return { sent: Buffer.concat(sent), held: hold.rest() };
}

describe('DoneEventHold', () => {
  const bytes = Buffer.from(STREAM, 'utf8');
  const doneByte = Buffer.byteLength(STREAM.slice(0, DONE_AT), 'utf8');

  it('holds exactly the [DONE] event, wherever the reads are cut, and never a [DONE] inside text', () => {
    for (let a = 1; a < bytes.length; a++) {
      for (const b of [a + 1, a + 7, a + 40]) {
        const cuts = b < bytes.length ? [a, b] : [a];
        const { sent, held } = feed(bytes, cuts);
        expect(Buffer.concat([sent, held]).equals(bytes)).toBe(true);
        // Everything before [DONE] went out once its read arrived (a read ending inside a
        // possible start may keep that start only until the next read).
        expect(sent.length).toBe(doneByte);
        expect(held.toString('utf8')).toBe('data: [DONE]\n\n');
      }
    }
  });

  it('sends a read at once when it cannot start a [DONE] event', () => {
    const hold = new DoneEventHold();
    const first = Buffer.from('data: {"a":1}\n\ndata: {"b":"data: [DONE]"}\n\n');
    expect(hold.push(first).equals(first)).toBe(true);
    expect(hold.push('data: [DO').length).toBe(0);
    expect(hold.push('NE]\n\n').length).toBe(0);
    expect(hold.rest().toString()).toBe('data: [DONE]\n\n');
  });
});
