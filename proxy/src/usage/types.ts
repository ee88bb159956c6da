/** Token usage of one call, normalised across endpoints so logging and pricing need one shape. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Subset of promptTokens served from the prompt cache (billed at the cached rate). */
  cachedTokens: number;
  /** Subset of completionTokens (already billed as output; never add it again). */
  reasoningTokens: number;
  totalTokens: number;
  /** Subset of promptTokens that were image input (gpt-image edits), when the API says so. */
  imageTokens?: number;
  /** Subset of promptTokens that were audio input (transcribe / audio models), when the API says so. */
  audioTokens?: number;
  /** Subset of completionTokens that were audio output (Realtime, gpt-4o-mini-tts), when the API says so. */
  audioOutputTokens?: number;
  /** Characters of text to speak, for character-billed models (tts-1, tts-1-hd), taken from the request. */
  characters?: number;
  /** Length of transcribed audio for duration-billed models (whisper-1). */
  audioSeconds?: number;
  /** Per-image billing (dall-e), taken from the request because the response has no usage. */
  images?: { count: number; size?: string; quality?: string };
  source: 'reported' | 'estimated' | 'none';
}
