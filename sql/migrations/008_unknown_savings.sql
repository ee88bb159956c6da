-- A hit or replay of a model missing from the price table saved an unknown amount: NULL, like
-- cost_usd of its miss, rather than a 0 that reads as "saved nothing". Sums skip it.
ALTER TABLE openai_call_log ALTER COLUMN cost_saved_usd DROP NOT NULL;
