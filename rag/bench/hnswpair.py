# Reference: hnswlib's Python API (Index.init_index(max_elements, M, ef_construction, random_seed),
# add_items, set_ef, knn_query) and the worker protocol of rag/hnsw_bench_test.go's TestHNSWPair.
#
# gptgo's HNSW and hnswlib side by side in one sitting, on the same vectors with the same
# M / efConstruction / efSearch, single-threaded, one query per call, k = 10:
#
#   go test -c -o /tmp/rag.test ./rag
#   /usr/bin/python3 rag/bench/hnswpair.py DIR /tmp/rag.test [--n 100000] [--rounds 3] [--queries N] [--also NAME=BINARY]
#
# DIR holds base.f32 and query.f32 (little-endian float32, dim 384; written here as seeded
# random unit vectors when absent, or by TestWriteTextVectors for hashed text). The script
# computes the exact top-10 of every query (inner product) into DIR/exact.i32, builds
# hnswlib's graph in this process and gptgo's in the worker (the test binary, driven over
# its stdin and stdout), one after the other, then alternates query rounds: hnswlib, gptgo,
# hnswlib, gptgo, ... so that both see the same load on a shared machine. Figures are per
# CPU second of the searching process (process_time / getrusage) beside wall seconds; the
# memory figure is the growth of each process's resident set across its build (vectors
# copied into the index included: hnswlib copies them, gptgo keeps them in its slab).
# Prints a JSON object and a Markdown table (medians over rounds; per-round ratios).
import argparse, json, os, statistics, subprocess, sys, time
import numpy as np
import hnswlib

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("worker", help="the rag test binary (go test -c ./rag)")
p.add_argument("--also", action="append", default=[], help="NAME=BINARY: another rag test binary (e.g. an older commit's) run beside, alternating too")
p.add_argument("--n", type=int, default=100000)
p.add_argument("--dim", type=int, default=384)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--ef", default="16,32,64,128,256,512,1024")
p.add_argument("--M", type=int, default=16)
p.add_argument("--efc", type=int, default=200)
p.add_argument("--queries", type=int, default=0, help="use only the first N queries (0: all; large ef on random vectors is slow)")
a = p.parse_args()
d, out = a.dim, a.dir
efs = [int(x) for x in a.ef.split(",")]
os.makedirs(out, exist_ok=True)


def rss_mb(pid="self"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


bp, qp = os.path.join(out, "base.f32"), os.path.join(out, "query.f32")
if not os.path.exists(bp):
    rng = np.random.default_rng(22)
    x = rng.standard_normal((a.n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    qs = rng.standard_normal((1000, d), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    x.astype("<f4").tofile(bp)
    qs.astype("<f4").tofile(qp)
x = np.fromfile(bp, dtype="<f4").reshape(-1, d)
qs = np.fromfile(qp, dtype="<f4").reshape(-1, d)
n, q = len(x), len(qs)
ep = os.path.join(out, "exact.i32")
if not os.path.exists(ep) or os.path.getsize(ep) != 4 * 10 * q:
    exact = np.empty((q, 10), dtype="<i4")
    for s in range(0, q, 100):  # 100 queries at a time: a 100 × n score block
        sc = qs[s:s+100] @ x.T
        part = np.argpartition(-sc, 10, axis=1)[:, :10]
        order = np.argsort(-np.take_along_axis(sc, part, axis=1), axis=1, kind="stable")
        exact[s:s+100] = np.take_along_axis(part, order, axis=1)
    exact.tofile(ep)
exact = np.fromfile(ep, dtype="<i4").reshape(q, 10)
if 0 < a.queries < q:
    qs, exact, q = qs[:a.queries], exact[:a.queries], a.queries
truth = [set(r) for r in exact]
res = {"n": n, "dim": d, "queries": q, "M": a.M, "ef_construction": a.efc, "rounds": a.rounds}

# hnswlib's build, in this process.
r0 = rss_mb()
idx = hnswlib.Index(space="ip", dim=d)
idx.init_index(max_elements=n, M=a.M, ef_construction=a.efc, random_seed=1)
idx.set_num_threads(1)
t, c = time.perf_counter(), time.process_time()
idx.add_items(x, np.arange(n), num_threads=1)
res["hnswlib_build"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c, "rss_growth_mb": rss_mb() - r0}
print("hnswlib built:", res["hnswlib_build"], file=sys.stderr, flush=True)

# gptgo's build, in each worker (one after the other).
env = dict(os.environ, GPTGO_HNSW_PAIR=out, GPTGO_HNSW_M=str(a.M), GPTGO_HNSW_EFC=str(a.efc), GPTGO_HNSW_QUERIES=str(q))
workers = {}
for name, path in [("gptgo", a.worker)] + [x.split("=", 1) for x in a.also]:
    w = subprocess.Popen([path, "-test.run", "^TestHNSWPair$", "-test.timeout", "5h"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    workers[name] = w
    res[name + "_build"] = None


def reply(w):
    for line in w.stdout:
        if line.startswith("PAIR "):
            return json.loads(line[5:])
    raise SystemExit("worker ended without an answer (rc %s)" % w.wait())


for name, w in workers.items():
    res[name + "_build"] = reply(w)
    print(name, "built:", res[name + "_build"], file=sys.stderr, flush=True)


def hnswlib_round():
    out = {}
    for ef in efs:
        idx.set_ef(ef)
        labels = np.empty((q, 10), dtype=np.int64)
        t, c = time.perf_counter(), time.process_time()
        for i in range(q):  # one query per call, as a service answers them
            labels[i], _ = idx.knn_query(qs[i:i+1], k=10, num_threads=1)
        el, cpu = time.perf_counter() - t, time.process_time() - c
        rec = sum(len(set(labels[i]) & truth[i]) for i in range(q)) / (10 * q)
        out[ef] = {"qps": q / el, "qps_cpu": q / cpu, "recall10": rec}
    return out


rounds = {"hnswlib": []}
rounds.update({name: [] for name in workers})
for r in range(a.rounds):
    rounds["hnswlib"].append(hnswlib_round())
    for name, w in workers.items():
        w.stdin.write(",".join(map(str, efs)) + "\n")
        w.stdin.flush()
        rounds[name].append({int(k): v for k, v in reply(w)["ef"].items()})
    print("round", r + 1, "done", json.dumps({k: v[-1] for k, v in rounds.items()}), file=sys.stderr, flush=True)
for w in workers.values():
    w.stdin.write("quit\n")
    w.stdin.flush()
    w.wait()

# Exact search (numpy, one query per call) for scale.
t, c = time.perf_counter(), time.process_time()
for i in range(100):
    np.argpartition(-(x @ qs[i]), 10)[:10]
res["numpy_exact_qps_cpu"] = 100 / (time.process_time() - c)

table = []
for ef in efs:
    h = [rd[ef] for rd in rounds["hnswlib"]]
    g = [rd[ef] for rd in rounds["gptgo"]]
    ratios = [gg["qps_cpu"] / hh["qps_cpu"] for gg, hh in zip(g, h)]
    row = {"ef": ef,
           "gptgo_recall": g[0]["recall10"], "gptgo_qps_cpu": statistics.median(x["qps_cpu"] for x in g),
           "gptgo_qps": statistics.median(x["qps"] for x in g),
           "hnswlib_recall": h[0]["recall10"], "hnswlib_qps_cpu": statistics.median(x["qps_cpu"] for x in h),
           "hnswlib_qps": statistics.median(x["qps"] for x in h),
           "ratio_median": statistics.median(ratios), "ratios": ratios}
    table.append(row)
res["table"] = table
res["rounds_raw"] = rounds
for name in workers:
    if name == "gptgo":
        continue
    for ef in efs:  # each other worker against hnswlib and against gptgo, per round
        o = [rd[ef] for rd in rounds[name]]
        g = [rd[ef] for rd in rounds["gptgo"]]
        h = [rd[ef] for rd in rounds["hnswlib"]]
        print("%s ef %d: recall %.3f, %.0f q/CPU-s; gptgo/%s %s; %s/hnswlib %s" % (
            name, ef, o[0]["recall10"], statistics.median(x["qps_cpu"] for x in o), name,
            ", ".join("%.2f" % (gg["qps_cpu"] / oo["qps_cpu"]) for gg, oo in zip(g, o)), name,
            ", ".join("%.2f" % (oo["qps_cpu"] / hh["qps_cpu"]) for oo, hh in zip(o, h))))
print(json.dumps(res, indent=1))
print("| ef | gptgo recall@10 | gptgo q/CPU-s | hnswlib recall@10 | hnswlib q/CPU-s | ratio (median; rounds) |")
print("|---|---|---|---|---|---|")
for r in table:
    print("| %d | %.3f | %s | %.3f | %s | %.2f (%s) |" % (
        r["ef"], r["gptgo_recall"], f'{r["gptgo_qps_cpu"]:,.0f}', r["hnswlib_recall"],
        f'{r["hnswlib_qps_cpu"]:,.0f}', r["ratio_median"], ", ".join("%.2f" % x for x in r["ratios"])))
for name in workers:
    if name != "gptgo":
        ob = res[name + "_build"]
        print("build %s: %.1f CPU-s (%.1f wall), RSS +%.0f MB" % (name, ob["cpu_s"], ob["wall_s"], ob["rss_growth_mb"]))
gb, hb = res["gptgo_build"], res["hnswlib_build"]
print("build: gptgo %.1f CPU-s (%.1f wall), RSS +%.0f MB (live heap +%.0f MB); hnswlib %.1f CPU-s (%.1f wall), RSS +%.0f MB; numpy exact %.0f q/CPU-s" % (
    gb["cpu_s"], gb["wall_s"], gb["rss_growth_mb"], gb.get("heap_live_mb", 0), hb["cpu_s"], hb["wall_s"], hb["rss_growth_mb"], res["numpy_exact_qps_cpu"]))
