package kb.lab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * KafkaConsumer with group.protocol=consumer (KIP-848) against the broker: members joining late
 * and leaving, each step checked from the members' own assignments, then commits and a resume.
 * Prints one line per fact the test compares.
 *
 * <pre>
 *   members &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt;   six partitions, 60 records; three members
 *   resume  &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt;   six records more, read by a new member
 * </pre>
 */
public final class ConsumerProtocol {
  private static final Duration STEP = Duration.ofSeconds(60);
  private static final int PARTITIONS = 6;

  private ConsumerProtocol() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "members":
        members(args[1], args[2], args[3]);
        break;
      case "resume":
        resume(args[1], args[2], args[3]);
        break;
      default:
        throw new IllegalArgumentException("unknown scenario " + args[0]);
    }
  }

  /** One consumer polling in a thread of its own; what it has and has seen, read by others. */
  private static final class Member implements Runnable {
    final String name;
    final Properties props;
    final String topic;
    final Set<String> seen;
    volatile Set<Integer> assigned = Collections.emptySet();
    // Read to the end (of `ends`) in every partition it has.
    volatile boolean caughtUp;
    final Map<Integer, Long> next = new ConcurrentHashMap<>();
    volatile long ends = -1;
    volatile boolean commitRequested;
    volatile boolean committed;
    volatile boolean stop;
    volatile Throwable failure;
    final Thread thread;

    Member(String name, String bootstrap, String topic, String group, Set<String> seen) {
      this.name = name;
      this.topic = topic;
      this.seen = seen;
      props = new Properties();
      props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, name);
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      thread = new Thread(this, "member-" + name);
      thread.start();
    }

    @Override
    public void run() {
      try (KafkaConsumer<String, String> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
        consumer.subscribe(Collections.singletonList(topic));
        while (!stop) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
            seen.add(r.value());
            next.put(r.partition(), r.offset() + 1);
          }
          Set<Integer> now =
              consumer.assignment().stream()
                  .map(TopicPartition::partition)
                  .collect(Collectors.toCollection(TreeSet::new));
          assigned = now;
          caughtUp = ends >= 0 && now.stream().allMatch(p -> next.getOrDefault(p, 0L) == ends);
          if (commitRequested && !committed) {
            // What it read of the partitions it has.
            Map<TopicPartition, OffsetAndMetadata> offsets = new java.util.HashMap<>();
            for (int p : now) offsets.put(new TopicPartition(topic, p), new OffsetAndMetadata(next.get(p)));
            consumer.commitSync(offsets);
            committed = true;
          }
        }
      } catch (Throwable t) {
        failure = t;
      }
    }

    void close() throws InterruptedException {
      stop = true;
      thread.join(STEP.toMillis());
    }
  }

  private static void await(String what, BooleanSupplier done, List<Member> members)
      throws InterruptedException {
    long deadline = System.nanoTime() + STEP.toNanos();
    while (!done.getAsBoolean()) {
      for (Member m : members)
        if (m.failure != null) throw new IllegalStateException(m.name + " failed", m.failure);
      if (System.nanoTime() > deadline) {
        StringBuilder state = new StringBuilder();
        for (Member m : members) state.append(' ').append(m.name).append('=').append(m.assigned);
        throw new IllegalStateException("timed out waiting for " + what + ":" + state);
      }
      Thread.sleep(50);
    }
  }

  /** Every partition held by exactly one of the members, each holding `each`. */
  private static boolean split(List<Member> members, int each) {
    Set<Integer> all = new TreeSet<>();
    int total = 0;
    for (Member m : members) {
      Set<Integer> a = m.assigned;
      if (a.size() != each) return false;
      all.addAll(a);
      total += a.size();
    }
    return total == PARTITIONS && all.size() == PARTITIONS;
  }

  private static String sizes(List<Member> members) {
    return members.stream().map(m -> String.valueOf(m.assigned.size())).collect(Collectors.joining(" "));
  }

  private static Properties adminProps(String bootstrap) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return props;
  }

  private static void produce(String bootstrap, String topic, String prefix, int count)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < count; ++i)
        producer.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, prefix + i));
      producer.flush();
    }
  }

  private static void members(String bootstrap, String topic, String group) throws Exception {
    try (Admin admin = Admin.create(adminProps(bootstrap))) {
      admin
          .createTopics(Collections.singletonList(new NewTopic(topic, PARTITIONS, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
      produce(bootstrap, topic, "v", 60);
      Set<String> seen = ConcurrentHashMap.newKeySet();
      List<Member> members = new ArrayList<>();
      Member a = new Member("a", bootstrap, topic, group, seen);
      Member b = new Member("b", bootstrap, topic, group, seen);
      members.add(a);
      members.add(b);
      await("two members", () -> split(List.of(a, b), 3), members);
      System.out.println("two members: " + sizes(List.of(a, b)));
      ConsumerGroupDescription described =
          admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group);
      System.out.println(
          "described: " + described.type() + " " + described.groupState() + " "
              + described.members().size() + " members");

      Member c = new Member("c", bootstrap, topic, group, seen);
      members.add(c);
      await("three members", () -> split(List.of(a, b, c), 2), members);
      System.out.println("three members: " + sizes(List.of(a, b, c)));

      b.close();
      await("two members again", () -> split(List.of(a, c), 3), members);
      System.out.println("after one left: " + sizes(List.of(a, c)));

      await("every record", () -> seen.size() == 60, members);
      System.out.println("consumed " + seen.size() + " of 60");
      // Each has read its partitions to the end (a partition that was b's is
      // read again from the start: b committed nothing).
      for (Member m : List.of(a, c)) m.ends = 10;
      await("both caught up", () -> a.caughtUp && c.caughtUp, members);
      for (Member m : List.of(a, c)) m.commitRequested = true;
      await("commits", () -> a.committed && c.committed, members);
      a.close();
      c.close();
      Map<TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
      long sum = offsets.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      System.out.println("committed " + offsets.size() + " partitions, offsets summing to " + sum);
    }
  }

  private static void resume(String bootstrap, String topic, String group) throws Exception {
    produce(bootstrap, topic, "w", PARTITIONS);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Member m = new Member("resumed", bootstrap, topic, group, seen);
    try {
      await("the new records", () -> seen.size() >= PARTITIONS, List.of(m));
      // A moment more: a record from before the commit would show now.
      Thread.sleep(1000);
    } finally {
      m.close();
    }
    System.out.println("resumed with: " + new TreeSet<>(seen));
  }
}
