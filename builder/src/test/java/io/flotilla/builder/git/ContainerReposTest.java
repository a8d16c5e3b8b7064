package io.flotilla.builder.git;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.TreeFormatter;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a server killed in the middle of a push leaves in containers.git, and the next start
 * clearing it.
 */
class ContainerReposTest {

  @TempDir Path root;

  @Test
  void aRefLockLeftByAKilledPushIsReleasedAtTheNextStart() throws Exception {
    ObjectId first;
    try (Repository repository = new ContainerRepos(root).open("acme")) {
      first = commit(repository, "first", null);
      assertEquals(RefUpdate.Result.NEW, update(repository, first, null));
    }
    Path repository = root.resolve("acme.git");
    Files.writeString(repository.resolve("refs/heads/main.lock"), "0".repeat(40) + "\n");
    Files.writeString(repository.resolve("packed-refs.lock"), "");
    try (Repository stillLocked =
        new FileRepositoryBuilder().setGitDir(repository.toFile()).setBare().build()) {
      assertEquals(
          RefUpdate.Result.LOCK_FAILURE,
          update(stillLocked, commit(stillLocked, "blocked", first), first));
    }

    try (Repository restarted = new ContainerRepos(root).open("acme")) {
      assertFalse(Files.exists(repository.resolve("refs/heads/main.lock")));
      assertFalse(Files.exists(repository.resolve("packed-refs.lock")));
      ObjectId second = commit(restarted, "second", first);
      assertEquals(RefUpdate.Result.FAST_FORWARD, update(restarted, second, first));
      assertEquals(second, restarted.resolve("refs/heads/main"));
    }
  }

  @Test
  void aRepositoryHalfMadeWhenKilledIsRemovedAndMadeAgain() throws Exception {
    Path half = Files.createDirectories(root.resolve("acme.git.init-12345"));
    Files.writeString(half.resolve("HEAD"), "ref: refs/heads/main\n");
    try (Repository repository = new ContainerRepos(root).open("acme")) {
      assertFalse(Files.exists(half));
      assertTrue(Files.isDirectory(root.resolve("acme.git/objects")));
      assertEquals("refs/heads/main", repository.exactRef(Constants.HEAD).getTarget().getName());
    }
  }

  private static ObjectId commit(Repository repository, String message, ObjectId parent)
      throws Exception {
    try (ObjectInserter inserter = repository.newObjectInserter()) {
      CommitBuilder commit = new CommitBuilder();
      if (parent != null) {
        commit.setParentId(parent);
      }
      commit.setTreeId(inserter.insert(new TreeFormatter()));
      commit.setAuthor(new PersonIdent("test", "test@example.com"));
      commit.setCommitter(new PersonIdent("test", "test@example.com"));
      commit.setMessage(message);
      ObjectId id = inserter.insert(commit);
      inserter.flush();
      return id;
    }
  }

  private static RefUpdate.Result update(Repository repository, ObjectId to, ObjectId expected)
      throws Exception {
    RefUpdate update = repository.updateRef("refs/heads/main");
    update.setNewObjectId(to);
    update.setExpectedOldObjectId(expected == null ? ObjectId.zeroId() : expected);
    return update.update();
  }
}
