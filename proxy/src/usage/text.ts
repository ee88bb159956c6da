/**
 * Text that a request sends to the model, and the chars/4 token heuristic. Shared by usage
 * estimation and the mock upstream so the fake's token counts match what we would estimate.
 */

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Text of a message/item `content`: a string, or parts carrying `text` (text, input_text, output_text, refusal). */
function contentText(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') out.push(part);
    else if (isObj(part)) {
      if (typeof part.text === 'string') out.push(part.text);
      else if (typeof part.refusal === 'string') out.push(part.refusal);
    }
  }
  return out;
}

/** Responses/embeddings `input`: a string, an array of strings, token arrays (skipped), or message-like items. */
function inputText(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) return [];
  const out: string[] = [];
  for (const item of input) {
    if (typeof item === 'string') out.push(item);
    else if (isObj(item)) {
      out.push(...contentText(item.content));
      // Tool round-trips carry their text outside `content`.
      if (typeof item.output === 'string') out.push(item.output);
      if (typeof item.arguments === 'string') out.push(item.arguments);
    }
  }
  return out;
}

/** All message/input text of a chat, legacy completions, responses, embeddings or images request. */
export function promptTextOf(request: unknown): string {
  if (!isObj(request)) return '';
  const parts: string[] = [];
  if (typeof request.instructions === 'string') parts.push(request.instructions);
  if (Array.isArray(request.messages)) {
    for (const m of request.messages) {
      if (!isObj(m)) continue;
      parts.push(...contentText(m.content));
      if (Array.isArray(m.tool_calls)) {
        for (const c of m.tool_calls) {
          if (isObj(c) && isObj(c.function) && typeof c.function.arguments === 'string') parts.push(c.function.arguments);
        }
      }
    }
  }
  parts.push(...inputText(request.input));
  parts.push(...inputText(request.prompt));
  return parts.filter((p) => p.length > 0).join('\n');
}

/** The usual ~4 characters per token for English; 0 for empty text. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}
