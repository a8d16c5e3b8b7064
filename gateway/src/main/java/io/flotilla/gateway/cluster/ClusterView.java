package io.flotilla.gateway.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * What this node sees of its cluster, for {@code /health/*} and a load balancer's checks.
 *
 * <p>A node routes to every shard only while it is an Up member that reaches a majority of the
 * members: on the minority side of a partition the shard coordinator (on the oldest member, most
 * likely across the cut) and the other nodes' shards answer nothing, and the split-brain resolver
 * is about to down this side. A member that died is unreachable until the resolver downs it ({@code
 * stable-after}); the majority stays ready meanwhile, since its own shards still answer.
 */
public final class ClusterView {

  private static final Set<MemberStatus> SERVING =
      Set.of(MemberStatus.up(), MemberStatus.weaklyUp(), MemberStatus.leaving());

  private final ActorSystem<?> system;

  public ClusterView(ActorSystem<?> system) {
    this.system = system;
  }

  /** Empty when the node can route; otherwise why not, in words for an operator. */
  public java.util.Optional<String> notRoutable() {
    Cluster cluster = Cluster.get(system);
    Member self = cluster.selfMember();
    if (self.status() != MemberStatus.up()) {
      return java.util.Optional.of(
          "the node is not an Up cluster member (status " + status(self.status()) + ")");
    }
    ClusterEvent.CurrentClusterState state = cluster.state();
    List<Member> serving = serving(state);
    Set<Member> unreachable = state.getUnreachable();
    long reachable = serving.stream().filter(m -> !unreachable.contains(m)).count();
    if (reachable * 2 <= serving.size()) {
      return java.util.Optional.of(
          "the node reaches "
              + reachable
              + " of "
              + serving.size()
              + " cluster members, not a majority (unreachable: "
              + unreachable.stream().map(m -> m.address().toString()).sorted().toList()
              + ")");
    }
    return java.util.Optional.empty();
  }

  /** Membership as JSON-ready maps: this node, its roles, and every member with its state. */
  public Map<String, Object> describe() {
    Cluster cluster = Cluster.get(system);
    Member self = cluster.selfMember();
    ClusterEvent.CurrentClusterState state = cluster.state();
    Set<Member> unreachable = state.getUnreachable();
    List<Map<String, Object>> members = new ArrayList<>();
    for (Member member : StreamSupport.stream(state.getMembers().spliterator(), false).toList()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("address", member.address().toString());
      m.put("status", status(member.status()));
      m.put("reachable", !unreachable.contains(member));
      m.put("roles", roles(member));
      members.add(m);
    }
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("self", self.address().toString());
    view.put("status", status(self.status()));
    view.put("roles", roles(self));
    view.put("leader", state.getLeader() == null ? null : state.getLeader().toString());
    view.put("members", members);
    return view;
  }

  private static List<Member> serving(ClusterEvent.CurrentClusterState state) {
    return StreamSupport.stream(state.getMembers().spliterator(), false)
        .filter(m -> SERVING.contains(m.status()))
        .toList();
  }

  private static List<String> roles(Member member) {
    return member.getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().toList();
  }

  private static String status(MemberStatus status) {
    return status.toString().toLowerCase(java.util.Locale.ROOT);
  }
}
