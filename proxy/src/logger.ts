import { pino, type Logger } from 'pino';

/** JSON logs; credentials are redacted wherever a request's headers get logged. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["api-key"]',
        'headers.authorization',
        'headers["api-key"]',
        'authorization',
        '*.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
export type { Logger };
