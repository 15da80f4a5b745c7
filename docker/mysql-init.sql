-- Runs once, as root, when the MariaDB 10.11 container (compose.yml's `mysql` service) first creates its
-- data directory. The databases are made utf8mb4_unicode_ci, though no table depends on it: each states
-- its own character set and collation, so a database created with the server's defaults works too.
-- The records database and the keystore are separate databases (the keystore may also live on
-- another server: point KEYSTORE_URL there). The compose file's MARIADB_USER, `hotline`, is the
-- migrator: it changes the schema (`npm run migrate`, compose's migrate service) and, after each
-- migration, creates the apps' own accounts and gives each only its grants (scripts/db-accounts.sql),
-- for which it holds GRANT OPTION on the two databases and CREATE USER. No app connects as it.
CREATE DATABASE IF NOT EXISTS hotline CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS hotline_keys CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON hotline.* TO 'hotline'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON hotline_keys.* TO 'hotline'@'%' WITH GRANT OPTION;
GRANT CREATE USER ON *.* TO 'hotline'@'%';
