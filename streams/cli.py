"""The ``recsys`` command: run the worker, create topics, produce events, tail the output.

Settings come only from ``RECSYS_*`` environment variables (``recsys settings`` lists them).
Each subcommand is one ``cmd_*`` function taking the parsed arguments and the settings and
returning the exit status; add one with a parser in :func:`build_parser`.

Exit status: 0 success, 1 failure (broker down, delivery errors, bad input), 2 usage or
configuration error, 130 interrupted while producing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, Message

from recsys.errors import ConfigError, RecsysError
from recsys.settings import ENV_PREFIX, Settings
from recsys.threads import limit_blas_threads
from schemas import DeadLetter, Recommendation, SchemaError, encode
from streams.client import DeliveryError, EventProducer, TopicReader
from streams.events_io import EventFileError, detect_format, read_events
from streams.kafka_io import (
    BrokerUnavailable,
    create_topics,
    make_producer,
    wait_for_broker,
)

Command = Callable[[argparse.Namespace, Settings], int]

BROKER_WAIT_S = 10.0
TRAIN_FORMATS = ("jsonl", "movielens-latest", "movielens-100k", "synthetic")
FLUSH_TIMEOUT_S = 60.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["simulate"]:  # its options are its own (recsys.simulate.main)
        args = argparse.Namespace(command=cmd_simulate, rest=given[1:])
    else:
        args = parser.parse_args(given)
    command: Command = args.command
    try:
        settings = Settings.from_env()
        limit_blas_threads(settings.blas_threads)
        return command(args, settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `recsys tail | head`
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsys",
        description="Streaming recommender. Settings come from RECSYS_* environment variables (see `recsys settings`).",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    worker = sub.add_parser("worker", help="run the stream-processing worker")
    worker.set_defaults(command=cmd_worker)

    topics = sub.add_parser("topics", help="manage the service's topics")
    topics_sub = topics.add_subparsers(title="actions", metavar="ACTION", required=True)
    create = topics_sub.add_parser("create", help="create the input and output topics (keeps existing ones)")
    create.set_defaults(command=cmd_topics_create)

    produce = sub.add_parser("produce", help="send events from a JSON-lines file or a MovieLens folder")
    produce.add_argument("path", help="a .jsonl file, a MovieLens ratings.csv, or the folder holding it")
    produce.add_argument(
        "--format",
        choices=("auto", "jsonl", "movielens"),
        default="auto",
        help="input format (default: guess from the path)",
    )
    produce.add_argument(
        "--rate",
        type=float,
        default=0.0,
        metavar="EVENTS_PER_S",
        help="interactions per second, 0 = as fast as possible (default); items and users are never throttled",
    )
    produce.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="stop after N interactions (items and users read before them are sent)",
    )
    produce.add_argument(
        "--skip-invalid",
        action="store_true",
        help="report a bad line and send it raw to the interactions topic anyway, "
        "where the worker dead-letters it (default: stop at the first bad line)",
    )
    produce.add_argument("--no-progress", action="store_true", help="no progress bar")
    produce.set_defaults(command=cmd_produce)

    evaluate = sub.add_parser(
        "evaluate",
        help="replay a dataset through the engine and baselines in-process (no Kafka); writes results.json",
    )
    from recsys.evaluate.run import add_arguments

    add_arguments(evaluate)
    evaluate.set_defaults(command=cmd_evaluate)

    train = sub.add_parser(
        "train",
        help="fit WALS on a history (a file, or the topics from the beginning) and save the model snapshot "
        "the worker starts from (stop the worker first)",
    )
    source = train.add_mutually_exclusive_group()
    source.add_argument("--from", dest="source", type=Path, metavar="FILE|FOLDER", help="dataset file or folder")
    source.add_argument("--from-topic", action="store_true",
                        help="read the items, users and interactions topics from offset 0 to their end")  # fmt: skip
    train.add_argument("--format", choices=TRAIN_FORMATS, default="jsonl", dest="fmt", help="format of --from")
    train.add_argument("--events", type=int, default=30000, help="interactions of the synthetic stream")
    train.add_argument("--seed", type=int, default=0, help="seed of the synthetic stream")
    train.add_argument("--out", type=Path, default=None,
                       help="model folder (default: RECSYS_DATA_DIR/model, where the worker loads it)")  # fmt: skip
    train.set_defaults(command=cmd_train)

    tail = sub.add_parser("tail", help="print recommendations (or dead letters) as they are published")
    tail.add_argument("--user", metavar="USER_ID", help="only this user's messages")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest message, not now")
    tail.add_argument("--dead-letters", action="store_true", help="read the dead-letter topic instead")
    tail.add_argument("--max-messages", type=int, default=None, metavar="N", help="stop after N messages")
    tail.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after SECONDS without a message (default: run until Ctrl-C)",
    )
    tail.add_argument("--json", action="store_true", help="print the raw JSON values, one per line")
    tail.set_defaults(command=cmd_tail)

    simulate = sub.add_parser("simulate", add_help=False,
                              help="a closed loop: synthetic users with planted tastes answer their lists, in-process "
                              "or (--live) through the broker to a running worker (--help: its options)")  # fmt: skip
    simulate.set_defaults(command=cmd_simulate, rest=[])

    experiments = sub.add_parser("experiments", help="the running A/B experiment (RECSYS_EXPERIMENT)")
    experiments_sub = experiments.add_subparsers(title="actions", metavar="ACTION", required=True)
    exp_report = experiments_sub.add_parser(
        "report", help="each variant's hit rate with a 95%% interval and its difference from control, "
        "summed over the workers' /experiments/ pages")  # fmt: skip
    exp_report.add_argument("--url", action="append", default=[], metavar="URL",
                            help="a worker's HTTP address (repeat for each; default: this host's worker)")  # fmt: skip
    exp_report.add_argument("--json", action="store_true", help="print the report as JSON")
    exp_report.set_defaults(command=cmd_experiments_report)
    exp_start = experiments_sub.add_parser(
        "start", help="start or change the experiment on every worker now (the experiments topic; no restart)")
    exp_start.add_argument("spec", help="the experiment as JSON, or a file holding it")
    exp_start.set_defaults(command=cmd_experiments_start)
    exp_stop = experiments_sub.add_parser("stop", help="stop the experiment on every worker now")
    exp_stop.set_defaults(command=cmd_experiments_stop)

    show = sub.add_parser("settings", help="list every setting with its current value")
    show.set_defaults(command=cmd_settings)
    return parser


# --- worker, topics, settings -----------------------------------------------------------------


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.worker import run_worker  # heavy (faust); only this command needs it

    status = run_worker(settings)
    return int(status or 0)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Bootstrap the engine from a history with WALS (:mod:`recsys.bootstrap`) and save its snapshot."""
    from recsys.bootstrap import bootstrap, seed_users
    from recsys.engine import Engine
    from recsys.errors import DatasetError
    from recsys.evaluate.run import load_events

    if not args.from_topic and args.source is None and args.fmt != "synthetic":
        print("error: recsys train needs --from FILE|FOLDER, --from-topic, or --format synthetic", file=sys.stderr)
        return 2
    engine = Engine(settings)
    try:
        if args.from_topic:
            from streams.history import read_history

            wait_for_broker(settings, BROKER_WAIT_S)
            history = read_history(settings)
            if history.bad:
                print(f"warning: skipped {history.bad} messages that do not decode", file=sys.stderr)
            for spot, offset in history.last_offsets.items():
                topic, _, partition = spot.rpartition(":")
                engine.note_offset(topic, int(partition), offset)
            summary = bootstrap(engine, history.events)
        else:
            summary = bootstrap(engine, load_events(args.fmt, args.source, args.events, args.seed))
    except (DatasetError, ValueError, OSError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    engine.items.wals.seed_users = seed_users(engine.users)
    path = engine.save(args.out or settings.data_dir / "model")
    print(f"trained on {summary.events} events: {summary.users} users, {summary.items} items, "
          f"{summary.triples} user-item pairs; WALS {summary.fit_seconds:.1f} s (objective "
          f"{summary.objective:.4g}), total {summary.seconds:.1f} s; factor epoch {summary.epoch}")  # fmt: skip
    print(f"saved {path}; start the worker with the same RECSYS_FACTORS and RECSYS_MF_LOSS to use it")
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    if "--live" in args.rest:  # against a running worker, through the broker
        from streams.simulate_live import main as live

        return live(list(args.rest), settings)
    from recsys.simulate import main as simulate

    return simulate(list(args.rest))


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Prequential replay; engine settings come from --set, not the environment."""
    from recsys.evaluate.run import run

    run(args)
    return 0


def cmd_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    wait_for_broker(settings, BROKER_WAIT_S)
    try:
        result = create_topics(settings)
    except KafkaException as exc:
        print(f"error: could not create topics at {settings.broker_url}: {exc.args[0]}", file=sys.stderr)
        return 1
    width = max(len(name) for name in result)
    print(f"{'TOPIC':<{width}}  STATUS")
    for name, status in result.items():
        print(f"{name:<{width}}  {status}")
    mismatched = [name for name, status in result.items() if status.startswith("exists with")]
    if mismatched:
        print(
            f"error: {', '.join(mismatched)} must have {settings.partitions} partitions "
            f"(RECSYS_PARTITIONS): faust's table changelogs need as many partitions as their source "
            "topic. Recreate the topic, or set RECSYS_PARTITIONS to match.",
            file=sys.stderr,
        )
        return 1
    return 0


def _send_experiment(settings: Settings, value: bytes | None) -> None:
    producer = make_producer(settings)
    from recsys.experiments import TOPIC_KEY

    producer.produce(settings.topic_experiments, key=TOPIC_KEY, value=value)
    if producer.flush(30):
        raise ConfigError(
            f"the experiment was not delivered to {settings.topic_experiments!r} within 30 s; is the broker "
            f"at {settings.broker_url} up, and the topic created (`recsys topics create`)?"
        )


def cmd_experiments_start(args: argparse.Namespace, settings: Settings) -> int:
    from recsys.experiments import Experiment

    text = Path(args.spec).read_text() if not args.spec.lstrip().startswith("{") else args.spec
    experiment = Experiment.parse(text)
    experiment.settings_of(settings)  # every variant's settings valid here, before any worker sees it
    _send_experiment(settings, json.dumps(experiment.to_dict()).encode())
    print(f"experiment {experiment.name} sent: " + ", ".join(f"{v.name} {v.share:g}" for v in experiment.variants))
    return 0


def cmd_experiments_stop(args: argparse.Namespace, settings: Settings) -> int:
    _send_experiment(settings, None)
    print("experiment stopped")
    return 0


def cmd_experiments_report(args: argparse.Namespace, settings: Settings) -> int:
    from recsys.experiments import format_report, merge_counts, report

    urls = args.url or [settings.web_url or f"http://{settings.web_host}:{settings.web_port}"]
    pages = []
    for url in urls:
        token = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
        request = urllib.request.Request(f"{url.rstrip('/')}/experiments/", headers=token)
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                pages.append(json.loads(reply.read()))
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {url}/experiments/ ({exc}); is a worker running there (--url)?", file=sys.stderr)
            return 1
    defined = [p["experiment"] for p in pages if p.get("experiment")]
    if not defined:
        print("no experiment runs (set RECSYS_EXPERIMENT on the workers)")
        return 0
    names = {d["name"] for d in defined}
    if len(names) > 1 or len(defined) < len(pages):
        print(f"error: the workers run different experiments ({sorted(names)}, {len(pages) - len(defined)} none); "
              "give every worker the same RECSYS_EXPERIMENT", file=sys.stderr)  # fmt: skip
        return 1
    control = defined[0]["control"]
    rows = report(merge_counts([p["variants"] for p in pages]), control)
    if args.json:
        print(json.dumps({"experiment": defined[0], "workers": len(pages), "report": rows}, indent=2))
    else:
        print(f"experiment {defined[0]['name']} ({len(pages)} worker(s))")
        print(format_report(rows, control))
    return 0


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    current = settings.as_dict()
    rows = []
    for variable, default, meaning in Settings.describe():
        value = _show(current[variable[len(ENV_PREFIX) :].lower()])
        note = "" if value == default else f" (default: {default})"
        rows.append((variable, value, meaning + note))
    var_width = max(len(r[0]) for r in rows)
    value_width = min(30, max(len(r[1]) for r in rows))
    for variable, value, meaning in rows:
        print(f"{variable:<{var_width}}  {value:<{value_width}}  {meaning}")
    return 0


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v:g}" for k, v in value.items())
    return str(value)


# --- produce ------------------------------------------------------------------------------------


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    if args.rate < 0 or (args.limit is not None and args.limit < 0):
        print("error: --rate and --limit must not be negative", file=sys.stderr)
        return 2
    from tqdm import tqdm

    try:  # a wrong path or format is a usage error: report it before touching the broker
        fmt = detect_format(args.path) if args.format == "auto" else args.format
        if not os.path.exists(args.path):
            raise ValueError(f"{args.path}: no such file or directory")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    wait_for_broker(settings, BROKER_WAIT_S)
    events = EventProducer(settings)  # keys, partitioner and idempotence as the worker expects
    sent: Counter[str] = Counter()
    progress = tqdm(unit=" msg", file=sys.stderr, disable=args.no_progress or not sys.stderr.isatty())

    def send(kind: str, key: str | None, value: bytes) -> None:
        events.send_encoded(kind, key, value)  # read_events validated the record already
        progress.update(1)

    def on_error(error: EventFileError) -> None:
        if not args.skip_invalid:
            raise error
        print(f"warning: {error}; sending the raw line to {settings.topic_interactions} anyway",
              file=sys.stderr)  # fmt: skip
        send("interactions", _guess_user(error.raw), error.raw)
        sent["invalid"] += 1

    status = 0
    started = time.monotonic()
    first_interaction: float | None = None  # the rate schedule starts here, after the catalogue
    try:
        for kind, key, record in read_events(args.path, fmt, on_error):
            if kind == "interactions":
                if args.limit is not None and sent["interactions"] >= args.limit:
                    break
                if args.rate > 0:  # sleep to a fixed schedule, so per-message overhead does not add up
                    first_interaction = first_interaction or time.monotonic()
                    _wait_until(events.producer, first_interaction + sent["interactions"] / args.rate)
            send(kind, key, encode(record))
            sent[kind] += 1
    except (ValueError, OSError) as exc:  # EventFileError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        status = 1
    except KafkaException as exc:
        print(f"error: producing to {settings.broker_url} failed: {exc.args[0]}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted; flushing what was sent", file=sys.stderr)
        status = 130
    finally:
        progress.close()
        try:
            events.flush(FLUSH_TIMEOUT_S)
            undelivered = ""
        except DeliveryError as exc:
            undelivered = str(exc)
    elapsed = time.monotonic() - started
    total = sum(sent.values())
    follows = "".join(f", {sent[kind]} {kind}" for kind in ("follows", "context", "rules") if sent[kind])
    summary = (f"sent {sent['interactions']} interactions, {sent['items']} items, {sent['users']} users{follows} "
               f"in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.0f}/s)")  # fmt: skip
    if sent["invalid"]:
        summary += f", plus {sent['invalid']} invalid lines sent raw"
    print(summary)
    if undelivered:
        print(f"error: {undelivered}", file=sys.stderr)
        status = status or 1
    return status


def _wait_until(producer: Any, due: float) -> None:
    """Serve delivery reports until the monotonic time ``due``."""
    while (remaining := due - time.monotonic()) > 0:
        producer.poll(remaining)


def _guess_user(raw: bytes) -> str | None:
    """The user_id of a line that failed validation, if it has one, so it keeps its partition."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    user = data.get("user_id") if isinstance(data, dict) else None
    return str(user) if isinstance(user, (str, int)) and not isinstance(user, bool) else None


# --- tail ---------------------------------------------------------------------------------------


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    topic = settings.topic_dead_letters if args.dead_letters else settings.topic_recommendations
    wait_for_broker(settings, BROKER_WAIT_S)
    keys = None if args.user is None else {args.user}
    try:
        reader = TopicReader(settings, topic, keys=keys, from_beginning=args.from_beginning, timeout=BROKER_WAIT_S)
    except RecsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shown = 0
    last_message = time.monotonic()
    try:
        while args.max_messages is None or shown < args.max_messages:
            if args.timeout is not None and time.monotonic() - last_message >= args.timeout:
                break
            msg = reader.poll_message(0.5)
            if msg is None:
                continue
            print(_format_json(msg) if args.json else _format_message(msg, args.dead_letters), flush=True)
            shown += 1
            last_message = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    return 0


def _format_json(msg: Message) -> str:
    value = msg.value() or b""
    try:
        return json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return _text(value) or ""


def _format_message(msg: Message, dead_letter: bool) -> str:
    try:
        if dead_letter:
            letter = DeadLetter.from_dict(json.loads(msg.value() or b"null"))
            return format_dead_letter(letter)
        rec = Recommendation.from_dict(json.loads(msg.value() or b"null"))
        return format_recommendation(rec)
    except (SchemaError, ValueError) as exc:
        _, stamp = msg.timestamp()
        return (f"{_clock(stamp / 1000)}  UNREADABLE {msg.topic()}[{msg.partition()}]@{msg.offset()}: "
                f"{exc}\n  {_text(msg.value())}")  # fmt: skip


def format_recommendation(rec: Recommendation) -> str:
    """A header line, then one numbered line per item."""
    lines = [f"{_clock(rec.generated_at)}  user {rec.user_id}  after {rec.event_id}  "
             f"{rec.latency_ms:.1f} ms  {rec.model_version}"]  # fmt: skip
    rank_width = len(str(len(rec.items)))
    id_width = max((len(item.item_id) for item in rec.items), default=0)
    for rank, item in enumerate(rec.items, start=1):
        why = f"  {'; '.join(item.reasons)}" if item.reasons else ""
        lines.append(f"  {rank:>{rank_width}}. {item.item_id:<{id_width}}  {item.score:.3f}  "
                     f"[{', '.join(item.sources)}]{why}")  # fmt: skip
    if not rec.items:
        lines.append("  (no items)")
    return "\n".join(lines)


def format_dead_letter(letter: DeadLetter) -> str:
    # value is None exactly when the original bytes are not UTF-8 text
    value = letter.value if letter.value is not None else f"(base64) {letter.value_base64}"
    return (f"{_clock(letter.failed_at)}  DEAD LETTER from {letter.source_topic}[{letter.partition}]"
            f"@{letter.offset}: {letter.reason}\n  key: {letter.key}\n  value: {value}")  # fmt: skip


def _clock(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s).strftime("%H:%M:%S")


def _text(raw: bytes | str | None) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return raw.decode("utf-8", errors="replace")


if __name__ == "__main__":
    sys.exit(main())
