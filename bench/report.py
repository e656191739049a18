"""Writes docs/performance.md from bench/results/*.json."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from bench import results
from bench.machine import ROOT
from localgw.cli import PROCESS_WORKERS

DOC = ROOT / "docs" / "performance.md"
HISTOGRAM = "latency.png"


def num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def usd(value: float) -> str:
    """A unit price as published: $1.00, $0.625, $0.0000166667."""
    whole, _, cents = f"{value:.10f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def per(price: dict[str, Any]) -> str:
    """'per million', 'per 1,000' or 'per', as a price's quantity reads."""
    return {1e6: "per million", 1e3: "per 1,000"}.get(price["per"], "per")


def priced(price: dict[str, Any]) -> str:
    return f"[{usd(price['usd'])} {per(price)} {price['unit']}]({price['url']})"


def rounds(n: int) -> str:
    return f"{n} round{'' if n == 1 else 's'}"


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def zero3(entry: dict[str, Any]) -> str:
    return f"{entry['lost']} / {entry['duplicated']} / {entry['misrouted']}"


def missing(part: str) -> list[str]:
    return [f"_Not measured yet: run `.venv/bin/python -m bench {part}`._", ""]


def machine_section(parts: dict[str, dict[str, Any] | None]) -> list[str]:
    machine = next((p["machine"] for p in parts.values() if p and "machine" in p), None)
    if machine is None:
        return ["_No results yet: run `make bench`._", ""]
    rows = [
        ["cores (`nproc`)", str(machine["nproc"])],
        ["CPU", machine["cpu_model"]],
        ["memory", f"{machine['memory_gib']} GiB"],
        ["Python", f"{machine['python']} ({machine['implementation']})"],
        ["OS", machine["platform"]],
        ["open files limit (soft, hard)", f"{machine['open_files_limit'][0]}, "
                                          f"{machine['open_files_limit'][1]}"],
        ["commit", f"`{machine['commit']}`"],
        ["date", machine["date"]],
    ]
    return table(["machine", ""], rows)


def summary_section(parts: dict[str, dict[str, Any] | None]) -> list[str]:
    rows: list[list[str]] = []
    load, scale, cost, cold, faults = (parts[k] for k in
                                       ("load", "scale", "cost", "coldstart", "faults"))
    if load:
        s = load["summary"]["heavy"]
        w = load["workloads"]["heavy"]
        rows.append([f"load, {w['pairs']} pairs x {w['messages']} messages: lost / duplicated /"
                     " misrouted", zero3(s["gateway"]), "0 / 0 / 0",
                     yes(load["targets"]["zero_loss"])])
        rows.append(["load: gateway throughput / relay throughput (same run)",
                     num(s["throughput_ratio"], 2), ">= 0.5",
                     yes(load["targets"]["throughput_met"])])
        rows.append(["load: gateway p99 / relay p99 (same run)", num(s["p99_ratio"], 2), "<= 2",
                     yes(load["targets"]["p99_met"])])
    if scale:
        g = scale["summary"]["gateway"]
        rows.append([f"scale: {g['connections']:,} connections held open, lost / duplicated /"
                     " misrouted", zero3(g), "0 / 0 / 0",
                     yes(g["lost"] == g["duplicated"] == g["misrouted"] == 0
                         and g["all_completed"])])
        rows.append(["scale: gateway memory per open connection",
                     f"{num(g['rss_per_connection_kib'], 1)} KiB", "reported", "-"])
    if cost:
        small, large = (str(n) for n in cost["scales"])
        send = cost["calls"][small]["send"]
        rows.append([f"cost: DynamoDB requests per direct message ({int(small):,} vs"
                     f" {int(large):,} users)",
                     f"{send['dynamodb_requests']} vs "
                     f"{cost['calls'][large]['send']['dynamodb_requests']}",
                     "equal, no Scan", yes(cost["checks"]["no_scan"]
                                           and cost["checks"]["same_at_both_scales"])])
        rows.append(["cost: $ per million direct messages (on-demand)",
                     f"${num(cost['dollars']['total_usd_per_million'], 2)}", "reported", "-"])
        attached = cost.get("attachment_dollars")
        if attached:
            rows.append(["cost: $ per million messages with an attachment (requests; storage"
                         f" ${attached['storage']['usd_per_gb_month']} per GB-month on top)",
                         f"${num(attached['message']['total_usd_per_million'], 2)}",
                         "reported", "-"])
    delivery = parts.get("attachments")
    if delivery:
        total = delivery["summary"]["total_ms"]
        rows.append([f"attachments: a {num(delivery['photo_bytes'] / 2**20, 0)} MB photo from"
                     " upload to downloaded by the recipient, local gateway (median)",
                     f"{num(total['median'], 0)} ms", "reported", "-"])
    if cold:
        imp = cold["import_time"]
        rows.append(["cold start: import `app` / bare Chalice echo app",
                     num(imp["ratio"], 2), "reported", "-"])
        rows.append(["cold start: Lambda zip (`chalice package`)",
                     f"{num(cold['package']['zip_bytes'] / 1024, 0)} KiB", "reported", "-"])
    if faults:
        rows.append(["faults: tests/faults passing", f"{faults['passed']} of "
                     f"{faults['passed'] + faults['failed']}", "all", yes(faults["failed"] == 0)])
    if not rows:
        return []
    return ["## Summary", "", *table(["figure", "result", "target", "met"], rows)]


def load_section(load: dict[str, Any] | None, image: str | None) -> list[str]:
    out = ["## 1. Load: the gateway beside a bare relay", ""]
    if load is None:
        return out + missing("load")
    heavy = load["workloads"]["heavy"]
    out += [
        f"Command: `{load['command']}` ({rounds(load['runs'])}, {num(load['duration_s'])} s in"
        " all). Each round runs every workload against a fresh bare relay"
        " ([bench/relay.py](../bench/relay.py): `websockets`, in-memory, the same frames)"
        " and then a fresh local gateway running the real app on a new SQLite file (with"
        f" its defaults: handlers in {PROCESS_WORKERS} worker processes, one event at a time"
        " each), so the"
        " ratios compare runs made minutes apart on the same machine.",
        "",
        f"Workload: {heavy['pairs']} sender/recipient pairs of real WebSocket clients"
        f" (one asyncio process), each sender sending {heavy['messages']} messages"
        f" ({heavy['text_bytes']}-character texts) to its recipient and keeping at most"
        f" {heavy['window']} unacknowledged. Latency is send -> the recipient receives the"
        " `message` frame. Every frame every client receives is checked against what was"
        " sent to whom: *lost* = never delivered to its recipient, *duplicated* = delivered"
        " (or acknowledged) twice, *misrouted* = reached a client it was not addressed to, or"
        " with another sender, recipient or text. Medians of the rounds; lost / duplicated /"
        " misrouted are totals over all rounds.",
        "",
    ]
    for name, title in (("heavy", "Under load"), ("light", "One message in flight per sender")):
        if name not in load["summary"]:
            continue
        s, w = load["summary"][name], load["workloads"][name]
        out += [f"**{title}** ({w['pairs']} pairs x {w['messages']} messages, window"
                f" {w['window']}):", ""]
        rows = []
        for target in ("relay", "gateway"):
            t = s[target]
            rows.append([target, num(t["msgs_per_s"]), num(t["p50_ms"], 1), num(t["p95_ms"], 1),
                         num(t["p99_ms"], 1), zero3(t), num(t["server_cpu_ms_per_message"], 2),
                         num(t["client_cpu_ms_per_message"], 2), yes(t["all_completed"])])
        rows.append(["**gateway / relay**", num(s["throughput_ratio"], 3), num(s["p50_ratio"], 2),
                     "", num(s["p99_ratio"], 2), "", "", "", ""])
        out += table(["server", "msg/s", "p50 ms", "p95 ms", "p99 ms",
                      "lost / dup / misrouted", "server CPU ms per message",
                      "client CPU ms per message", "all delivered"], rows)
        per_round = [
            f"{num(r[name]['ratios']['throughput'], 3)} / {num(r[name]['ratios']['p99'], 2)}"
            for r in load["rounds"]
        ]
        out += [f"Same-round ratios (throughput / p99), round by round: {'; '.join(per_round)}.",
                ""]
    if image:
        out += ["Delivery latency of every message of every round (share of messages per"
                " latency bin):", "", f"![delivery latency histogram]({image})", ""]
    return out


def load_reading(load: dict[str, Any] | None) -> list[str]:
    if load is None:
        return []
    s = load["summary"]["heavy"]
    g, r = s["gateway"], s["relay"]
    cpu_ratio = (g["server_cpu_ms_per_message"] or math.nan) / (
        r["server_cpu_ms_per_message"] or math.nan)
    met = load["targets"]
    lines = ["**Reading the figures.**", ""]
    heavy = load["workloads"]["heavy"]
    lines.append(
        f"- Delivery is exact: {zero3(g)} (lost / duplicated / misrouted) over"
        f" {load['runs']} x {heavy['pairs'] * heavy['messages']:,}"
        " messages through the gateway." if met["zero_loss"] else
        f"- Delivery was **not** exact: {zero3(g)}; see bench/results/load.json."
    )
    if not met["throughput_met"] or not met["p99_met"]:
        lines.append(
            f"- The throughput and p99 targets are **not met**: the gateway moves"
            f" {num(s['throughput_ratio'], 2)}x the relay's messages per second. Per message"
            f" it spends {num(g['server_cpu_ms_per_message'], 2)} ms of CPU (the gateway"
            " process and its handler processes together) against the relay's"
            f" {num(r['server_cpu_ms_per_message'], 2)} ms ({num(cpu_ratio, 0)}x); at"
            f" {num(g['msgs_per_s'])} msg/s that keeps"
            f" {num(g['server_cpu_ms_per_message'] * g['msgs_per_s'] / 1000, 2)} cores busy,"
            f" and the load's clients use another"
            f" {num(g['client_cpu_ms_per_message'] * g['msgs_per_s'] / 1000, 2)}. Every frame"
            " becomes an API-Gateway-shaped event, crosses a pipe to a handler process, runs"
            " the Chalice handler, commits a SQLite transaction and posts each outgoing"
            " frame through boto3's `apigatewaymanagementapi` client and back over the pipe:"
            " the work Lambda, DynamoDB and API Gateway spread over many machines in AWS."
            " The relay does none of it."
        )
    floor = load.get("core_cpu_ms_per_send")
    handler = load.get("handler_cpu_ms_per_send")
    if floor and handler:
        relay_cpu = r["server_cpu_ms_per_message"] or math.nan
        lines.append(
            f"- What the app alone costs: the relay spends {num(relay_cpu, 3)} ms of CPU per"
            " message on everything. The app, measured in one thread with no gateway around"
            " it ([bench/core_floor.py](../bench/core_floor.py)), costs more on its own: the"
            f" chat core (`Chat.receive` of a `send` on SQLite) {num(floor, 3)} ms, and the"
            " whole Lambda handler (the API-Gateway-shaped event through Chalice, the core on"
            " SQLite, both posts through boto3's `apigatewaymanagementapi` client, answered"
            f" in-process) {num(handler, 3)} ms, {num(handler / relay_cpu, 1)}x the relay's"
            " whole cost."
        )
        bound = load.get("best_possible_throughput_ratio")
        if bound is not None:
            lines.append(
                f"- The most any gateway running this app could reach here: with all"
                f" {load.get('machine', {}).get('nproc', 'the')} cores busy and nothing"
                " lost to contention, a message costs at least the handler's"
                f" {num(handler, 3)} ms, plus the relay's {num(relay_cpu, 3)} ms for the"
                " socket work, plus the clients'"
                f" {num(r['client_cpu_ms_per_message'], 3)} ms: at most"
                f" **{num(bound, 2)}x** the relay's throughput, against a target of"
                f" {num(met['throughput_ratio_min'], 1)}x. Latency under this closed-loop load"
                " is queueing (below), so the p99 ratio cannot come under"
                f" {num(1 / bound, 1)}x either, against a target of"
                f" {num(met['p99_ratio_max'], 0)}x. The targets compare the real app with a"
                " relay that stores nothing; on this machine they are out of reach by"
                " measurement, whatever the gateway does."
            )
        lines.append(
            f"- Where the gateway's other {num(g['server_cpu_ms_per_message'] - handler, 2)} ms"
            " per message go: aiohttp's framing and building each event in the gateway"
            " process, pickling events and posts across the pipes, and waking the processes"
            " involved. Handlers in threads of the gateway instead (`--isolation thread`;"
            " `LOCALGW_ISOLATION=thread python -m bench load` measures it) cost more still:"
            " the event loop and the handler threads share one GIL and hand it over at"
            " every SQLite call and socket operation, several times per message."
        )
    lines.append(
        "- With a window per sender the load is closed-loop: latency under load is mostly"
        " queueing (messages in flight / throughput, Little's law), so the p99 ratio follows"
        " the throughput ratio. The one-in-flight workload shows the per-message latency"
        " without the queue."
    )
    return [*lines, ""]


def scale_section(scale: dict[str, Any] | None) -> list[str]:
    if scale is None:
        return ["## 2. Scale: connections held open", "", *missing("scale")]
    w = scale["workload"]
    out = [f"## 2. Scale: {w['pairs'] * 2:,} connections held open", ""]
    out += [
        f"Command: `{scale['command']}` ({rounds(scale['runs'])}, {num(scale['duration_s'])} s)."
        f" {w['pairs'] * 2:,} clients sign in and stay connected; after {scale['hold_s']} s"
        " with all of them open the server's resident memory (VmRSS from /proc, summed over"
        " the gateway and its handler processes) is read and compared with the reading"
        f" taken after a warm-up in which {scale.get('warm_up_pairs', 1)} pairs of users"
        " sign in and message at once (so"
        " every handler process has built its state); then each of the"
        f" {w['pairs']} senders sends {w['messages']} messages (window {w['window']}) to its"
        f" recipient, checked as in part 1. The benchmark process raises its soft open-files"
        f" limit to {scale['open_files_soft_limit']:,} (children inherit it).",
        "",
    ]
    rows = []
    for target in ("relay", "gateway"):
        t = scale["summary"][target]
        rows.append([target, f"{t['connections']:,}", num(t["rss_before_mib"], 1),
                     num(t["rss_after_mib"], 1), num(t["rss_per_connection_kib"], 1),
                     num(t["sign_in_s"], 1), num(t["msgs_per_s"]), zero3(t)])
    out += table(["server", "connections", "RSS before MiB", "RSS with all open MiB",
                  "KiB per connection", "sign-in of all s", "msg/s", "lost / dup / misrouted"],
                 rows)
    out += [f"Gateway memory per connection / relay's (same round, median):"
            f" {num(scale['summary']['memory_ratio'], 2)}. On AWS, API Gateway holds the"
            " connections; the app keeps one item per connection in DynamoDB.", ""]
    return out


def limiter_lines(cost: dict[str, Any]) -> list[str]:
    """The rate limiter's cost (issue 11): per frame, with it beside without it."""
    limiter = cost.get("limiter")
    if not limiter:
        return []
    frames = cost["send_units"]["sends"]
    rows = []
    for action, row in limiter.items():
        on, off = row["with_limiter"], row["without_limiter"]
        rows.append([f"`{action}`",
                     f"{num(on['requests'], 2)} / {num(off['requests'], 2)}",
                     f"{num(on['wru'], 2)} / {num(off['wru'], 2)}",
                     f"{num(on['rru'], 2)} / {num(off['rru'], 2)}",
                     f"${num(on['dynamodb_usd_per_million'], 3)}"
                     f" / ${num(off['dynamodb_usd_per_million'], 3)}"])
    out = [f"The rate limiter's cost, in the same run: {frames} frames of each kind through"
           " the handlers with the limiter on (the limits as deployed, but a send limit no"
           " burst of the bench reaches) and again with every limit off; means per frame,"
           " **with / without**. A `typing` frame counts in one UpdateItem and is pushed only"
           " when it is the first of its 3-second window (the bench sends them back to back,"
           " so most are dropped and need no BatchGetItem); `read` has no limit of its own;"
           " `edit`, `react` and `delete` (issue 13) are alice's, once on each message she"
           " sent, and have no limit of their own."
           " The limiter adds at most one WRU per send:"
           f" {yes(cost['checks'].get('limiter_adds_at_most_one_wru_per_send', False))}.", ""]
    out += table(["frame", "DynamoDB requests", "WRU", "RRU", "DynamoDB $ per million frames"],
                 rows)
    return out


def cost_section(cost: dict[str, Any] | None, delivery: dict[str, Any] | None) -> list[str]:
    out = ["## 3. Cost per direct message on AWS", ""]
    if cost is None:
        return out + missing("cost")
    small, large = (str(n) for n in cost["scales"])
    out += [
        f"Command: `{cost['command']}` ({num(cost['duration_s'])} s). The real handlers run"
        " through Chalice's test client with API-Gateway-shaped events against the DynamoDB"
        " store on moto's DynamoDB server (loopback), attachments in moto's S3 as deployed"
        " (`CHAT_BLOBS=s3://...`); [bench/aws_calls.py](../bench/aws_calls.py)"
        f" counts every DynamoDB request, by the store's client and by the server, with"
        f" {int(small):,} and with {int(large):,} registered users (half of the others"
        " online).",
        "",
    ]
    rows = []
    for label in cost["send_labels"]:
        a, b = cost["calls"][small][label], cost["calls"][large][label]
        ops = ", ".join(f"{op} {n}" for op, n in a["dynamodb"].items()) or "-"
        rows.append([label, str(a["dynamodb_requests"]), str(b["dynamodb_requests"]), ops,
                     str(a["post_to_connection"])])
    out += table(["event", f"DynamoDB requests, {small} users", f"{large} users",
                  "by operation", "PostToConnection"], rows)
    out += [f"No Scan on any path: {yes(cost['checks']['no_scan'])}; the same requests at"
            f" {int(small):,} and {int(large):,} users:"
            f" {yes(cost['checks']['same_at_both_scales'])}. A send reads the caller's"
            " connection item, writes the message, the idempotency marker and both"
            " conversation summaries in one transaction (checking that the recipient exists),"
            " and reads both profiles' open connections in one BatchGetItem; with the rate"
            " limiter on (as deployed) it first adds to the sender's count in one UpdateItem.",
            ""]
    out += limiter_lines(cost)

    units = cost["send_units"]
    out += ["Request units of one direct message, from the items each request touched"
            f" ([capacity rules]({cost['sources']['capacity_units']}); every action of"
            f" `TransactWriteItems` is prepared and committed, [2 WRU per KB]"
            f"({cost['sources']['transactions']}); the ConditionCheck on the recipient's"
            " profile is counted as a transactional write, the conservative reading):", ""]
    rows = [[r["operation"], ", ".join(str(b) for b in r["item_bytes"]), num(r["wru"], 1),
             num(r["rru"], 1)] for r in units["requests"]]
    rows.append(["**total**", "", num(units["wru"], 1), num(units["rru"], 1)])
    out += table(["request", "item sizes (bytes)", "WRU", "RRU"], rows)

    money = cost["dollars"]
    lam = money["lambda"]
    rows = []
    for name, line in money["lines"].items():
        quantity = line["quantity_per_message"]
        rows.append([name, num(quantity, 4 if quantity < 1 else 0), priced(line["price"]),
                     f"${num(line['usd_per_million_messages'], 3)}"])
    rows.append(["**total**", "", "", f"**${num(money['total_usd_per_million'], 2)}**"])
    conn = money["connection_minutes_example"]
    rows.append([f"connection minutes, example: online {conn['online_minutes_per_day'] // 60} h"
                 f" a day sending {conn['messages_sent_per_day']} messages",
                 num(conn["quantity_per_message"], 1), priced(conn["price"]),
                 f"${num(conn['usd_per_million_messages'], 2)}"])
    rows.append(["total with that connection time", "", "",
                 f"${num(money['total_with_connection_example'], 2)}"])
    out += ["Dollars per million direct messages (US East, on-demand, no free tier):", ""]
    out += table(["line", "per message", "price", "$ per million messages"], rows)
    out += [
        f"- API Gateway: {money['frames']['in']} message in (the `send` frame) and"
        f" {money['frames']['out']} out (the `message` push to the recipient's one connection,"
        " the `ack`), each under 32 KB so billed as one.",
        f"- Lambda: {lam['memory_mb']} MB (.chalice/config.json sets no `lambda_memory_size`,"
        f" so Chalice's default). Measured here: {num(lam['measured_wall_ms'], 1)} ms per send"
        f" (median of {units['sends']}), of which {num(lam['measured_cpu_ms'], 1)} ms of CPU"
        " in the handler and the rest waiting on DynamoDB. At 128 MB Lambda gives a"
        f" [share of a vCPU]({cost['sources']['lambda_memory']}) (a full one at 1,769 MB), so"
        f" the CPU part is scaled by 1769/{lam['memory_mb']}: an estimated"
        f" {num(lam['estimated_ms_at_memory'], 0)} ms, billed as {lam['billed_ms']} ms"
        f" = {num(lam['gb_seconds'], 4)} GB-s.",
        "- DynamoDB: request units above at on-demand prices. Sign-up, sign-in, connect and"
        " disconnect, history, CloudWatch Logs (one JSON line per event) and data transfer are"
        " not per-message costs and are left out.",
        "",
    ]
    return out + changes_part(cost) + attachment_part(cost, delivery)


def changes_part(cost: dict[str, Any]) -> list[str]:
    """Edit, reaction and delete (issue 13), priced like a send."""
    changes, money = cost.get("change_units"), cost.get("change_dollars")
    if not changes or not money:
        return []
    small = str(cost["scales"][0])
    rows = []
    for kind, units in changes.items():
        calls = cost["calls"][small][kind]
        ops = ", ".join(f"{op} {n}" for op, n in calls["dynamodb"].items())
        rows.append([f"`{kind}`", str(calls["dynamodb_requests"]), ops,
                     str(calls["post_to_connection"]), num(units["wru"], 1),
                     num(units["rru"], 1), num(units["wall_ms_median"], 1),
                     f"${num(money[kind]['total_usd_per_million'], 2)}"])
    out = ["Changing a message (an edit, a reaction, a delete), priced the same way: one"
           f" change by the sender of each of {changes['edit']['sends']} messages, all but one"
           " older than their conversation's last message (so both summaries' conditional"
           " updates are refused, and still billed); the requests counted as in the table"
           " above:", ""]
    out += table(["change", "DynamoDB requests", "by operation", "PostToConnection", "WRU",
                  "RRU", "ms (median)", "$ per million"], rows)
    out += ["A change reads the caller's connection, finds the message among the caller's"
            " conversations (a Query of the summaries and one BatchGetItem per 100 of them:"
            " message ids do not name their conversation, and an index item per message would"
            " cost every send a write), reads the caller's block lists, updates the message"
            " and both summaries (kept only where it is the last message), and reads both"
            " profiles' connections to push.", ""]
    return out


def _ops(counts: dict[str, float]) -> str:
    return ", ".join(f"{op} {num(n, 2 if n % 1 else 0)}" for op, n in counts.items()) or "-"


def attachment_part(cost: dict[str, Any], delivery: dict[str, Any] | None) -> list[str]:
    """Issue 14: what a message with an attachment costs on AWS, S3 included, and the
    time a 5 MB photo takes through the local gateway."""
    measured, money = cost.get("attachment"), cost.get("attachment_dollars")
    out = ["### Messages with an attachment", ""]
    if not measured or not money:
        return out + missing("cost") + delivery_part(delivery)
    steps, browser = measured["steps"], measured["browser_requests_per_message"]

    def step_row(label: str, step: dict[str, Any]) -> list[str]:
        return [label, "1", num(step["dynamodb_requests_mean"], 2),
                _ops(step["dynamodb_operations"]), num(step["wru_mean"], 2),
                num(step["rru_mean"], 2), _ops(step["s3_requests_mean"]),
                num(step["apigw_messages_mean"], 0),
                f"{num(step['wall_ms_median'], 1)} / {num(step['cpu_ms_median'], 1)}"]

    def browser_row(label: str, operation: str) -> list[str]:
        return [label, "-", "-", "", "-", "-", _ops({operation: browser[operation]}), "-", "-"]

    rows = [step_row("alice's `upload` frame", steps["upload"]),
            browser_row("her browser's multipart POST of the file", "PostObject"),
            step_row("her `send` with the attachment", steps["send"]),
            step_row("bob's `history` (`limit` 1)", steps["history"]),
            browser_row("his browser's GET of the download URL", "GetObject"),
            step_row("later, alice's `delete`", steps["delete"])]
    out += [
        f"The same run counts a message with an attachment for real"
        " ([bench/attachment_cost.py](../bench/attachment_cost.py)): the handlers with"
        " `CHAT_BLOBS=s3://<bucket>/attachments/` on moto's S3 (the same server on loopback),"
        f" {measured['messages']} messages, each alice's `upload` frame, her browser's POST of"
        f" the file with the presigned form ({num(measured['photo_bytes'] // 1024)} KiB of"
        f" random bytes, {measured['photo_type']}: no count below depends on the size), her"
        " `send` with the attachment, one `history` fetch by bob that returns it (`limit`"
        " 1: a page per message, the dearest reading; a page of 50 messages shares one"
        " invocation and one Query among them)"
        " and his browser's GET of its download URL; then alice deletes each message. S3"
        " requests are counted by S3Blobs' boto3 client (the server's) and at the two"
        " `requests` calls (the browser's), DynamoDB as above; means per invocation, times"
        " the median (wall / CPU of the handler):",
        "",
    ]
    out += table(["step", "Lambda invocations", "DynamoDB requests", "by operation", "WRU",
                  "RRU", "S3 requests", "API Gateway messages (in + out)", "ms"], rows)

    message = money["message"]
    rows = []
    for name, line in message["lines"].items():
        quantity = line["quantity_per_message"]
        label = f"{name} ({_ops(line['operations'])})" if "operations" in line else name
        rows.append([label, num(quantity, 4 if quantity < 1 else 2 if quantity % 1 else 0),
                     priced(line["price"]), f"${num(line['usd_per_million_messages'], 3)}"])
    rows.append(["**total**", "", "", f"**${num(message['total_usd_per_million'], 2)}**"])
    view, delete, storage = money["further_view"], money["delete"], money["storage"]
    rows.append(["each further view (S3 GET-tier: GetObject)", "1", priced(view["price"]),
                 f"${num(view['usd_per_million_messages'], 2)}"])
    rows.append(["the `delete`, later (S3 DELETE is free; Lambda, DynamoDB, API Gateway)", "",
                 "", f"${num(delete['total_usd_per_million'], 2)}"])
    out += ["Dollars per million messages with an attachment (US East, on-demand, no free"
            " tier; the upload, the POST, the send, bob's history fetch and one view), and"
            " per million further views and deletes:", ""]
    out += table(["line", "per message", "price", "$ per million"], rows)
    example_mb = storage["example_bytes"] / 2**20
    billed = ", ".join(str(ms) for ms in message["lambda_billed_ms"])
    out += [
        f"- Storage: {priced(storage['price'])}, a GB being"
        f" [{storage['gb_definition']['bytes']:,} bytes]({storage['gb_definition']['url']});"
        f" a million {num(example_mb, 0)} MB photos kept for a month cost"
        f" **${num(storage['example_usd_per_million_messages_per_month'], 2)}** for every"
        " month they are kept, beside the requests' one-off total above. Uploads never"
        " attached expire after a day by the bucket's lifecycle rule.",
        "- S3 requests: the server's are the HeadObject (what arrived: size and type) and the"
        " PutObjectTagging (`chat-state=attached`, billed as a PUT) of the `send`, and the"
        " DeleteObject of the `delete`; `upload` and `history` make none (presigning is local"
        " computation). The browser's POST is billed as a PUT, each view as a GET.",
        f"- API Gateway: the frames in (`upload`, `send`, `history`) and out (the `upload`"
        " reply, the `ack`, the `message` push, the `history` page), each in 32 KB steps."
        f" Lambda: {money['memory_mb']} MB, each invocation's duration estimated as for a"
        f" send above and billed per invocation ({billed} ms); the waiting in them is on"
        " moto's DynamoDB and S3 on loopback, not AWS's.",
        "- Left out, as for a direct message: data transfer (each view of the file leaves"
        " S3 for the internet, billed per GB downloaded, on the same pricing page),"
        " CloudWatch Logs, and S3's free tier.",
        "",
    ]
    return out + delivery_part(delivery)


def delivery_part(delivery: dict[str, Any] | None) -> list[str]:
    out = ["**A 5 MB photo through the local gateway.**", ""]
    if delivery is None:
        return out + missing("attachments")
    figures = delivery["summary"]
    count = len(delivery["rounds"])
    labels = {
        "upload_reply_ms": "alice's `upload` frame -> the `upload` reply",
        "post_ms": "her multipart POST of the photo to the reply's `/blobs/` url -> its 204",
        "send_to_push_ms": "her `send` with the attachment -> bob's `message` push",
        "download_ms": "bob's GET of the push's attachment url -> the last byte",
        "total_ms": "**upload frame -> bob holds the file**",
    }
    rows = [[label, num(figures[phase]["median"], 1), num(figures[phase]["min"], 1),
             num(figures[phase]["max"], 1)] for phase, label in labels.items()]
    out += [
        f"Command: `{delivery['command']}` ({num(delivery['duration_s'])} s;"
        " [bench/attachments.py](../bench/attachments.py)). `python -m localgw` on a free"
        " port with a new SQLite file and the embedded blob store (`CHAT_BLOBS=file:///<tmp>"
        "/blobs`) in a new temporary directory; two real WebSocket clients, alice and bob,"
        " each with a `requests` session as its browser. Each round alice uploads"
        f" {delivery['photo_bytes']:,} bytes of random data as {delivery['photo_type']} and"
        " sends it; the clock stops when bob has the `message` push and has downloaded"
        f" the file (the bytes equal: {yes(delivery['checks']['delivered_intact'])}). Median,"
        f" min and max of {rounds(count)} after {delivery['warm_up_rounds']} warm-up"
        f" round{'' if delivery['warm_up_rounds'] == 1 else 's'}:",
        "",
    ]
    out += table(["phase", "median ms", "min ms", "max ms"], rows)
    out += [f"That is {num(figures['mb_per_s_median'], 1)} MB/s end to end (each byte"
            " written to the gateway's disk once and read back once), on loopback.", ""]
    return out


def cold_section(cold: dict[str, Any] | None, aws: dict[str, Any] | None) -> list[str]:
    out = ["## 4. Cold start", ""]
    if cold is None:
        return out + missing("coldstart")
    imp, first, pkg = cold["import_time"], cold["first_event"], cold["package"]
    out += [
        f"Command: `{cold['command']}` ({num(cold['duration_s'])} s). Import time is"
        f" `python -X importtime -c 'import app'` in a fresh interpreter, median of"
        f" {imp['runs']} runs interleaved with the same for a bare Chalice WebSocket echo app"
        " (one `on_ws_message` handler that sends the body back), after one warm-up run of"
        " each (bytecode compiled, files cached).",
        "",
    ]
    out += table(["", "ms"], [
        ["import `app` (this chat)", num(imp["app_ms"], 1)],
        ["import bare Chalice echo app", num(imp["echo_app_ms"], 1)],
        ["**ratio**", num(imp["ratio"], 2)],
        ["first event: building the service (settings, DynamoDB client)",
         num(first["service_build_ms"], 1)],
    ])
    out += [
        f"Lambda zip from `chalice package --stage dev`: **{num(pkg['zip_bytes'] / 1024, 0)}"
        f" KiB** ({pkg['zip_bytes']:,} bytes; {pkg['files']} files,"
        f" {num(pkg['uncompressed_bytes'] / 1024, 0)} KiB unpacked): "
        + ", ".join(f"`{t}`" for t in pkg["top_level"])
        + ". boto3 is in the Lambda runtime and stays out of the zip.",
        "",
    ]
    if aws is not None:
        out += ["bench/aws_calls.py (`.venv/bin/python -m bench.aws_calls`) keeps its own"
                " calls-per-event table and import figures in bench/results/aws_calls.json.", ""]
    return out


FAULT_TEXT = {
    "test_dropped_recipient_loses_nothing_from_history": (
        "A recipient's connection drops mid-stream (TCP aborted, no close frame)",
        "tests/faults/test_recipient_drop.py",
    ),
    "test_sigkill_mid_load_keeps_every_acknowledged_message_once": (
        "The gateway is killed with SIGKILL during load and restarted on the same SQLite file",
        "tests/faults/test_gateway_kill.py",
    ),
    "test_throttled_requests_are_retried_and_nothing_is_lost": (
        "DynamoDB throttles (ProvisionedThroughputExceededException on first attempts, and a"
        " transaction cancelled with ThrottlingError)",
        "tests/faults/test_dynamodb_throttling.py",
    ),
    "test_gone_connections_are_cleaned_from_the_store": (
        "Stale connections: @connections answers GoneException",
        "tests/faults/test_stale_connection.py",
    ),
}


def _figure_text(figures: dict[str, Any]) -> str:
    parts = []
    for key, value in figures.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def faults_section(faults: dict[str, Any] | None) -> list[str]:
    out = ["## 5. Faults", ""]
    if faults is None:
        return out + missing("faults")
    out += [
        "These are pytest tests in tests/faults, part of `make test`; `python -m bench faults`"
        f" runs them and keeps what each one recorded. Last run: {faults['passed']} passed,"
        f" {faults['failed']} failed, {num(faults['duration_s'], 1)} s.",
        "",
    ]
    rows = []
    order = [n for n in FAULT_TEXT if n in faults["tests"]]
    order += [n for n in faults["tests"] if n not in FAULT_TEXT]
    for name in order:
        test = faults["tests"][name]
        title, path = FAULT_TEXT.get(name, (name, test["module"]))
        rows.append([f"{title} ([test](../{path}))", test["outcome"],
                     num(test["seconds"], 1), _figure_text(test["figures"])])
    out += table(["fault", "result", "s", "figures"], rows)
    out += [
        "- Drop: the sender keeps getting acks; the recipient signs in again and `history`"
        " returns every message, the ones it missed included, each once, with the ids the"
        " acks gave.",
        "- SIGKILL: what was acknowledged was committed (SQLite WAL); the clients log in to"
        " the restarted gateway and re-send every unacknowledged message with its"
        " `client_id`. Messages that were stored but whose ack was lost in the crash come back"
        " with their first id and are not pushed again; history holds each message once.",
        "- Throttling: botocore's standard retry mode (the store's client: 5 attempts) retries"
        " ProvisionedThroughputExceededException; a transaction cancelled for throttling is"
        " retried by the store. The unread counter shows each transaction applied once.",
        "- GoneException: the connection item and the entry in the profile's `conns` map are"
        " deleted on the first 410; it is not posted to again; when the last connection is"
        " gone, the sender is told the recipient went offline.",
        "",
    ]
    return out


HAND_WRITTEN = "<!-- hand-written from here on: bench/report.py keeps it as it is -->"


def hand_written(doc: Path) -> list[str]:
    """The doc's hand-written tail (from the HAND_WRITTEN marker on), kept on rewrites."""
    text = doc.read_text() if doc.exists() else ""
    if HAND_WRITTEN not in text:
        return []
    return [HAND_WRITTEN + text.split(HAND_WRITTEN, 1)[1].rstrip("\n"), ""]


def paging_section() -> list[str]:
    """Not a measurement: what a ``conversations`` page costs on DynamoDB, by design."""
    return [
        "## 6. Conversations pages on DynamoDB",
        "",
        "Conversation summaries are items `USER#<owner>` / `CONV#<other>`, sorted by the"
        " other person's name, not by recency. A `conversations` page (newest first, by"
        " `before`) therefore makes one Query over all of the owner's summaries, projected"
        " to `other` and `last_id` and sorted in the core, then one BatchGetItem of the"
        " page's summaries (at most 100). The projection saves transfer and time, not"
        " request units: DynamoDB bills a Query by the whole items it reads, so a page costs"
        " about (total size of the owner's summaries) / 4 KB read units for the Query"
        " (strongly consistent), plus one read unit per 4 KB of each summary on the page."
        " A summary holds the last message, so it is up to about 24 KB (4,000 characters"
        " of 6 bytes each in JSON are the wire's worst case; DynamoDB stores UTF-8, at most"
        " 4 bytes a character); with short messages it is a few hundred bytes. The cost"
        " grows with the number of partners, while a send stays at its measured cost"
        " (section 3).",
        "",
        "The alternative is a global secondary index keyed by owner and sorted by"
        " `last_id`: a page becomes one Query of `limit + 1` index items, but every send"
        " also writes both summaries' index entries (with a KEYS_ONLY projection about"
        " 100 bytes each, 1 write unit each: 2 more than the 10 write units a send takes"
        " in section 3, and the index's storage). Paging is read far less often than"
        " messages are sent, so the Query over all summaries is kept until people with"
        " thousands of partners make it the larger cost.",
        "",
    ]


def write(directory: Path = results.RESULTS, doc: Path = DOC) -> Path:
    parts = {name: results.load(name, directory)
             for name in ("load", "scale", "cost", "attachments", "coldstart", "faults",
                          "aws_calls")}
    picture = directory / HISTOGRAM
    image = os.path.relpath(picture, doc.parent) if picture.exists() else None
    lines = [
        "# Performance and reliability",
        "",
        "<!-- generated by `make bench` (bench/report.py) from bench/results/*.json;"
        " edit bench/report.py, not this file -->",
        "",
        "Figures for the chat as it runs here: the local gateway (`python -m localgw`)"
        " running the real Chalice handlers, clients on loopback, DynamoDB as moto's server"
        " on loopback. Rerun everything with `make bench` (`.venv/bin/python -m bench`), one"
        " part with `.venv/bin/python -m bench load` (or `scale`, `cost`, `attachments`,"
        " `coldstart`, `deploy`, `faults`), or a smoke run with `--quick` (results to a"
        " temporary directory, this page untouched).",
        "",
        "Settings of every run: `CHAT_SCRYPT_COST=1024,8,1` so that signing up hundreds of"
        " benchmark users takes seconds (the production default is scrypt 16384,8,5;"
        " sign-up is outside every timed phase); the gateway with `--log-level WARNING` (its"
        " per-invocation REPORT lines are Lambda's platform's job) and the app at"
        " `CHAT_LOG_LEVEL=INFO`, its one JSON line per event written to a file; no"
        " WebSocket compression; fake AWS credentials, nothing leaves the machine. The"
        " machine is small and shared: figures move by 10-20 % between runs, which is why"
        " each is a median and each ratio compares runs of the same round.",
        "",
        *machine_section(parts),
        *summary_section(parts),
        *load_section(parts["load"], image),
        *load_reading(parts["load"]),
        *scale_section(parts["scale"]),
        *cost_section(parts["cost"], parts["attachments"]),
        *cold_section(parts["coldstart"], parts["aws_calls"]),
        *faults_section(parts["faults"]),
        *paging_section(),
        *hand_written(doc),
    ]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines).rstrip() + "\n")
    return doc


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return os.fspath(path)
