"""aiohttp's ClientSession in the client shapes of bench/clients/shapes.ts.

usage: python3 bench/clients/aiohttp_shapes.py post URL N CONC [MIB]
       python3 bench/clients/aiohttp_shapes.py stream URL
Prints one line: SHAPEJSON {...} (same fields as shapes.ts).
"""
import asyncio
import json
import re
import sys
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import aiohttp

RUNTIME = f"python {sys.version.split()[0]} aiohttp {aiohttp.__version__}"


def status_kib(field):
    with open("/proc/self/status") as f:
        m = re.search(rf"^{field}:\s+(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else -1


async def post(url, n, conc, size):
    body = b"b" * size
    want = str(size)
    st = {"errors": 0, "first": None}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as s:
        async def phase(total):
            issued = 0

            async def worker():
                nonlocal issued
                while issued < total:
                    issued += 1
                    try:
                        async with s.post(url, data=body) as r:
                            text = await r.text()
                            if r.status != 200 or text != want:
                                st["errors"] += 1
                                st["first"] = st["first"] or f"status {r.status} answer {text[:40]}"
                    except Exception as e:  # noqa: BLE001
                        st["errors"] += 1
                        st["first"] = st["first"] or repr(e)

            await asyncio.gather(*(worker() for _ in range(min(conc, total))))

        await phase(min(100, -(-n // 4)))
        st["errors"], st["first"] = 0, None
        c0, t0 = time.process_time(), time.perf_counter()
        await phase(n)
        secs = time.perf_counter() - t0
        cpu = 100 * (time.process_time() - c0) / secs
    return {"name": "aiohttp.ClientSession", "runtime": RUNTIME, "requests": n, "concurrency": conc,
            "seconds": secs, "rps": n / secs, "cpu_pct": cpu, "errors": st["errors"],
            "firstError": st["first"], "shape": "post", "body_bytes": size}


async def drain(s, url, mark=float("inf"), at_mark=None):
    n = 0
    async with s.get(url) as r:
        async for chunk in r.content.iter_any():
            n += len(chunk)
            if n >= mark:
                mark = float("inf")
                at_mark()
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
    return n


async def stream(url):
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    want = int(q.get("bytes", [2 ** 30])[0])
    q["bytes"] = [str(16 * 1024 * 1024)]
    warm = urlunsplit(parts._replace(query=urlencode(q, doseq=True)))
    errors, first, got = 0, None, 0
    quarter = [-1]

    def at_quarter():
        quarter[0] = status_kib("VmHWM")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as s:
        await drain(s, warm)
        hwm0, rss0 = status_kib("VmHWM"), status_kib("VmRSS")
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            got = await drain(s, url, want / 4, at_quarter)
        except Exception as e:  # noqa: BLE001
            errors, first = 1, repr(e)
        secs = time.perf_counter() - t0
        cpu = 100 * (time.process_time() - c0) / secs
        hwm1 = status_kib("VmHWM")
    if errors == 0 and got != want:
        errors, first = 1, f"read {got} of {want} bytes"
    return {"name": "aiohttp.ClientSession", "runtime": RUNTIME, "shape": "stream", "bytes": got,
            "seconds": secs, "mib_s": got / 1048576 / secs, "cpu_pct": cpu,
            "rss_before_mib": rss0 / 1024, "hwm_before_mib": hwm0 / 1024,
            "hwm_quarter_mib": quarter[0] / 1024, "hwm_after_mib": hwm1 / 1024, "hwm_growth_mib": (hwm1 - hwm0) / 1024,
            "errors": errors, "firstError": first}


def main():
    shape, url = sys.argv[1], sys.argv[2]
    if shape == "post":
        n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
        conc = int(sys.argv[4]) if len(sys.argv) > 4 else 8
        mib = float(sys.argv[5]) if len(sys.argv) > 5 else 1
        r = asyncio.run(post(url, n, conc, round(mib * 1024 * 1024)))
    elif shape == "stream":
        r = asyncio.run(stream(url))
    else:
        raise SystemExit(f"unknown shape {shape}")
    print("SHAPEJSON " + json.dumps(r), flush=True)


main()
