"""`make bench`: upstream economy, fan-out against two references, the page, memory over time.

    python -m bench [--quick] [--only economy,fanout,page,soak] [--clients 100,1000,3000]
                    [--layers core,pubsub] [--servers daphne,uvicorn] [--references stock,ceiling]

Needs REDIS_URL (`make bench` starts a private Redis when it is unset). With
DATABASE_URL (PostgreSQL) the benchmark uses its own database beside it
(<name>_bench, recreated); without, a SQLite file under the output folder.
Prints tables and writes every figure as JSON to the output folder
(var/bench/ by default): results-<time>.json and latest.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.procs import ROOT, Processes, machine

PARTS = ("economy", "fanout", "page", "soak")


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=_words, default=list(PARTS), help=f"comma-separated parts of {PARTS}")
    parser.add_argument("--quick", action="store_true", help="small counts, short windows: a smoke run")
    parser.add_argument("--clients", type=_ints, help="fan-out client counts (default 100,1000,3000; quick 50)")
    parser.add_argument("--layers", type=_words, default=None, help="channel layers for ours: core,pubsub")
    parser.add_argument("--servers", type=_words, default=["daphne"], help="ASGI servers for ours: daphne,uvicorn")
    parser.add_argument("--references", type=_words, default=["stock", "ceiling"], help="stock,ceiling or none")
    parser.add_argument("--measure", type=float, help="seconds measured per fan-out run (default 30; quick 8)")
    parser.add_argument("--settle", type=float, help="seconds of ticks before measuring (default 5; quick 3)")
    parser.add_argument("--renders", type=int, help="page renders (default 50; quick 10)")
    parser.add_argument("--soak-clients", type=int, help="sockets held by the soak (default 1000; quick 50)")
    parser.add_argument("--soak-seconds", type=float, help="soak length (default 600; quick 60)")
    parser.add_argument("--profile", action="store_true", help="py-spy the web process in each fan-out window")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench", help="output folder (default var/bench)")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose from {PARTS}")
    quick = args.quick
    args.clients = args.clients or ([50] if quick else [100, 1000, 3000])
    args.layers = args.layers or (["pubsub"] if quick else ["pubsub", "core"])
    # Economy and soak run on one layer: the default one (CHANNEL_LAYER_BACKEND) unless --layers says otherwise.
    default_layer = os.environ.get("CHANNEL_LAYER_BACKEND", "pubsub")
    args.main_layer = default_layer if default_layer in args.layers else args.layers[0]
    args.references = [] if args.references == ["none"] else args.references
    args.measure = args.measure or (8.0 if quick else 30.0)
    args.settle = args.settle or (3.0 if quick else 5.0)
    args.renders = args.renders or (10 if quick else 50)
    args.soak_clients = args.soak_clients or (50 if quick else 1000)
    args.soak_seconds = args.soak_seconds or (60.0 if quick else 600.0)
    return args


def _environment(out: Path) -> dict[str, str]:
    """Environment shared by this process (Django for setup) and the servers it starts."""
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("bench: REDIS_URL is unset; run `make bench`, which starts a private Redis")
    from bench.data import bench_database_url

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_TEST_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # Production mode: with DEBUG on, Django keeps every query's SQL per connection,
            # which costs the web process memory and CPU that production does not pay.
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "SECRET_KEY": "bench-only-not-secret-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "DATABASE_URL": bench_database_url(os.environ.get("DATABASE_URL"), out),
            "REDIS_KEY_PREFIX": f"twbench-{uuid.uuid4().hex[:8]}",
            "QUOTE_PROVIDER": "simulated",
            # The bench opens 10 sockets per user; the cap is not what is measured.
            "WATCHLIST_MAX_SOCKETS_PER_USER": "100000",
            # The design's economy is measured, not the operator's budget on top of it (which
            # would defer batches past QUOTE_UPSTREAM_REQUESTS_PER_MINUTE).
            "QUOTE_UPSTREAM_REQUESTS_PER_MINUTE": "1000000",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            # requests, not curl_cffi: the fake Yahoo is reached through a redirecting requests session.
            "YF_DISABLE_CURL_CFFI": "1",
        }
    )
    return env


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    _raise_file_limit()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    log_dir = out / "logs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    env = _environment(out)
    os.environ.update(env)

    import django

    django.setup()
    from bench import data

    data.database_migrate()
    from django.db import connection

    results: dict = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "machine": machine(),
        "database": connection.vendor,
        "redis_url": env["REDIS_URL"],
        "parts": {},
    }
    started = time.monotonic()
    try:
        with Processes() as procs:
            if "economy" in args.only:
                from bench import economy

                print("== economy: upstream requests per tick ...", flush=True)
                results["parts"]["economy"] = economy.run(
                    procs, base_env=env, log_dir=log_dir, quick=args.quick, layer=args.main_layer
                )
                _save(out, results)
            if "page" in args.only:
                from bench import page

                print("== page: rendering a watchlist of 100 symbols ...", flush=True)
                results["parts"]["page"] = page.run(renders=args.renders)
                _save(out, results)
            fan_data = None
            if "fanout" in args.only or "soak" in args.only:
                from bench.fanout import FanoutData

                fan_data = FanoutData(max([*args.clients, args.soak_clients if "soak" in args.only else 0]))
            if "fanout" in args.only:
                results["parts"]["fanout"] = _fanout(procs, fan_data, args, env, log_dir, out, results)
            if "soak" in args.only:
                from bench import soak

                print(f"== soak: {args.soak_clients} sockets for {args.soak_seconds:.0f} s ...", flush=True)
                results["parts"]["soak"] = soak.run(
                    procs,
                    fan_data,
                    clients=args.soak_clients,
                    seconds=args.soak_seconds,
                    every=30.0 if args.soak_seconds >= 120 else 5.0,
                    base_env=env,
                    log_dir=log_dir,
                    layer=args.main_layer,
                )
                _save(out, results)
    finally:
        results["seconds"] = round(time.monotonic() - started, 1)
        path = _save(out, results)
        print(report(results))
        print(f"\nFigures: {path}\nLogs: {log_dir}")
    return 0


def _fanout(procs, fan_data, args, env, log_dir, out, results) -> dict:
    from bench import fanout

    runs: list[dict] = []
    part = {"payload": fanout.reference_payload(out / "reference-payload.json"), "runs": runs}
    results["parts"]["fanout"] = part
    for clients in args.clients:
        for layer in args.layers:
            for server in args.servers:
                print(f"== fan-out: ours, {server}, {layer} layer, {clients} clients ...", flush=True)
                runs.append(
                    _guarded(
                        functools.partial(
                            fanout.run_ours,
                            procs,
                            fan_data,
                            clients=clients,
                            base_env=env,
                            log_dir=log_dir,
                            layer=layer,
                            server=server,
                            settle=args.settle,
                            measure_seconds=args.measure,
                            profile=args.profile,
                        ),
                        {"server": f"ours ({server}, {layer})", "clients": clients},
                    )
                )
                _save(out, results)
        for kind in args.references:
            print(f"== fan-out: reference {kind}, {clients} clients ...", flush=True)
            runs.append(
                _guarded(
                    functools.partial(
                        fanout.run_reference,
                        procs,
                        kind,
                        clients=clients,
                        base_env=env,
                        log_dir=log_dir,
                        payload_path=out / "reference-payload.json",
                        settle=args.settle,
                        measure_seconds=args.measure,
                        profile=args.profile,
                    ),
                    {"server": kind, "kind": kind, "clients": clients},
                )
            )
            _save(out, results)
    return part


def _guarded(run, label: dict) -> dict:
    """One failed run (a server that fell over at 3000 sockets) is a result, not the end of the benchmark."""
    try:
        return run()
    except Exception as exc:
        print(f"   failed: {type(exc).__name__}: {str(exc)[:500]}", flush=True)
        return {**label, "error": f"{type(exc).__name__}: {str(exc)[:2000]}"}


def _save(out: Path, results: dict) -> Path:
    stamp = results["started_at"].replace(":", "").replace("-", "")
    path = out / f"results-{stamp}.json"
    text = json.dumps(results, indent=2, default=str)
    path.write_text(text)
    (out / "latest.json").write_text(text)
    return path


# --- the printed report ----------------------------------------------------------


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def report(results: dict) -> str:
    parts = results.get("parts", {})
    out = []
    m = results.get("machine", {})
    out.append(
        f"\nMachine: {m.get('nproc')} cores ({m.get('cpu_model')}), {m.get('mem_total_gib')} GiB, "
        f"Python {m.get('python')}, database {results.get('database')}"
    )
    if "economy" in parts:
        eco = parts["economy"]
        out.append(f"\nUpstream economy: HTTP requests per tick (mean of {eco['ticks_per_window']} ticks)")
        rows = [
            [
                r["scenario"],
                r["market"],
                r["sockets"],
                r["active_lists"],
                r["distinct_due_per_tick"],
                r["ours_requests_per_tick"],
                r["ours_expected_per_tick"],
                r["ours_all_http_per_tick"],
                r["per_socket"],
                r["per_watchlist_yfinance"],
            ]
            for r in eco["rows"]
        ]
        out.append(
            _table(
                [
                    "lists",
                    "market",
                    "sockets",
                    "open lists",
                    "due/tick",
                    "ours",
                    "ceil(due/50)",
                    "ours all HTTP",
                    "per socket",
                    "per list (yf)",
                ],
                rows,
            )
        )
        yf = eco["yfinance_per_symbol"]
        out.append(
            f"yfinance per-symbol API: {yf['cold']['requests_per_symbol']} requests/symbol cold, "
            f"{yf['warm']['requests_per_symbol']} warm (measured on {yf['symbols_called']} symbols)"
        )
    if "page" in parts:
        p = parts["page"]
        out.append(
            f"\nPage of {p['symbols']} symbols: median {p['server_ms_median']} ms server time "
            f"(p90 {p['server_ms_p90']}), {p['queries']} queries, {p['renders']} renders, {p['database']}"
        )
    if "fanout" in parts:
        fan = parts["fanout"]
        out.append(f"\nFan-out, 1 tick/s, {fan['payload']['bytes']} B payload (10 quotes)")
        rows = []
        for r in fan["runs"]:
            if "error" in r:
                rows.append([r["server"], r["clients"], "ERROR: " + r["error"][:60]] + [""] * 8)
                continue
            lat = r["latency_ms"]
            rows.append(
                [
                    r["server"],
                    r["clients"],
                    f"{r['connected']}"
                    + (f" ({r['connect_failed_attempts']} retried)" if r.get("connect_failed_attempts") else ""),
                    r["messages_per_second"],
                    f"{r['lost']}/{r['expected_in_window']}",
                    f"{lat['p50']}/{lat['p95']}/{lat['p99']}",
                    r["cpu_ms_per_1000_messages"],
                    r["web_cpu_ms_per_1000_messages"],
                    r["web_rss_kib_per_idle_socket"],
                    r["client_cpu_seconds"],
                    round(r["cpu_seconds_total"] / r["cpu_window_seconds"] * 100),
                ]
            )
        out.append(
            _table(
                [
                    "server",
                    "clients",
                    "open",
                    "msg/s",
                    "lost/expected",
                    "p50/p95/p99 ms",
                    "CPU ms/1k msg",
                    "web CPU ms/1k",
                    "KiB/idle sock",
                    "client CPU s",
                    "server CPU %",
                ],
                rows,
            )
        )
        out.append(_ratios(fan["runs"]))
    if "soak" in parts:
        s = parts["soak"]
        out.append(
            f"\nSoak: {s['clients']} sockets for {s['seconds']:.0f} s ({s['layer']} layer): web RSS "
            f"{s['web_kib_start']} -> {s['web_kib_end']} KiB (slope {s['web_slope_kib_per_min']} KiB/min), "
            f"worker {s['worker_kib_start']} -> {s['worker_kib_end']} KiB "
            f"(slope {s['worker_slope_kib_per_min']} KiB/min); lost {s['lost']}/{s['expected_in_window']}, "
            f"p99 {s['latency_ms']['p99']} ms"
        )
    return "\n".join(out)


def _ratios(runs: list[dict]) -> str:
    lines = ["Server CPU per delivered message, ours / reference (lower is better):"]
    by_clients: dict[int, dict[str, dict]] = {}
    for r in runs:
        if "error" not in r and r.get("cpu_ms_per_1000_messages"):
            by_clients.setdefault(r["clients"], {})[r["server"]] = r
    for clients, servers in sorted(by_clients.items()):
        stock = next((r for r in servers.values() if r.get("kind") == "stock"), None)
        ceiling = next((r for r in servers.values() if r.get("kind") == "ceiling"), None)
        for name, r in servers.items():
            if r.get("kind"):
                continue
            parts = []
            for label, ref in (("stock", stock), ("ceiling", ceiling)):
                if ref:
                    total = r["cpu_ms_per_1000_messages"] / ref["cpu_ms_per_1000_messages"]
                    web = r["web_cpu_ms_per_1000_messages"] / ref["web_cpu_ms_per_1000_messages"]
                    parts.append(f"{total:.2f}x {label} (web process alone {web:.2f}x)")
            if parts:
                lines.append(f"  {clients:>5} clients, {name}: " + "; ".join(parts))
    return "\n".join(lines) if len(lines) > 1 else ""


if __name__ == "__main__":
    raise SystemExit(main())
