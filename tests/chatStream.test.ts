import { describe, it, expect } from '@jest/globals';
import { api } from './server.test-setup.js';

describe("Chat streaming", () => {
  it("returns an event-stream response", async () => {
    const res = await api()
      .post("/api/chat/stream")
      .send({
        messages: [
          { role: "system", content: "You are a test assistant." },
          { role: "user", content: "Hello" },
        ],
      });

    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/event-stream");
    // Body should contain at least one "data:" line
    expect(res.text).toContain("data:");
  });
});
