-- Counterfactual tiers (docs/scoring.md "Risk score and tier"): with each risk score, each open item
-- of the premises that its unit can close, and the score and tier it would leave.
ALTER TABLE risk_scores ADD COLUMN if_closed jsonb NOT NULL DEFAULT '[]';
