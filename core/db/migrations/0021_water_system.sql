-- Water-system gauges (docs/registry.md): the water system a gauge measures. A premises' gauges on one
-- system measuring one metric are judged against each other (docs/scoring.md "Gauges on one system").
ALTER TABLE devices ADD COLUMN water_system text CHECK (length(water_system) BETWEEN 1 AND 200);
