import { describe, it, expect } from '@jest/globals';
import { api } from './server.test-setup.js';

const payload = {
  email: "test@example.com",
  leadData: { age: 35, state: "CA" },
  config: { numPersonas: 12 },
};

describe("Persona caching", () => {
  it("returns fromCache=false on first call and true on second", async () => {
    const start1 = Date.now();
    const res1 = await api()
      .post("/api/personas/generate")
      .send(payload)
      .expect(200);

    const duration1 = Date.now() - start1;
    expect(res1.body).toHaveProperty("personas");
    expect(res1.body.fromCache).toBe(false);

    const start2 = Date.now();
    const res2 = await api()
      .post("/api/personas/generate")
      .send(payload)
      .expect(200);

    const duration2 = Date.now() - start2;
    expect(res2.body.fromCache).toBe(true);
    expect(res2.body.personas.length).toBe(res1.body.personas.length);

    // Very rough heuristic: cached call should be significantly faster
    expect(duration2).toBeLessThan(duration1);
  });
});
