#!/usr/bin/env python3
"""Writes the example data in examples/data/ (deterministic: fixed seed).

Three hospitals' lab values (LDL cholesterol, mg/dL, 1000 patients each) for joint_stats.mpc
and joint_corr.mpc, and a patient's features and a provider's model for the risk examples."""
import os
import random

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data")
os.makedirs(out, exist_ok=True)
rng = random.Random(20261127)


def write(name, values):
    with open(os.path.join(out, name), "w") as f:
        for i in range(0, len(values), 10):
            f.write(",".join(values[i:i + 10]) + "\n")


for h, (mu, sd) in zip("abc", [(118.0, 31.0), (126.0, 35.0), (109.0, 28.0)]):
    ldl = [max(40.0, rng.gauss(mu, sd)) for _ in range(1000)]
    # A second measurement correlated with the first (e.g. total cholesterol).
    tc = [0.9 * x + 70.0 + rng.gauss(0.0, 15.0) for x in ldl]
    write(f"ldl_{h}.csv", [f"{x:.1f}" for x in ldl])
    write(f"tc_{h}.csv", [f"{x:.1f}" for x in tc])

write("patient_x4.csv", ["0.62", "1.30", "-0.45", "0.88"])
write("provider_w4.csv", ["0.75", "-0.20", "1.10", "0.35"])

# risk_score.mpc: eight standardised features of a patient and a provider's logistic model.
write("patient_x8.csv", ["0.62", "1.30", "-0.45", "0.88", "1.75", "-0.20", "0.05", "2.10"])
write("provider_w8.csv", ["0.75", "-0.20", "1.10", "0.35", "0.48", "-0.90", "0.15", "0.40"])

# dp_histogram.mpc: the ages of three hospitals' patients (1000 each), drawn after everything
# above so that the earlier files do not change.
for h, (mu, sd) in zip("abc", [(52.0, 19.0), (61.0, 17.0), (38.0, 21.0)]):
    ages = [min(104, max(0, int(round(rng.gauss(mu, sd))))) for _ in range(1000)]
    write(f"age_{h}.csv", [str(x) for x in ages])
