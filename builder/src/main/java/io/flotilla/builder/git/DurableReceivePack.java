package io.flotilla.builder.git;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.ReceivePack;

/**
 * A receive-pack whose "ok" means the push is on disk. JGit forces the received pack and its index
 * itself and, with {@code core.fsyncRefFiles} (set by {@link ContainerRepos}), each loose ref
 * before its rename; this forces the directories those renames wrote into (and the repository
 * directory, where {@code packed-refs} is renamed) between updating the refs and sending the status
 * report.
 */
final class DurableReceivePack extends ReceivePack {

  DurableReceivePack(Repository repository) {
    super(repository);
  }

  @Override
  protected void executeCommands() {
    super.executeCommands();
    try {
      settle();
    } catch (IOException e) {
      for (ReceiveCommand command : getAllCommands()) {
        if (command.getResult() == ReceiveCommand.Result.OK) {
          command.setResult(
              ReceiveCommand.Result.REJECTED_OTHER_REASON,
              "the server could not make the push durable: " + e.getMessage());
        }
      }
    }
  }

  private void settle() throws IOException {
    Path gitDir = getRepository().getDirectory().toPath().toAbsolutePath().normalize();
    GitFiles.settleFilesIn(gitDir.resolve("objects").resolve("pack"));
    Set<Path> dirs = new LinkedHashSet<>();
    for (ReceiveCommand command : getAllCommands()) {
      if (command.getResult() != ReceiveCommand.Result.OK) {
        continue;
      }
      Path ref = gitDir.resolve(command.getRefName()).normalize();
      for (Path dir = ref.getParent();
          dir != null && dir.startsWith(gitDir) && !dir.equals(gitDir);
          dir = dir.getParent()) {
        dirs.add(dir);
      }
    }
    for (Path dir : dirs) {
      GitFiles.settleFilesIn(dir);
    }
    GitFiles.settleDirectory(gitDir);
  }
}
