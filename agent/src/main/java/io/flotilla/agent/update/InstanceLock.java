package io.flotilla.agent.update;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * One agent at a time per storage directory. An OS file lock is used rather than the file's
 * existence, so a SIGKILL'd agent never leaves a stale lock behind: the kernel drops it with the
 * process.
 */
public final class InstanceLock implements AutoCloseable {

  private final FileChannel channel;
  private final FileLock lock;

  private InstanceLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  public static InstanceLock acquire(Path lockFile) {
    return tryAcquire(lockFile)
        .orElseThrow(
            () -> {
              String holder;
              try {
                holder = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
              } catch (IOException e) {
                holder = "";
              }
              return new AgentException(
                  ExitCode.GENERIC,
                  "another flotilla-agent is running"
                      + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                      + "; lock "
                      + lockFile);
            });
  }

  /** The lock, or nothing when another agent (or this one) holds it. */
  public static Optional<InstanceLock> tryAcquire(Path lockFile) {
    try {
      Files.createDirectories(lockFile.toAbsolutePath().getParent());
      FileChannel channel =
          FileChannel.open(
              lockFile,
              StandardOpenOption.CREATE,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        channel.close();
        return Optional.empty();
      }
      channel.truncate(0);
      channel.write(
          ByteBuffer.wrap(
              Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)),
          0);
      return Optional.of(new InstanceLock(channel, lock));
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.GENERIC, "cannot take the lock " + lockFile + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      // the lock goes away with the channel or the process anyway
    }
  }
}
