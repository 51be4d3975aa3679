-- The random draw that anyone can check (alerts/draws.py, docs/supervision.md): per period, the value
-- published before the draw (beacon), the seed it gives, and every input of the draw, so that it can
-- be drawn again and compared.
CREATE TABLE draw_runs (
    period          text PRIMARY KEY,
    beacon          text,
    seed            bigint NOT NULL,
    pool            jsonb NOT NULL,     -- premises ids, sorted
    candidates      jsonb NOT NULL,     -- premises id -> inspectors eligible for it
    regular         jsonb NOT NULL,     -- premises id -> its regular inspector (never drawn for it)
    draw_share      double precision NOT NULL,
    draw_inspectors integer NOT NULL,
    drawn_at        timestamptz NOT NULL,
    drawn_by        text NOT NULL
);
