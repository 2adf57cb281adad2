-- Runs once, when the postgres container starts on an empty volume (docker-entrypoint-initdb.d).
-- Databases for the homeservers of the development stack; the appservice's own database is POSTGRES_DB.
-- Development passwords: the backend network is internal and PostgreSQL is not published.

-- Synapse refuses a database whose collation is not C (docs/postgres.md: "Set up database").
CREATE ROLE synapse LOGIN PASSWORD 'synapse-dev';
CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;

CREATE ROLE dendrite LOGIN PASSWORD 'dendrite-dev';
CREATE DATABASE dendrite OWNER dendrite ENCODING 'UTF8';
