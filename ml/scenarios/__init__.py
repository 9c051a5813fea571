"""What-if scenarios: the engine, its levers, stage-conversion arithmetic, and the stage-attendance
model and pathway chain it projects with."""
