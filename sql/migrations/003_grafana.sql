-- Grafana reads the log through its own role: SELECT on the four tables its queries use and
-- nothing else (no writes, no other tables). Roles are cluster-wide, so another database on the
-- same server may have created it already: create it only when missing, and never reset a
-- password an operator has changed. The default password 'tollgate_grafana' is the one
-- provisioning/datasources/tollgate-postgres.yaml uses unless TOLLGATE_GRAFANA_DB_PASSWORD is set;
-- change both outside the demo (ALTER ROLE tollgate_grafana PASSWORD '...').
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tollgate_grafana') THEN
    CREATE ROLE tollgate_grafana LOGIN PASSWORD 'tollgate_grafana'
      NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;
  END IF;
EXCEPTION
  -- Two databases migrating at the same moment: the other one won the race.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Belt and braces: even a mistaken grant cannot write, and a runaway panel query is cut off.
ALTER ROLE tollgate_grafana SET default_transaction_read_only = on;
ALTER ROLE tollgate_grafana SET statement_timeout = '30s';

GRANT SELECT ON openai_call_log, persona_cache, request_log, response_cache TO tollgate_grafana;

-- Indexes for the panel queries (sql/queries), chosen with sql/explain.ts on a few million rows.
