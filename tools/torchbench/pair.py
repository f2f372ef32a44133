#!/usr/bin/env python3
# Reference: ../shared/tools/benchpair.py (alternating rounds, foreign load measured from /proc/stat, contended runs
# retried and flagged).
"""gptgo's BenchmarkTrainStep against PyTorch (train_step.py) on the same shapes, alternating engine by engine
within each round, 3 steps each (the first included, as `-benchtime 3x`), torch and gptgo on 2 threads.

  go test -c -o /tmp/train.test ./train/
  /usr/bin/python3 tools/torchbench/pair.py --gptgo /tmp/train.test [--gptgo /tmp/other.test] [--rounds 3] [--shapes 0.9M 15M]

Prints a line per run and, per shape and engine, the medians of first-step seconds, steady-step seconds (wall and
CPU, all threads) and tok/s over all three steps, and each gptgo's median ratio to PyTorch (per round): of tok/s,
and of the three steps' CPU seconds, which another program sharing the cores moves far less. --threads 1 pins
both engines to CPU 0 (taskset). A run during which other
processes used more than --max-foreign cores is retried, then flagged CONTENDED: on 2 cores such a ratio is void.
--torch-passive adds PyTorch with OMP_WAIT_POLICY=PASSIVE: Debian's torch spins its idle OpenMP threads while
OpenBLAS's threads run the GEMMs, which on 2 cores costs it ~1.7x in wall time (docs/training.md)."""
import argparse, json, os, re, statistics, subprocess, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf('SC_CLK_TCK')

def busy():
    f = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / HZ

def run(cmd, env):
    b0, t0, r0 = busy(), time.time(), os.times()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall, b1, r1 = time.time() - t0, busy(), os.times()
    if p.returncode:
        raise RuntimeError(' '.join(cmd) + ': ' + (p.stderr or p.stdout)[-400:])
    own = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    return p.stdout, max(0.0, (b1 - b0 - own) / wall), own

def pin(threads):  # one thread: pinned to CPU 0, where Go's NumCPU (the pool's size) reads 1
    return ['taskset', '-c', '0'] if threads == 1 else []

def gptgo(binary, shape, threads):
    env = dict(os.environ, GOMAXPROCS=str(threads))
    out, foreign, cpu = run(pin(threads) + [binary, '-test.run', 'XXX', '-test.bench', 'TrainStep/' + re.escape(shape) + '$', '-test.benchtime', '3x'], env)
    line = next((l for l in out.splitlines() if l.startswith('BenchmarkTrainStep/')), None)
    if line is None:
        raise RuntimeError('no benchmark line in ' + out[-400:])
    metric = {u: float(v) for v, u in re.findall(r'([\d.e+-]+) (\S+)', line.split(None, 2)[2])}
    return dict(first=metric['first-s'], steady=metric['steady-s'], tok_s=metric['tok/s'], foreign=foreign, cpu=cpu,
                first_cpu=metric.get('first-cpu-s', 0), steady_cpu=metric.get('steady-cpu-s', 0))

def torch(shape, threads, passive=False):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    if passive:  # idle OpenMP threads sleep instead of spinning, leaving the cores to OpenBLAS's own threads
        env['OMP_WAIT_POLICY'] = 'PASSIVE'
    out, foreign, cpu = run(pin(threads) + ['/usr/bin/python3', os.path.join(HERE, 'train_step.py'), shape, '--steps', '3', '--threads', str(threads)], env)
    j = json.loads(out.strip().splitlines()[-1])
    return dict(first=j['first_s'], steady=j['steady_s'], tok_s=j['tok_s'], foreign=foreign, cpu=cpu,
                first_cpu=j['first_cpu_s'], steady_cpu=j['steady_cpu_s'])

def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--gptgo', action='append', required=True); a.add_argument('--rounds', type=int, default=3)
    a.add_argument('--shapes', nargs='+', default=['0.9M', '15M', '124M-T64', '124M-T256'])
    a.add_argument('--max-foreign', type=float, default=0.15); a.add_argument('--retries', type=int, default=1)
    a.add_argument('--threads', type=int, choices=(1, 2), default=2)
    a.add_argument('--torch-passive', action='store_true', help='also run PyTorch with OMP_WAIT_POLICY=PASSIVE (pytorch-passive)')
    o = a.parse_args()
    engines = [(os.path.basename(g), lambda s, g=g: gptgo(g, s, o.threads)) for g in o.gptgo] + [('pytorch', lambda s: torch(s, o.threads))]
    if o.torch_passive:
        engines.append(('pytorch-passive', lambda s: torch(s, o.threads, passive=True)))
    torches = [e for e, _ in engines if e.startswith('pytorch')]
    res = {s: {e: [] for e, _ in engines} for s in o.shapes}
    for r in range(o.rounds):
        for s in o.shapes:
            for name, fn in engines:
                for _ in range(o.retries + 1):
                    x = fn(s); x['contended'] = x['foreign'] > o.max_foreign
                    if not x['contended']:
                        break
                res[s][name].append(x)
                print(f"round {r} {s:10s} {name:22s} first {x['first']:7.3f} s  steady {x['steady']:7.3f} s  {x['tok_s']:8.1f} tok/s  "
                      f"cpu first {x['first_cpu']:6.2f} steady {x['steady_cpu']:6.2f} s  foreign {x['foreign']:.2f}"
                      f"{'  CONTENDED' if x['contended'] else ''}", flush=True)
    md = statistics.median
    for s in o.shapes:
        for name, _ in engines:
            xs = res[s][name]
            cpu3 = lambda x: x['first_cpu'] + 2 * x['steady_cpu']  # CPU seconds of the 3 steps
            ratio = '' if name in torches else ''.join(
                f"  {md(a['tok_s'] / b['tok_s'] for a, b in zip(xs, res[s][t])):.2f}x {t} (wall), "
                f"{md(cpu3(b) / cpu3(a) for a, b in zip(xs, res[s][t])):.2f}x (cpu)" for t in torches)
            print(f"{s:10s} {name:22s} first {md(x['first'] for x in xs):7.3f}  steady {md(x['steady'] for x in xs):7.3f}  "
                  f"cpu first {md(x['first_cpu'] for x in xs):6.2f} steady {md(x['steady_cpu'] for x in xs):6.2f}  "
                  f"{md(x['tok_s'] for x in xs):8.1f} tok/s{ratio}  foreign-max {max(x['foreign'] for x in xs):.2f}"
                  f"{'  CONTENDED x%d' % sum(x['contended'] for x in xs) if any(x['contended'] for x in xs) else ''}", flush=True)

if __name__ == '__main__':
    main()
