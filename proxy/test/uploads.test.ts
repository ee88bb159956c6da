import { RawBodyDigest, rawBodyDigest } from '../src/idempotency/keys.js';
import { FormModelReader, uploadLimit } from '../src/v1/uploads.js';

const form = (boundary: string, fileBytes: Buffer, modelFirst: boolean) => {
  const model = `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe\r\n`;
  const file = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`), fileBytes, Buffer.from('\r\n')]);
  return Buffer.concat(modelFirst ? [Buffer.from(model), file] : [file, Buffer.from(model)]).toString('latin1') + `--${boundary}--\r\n`;
};

/** Feeds `body` in pieces of the given sizes, cycling. */
function pieces(body: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(body.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe('RawBodyDigest (a keyed upload fingerprinted as it streams)', () => {
  const type = 'multipart/form-data; boundary=----abc123';
  const body = Buffer.from(form('----abc123', Buffer.alloc(5000, 7), true), 'latin1');

  it.each([[[1]], [[3, 7]], [[13]], [[64, 1, 2]], [[100000]]])('gives rawBodyDigest\'s result whatever the chunking (%j)', (sizes) => {
    const digest = new RawBodyDigest(type);
    for (const p of pieces(body, sizes)) digest.update(p);
    expect(digest.digest()).toBe(rawBodyDigest(body, type));
  });

  it('ignores the boundary but not the content', () => {
    const other = Buffer.from(form('XYZ', Buffer.alloc(5000, 7), true), 'latin1');
    expect(rawBodyDigest(other, 'multipart/form-data; boundary=XYZ')).toBe(rawBodyDigest(body, type));
    const changed = Buffer.from(form('XYZ', Buffer.alloc(5000, 8), true), 'latin1');
    expect(rawBodyDigest(changed, 'multipart/form-data; boundary=XYZ')).not.toBe(rawBodyDigest(body, type));
  });
});

describe('FormModelReader', () => {
  it.each([true, false])('finds the model in chunks of any size (model first: %s)', async (modelFirst) => {
    for (const sizes of [[1], [7, 3], [4096]]) {
      let seen: string | undefined;
      const reader = new FormModelReader('multipart/form-data; boundary=b0undary', (m) => (seen = m));
      for (const p of pieces(Buffer.from(form('b0undary', Buffer.alloc(70_000, 1), modelFirst), 'latin1'), sizes)) reader.write(p);
      reader.end();
      await new Promise((r) => setImmediate(r));
      expect([sizes, seen]).toEqual([sizes, 'gpt-4o-transcribe']);
    }
  });

  it('yields no model from a body that is not a form', () => {
    let seen: string | undefined;
    const reader = new FormModelReader('multipart/form-data', (m) => (seen = m));
    reader.write(Buffer.from('not a form at all'));
    reader.end();
    expect(seen).toBeUndefined();
  });
});

describe('upload limits', () => {
  it("are OpenAI's for the upload endpoints, none elsewhere", () => {
    const MB = 1024 * 1024;
    expect(uploadLimit('files')! - MB).toBe(512 * MB);
    expect(uploadLimit('uploads.item.parts')! - MB).toBe(64 * MB);
    expect(uploadLimit('audio.transcriptions')! - MB).toBe(25 * MB);
    expect(uploadLimit('chat.completions')).toBeUndefined();
  });
});
