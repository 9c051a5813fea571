"""The synthetic world: the simulator, its parameters, the ground truth and what-if re-simulation.

A leaf: nothing on the path a user's own data takes (ingest, validation, journeys,
cohorts, training, the app) imports it. Only the generator CLI, the start-up that
generates the default dataset, and the yardsticks (oracle AUC, scenario truth) load
it, and those only for a dataset that carries its ground truth.
"""
