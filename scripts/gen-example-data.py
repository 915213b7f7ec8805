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

# fedavg.mpc: one round of federated averaging of a linear model of 8 features.  The current
# global model (party a's input) and, for each of 120 clients, its update after local
# training: a few gradient steps on its own 30 samples (y = w_true · x + noise, each client's
# features shifted a little), the difference to the global model clipped to the validity range
# -1..1, one contribution per line.  Drawn with a generator of its own so the files above stay.
fl = random.Random(20261202)
w_true = [0.80, -0.50, 0.30, 0.00, 1.20, -0.90, 0.40, 0.10]
w_global = [0.20, 0.10, 0.00, 0.30, 0.40, -0.20, 0.10, 0.00]
write("fedavg_model.csv", [f"{w:.2f}" for w in w_global])
updates = []
for _ in range(120):
    shift = [fl.gauss(0.0, 0.5) for _ in w_true]
    xs = [[fl.gauss(s, 1.0) for s in shift] for _ in range(30)]
    ys = [sum(wt * xi for wt, xi in zip(w_true, x)) + fl.gauss(0.0, 0.3) for x in xs]
    w = list(w_global)
    for _ in range(5):   # full-batch gradient descent on the squared error, step 0.05
        grad = [0.0] * len(w)
        for x, y in zip(xs, ys):
            err = sum(wi * xi for wi, xi in zip(w, x)) - y
            grad = [g + 2 * err * xi / len(xs) for g, xi in zip(grad, x)]
        w = [wi - 0.05 * g for wi, g in zip(w, grad)]
    updates.append(", ".join(f"{max(-1.0, min(1.0, wi - wg)):.3f}" for wi, wg in zip(w, w_global)))
with open(os.path.join(out, "fedavg_updates.csv"), "w") as f:
    f.write("\n".join(updates) + "\n")
