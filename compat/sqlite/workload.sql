-- Run in the journal mode sqlitehost is given (rollback or WAL): tables, transactions kept and
-- undone, savepoints, constraints, indexes, joins, VACUUM, a checkpoint, integrity.
CREATE TABLE fruit(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, colour TEXT, price REAL);
CREATE TABLE sale(id INTEGER PRIMARY KEY, fruit INTEGER REFERENCES fruit(id), qty INTEGER);
BEGIN;
INSERT INTO fruit(name, colour, price) VALUES ('apple', 'red', 0.5), ('kiwi', 'green', 0.25),
  ('fig', 'purple', 0.9), ('lemon', 'yellow', 0.3);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO sale(fruit, qty) SELECT 1 + i % 4, i % 7 FROM n;
COMMIT;
BEGIN;
DELETE FROM sale;
UPDATE fruit SET price = 0;
ROLLBACK;
SELECT count(*), sum(qty) FROM sale;
SELECT name, printf('%.2f', price) FROM fruit ORDER BY name;
CREATE INDEX sale_fruit ON sale(fruit);
SELECT f.name, sum(s.qty), printf('%.2f', sum(s.qty * f.price)) FROM sale s JOIN fruit f ON f.id = s.fruit
  GROUP BY f.name ORDER BY 3 DESC;
SAVEPOINT one;
INSERT INTO fruit(name) VALUES ('grape');
RELEASE one;
SAVEPOINT two;
INSERT INTO fruit(name) VALUES ('mango');
ROLLBACK TO two;
RELEASE two;
SELECT group_concat(name, ',') FROM (SELECT name FROM fruit ORDER BY id);
INSERT OR IGNORE INTO fruit(name) VALUES ('apple');
SELECT changes();
VACUUM;
PRAGMA integrity_check;
PRAGMA journal_mode;
PRAGMA wal_checkpoint(TRUNCATE);
SELECT count(*) FROM sale;
