-- Supervising departments (行业主管部门) and which premises each supervises (docs/registry.md): warning
-- notices of a premises go to its unit and to its departments (docs/alerts.md).
CREATE TABLE departments (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    email       text,
    webhook_url text,
    phone       text
);
ALTER TABLE premises ADD COLUMN departments text[] NOT NULL DEFAULT '{}';
