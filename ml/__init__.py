"""Models and analytics on top of the data layer (risk model, scenarios, targeting, monitoring, CLIs).

Importing the package makes OpenMP threads wait passively unless OMP_WAIT_POLICY is set: the
OpenMP runtimes of scikit-learn and LightGBM read it once, when they load (after this package,
which ``data`` does not need), and with the default active spinning their threads starve
whenever another process holds a core. On the shared 2-core machine (load 6-7) a shallow
gradient-boosting grid search took 96-121 s spinning against 4-5 s waiting passively, and a
2-thread LightGBM fit of 56k rows 12-40 s against 1.8-2.2 s.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
