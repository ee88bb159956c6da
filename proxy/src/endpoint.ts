const ID_SEGMENT = /^(?:[a-z]+[-_])?[A-Za-z0-9]{16,}$|^\d+$|^[0-9a-f-]{32,36}$/;

/**
 * The dotted endpoint name logged for a request path: `/v1/chat/completions` → `chat.completions`,
 * `/v1/responses/resp_abc123…` → `responses.item`. Object ids collapse to `item` so that stateful
 * routes group together instead of making one series per id.
 */
export function endpointOf(path: string): string {
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  let name = names.get(bare);
  if (name === undefined) {
    name = nameOf(bare);
    // Paths with ids vary without bound; the memo is for the few hot ones.
    if (names.size >= 10_000) names.clear();
    names.set(bare, name);
  }
  return name;
}

const names = new Map<string, string>();

function nameOf(path: string): string {
  const clean = path.replace(/^\/v1(?=\/|$)/, '');
  const parts = clean
    .split('/')
    .filter(Boolean)
    // Model ids (`/models/gpt-4o-mini`) are ids too, but do not look like generated ones.
    .map((seg, i, all) => (ID_SEGMENT.test(seg) || (i === 1 && all[0] === 'models') ? 'item' : seg.toLowerCase()));
  return parts.length ? parts.join('.') : 'root';
}

/** Endpoint names of the OpenAI API and of Tollgate's own routes: a fixed set, for metric labels. */
export const KNOWN_ENDPOINTS: ReadonlySet<string> = new Set([
  'chat.completions', 'chat.completions.item', 'completions', 'responses', 'responses.item', 'responses.item.input_items',
  'responses.item.cancel', 'embeddings', 'images.generations', 'images.edits', 'images.variations', 'audio.speech',
  'audio.transcriptions', 'audio.translations', 'moderations', 'models', 'models.item', 'files', 'files.item',
  'files.item.content', 'uploads', 'batches', 'batches.item', 'batches.item.cancel', 'fine_tuning.jobs',
  'fine_tuning.jobs.item', 'vector_stores', 'vector_stores.item', 'personas.generate', 'chat.stream',
]);
