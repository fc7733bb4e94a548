-- patrol schema 8: the people who may use `patrol serve` from other
-- computers, with their role and an argon2 hash of their password. Local
-- to this database file: never exported (an export's copy is emptied),
-- never merged.
CREATE TABLE users (
  name TEXT NOT NULL PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('ranger', 'manager', 'coordinator')),
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
