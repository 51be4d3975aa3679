"""Training and evaluating the scoring models, offline: ``firewarden model train``, ``firewarden evaluate``,
``make models``.

The one place besides the simulators' own commands that imports the simulators (simulated history
and runs are what the models learn from and are judged against) and scikit-learn (which fits them).
No running process imports this package: scoring loads the fitted parameters (:mod:`scoring.models`).
"""
