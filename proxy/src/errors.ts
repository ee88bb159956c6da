import type { Response } from 'express';

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'server_error'
  | 'timeout_error'
  | 'idempotency_error'
  | 'rate_limit_error';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType | string; param: string | null; code: string | null };
}

/** An error the proxy itself raises, answered in OpenAI's error shape. */
export class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Tells the openai SDK not to retry what cannot succeed on retry (its x-should-retry header). */
    readonly shouldRetry?: boolean,
  ) {
    super(message);
  }

  /** Headers that go with the answer, e.g. upstream's retry-after on a 429. */
  headers: Record<string, string> = {};

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function sendError(res: Response, err: ProxyError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  if (err.shouldRetry !== undefined) res.setHeader('x-should-retry', String(err.shouldRetry));
  res.status(err.status).json(err.body());
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ProxyError(400, message, 'invalid_request_error', code, param, false);
