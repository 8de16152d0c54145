package kb.lab;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.coordinator.group.api.assignor.ConsumerGroupPartitionAssignor;
import org.apache.kafka.coordinator.group.api.assignor.GroupAssignment;
import org.apache.kafka.coordinator.group.api.assignor.MemberAssignment;
import org.apache.kafka.coordinator.group.api.assignor.SubscribedTopicDescriber;
import org.apache.kafka.coordinator.group.api.assignor.SubscriptionType;
import org.apache.kafka.coordinator.group.assignor.RangeAssignor;
import org.apache.kafka.coordinator.group.assignor.UniformAssignor;
import org.apache.kafka.coordinator.group.modern.Assignment;
import org.apache.kafka.coordinator.group.modern.GroupSpecImpl;
import org.apache.kafka.coordinator.group.modern.MemberSubscriptionAndAssignmentImpl;

/**
 * Kafka's own server-side assignors (kafka-group-coordinator: UniformAssignor, RangeAssignor) on
 * groups read from stdin, for tests/integration/assignor_check_test.cpp, which gives the same
 * groups to this broker's assignors and compares.
 *
 * <pre>
 *   case &lt;name&gt; &lt;uniform|range&gt;
 *   topic &lt;topic id&gt; &lt;partitions&gt;                      (topics numbered 0, 1, ... in order)
 *   member &lt;member id&gt; &lt;instance id|-&gt; &lt;topic numbers, comma-separated|-&gt; &lt;current|-&gt;
 *   end
 * </pre>
 *
 * where current is "t:p.p.p;t:p" (topic number, partitions). The members reach the assignor in
 * the order given, each one's topics and current partitions in topic id order, as the coordinator
 * builds its GroupSpecImpl: subscription type homogeneous when every member subscribes to the same
 * topics, the inverted assignment from every member's current partitions. Prints, per case,
 * "case &lt;name&gt;", then "&lt;member id&gt; &lt;assignment|-&gt;" per member in the order given (assignment in
 * the same form as current, topics and partitions ascending), or "error &lt;exception&gt;".
 */
public final class AssignorCheck {
  private AssignorCheck() {}

  public static void main(String[] args) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    StringBuilder out = new StringBuilder();
    String name = null;
    String assignor = null;
    List<Uuid> topics = new ArrayList<>();
    Map<Uuid, Integer> partitions = new HashMap<>();
    List<String[]> members = new ArrayList<>();
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] f = line.split(" ");
      switch (f[0]) {
        case "case" -> {
          name = f[1];
          assignor = f[2];
          topics.clear();
          partitions.clear();
          members.clear();
        }
        case "topic" -> {
          Uuid id = Uuid.fromString(f[1]);
          topics.add(id);
          partitions.put(id, Integer.parseInt(f[2]));
        }
        case "member" -> members.add(f);
        case "end" -> out.append(run(name, assignor, topics, partitions, members));
        default -> throw new IllegalArgumentException("unexpected line: " + line);
      }
    }
    System.out.print(out);
    System.out.flush();
  }

  static String run(
      String name,
      String assignorName,
      List<Uuid> topics,
      Map<Uuid, Integer> partitions,
      List<String[]> members) {
    Map<String, MemberSubscriptionAndAssignmentImpl> specs = new LinkedHashMap<>();
    Map<Uuid, Map<Integer, String>> inverted = new HashMap<>();
    Set<Set<Uuid>> subscriptions = new LinkedHashSet<>();
    for (String[] m : members) {
      Set<Uuid> subscribed = new TreeSet<>();
      if (!m[3].equals("-"))
        for (String t : m[3].split(",")) subscribed.add(topics.get(Integer.parseInt(t)));
      subscriptions.add(subscribed);
      Map<Uuid, Set<Integer>> current = new TreeMap<>();
      if (!m[4].equals("-")) {
        for (String topic : m[4].split(";")) {
          String[] tp = topic.split(":");
          Uuid id = topics.get(Integer.parseInt(tp[0]));
          Set<Integer> parts = new TreeSet<>();
          for (String p : tp[1].split("\\.")) {
            parts.add(Integer.parseInt(p));
            inverted.computeIfAbsent(id, k -> new HashMap<>()).put(Integer.parseInt(p), m[1]);
          }
          current.put(id, parts);
        }
      }
      specs.put(
          m[1],
          new MemberSubscriptionAndAssignmentImpl(
              Optional.empty(),
              m[2].equals("-") ? Optional.empty() : Optional.of(m[2]),
              Collections.unmodifiableSet(subscribed),
              new Assignment(Collections.unmodifiableMap(current))));
    }
    SubscriptionType type =
        subscriptions.size() <= 1 ? SubscriptionType.HOMOGENEOUS : SubscriptionType.HETEROGENEOUS;
    SubscribedTopicDescriber describer =
        new SubscribedTopicDescriber() {
          @Override
          public int numPartitions(Uuid topicId) {
            return partitions.getOrDefault(topicId, -1);
          }

          @Override
          public Set<String> racksForPartition(Uuid topicId, int partition) {
            return Set.of();
          }
        };
    ConsumerGroupPartitionAssignor assignor =
        assignorName.equals("range") ? new RangeAssignor() : new UniformAssignor();
    StringBuilder out = new StringBuilder("case " + name + "\n");
    GroupAssignment result;
    try {
      result =
          assignor.assign(
              new GroupSpecImpl(Collections.unmodifiableMap(specs), type, inverted), describer);
    } catch (RuntimeException e) {
      return out.append("error ").append(e).append('\n').toString();
    }
    for (String[] m : members) {
      MemberAssignment a = result.members().get(m[1]);
      StringBuilder line = new StringBuilder();
      if (a != null) {
        for (int t = 0; t < topics.size(); ++t) {
          Set<Integer> parts = a.partitions().get(topics.get(t));
          if (parts == null || parts.isEmpty()) continue;
          if (line.length() > 0) line.append(';');
          line.append(t).append(':');
          boolean first = true;
          for (int p : new TreeSet<>(parts)) {
            if (!first) line.append('.');
            line.append(p);
            first = false;
          }
        }
      }
      out.append(m[1]).append(' ').append(line.length() == 0 ? "-" : line).append('\n');
    }
    return out.toString();
  }
}
