/** `POST /api/chat/stream`: see router.ts. */
export { chatStreamRouter, CHAT_STREAM_PATH } from './router.js';
