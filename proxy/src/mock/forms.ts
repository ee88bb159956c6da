import type { Request } from 'express';
import busboy from 'busboy';

/** A multipart form as the fake reads it: its text fields, and its files' names and sizes (the bytes are dropped). */
export interface Form {
  fields: Record<string, string>;
  files: Array<{ field: string; filename: string; bytes: number }>;
}

/** Reads a multipart body as it streams in, keeping no file bytes: a 512 MB upload costs no memory. */
export function readForm(req: Request): Promise<Form> {
  return new Promise((resolve, reject) => {
    const form: Form = { fields: {}, files: [] };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: Infinity } });
    } catch (err) {
      reject(err as Error);
      return;
    }
    parser.on('field', (name, value) => (form.fields[name] = value));
    parser.on('file', (field, file, info) => {
      const entry = { field, filename: info.filename ?? 'file', bytes: 0 };
      form.files.push(entry);
      file.on('data', (c: Buffer) => (entry.bytes += c.length));
    });
    parser.on('close', () => resolve(form));
    parser.on('error', reject);
    req.pipe(parser);
  });
}

/** Counts a raw body's bytes as it streams in (an Uploads part sent without a form). */
export function countBytes(req: Request): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => resolve(bytes));
    req.on('error', reject);
  });
}
