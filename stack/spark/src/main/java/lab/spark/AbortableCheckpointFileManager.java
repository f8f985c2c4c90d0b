package lab.spark;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Abortable;
import org.apache.hadoop.fs.CommonPathCapabilities;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.execution.streaming.checkpointing.CheckpointFileManager;
import org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link CheckpointFileManager} for Structured Streaming checkpoints that live on an
 * object store such as S3 / MinIO accessed through Hadoop's S3A connector.
 *
 * <h2>Why this exists</h2>
 * Spark's default {@link FileSystemBasedCheckpointFileManager} implements
 * {@code createAtomic(path, overwrite)} as "write a hidden {@code .tmp} file next to the
 * target, then {@code rename()} it to the final name". On HDFS or a local disk a rename is
 * a cheap, atomic metadata operation. On S3A a rename is <em>not</em> atomic: it is a
 * server-side COPY of every byte followed by a DELETE of the source. Every offset/commit
 * log entry and every state-store delta file therefore costs a PUT, a COPY, a DELETE and
 * several HEAD/LIST probes, and a crash between the copy and the delete can leave debris
 * behind (see SPARK-40039, which added an abortable-stream based manager to
 * spark-hadoop-cloud; that module is not published for the Spark version we use, so this
 * lab ships its own small equivalent).
 *
 * <h2>What it does instead</h2>
 * If the target filesystem advertises the path capability
 * {@value #ABORTABLE_STREAM_CAPABILITY} (S3A does, since Hadoop 3.3.1), the file is written
 * <em>directly</em> to its final path with {@code fs.create(path, overwrite)}. S3A buffers
 * the data and only makes the object visible when the stream is {@code close()}d (a single
 * PUT, or the completion of a multipart upload), so readers either see the complete file
 * or nothing: the write is atomic without any rename. If the caller gives up it calls
 * {@link CheckpointFileManager.CancellableFSDataOutputStream#cancel()}, which we map to
 * {@link Abortable#abort()}; the pending upload is discarded and no object ever appears.
 *
 * <p>For any filesystem without that capability (local files, HDFS, ...) we simply defer
 * to the parent class, i.e. the classic temp-file-plus-rename behaviour.
 *
 * <p>Enable with
 * {@code spark.sql.streaming.checkpointFileManagerClass=lab.spark.AbortableCheckpointFileManager}.
 *
 * <p>Caveat: with {@code overwriteIfPossible=false} the "does the file already exist" check
 * happens when the stream is opened (S3A probes the path in {@code create()}), not at
 * close time. That is the same guarantee the rename-based approach gives on S3A, whose
 * rename is not atomic either; Spark only relies on this to detect a second query
 * writing to the same checkpoint concurrently, which is unsupported anyway.
 */
public class AbortableCheckpointFileManager extends FileSystemBasedCheckpointFileManager {

  /** Same string as {@code CommonPathCapabilities.ABORTABLE_STREAM}. */
  public static final String ABORTABLE_STREAM_CAPABILITY = CommonPathCapabilities.ABORTABLE_STREAM;

  private static final Logger LOG = LoggerFactory.getLogger(AbortableCheckpointFileManager.class);

  /** Filesystems we already logged the chosen mode for (Spark creates many managers). */
  private static final Set<String> ANNOUNCED = ConcurrentHashMap.newKeySet();

  public AbortableCheckpointFileManager(Path path, Configuration hadoopConf) {
    super(path, hadoopConf);
    boolean direct = supportsAbortableStreams(path);
    if (ANNOUNCED.add(fs().getUri() + "|" + direct)) {
      LOG.info("Checkpoint files on {} are written {}", fs().getUri(), direct
          ? "directly to their final path (abortable stream, no rename)"
          : "via temp file + rename (filesystem has no abortable streams)");
    }
  }

  @Override
  public CheckpointFileManager.CancellableFSDataOutputStream createAtomic(
      Path path, boolean overwriteIfPossible) {
    if (!supportsAbortableStreams(path)) {
      return super.createAtomic(path, overwriteIfPossible);
    }
    try {
      FSDataOutputStream out = fs().create(path, overwriteIfPossible);
      LOG.debug("Writing checkpoint file {} directly (abortable stream, no rename)", path);
      return new AbortableCancellableStream(out, path);
    } catch (IOException e) {
      // Scala callers (e.g. HDFSMetadataLog) match on IOException subclasses such as
      // FileAlreadyExistsException, so rethrow the original exception unchanged even though
      // the overridden Scala method does not declare it.
      throw sneakyThrow(e);
    }
  }

  /** True if the filesystem of {@code path} supports aborting an output stream. */
  private boolean supportsAbortableStreams(Path path) {
    FileSystem fs = fs();
    try {
      return fs.hasPathCapability(path, ABORTABLE_STREAM_CAPABILITY);
    } catch (IOException | RuntimeException e) {
      LOG.debug("hasPathCapability({}) failed on {}; assuming no abortable streams",
          ABORTABLE_STREAM_CAPABILITY, path, e);
      return false;
    }
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> RuntimeException sneakyThrow(Throwable t) throws E {
    throw (E) t;
  }

  /**
   * Output stream that writes straight to the final object. {@code close()} completes the
   * upload (object becomes visible); {@code cancel()} aborts it (object never appears).
   */
  static final class AbortableCancellableStream
      extends CheckpointFileManager.CancellableFSDataOutputStream {

    private final FSDataOutputStream out;
    private final Path path;
    /** Set once close() completed the upload or cancel() aborted it. */
    private volatile boolean finished;

    AbortableCancellableStream(FSDataOutputStream out, Path path) {
      super(out);
      this.out = out;
      this.path = path;
    }

    @Override
    public void cancel() {
      if (finished) {
        return;
      }
      finished = true;
      try {
        // FSDataOutputStream implements Abortable and forwards to the wrapped stream
        // (S3ABlockOutputStream), which discards buffered data / aborts the multipart upload.
        // Safe to call after a failed close(): S3A then reports alreadyClosed=true.
        Abortable.AbortableResult result = out.abort();
        LOG.info("Aborted write of checkpoint file {} (alreadyClosed={})",
            path, result.alreadyClosed());
      } catch (RuntimeException e) {
        LOG.warn("Failed to abort write of checkpoint file {}", path, e);
      }
    }

    @Override
    public void close() throws IOException {
      if (finished) {
        return;
      }
      super.close();  // closes `out`: S3A completes the PUT and the object becomes visible
      finished = true;  // only after success, so a later cancel() still aborts a failed upload
    }
  }
}
