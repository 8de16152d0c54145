package kb.lab;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
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
 *   upgrade &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt;   three classic members replaced one by one by
 *                                       consumer-protocol ones while records arrive
 *   downgrade &lt;bootstrap&gt; &lt;topic&gt; &lt;group&gt; the same the other way round
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
      case "upgrade":
        rolling(args[1], args[2], args[3], "classic", "consumer");
        break;
      case "downgrade":
        rolling(args[1], args[2], args[3], "consumer", "classic");
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
    // Rolling changes of protocol: every record read (duplicates counted),
    // and what it read committed as it goes and before giving partitions up.
    final AtomicInteger reads;
    // Records whose commit the group refused (the member had been moved on or
    // out): Kafka's semantics let them be read again by the next owner.
    final AtomicInteger uncommitted;
    final boolean commitAsItGoes;

    Member(String name, String bootstrap, String topic, String group, Set<String> seen) {
      this(name, bootstrap, topic, group, seen, "consumer", null, null);
    }

    Member(String name, String bootstrap, String topic, String group, Set<String> seen,
        String protocol, AtomicInteger reads, AtomicInteger uncommitted) {
      this.name = name;
      this.topic = topic;
      this.seen = seen;
      this.reads = reads;
      this.uncommitted = uncommitted;
      this.commitAsItGoes = reads != null;
      props = new Properties();
      props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
      if (protocol.equals("classic")) {
        // Heartbeats every second, as the broker asks of consumer-protocol
        // members in these tests, so a rebalance is noticed as quickly.
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
      }
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
        if (commitAsItGoes) {
          consumer.subscribe(
              Collections.singletonList(topic),
              new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                  commitRead(consumer, partitions, 0);
                }

                // Lost (the member was fenced): nothing can be committed.
                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {}

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}
              });
        } else {
          consumer.subscribe(Collections.singletonList(topic));
        }
        while (!stop) {
          ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
          for (ConsumerRecord<String, String> r : records) {
            seen.add(r.value());
            if (reads != null) reads.incrementAndGet();
            next.put(r.partition(), r.offset() + 1);
          }
          if (commitAsItGoes && !records.isEmpty())
            commitRead(consumer, consumer.assignment(), records.count());
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

    // Commits what it read of these partitions; a refused commit (the group
    // moved on: rebalance under way, or the member fenced) counts the records
    // just read as ones another member may read again.
    void commitRead(
        KafkaConsumer<String, String> consumer, Collection<TopicPartition> partitions, int justRead) {
      Map<TopicPartition, OffsetAndMetadata> offsets = new java.util.HashMap<>();
      for (TopicPartition tp : partitions) {
        Long at = next.get(tp.partition());
        if (at != null) offsets.put(tp, new OffsetAndMetadata(at));
      }
      if (offsets.isEmpty()) return;
      try {
        consumer.commitSync(offsets);
      } catch (CommitFailedException | RebalanceInProgressException e) {
        uncommitted.addAndGet(justRead);
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

  /** Every partition held by exactly one of the members, each holding one at least. */
  private static boolean covered(List<Member> members) {
    Set<Integer> all = new TreeSet<>();
    int total = 0;
    for (Member m : members) {
      Set<Integer> a = m.assigned;
      if (a.isEmpty()) return false;
      all.addAll(a);
      total += a.size();
    }
    return total == PARTITIONS && all.size() == PARTITIONS;
  }

  private static String groupType(Admin admin, String group) throws Exception {
    return admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group)
        .type().toString();
  }

  /**
   * A rolling change of protocol: three members of `from` consume while records keep arriving; one
   * of `to` joins, then each of `from` is replaced by one of `to`. Each member commits what it read
   * and, before giving partitions up, what it read of them: every record is read, none twice.
   */
  private static void rolling(String bootstrap, String topic, String group, String from, String to)
      throws Exception {
    try (Admin admin = Admin.create(adminProps(bootstrap))) {
      admin
          .createTopics(Collections.singletonList(new NewTopic(topic, PARTITIONS, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
      AtomicInteger produced = new AtomicInteger();
      AtomicBoolean producing = new AtomicBoolean(true);
      AtomicReference<Throwable> producerFailure = new AtomicReference<>();
      Thread producer =
          new Thread(
              () -> {
                Properties props = new Properties();
                props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                try (KafkaProducer<String, String> p =
                    new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
                  for (int i = 0; producing.get(); ++i) {
                    p.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "r" + i)).get();
                    produced.incrementAndGet();
                    Thread.sleep(20);
                  }
                } catch (Throwable t) {
                  producerFailure.set(t);
                }
              },
              "producer");
      producer.start();
      Set<String> seen = ConcurrentHashMap.newKeySet();
      AtomicInteger reads = new AtomicInteger();
      AtomicInteger uncommitted = new AtomicInteger();
      List<Member> all = new ArrayList<>();
      List<Member> active = new ArrayList<>();
      for (int i = 0; i < 3; ++i) {
        Member m = new Member(from + i, bootstrap, topic, group, seen, from, reads, uncommitted);
        all.add(m);
        active.add(m);
      }
      await("three " + from + " members", () -> split(active, 2), all);
      System.out.println(
          "three " + from + " members: " + sizes(active) + ", group " + groupType(admin, group));
      Member joined = new Member(to + "0", bootstrap, topic, group, seen, to, reads, uncommitted);
      all.add(joined);
      active.add(joined);
      await("a " + to + " member in", () -> covered(active), all);
      System.out.println("a " + to + " member joined: group " + groupType(admin, group));
      for (int i = 0; i < 3; ++i) {
        Member old = active.remove(0);
        old.close();
        all.remove(old);
        if (old.failure != null) throw new IllegalStateException(old.name + " failed", old.failure);
        if (i < 2) {
          Member m = new Member(to + (i + 1), bootstrap, topic, group, seen, to, reads, uncommitted);
          all.add(m);
          active.add(m);
        }
        await("the group after " + old.name + " left", () -> covered(active), all);
      }
      await("three " + to + " members", () -> split(active, 2), all);
      System.out.println(
          "three " + to + " members: " + sizes(active) + ", group " + groupType(admin, group));
      producing.set(false);
      producer.join(STEP.toMillis());
      if (producerFailure.get() != null)
        throw new IllegalStateException("producer failed", producerFailure.get());
      int total = produced.get();
      await("every record", () -> seen.size() == total, all);
      // A moment more: a record read twice would show now.
      Thread.sleep(1000);
      for (Member m : active) m.close();
      // Read twice beyond what Kafka's semantics allow: more than the records
      // whose commit was refused.
      int twice = reads.get() - seen.size();
      System.out.println(
          "every record read: " + (seen.size() == total) + ", read twice beyond refused commits: "
              + Math.max(0, twice - uncommitted.get()));
      System.err.println("read twice " + twice + ", refused commits covered " + uncommitted.get());
    }
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
