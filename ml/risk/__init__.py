"""The dropout-risk model: the two learners, training, honest evaluation, calibration, explanations,
the ground-truth yardstick and the model report and card."""
