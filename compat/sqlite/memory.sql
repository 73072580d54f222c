-- An in-memory database: no file at all (a baseline for the others).
CREATE TABLE t(x INTEGER, y TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO t SELECT i, printf('%08x', (i * 2654435761) % 4294967296) FROM n;
SELECT count(*), sum(x), max(length(y)) FROM t;
SELECT x, y FROM t WHERE x % 250 = 0;
SELECT json_object('sum', sum(x), 'avg', avg(x)) FROM t;
PRAGMA integrity_check;
