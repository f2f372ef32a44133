#!/usr/bin/env python3
# Reference: /work/shared/tools/benchpair.py (alternating rounds, foreign-load accounting) applied to
# `gptgo serve` and llama.cpp's `llama-server`, both driven by `gptgo bench serve` (loadgen/).
"""Serving throughput of gptgo and llama-server on one GGUF file, alternating the engines round by round.

  servepair.py --gptgo ./gptgo --llama-server LLAMA/build/bin/llama-server --model m.gguf \
      [--concurrency 1,4,16] [--ctx 256] [--prompt-tokens 32] [--gen-tokens 64] [--requests 16] [--rounds 2] \
      [--gptgo-args='--step-tokens 256']

For each round, each concurrency N and each engine (alternating), one server is started for N clients:

  gptgo serve --models DIR --parallel N --ctx CTX --threads T [GPTGO-ARGS]   (DIR holds only the model)
  llama-server -m MODEL -np N -c N*CTX -cb -t T -tb T --no-webui             (llama.cpp's continuous batching)

It is sent one warm-up request, then `gptgo bench serve --concurrency N` measures it: aggregate generated
tokens/s, time to first token and inter-token latency (p50/p99), with temperature 0 and the same prompt. The
server's own CPU seconds (from /proc) and the CPU that other processes used meanwhile are recorded; a run where
others used more than --max-foreign cores is repeated once and marked if still disturbed. Reported per
concurrency: each engine's median over the rounds, and the median of the per-round gptgo/llama-server ratios of
generated tokens/s. Generated tokens per request are printed too: both engines decode greedily and stop at the
same end-of-text token, so they should agree."""
import argparse, json, os, socket, statistics, subprocess, tempfile, time, urllib.request

HZ = os.sysconf('SC_CLK_TCK')


def busy():
    f = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / HZ


def proc_cpu(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f'server exited with {proc.returncode}')
        try:
            with urllib.request.urlopen(url + '/health', timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError('server not ready in time')


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def one_run(o, eng, n, modeldir, name):
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    if eng == 'gptgo':
        cmd = [o.gptgo, 'serve', '--addr', f'127.0.0.1:{port}', '--models', modeldir, '--parallel', str(n),
               '--ctx', str(o.ctx), '--threads', str(o.threads)] + o.gptgo_args.split()
    else:
        cmd = [o.llama_server, '-m', o.model, '--port', str(port), '--host', '127.0.0.1', '-np', str(n),
               '-c', str(n * o.ctx), '-cb', '-t', str(o.threads), '-tb', str(o.threads), '--no-webui',
               '-a', name]
    srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, srv)
        post(url + '/v1/completions', {'model': name, 'prompt': ' hello' * o.prompt_tokens, 'max_tokens': 4,
                                       'temperature': 0})
        c0, b0, t0 = proc_cpu(srv.pid), busy(), time.time()
        r0 = os.times()
        out = subprocess.run([o.gptgo, 'bench', 'serve', '--url', url, '--model', name, '--concurrency', str(n),
                              '--prompt-tokens', str(o.prompt_tokens), '--gen-tokens', str(o.gen_tokens),
                              '--requests', str(o.requests), '--json'], capture_output=True, text=True)
        wall, r1 = time.time() - t0, os.times()
        cpu = proc_cpu(srv.pid) - c0
        gen_cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
        foreign = max(0.0, (busy() - b0 - cpu - gen_cpu) / wall)
        if out.returncode:
            raise RuntimeError(f'{eng} bench serve: {out.stderr[-400:]}')
        res = json.loads(out.stdout)[0]
        if res['failed']:
            raise RuntimeError(f"{eng} N={n}: {res['failed']} requests failed: {res.get('first_error', '')}")
        res.update(server_cpu=cpu, foreign=foreign)
        return res
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--gptgo', required=True)
    a.add_argument('--llama-server', required=True)
    a.add_argument('--model', required=True, help='a GGUF file')
    a.add_argument('--concurrency', default='1,4,16')
    a.add_argument('--ctx', type=int, default=256, help='context per client')
    a.add_argument('--prompt-tokens', type=int, default=32)
    a.add_argument('--gen-tokens', type=int, default=64)
    a.add_argument('--requests', type=int, default=16)
    a.add_argument('--rounds', type=int, default=2)
    a.add_argument('--threads', type=int, default=2)
    a.add_argument('--gptgo-args', default='', help="extra flags for gptgo serve, e.g. '--batch-scheduler=false' (the sessions; the batch scheduler is the default)")
    a.add_argument('--max-foreign', type=float, default=0.5, help='cores other processes may use in a valid run')
    a.add_argument('--json', help='also write every run to this file')
    o = a.parse_args()
    name = os.path.basename(o.model).removesuffix('.gguf')
    modeldir = tempfile.mkdtemp(prefix='servepair-')
    os.symlink(os.path.abspath(o.model), os.path.join(modeldir, name + '.gguf'))
    levels = [int(x) for x in o.concurrency.split(',')]
    runs = {(e, n): [] for e in ('gptgo', 'llama') for n in levels}
    for rnd in range(o.rounds):
        for n in levels:
            for eng in (('gptgo', 'llama') if rnd % 2 == 0 else ('llama', 'gptgo')):
                r = one_run(o, eng, n, modeldir, name)
                if r['foreign'] > o.max_foreign:
                    r = one_run(o, eng, n, modeldir, name)
                    r['disturbed'] = r['foreign'] > o.max_foreign
                runs[(eng, n)].append(r)
                print(f"round {rnd + 1} {eng:5s} N={n:<3d} {r['gen_tok_per_s']:8.2f} tok/s  TTFT p50/p99 "
                      f"{r['ttft_p50_ms']:.0f}/{r['ttft_p99_ms']:.0f} ms  ITL p50/p99 {r['itl_p50_ms']:.1f}/"
                      f"{r['itl_p99_ms']:.1f} ms  gen/req {r['gen_tokens'] / r['requests']:.1f}  server CPU "
                      f"{r['server_cpu']:.1f}s  foreign {r['foreign']:.2f}{' DISTURBED' if r.get('disturbed') else ''}",
                      flush=True)
    md = statistics.median
    print(f"\nmodel {o.model}, ctx {o.ctx}/client, prompt {o.prompt_tokens}, gen {o.gen_tokens}, "
          f"{o.requests} requests, {o.threads} threads, {o.rounds} rounds, gptgo args '{o.gptgo_args}'")
    print('| N | gptgo tok/s | llama-server tok/s | ratio | gptgo TTFT p50/p99 ms | llama TTFT p50/p99 ms '
          '| gptgo ITL p50/p99 ms | llama ITL p50/p99 ms | server CPU-s per token gptgo / llama |')
    print('|---|---|---|---|---|---|---|---|---|')
    for n in levels:
        g, l = runs[('gptgo', n)], runs[('llama', n)]
        ratio = md(x['gen_tok_per_s'] / y['gen_tok_per_s'] for x, y in zip(g, l))

        def m(rs, k):
            return md(x[k] for x in rs)
        print(f"| {n} | {m(g, 'gen_tok_per_s'):.2f} | {m(l, 'gen_tok_per_s'):.2f} | {ratio:.2f}× "
              f"| {m(g, 'ttft_p50_ms'):.0f}/{m(g, 'ttft_p99_ms'):.0f} | {m(l, 'ttft_p50_ms'):.0f}/{m(l, 'ttft_p99_ms'):.0f} "
              f"| {m(g, 'itl_p50_ms'):.1f}/{m(g, 'itl_p99_ms'):.1f} | {m(l, 'itl_p50_ms'):.1f}/{m(l, 'itl_p99_ms'):.1f} "
              f"| {md(x['server_cpu'] / x['gen_tokens'] for x in g) * 1000:.1f} / "
              f"{md(x['server_cpu'] / x['gen_tokens'] for x in l) * 1000:.1f} ms |")
    if o.json:
        with open(o.json, 'w') as f:
            json.dump([{**r, 'engine': e} for (e, n), rs in runs.items() for r in rs], f, indent=1)


if __name__ == '__main__':
    main()
