-- Roles and database for Chirp. Run once, by the lab's superuser, on a new cluster (both modes).
CREATE ROLE chirp LOGIN PASSWORD 'chirp';
CREATE DATABASE chirp OWNER chirp;
\connect chirp
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- Lab 1 reads pg_stat_activity and pg_stat_statements as the app's own user.
GRANT pg_read_all_stats TO chirp;
