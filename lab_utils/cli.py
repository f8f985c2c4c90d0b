"""`python -m lab_utils ...`: the lab's command line (docs/contract.md, "Command line").

Exit status 0 on success; on failure, non-zero and one line on stderr that says what is
wrong and how to fix it. The help stays in English; that line, like everything a notebook
shows, follows LAB_LANG.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import config as _config
from . import bench, demo, doctor, i18n, pipeline, services, training
from .clients import health
from .errors import LabError
from .pipeline import DEFAULT_TRIGGER_S, MAX_OFFSETS_PER_TRIGGER
from .pipeline.lake import MIN_RETAIN_HOURS
from .producer import produce
from .services import processes, spark_submit

_ = i18n.catalog(__name__, {
    "error": {"en": "error: {message}", "fr": "erreur : {message}"},
    "interrupted": {"en": "interrupted", "fr": "interrompu"},
    "reset_needs_yes": {
        "en": "`stack reset` deletes the topic's messages and the bucket's output, rejected, lake and checkpoint folders: "
              "add --yes to confirm",
        "fr": "`stack reset` supprime les messages du topic et les dossiers output, rejected, lake et checkpoint du "
              "compartiment : ajoutez --yes pour confirmer",
    },
    "bad_ratio": {
        "en": "--bad-ratio must be between 0 and 1, got {value}",
        "fr": "--bad-ratio doit être compris entre 0 et 1 (reçu {value})",
    },
    "not_acknowledged": {
        "en": "{failed} of {sent} messages were not acknowledged by Kafka (first error: {first}): check "
              "`python -m lab_utils stack status` and send them again",
        "fr": "{failed} messages sur {sent} n'ont pas été acquittés par Kafka (première erreur : {first}) : "
              "vérifiez `python -m lab_utils stack status` et renvoyez-les",
    },
    "streaming": {
        "en": "streaming {topic} -> {target}/{where} ({mode}); Spark UI {ui}",
        "fr": "flux : {topic} -> {target}/{where} ({mode}) ; interface de Spark {ui}",
    },
    "mode_available_now": {"en": "everything Kafka holds, then exit", "fr": "tout ce que contient Kafka, puis arrêt"},
    "mode_trigger": {"en": "a batch every {seconds} s, Ctrl-C stops", "fr": "un lot toutes les {seconds} s, Ctrl-C arrête"},
    "stopping": {"en": "stopping (Ctrl-C) ...", "fr": "arrêt (Ctrl-C)…"},
    "stream_done": {
        "en": "written {written} rows to {table}, rejected {rejected}{reasons}",
        "fr": "écrites dans {table} : {written} lignes, rejetées : {rejected}{reasons}",
    },
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
    "lake_empty": {
        "en": "the lake {lake} holds no table yet: run `python -m lab_utils stream --sink delta --available-now`",
        "fr": "le lac {lake} ne contient encore aucune table : lancez "
              "`python -m lab_utils stream --sink delta --available-now`",
    },
    "score_not_lake": {
        "en": "--score adds fraud_score to output/; the lake's tables are not scored: drop --score or --sink delta",
        "fr": "--score ajoute fraud_score à output/ ; les tables du lac ne sont pas notées : retirez --score ou "
              "--sink delta",
    },
})



def _stack(args: argparse.Namespace) -> int:
    stack = services
    if args.monitoring:  # for this command, whatever LAB_MONITORING says (README, Monitoring)
        _config.use_monitoring(True)
    if args.action == "up":
        # The flags are LAB_SPARK_WORKERS and LAB_KAFKA_BROKERS for this command (validated there).
        flags = {"LAB_SPARK_WORKERS": args.spark_workers, "LAB_KAFKA_BROKERS": args.kafka_brokers}
        _config.use_settings(**{k: v for k, v in flags.items() if v is not None})
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
                raise LabError(_("reset_needs_yes"))
            cfg = _config.load()
            answer = input(f"Empty topic {cfg.KAFKA_TOPIC} and s3://{cfg.LAB_BUCKET}/{{output,rejected,lake,checkpoint}}/? "
                           "[y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing changed")
                return 1
        stack.reset()
    return 0


def _produce(args: argparse.Namespace) -> int:
    if args.bad_ratio is not None and not 0 <= args.bad_ratio <= 1:
        raise LabError(_("bad_ratio", value=args.bad_ratio))
    if not 0 <= args.fraud_ratio <= 1:
        raise LabError(_("fraud_ratio", value=args.fraud_ratio))
    summary = produce(count=args.count, duration=args.duration, rate=args.rate or None,
                      bad_ratio=args.bad_ratio or 0.0, seed=args.seed, topic=args.topic,
                      progress=sys.stderr.isatty(), fraud_ratio=args.fraud_ratio,
                      history_weeks=args.history_weeks)
    print(summary)
    if summary.failed or summary.chargebacks_failed:
        raise LabError(_("not_acknowledged", failed=summary.failed + summary.chargebacks_failed,
                         sent=summary.sent + summary.chargebacks, first=summary.errors[0] if summary.errors else "?"))
    return 130 if summary.interrupted else 0


def _stream(args: argparse.Namespace) -> int:
    from pyspark.errors import StreamingQueryException

    # Everything checked before the JVM starts (settings, rates, Kafka, MinIO, topic, the lab's key
    # and bucket, the driver's Java, the Spark master), so a mistake is one line on stderr, not a
    # Spark trace after a minute; start() then refuses a checkpoint in use before creating the session.
    cfg = health.require_ready(topic=None)
    lake = args.sink == "delta"
    if lake and args.score:
        raise LabError(_("score_not_lake"))
    # Before Spark starts (and prints its own lines): a stream asked to score with no model says so in one line.
    if args.score:
        pipeline.models.require(args.prefix, cfg)
    options = dict(available_now=args.available_now, trigger_s=args.trigger, progress="lines", root=args.prefix,
                   cfg=cfg, max_offsets_per_trigger=args.max_offsets_per_trigger)
    if lake:
        spark = pipeline.get_spark(app_name="lab-stream", cfg=cfg)
        try:
            run = pipeline.start_lake(spark, **options)
        except BaseException:
            spark.stop()
            raise
        model = None
    else:
        # start() creates the session only once its checks passed, and loads the newest model in it.
        run = pipeline.start(app_name="lab-stream", score=bool(args.score), **options)
        spark, model = run.spark, run.model
    mode = _("mode_available_now") if args.available_now else _("mode_trigger", seconds=f"{args.trigger:g}")
    where = "lake/{bronze,silver,gold}/ (Delta)" if lake else "{output,rejected}/"
    print(_("streaming", topic=cfg.KAFKA_TOPIC, target=cfg.s3a_path(args.prefix), where=where, mode=mode,
            ui=spark.sparkContext.uiWebUrl), flush=True)
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
        print(_("stopping"), flush=True)
    finally:
        run.stop()
        totals = run.progress.totals
        n = i18n.number
        reasons = (f" ({', '.join(f'{k} {n(v)}' for k, v in totals.rejected.most_common())})"
                   if totals.rejected else "")
        print(_("stream_done", written=n(totals.written), table="silver/transactions" if lake else "output/",
                rejected=n(sum(totals.rejected.values())), reasons=reasons),
              flush=True)
        spark.stop()
    return 0


def _lake(args: argparse.Namespace) -> int:
    """`lake status | optimize | vacuum`: the lake's tables, and their maintenance (lab_utils.pipeline.lake)."""
    cfg = services.require_services()
    before = pipeline.lake.files_report(args.prefix, cfg)
    if args.action == "status":
        if not before:
            raise LabError(_("lake_empty", lake=f"{cfg.s3_path(args.prefix, 'lake')}/"))
        print(pipeline.lake.format_files(before))
        return 0
    if args.action == "vacuum":  # refused in one line before Spark starts (and prints its own lines)
        pipeline.lake.check_retention(args.retain_hours)
    spark = pipeline.get_spark(app_name="lab-lake", cfg=cfg)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.action == "optimize":
            pipeline.lake.optimize(spark, root=args.prefix, cfg=cfg, say=say)
        else:
            deleted = pipeline.lake.vacuum(spark, retain_hours=args.retain_hours, dry_run=args.dry_run,
                                           root=args.prefix, cfg=cfg, say=say)
            verb = "would delete" if args.dry_run else "deleted"
            print(f"VACUUM RETAIN {args.retain_hours:g} HOURS {verb}: "
                  + ", ".join(f"{name} {n} files" for name, n in deleted.items()))
        after = pipeline.lake.files_report(args.prefix, cfg)
        print(pipeline.lake.format_files(after, before=before))
    finally:
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


def _submit(args: argparse.Namespace) -> int:
    """A PySpark script as a job: pyspark's spark-submit with the lab's jars and settings (notebook 03)."""
    services.require_services()
    code = spark_submit.run(args.script, args.args)
    if code != 0:
        raise LabError(f"the job {args.script} exited with status {code}: its error is above")
    return 0


def _jupyter(args: argparse.Namespace) -> int:
    """Start JupyterLab on 127.0.0.1 with the token from .env (docs/contract.md: token required)."""
    _config.ensure_env_file()
    cfg = _config.load()
    # Jupyter would print a screen of log lines then exit; say it in one line, naming JUPYTER_PORT.
    processes.check_port_free("127.0.0.1", int(cfg.JUPYTER_PORT), "JupyterLab", "JUPYTER_PORT")
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


def _doctor(args: argparse.Namespace) -> int:
    report = doctor.run()
    print(doctor.format_report(report), flush=True)
    if not report.ready:
        raise doctor.not_ready_error(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab_utils",
                                     description="The streaming lab: Kafka -> Spark -> Parquet on MinIO.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("stack", help="start, stop, report or reset the local services (no Docker)")
    p.add_argument("action", choices=["up", "down", "status", "reset"])
    p.add_argument("--yes", action="store_true", help="reset: do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="status: print JSON")
    p.add_argument("--monitoring", action="store_true",
                   help="up: also build and start Prometheus, with Kafka's and MinIO's metrics (as LAB_MONITORING=true)")
    # Checked by lab_utils.config like the settings they stand for: one line naming a good value.
    p.add_argument("--spark-workers", metavar="N",
                   help="up: also a Spark standalone master and N workers (0: none); default LAB_SPARK_WORKERS")
    p.add_argument("--kafka-brokers", metavar="{1,3}",
                   help="up: one Kafka broker or three; default LAB_KAFKA_BROKERS")
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
    p.add_argument("--sink", choices=["parquet", "delta"], default="parquet",
                   help="parquet: output/ and rejected/ (two queries, the default); delta: the lake's Delta tables "
                        "lake/{bronze,silver,gold} in one pass")
    p.add_argument("--score", action="store_true",
                   help="add the newest fraud model's fraud_score and model_version to every valid row (parquet sink)")
    p.set_defaults(func=_stream)

    p = sub.add_parser("lake", help="the lake's Delta tables: status, OPTIMIZE (compaction), VACUUM")
    p.add_argument("action", choices=["status", "optimize", "vacuum"])
    p.add_argument("--retain-hours", type=float, default=MIN_RETAIN_HOURS, metavar="HOURS",
                   help="vacuum: keep the files that versions younger than this read (default %(default)s, "
                        "Delta's 7 days; shorter is refused)")
    p.add_argument("--dry-run", action="store_true", help="vacuum: only count the files it would delete")
    p.add_argument("--prefix", default="", metavar="FOLDER", help="the folder in the bucket that holds lake/")
    p.set_defaults(func=_lake)

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

    p = sub.add_parser("submit", help="run a PySpark script with spark-submit and the lab's jars and settings")
    p.add_argument("script", help="the script, e.g. scripts/consumer_spark.py")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    p.set_defaults(func=_submit)

    p = sub.add_parser("jupyter", help="start JupyterLab on 127.0.0.1 with the token from .env")
    p.set_defaults(func=_jupyter)

    p = sub.add_parser("doctor", help="is this machine ready for the lab? each component ✅/❌ with its fix, "
                                      "and where each setting comes from (exit 0 only when ready)")
    p.set_defaults(func=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LabError as e:
        print(_("error", message=e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130
