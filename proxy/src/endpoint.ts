const ID_SEGMENT = /^(?:[a-z]+[-_])?[A-Za-z0-9]{16,}$|^\d+$|^[0-9a-f-]{32,36}$/;

/**
 * The dotted endpoint name logged for a request: `POST /v1/chat/completions` → `chat.completions`,
 * `POST /v1/responses/resp_abc123…/cancel` → `responses.item.cancel`. Object ids collapse to
 * `item` so that stateful routes group together instead of making one series per id.
 *
 * Any method but POST adds itself as a suffix: `GET /v1/chat/completions` (the list of stored
 * completions) is `chat.completions.get`, `DELETE /v1/files/file-…` is `files.item.delete`. Reads
 * and deletes are never billed, and a billable name must only ever name billable calls, or a cost
 * series per endpoint would mix creates with the reads that follow them.
 */
export function endpointOf(path: string, method = 'POST'): string {
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  let name = names.get(bare);
  if (name === undefined) {
    name = nameOf(bare);
    // Paths with ids vary without bound; the memo is for the few hot ones.
    if (names.size >= 10_000) names.clear();
    names.set(bare, name);
  }
  return method === 'POST' ? name : `${name}.${method.toLowerCase()}`;
}

/** True for the name of a read or a delete (any method but POST): never billed, see endpointOf. */
export function isReadEndpoint(endpoint: string): boolean {
  return READ_SUFFIX.test(endpoint);
}

const READ_SUFFIX = /\.(?:get|delete|head|options|put|patch)$/;

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

const PATH_NAMES = [
  'chat.completions', 'chat.completions.item', 'chat.completions.item.messages', 'completions', 'responses',
  'responses.item', 'responses.item.input_items', 'responses.item.cancel', 'responses.input_tokens', 'responses.compact',
  'embeddings', 'images.generations', 'images.edits', 'images.variations', 'audio.speech', 'audio.transcriptions',
  'audio.translations', 'moderations', 'models', 'models.item', 'files', 'files.item', 'files.item.content', 'uploads',
  'uploads.item.parts', 'uploads.item.complete', 'uploads.item.cancel', 'batches', 'batches.item', 'batches.item.cancel',
  'fine_tuning.jobs', 'fine_tuning.jobs.item', 'vector_stores', 'vector_stores.item', 'realtime', 'realtime.sessions',
  'realtime.client_secrets',
];

/**
 * Endpoint names of the OpenAI API (as created, read and deleted) and of Tollgate's own routes: a
 * fixed set, for metric labels.
 */
export const KNOWN_ENDPOINTS: ReadonlySet<string> = new Set([
  ...PATH_NAMES.flatMap((n) => [n, `${n}.get`, `${n}.delete`]),
  'personas.generate', 'chat.stream',
]);
