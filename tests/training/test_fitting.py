"""The parameters scoring evaluates give scikit-learn's own answers, for both models."""

from __future__ import annotations

import random

import numpy as np

from core.policy import AnomalyPolicy
from simulators.history import simulate_history
from training.fitting import fit_metric, fit_risk
from training.models import anomaly_windows, risk_examples


def test_the_risk_parameters_give_the_calibrated_classifiers_probabilities() -> None:
    rows, labels = risk_examples(simulate_history(1200, 3))
    model, classifier = fit_risk("risk-test", rows, labels)
    rng = np.random.default_rng(3)
    baseline = model.baseline
    x = baseline + rng.normal(0.0, 2.0, size=(500, len(baseline))) * np.maximum(np.abs(baseline), 1.0)
    x = np.vstack([x, baseline * 1000, -baseline * 1000])  # past both ends of every calibration
    np.testing.assert_allclose(model.positive(x), classifier.predict_proba(x)[:, 1], rtol=0, atol=1e-12)


def test_the_envelope_parameters_give_the_envelopes_decision() -> None:
    windows = anomaly_windows(4, 8, 7, AnomalyPolicy())
    rng = random.Random(3)
    fitted = 0
    for rows in windows.values():
        if len(rows) < 50:
            continue
        try:
            model, envelope = fit_metric(np.asarray(rows))
        except ValueError:  # a metric that barely moves
            continue
        fitted += 1
        for _ in range(50):
            features = (rng.uniform(-6, 2), rng.uniform(-50, 50), rng.uniform(0, 1))
            expected = float(envelope.decision_function([features])[0])
            assert abs(model.decision(features) - expected) <= 1e-6 * max(1.0, abs(expected))
    assert fitted >= 3
