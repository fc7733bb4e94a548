-- patrol schema 5: a person's decision on a row a merge set aside (`patrol quarantine`).
ALTER TABLE quarantine ADD COLUMN decided_at TEXT;   -- RFC 3339, UTC; NULL while it waits for a person
ALTER TABLE quarantine ADD COLUMN decision TEXT;     -- 'dropped': the set-aside row is not wanted (the kept row stays)
