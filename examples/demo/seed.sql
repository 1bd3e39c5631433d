-- Demo data: 2,000 GL accounts and the ERP's view of them, with planted differences a controller must explain:
-- account 1042 differs by 0.01 (rounding), 1777 is missing in the ERP, 9001 exists only in the ERP,
-- and 1500 carries a transposition (1,563.00 vs 1,536.00).
DROP TABLE IF EXISTS gl_balances;
DROP TABLE IF EXISTS erp_balances;
CREATE TABLE gl_balances (account_code text PRIMARY KEY, balance numeric(18,2) NOT NULL);
CREATE TABLE erp_balances (acct_num text PRIMARY KEY, total numeric(18,2) NOT NULL);
INSERT INTO gl_balances SELECT (1000 + g)::text, round((g * 37.13) % 10000, 2) FROM generate_series(1, 2000) g;
UPDATE gl_balances SET balance = 1563.00 WHERE account_code = '1500';
INSERT INTO erp_balances SELECT account_code, balance FROM gl_balances WHERE account_code <> '1777';
UPDATE erp_balances SET total = total + 0.01 WHERE acct_num = '1042';
UPDATE erp_balances SET total = 1536.00 WHERE acct_num = '1500';
INSERT INTO erp_balances VALUES ('9001', 250.00);
