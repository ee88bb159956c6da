import type { Response } from 'express';

/** OpenAI's error envelope; all four fields are always present. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** The body the real API sends for a status, used for `x-mock-error` faults. */
export function faultBody(status: number): OpenAIErrorBody {
  switch (status) {
    case 401:
      return errorBody('Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', null, 'invalid_api_key');
    case 403:
      return errorBody('You are not allowed to sample from this model', 'invalid_request_error', null, 'model_not_permitted');
    case 404:
      return errorBody('The model does not exist or you do not have access to it.', 'invalid_request_error', null, 'model_not_found');
    case 429:
      return errorBody('Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.', 'requests', null, 'rate_limit_exceeded');
    case 503:
      return errorBody('The engine is currently overloaded, please try again later.', 'service_unavailable_error', null, 'server_is_overloaded');
    default:
      return status >= 500
        ? errorBody('The server had an error while processing your request. Sorry about that!', 'server_error')
        : errorBody(`Mock error ${status}`, 'invalid_request_error');
  }
}

/** Stamps the timing header the real API sends, then the JSON body. */
export function sendJson(res: Response, status: number, body: unknown): void {
  const started = res.locals.startedAt as number | undefined;
  res.setHeader('openai-processing-ms', String(started === undefined ? 0 : Date.now() - started));
  res.status(status).json(body);
}

export function sendError(res: Response, status: number, body: OpenAIErrorBody): void {
  if (status === 429) res.setHeader('retry-after', '1');
  sendJson(res, status, body);
}
