#!/usr/bin/env python3
"""Replays sp_scaler_compare's steps (tests/gpu/scaler_compare.cpp) with PyTorch's own
torch.amp.GradScaler and compares the scale before and after every step, which steps were skipped,
and the final weights. Prints one JSON object; exit 0 when they agree, 1 when not, 77 when this
PyTorch has no torch.amp.GradScaler for the device (PyTorch < 2.3 on the CPU).

    scaler_compare.py DIR [--rtol 1e-5]
"""
import json
import sys

import numpy as np
import torch


def main():
    d = sys.argv[1]
    rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 1e-5
    meta = dict(line.split() for line in open(f"{d}/meta.txt") if line.strip())
    device = meta["device"]
    steps, batch, n_in, classes = (int(meta[k]) for k in ("steps", "batch", "in", "classes"))
    try:
        scaler = torch.amp.GradScaler(device, init_scale=float(meta["init_scale"]),
                                      growth_interval=int(meta["growth_interval"]))
    except (AttributeError, TypeError, RuntimeError) as e:
        print(json.dumps({"status": "unavailable", "torch": torch.__version__, "why": str(e)}))
        return 77
    if not scaler.is_enabled():
        print(json.dumps({"status": "unavailable", "torch": torch.__version__,
                          "why": f"GradScaler disabled on {device}"}))
        return 77
    torch.use_deterministic_algorithms(True)
    w0 = np.fromfile(f"{d}/init_weight.f32", dtype="<f4").reshape(classes, n_in)
    b0 = np.fromfile(f"{d}/init_bias.f32", dtype="<f4")
    x = np.fromfile(f"{d}/x.f32", dtype="<f4").reshape(steps, batch, n_in)
    y = np.fromfile(f"{d}/y.i64", dtype="<i8").reshape(steps, batch)
    model = torch.nn.Linear(n_in, classes).to(device)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(w0))
        model.bias.copy_(torch.from_numpy(b0))
    opt = torch.optim.SGD(model.parameters(), lr=float(meta["lr"]))
    sp_trace = [line.rstrip("\n").split("\t") for line in open(f"{d}/trace.tsv")][1:]
    mismatches = []
    skipped = 0
    for s in range(steps):
        opt.zero_grad()
        xs = torch.from_numpy(x[s]).to(device)
        ys = torch.from_numpy(y[s]).to(device)
        with torch.autocast(device_type=device, dtype=torch.float16, enabled=device == "cuda"):
            logits = model(xs)
        loss = torch.nn.functional.cross_entropy(logits.float(), ys)
        before = scaler.get_scale()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        after = scaler.get_scale()
        stepped = after >= before  # a skipped step backs the scale off
        skipped += 0 if stepped else 1
        _, sp_before, sp_stepped, sp_after = sp_trace[s]
        if (float(sp_before), int(sp_stepped), float(sp_after)) != (before, int(stepped), after):
            mismatches.append({"step": s, "sp": [float(sp_before), int(sp_stepped), float(sp_after)],
                               "torch": [before, int(stepped), after]})
    w = np.fromfile(f"{d}/final_weight.f32", dtype="<f4").reshape(classes, n_in)
    b = np.fromfile(f"{d}/final_bias.f32", dtype="<f4")
    tw = model.weight.detach().cpu().numpy()
    tb = model.bias.detach().cpu().numpy()
    diff = float(max(np.max(np.abs(w - tw)), np.max(np.abs(b - tb))))
    scale_ref = float(max(np.max(np.abs(tw)), np.max(np.abs(tb)), 1e-30))
    ok = not mismatches and diff <= rtol * scale_ref
    print(json.dumps({"status": "agree" if ok else "differ", "device": device,
                      "torch": torch.__version__, "steps": steps, "skipped_torch": skipped,
                      "skipped_sp": int(meta["skipped"]), "final_scale": scaler.get_scale(),
                      "max_abs_weight_diff": diff, "bit_identical_weights": diff == 0.0,
                      "scale_mismatches": mismatches[:5]}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
