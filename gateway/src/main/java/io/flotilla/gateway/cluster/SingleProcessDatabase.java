package io.flotilla.gateway.cluster;

import com.typesafe.config.Config;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node on the embedded H2 database is a cluster of one. H2's file database is opened by one
 * process at a time, so a second node could not share the journal: it would keep its own, and two
 * journals for the same entities mean two writers of one entity, each with its own history. A node
 * on H2 therefore refuses seed nodes other than itself at start, and downs any member that joins it
 * anyway.
 */
public final class SingleProcessDatabase {

  private static final Logger log = LoggerFactory.getLogger(SingleProcessDatabase.class);

  private SingleProcessDatabase() {}

  static boolean embedded(Config config) {
    return config.getString("flotilla.db.dialect").equals("h2");
  }

  /** Throws with the reason when the configuration asks for a multi-node cluster on H2. */
  public static void refuseSeeds(Config config) {
    if (!embedded(config)) {
      return;
    }
    List<String> seeds = config.getStringList("pekko.cluster.seed-nodes");
    String self =
        "pekko://flotilla@"
            + config.getString("pekko.remote.artery.canonical.hostname")
            + ":"
            + config.getInt("pekko.remote.artery.canonical.port");
    if (seeds.isEmpty() || (seeds.size() == 1 && seeds.get(0).equals(self))) {
      return;
    }
    throw new IllegalStateException(
        "pekko.cluster.seed-nodes lists other nodes "
            + seeds
            + ", but the database is the embedded H2 file database, which only one process can open:"
            + " the nodes could not share one journal. A cluster of more than one node needs"
            + " PostgreSQL (--config conf/postgres.conf, or a conf/cluster/node-N.conf profile).");
  }

  /** On H2, downs every other member that joins this node. */
  public static void guard(ActorSystem<?> system) {
    if (!embedded(system.settings().config())) {
      return;
    }
    Cluster cluster = Cluster.get(system);
    Behavior<ClusterEvent.MemberJoined> downJoiners =
        Behaviors.receiveMessage(
            joined -> {
              if (!joined.member().address().equals(cluster.selfMember().address())) {
                log.error(
                    "{} tried to join this node, which runs on the embedded H2 database that only"
                        + " one process can open: it is downed. A cluster of more than one node"
                        + " needs PostgreSQL.",
                    joined.member().address());
                cluster.manager().tell(new Down(joined.member().address()));
              }
              return Behaviors.same();
            });
    cluster
        .subscriptions()
        .tell(
            Subscribe.create(
                system.systemActorOf(downJoiners, "h2-single-member", Props.empty()),
                ClusterEvent.MemberJoined.class));
  }
}
