import { errorBody } from './errors.js';
import type { Reply } from './reply.js';
import { CREATED } from './util.js';

const MODEL_IDS = [
  'gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4o-mini', 'gpt-4o-mini-2024-07-18',
  'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano',
  'o1', 'o3', 'o3-mini', 'o4-mini',
  'gpt-5', 'gpt-5-mini', 'gpt-5-nano',
  'text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002',
  'dall-e-2', 'dall-e-3', 'gpt-image-1', 'gpt-image-1-mini',
];

const model = (id: string) => ({ id, object: 'model', created: CREATED, owned_by: 'system' });

/** `GET /v1/models`. */
export function listModels(): Reply {
  return { kind: 'json', body: { object: 'list', data: MODEL_IDS.map(model) } };
}

/** `GET /v1/models/:id`: 404 model_not_found for ids the fake does not list. */
export function getModel(id: string): Reply {
  if (MODEL_IDS.includes(id)) return { kind: 'json', body: model(id) };
  return {
    kind: 'error',
    status: 404,
    body: errorBody(`The model '${id}' does not exist or you do not have access to it.`, 'invalid_request_error', 'model', 'model_not_found'),
  };
}
