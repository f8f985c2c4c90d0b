"""Checkpoints: the guards that `pipeline.start()` runs so that exactly-once holds.

Spark's file sink writes each batch exactly once only while three things stay true, and Spark
itself checks none of them:

1. **The checkpoint and its output folder belong together.** The checkpoint says which Kafka
   offsets each batch read; `<output>/_spark_metadata` says which files each batch wrote. A
   fresh checkpoint on an old output makes Spark skip its new batches 0, 1, ... as "already
   committed" (silent loss); an old checkpoint on an emptied output resumes after offsets
   whose rows are gone. `check_in_step()` refuses both; `stack reset` clears them together.
2. **One running query per checkpoint.** Two would both write batch N. In one SparkSession
   Spark stops the older one or fails with a cryptic error; across processes it notices
   nothing. `CheckpointLock` is a small object, `<checkpoint>/_lab_lock.json`, created with an
   S3 conditional write (If-None-Match), naming the host, PID and a heartbeat. A lock whose
   holder is gone is taken over: same host and the PID no longer runs (a killed driver, a
   restarted kernel), or another host whose heartbeat is older than LOCK_TTL_S.
3. **The offsets still name the same messages.** A topic deleted and created again restarts
   at offset 0: with fewer messages than before Spark fails (failOnDataLoss), with more it
   silently skips them. `check_topic()` records Kafka's topic id next to the checkpoint
   (`_lab_source.json`) and refuses a checkpoint written for another incarnation of the topic.

The lake's one query (lab_utils.pipeline.lake) writes Delta tables instead of a file sink, and
the same three rules hold with the tables in place of `_spark_metadata`: each write carries the
query's id and batch id (Delta's `txnAppId` / `txnVersion`), so `check_lake_in_step()` reads,
from each table's log, the last batch this checkpoint's query committed to it.

Spark ignores files it does not know in a checkpoint folder, and `stack reset` deletes these
with the rest.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients import kafka, lake, storage
from ..errors import CheckpointInUse, CheckpointMismatch, TopicRecreated

LOCK_FILE = "_lab_lock.json"
SOURCE_FILE = "_lab_source.json"
# A running pipeline rewrites its lock's heartbeat this often; a lock from another host whose
# heartbeat is older than LOCK_TTL_S is stale (its holder cannot be asked directly).
LOCK_HEARTBEAT_S = 10.0
LOCK_TTL_S = 60.0

_ = i18n.catalog(__name__, {
    "fix_reset": {
        "en": "run `python -m lab_utils stack reset` (it empties the topic and the output, rejected and "
              "checkpoint folders together), then produce and start again",
        "fr": "lancez `python -m lab_utils stack reset` (il vide ensemble le topic et les dossiers output, rejected "
              "et checkpoint), puis produisez et démarrez de nouveau",
    },
    "output_without_checkpoint": {
        "en": "{output} holds committed batches (up to {written}) but its checkpoint {checkpoint} is missing: a new "
              "checkpoint would number its batches from 0 again and Spark would skip them as already written "
              "(lost rows): {fix}",
        "fr": "{output} contient des lots (batches) validés (jusqu'au lot {written}) mais son point de contrôle (checkpoint) "
              "{checkpoint} a disparu : un nouveau point de contrôle numéroterait de nouveau ses lots à partir de 0 "
              "et Spark les sauterait comme déjà écrits (lignes perdues) : {fix}",
    },
    "output_ahead": {
        "en": "{output} holds batch {written} but its checkpoint {checkpoint} planned only up to {planned}: the output "
              "belongs to another checkpoint: {fix}",
        "fr": "{output} contient le lot {written} mais son point de contrôle (checkpoint) {checkpoint} n'a prévu que "
              "jusqu'au lot {planned} : la sortie appartient à un autre point de contrôle : {fix}",
    },
    "output_behind": {
        "en": "checkpoint {checkpoint} has finished batches up to {committed} but {output} has {has} (it was deleted "
              "or replaced): resuming would leave those rows out for good: {fix}",
        "fr": "le point de contrôle (checkpoint) {checkpoint} a terminé les lots jusqu'au lot {committed} mais "
              "{output} n'a {has} (il a été supprimé ou remplacé) : reprendre laisserait ces lignes de côté pour "
              "toujours : {fix}",
    },
    "no_committed_data": {"en": "no committed data", "fr": "aucune donnée validée"},
    "only_up_to": {"en": "only up to batch {written}", "fr": "que jusqu'au lot {written}"},
    "this_session": {"en": "this session", "fr": "cette session"},
    "this_machine": {
        "en": "process {pid} on this machine (started {started})",
        "fr": "le processus {pid} sur cette machine (démarré le {started})",
    },
    "other_host": {
        "en": "process {pid} on host {host} (alive {seconds} s ago)",
        "fr": "le processus {pid} sur l'hôte {host} (signe de vie il y a {seconds} s)",
    },
    "running_here": {
        "en": "the pipeline is already running in this session (query {query} on {checkpoint}): stop it with "
              "`pipeline.stop()` (it stops every pipeline this session started), then start it again",
        "fr": "le pipeline est déjà en cours d'exécution dans cette session (requête {query} sur {checkpoint}) : arrêtez-le avec "
              "`pipeline.stop()` (il arrête tous les pipelines lancés par cette session), puis redémarrez-le",
    },
    "running_elsewhere": {
        "en": "another query uses checkpoint {checkpoint}: {who} runs query {query}; two queries on one checkpoint "
              "would both write the same batches. Stop that one first (Ctrl-C in its terminal, or `pipeline.stop()` "
              "in its notebook)",
        "fr": "une autre requête utilise le point de contrôle (checkpoint) {checkpoint} : {who} exécute la requête "
              "{query} ; deux requêtes sur un même point de contrôle écriraient toutes deux les mêmes lots. "
              "Arrêtez d'abord celle-là (Ctrl-C dans son terminal, ou `pipeline.stop()` dans son notebook)",
    },
    "raced": {
        "en": "could not take the lock {path}: another start raced this one; try again",
        "fr": "impossible de prendre le verrou {path} : un autre démarrage a eu lieu en même temps ; réessayez",
    },
    "topic_recreated": {
        "en": "topic {topic} was deleted and created again since checkpoint {checkpoint} was written (topic id "
              "{then} then, {now} now): its offsets now name other messages, and Spark would skip some of them "
              "without a word: {fix}",
        "fr": "le topic {topic} a été supprimé puis recréé depuis l'écriture du point de contrôle (checkpoint) "
              "{checkpoint} (identifiant {then} alors, {now} aujourd'hui) : ses décalages (offsets) désignent "
              "maintenant d'autres messages, et Spark en sauterait certains sans rien dire : {fix}",
    },
})
# The fix for a checkpoint out of step with its data: a text that follows the lab's language
# wherever it is formatted (f"... {FIX_RESET}").
FIX_RESET = _.lazy("fix_reset")
# holder()'s answer when this very session runs the query behind the lock.
THIS_SESSION = "this session"


def describe_holder(who: str) -> str:
    """holder()'s answer as a student reads it, in the lab's language."""
    return _("this_session") if who == THIS_SESSION else who

_BATCH_FILE = re.compile(r"^(\d+)(\.compact)?$")

# Locks this process holds: owner id -> "is the query behind it still running?".
_HELD: dict[str, Callable[[], bool]] = {}
_HELD_LOCK = threading.Lock()


def _filesystem(uri: str, cfg: _config.LabConfig):
    """(fsspec filesystem, path in it) for an s3a:// URI (MinIO, with the lab's key) or a local path."""
    if uri.startswith(("s3a://", "s3://")):
        return storage.filesystem(cfg), uri.split("://", 1)[1].rstrip("/")
    import fsspec

    return fsspec.filesystem("file"), uri.removeprefix("file://").rstrip("/")


def _latest_batch(fs, folder: str) -> int | None:
    """The highest batch id among `folder`'s log files (`0`, `1`, `2.compact`, ...), None if none."""
    try:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False, refresh=True)]
    except FileNotFoundError:
        return None
    except TypeError:  # the local filesystem's ls() takes no `refresh`
        try:
            names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False)]
        except FileNotFoundError:
            return None
    ids = [int(m.group(1)) for m in map(_BATCH_FILE.match, names) if m]
    return max(ids) if ids else None


@dataclass(frozen=True)
class Progress:
    """How far a query got, by the latest batch id in each log (None: no such log)."""

    planned: int | None    # <checkpoint>/offsets: batches whose offsets were chosen
    committed: int | None  # <checkpoint>/commits: batches finished
    written: int | None    # <output>/_spark_metadata: batches whose files the sink committed


def progress(output_uri: str, checkpoint_uri: str, cfg: _config.LabConfig | None = None) -> Progress:
    """Read the three logs of one query (listings only, no file contents)."""
    cfg = cfg or _config.load()
    cfs, cpath = _filesystem(checkpoint_uri, cfg)
    ofs, opath = _filesystem(output_uri, cfg)
    return Progress(planned=_latest_batch(cfs, f"{cpath}/offsets"), committed=_latest_batch(cfs, f"{cpath}/commits"),
                    written=_latest_batch(ofs, f"{opath}/_spark_metadata"))


def check_in_step(output_uri: str, checkpoint_uri: str, cfg: _config.LabConfig | None = None) -> Progress:
    """Raise CheckpointMismatch unless the checkpoint and the output folder belong together.

    Spark commits a batch in this order: offsets/N, then the sink's _spark_metadata/N, then
    commits/N. So in step means committed <= written <= planned (a crash may stop between
    any two), and no output without a checkpoint.
    """
    p = progress(output_uri, checkpoint_uri, cfg)
    where = {"output": output_uri, "checkpoint": checkpoint_uri, "fix": FIX_RESET}
    if p.written is not None and p.planned is None:
        raise CheckpointMismatch(_("output_without_checkpoint", written=p.written, **where))
    if p.written is not None and p.written > p.planned:
        raise CheckpointMismatch(_("output_ahead", written=p.written, planned=p.planned, **where))
    if p.committed is not None and (p.written is None or p.written < p.committed):
        has = _("no_committed_data") if p.written is None else _("only_up_to", written=p.written)
        raise CheckpointMismatch(_("output_behind", committed=p.committed, has=has, **where))
    return p


# --------------------------------------------------------------------------- the lake's tables

def query_id(checkpoint_uri: str, cfg: _config.LabConfig | None = None) -> str | None:
    """The id Spark gave the query of this checkpoint (`<checkpoint>/metadata`), None before its first start.

    It stays the same across restarts from the checkpoint (each start gets a new *run* id), so
    the lake's writes carry it as Delta's `txnAppId`: a replayed batch is recognised as done.
    """
    cfg = cfg or _config.load()
    fs, folder = _filesystem(checkpoint_uri, cfg)
    try:
        return json.loads(fs.cat_file(f"{folder}/metadata")).get("id")
    except (FileNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class LakeProgress:
    """How far the lake's query got: its checkpoint's logs, and per table the last batch it wrote."""

    planned: int | None    # <checkpoint>/offsets
    committed: int | None  # <checkpoint>/commits
    written: dict          # table -> the last batch this query committed to it (None: none, or no table)


def check_lake_in_step(checkpoint_uri: str, root: str = "", cfg: _config.LabConfig | None = None) -> LakeProgress:
    """Raise CheckpointMismatch unless the lake's checkpoint and its tables belong together.

    The query writes its tables in turn, each write a Delta commit tagged with the query's id
    and the batch id, before Spark writes commits/N. So in step means, for every table,
    committed <= written <= planned (a crash may stop between two tables), no table without a
    checkpoint, and no table written by another query (another checkpoint's id).
    """
    cfg = cfg or _config.load()
    fs, folder = _filesystem(checkpoint_uri, cfg)
    planned, committed = _latest_batch(fs, f"{folder}/offsets"), _latest_batch(fs, f"{folder}/commits")
    tables = {name: lake.exists(name, root, cfg) for name in lake.TABLES}
    app_id = query_id(checkpoint_uri, cfg) if planned is not None else None
    written = {name: lake.stream_version(name, app_id, root, cfg) if (present and app_id) else None
               for name, present in tables.items()}
    where = lake.table_uri("", root, cfg)
    if planned is None or app_id is None:
        present = [name for name, here in tables.items() if here]
        if present:
            raise CheckpointMismatch(
                f"the lake {where} holds tables ({', '.join(present)}) but its checkpoint {checkpoint_uri} is "
                f"missing: a new checkpoint is a new query, and Delta would take every batch as new (rows "
                f"written twice): {FIX_RESET}")
        return LakeProgress(planned, committed, written)
    # A table of another query first: that is the cause, whatever else is missing.
    for name, present in tables.items():
        if present and written[name] is None:
            raise CheckpointMismatch(
                f"table {name} in {where} was not written by the query of checkpoint {checkpoint_uri} (it belongs "
                f"to another checkpoint, or was written by hand): {FIX_RESET}")
    for name, present in tables.items():
        if present and written[name] > planned:
            raise CheckpointMismatch(
                f"table {name} holds batch {written[name]} but checkpoint {checkpoint_uri} planned only up to "
                f"{planned}: {FIX_RESET}")
        if committed is not None and (not present or written[name] < committed):
            raise CheckpointMismatch(
                f"checkpoint {checkpoint_uri} has finished batches up to {committed} but table {name} "
                + ("is missing" if not present else f"holds them only up to batch {written[name]}")
                + f" (it was deleted or replaced): resuming would leave those rows out for good: {FIX_RESET}")
    return LakeProgress(planned, committed, written)


# --------------------------------------------------------------------------- the lock

def _process_start(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot (tells a PID apart from a reused one)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_running(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    now = _process_start(pid)
    if now is None:  # no /proc (macOS), or it just exited
        return os.path.exists(f"/proc/{pid}") or not os.path.isdir("/proc")
    return start is None or now == start


class CheckpointLock:
    """`<checkpoint>/_lab_lock.json`: at most one running query per checkpoint (see the module doc)."""

    def __init__(self, checkpoint_uri: str, query_name: str, cfg: _config.LabConfig | None = None):
        self.cfg = cfg or _config.load()
        self.checkpoint_uri = checkpoint_uri
        self.query_name = query_name
        self.fs, folder = _filesystem(checkpoint_uri, self.cfg)
        self.path = f"{folder}/{LOCK_FILE}"
        self.owner = uuid.uuid4().hex
        self.held = False
        self.took_over: dict | None = None  # the stale lock this one replaced, if any

    def read(self) -> dict | None:
        """The lock file's content: None when there is no lock, {} when it is unreadable (stale)."""
        try:
            return json.loads(self.fs.cat_file(self.path))
        except FileNotFoundError:
            return None
        except ValueError:  # a torn or foreign file: treat as stale
            return {}

    def running_holder(self) -> tuple[str, dict] | None:
        """(who, lock content) when a running query holds this checkpoint, else None."""
        info = self.read()
        who = self.holder(info) if info else None
        return (who, info) if who else None

    def _body(self) -> bytes:
        pid = os.getpid()
        return json.dumps({
            "owner": self.owner, "query": self.query_name, "host": socket.gethostname(), "pid": pid,
            "pid_start": _process_start(pid), "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "heartbeat": time.time(),
        }).encode()

    def _create(self) -> bool:
        """Create the lock file only if it does not exist (S3 If-None-Match). False if it does."""
        try:
            if hasattr(self.fs, "call_s3"):  # s3fs: exclusive create on the server
                self.fs.pipe_file(self.path, self._body(), mode="create")
            else:
                self.fs.makedirs(self.path.rsplit("/", 1)[0], exist_ok=True)
                with open(self.path, "xb") as f:
                    f.write(self._body())
        except FileExistsError:
            return False
        except OSError as e:
            if "pre-condition" in str(e).lower() or "precondition" in str(e).lower():
                return False
            raise
        return True

    def holder(self, info: dict) -> str | None:
        """Who runs the query behind lock `info`: THIS_SESSION, a description of another process (in
        the lab's language), or None when the holder is gone."""
        if not info:
            return None
        owner = info.get("owner")
        with _HELD_LOCK:
            running = _HELD.get(owner)
        if running is not None:
            return THIS_SESSION if running() else None
        if info.get("host") == socket.gethostname():
            pid = int(info.get("pid", -1))
            if pid == os.getpid():  # this process, but no running pipeline of ours holds it: stale
                return None
            if pid > 0 and _pid_running(pid, info.get("pid_start")):
                return _("this_machine", pid=pid, started=info.get("started", "?"))
            return None
        age = time.time() - float(info.get("heartbeat", 0))
        if age < LOCK_TTL_S:
            return _("other_host", pid=info.get("pid"), host=info.get("host"), seconds=f"{age:.0f}")
        return None

    def refusal(self, who: str, info: dict) -> CheckpointInUse:
        """The error that names who holds this checkpoint and how to stop it."""
        if who == THIS_SESSION:
            return CheckpointInUse(_("running_here", query=info.get("query"), checkpoint=self.checkpoint_uri))
        return CheckpointInUse(_("running_elsewhere", checkpoint=self.checkpoint_uri, who=who,
                                 query=info.get("query")))

    def refuse_if_held(self) -> None:
        """Raise CheckpointInUse when a running query holds this checkpoint (a check; takes nothing)."""
        held = self.running_holder()
        if held:
            raise self.refusal(*held)

    def acquire(self, running: Callable[[], bool]) -> None:
        """Take the lock, or raise CheckpointInUse naming who holds it and how to stop it.

        running: tells, later, whether the query behind this lock still runs (for this session's checks).
        """
        for _attempt in range(3):  # a stale lock is deleted then re-created; a racing starter may win it
            if self._create():
                break
            info = self.read()
            if info is None:
                continue
            who = self.holder(info)
            if who is not None:
                raise self.refusal(who, info)
            self.took_over = info
            self.fs.rm_file(self.path) if hasattr(self.fs, "rm_file") else self.fs.rm(self.path)
        else:
            raise CheckpointInUse(_("raced", path=self.path))
        self.held = True
        with _HELD_LOCK:
            _HELD[self.owner] = running

    def heartbeat(self) -> None:
        """Tell other hosts the holder still runs (rewrites the lock if it is still ours)."""
        if self.held and (self.read() or {}).get("owner") == self.owner:
            self.fs.pipe_file(self.path, self._body())

    def release(self) -> None:
        """Delete the lock if it is still ours. Never raises: it runs in `finally` blocks."""
        if not self.held:
            return
        self.held = False
        with _HELD_LOCK:  # from now on this session calls the lock stale, even if deleting it fails
            _HELD[self.owner] = lambda: False
        try:
            if (self.read() or {}).get("owner") == self.owner:
                self.fs.rm(self.path)
        except Exception:  # noqa: BLE001 - MinIO down at stop time: the lock stays, stale, and is taken over
            pass


class KeepAlive:
    """A daemon thread that heartbeats a pipeline's locks and releases each once its query ends."""

    def __init__(self, locks: list[tuple[CheckpointLock, Callable[[], bool]]], every_s: float = LOCK_HEARTBEAT_S):
        self._locks = locks
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-checkpoint-keepalive", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            for lock, running in self._locks:
                try:
                    if not lock.held:
                        continue
                    if running():
                        lock.heartbeat()
                    else:
                        lock.release()
                except Exception:  # noqa: BLE001 - MinIO briefly down: try again next time
                    pass
            if not any(lock.held for lock, _running in self._locks):
                return

    def close(self) -> None:
        self._stop.set()
        for lock, _running in self._locks:
            lock.release()


# --------------------------------------------------------------------------- the topic

def check_topic(checkpoint_uri: str, topic: str, cfg: _config.LabConfig | None = None,
                current_id: str | None = None) -> None:
    """Raise TopicRecreated if the checkpoint was written for an earlier incarnation of `topic`;
    otherwise record the topic's id next to the checkpoint."""
    cfg = cfg or _config.load()
    current_id = current_id or kafka.topic_id(cfg, topic)
    if current_id is None:  # the topic does not exist (yet): Spark reports that itself
        return
    fs, folder = _filesystem(checkpoint_uri, cfg)
    path = f"{folder}/{SOURCE_FILE}"
    try:
        recorded = json.loads(fs.cat_file(path))
    except (FileNotFoundError, ValueError):
        recorded = {}
    if recorded.get("topic") == topic and recorded.get("topic_id") not in (None, current_id):
        if _latest_batch(fs, f"{folder}/offsets") is not None:
            raise TopicRecreated(_("topic_recreated", topic=topic, checkpoint=checkpoint_uri,
                                   then=recorded["topic_id"], now=current_id, fix=FIX_RESET))
    if recorded.get("topic") != topic or recorded.get("topic_id") != current_id:
        if hasattr(fs, "call_s3"):
            fs.pipe_file(path, json.dumps({"topic": topic, "topic_id": current_id}).encode())
        else:
            fs.makedirs(folder, exist_ok=True)
            with open(path, "w") as f:
                json.dump({"topic": topic, "topic_id": current_id}, f)
