#!/usr/bin/env python3
# Reference: /usr/bin/time -v ("Maximum resident set size", GNU time's getrusage ru_maxrss of the child);
# the project's ../shared/tools/benchpair.py habit of alternating the engines within one sitting.
"""LoRA versus full fine-tuning, gptgo beside PyTorch, alternating runs (docs/finetune.md, "Memory and speed").

  /usr/bin/python3 tools/lora-torch/bench.py --gptgo /tmp/gptgo --model15 m15.gguf [--model11 m11.gguf] \
      --data alpaca_en_demo.json --rounds 2 --out /tmp/lorabench

Every run is a fresh process under /usr/bin/time -v (peak RSS of that process). gptgo runs `train sft` with
packing and the llama2 template on --data (each step is batch x seq positions); PyTorch runs
tools/lora-torch/lora_step.py on random tokens of the same batch x seq. `bench.py --table OUT/runs.jsonl` prints the
Markdown table of docs/finetune.md. Step time: the first step apart, then
the median of the others (gptgo's from OUT/log.jsonl step_s); cpu_s is the process's user + sys seconds in all;
steady_cpu_s the median of the steps after the first in CPU seconds of the process (PyTorch: time.process_time around
each step; gptgo: /proc/PID/stat read as each log.jsonl line appears, the last step left out because its line follows
the final evaluation; so gptgo needs --steps 3 or more), the figure that the other sessions' load disturbs least. One JSON line per run goes to OUT/runs.jsonl."""
import argparse, json, os, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))

def proc_cpu(pid):
    """User + system CPU seconds of process pid so far (/proc/PID/stat fields 14 and 15), None once it is gone."""
    try:
        f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return None

def timed(cmd, env=None, steplog=None):
    """Runs cmd under /usr/bin/time -v; returns stdout, peak RSS (MB), CPU seconds, and with steplog (a JSONL file the
    child appends one line per step to) the child's CPU seconds read when each line appeared (polled every 20 ms)."""
    p = subprocess.Popen(['/usr/bin/time', '-v'] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    marks = []
    if steplog:
        child = None
        while p.poll() is None:
            if child is None:
                try:
                    kids = open(f'/proc/{p.pid}/task/{p.pid}/children').read().split()
                    child = int(kids[0]) if kids else None
                except OSError:
                    pass
            if child is not None and os.path.exists(steplog):
                n = sum(1 for l in open(steplog) if '"step_s"' in l)
                if n > len(marks):
                    c = proc_cpu(child)
                    if c is not None:
                        marks.extend([c] * (n - len(marks)))
            time.sleep(0.02)
    out, err = p.communicate()
    p.stdout, p.stderr, p.returncode = out, err, p.returncode
    m = re.search(r'Maximum resident set size \(kbytes\): (\d+)', p.stderr)
    if p.returncode != 0 or not m:
        sys.stderr.write(p.stdout[-2000:] + p.stderr[-4000:])
        raise SystemExit(f'failed: {" ".join(cmd)}')
    cpu = sum(float(x) for x in re.findall(r'(?:User|System) time \(seconds\): ([\d.]+)', p.stderr))
    return p.stdout, int(m.group(1)) / 1024, cpu, marks

def load1():
    return float(open('/proc/loadavg').read().split()[0])

def gptgo_run(o, shape, model, mode, d):
    cfg = {'run': {'eval_every': 100000, 'checkpoint_every': 100000, 'sample_prompts': [], 'threads': o.threads},
           'data': {'val_fraction': 0.02}, 'optim': {'warmup': 1}}
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'bench.json'), 'w') as f:
        json.dump(cfg, f)
    out = os.path.join(d, 'out')
    subprocess.run(['rm', '-rf', out], check=True)
    cmd = [o.gptgo, 'train', 'sft', o.data, '--model', model, '--template', 'llama2', '--config', os.path.join(d, 'bench.json'),
           '--out', out, '--steps', str(o.steps), '--batch', str(o.batch[shape]), '--seq', str(o.seq[shape])]
    if mode == 'lora':
        cmd += ['--lora', '--lora-rank', str(o.rank), '--lora-alpha', str(2 * o.rank), '--lora-dropout', '0', '--lora-targets', o.targets]
    _, rss, cpu, marks = timed(cmd, steplog=os.path.join(out, 'log.jsonl'))
    steps = [json.loads(l) for l in open(os.path.join(out, 'log.jsonl')) if '"step_s"' in l]
    st = [s['step_s'] for s in steps if 'step_s' in s]
    # CPU of step i: between the lines of steps i-1 and i. Left out: the first (setup included) and the last, whose
    # line is written after the run's final evaluation.
    cs = [b - a for a, b in zip(marks[:-1], marks[1:-1])]
    return dict(first_s=round(st[0], 3), steady_s=round(statistics.median(st[1:]), 3), peak_rss_mb=round(rss, 1), cpu_s=round(cpu, 1),
                steady_cpu_s=round(statistics.median(cs), 3) if len(marks) == len(st) and cs else None, cpu_marks=[round(m, 2) for m in marks])

def torch_run(o, shape, mode):
    cmd = ['/usr/bin/python3', os.path.join(HERE, 'lora_step.py'), shape, mode, '--rank', str(o.rank), '--alpha', str(2 * o.rank),
           '--targets', o.targets, '--batch', str(o.batch[shape]), '--seq', str(o.seq[shape]), '--steps', str(o.steps), '--threads', str(o.threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(o.threads))
    out, rss, cpu, _ = timed(cmd, env)
    j = json.loads(out.strip().splitlines()[-1])
    return dict(first_s=j['first_s'], steady_s=j['steady_s'], peak_rss_mb=round(rss, 1), cpu_s=round(cpu, 1), steady_cpu_s=j['steady_cpu_s'],
                trained=j['trained'])

def table(path):
    """Prints a Markdown table of the runs in path (runs.jsonl): per shape, mode and engine, the runs' figures as
    min–max (one value when they agree or there was one run)."""
    runs = [json.loads(l) for l in open(path) if l.strip()]
    def span(xs, fmt):
        xs = [x for x in xs if x is not None]
        if not xs:
            return '—'
        lo, hi = min(xs), max(xs)
        return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else fmt.format(lo) + '–' + fmt.format(hi)
    print('| shape | run | engine | runs | first step, s | later steps, s (median) | CPU-s per later step | CPU-s, whole run | peak RSS, MB | load (1 min) |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    keys = []
    for r in runs:
        k = (r['shape'], r['mode'], r['engine'])
        if k not in keys:
            keys.append(k)
    for shape, mode, engine in keys:
        rs = [r for r in runs if (r['shape'], r['mode'], r['engine']) == (shape, mode, engine)]
        what = 'full' if mode == 'full' else f"LoRA r {rs[0]['rank']} {rs[0]['targets']}"
        print(f"| {shape} B{rs[0]['batch']}×T{rs[0]['seq']} | {what} | {engine} | {len(rs)} | {span([r['first_s'] for r in rs], '{:.2f}')} | "
              f"{span([r['steady_s'] for r in rs], '{:.2f}')} | {span([r.get('steady_cpu_s') for r in rs], '{:.2f}')} | "
              f"{span([r['cpu_s'] for r in rs], '{:.1f}')} | {span([r['peak_rss_mb'] for r in rs], '{:.0f}')} | "
              f"{span([r['load_before'] for r in rs] + [r['load_after'] for r in rs], '{:.0f}')} |")

def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--table':
        return table(sys.argv[2])
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--gptgo', required=True); a.add_argument('--data', required=True)
    a.add_argument('--model15', required=True); a.add_argument('--model11', default='')
    a.add_argument('--rounds', type=int, default=2); a.add_argument('--steps', type=int, default=5)
    a.add_argument('--rank', type=int, default=8); a.add_argument('--targets', default='q,v')
    a.add_argument('--threads', type=int, default=2); a.add_argument('--shapes', default='15M,1.1B'); a.add_argument('--engines', default='gptgo,pytorch'); a.add_argument('--full11', action='store_true', help='also full fine-tuning at 1.1B (needs ~18 GB)')
    a.add_argument('--out', default='/tmp/lorabench')
    o = a.parse_args()
    o.batch, o.seq = {'15M': 4, '1.1B': 1}, {'15M': 256, '1.1B': 128}
    os.makedirs(o.out, exist_ok=True)
    plan = [('15M', o.model15, 'full'), ('15M', o.model15, 'lora')] if '15M' in o.shapes.split(',') else []
    if o.model11 and '1.1B' in o.shapes.split(','):
        plan.append(('1.1B', o.model11, 'lora'))
        if o.full11:
            plan.append(('1.1B', o.model11, 'full'))
    with open(os.path.join(o.out, 'runs.jsonl'), 'a') as log:
        for r in range(o.rounds):
            for shape, model, mode in plan:
                for engine in [e for e in (['gptgo', 'pytorch'] if r % 2 == 0 else ['pytorch', 'gptgo']) if e in o.engines.split(',')]:
                    l0, t0 = load1(), time.time()
                    res = gptgo_run(o, shape, model, mode, os.path.join(o.out, f'{shape}-{mode}')) if engine == 'gptgo' else torch_run(o, shape, mode)
                    res.update(engine=engine, shape=shape, mode=mode, round=r, targets=o.targets if mode == 'lora' else '', rank=o.rank,
                               batch=o.batch[shape], seq=o.seq[shape], steps=o.steps, load_before=l0, load_after=load1(),
                               wall_s=round(time.time() - t0, 1), at=time.strftime('%H:%M:%S'))
                    print(json.dumps(res), flush=True)
                    log.write(json.dumps(res) + '\n'); log.flush()

if __name__ == '__main__':
    main()
