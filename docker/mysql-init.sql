-- The records database and the keystore are separate databases (the keystore may also live on
-- another server: point KEYSTORE_URL there). The compose file's MYSQL_USER is `hotline`.
CREATE DATABASE IF NOT EXISTS hotline CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS hotline_keys CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON hotline.* TO 'hotline'@'%';
GRANT ALL PRIVILEGES ON hotline_keys.* TO 'hotline'@'%';
