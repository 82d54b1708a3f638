"""Hash-grid encoding speed: points/s forward+backward through three planes x 12 levels at 65,536 points.

Target (issue 6): >= 1M points/s on 2 CPU cores; a naive per-level Python loop does about 0.13M.
Prints one JSON object on its last line. Wall-clock figures depend on what else runs on the
machine: the load average before and after is reported with them, and process CPU time too.
"""
from __future__ import annotations
import argparse, json, os, platform, resource, statistics, time

import torch

from synctalk.encoding import TriPlaneEncoding, grid_layout, spatial_hash


def naive_plane(x01, table, layout):
    "The straightforward version: a Python loop over levels, autograd through every step. x01 [N, 2], table [S]."
    feats = []
    for l, (R, off, size) in enumerate(zip(layout.resolutions, layout.offsets, layout.sizes)):
        pos = x01 * (R - 1)
        p0 = pos.floor().clamp(max=R - 2).long(); f = pos - p0
        out = 0
        for a in (0, 1):
            for b in (0, 1):
                i, j = p0[:, 0] + a, p0[:, 1] + b
                idx = j * R + i if R * R <= size else spatial_hash(i, j, layout.log2_hashmap_size)
                w = (f[:, 0] if a else 1 - f[:, 0]) * (f[:, 1] if b else 1 - f[:, 1])
                out = out + table[off + idx] * w
        feats.append(out)
    return torch.stack(feats, -1)


def time_it(step, reps):
    "Median wall and process-CPU seconds of `step()` over `reps` runs, after one warm-up."
    step()
    walls, cpus = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - w0); cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--points", type=int, default=65536)
    p.add_argument("--reps", type=int, default=9)
    args = p.parse_args()
    N = args.points
    torch.manual_seed(0)
    load_before = os.getloadavg()
    results = {}
    for threads in sorted({torch.get_num_threads(), 1}, reverse=True):
        torch.set_num_threads(threads)
        enc = TriPlaneEncoding(implementation="torch")
        def fwd_bwd():
            enc.zero_grad(set_to_none=True)
            enc(torch.rand(N, 3) * 2 - 1).square().sum().backward()
        def fwd():
            with torch.no_grad(): enc(torch.rand(N, 3) * 2 - 1)
        (w, c), (wf, _) = time_it(fwd_bwd, args.reps), time_it(fwd, args.reps)
        results[threads] = dict(fwd_bwd_points_per_s=N / w, fwd_bwd_points_per_cpu_s=N / c, fwd_points_per_s=N / wf)
        print(f"{threads} thread(s): {N / w / 1e6:.2f} M points/s forward+backward ({N / c / 1e6:.2f} M per CPU-second), "
              f"{N / wf / 1e6:.2f} M points/s forward only")
    torch.set_num_threads(max(results))
    lay = grid_layout()
    tables = [torch.zeros(lay.table_size, requires_grad=True) for _ in range(3)]
    def naive():
        x = torch.rand(N, 3)
        sum(naive_plane(x[:, pl], t, lay).square().sum() for pl, t in zip(([0, 1], [1, 2], [0, 2]), tables)).backward()
    wn, _ = time_it(naive, 3)
    print(f"naive per-level loop: {N / wn / 1e6:.2f} M points/s forward+backward")
    gpu = None
    if torch.cuda.is_available():
        gpu = {}
        for impl in ("torch", "tcnn"):
            enc = TriPlaneEncoding(implementation=impl).cuda()
            x = torch.rand(N * 4, 3, device="cuda") * 2 - 1
            def step():
                enc(x).square().sum().backward(); torch.cuda.synchronize()
            wg, _ = time_it(step, args.reps)
            gpu[enc.implementation] = N * 4 / wg
        print(f"GPU ({torch.cuda.get_device_name()}): " + ", ".join(f"{k} {v / 1e6:.1f} M points/s" for k, v in gpu.items()))
    best = max(r["fwd_bwd_points_per_s"] for r in results.values())
    print(json.dumps(dict(
        benchmark="encoding", points=N, planes=3, levels=12, features_per_level=1, log2_hashmap_size=14,
        points_per_s_fwd_bwd={str(k): round(v["fwd_bwd_points_per_s"]) for k, v in results.items()},
        points_per_cpu_s_fwd_bwd={str(k): round(v["fwd_bwd_points_per_cpu_s"]) for k, v in results.items()},
        points_per_s_fwd={str(k): round(v["fwd_points_per_s"]) for k, v in results.items()},
        naive_points_per_s_fwd_bwd=round(N / wn), target_points_per_s=1_000_000, meets_target=best >= 1e6,
        gpu_points_per_s_fwd_bwd=gpu, machine=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
        torch_threads=max(results), device="cpu", load_avg_before=[round(v, 2) for v in load_before],
        load_avg_after=[round(v, 2) for v in os.getloadavg()]), peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))))


if __name__ == "__main__":
    main()
