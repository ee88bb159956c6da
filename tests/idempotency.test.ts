import { describe, it, expect } from '@jest/globals';
import { api } from './server.test-setup.js';

describe("Idempotency middleware", () => {
  it("returns identical response for duplicate requests within window", async () => {
    const payload = {
      email: "idem@example.com",
      leadData: { age: 40, state: "NY" },
      config: { numPersonas: 6 },
    };

    const res1 = await api()
      .post("/api/personas/generate")
      .send(payload)
      .expect(200);

    const res2 = await api()
      .post("/api/personas/generate")
      .send(payload)
      .expect(200);

    // We added fromIdempotentCache flag in the wrapper when using stored result
    expect(res2.body).toHaveProperty("fromIdempotentCache", true);

    // Responses should match structurally
    expect(res2.body.personas).toEqual(res1.body.personas);
  });
});
