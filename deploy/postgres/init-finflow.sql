-- First start of the finflow-db container (docker-entrypoint-initdb.d): the general ledger the close reconciles
-- lives in its own database beside finflow's own (outbox, result store, audit ledger, access log).
CREATE DATABASE general_ledger OWNER finflow;
