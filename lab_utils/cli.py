"""`python -m lab_utils ...`: the lab's command line (docs/contract.md, "Command line").

Exit status 0 on success; on failure, non-zero and one line on stderr that says what is
wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import config as _config
from . import bench, demo, i18n, pipeline, services, training
from .errors import LabError
from .pipeline import DEFAULT_TRIGGER_S, MAX_OFFSETS_PER_TRIGGER
from .producer import produce


_ = i18n.catalog(__name__, {
    "fraud_ratio": {
        "en": "--fraud-ratio must be between 0 and 1 (0.02 = 2% fraud), got {value}",
        "fr": "--fraud-ratio doit être entre 0 et 1 (0.02 = 2 % de fraude), reçu {value}",
    },
    "scoring_with": {
        "en": "scoring every valid row with fraud model {version} (trained on history up to {as_of})",
        "fr": "chaque ligne valide reçoit le score du modèle de fraude {version} (appris sur l'historique "
              "jusqu'au {as_of})",
    },
    "other_seed": {
        "en": "another seed ({seed}, {rows:,} payments, {frauds:,} frauds, after the history): AUC {auc:.3f}; "
              "at the threshold {threshold:.3f}: precision {precision:.3f}, recall {recall:.3f}",
        "fr": "une autre graine ({seed}, {rows:,} paiements, {frauds:,} fraudes, après l'historique) : AUC "
              "{auc:.3f} ; au seuil {threshold:.3f} : précision {precision:.3f}, rappel {recall:.3f}",
    },
    "wrote": {"en": "wrote {path}", "fr": "écrit : {path}"},
})


def _stack(args: argparse.Namespace) -> int:
    stack = services
    if args.action == "up":
        report = stack.up()
        print(stack.format_status(report))
    elif args.action == "down":
        if not stack.down():
            print("nothing to stop: no service started by lab_utils is running")
    elif args.action == "status":
        report = stack.status()
        print(json.dumps(report, indent=2) if args.json else stack.format_status(report))
    elif args.action == "reset":
        if not args.yes:
            if not sys.stdin.isatty():
                raise LabError("`stack reset` deletes the topic's messages and the bucket's output, rejected "
                               "and checkpoint folders: add --yes to confirm")
            cfg = _config.load()
            answer = input(f"Empty topic {cfg.KAFKA_TOPIC} and s3://{cfg.LAB_BUCKET}/{{output,rejected,checkpoint}}/? "
                           "[y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing changed")
                return 1
        stack.reset()
    return 0


def _produce(args: argparse.Namespace) -> int:
    if args.bad_ratio is not None and not 0 <= args.bad_ratio <= 1:
        raise LabError(f"--bad-ratio must be between 0 and 1, got {args.bad_ratio}")
    if not 0 <= args.fraud_ratio <= 1:
        raise LabError(_("fraud_ratio", value=args.fraud_ratio))
    summary = produce(count=args.count, duration=args.duration, rate=args.rate or None,
                      bad_ratio=args.bad_ratio or 0.0, seed=args.seed, topic=args.topic,
                      progress=sys.stderr.isatty(), fraud_ratio=args.fraud_ratio,
                      history_weeks=args.history_weeks)
    print(summary)
    if summary.failed or summary.chargebacks_failed:
        raise LabError(f"{summary.failed + summary.chargebacks_failed} of {summary.sent + summary.chargebacks} "
                       f"messages were not acknowledged by Kafka "
                       f"(first error: {summary.errors[0] if summary.errors else '?'}): "
                       "check `python -m lab_utils stack status` and send them again")
    return 130 if summary.interrupted else 0


def _stream(args: argparse.Namespace) -> int:
    from pyspark.errors import StreamingQueryException

    cfg = services.require_services()
    # Before Spark starts (and prints its own lines): a stream asked to score with no model says so in one line.
    version = pipeline.models.require(args.prefix, cfg) if args.score else None
    spark = pipeline.get_spark(app_name="lab-stream", cfg=cfg)
    try:
        model = pipeline.models.load(spark, version, root=args.prefix, cfg=cfg) if args.score else None
        run = pipeline.start(spark, available_now=args.available_now, trigger_s=args.trigger, progress="lines",
                             root=args.prefix, cfg=cfg, max_offsets_per_trigger=args.max_offsets_per_trigger,
                             score=model)
    except BaseException:
        spark.stop()
        raise
    mode = "everything Kafka holds, then exit" if args.available_now else f"a batch every {args.trigger:g} s, Ctrl-C stops"
    print(f"streaming {cfg.KAFKA_TOPIC} -> {cfg.s3a_path(args.prefix)}/{{output,rejected}}/ ({mode}); "
          f"Spark UI http://127.0.0.1:4040", flush=True)
    if model is not None:
        print(_("scoring_with", version=model.version, as_of=model.meta.get("as_of", "?")[:16]), flush=True)
    try:
        # Short waits, so Ctrl-C is handled between them rather than inside a JVM call.
        while any(q.isActive for q in run.queries):
            for q in run.queries:
                try:
                    q.awaitTermination(1)
                except StreamingQueryException:
                    pass  # explained on the next line, in the lab's words
                failure = pipeline.explain_failure(q, cfg)
                if failure is not None:
                    raise failure
    except KeyboardInterrupt:
        print("stopping (Ctrl-C) ...", flush=True)
    finally:
        run.stop()
        totals = run.progress.totals
        print(f"written {totals.written:,} rows to output/, rejected {sum(totals.rejected.values()):,}"
              + (f" ({', '.join(f'{k} {v:,}' for k, v in totals.rejected.most_common())})" if totals.rejected else ""),
              flush=True)
        spark.stop()
    return 0


def _train(args: argparse.Namespace) -> int:
    cfg = services.require_services()
    training.require_history(args.prefix, cfg)  # one line, before Spark starts, when there is nothing to learn from
    spark = pipeline.get_spark(app_name="lab-train", cfg=cfg)
    try:
        report = training.train(spark, root=args.prefix, cfg=cfg)
        print(report, flush=True)
        result = report.to_json()
        if args.holdout_seed is not None:
            model = pipeline.models.load(spark, report.version, root=args.prefix, cfg=cfg)
            other = training.evaluate_on_seed(spark, model, seed=args.holdout_seed, count=args.holdout_count)
            print(_("other_seed", **other), flush=True)
            result["other_seed"] = other
    finally:
        spark.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
        print(_("wrote", path=args.json))
    return 0


def _bench(args: argparse.Namespace) -> int:
    report = bench.run(quick=args.quick, say=lambda m: print(m, file=sys.stderr, flush=True))
    print(bench.format_report(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    pngs = demo.run(out)
    print(f"executed notebooks and {len(pngs)} plots in {out}:")
    for path in pngs:
        print(f"  {path}")
    return 0


def _jupyter(args: argparse.Namespace) -> int:
    """Start JupyterLab on 127.0.0.1 with the token from .env (docs/contract.md: token required)."""
    _config.ensure_env_file()
    cfg = _config.load()
    # It opens on the lessons of the lab's language (LAB_LANG): notebooks/en or notebooks/fr.
    lessons = f"/lab/tree/notebooks/{cfg.LAB_LANG}"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={cfg.JUPYTER_PORT}", f"--ServerApp.root_dir={_config.ROOT}",
           f"--LabApp.default_url={lessons}",
           f"--IdentityProvider.token={cfg.JUPYTER_TOKEN}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:  # containers and CI machines often run as root; Jupyter refuses it unless told
        cmd.append("--allow-root")
    print(f"JupyterLab: http://127.0.0.1:{cfg.JUPYTER_PORT}{lessons}?token={cfg.JUPYTER_TOKEN}", flush=True)
    os.execv(sys.executable, cmd)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab_utils",
                                     description="The streaming lab: Kafka -> Spark -> Parquet on MinIO.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("stack", help="start, stop, report or reset the local services (no Docker)")
    p.add_argument("action", choices=["up", "down", "status", "reset"])
    p.add_argument("--yes", action="store_true", help="reset: do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="status: print JSON")
    p.set_defaults(func=_stack)

    p = sub.add_parser("produce", help="send transactions to Kafka; prints what was sent")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--count", type=int, help="how many messages (default 1000)")
    amount.add_argument("--duration", type=float, metavar="SECONDS", help="send for this long")
    p.add_argument("--rate", type=float, default=0, help="events per second (0: full speed, the default)")
    p.add_argument("--bad-ratio", type=float, default=0.0, metavar="F",
                   help="share of deliberately bad messages, 0..1 (default 0)")
    p.add_argument("--seed", type=int, default=None, help="random seed, for reproducible data")
    p.add_argument("--topic", default=None, help="topic (default: KAFKA_TOPIC)")
    p.add_argument("--fraud-ratio", type=float, default=0.0, metavar="F",
                   help="share of fraudulent payments, 0..1, with their chargebacks on <topic>-chargebacks "
                        "(default 0: the messages of the earlier lessons)")
    p.add_argument("--history-weeks", type=float, default=None, metavar="W",
                   help="spread the --count payments over the last W weeks instead of stamping them now "
                        "(history to train on)")
    p.set_defaults(func=_produce)

    p = sub.add_parser("stream", help="run the pipeline: Kafka -> Spark -> output/ and rejected/ on MinIO")
    p.add_argument("--available-now", action="store_true",
                   help="process what Kafka holds, then exit 0")
    p.add_argument("--trigger", type=float, default=DEFAULT_TRIGGER_S, metavar="SECONDS",
                   help="seconds between micro-batches (default %(default)s)")
    p.add_argument("--prefix", default="", metavar="FOLDER",
                   help="a folder in the bucket to hold output/, rejected/ and checkpoint/ (default: none)")
    p.add_argument("--max-offsets-per-trigger", type=int, default=MAX_OFFSETS_PER_TRIGGER, metavar="N",
                   help="at most N Kafka messages per micro-batch (default %(default)s)")
    p.add_argument("--score", action="store_true",
                   help="add the newest fraud model's fraud_score and model_version to every valid row")
    p.set_defaults(func=_stream)

    p = sub.add_parser("train", help="train the fraud model on labelled history, evaluate it on later data, save it")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON (auc, precision, recall, "
                                                  "model_version, ...)")
    p.add_argument("--prefix", default="", metavar="FOLDER",
                   help="the folder in the bucket whose output/ to learn from and models/fraud/ to save to")
    p.add_argument("--holdout-seed", type=int, default=None, metavar="S",
                   help="also evaluate the model on payments of another seed, after the history")
    p.add_argument("--holdout-count", type=int, default=50_000, metavar="N",
                   help="how many payments of that seed (default %(default)s)")
    p.set_defaults(func=_train)

    p = sub.add_parser("bench", help="the performance benchmark (figures, not pass/fail)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--quick", action="store_true", help="a small run that only proves the benchmark works")
    p.set_defaults(func=_bench)

    p = sub.add_parser("demo", help="run notebooks 02-04 headless (produce, stream, plot) and save the plots as PNG")
    p.add_argument("--out", default="demo-output", metavar="FOLDER",
                   help="where to write the executed notebooks and the PNG files (default %(default)s)")
    p.set_defaults(func=_demo)

    p = sub.add_parser("jupyter", help="start JupyterLab on 127.0.0.1 with the token from .env")
    p.set_defaults(func=_jupyter)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
