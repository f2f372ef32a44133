# Reference: hnswlib's Python API (hnswlib.Index: init_index(max_elements, M, ef_construction,
# random_seed), add_items, set_ef, knn_query); the vector files rag/hnsw_bench_test.go reads.
#
# Writes N random unit vectors (dim D, seeded) and Q queries as little-endian float32 files
# (or, when DIR/base.f32 and DIR/query.f32 exist, reads those: rag's hnsw_bench_test.go
# writes hashed text embeddings there), the exact top-10 of each query (inner product), and
# prints hnswlib's build time and queries/s and recall@10 at several ef, single-threaded:
#   python3 rag/bench/hnswlib_bench.py DIR [N] [D]
import json, os, sys, time
import numpy as np
import hnswlib

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
d = int(sys.argv[3]) if len(sys.argv) > 3 else 384
q = 1000
os.makedirs(out, exist_ok=True)
if os.path.exists(os.path.join(out, "base.f32")):
    x = np.fromfile(os.path.join(out, "base.f32"), dtype="<f4").reshape(-1, d)
    qs = np.fromfile(os.path.join(out, "query.f32"), dtype="<f4").reshape(-1, d)
    n, q = len(x), len(qs)
else:
    rng = np.random.default_rng(22)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    qs = rng.standard_normal((q, d), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    x.astype("<f4").tofile(os.path.join(out, "base.f32"))
    qs.astype("<f4").tofile(os.path.join(out, "query.f32"))
exact = np.argsort(-(qs @ x.T), axis=1)[:, :10].astype("<i4")
exact.tofile(os.path.join(out, "exact.i32"))

idx = hnswlib.Index(space="ip", dim=d)
idx.init_index(max_elements=n, M=16, ef_construction=200, random_seed=1)
idx.set_num_threads(1)
t, c = time.perf_counter(), time.process_time()
idx.add_items(x, np.arange(n), num_threads=1)
build, build_cpu = time.perf_counter() - t, time.process_time() - c
# CPU seconds beside wall seconds: on a shared machine only the former compare
res = {"n": n, "dim": d, "queries": q, "build_s": build, "build_cpu_s": build_cpu, "ef": {}}
for ef in (16, 32, 64, 128, 256, 512, 1024):
    idx.set_ef(ef)
    t, c = time.perf_counter(), time.process_time()
    labels = np.empty((q, 10), dtype=np.int64)
    for i in range(q):  # one query per call, as a service answers them
        labels[i], _ = idx.knn_query(qs[i:i+1], k=10, num_threads=1)
    el, cpu = time.perf_counter() - t, time.process_time() - c
    recall = np.mean([len(set(labels[i]) & set(exact[i])) / 10 for i in range(q)])
    res["ef"][ef] = {"qps": q / el, "qps_cpu": q / cpu, "recall10": float(recall)}
print(json.dumps(res, indent=1))
