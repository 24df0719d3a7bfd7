#!/usr/bin/env python3
# Where the agent's peak memory (VmHWM) lies, mapping by mapping (issue 19 item 3).
#
# bench_e2e reports only VmHWM. This samples a `gongshu-agent run` while bench_e2e drains: every
# ~0.5 ms the process's VmRSS (/proc/PID/status), and at each new maximum the whole of
# /proc/PID/smaps, summed by mapping (heap, data.mdb, the program, each library); and the
# distribution of data.mdb's and the heap's resident size over the run. Use it as the agent
# binary of bench_e2e through a wrapper that starts it on its own PID and then execs the agent:
#
#   cat > /tmp/agent-sampled <<'EOF'
#   #!/bin/bash
#   python3 /work/main/bench/e2e/hwm_sampler.py $$ /tmp/hwm.txt &
#   while [ ! -e /tmp/hwm-ready.$$ ]; do sleep 0.005; done
#   exec /work/main/build-release/bin/gongshu-agent "$@"
#   EOF
#   chmod +x /tmp/agent-sampled
#   build-release/bench/bench_e2e --agents 1 --no-ingest --agent-binary /tmp/agent-sampled
#   cat /tmp/hwm.txt
#
# Reading smaps takes a millisecond or two, so a spike shorter than that may be missed; the
# reported VmHWM (read at the same moment) says how far the sampled maximum is from the true one.
import collections
import os
import statistics
import sys
import time

pid, out = int(sys.argv[1]), sys.argv[2]
open(f"/tmp/hwm-ready.{pid}", "w").close()


def status():
    d = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
                d[line.split(":")[0]] = int(line.split()[1])
    return d


def by_mapping(smaps):
    agg, cur = collections.Counter(), None
    for line in smaps.split("\n"):
        parts = line.split()
        if not parts:
            continue
        if not parts[0].endswith(":"):
            cur = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
        elif parts[0] == "Rss:":
            agg[cur] += int(parts[1])
    return agg


cmd, best, at_best, series, n = "", 0, None, [], 0
t0 = time.time()
while True:
    try:
        c = open(f"/proc/{pid}/cmdline").read()  # empty once a zombie, and during exec
        if not c:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.0005)
            continue
        cmd = c
        d = status()
        smaps = None
        n += 1
        if d.get("VmRSS", 0) > best or n % 4 == 0:
            smaps = open(f"/proc/{pid}/smaps").read()
    except OSError:
        break
    t = time.time() - t0
    if smaps is not None:
        agg = by_mapping(smaps)
        series.append((agg.get("data.mdb", 0), agg.get("[heap]", 0)))
        if d.get("VmRSS", 0) > best:
            best, at_best = d["VmRSS"], (t, d, agg)
    time.sleep(0.0005)

if at_best and "run" in cmd.split("\0"):
    t, d, agg = at_best
    with open(out, "a") as f:
        f.write(f"pid {pid}: largest sampled RSS at {t:.3f} s: {d}\n")
        for name, kib in agg.most_common(14):
            f.write(f"  {kib:7d} KiB  {name}\n")
        for i, what in ((0, "data.mdb"), (1, "[heap]")):
            v = sorted(s[i] for s in series)
            f.write(f"  {what}: median {statistics.median(v):.0f} KiB, "
                    f"p90 {v[int(0.9 * (len(v) - 1))]}, max {v[-1]} ({len(v)} samples)\n")
